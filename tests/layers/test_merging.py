"""Merge layers: values, shapes (Keras's broadcasting rule), errors naming the layer and the
shapes, configs, the lower-case functional forms, gradients and a .keras round trip."""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops

RNG = np.random.default_rng(0)
A = RNG.normal(size=(2, 3, 4)).astype("float32")
B = RNG.normal(size=(2, 3, 4)).astype("float32")
C = RNG.normal(size=(2, 3, 4)).astype("float32")

ELEMENTWISE = [
    (layers.Add, layers.add, lambda *xs: sum(xs)),
    (layers.Multiply, layers.multiply, lambda *xs: np.prod(xs, axis=0)),
    (layers.Average, layers.average, lambda *xs: np.mean(xs, axis=0)),
    (layers.Maximum, layers.maximum, lambda *xs: np.max(xs, axis=0)),
    (layers.Minimum, layers.minimum, lambda *xs: np.min(xs, axis=0)),
]


@pytest.mark.parametrize("cls, function, expected", ELEMENTWISE)
def test_elementwise_values_for_two_and_three_inputs(cls, function, expected):
    np.testing.assert_allclose(cls()([A, B]).numpy(), expected(A, B), rtol=1e-6)
    np.testing.assert_allclose(cls()([A, B, C]).numpy(), expected(A, B, C), rtol=1e-6)
    np.testing.assert_allclose(function([A, B, C]).numpy(), expected(A, B, C), rtol=1e-6)
    assert function([keras.Input((3, 4)), keras.Input((3, 4))]).shape == (None, 3, 4)


def test_subtract_takes_exactly_two():
    np.testing.assert_allclose(layers.subtract([A, B]).numpy(), A - B, rtol=1e-6)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([keras.Input((4,))] * 3)


def test_average_of_a_worked_example():
    out = layers.average([np.array([[1.0, 2.0]]), np.array([[3.0, 6.0]])])
    np.testing.assert_array_equal(out.numpy(), [[2.0, 4.0]])


def test_broadcasting_follows_keras():
    # size 1 against n, and a lower-rank input expanded after the batch axis
    assert layers.add([keras.Input((3, 1)), keras.Input((3, 4))]).shape == (None, 3, 4)
    assert layers.add([keras.Input((4,)), keras.Input((3, 4))]).shape == (None, 3, 4)
    assert layers.add([keras.Input((None, 4)), keras.Input((3, 4))]).shape == (None, None, 4)
    small = RNG.normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(layers.Add()([small, A]).numpy(), small[:, None, :] + A,
                               rtol=1e-6)


