"""Learning-rate schedules: values at chosen steps against Keras 3's formulas
(keras/src/optimizers/schedules/learning_rate_schedule.py), written out by hand here, plus
configs and an optimizer driven by a schedule. Tolerance: rel 1e-12 (both sides float64)."""
import json
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil.autodiff import Variable

schedules = keras.optimizers.schedules
approx = lambda x: pytest.approx(x, rel=1e-12, abs=1e-15)  # noqa: E731


def test_exponential_decay():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == approx(0.1)
    assert s(5) == approx(0.1 * 0.5 ** 0.5)
    assert s(25) == approx(0.1 * 0.5 ** 2.5)


def test_exponential_decay_staircase():
    s = schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [s(t) for t in (0, 9, 10, 19, 20)] == [approx(v) for v in
                                                   (0.1, 0.1, 0.05, 0.05, 0.025)]


def test_piecewise_constant_boundaries_belong_to_the_earlier_interval():
    s = schedules.PiecewiseConstantDecay([100, 110], [1.0, 0.5, 0.1])
    assert [s(t) for t in (0, 100, 101, 110, 111, 10**6)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    with pytest.raises(ValueError, match="one more entry than `boundaries`"):
        schedules.PiecewiseConstantDecay([100, 110], [1.0, 0.5])


def test_polynomial_decay():
    s = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert s(0) == approx(0.1)
    assert s(5) == approx(0.09 * 0.5 ** 2 + 0.01)
    assert s(10) == approx(0.01)
    assert s(50) == approx(0.01)  # held at the end


def test_polynomial_decay_cycle_restarts_over_a_longer_horizon():
    s = schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.0, cycle=True)
    assert s(0) == approx(0.1)  # step 0: multiplier 1, not 0
    assert s(10) == approx(0.0)
    assert s(15) == approx(0.1 * (1 - 15 / 20))  # horizon ceil(15/10)·10 = 20
    assert s(20) == approx(0.0)
    assert s(21) == approx(0.1 * (1 - 21 / 30))


def test_inverse_time_decay():
    s = schedules.InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5)
    assert s(6) == approx(0.1 / (1 + 0.5 * 6 / 4))
    stairs = schedules.InverseTimeDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert stairs(6) == approx(0.1 / 1.5)
    assert stairs(8) == approx(0.1 / 2.0)


def _cos(fraction, alpha=0.0):
    return (1 - alpha) * 0.5 * (1 + math.cos(math.pi * fraction)) + alpha


def test_cosine_decay():
    s = schedules.CosineDecay(0.2, decay_steps=100, alpha=0.1)
    assert s(0) == approx(0.2)
    assert s(30) == approx(0.2 * _cos(0.3, 0.1))
    assert s(100) == approx(0.02)
    assert s(1000) == approx(0.02)


def test_cosine_decay_warmup_then_decay():
    s = schedules.CosineDecay(0.0, decay_steps=20, alpha=0.0, warmup_target=0.1,
                              warmup_steps=10)
    assert s(0) == approx(0.0)
    assert s(4) == approx(0.04)  # linear from initial to target
    assert s(10) == approx(0.1)  # the peak, start of the decay
    assert s(15) == approx(0.1 * _cos(5 / 20))
    assert s(30) == approx(0.0)
    assert s(99) == approx(0.0)
    warm_from = schedules.CosineDecay(0.02, decay_steps=20, warmup_target=0.1, warmup_steps=8)
    assert warm_from(2) == approx(0.02 + 0.08 * 2 / 8)


def test_cosine_decay_ignores_warmup_steps_without_a_target_like_keras():
    s = schedules.CosineDecay(0.1, decay_steps=10, warmup_steps=5)
    assert s(0) == approx(0.1)
    assert s(5) == approx(0.1 * _cos(0.5))


def test_cosine_decay_with_a_target_but_no_warmup_steps_starts_at_the_target():
    s = schedules.CosineDecay(0.5, decay_steps=10, warmup_target=0.1, warmup_steps=0)
    assert s(0) == approx(0.1)
    assert s(5) == approx(0.1 * _cos(0.5))


