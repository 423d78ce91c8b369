"""Optimizer parity with ``torch.optim`` on PyTorch CPU, step by step.

Two float32 parameters (a (3, 4) kernel and a (4,) bias) start equal on both sides and get
the same fixed sequence of 10 gradients; the parameters are compared after every step.

Where Keras's formulas and torch's agree exactly (they do for constant learning rates):
  * SGD plain, momentum (Keras m = μm - lr·g, w += m  ==  torch b = μb + g, w -= lr·b),
    Nesterov (Keras w += μm - lr·g  ==  torch w -= lr·(g + μb)).
  * RMSprop momentum (Keras m = μm + lr·g/√(v+ε)  ==  torch b = μb + g/(√v+ε), w -= lr·b).
  * Adam(weight_decay=λ) is decoupled like torch's AdamW; plain SGD(weight_decay=λ) equals
    torch's coupled L2 (w - lr·λ·w - lr·g either way).
Where they differ by design, only in where epsilon sits:
  * RMSprop: Keras divides by √(v + ε), torch by √v + ε.
  * Adam: Keras uses ε̂ = ε outside the bias correction, α = lr·√(1-β2^t)/(1-β1^t),
    w -= α·m/(√v + ε); torch divides by √v/√(1-β2^t) + ε.
  For these, torch runs with ε = 1e-12 on both sides (then ε does not matter), and the
  default ε = 1e-7 is checked against a NumPy float64 transcription of Keras's formulas
  (keras/src/optimizers/{rmsprop,adam,sgd}.py and base_optimizer.py).
Clipping: Keras's clipnorm clips each gradient to norm ≤ c (g·c / max(‖g‖, c)); torch's
clip_grad_norm_ uses c / (‖g‖ + 1e-6), a relative difference of ~1e-6 / ‖g‖, so it is
applied per parameter in the torch loop. clipvalue == clip_grad_value_; global_clipnorm ==
clip_grad_norm_ over all parameters.

Tolerances: rtol=1e-5, atol=1e-6 against torch (float32 on both sides; updates ~lr·O(1)
accumulated over 10 steps); rtol=1e-5, atol=1e-7 against the float64 Keras transcription.
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuropil as keras  # noqa: E402
from helpers import optimizer_problem  # noqa: E402
from neuropil.autodiff import Variable  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)
TINY = 1e-12


def _run_neuropil(optimizer, params, grads):
    variables = [Variable(p.copy(), name=f"w{i}") for i, p in enumerate(params)]
    history = []
    for step_grads in grads:
        optimizer.apply([None if g is None else g.copy() for g in step_grads], variables)
        history.append([v.numpy().copy() for v in variables])
    return history


def _run_torch(make_optimizer, params, grads, clip=None):
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    optimizer = make_optimizer(tensors)
    history = []
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = None if g is None else torch.from_numpy(g.copy())
        if clip is not None:
            clip(tensors)
        optimizer.step()
        history.append([t.detach().numpy().copy() for t in tensors])
    return history


def _assert_histories(ours, theirs, **tol):
    for step, (mine, ref) in enumerate(zip(ours, theirs), start=1):
        for i, (a, b) in enumerate(zip(mine, ref)):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, **(tol or TOL), err_msg=f"step {step}, param {i}")


CASES = {
    "sgd": (lambda: keras.optimizers.SGD(learning_rate=0.1),
            lambda p: torch.optim.SGD(p, lr=0.1)),
    "sgd_momentum": (lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
    "sgd_nesterov": (lambda: keras.optimizers.SGD(learning_rate=0.1, momentum=0.9,
                                                  nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
    "sgd_weight_decay": (lambda: keras.optimizers.SGD(learning_rate=0.1, weight_decay=0.05),
                         lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.05)),
    "rmsprop": (lambda: keras.optimizers.RMSprop(learning_rate=0.01, rho=0.9, epsilon=TINY),
                lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=TINY)),
    "rmsprop_momentum": (lambda: keras.optimizers.RMSprop(learning_rate=0.01, momentum=0.5,
                                                          epsilon=TINY),
                         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5,
                                                       eps=TINY)),
    "rmsprop_centered": (lambda: keras.optimizers.RMSprop(learning_rate=0.01, centered=True,
                                                          epsilon=TINY),
                         lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, centered=True,
                                                       eps=TINY)),
    "adam": (lambda: keras.optimizers.Adam(learning_rate=0.01, epsilon=TINY),
             lambda p: torch.optim.Adam(p, lr=0.01, eps=TINY)),
    "adam_betas": (lambda: keras.optimizers.Adam(learning_rate=0.05, beta_1=0.8,
                                                 beta_2=0.99, epsilon=TINY),
                   lambda p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=TINY)),
    "adam_amsgrad": (lambda: keras.optimizers.Adam(learning_rate=0.01, amsgrad=True,
                                                   epsilon=TINY),
                     lambda p: torch.optim.Adam(p, lr=0.01, amsgrad=True, eps=TINY)),
    "adam_weight_decay": (lambda: keras.optimizers.Adam(learning_rate=0.01, weight_decay=0.1,
                                                        epsilon=TINY),
                          lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1,
                                                      eps=TINY)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_after_every_step(name):
    make_ours, make_theirs = CASES[name]
    params, grads = optimizer_problem()
    _assert_histories(_run_neuropil(make_ours(), params, grads),
                      _run_torch(make_theirs, params, grads))


def test_amsgrad_actually_keeps_the_maximum():
    """Large gradients first, then small ones: v shrinks but AMSGrad's v̂ must not."""
    params, grads = optimizer_problem(seed=1)
    grads = [[g * s for g in step] for step, s in zip(grads, (10, 10, 0.1, 0.1, 0.1))]
    ours = _run_neuropil(keras.optimizers.Adam(0.01, beta_2=0.5, amsgrad=True,
                                               epsilon=TINY), params, grads)
    _assert_histories(ours, _run_torch(
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.5), amsgrad=True, eps=TINY),
        params, grads))
    plain = _run_neuropil(keras.optimizers.Adam(0.01, beta_2=0.5, epsilon=TINY),
                          params, grads)
    last_step = [ours[-1][0] - ours[-2][0], plain[-1][0] - plain[-2][0]]
    assert np.abs(last_step[0]).max() < 0.5 * np.abs(last_step[1]).max()


