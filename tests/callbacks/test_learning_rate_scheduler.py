"""LearningRateScheduler: the rate set before each epoch, and logged after it."""
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil.callbacks import LearningRateScheduler


def test_schedule_of_epoch_and_rate_sets_the_rate_before_each_epoch(make_model, data):
    x, y = data
    model = make_model(keras.optimizers.SGD(0.1))
    seen = []

    def halve_after_first(epoch, lr):
        seen.append((epoch, lr))
        return lr if epoch == 0 else lr * 0.5

    history = model.fit(x, y, epochs=4, verbose=0,
                        callbacks=[LearningRateScheduler(halve_after_first)])
    assert [e for e, _ in seen] == [0, 1, 2, 3]
    assert [lr for _, lr in seen] == pytest.approx([0.1, 0.1, 0.05, 0.025])
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025, 0.0125])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_one_argument_schedule_and_absolute_epochs(make_model, data):
    x, y = data
    model = make_model()
    history = model.fit(x, y, epochs=4, initial_epoch=2, verbose=0,
                        callbacks=[LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))])
    assert history.history["learning_rate"] == pytest.approx([0.1 / 3, 0.1 / 4])


def test_the_schedule_must_return_a_float(make_model, data):
    x, y = data
    with pytest.raises(ValueError, match="should be a float. Got: 1"):
        make_model().fit(x, y, epochs=1, verbose=0,
                         callbacks=[LearningRateScheduler(lambda epoch, lr: 1)])
    history = make_model().fit(x, y, epochs=1, verbose=0, callbacks=[
        LearningRateScheduler(lambda epoch, lr: np.float32(0.5))])
    assert history.history["learning_rate"] == [0.5]


def test_keras_docstring_example_and_verbose_message(capsys):
    model = keras.Sequential([keras.layers.Dense(10)])
    model.compile(keras.optimizers.SGD(), loss="mse")
    scheduler = lambda epoch, lr: lr if epoch < 10 else lr * math.exp(-0.1)  # noqa: E731
    x = np.arange(100, dtype="float32").reshape(5, 20) / 100
    model.fit(x, np.zeros((5, 1)), epochs=15, verbose=0,
              callbacks=[LearningRateScheduler(scheduler, verbose=1)])
    assert round(float(model.optimizer.learning_rate), 5) == 0.00607
    out = capsys.readouterr().out
    assert "\nEpoch 1: LearningRateScheduler setting learning rate to 0.009999999776482582." \
        in out  # the float32 rate as a Python float, as Keras prints it
