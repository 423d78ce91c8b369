"""Sequential: list or add(), with or without Input, lazy build, layers and get_layer."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def test_built_from_a_list_with_input():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)], name="net")
    assert model.name == "net" and model.built
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]
    assert model.count_params() == 15 + 4


def test_built_with_add():
    model = keras.Sequential()
    model.add(keras.Input((4,)))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(1))
    assert len(model.layers) == 2 and model.output.shape == (None, 1)


def test_lazy_build_on_first_call():
    model = keras.Sequential([layers.Dense(3), layers.Dense(2)])
    assert not model.built
    with pytest.raises(ValueError, match="built"):
        model.count_params()
    out = model(np.ones((5, 6), "float32"))
    assert out.shape == (5, 2) and model.built and model.count_params() == 21 + 8


def test_lazy_build_on_first_fit():
    model = keras.Sequential([layers.Dense(3), layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), verbose=0)
    assert model.count_params() == 9 + 4


def test_explicit_build():
    model = keras.Sequential([layers.Dense(3)])
    model.build((None, 5))
    assert model.built and model.layers[0].kernel.shape == (5, 3)


def test_pop_removes_the_last_layer():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    model.pop()
    assert len(model.layers) == 1 and model.output.shape == (None, 3)


def test_get_layer_by_name_and_index_with_clear_errors():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="hidden"),
                              layers.Dense(1, name="out")])
    assert model.get_layer("hidden") is model.layers[0]
    assert model.get_layer(index=1).name == "out"
    with pytest.raises(ValueError, match="hiden.*hidden"):
        model.get_layer("hiden")


def test_add_rejects_non_layers():
    with pytest.raises(ValueError, match="keras.Layer.*'dense'"):  # Keras raises ValueError
        keras.Sequential().add("dense")


def test_hidden_activations_through_a_feature_model():
    model = keras.Sequential([keras.Input((3,)),
                              layers.Dense(2, activation="relu", name="hidden"),
                              layers.Dense(1)])
    model.get_layer("hidden").set_weights([np.eye(3, 2, dtype="float32"),
                                           np.array([0.0, -1.0], "float32")])
    features = keras.Model(inputs=model.inputs, outputs=model.get_layer("hidden").output)
    out = features.predict(np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], "float32"), verbose=0)
    np.testing.assert_allclose(out, [[1.0, 1.0], [0.0, 0.0]])


def test_layer_output_after_lazy_build():
    model = keras.Sequential([layers.Dense(3), layers.Dense(2)])
    model(np.zeros((1, 4), "float32"))
    assert model.layers[0].output.shape == (None, 3)


def test_weights_and_trainable_weights_in_layer_order():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    assert [w.shape for w in model.weights] == [(4, 3), (3,), (3, 1), (1,)]
    assert model.trainable_weights == model.weights
    model.layers[0].trainable = False
    assert [w.shape for w in model.trainable_weights] == [(3, 1), (1,)]
    assert [w.shape for w in model.non_trainable_weights] == [(4, 3), (3,)]


def test_model_get_set_weights_round_trip():
    a = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    b = keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dense(1)])
    b.set_weights(a.get_weights())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype("float32")
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))


def test_wrong_input_shape_names_the_model_or_layer():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1)], name="tiny")
    with pytest.raises(ValueError, match=r"\(None, 4\).*\(2, 3\)"):
        model.predict(np.zeros((2, 3), "float32"), verbose=0)


def test_get_config_lists_layers():
    model = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="h")])
    config = model.get_config()
    assert config["name"] == model.name
    assert any(layer["config"].get("name") == "h" for layer in config["layers"])
