"""register_keras_serializable, (de)serialize_keras_object, to_json, clone_model."""
from __future__ import annotations

import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.saving import registry
from saving_helpers import conv_model, dense_model, randomize


def _scaled_dense_class():
    class ScaledDense(layers.Layer):
        """A custom layer with a weight and a constructor argument."""

        def __init__(self, units, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.units, self.factor = units, factor

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")

        def call(self, x):
            return keras.ops.matmul(x, self.w) * self.factor

        def compute_output_shape(self, input_shape):
            return input_shape[:-1] + (self.units,)

        def get_config(self):
            return {**super().get_config(), "units": self.units, "factor": self.factor}

    return ScaledDense


def _custom_model(cls):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Dense(1)(cls(4, factor=0.5)(inputs)))
    randomize(model)
    return model


def test_register_names_like_keras(clean_registry):
    cls = keras.saving.register_keras_serializable(package="demo")(_scaled_dense_class())
    assert keras.saving.get_registered_name(cls) == "demo>ScaledDense"
    assert keras.saving.get_registered_object("demo>ScaledDense") is cls
    renamed = keras.saving.register_keras_serializable("demo", name="Other")(
        _scaled_dense_class())
    assert keras.saving.get_registered_name(renamed) == "demo>Other"
    assert keras.saving.get_registered_name(layers.Dense) == "Dense"
    with pytest.raises(ValueError, match="get_config"):
        keras.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_registered_custom_layer_round_trip(clean_registry, tmp_path):
    cls = keras.saving.register_keras_serializable(package="demo")(_scaled_dense_class())
    model = _custom_model(cls)
    model.save(tmp_path / "m.keras")
    config = json.loads(model.to_json())
    custom = config["config"]["layers"][1]
    assert custom["registered_name"] == "demo>ScaledDense"
    assert custom["build_config"] == {"input_shape": [None, 3]}
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.layers[1]) is cls and restored.layers[1].factor == 0.5
    x = np.ones((2, 3), "float32")
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


def test_unregistered_custom_layer_needs_custom_objects(clean_registry, tmp_path):
    """As in Keras: it saves; loading names the file and the class unless it is supplied."""
    cls = _scaled_dense_class()
    _custom_model(cls).save(tmp_path / "m.keras")
    with pytest.raises(ValueError) as error:
        keras.models.load_model(tmp_path / "m.keras")
    for part in ("m.keras", "'ScaledDense'", "register_keras_serializable", "custom_objects"):
        assert part in str(error.value)
    restored = keras.models.load_model(tmp_path / "m.keras",
                                       custom_objects={"ScaledDense": cls})
    assert type(restored.layers[1]) is cls


def test_registration_removed_after_saving(clean_registry, tmp_path):
    cls = keras.saving.register_keras_serializable(package="demo")(_scaled_dense_class())
    _custom_model(cls).save(tmp_path / "m.keras")
    registry._GLOBAL_CUSTOM_OBJECTS.clear()
    with pytest.raises(ValueError, match="'demo>ScaledDense'"):
        keras.models.load_model(tmp_path / "m.keras")


def test_unregistered_loss_function_loads_with_custom_objects(tmp_path, data):
    def my_loss(y_true, y_pred):
        return keras.losses.mean_squared_error(y_true, y_pred)

    model = dense_model()
    model.compile("sgd", my_loss)
    model.save(tmp_path / "m.keras")
    with pytest.raises(ValueError, match="Unknown function 'my_loss'"):
        keras.models.load_model(tmp_path / "m.keras")
    assert not keras.models.load_model(tmp_path / "m.keras", compile=False).compiled
    restored = keras.models.load_model(tmp_path / "m.keras",
                                       custom_objects={"my_loss": my_loss})
    assert restored.loss is my_loss


def test_registered_function_activation(clean_registry, tmp_path):
    @keras.saving.register_keras_serializable(package="demo")
    def cube(x):
        return x * x * x

    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, activation=cube)])
    model.save(tmp_path / "m.keras")
    assert keras.models.load_model(tmp_path / "m.keras").layers[0].activation is cube
    config = {"module": "m", "class_name": "function", "config": "demo>cube",
              "registered_name": "demo>cube"}
    assert keras.saving.deserialize_keras_object(config) is cube


