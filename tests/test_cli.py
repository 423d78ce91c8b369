"""The `neuropil` command line."""
import subprocess
import sys

import pytest

from neuropil.cli import main


def test_train_quick_run_prints_progress_and_accuracy(capsys):
    assert main(["train", "--epochs", "2", "--verbose", "2"]) == 0
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "val_accuracy" in out
    assert "test accuracy:" in out


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "train" in capsys.readouterr().err


def test_bad_option_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--epochs", "0"])
    assert "expected an integer >= 1" in capsys.readouterr().err


def test_python_dash_m_neuropil_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "neuropil", "--version"],
                            capture_output=True, text=True, check=True)
    assert result.stdout.startswith("neuropil ")


@pytest.mark.slow
def test_neuropil_train_reaches_95_percent_on_digits(capsys):
    assert main(["train", "--verbose", "0"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    accuracy = float(line.split("test accuracy:")[1].split()[0])
    assert accuracy >= 0.95, line


def test_lenet5_on_digits_runs(capsys):
    assert main(["train", "--model", "lenet5", "--epochs", "1", "--verbose", "0"]) == 0
    assert "test accuracy:" in capsys.readouterr().out


@pytest.mark.slow
def test_mnist_from_a_data_directory(capsys, shared_datasets):
    assert main(["train", "--dataset", "mnist", "--data", str(shared_datasets / "mnist"),
                 "--epochs", "1", "--verbose", "0"]) == 0
    accuracy = float(capsys.readouterr().out.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.9


def test_unknown_model_is_rejected(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--model", "vgg"])
    assert "invalid choice" in capsys.readouterr().err
