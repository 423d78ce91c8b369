"""count_weights and output_shapes: the formulas behind summary()'s numbers."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.explain import count_weights, output_shapes
from neuropil.explain.counts import window_arithmetic


def test_dense_formulas_7_4_3_1():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(4), layers.Dense(3),
                              layers.Dense(1)])
    counts = count_weights(model)
    assert [row.formula for row in counts] == [
        "(7 inputs + 1 bias) × 4 neurons = 32",
        "(4 inputs + 1 bias) × 3 neurons = 15",
        "(3 inputs + 1 bias) × 1 neuron = 4"]
    assert (counts.total, counts.trainable, counts.non_trainable) == (51, 51, 0)
    assert "total" in str(counts) and "32 + 15 + 4 = 51 (51 trainable, 0 non-trainable)" in \
        str(counts)


def test_dense_without_bias():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(4, use_bias=False)])
    assert count_weights(model)[0].formula == "7 inputs × 4 neurons = 28"


def test_conv_batchnorm_and_pooling_formulas():
    model = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(8, 3, name="conv"),
        layers.MaxPooling2D(name="pool"),
        layers.Conv2D(16, 3, name="conv16"),
        layers.BatchNormalization(name="bn"),
        layers.Flatten(name="flat"),
    ])
    counts = count_weights(model)
    assert counts["conv"].formula == "(3·3·3 + 1) × 8 filters = 224"
    assert counts["conv16"].formula == "(3·3·8 + 1) × 16 filters = 1,168"
    assert counts["bn"].formula.startswith("4 × 16 channels (2 trainable) = 64")
    assert (counts["bn"].params, counts["bn"].trainable) == (64, 32)
    assert counts["pool"].formula == "0 (no weights: pooling has nothing to learn)"
    assert counts["pool"].params == 0
    assert counts["flat"].formula.startswith("0 (no weights")
    assert counts.total == model.count_params() == 224 + 1168 + 64
    assert counts.non_trainable == 32


def test_lenet5_total_matches_count_params():
    model = keras.applications.LeNet5()
    counts = count_weights(model)
    assert counts.total == model.count_params() == 61706
    assert counts["conv1"].formula == "(5·5·1 + 1) × 6 filters = 156"
    assert counts["fc1"].formula == "(400 inputs + 1 bias) × 120 neurons = 48,120"


def test_nested_models_are_opened_up():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="d")], name="inner")
    model = keras.Sequential([keras.Input((4,)), inner])
    assert [row.name for row in count_weights(model)] == ["inner/d"]


def test_output_shapes_of_lenet5():
    shapes = output_shapes(keras.applications.LeNet5())
    assert shapes["conv1"].output_shape == (None, 28, 28, 6)
    assert "padding 'same': ceil(28/1) = 28 (4 zeros added: 2 before, 2 after)" in \
        shapes["conv1"].formula
    assert "(28 + 2·0 − 2)/2 + 1 = 14" in shapes["pool1"].formula
    assert shapes["conv2"].formula == ("height (14 + 2·0 − 5)/1 + 1 = 10; width the same; "
                                       "16 filters → 16 channels")
    assert shapes["flatten"].formula == "5·5·16 = 400 numbers in a row"
    text = str(shapes)
    assert "conv2 (Conv2D): (None, 14, 14, 6) → (None, 10, 10, 16)" in text


def test_strides_that_do_not_divide_are_floored():
    model = keras.Sequential([keras.Input((8, 7, 1)), layers.Conv2D(2, 3, strides=2)])
    row = output_shapes(model)[0]
    assert row.output_shape == (None, 3, 3, 2)
    assert "height floor((8 + 2·0 − 3)/2) + 1 = floor(2.5) + 1 = 3" in row.formula
    assert "width (7 + 2·0 − 3)/2 + 1 = 3" in row.formula


@pytest.mark.parametrize("n, k, s, padding, d, expected", [
    (28, 5, 1, "valid", 1, "(28 + 2·0 − 5)/1 + 1 = 24"),
    (28, 3, 2, "same", 1, "padding 'same': ceil(28/2) = 14 (1 zeros added: 0 before, 1 after)"),
    (9, 3, 1, "valid", 2, "(9 + 2·0 − 5)/1 + 1 = 5 (k = 2·(3 − 1) + 1 = 5, dilated)"),
])
def test_window_arithmetic(n, k, s, padding, d, expected):
    assert window_arithmetic(n, k, s, padding, d) == expected


def test_output_shapes_needs_a_graph():
    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="keras.Input"):
        output_shapes(Custom())
    model = Custom()
    model(np.ones((1, 3), "float32"))
    assert count_weights(model).total == 8
