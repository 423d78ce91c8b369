"""neuropil.data.image: the vectorized warp against hand-computed values and against the
reference Keras's own tests use (pad by the fill mode, then scipy's map_coordinates); the
transform builders; resizing against hand values and PyTorch."""
import numpy as np
import pytest

from neuropil.data import image

FILL_MODES = ["reflect", "wrap", "nearest", "constant", "mirror"]


def _row(values):
    """One image, one row, one channel: shape (1, 1, width, 1)."""
    return np.asarray(values, dtype="float32").reshape(1, 1, -1, 1)


def _shift(dx, dy=0.0):
    return image.translation_transforms([dx], [dy])


# ---- fill modes and sampling by hand -------------------------------------------------
@pytest.mark.parametrize("mode, expected", [
    ("reflect", [2, 1, 1, 2]),        # d c b a | a b c d
    ("wrap", [3, 4, 1, 2]),           # a b c d | a b c d
    ("nearest", [1, 1, 1, 2]),        # a a a a | a b c d
    ("constant", [9, 9, 1, 2]),       # k k k k | a b c d
    ("mirror", [3, 2, 1, 2]),         # d c b | a b c d
])
def test_fill_modes_extend_the_image_as_keras_documents(mode, expected):
    row = _row([1, 2, 3, 4])
    # Moving the row two pixels right makes output pixels 0 and 1 read input columns -2
    # and -1, outside the image: the two values left of "| a b c d" in the expected.
    shifted = image.affine_transform(row, _shift(2), "nearest", mode, fill_value=9)
    np.testing.assert_array_equal(shifted[0, 0, :, 0], expected)
    bilinear = image.affine_transform(row, _shift(2), "bilinear", mode, fill_value=9)
    np.testing.assert_allclose(bilinear[0, 0, :, 0], expected)   # whole pixels: the same


def test_fold_indices_far_outside_the_image():
    index = np.arange(-9, 13)
    np.testing.assert_array_equal(image.fold_indices(index, 4, "wrap"), index % 4)
    np.testing.assert_array_equal(image.fold_indices(index, 4, "nearest"), np.clip(index, 0, 3))
    # reflect has period 8: 0 1 2 3 3 2 1 0 | 0 1 2 3 ...
    np.testing.assert_array_equal(image.fold_indices(np.arange(-8, 8), 4, "reflect"),
                                  [0, 1, 2, 3, 3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0])
    np.testing.assert_array_equal(image.fold_indices([-1, 0, 3, 4], 4, "constant"), [4, 0, 3, 4])
    np.testing.assert_array_equal(image.fold_indices([-2, -1, 0, 1], 1, "mirror"), [0, 0, 0, 0])


def test_bilinear_at_half_pixel_shifts():
    row = _row([0, 2, 4, 6])
    # Each output reads half a pixel to its left: the mean of two neighbours.
    out = image.affine_transform(row, _shift(0.5), "bilinear", "constant", fill_value=10)
    np.testing.assert_allclose(out[0, 0, :, 0], [5, 1, 3, 5])      # (10 + 0) / 2 at the edge
    out = image.affine_transform(row, _shift(0.5), "bilinear", "reflect")
    np.testing.assert_allclose(out[0, 0, :, 0], [0, 1, 3, 5])      # (a | a b ...): a
    out = image.affine_transform(row, _shift(-0.25), "bilinear", "wrap")
    np.testing.assert_allclose(out[0, 0, :, 0], [0.5, 2.5, 4.5, 4.5])  # 6·0.75 + 0·0.25
    # Vertically too: a column read a quarter pixel down.
    column = np.array([0.0, 4.0, 8.0], "float32").reshape(1, 3, 1, 1)
    out = image.affine_transform(column, _shift(0, -0.25), "bilinear", "nearest")
    np.testing.assert_allclose(out[0, :, 0, 0], [1, 5, 8])


def test_nearest_rounds_half_up():
    row = _row([0, 1, 2, 3])
    out = image.affine_transform(row, _shift(-0.5), "nearest", "nearest")  # reads x + 0.5
    np.testing.assert_array_equal(out[0, 0, :, 0], [1, 2, 3, 3])


def test_each_image_gets_its_own_transform_and_channels_move_together():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 5, 6, 2)).astype("float32")
    transforms = np.concatenate([_shift(0), _shift(1), _shift(0, 2)])
    out = image.affine_transform(images, transforms, "nearest", "constant")
    np.testing.assert_array_equal(out[0], images[0])
    np.testing.assert_array_equal(out[1, :, 1:], images[1, :, :-1])
    np.testing.assert_array_equal(out[1, :, 0], 0)
    np.testing.assert_array_equal(out[2, 2:], images[2, :-2])
    assert out.dtype == np.float32 and out.shape == images.shape


