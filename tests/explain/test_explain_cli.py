"""`neuropil explain` and the explain parts of `neuropil train` (--plot, the diagnosis)."""
import pytest

import neuropil as keras
from neuropil.cli import main


def test_explain_builtin_mlp(capsys):
    assert main(["explain", "--builtin", "mlp"]) == 0
    out = capsys.readouterr().out
    assert 'Model: "mlp"' in out
    assert "(64 inputs + 1 bias) × 64 neurons = 4,160" in out
    assert "8·8·1 = 64 numbers in a row" in out
    assert "digits test image 0, labelled" in out and "Forward pass of \"mlp\"" in out
    assert "prediction: class" in out


def test_explain_builtin_lenet5_shows_the_conv_arithmetic(capsys):
    assert main(["explain", "--builtin", "lenet5", "--sample", "3"]) == 0
    out = capsys.readouterr().out
    assert "(5·5·1 + 1) × 6 filters = 156" in out
    assert "(14 + 2·0 − 5)/1 + 1 = 10" in out
    assert "filter 1 at output position" in out and "digits test image 3" in out


def test_explain_a_saved_model(tmp_path, capsys):
    pytest.importorskip("h5py")
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(3, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "small.keras"
    model.save(path)
    assert main(["explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(64 inputs + 1 bias) × 3 neurons = 195" in out and "neuron 1: z =" in out


def test_explain_needs_one_model(capsys, tmp_path):
    assert main(["explain"]) == 2
    assert "--builtin" in capsys.readouterr().err
    assert main(["explain", str(tmp_path / "missing.keras")]) == 1
    assert "could not load" in capsys.readouterr().err


def test_train_prints_the_diagnosis_before_the_test_accuracy(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    assert main(["train", "--epochs", "2", "--verbose", "0", "--plot", str(path)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("test accuracy:")
    assert any(line.startswith("Diagnosis: ") for line in lines)
    assert f"training curves written to {path}" in lines
    assert path.read_bytes().startswith(b"\x89PNG")
    import matplotlib.pyplot as plt
    plt.close("all")
