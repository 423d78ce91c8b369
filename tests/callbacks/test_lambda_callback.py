"""LambdaCallback: functions as hooks, including Keras's **kwargs and the Keras 2 names."""
import neuropil as keras
from neuropil.callbacks import LambdaCallback


def test_named_hooks_are_called_with_keras_arguments(make_model, data):
    x, y = data
    calls = []
    callback = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_train_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_train_batch_end=lambda batch, logs: calls.append(("batch_end", batch, sorted(logs))),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, sorted(logs))),
        on_train_end=lambda logs: calls.append(("train_end", sorted(logs))))
    make_model().fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    assert calls == [("train_begin", {}), ("epoch_begin", 0), ("batch_begin", 0),
                     ("batch_end", 0, ["loss", "mae"]), ("batch_begin", 1),
                     ("batch_end", 1, ["loss", "mae"]), ("epoch_end", 0, ["loss", "mae"]),
                     ("train_end", ["loss", "mae"])]


def test_other_hooks_by_keyword(make_model, data):
    x, y = data
    calls = []
    callback = LambdaCallback(on_test_end=lambda logs: calls.append(("test_end", sorted(logs))),
                              on_predict_batch_end=lambda batch, logs: calls.append(
                                  ("predict_batch_end", batch, logs["outputs"].shape)))
    model = make_model()
    model.evaluate(x, y, verbose=0, callbacks=[callback])
    model.predict(x, batch_size=32, verbose=0, callbacks=[callback])
    assert calls == [("test_end", ["loss", "mae"]), ("predict_batch_end", 0, (32, 1))]


def test_keras2_batch_aliases_run_for_training_batches(make_model, data):
    x, y = data
    calls = []
    callback = LambdaCallback(on_batch_begin=lambda batch, logs: calls.append(("begin", batch)),
                              on_batch_end=lambda batch, logs: calls.append(("end", batch)))
    make_model().fit(x, y, batch_size=16, epochs=1, validation_data=(x, y), verbose=0,
                     callbacks=[callback])
    assert calls == [("begin", 0), ("end", 0), ("begin", 1), ("end", 1)]


def test_a_given_train_batch_hook_replaces_the_alias(make_model, data):
    x, y = data
    calls = []
    callback = LambdaCallback(on_train_batch_end=lambda batch, logs: calls.append("new"),
                              on_batch_end=lambda batch, logs: calls.append("old"))
    make_model().fit(x, y, batch_size=32, epochs=1, verbose=0, callbacks=[callback])
    assert calls == ["new"]
    assert isinstance(callback, keras.callbacks.Callback)
