"""keras.utils.image_dataset_from_directory and the single-image helpers, on a tree of small
PNG files written here (Keras: keras/src/utils/image_dataset_utils.py, dataset_utils.py,
image_utils.py)."""
import math
import sys

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

Image = pytest.importorskip("PIL.Image")

COUNTS = {"cats": 4, "dogs": 3, "eels": 5}  # 12 files
ODD = ("dogs", 1)  # this file is 10 x 12 instead of 6 x 8


def value(class_index, i):
    """Every image is one grey level, telling its class and number apart."""
    return 60 * class_index + 5 * i


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("images")
    for k, (name, count) in enumerate(COUNTS.items()):
        (root / name).mkdir()
        for i in range(count):
            size = (12, 10) if (name, i) == ODD else (8, 6)  # Pillow sizes are (w, h)
            grey = value(k, i)
            Image.new("RGB", size, (grey, grey, grey)).save(root / name / f"{i:02d}.png")
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()
    return root


def load(tree, **kwargs):
    kwargs = {"image_size": (4, 5), "batch_size": 5, "verbose": False, **kwargs}
    return keras.utils.image_dataset_from_directory(tree, **kwargs)


def all_batches(dataset):
    images, labels = zip(*dataset)
    return np.concatenate(images), np.concatenate(labels)