def test_cosine_decay_restarts():
    periodic = schedules.CosineDecayRestarts(1.0, first_decay_steps=10, t_mul=1.0, m_mul=0.5,
                                             alpha=0.1)
    assert periodic(0) == approx(1.0)
    assert periodic(5) == approx(0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)) + 0.1)
    assert periodic(10) == approx(0.9 * 0.5 + 0.1)  # restart at half the peak; alpha unscaled
    assert periodic(25) == approx(0.9 * 0.25 * 0.5 * (1 + math.cos(math.pi * 0.5)) + 0.1)
    growing = schedules.CosineDecayRestarts(2.0, first_decay_steps=10)  # t_mul=2, m_mul=1
    # Periods: [0, 10), [10, 30), [30, 70)
    assert growing(5) == approx(2.0 * _cos(0.5))
    assert growing(10) == approx(2.0)
    assert growing(20) == approx(2.0 * _cos(0.5))
    assert growing(50) == approx(2.0 * _cos(0.5))


@pytest.mark.parametrize("make", [
    lambda: schedules.ExponentialDecay(0.1, 0, 0.5),
    lambda: schedules.PolynomialDecay(0.1, -1),
    lambda: schedules.InverseTimeDecay(0.1, 0, 0.5),
    lambda: schedules.CosineDecay(0.1, 0),
    lambda: schedules.CosineDecayRestarts(0.1, 0),
])
def test_decay_steps_must_be_positive(make):
    with pytest.raises(ValueError, match="must be > 0"):
        make()


