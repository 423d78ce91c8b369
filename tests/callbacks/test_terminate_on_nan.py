"""TerminateOnNaN: a diverging model stops after the batch whose loss is NaN or inf."""
import numpy as np
import pytest

import neuropil as keras
from neuropil.callbacks import TerminateOnNaN


def diverging_fit(make_model, data, callbacks):
    x, y = data
    model = make_model(keras.optimizers.SGD(1e12))
    losses = []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    ended = []
    end = keras.callbacks.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    with np.errstate(all="ignore"):  # the overflow is the point here
        history = model.fit(x, y, batch_size=4, epochs=3, verbose=0,
                            callbacks=[record, *callbacks, end])
    return model, history, losses, ended


def test_stops_after_the_first_invalid_batch_loss(make_model, data, capsys):
    model, history, losses, ended = diverging_fit(make_model, data, [TerminateOnNaN()])
    assert np.isfinite(losses[:-1]).all() and not np.isfinite(losses[-1])
    assert len(losses) < 8 and history.epoch == [0] and model.stop_training
    assert capsys.readouterr().out == f"Batch {len(losses) - 1}: Invalid loss, terminating " \
                                      "training\n"
    assert ended == [True]  # the graceful stop still runs on_train_end


def test_raise_error_skips_on_train_end(make_model, data):
    with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch"):
        diverging_fit(make_model, data, [TerminateOnNaN(raise_error=True)])


def test_inf_counts_and_missing_loss_is_ignored(make_model):
    callback = TerminateOnNaN()
    callback.set_model(make_model())
    callback.on_train_batch_end(0, {"accuracy": 0.5})
    callback.on_train_batch_end(1, {"loss": 1.0})
    assert not callback.model.stop_training
    callback.on_train_batch_end(2, {"loss": float("inf")})
    assert callback.model.stop_training
