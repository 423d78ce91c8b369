"""The lecture's convolution examples, checkable by hand."""
import numpy as np

import neuropil as keras
from neuropil import layers

VERTICAL_EDGE = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], "float32")


def edge_conv(image: np.ndarray) -> np.ndarray:
    conv = layers.Conv2D(1, 3, use_bias=False)
    conv.build((None,) + image.shape + (1,))
    conv.set_weights([VERTICAL_EDGE.reshape(3, 3, 1, 1)])
    return np.asarray(conv(image[None, :, :, None]))[0, :, :, 0]


def test_half_nine_image_gives_a_band_of_27s():
    image = np.zeros((8, 8), "float32")
    image[:, :4] = 9  # bright left half, dark right half: one vertical edge
    out = edge_conv(image)
    assert out.shape == (6, 6)  # 8 - 3 + 1
    np.testing.assert_array_equal(out, np.tile([0, 0, 27, 27, 0, 0], (6, 1)))


def test_cross_correlation_not_flipped():
    """Keras slides the kernel as is (cross-correlation): top-left output = sum(patch * k)."""
    rng = np.random.default_rng(3)
    image = rng.integers(0, 10, (6, 6)).astype("float32")
    out = edge_conv(image)
    assert out[0, 0] == np.sum(image[:3, :3] * VERTICAL_EDGE)
    assert out[2, 1] == np.sum(image[2:5, 1:4] * VERTICAL_EDGE)


def test_eight_rgb_3x3_filters_have_224_weights():
    conv = layers.Conv2D(8, 3)
    conv.build((None, 32, 32, 3))
    assert conv.kernel.shape == (3, 3, 3, 8)  # each filter is as deep as the RGB input
    assert conv.count_params() == (3 * 3 * 3 + 1) * 8 == 224


def test_same_padding_keeps_size_and_stride_two_halves_it():
    x = np.zeros((1, 28, 28, 1), "float32")
    assert layers.Conv2D(4, 5, padding="same")(x).shape == (1, 28, 28, 4)
    assert layers.Conv2D(4, 3, strides=2, padding="same")(x).shape == (1, 14, 14, 4)
    assert layers.Conv2D(4, 5)(x).shape == (1, 24, 24, 4)  # n - f + 1


def test_lenet5_layers_as_the_course_builds_them():
    model = keras.applications.LeNet5()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense",
                     "Dense", "Dense"]
    assert model.layers[0].padding == "same" and model.layers[2].padding == "valid"
    assert model.count_params() == 61706
