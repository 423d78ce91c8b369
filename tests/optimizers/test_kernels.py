"""The compiled update loops (neuropil/optimizers/kernels.py) against the NumPy reference
lines of each optimizer: the same numbers, bit for bit, in float32 and float64, through the
base class's paths (clipping, weight decay, amsgrad, schedules), and the cases that must fall
back to NumPy (another gradient dtype, a non-contiguous gradient, float16)."""
import numpy as np
import pytest

import neuropil as keras
from neuropil.autodiff import Variable
from neuropil.ops import accel
from neuropil.optimizers.optimizer import compiled_kernels

pytest.importorskip("numba")

opt = keras.optimizers
# LeNet-5's weights, a 0-d weight and a ResNet-sized kernel.
SHAPES = [(5, 5, 1, 6), (6,), (400, 120), (120,), (), (3, 3, 8, 16)]

OPTIMIZERS = {
    "adam": lambda: opt.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda: opt.Adam(learning_rate=0.01, amsgrad=True),
    "adamw": lambda: opt.AdamW(learning_rate=0.01, weight_decay=0.05),
    "adam_clipnorm": lambda: opt.Adam(learning_rate=0.01, clipnorm=0.5),
    "adam_schedule": lambda: opt.Adam(learning_rate=opt.schedules.ExponentialDecay(
        0.01, decay_steps=2, decay_rate=0.5)),
    "sgd": lambda: opt.SGD(learning_rate=0.1),
    "sgd_momentum": lambda: opt.SGD(learning_rate=0.1, momentum=0.9),
    "sgd_nesterov": lambda: opt.SGD(learning_rate=0.1, momentum=0.9, nesterov=True,
                                    global_clipnorm=1.0),
    "sgd_weight_decay": lambda: opt.SGD(learning_rate=0.1, momentum=0.5, weight_decay=0.1),
    "rmsprop": lambda: opt.RMSprop(learning_rate=0.01),
    "rmsprop_momentum": lambda: opt.RMSprop(learning_rate=0.01, momentum=0.9,
                                            clipvalue=0.5),
    "rmsprop_centered": lambda: opt.RMSprop(learning_rate=0.01, centered=True),
}


def _train(make, compiled: bool, dtype, shapes=SHAPES, steps=4, grad=None):
    """Weights and optimizer state after ``steps`` applies of seeded gradients."""
    rng = np.random.default_rng(7)
    weights = [Variable(rng.standard_normal(s).astype(dtype), dtype=np.dtype(dtype).name,
                        name=f"w{i}") for i, s in enumerate(shapes)]
    optimizer = make()
    accel.set_enabled(compiled)
    try:
        for _ in range(steps):
            grads = [grad(rng, s) if grad else rng.standard_normal(s).astype(dtype)
                     for s in shapes]
            optimizer.apply(grads, weights)
    finally:
        accel.set_enabled(None)
    return [w.data for w in weights], [v.data for v in optimizer.variables]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_compiled_update_equals_numpy(name, dtype, monkeypatch):
    kernels, calls = compiled_kernels(), []
    for loop in kernels.__all__:  # count the compiled loops' calls: they must have run
        original = getattr(kernels, loop)
        monkeypatch.setattr(kernels, loop, lambda *a, _f=original: calls.append(1) or _f(*a))
    (weights, state), (c_weights, c_state) = (_train(OPTIMIZERS[name], c, dtype)
                                              for c in (False, True))
    # Centered RMSprop has no compiled loop: it stays on NumPy (weight decay aside).
    assert (len(calls) == 0) == (name == "rmsprop_centered")
    for expected, actual in zip(weights + state, c_weights + c_state):
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
    assert all(w.dtype == dtype for w in c_weights)


def test_the_switch_turns_the_compiled_loops_off():
    accel.set_enabled(False)
    try:
        assert compiled_kernels() is None
    finally:
        accel.set_enabled(None)
    assert compiled_kernels() is not None


@pytest.mark.parametrize("gradient", [
    lambda rng, s: rng.standard_normal(s),                                 # float64 for f32
    lambda rng, s: np.asfortranarray(rng.standard_normal(s + (2,)).astype(np.float32))[..., 0],
])
def test_gradients_the_loops_cannot_take_run_the_numpy_lines(gradient):
    shapes = [(4, 3), (5,)]
    probe = gradient(np.random.default_rng(0), (4, 3))
    weight = np.zeros((4, 3), np.float32)
    assert keras.optimizers.Adam._compiled(probe, weight) is None
    for make in (OPTIMIZERS["adam"], OPTIMIZERS["sgd_nesterov"], OPTIMIZERS["rmsprop"]):
        (weights, state), (c_weights, c_state) = (
            _train(make, c, np.float32, shapes, grad=gradient) for c in (False, True))
        for expected, actual in zip(weights + state, c_weights + c_state):
            np.testing.assert_array_equal(actual, expected)


def test_float16_weights_stay_on_numpy():
    weight, gradient = np.ones(3, np.float16), np.ones(3, np.float16)
    assert keras.optimizers.Adam._compiled(gradient, weight) is None
    variable = Variable(weight, dtype="float16")
    keras.optimizers.Adam(learning_rate=0.1).apply([gradient], [variable])
    assert variable.data.dtype == np.float16 and np.all(variable.data < 1)


def test_amsgrad_keeps_the_running_maximum_and_propagates_nan():
    kernels = compiled_kernels()
    f = np.float32
    w, g = np.zeros(3, f), np.array([1.0, 0.0, 2.0], f)
    m, v = np.zeros(3, f), np.array([0.0, 4.0, np.nan], f)
    v_hat = np.array([0.5, 9.0, 1.0], f)
    kernels.adam_amsgrad(w, g, m, v, v_hat, f(0.1), f(0.5), f(0.01), f(1e-7))
    np.testing.assert_array_equal(v, [0.5, 2.0, np.nan])
    np.testing.assert_array_equal(v_hat, [0.5, 9.0, np.nan])  # max(0.5, 0.5), kept, NaN
    assert np.isnan(w[2]) and w[1] == 0.0 and w[0] < 0