def test_incompatible_shapes_name_the_layer_and_both_shapes():
    with pytest.raises(ValueError, match=r'"plus" \(Add\): inputs have incompatible shapes\. '
                                         r"Received shapes \(3,\) and \(4,\)"):
        layers.Add(name="plus")([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Add()([keras.Input(batch_shape=(2, 3)), keras.Input(batch_shape=(5, 3))])


def test_a_merge_layer_needs_a_list():
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(keras.Input((3,)))
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(A)


def test_concatenate_values_shapes_and_errors():
    np.testing.assert_array_equal(layers.Concatenate()([A, B]).numpy(),
                                  np.concatenate([A, B], -1))
    np.testing.assert_array_equal(layers.concatenate([A, B], axis=1).numpy(),
                                  np.concatenate([A, B], 1))
    assert layers.concatenate([keras.Input((8, 8, 3)), keras.Input((8, 8, 5))]).shape == \
        (None, 8, 8, 8)
    assert layers.Concatenate(axis=1)([keras.Input((2, 3)), keras.Input((None, 3))]).shape == \
        (None, None, 3)
    with pytest.raises(ValueError, match=r'(?s)"cat" \(Concatenate\).*matching shapes except '
                                         r"for the concatenation axis.*\(None, 3, 2\)"):
        layers.Concatenate(name="cat")([keras.Input((3, 2)), keras.Input((4, 2))])
    with pytest.raises(ValueError, match="matching shapes"):
        layers.Concatenate()([keras.Input((3, 2)), keras.Input((3,))])


def test_dot_values_shapes_and_normalize():
    x = RNG.normal(size=(2, 3, 5)).astype("float32")
    y = RNG.normal(size=(2, 10, 3)).astype("float32")
    out = layers.Dot(axes=(1, 2))([x, y])
    np.testing.assert_allclose(out.numpy(), np.einsum("bij,bki->bjk", x, y), rtol=1e-5)
    assert layers.Dot(axes=(1, 2))([keras.Input((3, 5)), keras.Input((10, 3))]).shape == \
        (None, 5, 10)
    u = np.array([[3.0, 4.0]], "float32")
    v = np.array([[4.0, 3.0]], "float32")
    np.testing.assert_allclose(layers.dot([u, v], axes=1).numpy(), [[24.0]])
    cosine = layers.Dot(axes=-1, normalize=True)([u, v]).numpy()
    np.testing.assert_allclose(cosine, [[24.0 / 25.0]], rtol=1e-6)
    assert layers.dot([keras.Input((4,)), keras.Input((4,))], axes=1).shape == (None, 1)


def test_dot_errors():
    with pytest.raises(ValueError, match=r"axis values 3 \(at axis 1\) != 4 \(at axis 1\)"):
        layers.Dot(axes=1)([keras.Input((3,)), keras.Input((4,))])
    with pytest.raises(ValueError, match="list of 2 inputs"):
        layers.Dot(axes=1)([keras.Input((3,))] * 3)
    with pytest.raises(ValueError, match="batch axis 0"):
        layers.Dot(axes=0)([keras.Input((3,)), keras.Input((3,))])
    with pytest.raises(TypeError, match="list or an int"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        layers.Dot(axes=(1, 2, 3))


@pytest.mark.parametrize("layer", [layers.Add(name="a1"), layers.Subtract(), layers.Multiply(),
                                   layers.Average(), layers.Maximum(), layers.Minimum(),
                                   layers.Concatenate(axis=1), layers.Dot(axes=(1, 2),
                                                                         normalize=True)],
                         ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    json.dumps(config)
    assert type(layer).from_config(config).get_config() == config
    assert layer.get_config()["name"] == layer.name


def test_default_names_follow_keras():
    assert layers.Add().name.startswith("add") and layers.Dot(1).name.startswith("dot")


@pytest.mark.parametrize("cls", [layers.Add, layers.Subtract, layers.Multiply,
                                 layers.Average, layers.Maximum, layers.Minimum])
def test_gradients_match_central_differences(cls):
    from helpers import check_op

    def merged(x, y):
        return cls(dtype="float64")([x, y])

    x = RNG.uniform(-2, 2, (2, 3))
    y = x + RNG.choice([-1.0, 1.0], (2, 3)) * RNG.uniform(0.2, 1.0, (2, 3))  # no ties
    check_op(merged, x, y)


def test_concatenate_and_dot_gradients():
    from helpers import check_op
    x, y = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 5, 4))
    f64 = {"dtype": "float64"}
    check_op(lambda a, b: layers.Concatenate(axis=1, **f64)([a, b]), x, y)
    check_op(lambda a, b: layers.Dot(axes=(2, 2), **f64)([a, b]), x, y)
    check_op(lambda a, b: layers.Dot(axes=2, normalize=True, **f64)([a, b]), x, y)


def test_saving_round_trip_of_a_model_with_merge_layers(tmp_path):
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    shared = layers.Dense(3, name="shared")
    sa, sb = shared(a), shared(b)
    merged = layers.concatenate([layers.add([sa, sb]), layers.subtract([sa, sb]),
                                 layers.multiply([sa, sb]), layers.average([sa, sb]),
                                 layers.maximum([sa, sb]), layers.minimum([sa, sb])])
    similarity = layers.dot([sa, sb], axes=1, normalize=True, name="similarity")
    model = keras.Model([a, b], [layers.Dense(2, name="head")(merged), similarity])
    model.compile("sgd", loss=["mse", "mse"], loss_weights=[1.0, 0.5],
                  metrics=[["mae"], []])
    data = [RNG.normal(size=(5, 4)).astype("float32") for _ in range(2)]
    model.fit(data, [np.zeros((5, 2)), np.ones((5, 1))], verbose=0)
    model.save(tmp_path / "merged.keras")
    restored = keras.models.load_model(tmp_path / "merged.keras")
    assert restored.get_config() == model.get_config()
    assert [type(layer) for layer in restored.layers] == [type(layer) for layer in model.layers]
    for got, expected in zip(restored.predict(data, verbose=0), model.predict(data, verbose=0)):
        np.testing.assert_array_equal(got, expected)
    assert restored.loss_weights == [1.0, 0.5]
    logs = restored.evaluate(data, [np.zeros((5, 2)), np.ones((5, 1))], verbose=0,
                             return_dict=True)
    assert {"head_loss", "similarity_loss", "head_mae"} <= set(logs)


def test_merge_layers_in_ops_free_custom_code():
    """Merge layers accept Tensors from ops too (eager use inside a custom layer)."""
    x = ops.convert_to_tensor(A)
    np.testing.assert_allclose(layers.add([x, x]).numpy(), 2 * A, rtol=1e-6)
