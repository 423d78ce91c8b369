"""keras.regularizers: L1, L2 (default 0.01), L1L2, aliases; penalties reach the loss."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, regularizers

W = np.array([[1.0, -2.0], [0.5, 0.0]], "float32")


def test_penalty_values():
    assert float(regularizers.L2()(W)) == pytest.approx(0.01 * 5.25)
    assert float(regularizers.L1(0.1)(W)) == pytest.approx(0.1 * 3.5)
    assert float(regularizers.L1L2(l1=0.1, l2=0.2)(W)) == pytest.approx(0.35 + 1.05)


def test_aliases_and_names():
    assert isinstance(regularizers.get("l2"), regularizers.L2)
    assert isinstance(regularizers.l1(0.1), regularizers.L1)
    assert isinstance(regularizers.l1_l2(l1=0.1), regularizers.L1L2)
    assert regularizers.L2(0.3).get_config() == {"l2": pytest.approx(0.3)}


def test_negative_factor_is_an_error():
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(-1.0)


def test_kernel_regularizer_adds_to_model_losses_and_fit_loss():
    model = keras.Sequential([keras.Input((2,)),
                              layers.Dense(2, kernel_regularizer=regularizers.L2(0.5),
                                           use_bias=False)])
    model.layers[0].set_weights([W])
    assert len(model.losses) == 1
    assert float(model.losses[0]) == pytest.approx(0.5 * 5.25)
    model.compile("sgd", "mse")
    x = np.zeros((4, 2), "float32")
    loss = model.evaluate(x, np.zeros((4, 2), "float32"), verbose=0)
    assert loss == pytest.approx(0.5 * 5.25, rel=1e-5)  # data loss is 0 here


def test_history_records_data_loss_beside_the_penalized_loss():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)).astype("float32")
    y = rng.standard_normal((64, 1)).astype("float32")
    model = keras.Sequential([keras.Input((5,)),
                              layers.Dense(8, kernel_regularizer=regularizers.L2(0.1)),
                              layers.Dense(1, kernel_regularizer="l1")])
    model.compile("sgd", "mse")
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0).history
    assert {"loss", "data_loss", "val_loss", "val_data_loss"} <= set(history)
    assert all(total > data for total, data in zip(history["loss"], history["data_loss"]))
    penalty = sum(float(p) for p in model.losses)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(result["data_loss"] + penalty, rel=1e-5)
    assert isinstance(model.evaluate(x, y, verbose=0), float)  # list form stays Keras's


def test_unregularized_history_has_only_keras_keys():
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert set(history.history) == {"loss"}


def test_activity_regularizer_penalizes_outputs():
    layer = layers.Dense(2, activity_regularizer=regularizers.L2(0.5), use_bias=False,
                         kernel_initializer="ones")
    out = np.asarray(layer(np.ones((4, 3), "float32")))  # every output is 3
    assert len(layer.losses) == 1
    # Keras: penalty of the batch's outputs divided by the batch size
    assert float(layer.losses[0]) == pytest.approx(0.5 * (out ** 2).sum() / 4)