def test_one_transform_for_all_and_integer_images():
    images = np.arange(8, dtype="uint8").reshape(2, 1, 4, 1)
    out = image.affine_transform(images, [1, 0, -1, 0, 1, 0, 0, 0], "nearest", "nearest")
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 0, :, 0], [[0, 0, 1, 2], [4, 4, 5, 6]])


def test_projective_transform_divides_by_k():
    images = np.arange(16.0).reshape(1, 4, 4, 1)
    # k = 0.5·x + 1: x_in = x / k; with a0 = 1 and everything else 0 but c0.
    out = image.affine_transform(images, [1, 0, 0, 0, 1, 0, 0.5, 0], "bilinear", "nearest")
    x = np.arange(4.0)
    k = 0.5 * x + 1
    y = np.arange(4.0)[:, None] / k                                 # y_in = y / k too
    expected = np.interp(x / k, np.arange(4), [0, 1, 2, 3])[None, :] + 4 * y
    np.testing.assert_allclose(out[0, ..., 0], expected, rtol=1e-5)


def test_argument_errors():
    with pytest.raises(ValueError, match="fill_mode"):
        image.affine_transform(np.zeros((1, 2, 2, 1)), _shift(0), fill_mode="edge")
    with pytest.raises(ValueError, match="interpolation"):
        image.affine_transform(np.zeros((1, 2, 2, 1)), _shift(0), interpolation="cubic")
    with pytest.raises(ValueError, match=r"\(8,\) or \(2, 8\)"):
        image.affine_transform(np.zeros((2, 2, 2, 1)), np.zeros((3, 8)))
    with pytest.raises(ValueError, match="batch of images"):
        image.affine_transform(np.zeros((2, 2, 1)), _shift(0))


# ---- against Keras's reference -------------------------------------------------------
def _keras_reference(images, transforms, order, mode, fill_value):
    """What keras/src/ops/image_test.py compares every backend with: pad the image by the
    fill mode far enough to hold every coordinate, then scipy.ndimage.map_coordinates."""
    ndimage = pytest.importorskip("scipy.ndimage")
    pad_mode = {"nearest": "edge", "mirror": "reflect", "reflect": "symmetric"}.get(mode, mode)
    out = []
    for img, t in zip(images.astype("float64"), transforms.astype("float64")):
        rows, cols, chans = np.meshgrid(*map(np.arange, img.shape), indexing="ij")
        coords = [t[3] * cols + t[4] * rows + t[5], t[0] * cols + t[1] * rows + t[2],
                  chans.astype("float64")]
        pads = [(max(1 - int(np.floor(c.min())), 0), max(int(np.ceil(c.max())) + 1 - n, 0))
                for c, n in zip(coords, img.shape)]
        extra = {"constant_values": fill_value} if mode == "constant" else {}
        padded = np.pad(img, pads, mode=pad_mode, **extra)
        out.append(ndimage.map_coordinates(padded, [c + p[0] for c, p in zip(coords, pads)],
                                           order=order, mode=mode, cval=fill_value))
    return np.stack(out)


@pytest.mark.parametrize("mode", FILL_MODES)
@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_matches_the_keras_reference_on_random_affine_transforms(interpolation, mode):
    rng = np.random.default_rng(42)
    images = rng.uniform(0, 255, (3, 13, 11, 2)).astype("float32")
    # Random transforms as in Keras's test, plus a strong rotation+zoom and a far shift
    # (coordinates several image sizes outside) for the fill modes' periodicity.
    transforms = np.zeros((3, 8), "float32")
    transforms[0, :6] = rng.uniform(size=6)
    transforms[1] = image.rotation_transforms([2.3], 13, 11)[0] * [1.7, 1.7, 1, 1.7, 1.7, 1,
                                                                    0, 0]
    transforms[2] = [0.93, 0.11, -31.3, -0.07, 1.21, 27.9, 0, 0]
    out = image.affine_transform(images, transforms, interpolation, mode, fill_value=7.0)
    expected = _keras_reference(images, transforms, {"nearest": 0, "bilinear": 1}[interpolation],
                                mode, 7.0)
    np.testing.assert_allclose(out, expected, atol=2e-3)


# ---- transform builders --------------------------------------------------------------
@pytest.mark.parametrize("quarter_turns", [1, -1, 2])
def test_rotation_by_quarter_turns_is_rot90(quarter_turns):
    images = np.arange(25.0, dtype="float32").reshape(1, 5, 5, 1)
    transforms = image.rotation_transforms([quarter_turns * np.pi / 2], 5, 5)
    for interpolation in ("nearest", "bilinear"):
        out = image.affine_transform(images, transforms, interpolation, "constant")
        np.testing.assert_allclose(out[0, ..., 0], np.rot90(images[0, ..., 0], quarter_turns),
                                   atol=1e-4)


