"""Image preprocessing layers: exact results on small hand-made images, identity in inference,
seeds, dtype / shape / unbatched input, configs, and augmentation inside a model's fit."""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def _out(layer, x, **kwargs):
    return np.asarray(layer(x, **kwargs))


def _batch(image, copies):
    """``copies`` copies of one (h, w) image as a (copies, h, w, 1) float32 batch."""
    return np.repeat(np.asarray(image, "float32")[None, ..., None], copies, axis=0)


ASYMMETRIC = np.arange(12.0).reshape(3, 4)          # no flip or turn maps it to itself

RANDOM_LAYERS = {
    "flip": lambda seed=1: layers.RandomFlip(seed=seed),
    "rotation": lambda seed=1: layers.RandomRotation(0.2, seed=seed),
    "zoom": lambda seed=1: layers.RandomZoom(0.3, 0.2, seed=seed),
    "translation": lambda seed=1: layers.RandomTranslation(0.3, 0.3, seed=seed),
    "contrast": lambda seed=1: layers.RandomContrast((0.5, 0.5), seed=seed),
    "brightness": lambda seed=1: layers.RandomBrightness(0.3, seed=seed),
    "crop": lambda seed=1: layers.RandomCrop(4, 5, seed=seed),
}


def _images(seed=0, shape=(6, 7, 8, 3)):
    return np.random.default_rng(seed).uniform(0, 255, shape).astype("float32")


# ---- the family's contract ------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in RANDOM_LAYERS if n != "crop"])
def test_identity_in_inference_augments_in_training(name):
    x = _images()
    layer = RANDOM_LAYERS[name]()
    np.testing.assert_array_equal(_out(layer, x, training=False), x)
    assert not np.allclose(_out(layer, x, training=True), x)
    # Keras 3's default: called on its own (no training flag anywhere), the layer augments.
    assert not np.allclose(_out(layer, x), x)


@pytest.mark.parametrize("name", RANDOM_LAYERS)
def test_same_seed_same_output_other_seed_other_output(name):
    x = _images()
    first = _out(RANDOM_LAYERS[name](seed=7), x, training=True)
    np.testing.assert_array_equal(_out(RANDOM_LAYERS[name](seed=7), x, training=True), first)
    assert not np.array_equal(_out(RANDOM_LAYERS[name](seed=8), x, training=True), first)


@pytest.mark.parametrize("name", RANDOM_LAYERS)
def test_unseeded_layers_follow_set_random_seed(name):
    x = _images()
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(123)
        runs.append(_out(RANDOM_LAYERS[name](seed=None), x, training=True))
    np.testing.assert_array_equal(runs[0], runs[1])


@pytest.mark.parametrize("name", RANDOM_LAYERS)
def test_dtype_and_shape_and_unbatched_input(name):
    x = _images()
    layer = RANDOM_LAYERS[name]()
    out = _out(layer, x, training=True)
    assert out.dtype == np.float32
    expected_shape = (6, 4, 5, 3) if name == "crop" else x.shape
    assert out.shape == expected_shape == layer.compute_output_shape(x.shape)
    single = _out(RANDOM_LAYERS[name](seed=3), x[0], training=True)
    assert single.shape == expected_shape[1:]
    np.testing.assert_array_equal(single, _out(RANDOM_LAYERS[name](seed=3), x[:1],
                                               training=True)[0])
    # Integer pixels come out as the layer's floats, as in Keras.
    assert _out(RANDOM_LAYERS[name](), x.astype("uint8"), training=True).dtype == np.float32
    float64 = RANDOM_LAYERS[name]()
    float64 = type(float64).from_config({**float64.get_config(), "dtype": "float64"})
    assert _out(float64, x, training=True).dtype == np.float64


@pytest.mark.parametrize("name", ["rotation", "zoom", "translation", "contrast", "brightness"])
def test_each_image_draws_its_own_parameters(name):
    x = _batch(ASYMMETRIC * 20, 8)
    out = _out(RANDOM_LAYERS[name](), x, training=True)
    assert len({o.tobytes() for o in out}) == 8


def test_channels_first_equals_channels_last_transposed():
    x = _images()
    last = _out(layers.RandomRotation(0.3, seed=2), x, training=True)
    first = _out(layers.RandomRotation(0.3, seed=2, data_format="channels_first"),
                 x.transpose(0, 3, 1, 2), training=True)
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-6)


def test_rank_errors_name_the_layer():
    for training in (True, False):
        with pytest.raises(ValueError, match=r'RandomFlip "my_flip" expects images of rank 3'):
            layers.RandomFlip(name="my_flip")(np.zeros((2, 3)), training=training)