@pytest.mark.parametrize("obj", [
    keras.initializers.HeNormal(seed=3), keras.initializers.Constant(0.5),
    keras.regularizers.L1L2(l1=0.01, l2=0.02), keras.losses.Huber(delta=2.0),
    keras.losses.CategoricalCrossentropy(from_logits=True),
    keras.metrics.SparseTopKCategoricalAccuracy(k=3), keras.metrics.Mean(name="m"),
    keras.optimizers.Adam(0.002, beta_1=0.8), keras.optimizers.SGD(momentum=0.9),
    keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5),
    layers.Conv2D(3, 2, name="c"),
], ids=lambda obj: type(obj).__name__)
def test_serialize_round_trip_per_namespace(obj):
    config = keras.saving.serialize_keras_object(obj)
    assert config["module"].startswith("keras.") and config["registered_name"] is None
    json.dumps(config)
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(obj) and clone.get_config() == obj.get_config()


@pytest.mark.parametrize("fn, module", [(keras.activations.relu, "keras.activations"),
                                        (keras.losses.mean_squared_error, "keras.losses"),
                                        (keras.metrics.binary_accuracy, "keras.metrics")])
def test_builtin_functions_by_name(fn, module):
    config = keras.saving.serialize_keras_object(fn)
    assert config == {"module": module, "class_name": "function", "config": fn.__name__,
                      "registered_name": fn.__name__}
    assert keras.saving.deserialize_keras_object(config) is fn


def test_plain_values_and_arrays():
    value = {"a": [1, 2.5, None, "x"], "b": np.arange(3, dtype="int32"), "c": np.float32(2)}
    config = keras.saving.serialize_keras_object(value)
    assert config["b"] == {"class_name": "__numpy__",
                           "config": {"value": [0, 1, 2], "dtype": "int32"}}
    back = keras.saving.deserialize_keras_object(config)
    assert back["a"] == [1, 2.5, None, "x"] and back["b"].dtype == np.int32


def test_unserializable_objects_are_refused():
    with pytest.raises(TypeError, match="get_config"):
        keras.saving.serialize_keras_object(object())
    with pytest.raises(TypeError, match="never saves"):
        keras.saving.serialize_keras_object(lambda x: x)


def test_to_json_and_model_from_json(data):
    model = conv_model()
    model.compile("adam", "categorical_crossentropy")
    text = model.to_json(indent=1)
    restored = keras.models.model_from_json(text)
    assert restored.get_config() == model.get_config()
    assert restored.compiled and type(restored.optimizer).__name__ == "Adam"
    assert json.loads(text)["class_name"] == "Functional"


def test_model_from_json_for_sequential():
    model = dense_model(name="mlp")
    restored = keras.models.model_from_json(model.to_json())
    assert isinstance(restored, keras.Sequential) and restored.name == "mlp"
    assert restored.count_params() == model.count_params()


def test_clone_model():
    for model in (dense_model(), conv_model()):
        randomize(model)
        twin = keras.models.clone_model(model)
        assert type(twin) is type(model) and twin.get_config() == model.get_config()
        assert all(a is not b for a, b in zip(twin.layers, model.layers))
        shared = keras.models.clone_model(model, clone_function=lambda layer: layer)
        assert shared.layers[-1] is model.layers[-1]
    with pytest.raises(ValueError, match="not supported"):
        keras.models.clone_model(dense_model(), input_tensors=[keras.Input((4,))])


def test_custom_object_scope(clean_registry):
    cls = _scaled_dense_class()
    config = {"module": "somewhere", "class_name": "ScaledDense",
              "config": {"units": 2, "name": "s"}, "registered_name": "x>ScaledDense"}
    with pytest.raises(ValueError, match="Unknown class 'ScaledDense'"):
        keras.saving.deserialize_keras_object(config)
    with keras.saving.custom_object_scope({"x>ScaledDense": cls}):
        assert type(keras.saving.deserialize_keras_object(config)) is cls


def test_registered_subclassed_model_round_trip(clean_registry, tmp_path, data):
    @keras.saving.register_keras_serializable(package="demo")
    class TwoLayer(keras.Model):
        def __init__(self, hidden=5, **kwargs):
            super().__init__(**kwargs)
            self.hidden = hidden
            self.first = layers.Dense(hidden, activation="relu")
            self.second = layers.Dense(3, activation="softmax")

        def call(self, x):
            return self.second(self.first(x))

        def get_config(self):
            return {**super().get_config(), "hidden": self.hidden}

    model = TwoLayer(hidden=6)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(*data, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored) is TwoLayer and restored.hidden == 6
    np.testing.assert_array_equal(restored.predict(data[0], verbose=0),
                                  model.predict(data[0], verbose=0))
    assert int(restored.optimizer.iterations.data) == 1
