"""Lambda: a function as a layer; saving refuses Python lambdas, named functions round trip."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops

X = np.array([[1.0, -2.0, 3.0]], "float32")


def test_lambda_computes_and_infers_its_shape():
    square = layers.Lambda(lambda x: x ** 2)
    np.testing.assert_array_equal(square(X).numpy(), X ** 2)
    assert square.name.startswith("lambda")
    assert layers.Lambda(lambda x: x[:, :2])(keras.Input((3,))).shape == (None, 2)


def test_output_shape_tuple_or_function_and_arguments():
    scale = layers.Lambda(lambda x, factor: x * factor, output_shape=(3,),
                          arguments={"factor": 3.0})
    assert scale(keras.Input((3,))).shape == (None, 3)
    np.testing.assert_array_equal(scale(X).numpy(), 3 * X)
    pair = layers.Lambda(lambda xs: ops.concatenate(xs, axis=-1),
                         output_shape=lambda shapes: (shapes[0][0], 6))
    assert pair([keras.Input((3,)), keras.Input((3,))]).shape == (None, 6)


def test_training_flag_reaches_a_function_that_takes_it():
    seen = []
    layer = layers.Lambda(lambda x, training=None: seen.append(training) or x)
    model = keras.Sequential([keras.Input((3,)), layer])
    model(X, training=True)
    model.predict(X, verbose=0)
    assert seen[-2:] == [True, False]


def test_lambda_in_a_model_trains():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    x = layers.Dense(4)(inputs)
    x = layers.Lambda(lambda t: ops.tanh(t) * 2.0)(x)
    model = keras.Model(inputs, layers.Dense(1)(x))
    model.compile(keras.optimizers.Adam(0.05), "mse")
    data = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    history = model.fit(data, data[:, :1] * 0.5, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2


def test_uninferable_shape_asks_for_output_shape():
    def needs_batch_of_two(x):
        return ops.reshape(x, (2, -1))
    with pytest.raises(NotImplementedError, match="specify the `output_shape`"):
        layers.Lambda(needs_batch_of_two)(keras.Input((3,)))


def test_mask_is_refused():
    with pytest.raises(ValueError, match="no masking"):
        layers.Lambda(lambda x: x, mask=lambda x, m: m)


def test_in_memory_config_round_trip_keeps_the_function():
    layer = layers.Lambda(np.negative, output_shape=(3,), arguments={})
    clone = layers.Lambda.from_config(layer.get_config())
    assert clone.function is np.negative and clone.compute_output_shape((None, 3)) == (None, 3)


def test_saving_a_python_lambda_is_a_clear_error(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Lambda(lambda x: x * 2, name="double")(inputs))
    with pytest.raises(TypeError, match=r'Lambda "double".*Cannot serialize a lambda'):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()


@keras.saving.register_keras_serializable(package="tests")
def halve(x):
    return x * 0.5


def test_a_registered_function_round_trips(tmp_path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, layers.Lambda(halve, output_shape=(3,), name="half")(inputs))
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert restored.get_layer("half").function is halve
    assert restored.get_layer("half").compute_output_shape((None, 3)) == (None, 3)
    np.testing.assert_array_equal(restored.predict(X, verbose=0), X * 0.5)


def test_a_keras_file_with_lambda_bytecode_is_refused():
    config = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
              "config": {"name": "lambda", "function": {
                  "class_name": "__lambda__",
                  "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}}}
    with pytest.raises(ValueError, match="never loads code"):
        keras.saving.deserialize_keras_object(config, safe_mode=False)
