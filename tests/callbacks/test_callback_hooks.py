"""The hooks fit / evaluate / predict call, in Keras's order, with Keras's logs."""
import numpy as np
import pytest

import neuropil as keras

HOOKS = ["on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
         "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
         "on_predict_batch_begin", "on_predict_batch_end"]


class Recorder(keras.callbacks.Callback):
    """Records every hook as (name, epoch or batch index or None, logs)."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name in HOOKS:
            indexed = "batch" in name or "epoch" in name

            def record(index=None, logs=None):
                if not indexed:  # on_train_begin(logs) and the like
                    index, logs = None, index
                self.calls.append((name, index, logs))
            return record
        return super().__getattribute__(name)

    def names(self):
        return [(name, index) for name, index, _ in self.calls]

    def logs_of(self, hook):
        return [logs for name, _, logs in self.calls if name == hook]


def test_base_callback_has_every_hook_and_stores_model_and_params():
    callback = keras.callbacks.Callback()
    for hook in HOOKS + ["on_batch_begin", "on_batch_end"]:
        assert callable(getattr(callback, hook))
    assert callback.model is None
    callback.set_model("model")
    callback.set_params({"epochs": 3})
    assert callback.model == "model" and callback.params == {"epochs": 3}


def test_fit_with_validation_calls_hooks_in_keras_order(data, make_model):
    x, y = data
    model, recorder = make_model(), Recorder()
    model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:8], y[:8]),
              callbacks=[recorder], verbose=0)
    epoch = lambda e: [("on_epoch_begin", e),  # noqa: E731
                       ("on_train_batch_begin", 0), ("on_train_batch_end", 0),
                       ("on_train_batch_begin", 1), ("on_train_batch_end", 1),
                       ("on_test_begin", None),
                       ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                       ("on_test_end", None), ("on_epoch_end", e)]
    assert recorder.names() == [("on_train_begin", None), *epoch(0), *epoch(1),
                                ("on_train_end", None)]
    assert recorder.model is model
    assert recorder.params == {"verbose": 0, "epochs": 2, "steps": 2}


def test_fit_logs_are_keras_logs(data, make_model):
    x, y = data
    model, recorder = make_model(), Recorder()
    history = model.fit(x, y, batch_size=16, epochs=2, validation_data=(x[:8], y[:8]),
                        callbacks=[recorder], verbose=0)
    for hook in ("on_train_begin", "on_epoch_begin", "on_train_batch_begin",
                 "on_test_begin", "on_test_batch_begin"):
        assert all(logs == {} for logs in recorder.logs_of(hook)), hook
    for logs in recorder.logs_of("on_train_batch_end") + recorder.logs_of("on_test_end"):
        assert list(logs) == ["loss", "mae"]  # sorted, as Keras's pythonify_logs does
        assert all(type(value) is float for value in logs.values())
    epoch_logs = recorder.logs_of("on_epoch_end")
    assert [list(logs) for logs in epoch_logs] == [["loss", "mae", "val_loss", "val_mae"]] * 2
    assert epoch_logs[-1]["val_loss"] == recorder.logs_of("on_test_end")[-1]["loss"]
    assert recorder.logs_of("on_train_end") == [epoch_logs[-1]]
    assert history.history["val_mae"] == [logs["val_mae"] for logs in epoch_logs]


def test_evaluate_calls_test_hooks(data, make_model):
    x, y = data
    model, recorder = make_model(), Recorder()
    result = model.evaluate(x, y, batch_size=16, callbacks=[recorder], verbose=0,
                            return_dict=True)
    assert recorder.names() == [("on_test_begin", None),
                                ("on_test_batch_begin", 0), ("on_test_batch_end", 0),
                                ("on_test_batch_begin", 1), ("on_test_batch_end", 1),
                                ("on_test_end", None)]
    assert recorder.logs_of("on_test_end") == [pytest.approx(result)]
    assert recorder.params == {"verbose": 0, "epochs": 1, "steps": 2}


def test_predict_calls_predict_hooks_with_outputs(data, make_model):
    x, _ = data
    model, recorder = make_model(), Recorder()
    predictions = model.predict(x[:20], batch_size=16, callbacks=[recorder], verbose=0)
    assert recorder.names() == [("on_predict_begin", None),
                                ("on_predict_batch_begin", 0), ("on_predict_batch_end", 0),
                                ("on_predict_batch_begin", 1), ("on_predict_batch_end", 1),
                                ("on_predict_end", None)]
    outputs = [np.asarray(logs["outputs"]) for logs in recorder.logs_of("on_predict_batch_end")]
    assert [o.shape for o in outputs] == [(16, 1), (4, 1)]
    np.testing.assert_array_equal(np.concatenate(outputs), predictions)


def test_keras2_batch_hooks_run_for_training_batches_only(data, make_model):
    x, y = data
    seen = []

    class OldStyle(keras.callbacks.Callback):
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, sorted(logs)))

    make_model().fit(x, y, batch_size=16, epochs=1, validation_data=(x, y),
                     callbacks=[OldStyle()], verbose=0)
    assert seen == [("begin", 0), ("end", 0, ["loss", "mae"]),
                    ("begin", 1), ("end", 1, ["loss", "mae"])]


def test_a_key_added_to_the_logs_reaches_later_callbacks_and_history(data, make_model):
    x, y = data

    class AddKey(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["extra"] = 10.0 + epoch

    history = make_model().fit(x, y, epochs=2, callbacks=[AddKey()], verbose=0)
    assert history.history["extra"] == [10.0, 11.0]


def test_stop_training_in_a_batch_ends_that_epoch_and_the_fit(data, make_model):
    x, y = data
    model, recorder = make_model(), Recorder()

    class StopAt(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 1 and batch == 0:
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    history = model.fit(x, y, batch_size=16, epochs=5, validation_data=(x, y),
                        callbacks=[StopAt(), recorder], verbose=0)
    assert history.epoch == [0, 1]
    names = recorder.names()
    assert names[-4:] == [("on_test_batch_end", 1), ("on_test_end", None),
                          ("on_epoch_end", 1), ("on_train_end", None)]
    assert names.count(("on_train_batch_end", 1)) == 1  # epoch 1 stopped after batch 0
    assert model.stop_training is True


def test_stop_training_in_epoch_begin_runs_one_batch(data, make_model):
    x, y = data
    recorder = Recorder()
    stop = keras.callbacks.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: setattr(stop.model, "stop_training", True))
    history = make_model().fit(x, y, batch_size=16, epochs=3, callbacks=[stop, recorder],
                               verbose=0)
    assert history.epoch == [0]
    assert recorder.names().count(("on_train_batch_end", 0)) == 1
    assert ("on_train_batch_end", 1) not in recorder.names()


def test_stop_evaluating_and_stop_predicting(data, make_model):
    x, y = data
    model = make_model()
    stop_eval = keras.callbacks.LambdaCallback(
        on_test_batch_end=lambda batch, logs: setattr(model, "stop_evaluating", True))
    recorder = Recorder()
    model.evaluate(x, y, batch_size=8, callbacks=[stop_eval, recorder], verbose=0)
    assert recorder.names().count(("on_test_batch_end", 0)) == 1
    assert ("on_test_batch_end", 1) not in recorder.names()
    stop_predict = keras.callbacks.LambdaCallback(
        on_predict_batch_end=lambda batch, logs: setattr(model, "stop_predicting", True))
    assert model.predict(x, batch_size=8, callbacks=[stop_predict], verbose=0).shape == (8, 1)
    assert model.predict(x, batch_size=8, verbose=0).shape == (32, 1)  # flag reset


def test_initial_epoch_gives_absolute_epochs_and_repeated_fit_continues(data, make_model):
    x, y = data
    model, recorder = make_model(), Recorder()
    first = model.fit(x, y, epochs=2, verbose=0)
    second = model.fit(x, y, epochs=4, initial_epoch=2, callbacks=[recorder], verbose=0)
    assert first.epoch == [0, 1] and second.epoch == [2, 3]
    assert model.history is second and len(second.history["loss"]) == 2
    begins = [index for name, index in recorder.names() if name == "on_epoch_begin"]
    assert begins == [2, 3]
    assert recorder.params["epochs"] == 4


def test_validation_freq_counts_absolute_epochs(data, make_model):
    x, y = data
    recorder = Recorder()
    make_model().fit(x, y, epochs=5, initial_epoch=1, validation_data=(x, y),
                     validation_freq=2, callbacks=[recorder], verbose=0)
    validated = [index for index, logs in
                 ((i, lg) for name, i, lg in recorder.calls if name == "on_epoch_end")
                 if "val_loss" in logs]
    assert validated == [1, 3]  # 1-based epochs 2 and 4, as Keras's _should_eval
    recorder = Recorder()
    make_model().fit(x, y, epochs=3, validation_data=(x, y), validation_freq=[1, 3],
                     callbacks=[recorder], verbose=0)
    assert ["val_loss" in logs for logs in recorder.logs_of("on_epoch_end")] == \
        [True, False, True]


def test_callback_list_adds_history_and_progbar_only_when_missing():
    history, progbar = keras.callbacks.History(), keras.callbacks.ProgbarLogger()
    given = keras.callbacks.CallbackList([history, progbar], add_history=True,
                                         add_progbar=True)
    assert given.callbacks == [history, progbar]
    added = keras.callbacks.CallbackList([], add_history=True, add_progbar=True)
    assert [type(c).__name__ for c in added.callbacks] == ["History", "ProgbarLogger"]
    assert keras.callbacks.CallbackList().callbacks == []
