"""EarlyStopping on scripted val_loss sequences, checked against Keras's rules by hand."""
import operator

import numpy as np
import pytest

import neuropil as keras
from neuropil.callbacks import EarlyStopping


def run(make_model, data, scripted, values, key="val_loss", epochs=None, **kwargs):
    x, y = data
    stopper = EarlyStopping(monitor=key, **kwargs)
    history = make_model().fit(x, y, batch_size=16, epochs=epochs or len(values), verbose=0,
                               callbacks=[scripted(values, key), stopper])
    return stopper, history


def test_stops_when_patience_runs_out(make_model, data, scripted):
    # wait: 0 (first), 0 (0.9 improves), 1, 2 -> stop at epoch 3
    stopper, history = run(make_model, data, scripted, [1.0, 0.9, 0.95, 0.92, 0.5, 0.4],
                           patience=2)
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.stopped_epoch == 3 and stopper.best == 0.9 and stopper.best_epoch == 1
    assert stopper.wait == 2


def test_patience_zero_stops_at_the_first_worse_epoch_but_never_at_epoch_0(make_model, data,
                                                                          scripted):
    stopper, history = run(make_model, data, scripted, [1.0, 1.1, 0.5])
    assert history.epoch == [0, 1] and stopper.stopped_epoch == 1
    stopper, history = run(make_model, data, scripted, [3.0, 2.0, 1.0])
    assert history.epoch == [0, 1, 2] and stopper.stopped_epoch == 0
    stopper, history = run(make_model, data, scripted, [1.0, 1.0, 1.0])  # equal is no gain
    assert history.epoch == [0, 1]


def test_min_delta_ignores_small_improvements(make_model, data, scripted):
    values = [1.0, 0.95, 0.92, 0.85, 0.8]
    _, history = run(make_model, data, scripted, values, patience=2, min_delta=0.1)
    assert history.epoch == [0, 1, 2]
    _, history = run(make_model, data, scripted, values, patience=2, min_delta=-0.1)  # |.|
    assert history.epoch == [0, 1, 2]
    _, history = run(make_model, data, scripted, values, patience=2)
    assert history.epoch == [0, 1, 2, 3, 4]


def test_baseline_never_beaten_stops_at_the_first_non_improving_epoch(make_model, data,
                                                                     scripted):
    # With a baseline of 0.5 the wait counter is never reset (1, 2, 3): improving epochs
    # return early, so training stops at the first epoch that is no better (epoch 3).
    stopper, history = run(make_model, data, scripted, [1.0, 0.9, 0.8, 0.85, 0.7],
                           patience=2, baseline=0.5)
    assert history.epoch == [0, 1, 2, 3] and stopper.best == 0.8
    _, history = run(make_model, data, scripted, [1.0, 0.9, 0.8, 0.85, 0.7], patience=2)
    assert history.epoch == [0, 1, 2, 3, 4]


def test_beating_the_baseline_resets_the_wait(make_model, data, scripted):
    # wait: 1 (0.96 is not under 0.95), 0 (0.9 is), 1, 2 -> stop at epoch 3
    stopper, history = run(make_model, data, scripted, [0.96, 0.9, 0.92, 0.93, 0.94],
                           patience=2, baseline=0.95)
    assert history.epoch == [0, 1, 2, 3] and stopper.stopped_epoch == 3


def test_start_from_epoch_skips_the_warm_up(make_model, data, scripted):
    stopper, history = run(make_model, data, scripted, [1, 2, 3, 4, 5, 6],
                           start_from_epoch=3)
    assert history.epoch == [0, 1, 2, 3, 4]  # epoch 3 is the first monitored, 4 is worse
    assert stopper.best == 4 and stopper.best_epoch == 3


def test_mode_max_and_auto_direction_from_the_metric(make_model, data, scripted):
    stopper, history = run(make_model, data, scripted, [0.5, 0.6, 0.55, 0.58],
                           key="val_accuracy", mode="max", patience=1)
    assert history.epoch == [0, 1, 2] and stopper.best == 0.6
    # mode="auto" reads the compiled metric's direction: accuracy up, mae down
    x, y = data
    for monitor, expected in (("val_acc", operator.gt), ("acc", operator.gt),
                              ("val_mae", operator.lt), ("loss", operator.lt)):
        stopper = EarlyStopping(monitor=monitor)
        make_model(metrics=("acc", "mae")).fit(x, y, epochs=1, validation_data=(x, y),
                                               callbacks=[stopper], verbose=0)
        assert stopper.monitor_op is expected, monitor