# ---- RandomFlip ----------------------------------------------------------------------
@pytest.mark.parametrize("mode, flipped", [
    ("horizontal", np.fliplr(ASYMMETRIC)),
    ("vertical", np.flipud(ASYMMETRIC)),
    # Keras 3: one draw per image for both axes, so an image is kept or turned 180°.
    ("horizontal_and_vertical", np.rot90(ASYMMETRIC, 2)),
])
def test_flip_mirrors_or_keeps_each_image(mode, flipped):
    out = _out(layers.RandomFlip(mode, seed=0), _batch(ASYMMETRIC, 32), training=True)[..., 0]
    was_flipped = np.array([np.array_equal(o, flipped) for o in out])
    kept = np.array([np.array_equal(o, ASYMMETRIC) for o in out])
    assert np.all(was_flipped ^ kept)
    assert 4 < was_flipped.sum() < 28                # about half of 32


# ---- the warps -------------------------------------------------------------------------
@pytest.mark.parametrize("factor, turns", [((0.25, 0.25), 1), ((-0.25, -0.25), -1),
                                           ((0.5, 0.5), 2)])
def test_rotation_by_a_quarter_is_rot90_counter_clockwise(factor, turns):
    square = np.arange(16.0).reshape(4, 4)
    out = _out(layers.RandomRotation(factor, interpolation="nearest"), _batch(square, 2),
               training=True)
    for o in out[..., 0]:
        np.testing.assert_array_equal(o, np.rot90(square, turns))
    # np.rot90(.., 1) moves the top-right corner to the top-left: counter-clockwise.
    assert np.rot90(square)[0, 0] == square[0, -1]


def _dot(shape, row, col):
    image = np.zeros(shape, "float32")
    image[row, col] = 1.0
    return image


def _where(out):
    return [tuple(p) for p in np.argwhere(out[0, ..., 0] > 0.5)]


def test_zoom_moves_a_pixel_away_from_or_towards_the_centre():
    x = _batch(_dot((5, 5), 1, 1), 1)                      # centre (2, 2)
    zoom_in = layers.RandomZoom((-0.5, -0.5), interpolation="nearest", fill_mode="constant")
    assert _where(_out(zoom_in, x, training=True)) == [(0, 0)]   # twice as far from the centre
    x = _batch(_dot((5, 5), 0, 0), 1)
    zoom_out = layers.RandomZoom((1.0, 1.0), interpolation="nearest", fill_mode="constant")
    assert _where(_out(zoom_out, x, training=True)) == [(1, 1)]  # half as far
    # width_factor zooms the columns on their own.
    x = _batch(_dot((5, 5), 1, 1), 1)
    wide = layers.RandomZoom((0.0, 0.0), (-0.5, -0.5), interpolation="nearest",
                             fill_mode="constant")
    assert _where(_out(wide, x, training=True)) == [(1, 0)]


def test_translation_moves_a_pixel_down_and_right():
    x = _batch(_dot((5, 5), 1, 1), 1)
    layer = layers.RandomTranslation((0.2, 0.2), (0.4, 0.4), fill_mode="constant")
    out = _out(layer, x, training=True)                    # 1 row down, 2 columns right
    assert _where(out) == [(2, 3)]
    np.testing.assert_allclose(out.sum(), 1.0)            # bilinear, whole pixels: exact
    up_left = layers.RandomTranslation((-0.2, -0.2), (-0.4, -0.4), fill_mode="constant")
    assert _where(_out(up_left, _batch(_dot((5, 5), 3, 3), 1), training=True)) == [(2, 1)]


@pytest.mark.parametrize("mode, expected", [
    ("reflect", [2, 1, 1, 2]), ("wrap", [3, 4, 1, 2]), ("nearest", [1, 1, 1, 2]),
    ("constant", [9, 9, 1, 2]),
])
def test_fill_modes_on_a_tiny_image(mode, expected):
    row = np.array([[1.0, 2.0, 3.0, 4.0]])
    layer = layers.RandomTranslation(0.0, (0.5, 0.5), fill_mode=mode, fill_value=9.0)
    np.testing.assert_allclose(_out(layer, _batch(row, 1), training=True)[0, 0, :, 0], expected)


def test_bilinear_at_half_pixel_shifts():
    row = np.array([[0.0, 2.0, 4.0, 6.0]])
    layer = layers.RandomTranslation(0.0, (0.125, 0.125), fill_mode="constant",
                                     fill_value=10.0)            # half a pixel right
    np.testing.assert_allclose(_out(layer, _batch(row, 1), training=True)[0, 0, :, 0],
                               [5, 1, 3, 5])
    nearest = layers.RandomTranslation(0.0, (0.125, 0.125), fill_mode="constant",
                                       fill_value=10.0, interpolation="nearest")
    # Reading at x - 0.5 rounds half up, to x: nothing moves.
    np.testing.assert_allclose(_out(nearest, _batch(row, 1), training=True)[0, 0, :, 0],
                               [0, 2, 4, 6])


