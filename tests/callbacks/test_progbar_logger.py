"""ProgbarLogger: added by fit only when not given, so it never prints twice."""
import neuropil as keras


def test_an_explicit_progbar_logger_is_the_only_one(make_model, data, capsys):
    x, y = data
    model = make_model()
    model.fit(x, y, batch_size=16, epochs=2, verbose=2,
              callbacks=[keras.callbacks.ProgbarLogger()])
    out = capsys.readouterr().out.splitlines()
    assert out.count("Epoch 1/2") == 1 and out.count("Epoch 2/2") == 1
    assert len(out) == 4  # "Epoch n/2" and one summary line per epoch
    model.evaluate(x, y, verbose=2, callbacks=[keras.callbacks.ProgbarLogger()])
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_fit_adds_one_when_verbose_and_none_when_silent(make_model, data, capsys):
    x, y = data
    model = make_model()
    model.fit(x, y, epochs=2, verbose=2)
    assert len(capsys.readouterr().out.splitlines()) == 4
    model.fit(x, y, epochs=2, verbose=0, callbacks=[keras.callbacks.ProgbarLogger()])
    assert capsys.readouterr().out == ""  # fit's verbose wins, as in Keras


def test_no_epoch_line_for_a_single_epoch(make_model, data, capsys):
    x, y = data
    make_model().fit(x, y, epochs=1, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("1/1 - ")