def test_a_missing_gradient_leaves_the_variable_alone_like_torch():
    """Keras drops (grad=None, var) pairs with a warning; torch skips params whose .grad is
    None. With momentum, the skipped weight's velocity must not keep moving it.
    (Adam would differ by design here: Keras bias-corrects with the optimizer's global step
    count, torch with a per-parameter one.)"""
    params, grads = optimizer_problem(seed=9)
    grads[1][1] = None
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        ours = _run_neuropil(keras.optimizers.SGD(0.1, momentum=0.9), params, grads)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), params, grads)
    _assert_histories(ours, theirs)
    np.testing.assert_array_equal(ours[1][1], ours[0][1])
    with pytest.raises(ValueError, match="No gradients"):
        keras.optimizers.SGD(0.1).apply([None], [Variable(params[1].copy(), name="b")])


# ---- clipping ------------------------------------------------------------------------------
def _clip_each_norm(c):
    return lambda tensors: [torch.nn.utils.clip_grad_norm_([t], c) for t in tensors]


@pytest.mark.parametrize("name, ours, clip", [
    ("clipnorm", lambda: keras.optimizers.SGD(0.1, momentum=0.9, clipnorm=1.0),
     _clip_each_norm(1.0)),
    ("clipvalue", lambda: keras.optimizers.SGD(0.1, momentum=0.9, clipvalue=0.5),
     lambda tensors: torch.nn.utils.clip_grad_value_(tensors, 0.5)),
    ("global_clipnorm", lambda: keras.optimizers.SGD(0.1, momentum=0.9, global_clipnorm=2.0),
     lambda tensors: torch.nn.utils.clip_grad_norm_(tensors, 2.0)),
])
def test_gradient_clipping_matches_torch_utils(name, ours, clip):
    params, grads = optimizer_problem(seed=2, grad_scale=1.5)
    grads[2] = [g * 0.05 for g in grads[2]]  # one step below the threshold: left alone
    norms = [float(np.linalg.norm(g)) for g in grads[0]]
    assert max(norms) > 2.0  # the clip is active
    _assert_histories(_run_neuropil(ours(), params, grads),
                      _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
                                 params, grads, clip=clip))


@pytest.mark.parametrize("option", ["clipnorm", "clipvalue", "global_clipnorm"])
def test_a_clip_limit_of_zero_means_no_clipping(option):
    """Keras tests ``if self.clipnorm and self.clipnorm > 0``: 0 switches clipping off."""
    params, grads = optimizer_problem(seed=8)
    _assert_histories(_run_neuropil(keras.optimizers.SGD(0.1, **{option: 0.0}), params, grads),
                      _run_torch(lambda p: torch.optim.SGD(p, lr=0.1), params, grads))


def test_clipnorm_with_adam_matches_torch():
    params, grads = optimizer_problem(seed=3, grad_scale=2.0)
    _assert_histories(
        _run_neuropil(keras.optimizers.Adam(0.01, clipnorm=1.0, epsilon=TINY), params, grads),
        _run_torch(lambda p: torch.optim.Adam(p, lr=0.01, eps=TINY), params, grads,
                   clip=_clip_each_norm(1.0)))


