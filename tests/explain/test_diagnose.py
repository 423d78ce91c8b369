"""diagnose: verdicts on synthetic histories built for each case."""
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil.callbacks import History
from neuropil.explain import Diagnose, Diagnosis, Thresholds, diagnose, join_histories

EPOCHS = np.arange(20)


def overfitting():
    # training keeps falling; validation is best at epoch 6 (index 5), then rises
    return {"loss": list(1 / (EPOCHS + 1)), "val_loss": list(0.5 + 0.004 * (EPOCHS - 5) ** 2)}


def underfitting():
    return {"loss": list(1.2 + 1.1 * np.exp(-EPOCHS)),
            "val_loss": list(1.25 + 1.1 * np.exp(-EPOCHS)),
            "accuracy": list(0.55 - 0.3 * np.exp(-EPOCHS)), "val_accuracy": [0.53] * 20}


def diverging():
    return {"loss": [1.0, 0.8, 0.9, 3.0, 50.0, math.nan]}


def not_learning():
    return {"loss": [2.302, 2.303, 2.301, 2.302, 2.302, 2.303], "val_loss": [2.303] * 6}


def still_improving():
    return {"loss": list(1 / (EPOCHS + 1)), "val_loss": list(1.1 / (EPOCHS + 1))}


def good_fit():
    decay = np.exp(-EPOCHS / 2)
    return {"loss": list(0.05 + 0.9 * decay), "val_loss": list(0.07 + 0.9 * decay),
            "accuracy": list(0.98 - 0.5 * decay), "val_accuracy": list(0.97 - 0.5 * decay)}


@pytest.mark.parametrize("history, verdict", [
    (overfitting(), "overfitting"), (underfitting(), "underfitting"),
    (diverging(), "diverging"), (not_learning(), "not learning"),
    (still_improving(), "still improving"), (good_fit(), "good fit")])
def test_verdicts(history, verdict):
    diagnosis = diagnose(history)
    assert isinstance(diagnosis, Diagnosis)
    assert diagnosis.verdict == verdict
    assert str(diagnosis).startswith(f"Diagnosis: {verdict}. ")
    assert diagnosis.suggestions and diagnosis.reasons


def test_overfitting_evidence_and_early_stopping_epoch():
    d = diagnose(overfitting())
    assert d.best_epoch == 6 and d.evidence["epochs"] == 20
    assert d.evidence["val_loss_best"] == pytest.approx(0.5)
    assert d.evidence["gap"] == pytest.approx(d.evidence["val_loss_last"] - 1 / 20)
    text = str(d)
    assert "lowest at epoch 6" in text and "stop at epoch 6" in text
    assert "L2" in text and "Dropout" in text and "augmentation" in text


def test_suggestions_per_verdict():
    assert "more capacity" in str(diagnose(underfitting()))
    assert "lower the learning rate" in str(diagnose(diverging()))
    assert "epoch 6" in str(diagnose(diverging()))  # where the loss became nan
    assert "train longer" in str(diagnose(still_improving()))
    assert "learning rate" in str(diagnose(not_learning()))


def test_overfitting_from_an_accuracy_gap():
    decay = np.exp(-EPOCHS / 2)
    history = {"loss": list(0.01 + 0.9 * decay), "val_loss": list(0.3 + 0.9 * decay),
               "accuracy": list(1.0 - 0.5 * decay), "val_accuracy": list(0.9 - 0.5 * decay)}
    d = diagnose(history)
    assert d.verdict == "overfitting" and "10 points" in str(d)


def test_a_diverging_climb_without_nan():
    assert diagnose({"loss": [1.0, 0.3, 0.2, 0.5, 0.9]}).verdict == "diverging"
    assert diagnose({"loss": [1.0, 1.1, 1.2, 1.3]}).verdict == "diverging"


def test_without_validation_the_training_loss_is_monitored():
    assert diagnose({"loss": list(1 / (EPOCHS + 1))}).verdict == "still improving"
    assert diagnose({"loss": list(0.02 + np.exp(-EPOCHS))}).verdict == "good fit"
    assert diagnose({"loss": list(0.8 + np.exp(-EPOCHS))}).verdict == "underfitting"


def test_too_few_epochs():
    d = diagnose({"loss": [2.3, 2.0]})
    assert d.verdict == "still improving" and "too early" in str(d)


def test_thresholds_change_the_verdict():
    history = good_fit()
    assert diagnose(history, Thresholds(underfit_accuracy=0.99)).verdict == "underfitting"


def test_history_objects_and_lists_join_as_consecutive_epochs():
    first, second = History(), History()
    for epoch, (loss, val) in enumerate([(1.0, 1.0), (0.6, 0.7), (0.5, 0.6)]):
        first.on_epoch_end(epoch, {"loss": loss, "val_loss": val})
    for epoch, (loss, val) in enumerate([(0.4, 0.5), (0.3, 0.7), (0.2, 0.9)], start=3):
        second.on_epoch_end(epoch, {"loss": loss, "val_loss": val})
    values, starts = join_histories([first, second.history])
    np.testing.assert_allclose(values["val_loss"], [1.0, 0.7, 0.6, 0.5, 0.7, 0.9])
    assert starts == [0, 3]
    d = diagnose([first, second])
    assert d.verdict == "overfitting" and d.best_epoch == 4 and d.evidence["fits"] == 2


def test_keys_missing_in_one_fit_and_validation_every_other_epoch():
    values, _ = join_histories([{"loss": [1.0, 0.5]},
                                {"loss": [0.4, 0.3, 0.2, 0.1], "val_loss": [0.5, 0.3]}])
    np.testing.assert_allclose(values["val_loss"], [np.nan, np.nan, np.nan, 0.5, np.nan, 0.3])


def test_a_real_fit():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    d = diagnose(model.fit(x, y, epochs=30, validation_split=0.25, verbose=0))
    assert d.verdict == "good fit", str(d)


def test_bad_input():
    with pytest.raises(ValueError, match="'loss'"):
        diagnose({"accuracy": [0.5, 0.6]})
    with pytest.raises(TypeError, match="History"):
        diagnose(3)


def test_a_loss_near_zero_has_converged():
    history = {"loss": [5.0, 1e-2, 1e-5, 1e-6, 1e-7, 5e-8],
               "val_loss": [5.0, 1e-2, 1e-5, 2e-6, 1e-7, 3e-7]}
    assert diagnose(history).verdict == "good fit"


def test_the_diagnose_callback_prints_when_fit_ends():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(32, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    printed = []
    callback = Diagnose(print_fn=printed.append)
    model.fit(x, x[:, :1] * 2, epochs=4, verbose=0, callbacks=[callback])
    assert callback.diagnosis is not None and printed == [str(callback.diagnosis)]
    assert printed[0].startswith("Diagnosis: ")


def test_fit_diagnose_flag_attaches_and_prints_the_verdict(capsys):
    import numpy as np

    import neuropil as keras

    x = np.random.default_rng(0).standard_normal((64, 4)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(x, x[:, :1], epochs=4, validation_split=0.25, verbose=2,
                        diagnose=True)
    assert history.diagnosis.verdict in {"underfitting", "overfitting", "good fit",
                                         "still improving", "diverging", "not learning"}
    assert "Diagnosis: " + history.diagnosis.verdict in capsys.readouterr().out
    quiet = model.fit(x, x[:, :1], epochs=1, verbose=0, diagnose=True)
    assert quiet.diagnosis is not None and capsys.readouterr().out == ""