def test_auto_mode_cannot_guess_an_unknown_metric(make_model, data, scripted):
    with pytest.raises(ValueError, match="isn't able to automatically determine"):
        run(make_model, data, scripted, [1.0, 2.0], key="val_custom")
    stopper, history = run(make_model, data, scripted, [1.0, 2.0], key="val_custom",
                           mode="min")
    assert history.epoch == [0, 1]


def test_unknown_mode_warns_and_falls_back_to_auto():
    with pytest.warns(UserWarning, match="mode 'bogus' is unknown, fallback to auto"):
        stopper = EarlyStopping(mode="bogus")
    assert stopper.mode == "auto"


def test_missing_monitor_warns_and_training_goes_on(make_model, data):
    x, y = data
    with pytest.warns(UserWarning, match="`val_loss` which is not available. Available "
                                         "metrics are: loss,mae"):
        history = make_model().fit(x, y, epochs=3, verbose=0, callbacks=[EarlyStopping()])
    assert history.epoch == [0, 1, 2]


def test_restore_best_weights_after_early_stop(make_model, data, scripted, weights_per_epoch,
                                              capsys):
    x, y = data
    model, recorded = make_model(), weights_per_epoch()
    stopper = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    model.fit(x, y, epochs=10, batch_size=16, verbose=0,
              callbacks=[scripted([1.0, 0.5, 0.7, 0.8, 0.1]), recorded, stopper])
    assert stopper.stopped_epoch == 3 and stopper.best_epoch == 1
    for now, best in zip(model.get_weights(), recorded.weights[1]):
        np.testing.assert_array_equal(now, best)
    assert not np.allclose(recorded.weights[3][0], recorded.weights[1][0])
    assert capsys.readouterr().out.splitlines() == [
        "Epoch 4: early stopping",
        "Restoring model weights from the end of the best epoch: 2."]


def test_best_weights_are_restored_even_without_stopping(make_model, data, scripted,
                                                         weights_per_epoch, capsys):
    x, y = data
    model, recorded = make_model(), weights_per_epoch()
    stopper = EarlyStopping(patience=5, restore_best_weights=True, verbose=1)
    model.fit(x, y, epochs=4, batch_size=16, verbose=0,
              callbacks=[scripted([1.0, 0.5, 0.7, 0.8]), recorded, stopper])
    assert stopper.stopped_epoch == 0
    np.testing.assert_array_equal(model.get_weights()[0], recorded.weights[1][0])
    assert capsys.readouterr().out == ("Restoring model weights from the end of the best "
                                       "epoch: 2.\n")


def test_state_resets_at_each_fit(make_model, data, scripted):
    x, y = data
    model, stopper = make_model(), EarlyStopping(patience=1)
    model.fit(x, y, epochs=6, verbose=0, callbacks=[scripted([1, 0.5, 0.6, 0.7, 0, 0]),
                                                     stopper])
    assert stopper.stopped_epoch == 2 and stopper.best == 0.5
    history = model.fit(x, y, epochs=3, verbose=0,
                        callbacks=[scripted([3.0, 2.0, 1.0]), stopper])
    assert history.epoch == [0, 1, 2]
    assert stopper.stopped_epoch == 0 and stopper.best == 1.0 and stopper.wait == 0


def test_epochs_are_absolute_with_initial_epoch(make_model, data, scripted):
    x, y = data
    stopper = EarlyStopping(patience=1, start_from_epoch=3)
    history = make_model().fit(x, y, epochs=8, initial_epoch=2, verbose=0,
                               callbacks=[scripted([9, 9, 9, 1.0, 2.0, 3.0, 0, 0]), stopper])
    assert history.epoch == [2, 3, 4] and stopper.stopped_epoch == 4


def test_keras_docstring_example():
    model = keras.Sequential([keras.layers.Dense(10)])
    model.compile(keras.optimizers.SGD(), loss="mse")
    with np.errstate(all="ignore"):  # on this data SGD diverges, as it does in Keras
        history = model.fit(np.arange(100, dtype="float32").reshape(5, 20), np.zeros(5),
                            epochs=10, batch_size=1, verbose=0,
                            callbacks=[EarlyStopping(monitor="loss", patience=3)])
    assert len(history.history["loss"]) == 4  # only 4 epochs run, as Keras's docstring says