def test_rotation_keeps_values_in_range_and_reflects_corners():
    x = _images(shape=(16, 9, 9, 1))
    out = _out(layers.RandomRotation(0.5, seed=0), x, training=True)
    assert out.min() >= x.min() - 1e-3 and out.max() <= x.max() + 1e-3
    assert np.all(out > 0)                                    # reflect: no empty corners


# ---- RandomCrop, CenterCrop, Resizing --------------------------------------------------
def test_random_crop_takes_a_window_in_training_and_the_centre_in_inference():
    x = np.arange(2 * 6 * 8, dtype="float32").reshape(2, 6, 8, 1)
    layer = layers.RandomCrop(3, 4, seed=0)
    starts = set()
    for _ in range(20):
        out = _out(layer, x, training=True)
        top, left = divmod(int(out[0, 0, 0, 0]), 8)
        np.testing.assert_array_equal(out, x[:, top:top + 3, left:left + 4])  # same window
        starts.add((top, left))
    assert len(starts) > 5
    # Inference: the largest centred window of aspect 3:4 (6 x 8 is 3:4 already), resized.
    np.testing.assert_allclose(_out(layer, x, training=False),
                               _out(layers.Resizing(3, 4), x))
    # Too small in training: the same centred crop + resize.
    small = _out(layers.RandomCrop(8, 8, seed=0), x, training=True)
    np.testing.assert_allclose(small, _out(layers.Resizing(8, 8, crop_to_aspect_ratio=True), x))


def test_random_crop_in_a_model_keeps_the_declared_shape():
    model = keras.Sequential([keras.Input((6, 8, 1)), layers.RandomCrop(4, 4, seed=0)])
    assert model.output_shape == (None, 4, 4, 1)
    assert model.predict(np.zeros((2, 6, 8, 1), "float32"), verbose=0).shape == (2, 4, 4, 1)


def test_center_crop():
    x = np.arange(5 * 6, dtype="float32").reshape(1, 5, 6, 1)
    out = _out(layers.CenterCrop(3, 2), x)
    np.testing.assert_array_equal(out, x[:, 1:4, 2:4])       # starts (5-3)//2, (6-2)//2
    np.testing.assert_array_equal(_out(layers.CenterCrop(3, 2), x, training=False), out)
    bigger = _out(layers.CenterCrop(10, 6), x)             # smaller input: crop 5x3, resize
    np.testing.assert_allclose(bigger, _out(layers.Resizing(10, 6), x[:, :, 1:4]))
    assert layers.CenterCrop(3, 2).compute_output_shape((None, 5, 6, 1)) == (None, 3, 2, 1)


def test_resizing():
    x = np.array([[[0.0], [4.0]]], "float32")                # one 1x2 image, unbatched
    np.testing.assert_allclose(_out(layers.Resizing(1, 4), x)[..., 0], [[0, 1, 3, 4]])
    np.testing.assert_allclose(_out(layers.Resizing(1, 4, "nearest"), x)[..., 0],
                               [[0, 0, 4, 4]])
    wide = np.arange(8.0, dtype="float32").reshape(1, 2, 4, 1)
    cropped = _out(layers.Resizing(2, 2, crop_to_aspect_ratio=True), wide)
    np.testing.assert_array_equal(cropped, wide[:, :, 1:3])  # centred 2x2 window, same size
    padded = _out(layers.Resizing(4, 4, pad_to_aspect_ratio=True, fill_value=-1.0), wide)
    np.testing.assert_array_equal(padded[0, [0, 3], :, 0], -1)
    np.testing.assert_array_equal(padded[:, 1:3], wide)
    assert layers.Resizing(3, 5).compute_output_shape((None, 8, 8, 3)) == (None, 3, 5, 3)
    assert layers.Resizing(3, 5).compute_output_shape((8, 8, 3)) == (3, 5, 3)
    # Not an augmentation: applied in inference too.
    np.testing.assert_allclose(_out(layers.Resizing(1, 4), x, training=False)[..., 0],
                               [[0, 1, 3, 4]])


# ---- RandomContrast, RandomBrightness --------------------------------------------------
def test_contrast_scales_deviations_from_each_channel_mean():
    x = _images(shape=(8, 5, 5, 3)) * 0.5 + 60               # in [60, 188): no clipping
    out = _out(layers.RandomContrast((0.3, 0.4), seed=0), x, training=True)
    mean = x.mean(axis=(1, 2), keepdims=True)
    factor = (out - mean) / (x - mean)
    np.testing.assert_allclose(factor, factor[:, :1, :1, :1] * np.ones_like(factor), rtol=1e-3)
    assert np.all((factor > 0.7 - 1e-4) & (factor < 1.4 + 1e-4))
    # Keras 3: a single number f draws from [1, 1 + f] (only more contrast).
    out = _out(layers.RandomContrast(0.5, seed=0), x, training=True)
    assert np.all(np.abs(out - mean) >= np.abs(x - mean) - 1e-3)
    clipped = _out(layers.RandomContrast((1.0, 1.0), value_range=(0, 100), seed=0), x * 2,
                   training=True)
    assert clipped.min() >= 0 and clipped.max() <= 100


