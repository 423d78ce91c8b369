"""History: one per fit, added last, recording every key of the epoch logs."""
import neuropil as keras


def test_history_records_each_epoch_and_is_the_model_history(make_model, data):
    x, y = data
    model = make_model()
    history = model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0)
    assert isinstance(history, keras.callbacks.History) and model.history is history
    assert history.epoch == [0, 1, 2]
    assert list(history.history) == ["loss", "mae", "val_loss", "val_mae"]  # sorted as Keras
    assert all(len(values) == 3 and all(type(v) is float for v in values)
               for values in history.history.values())
    assert history.params == {"verbose": 0, "epochs": 3, "steps": 1}


def test_a_given_history_is_used_and_keeps_growing(make_model, data):
    x, y = data
    model, history = make_model(), keras.callbacks.History()
    assert model.fit(x, y, epochs=2, verbose=0, callbacks=[history]) is history
    model.fit(x, y, epochs=4, initial_epoch=2, verbose=0, callbacks=[history])
    assert history.epoch == [2, 3]  # reset at train begin, as in Keras
    assert len(history.history["loss"]) == 4  # the values are not