def test_rgb_int_labels_shapes_class_names_and_message(tree, capsys):
    dataset = load(tree, verbose=True, seed=1)
    assert capsys.readouterr().out == "Found 12 files belonging to 3 classes.\n"
    assert dataset.class_names == ["cats", "dogs", "eels"]
    assert len(dataset) == math.ceil(12 / 5) == 3
    assert len(dataset.file_paths) == 12
    assert all(path.endswith(".png") for path in dataset.file_paths)
    first_images, first_labels = next(iter(dataset))
    assert first_images.shape == (5, 4, 5, 3) and first_images.dtype == np.float32
    assert first_labels.shape == (5,) and first_labels.dtype == np.int32
    images, labels = all_batches(dataset)
    assert images.shape == (12, 4, 5, 3)
    # Each image is constant (the odd-sized one too, once resized): its grey level gives
    # its class, which must match its label.
    grey = images[:, 0, 0, 0]
    np.testing.assert_array_equal(images, np.broadcast_to(grey[:, None, None, None],
                                                          images.shape))
    np.testing.assert_array_equal(grey // 60, labels)
    assert sorted(grey) == sorted(value(k, i) for k, n in enumerate(COUNTS.values())
                                  for i in range(n))


def test_grayscale_and_unshuffled_order(tree):
    dataset = load(tree, color_mode="grayscale", shuffle=False)
    images, labels = all_batches(dataset)
    assert images.shape == (12, 4, 5, 1)
    np.testing.assert_array_equal(labels, [0] * 4 + [1] * 3 + [2] * 5)
    np.testing.assert_array_equal(images[:, 2, 3, 0], [value(k, i) for k, n in
                                                      enumerate(COUNTS.values())
                                                      for i in range(n)])
    assert [p.split("/")[-2:] for p in dataset.file_paths][:2] == [["cats", "00.png"],
                                                                   ["cats", "01.png"]]
    assert load(tree, color_mode="rgba", shuffle=False).load(0).shape == (4, 5, 4)


def test_odd_sized_image_is_resized(tree):
    dataset = load(tree, shuffle=False, image_size=(6, 8))
    index = dataset.file_paths.index(str(tree / "dogs" / "01.png"))
    image = dataset.load(index)
    assert image.shape == (6, 8, 3)
    np.testing.assert_array_equal(image, value(1, 1))


def test_label_modes(tree):
    ints = all_batches(load(tree, shuffle=False))[1]
    categorical = all_batches(load(tree, shuffle=False, label_mode="categorical"))[1]
    assert categorical.dtype == np.float32 and categorical.shape == (12, 3)
    np.testing.assert_array_equal(categorical, np.eye(3)[ints])
    binary = load(tree, shuffle=False, label_mode="binary", class_names=["eels", "cats"])
    images, labels = all_batches(binary)
    assert binary.class_names == ["eels", "cats"] and labels.shape == (9, 1)
    np.testing.assert_array_equal(labels[:, 0], [0] * 5 + [1] * 4)
    unlabelled = load(tree, shuffle=False, label_mode=None)
    batch = next(iter(unlabelled))
    assert isinstance(batch, np.ndarray) and batch.shape == (5, 4, 5, 3)
    single = load(tree, shuffle=False, batch_size=None)
    image, label = next(iter(single))
    assert image.shape == (4, 5, 3) and label == 0 and len(single) == 12


def test_split_subsets_are_complementary_and_deterministic(tree, capsys):
    kwargs = dict(validation_split=0.25, seed=7, verbose=True)
    training = load(tree, subset="training", **kwargs)
    validation = load(tree, subset="validation", **kwargs)
    out = capsys.readouterr().out
    assert "Using 9 files for training." in out and "Using 3 files for validation." in out
    assert len(training.file_paths) == 9 and len(validation.file_paths) == 3
    assert sorted(training.file_paths + validation.file_paths) == sorted(
        load(tree, shuffle=False).file_paths)
    again = load(tree, subset="training", **kwargs)
    assert again.file_paths == training.file_paths
    both = load(tree, subset="both", validation_split=0.25, seed=7)
    assert [d.file_paths for d in both] == [training.file_paths, validation.file_paths]
    other_seed = load(tree, subset="training", validation_split=0.25, seed=8)
    assert other_seed.file_paths != training.file_paths


def test_reshuffled_every_epoch_with_seed(tree):
    dataset = load(tree, seed=3)
    first, second = (all_batches(dataset)[0][:, 0, 0, 0] for _ in range(2))
    assert sorted(first) == sorted(second) and list(first) != list(second)
    replay = load(tree, seed=3)
    np.testing.assert_array_equal(all_batches(replay)[0][:, 0, 0, 0], first)


@pytest.mark.parametrize("kwargs, message", [
    (dict(validation_split=0.2, subset="training"), "seed"),
    (dict(validation_split=0.2), "subset"),
    (dict(validation_split=0.2, subset="testing", seed=1), "subset"),
    (dict(label_mode="binary"), "exactly 2 classes"),
    (dict(label_mode="sparse"), "label_mode"),
    (dict(color_mode="bgr"), "color_mode"),
    (dict(interpolation="area"), "interpolation"),
    (dict(class_names=["cats", "cows"]), "class_names"),
    (dict(image_size=(4, 5, 3)), "image_size"),
])
def test_argument_errors(tree, kwargs, message):
    with pytest.raises(ValueError, match=message):
        load(tree, **kwargs)


def test_empty_or_missing_directory(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        keras.utils.image_dataset_from_directory(tmp_path / "nope")
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No images found.*png"):
        keras.utils.image_dataset_from_directory(tmp_path, verbose=False)


def test_fit_evaluate_predict_on_the_dataset(tree):
    keras.utils.set_random_seed(0)
    training, validation = load(tree, subset="both", validation_split=0.25, seed=2,
                                batch_size=4)
    model = keras.Sequential([keras.Input((4, 5, 3)), layers.Flatten(),
                              layers.Dense(3, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(training, validation_data=validation, epochs=3, verbose=0)
    assert history.params["steps"] == 3  # len(training) batches of 4
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    loss, accuracy = model.evaluate(validation, verbose=0)
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    assert model.predict(validation, verbose=0).shape == (3, 3)


def test_single_image_helpers_round_trip(tmp_path):
    pixels = np.arange(2 * 3 * 3, dtype="float32").reshape(2, 3, 3) * 10
    keras.utils.save_img(tmp_path / "x.png", pixels, scale=False)
    loaded = keras.utils.load_img(tmp_path / "x.png")
    assert loaded.size == (3, 2) and loaded.mode == "RGB"
    np.testing.assert_array_equal(keras.utils.img_to_array(loaded), pixels)
    grey = keras.utils.img_to_array(keras.utils.load_img(tmp_path / "x.png",
                                                         color_mode="grayscale"))
    assert grey.shape == (2, 3, 1) and grey.dtype == np.float32
    assert keras.utils.load_img(tmp_path / "x.png", target_size=(4, 6)).size == (6, 4)
    assert keras.utils.load_img(tmp_path / "x.png", target_size=(4, 4),
                                keep_aspect_ratio=True).size == (4, 4)
    stretched = keras.utils.img_to_array(keras.utils.array_to_img(pixels / 170))
    assert stretched.min() == 0 and stretched.max() == 255
    assert keras.utils.array_to_img(np.zeros((2, 2, 1))).mode == "L"
    with pytest.raises(ValueError, match="1, 3 or 4 channels"):
        keras.utils.array_to_img(np.zeros((2, 2, 2)))


def test_missing_pillow_names_the_extra(tree, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"neuropil\[images\]"):
        next(iter(load(tree)))