def test_brightness_adds_one_amount_per_image_and_clips():
    x = _images(shape=(8, 4, 4, 3)) * 0.5 + 60
    out = _out(layers.RandomBrightness((-0.1, 0.2), seed=0), x, training=True)
    delta = out - x
    np.testing.assert_allclose(delta, delta[:, :1, :1, :1] * np.ones_like(delta), atol=1e-4)
    assert np.all((delta > -25.5 - 1e-3) & (delta < 51 + 1e-3))
    white = _out(layers.RandomBrightness((1.0, 1.0), value_range=(0, 1)), x / 255,
                 training=True)
    np.testing.assert_array_equal(white, 1.0)


# ---- arguments and configs -------------------------------------------------------------
CONFIG_LAYERS = [
    layers.RandomFlip("vertical", seed=3),
    layers.RandomRotation((-0.2, 0.3), fill_mode="constant", interpolation="nearest",
                          seed=1, fill_value=2.0),
    layers.RandomZoom([-0.2, 0.1], 0.3, fill_mode="wrap", seed=2),
    layers.RandomTranslation(0.1, (-0.2, 0.2), fill_mode="nearest", fill_value=1.0),
    layers.RandomCrop(4, 5),
    layers.RandomContrast(0.4, value_range=(0, 1), seed=5),
    layers.RandomBrightness([0.1, -0.2], value_range=(255, 0)),
    layers.Resizing(8, 9, "bicubic", pad_to_aspect_ratio=True, fill_value=3.0, antialias=True),
    layers.CenterCrop(3, 4, data_format="channels_first"),
]


@pytest.mark.parametrize("layer", CONFIG_LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    through_json = json.loads(json.dumps(config))              # tuples come back as lists
    assert type(layer).from_config(through_json).get_config() == config


def test_config_values_follow_keras():
    assert layers.RandomRotation(0.2).get_config()["factor"] == (-0.2, 0.2)
    assert layers.RandomContrast(0.4).get_config()["factor"] == (0, 0.4)
    assert layers.RandomBrightness(0.2).get_config()["value_range"] == [0, 255]
    zoom = layers.RandomZoom(0.2).get_config()
    assert (zoom["height_factor"], zoom["width_factor"], zoom["fill_mode"],
            zoom["interpolation"], zoom["fill_value"]) == (0.2, None, "reflect", "bilinear", 0.0)
    assert isinstance(layers.RandomCrop(2, 2).get_config()["seed"], int)  # drawn, as Keras
    assert layers.RandomFlip().get_config()["mode"] == "horizontal_and_vertical"


@pytest.mark.parametrize("make, error", [
    (lambda: layers.RandomRotation(1.5), ValueError),
    (lambda: layers.RandomRotation((0.1, 0.2, 0.3)), ValueError),
    (lambda: layers.RandomRotation(0.1, fill_mode="edge"), NotImplementedError),
    (lambda: layers.RandomZoom(0.1, interpolation="bicubic"), NotImplementedError),
    (lambda: layers.RandomZoom(-1.0), ValueError),
    (lambda: layers.RandomTranslation(0.1, 1.5), ValueError),
    (lambda: layers.RandomContrast(-0.1), ValueError),
    (lambda: layers.RandomBrightness(0.1, value_range=(0, 1, 2)), ValueError),
    (lambda: layers.RandomFlip("diagonal"), ValueError),
    (lambda: layers.RandomCrop(0, 3), ValueError),
    (lambda: layers.Resizing(4, 4, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
     ValueError),
    (lambda: layers.Resizing(4, 4, interpolation="area"), ValueError),
])
def test_bad_arguments_fail_at_construction(make, error):
    with pytest.raises(error):
        make()


# ---- in a model -------------------------------------------------------------------------
def test_augmentation_in_a_model_trains_in_fit_and_is_off_in_predict():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (64, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int64")
    model = keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.05),
        layers.Conv2D(4, 3, activation="relu"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)
    # predict skips the augmentation: the same as running the layers after it directly.
    features = x
    for layer in model.layers[2:]:
        features = layer(features, training=False)
    np.testing.assert_allclose(first, np.asarray(features), rtol=1e-5, atol=1e-6)
    # ... while a training-mode call augments.
    assert not np.allclose(np.asarray(model(x, training=True)), first)