ALL = [
    schedules.ExponentialDecay(0.1, 7, 0.8, staircase=True, name="e"),
    schedules.PiecewiseConstantDecay([3, 9], [0.3, 0.2, 0.1], name="p"),
    schedules.PolynomialDecay(0.1, 12, 0.001, power=0.5, cycle=True, name="q"),
    schedules.InverseTimeDecay(0.1, 3, 0.7, staircase=False, name="i"),
    schedules.CosineDecay(0.01, 20, alpha=0.05, name="c", warmup_target=0.1, warmup_steps=5),
    schedules.CosineDecayRestarts(0.1, 6, t_mul=1.5, m_mul=0.8, alpha=0.01, name="r"),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_config_round_trip_and_serialize(schedule):
    steps = np.arange(60)
    clone = type(schedule).from_config(schedule.get_config())
    assert clone.get_config() == schedule.get_config()
    config = json.loads(json.dumps(schedules.serialize(schedule)))
    assert config["module"] == "keras.optimizers.schedules"
    assert config["class_name"] == type(schedule).__name__
    restored = schedules.deserialize(config)
    np.testing.assert_array_equal(restored(steps), schedule(steps))
    # an array of steps gives the same values as one step at a time
    np.testing.assert_allclose(schedule(steps), [schedule(int(t)) for t in steps], rtol=1e-15)


def test_keras_config_keys():
    assert set(ALL[4].get_config()) == {"initial_learning_rate", "decay_steps", "alpha",
                                        "name", "warmup_target", "warmup_steps"}
    assert set(ALL[5].get_config()) == {"initial_learning_rate", "first_decay_steps",
                                        "t_mul", "m_mul", "alpha", "name"}
    assert schedules.CosineDecayRestarts(0.1, 5).name == "SGDRDecay"
    assert schedules.PiecewiseConstantDecay([1], [1.0, 0.5]).name == "PiecewiseConstant"


class HalfEveryStep(schedules.LearningRateSchedule):
    def __init__(self, start):
        self.start = start

    def __call__(self, step):
        return self.start * 0.5 ** step

    def get_config(self):
        return {"start": self.start}


def test_custom_schedule_needs_custom_objects_to_deserialize():
    config = schedules.serialize(HalfEveryStep(0.4))
    assert config["registered_name"] == "HalfEveryStep"
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize(config)
    restored = schedules.deserialize(config, custom_objects={"HalfEveryStep": HalfEveryStep})
    assert restored(2) == approx(0.1)
    with pytest.raises(NotImplementedError, match="must override `__call__"):
        schedules.LearningRateSchedule()(0)


# ---- an optimizer driven by a schedule ---------------------------------------------------------
def test_optimizer_evaluates_the_schedule_at_iterations():
    """Step t (counting from 0) uses schedule(t): w_T = w_0 − Σ_t schedule(t) · g."""
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    w = Variable(np.zeros(2, np.float32), name="w")
    grad = np.array([1.0, -2.0], np.float32)
    seen = []
    for _ in range(4):
        seen.append(float(optimizer.learning_rate))
        optimizer.apply([grad], [w])
    # rel 1e-7: the current value is read through the optimizer's float32 variable
    np.testing.assert_allclose(seen, [0.1 * 0.5 ** t for t in range(4)], rtol=1e-7)
    assert float(optimizer.learning_rate) == pytest.approx(0.1 * 0.5 ** 4, rel=1e-7)
    np.testing.assert_allclose(w.numpy(), -sum(0.1 * 0.5 ** t for t in range(4)) * grad,
                               rtol=1e-6)


def test_learning_rate_of_a_scheduled_optimizer_is_not_settable():
    optimizer = keras.optimizers.Adam(schedules.CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="comes from the schedule CosineDecay.*not settable"):
        optimizer.learning_rate = 0.01
    optimizer.learning_rate = schedules.CosineDecay(0.2, 10)  # another schedule is fine
    assert float(optimizer.learning_rate) == pytest.approx(0.2)
    plain = keras.optimizers.Adam(0.1)
    plain.learning_rate = schedules.ExponentialDecay(0.3, 1, 0.5)  # float -> schedule is fine
    assert float(plain.learning_rate) == pytest.approx(0.3)


def test_scheduled_optimizer_variables_leave_out_the_learning_rate_like_keras():
    scheduled = keras.optimizers.SGD(schedules.ExponentialDecay(0.1, 1, 0.5))
    plain = keras.optimizers.SGD(0.1)
    assert [v.name for v in scheduled.variables] == ["iteration"]
    assert [v.name for v in plain.variables] == ["iteration", "learning_rate"]


def test_weight_decay_uses_the_scheduled_learning_rate():
    schedule = schedules.PiecewiseConstantDecay([0], [0.1, 0.01])  # 0.1 at step 0, then 0.01
    optimizer = keras.optimizers.SGD(schedule, weight_decay=0.5)
    w = Variable(np.ones(1, np.float32), name="w")
    for _ in range(2):
        optimizer.apply([np.zeros(1, np.float32)], [w])
    assert float(w.numpy()[0]) == pytest.approx((1 - 0.05) * (1 - 0.005), rel=1e-6)


@pytest.mark.parametrize("cls", ["SGD", "Adam", "AdamW", "Nadam", "Lion", "Adagrad"])
def test_optimizer_with_schedule_round_trips_and_continues_identically(cls):
    schedule = schedules.CosineDecay(0.0, 8, warmup_target=0.05, warmup_steps=3)
    original = getattr(keras.optimizers, cls)(learning_rate=schedule)
    config = json.loads(json.dumps(keras.optimizers.serialize(original)))
    assert config["config"]["learning_rate"]["class_name"] == "CosineDecay"
    restored = keras.optimizers.deserialize(config)
    assert restored.get_config() == original.get_config()
    rng = np.random.default_rng(0)
    a, b = (Variable(np.ones(4, np.float32), name="w") for _ in range(2))
    for _ in range(6):
        grad = rng.normal(size=4).astype(np.float32)
        original.apply([grad], [a])
        restored.apply([grad], [b])
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert float(restored.learning_rate) == pytest.approx(schedule(6), rel=1e-6)


def test_model_fit_with_a_schedule_counts_steps():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    schedule = schedules.ExponentialDecay(0.05, decay_steps=1, decay_rate=0.9)
    model.compile(keras.optimizers.SGD(schedule), "mse")
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    model.fit(x, x[:, :1], batch_size=5, epochs=2, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 8
    assert float(model.optimizer.learning_rate) == pytest.approx(0.05 * 0.9 ** 8, rel=1e-6)


def test_optimizer_with_a_custom_schedule_deserializes_with_custom_objects():
    config = keras.optimizers.serialize(keras.optimizers.Lion(HalfEveryStep(0.4)))
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        keras.optimizers.deserialize(config)
    restored = keras.optimizers.deserialize(config, {"HalfEveryStep": HalfEveryStep})
    assert isinstance(restored, keras.optimizers.Lion)
    assert float(restored.learning_rate) == pytest.approx(0.4)
