"""trace: a forward pass with the numbers written out, checked against hand computations."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.explain import Trace, trace


def test_lecture_example_numbers(lecture_model):
    t = trace(lecture_model, [0, 1, 2, 3])
    assert isinstance(t, Trace) and len(t) == 3
    np.testing.assert_array_equal(t[0].inputs, [[0, 1, 2, 3]])
    np.testing.assert_array_equal(t[0].z, [[2, 10, 6]])
    np.testing.assert_array_equal(t["hidden1"].outputs, [[2, 10, 6]])
    np.testing.assert_array_equal(t["hidden2"].z, [[-8, -16]])
    np.testing.assert_array_equal(t["hidden2"].outputs, [[0, 0]])
    np.testing.assert_array_equal(t["output"].z, [[-1]])
    np.testing.assert_allclose(t["output"].outputs, [[0.26894142]], rtol=1e-6)
    np.testing.assert_allclose(t.outputs, [[0.26894142]], rtol=1e-6)


def test_lecture_example_report(lecture_model):
    text = str(trace(lecture_model, [0, 1, 2, 3]))
    assert "x = (0, 1, 2, 3) → (2, 10, 6) → (0, 0) → (0.269)" in text
    assert "neuron 1: z = 0·0 + 2·1 + 0·2 + 0·3 + 0 = 2    relu(2) = 2" in text
    assert "neuron 2: z = 0·0 + 0·1 + 2·2 + 2·3 + 0 = 10    relu(10) = 10" in text
    assert "neuron 1: z = (-1)·2 + 0·10 + (-1)·6 + 0 = -8    relu(-8) = 0" in text
    assert "neuron 1: z = 3·0 + 5·0 + (-1) = -1    sigmoid(-1) = 0.269" in text
    assert "1. hidden1 (Dense: 3 neurons, activation relu): (4,) → (3,)" in text


def test_batch_and_sample_choice(lecture_model):
    t = trace(lecture_model, np.array([[0, 1, 2, 3], [1, 1, 1, 1]], "float32"), sample=1)
    assert t[0].outputs.shape == (2, 3)
    np.testing.assert_array_equal(t[0].outputs[1], [2, 4, 2])
    assert "x = (1, 1, 1, 1) → (2, 4, 2)" in str(t)
    with pytest.raises(ValueError, match="sample=5"):
        trace(lecture_model, np.zeros((2, 4)), sample=5)


def test_lookup_by_index_name_and_layer(lecture_model):
    t = trace(lecture_model, [0, 1, 2, 3])
    assert t[1] is t["hidden2"] is t[lecture_model.layers[1]]
    assert [entry.name for entry in t] == ["hidden1", "hidden2", "output"]
    with pytest.raises(KeyError, match="hidden1"):
        t["nope"]


def test_big_layers_are_cut_short():
    model = keras.Sequential([keras.Input((100,)), layers.Dense(50, activation="relu")])
    text = str(trace(model, np.linspace(0, 1, 100), max_neurons=3, max_terms=5))
    assert "neuron 4:" not in text and "… 47 more neurons, computed the same way" in text
    assert "… (95 more terms)" in text
    assert "… +92 more)" in text  # the 100 inputs: 8 shown
    assert "x = [100] → [50]" in text


def test_softmax_is_shown_over_the_whole_vector():
    model = keras.Sequential([keras.Input((2,)), layers.Dense(3, activation="softmax")])
    model.set_weights([np.array([[1, 0, 0], [0, 1, 0]], "float32"), np.zeros(3, "float32")])
    text = str(trace(model, [1.0, 2.0]))
    assert "z = (1, 2, 0)" in text
    assert "softmax(z) = (0.245, 0.665, 0.09)" in text


def edge_model(padding="valid"):
    """The lecture's vertical-edge detector as a one-filter Conv2D."""
    model = keras.Sequential([keras.Input((6, 6, 1)),
                              layers.Conv2D(1, 3, padding=padding, activation="relu")])
    model.set_weights([np.array([[1, 0, -1]] * 3, "float32").reshape(3, 3, 1, 1),
                       np.zeros(1, "float32")])
    image = np.zeros((6, 6, 1), "float32")
    image[:, :3] = 10
    return model, image


def test_conv_writes_out_one_position():
    model, image = edge_model()
    t = trace(model, image, position=(0, 1))
    np.testing.assert_array_equal(t[0].outputs[0, :, :, 0], [[0, 30, 30, 0]] * 4)
    np.testing.assert_array_equal(t[0].z, t[0].outputs)
    text = str(t)
    assert "filter 1 at output position (row 0, col 1)" in text
    assert "patch (input rows 0..2, cols 1..3, channel 1):" in text
    row = "1·10 + 0·10 + (-1)·0"
    assert f"z = {row} + {row} + {row} + 0 = 30" in text
    assert "relu(30) = 30" in text
    assert "output map of filter 1 (4×4):" in text and "0 30 30  0" in text


def test_conv_default_position_is_the_strongest_response():
    model, image = edge_model()
    assert "(row 0, col 1)" in str(trace(model, image))  # first of the 30s


def test_conv_same_padding_reads_zeros_outside_the_image():
    model, image = edge_model("same")
    t = trace(model, image, position=(0, 0))
    text = str(t)
    assert "rows -1..1, cols -1..1, channel 1, zeros outside the image" in text
    # kernel column 3 (weights -1) sits on image column 1 (10s); column 1 on the zero border
    assert f"= {int(t[0].z[0, 0, 0, 0])}" in text and t[0].z[0, 0, 0, 0] == -20


def test_max_and_average_pooling_show_the_window():
    x = np.arange(16, dtype="float32").reshape(1, 4, 4, 1)
    for pool, expected in ((layers.MaxPooling2D(), "max = 5"),
                           (layers.AveragePooling2D(), "mean = (0 + 1 + 4 + 5) / 4 = 2.5")):
        model = keras.Sequential([keras.Input((4, 4, 1)), pool])
        text = str(trace(model, x, position=(0, 0)))
        assert "window rows 0..1, cols 0..1" in text and expected in text
        assert "output map of channel 1 (2×2):" in text


def test_other_layers_are_summarized_and_nested_models_opened():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(2, name="inner_dense")],
                             name="inner")
    model = keras.Sequential([keras.Input((2, 2)), layers.Flatten(name="flatten"), inner])
    t = trace(model, np.ones((2, 2)))
    assert [entry.name for entry in t] == ["flatten", "inner/inner_dense"]
    text = str(t)
    assert "1. flatten (Flatten): (2, 2) → (4,)" in text
    assert "outputs: (1, 1, 1, 1)" in text


def test_functional_models_and_no_side_effects(lecture_model):
    inputs = keras.Input((4,))
    outputs = layers.Dense(1)(layers.Dense(3, activation="relu")(inputs))
    model = keras.Model(inputs, outputs)
    t = trace(model, np.ones(4))
    assert len(t) == 2
    np.testing.assert_allclose(t.outputs, model.predict(np.ones((1, 4)), verbose=0), rtol=1e-6)
    assert all(w.grad is None for w in model.weights)


def test_training_mode_leaves_batch_norm_statistics_alone():
    model = keras.Sequential([keras.Input((2,)), layers.BatchNormalization(name="bn")])
    before = model.get_weights()
    t = trace(model, np.array([[1.0, 2.0], [3.0, 6.0]]), training=True)
    np.testing.assert_allclose(t["bn"].outputs, [[-1, -1], [1, 1]], atol=1e-3)  # batch stats
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
