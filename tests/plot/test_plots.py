"""neuropil.plot: each function returns a Figure and writes a non-empty PNG, headless."""
import subprocess
import sys

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.callbacks import History

matplotlib = pytest.importorskip("matplotlib")
plot = pytest.importorskip("neuropil.plot")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt
    plt.close("all")


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(PNG_SIGNATURE)


def small_cnn():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        layers.Conv2D(4, 3, activation="relu", padding="same", name="conv"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="out"),
    ])


def image():
    x = np.zeros((8, 8, 1), "float32")
    x[2:6, 3] = 1
    return x


def test_history_across_two_fits(tmp_path):
    first, second = History(), History()
    for epoch in range(3):
        first.on_epoch_end(epoch, {"loss": 1 / (epoch + 1), "accuracy": 0.5 + 0.1 * epoch,
                                   "val_loss": 1.2 / (epoch + 1), "val_accuracy": 0.5})
    for epoch in range(3, 5):
        second.on_epoch_end(epoch, {"loss": 0.2, "accuracy": 0.9, "val_loss": 0.5 + epoch / 10,
                                    "val_accuracy": 0.6})
    figure = plot.history(first, second, path=tmp_path / "curves.png")
    assert isinstance(figure, matplotlib.figure.Figure)
    assert_png(tmp_path / "curves.png")
    loss_panel, accuracy_panel = figure.axes
    assert loss_panel.get_title() == "loss" and accuracy_panel.get_title() == "accuracy"
    training = loss_panel.get_lines()[0]
    np.testing.assert_array_equal(training.get_xdata(), [1, 2, 3, 4, 5])  # epochs continue
    labels = [line.get_label() for line in loss_panel.get_lines()]
    assert "best val_loss: epoch 3" in labels   # 1.2 / 3 = 0.4 is the lowest


def test_history_accepts_a_dict_or_a_list_without_validation():
    figure = plot.history([{"loss": [1.0, 0.5]}, {"loss": [0.4]}])
    assert len(figure.axes) == 1 and len(figure.axes[0].get_lines()[0].get_xdata()) == 3
    with pytest.raises(ValueError):
        plot.history()


def test_filters(tmp_path):
    model = small_cnn()
    figure = plot.filters(model.get_layer("conv"), path=tmp_path / "filters.png")
    assert_png(tmp_path / "filters.png")
    assert len([ax for ax in figure.axes if ax.images]) == 4
    rgb = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(5, 3)])
    assert len([ax for ax in plot.filters(rgb.layers[0]).axes if ax.images]) == 5
    with pytest.raises(ValueError, match="kernel"):
        plot.filters(layers.Dense(2))


def test_feature_maps(tmp_path):
    model = small_cnn()
    figure = plot.feature_maps(model, image(), "conv", path=tmp_path / "maps.png")
    assert_png(tmp_path / "maps.png")
    assert len([ax for ax in figure.axes if ax.images]) == 1 + 4  # the input, 4 maps
    assert "conv (Conv2D): 4 maps of 8×8" in figure._suptitle.get_text()
    bars = plot.feature_maps(model, image(), "out", path=tmp_path / "out.png")
    assert_png(tmp_path / "out.png")
    assert len(bars.axes[0].patches) == 10


def test_model_graph(tmp_path):
    inputs = keras.Input((4,), name="x")
    left = layers.Dense(3, name="left")(inputs)
    right = layers.Dense(3, name="right")(inputs)
    model = keras.Model(inputs, [left, right], name="two_heads")
    figure = plot.model(model, path=tmp_path / "graph.png")
    assert_png(tmp_path / "graph.png")
    boxes = [t.get_text() for t in figure.axes[0].texts if t.get_text()]
    assert sorted(box.split("\n")[0] for box in boxes) == ["left", "right", "x"]
    assert "left\nDense\n(None, 3)\n15 weights" in boxes
    arrows = [t for t in figure.axes[0].texts if not t.get_text()]
    assert len(arrows) == 2   # x -> left, x -> right
    cnn = plot.model(small_cnn(), path=tmp_path / "cnn.png")
    assert_png(tmp_path / "cnn.png")
    assert any("(None, 4, 4, 4)" in t.get_text() for t in cnn.axes[0].texts)


def test_augmentations(tmp_path):
    batch = np.stack([image(), image()[::-1]])
    figure = plot.augmentations(layers.GaussianNoise(0.3), batch, n=4,
                                path=tmp_path / "aug.png", seed=0)
    assert_png(tmp_path / "aug.png")
    axes = [ax for ax in figure.axes if ax.images]
    assert len(axes) == 2 * (1 + 4)
    original, noisy = axes[0].images[0].get_array(), axes[1].images[0].get_array()
    assert not np.allclose(original, noisy)   # training=True switched the noise on


def test_plots_work_without_a_display():
    code = ("import os; os.environ.pop('DISPLAY', None); os.environ.pop('MPLBACKEND', None)\n"
            "import neuropil.plot as plot, matplotlib\n"
            "plot.history({'loss': [1.0, 0.5]})\n"
            "print(matplotlib.get_backend())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, env={"PATH": "", "HOME": "/tmp"})
    assert result.stdout.strip().lower() == "agg"


def test_import_neuropil_does_not_import_matplotlib():
    code = ("import sys, neuropil, neuropil.explain, neuropil.plot\n"
            "neuropil.explain.count_weights\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "neuropil\[plot\]"'):
        plot.history({"loss": [1.0]})