def test_rotation_of_a_non_square_image_turns_about_the_centre():
    images = np.zeros((1, 3, 5, 1), "float32")
    images[0, 1, 4, 0] = 1                        # right of the centre (1, 2), two columns
    out = image.affine_transform(images, image.rotation_transforms([np.pi / 2], 3, 5),
                                 "nearest", "constant")
    # Counter-clockwise on screen: right of the centre goes above it -> row -1 (outside),
    # so nothing is left; a pixel one column right goes to one row up.
    assert out.sum() == 0
    images[0, 1, 4, 0], images[0, 1, 3, 0] = 0, 1
    out = image.affine_transform(images, image.rotation_transforms([np.pi / 2], 3, 5),
                                 "nearest", "constant")
    assert np.argwhere(out[0, ..., 0]).tolist() == [[0, 2]]


def test_zoom_and_translation_builders():
    np.testing.assert_allclose(image.zoom_transforms([2.0], [0.5], 5, 9)[0],
                               [2, 0, -4, 0, 0.5, 1, 0, 0])
    np.testing.assert_allclose(image.translation_transforms([3.0], [-2.0])[0],
                               [1, 0, -3, 0, 1, 2, 0, 0])


# ---- resizing ------------------------------------------------------------------------
def test_resize_by_hand():
    row = _row([0, 4])
    np.testing.assert_allclose(image.resize(row, 1, 4)[0, 0, :, 0], [0, 1, 3, 4])
    np.testing.assert_allclose(image.resize(_row([0, 2, 4, 6]), 1, 2)[0, 0, :, 0], [1, 5])
    np.testing.assert_array_equal(image.resize(_row([0, 2, 4, 6]), 1, 2, "nearest")[0, 0, :, 0],
                                  [2, 6])           # centres 1 and 3: floor((j + .5) · 2)
    np.testing.assert_array_equal(image.resize(_row([5, 7]), 1, 3, "nearest")[0, 0, :, 0],
                                  [5, 7, 7])        # floor(0.33), floor(1.0), floor(1.67)
    same = np.arange(6.0).reshape(1, 2, 3, 1)
    for interpolation in image.RESIZE_INTERPOLATIONS:
        np.testing.assert_allclose(image.resize(same, 2, 3, interpolation), same)


def test_resize_antialias_averages_when_shrinking():
    row = _row([0, 0, 8, 8])
    # Shrinking 4 -> 1: without antialias the centre (1.5) mixes the middle two pixels
    # only; with it the triangle is 4 pixels wide and every pixel counts, by 1 - d / 4 at
    # distances 1.5, 0.5, 0.5, 1.5: weights 5, 7, 7, 5 (/ 24).
    np.testing.assert_allclose(image.resize(row, 1, 1)[0, 0, 0, 0], 4.0)
    np.testing.assert_allclose(image.resize(_row([8, 0, 0, 0]), 1, 1)[0, 0, 0, 0], 0.0)
    np.testing.assert_allclose(
        image.resize(_row([24, 0, 0, 0]), 1, 1, antialias=True)[0, 0, 0, 0], 5.0, rtol=1e-6)


@pytest.mark.parametrize("size", [(7, 5), (16, 20), (3, 12)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resize_matches_torch(size, mode):
    torch = pytest.importorskip("torch")
    images = np.random.default_rng(1).uniform(size=(2, 9, 10, 3)).astype("float32")
    ours = image.resize(images, *size, interpolation=mode)
    theirs = torch.nn.functional.interpolate(
        torch.from_numpy(images).permute(0, 3, 1, 2), size=size,
        mode="bilinear" if mode == "bilinear" else "nearest-exact",
        **({"align_corners": False} if mode == "bilinear" else {}))
    np.testing.assert_allclose(ours, theirs.permute(0, 2, 3, 1).numpy(), atol=1e-5)


def test_aspect_ratio_crop_and_pad():
    assert image.aspect_crop_box(340, 500, 200, 200) == (0, 80, 340, 340)
    assert image.aspect_crop_box(8, 16, 10, 8) == (0, 5, 8, 6)
    images = np.arange(24.0).reshape(1, 4, 6, 1)
    np.testing.assert_array_equal(image.crop_to_aspect_ratio(images, 2, 2), images[:, :, 1:5])
    padded = image.pad_to_aspect_ratio(images, 6, 6, fill_value=-1)
    assert padded.shape == (1, 6, 6, 1)
    np.testing.assert_array_equal(padded[0, 0, :, 0], -1)
    np.testing.assert_array_equal(padded[:, 1:5], images)
