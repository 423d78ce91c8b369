"""ReduceLROnPlateau: reductions, cooldown, min_lr, and the logged learning rate."""
import pytest

import neuropil as keras
from neuropil.callbacks import ReduceLROnPlateau


def run(make_model, data, scripted, values, lr=0.1, key="val_loss", **kwargs):
    x, y = data
    model = make_model(keras.optimizers.SGD(lr))
    reducer = ReduceLROnPlateau(monitor=key, **kwargs)
    history = model.fit(x, y, epochs=len(values), verbose=0,
                        callbacks=[scripted(values, key), reducer])
    return model, reducer, history


def test_reduces_after_patience_epochs_without_improvement(make_model, data, scripted):
    # wait 1, 2 -> reduce (the logged rate is the one used in that epoch)
    model, _, history = run(make_model, data, scripted, [1.0] * 8, patience=2, factor=0.5)
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_improvements_reset_the_wait(make_model, data, scripted):
    model, reducer, _ = run(make_model, data, scripted, [1.0, 0.9, 0.95, 0.8, 0.85, 0.7],
                            patience=2)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1)
    assert reducer.wait == 0 and reducer.best == 0.7


def test_min_delta_default_is_1e_4(make_model, data, scripted):
    # 0.99995 is not better than 1.0 by 1e-4 (reduce); 0.9998 is (no reduction)
    model, _, _ = run(make_model, data, scripted, [1.0, 0.99995, 0.9998], patience=1)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_cooldown_pauses_counting_after_a_reduction(make_model, data, scripted):
    # reduce at epoch 2; cooldown epochs 3 and 4 (the wait restarts at epoch 4); reduce at 5
    _, _, history = run(make_model, data, scripted, [1.0] * 8, patience=2, factor=0.5,
                        cooldown=2)
    assert history.history["learning_rate"] == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_min_lr_is_a_floor(make_model, data, scripted):
    model, reducer, history = run(make_model, data, scripted, [1.0] * 5, patience=1,
                                  factor=0.1, min_lr=0.005)
    assert history.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.01, 0.005, 0.005])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005)
    assert reducer.wait == 2  # at the floor nothing is reduced, so the wait keeps growing


def test_mode_max(make_model, data, scripted):
    model, _, _ = run(make_model, data, scripted, [0.5, 0.6, 0.7, 0.6, 0.65],
                      key="val_accuracy", mode="max", patience=2)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_factor_of_one_or_more_is_refused():
    with pytest.raises(ValueError, match="does not support a factor >= 1.0. Received "
                                         "factor=1.0"):
        ReduceLROnPlateau(factor=1.0)


def test_missing_monitor_warns_but_logs_the_learning_rate(make_model, data):
    x, y = data
    with pytest.warns(UserWarning, match="conditioned on metric `val_loss` which is not "
                                         "available. Available metrics are: "
                                         "loss,mae,learning_rate"):
        history = make_model().fit(x, y, epochs=2, verbose=0, callbacks=[ReduceLROnPlateau()])
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.01])


def test_state_resets_at_each_fit(make_model, data, scripted):
    x, y = data
    model = make_model(keras.optimizers.SGD(0.1))
    reducer = ReduceLROnPlateau(patience=2, factor=0.5)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[scripted([1.0, 1.0]), reducer])
    assert reducer.wait == 1
    model.fit(x, y, epochs=2, verbose=0, callbacks=[scripted([1.0, 1.0]), reducer])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.1)  # wait restarted


def test_verbose_message(make_model, data, scripted, capsys):
    run(make_model, data, scripted, [1.0, 1.0], patience=1, factor=0.5, verbose=1)
    assert "Epoch 2: ReduceLROnPlateau reducing learning rate to 0.05" in capsys.readouterr().out