# ---- Keras's own formulas, with the default epsilon ----------------------------------------
def _keras_reference(kind, params, grads, lr, weight_decay=None, **kw):
    """Keras 3's update rules, transcribed in float64 (base_optimizer applies decoupled
    weight decay w -= w·λ·lr before each update_step; iterations counts from 0)."""
    ws = [p.astype(np.float64) for p in params]
    state = [dict(m=np.zeros_like(w), v=np.zeros_like(w), vhat=np.zeros_like(w),
                  a=np.zeros_like(w)) for w in ws]
    history = []
    for t, step_grads in enumerate(grads, start=1):
        for w, g, s in zip(ws, step_grads, state):
            g = g.astype(np.float64)
            if weight_decay:
                w -= w * weight_decay * lr
            if kind == "sgd":
                mu = kw.get("momentum", 0.0)
                if not mu:
                    w -= lr * g
                    continue
                s["m"] = mu * s["m"] - lr * g
                w += (mu * s["m"] - lr * g) if kw.get("nesterov") else s["m"]
            elif kind == "rmsprop":
                rho, eps, mu = kw.get("rho", 0.9), kw.get("epsilon", 1e-7), kw.get("momentum", 0)
                s["v"] = rho * s["v"] + (1 - rho) * g * g
                denominator = s["v"] + eps
                if kw.get("centered"):
                    s["a"] = rho * s["a"] + (1 - rho) * g
                    denominator = s["v"] - s["a"] ** 2 + eps
                increment = lr * g / np.sqrt(denominator)
                if mu > 0:
                    s["m"] = mu * s["m"] + increment
                    w -= s["m"]
                else:
                    w -= increment
            else:  # adam
                b1, b2, eps = kw.get("beta_1", 0.9), kw.get("beta_2", 0.999), kw.get(
                    "epsilon", 1e-7)
                alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                s["m"] += (g - s["m"]) * (1 - b1)
                s["v"] += (g * g - s["v"]) * (1 - b2)
                v = s["v"]
                if kw.get("amsgrad"):
                    s["vhat"] = np.maximum(s["vhat"], s["v"])
                    v = s["vhat"]
                w -= s["m"] * alpha / (np.sqrt(v) + eps)
        history.append([w.copy() for w in ws])
    return history


KERAS_CASES = {
    "rmsprop": ("rmsprop", dict(learning_rate=0.01)),
    "rmsprop_centered_momentum": ("rmsprop", dict(learning_rate=0.01, centered=True,
                                                  momentum=0.9, rho=0.8)),
    "adam": ("adam", dict(learning_rate=0.01)),
    "adam_amsgrad": ("adam", dict(learning_rate=0.01, amsgrad=True)),
    "adam_weight_decay": ("adam", dict(learning_rate=0.01, weight_decay=0.1)),
    "sgd_momentum_weight_decay": ("sgd", dict(learning_rate=0.1, momentum=0.9,
                                              weight_decay=0.05)),
    "sgd_nesterov_weight_decay": ("sgd", dict(learning_rate=0.1, momentum=0.9,
                                              nesterov=True, weight_decay=0.05)),
}


@pytest.mark.parametrize("name", list(KERAS_CASES))
def test_default_epsilon_matches_keras_formula(name):
    kind, kwargs = KERAS_CASES[name]
    cls = {"sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
           "adam": keras.optimizers.Adam}[kind]
    # Small gradients make ε = 1e-7 visible next to √v.
    params, grads = optimizer_problem(seed=4, grad_scale=1e-3)
    ours = _run_neuropil(cls(**kwargs), params, grads)
    kwargs = dict(kwargs)
    reference = _keras_reference(kind, params, grads, kwargs.pop("learning_rate"), **kwargs)
    _assert_histories(ours, reference, rtol=1e-5, atol=1e-7)


def test_sgd_momentum_weight_decay_differs_from_torch_l2():
    """Keras's weight decay is decoupled (w -= lr·λ·w, outside the momentum); torch's SGD
    adds λ·w to the gradient, which then goes through the momentum. Equal for plain SGD
    (tested above), different with momentum."""
    params, grads = optimizer_problem(seed=5)
    ours = _run_neuropil(keras.optimizers.SGD(0.1, momentum=0.9, weight_decay=0.5),
                         params, grads)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.5),
                        params, grads)
    np.testing.assert_allclose(ours[0][0], theirs[0][0], **TOL)  # first step: no history
    assert not np.allclose(ours[-1][0], theirs[-1][0], rtol=1e-3)


def test_epsilon_placement_differs_from_torch_for_small_gradients():
    """With the default ε and tiny gradients the two RMSprop/Adam conventions separate."""
    params, grads = optimizer_problem(seed=6, grad_scale=1e-5)
    ours = _run_neuropil(keras.optimizers.RMSprop(0.01), params, grads)
    theirs = _run_torch(lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
                        params, grads)
    assert not np.allclose(ours[0][0], theirs[0][0], rtol=1e-4)


def test_iterations_and_weight_decay_use_the_current_learning_rate():
    params, grads = optimizer_problem(seed=7)
    optimizer = keras.optimizers.SGD(learning_rate=0.1, weight_decay=0.5)
    variables = [Variable(p.copy(), name=f"w{i}") for i, p in enumerate(params)]
    optimizer.apply(grads[0], variables)
    optimizer.learning_rate = 0.01
    optimizer.apply(grads[1], variables)
    assert int(optimizer.iterations.numpy()) == 2
    expected = params[0].astype(np.float64)
    for lr, g in ((0.1, grads[0][0]), (0.01, grads[1][0])):
        expected = expected - lr * 0.5 * expected - lr * g
    np.testing.assert_allclose(variables[0].numpy(), expected, rtol=1e-5, atol=1e-7)
