"""AdamW, Adagrad, Adadelta, Adamax, Nadam, Lion, Ftrl and the schedules, against PyTorch CPU
and against float64 NumPy transcriptions of Keras 3's formulas, step by step.

Two float32 parameters (a (3, 4) kernel and a (4,) bias) start equal on both sides and get
the same fixed sequence of 10 gradients; the parameters are compared after every step.

Against torch.optim (same formulas, checked in torch/optim/*.py and keras/src/optimizers/*.py):
  * AdamW == torch AdamW: both decay decoupled, w ← w·(1 − lr·λ), before the Adam step
    (Keras's base_optimizer._apply_weight_decay). Only ε differs (Keras adds it to √v, torch
    to √v/√(1−β2^t)), so torch runs with ε = 1e-12 on both sides. Defaults differ too:
    Keras λ = 0.004, torch λ = 0.01.
  * Adagrad: Keras divides by √(a + ε), torch by √a + ε, so ε = 1e-12 on both sides; the
    accumulator starts at initial_accumulator_value on both (Keras 0.1, torch 0).
  * Adadelta: identical including ε (both inside the square roots) and including lr, which
    multiplies the delta in both. Checked with Keras's defaults and with the paper's lr=1.
  * Adamax: torch takes max(β2·u, |g| + ε) and divides by it; Keras takes max(β2·u, |g|) and
    divides by u + ε. ε = 1e-12 on both sides.
  * Nadam == torch NAdam(momentum_decay=1.0), ε included: Keras's momentum cache is
    μ_t = β1(1 − ½·0.96^t); torch's is β1(1 − ½·0.96^(t·momentum_decay)) with default 0.004,
    which warms the momentum up 250 times more slowly (the default is shown to differ).
    Nadam(weight_decay) == NAdam(decoupled_weight_decay=True).
  * Lion and Ftrl have no torch.optim counterpart: float64 transcription only.
  * Schedules: ExponentialDecay(decay_steps=1) == ExponentialLR, staircase == StepLR,
    CosineDecay == CosineAnnealingLR (eta_min = α·lr0) up to decay_steps (torch's cosine
    then rises again, Keras's holds), PolynomialDecay(end_learning_rate=0) == PolynomialLR.
    Keras evaluates the schedule at the step count before the update, torch's scheduler
    steps after optimizer.step(): the same sequence. With momentum SGD a schedule makes the
    two differ by design (Keras folds lr into the momentum, torch multiplies it afterwards).
Against the float64 transcriptions: each optimizer with its Keras defaults (default ε), with
gradients of size 1 and 1e-3 (so ε matters), plus weight decay and the other options. Ftrl
with 1e-3 gradients is checked on float64 weights (float32 cancellation, see the test).

Tolerances: rtol=1e-5, atol=1e-6 against torch (float32 on both sides, 10 steps of size
~lr); rtol=1e-5, atol=1e-7 against the float64 transcriptions; rtol=1e-12 for learning-rate
sequences (float64 on both sides).
"""
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuropil as keras  # noqa: E402
from helpers import optimizer_problem  # noqa: E402
from neuropil.autodiff import Variable  # noqa: E402

optimizers, schedules = keras.optimizers, keras.optimizers.schedules
TOL = dict(rtol=1e-5, atol=1e-6)
KERAS_TOL = dict(rtol=1e-5, atol=1e-7)
STEPS = 10
TINY = 1e-12


def _run_neuropil(optimizer, params, grads, dtype=np.float32):
    variables = [Variable(p.astype(dtype), dtype=np.dtype(dtype).name, name=f"w{i}")
                 for i, p in enumerate(params)]
    history = []
    for step_grads in grads:
        optimizer.apply([g.copy() for g in step_grads], variables)
        history.append([v.numpy().copy() for v in variables])
    return history


def _run_torch(make_optimizer, params, grads, make_scheduler=None):
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in params]
    optimizer = make_optimizer(tensors)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    history = []
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = torch.from_numpy(g.copy())
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.append([t.detach().numpy().copy() for t in tensors])
    return history


def _assert_histories(ours, theirs, tol=TOL, dtype=np.float32):
    for step, (mine, ref) in enumerate(zip(ours, theirs), start=1):
        for i, (a, b) in enumerate(zip(mine, ref)):
            assert a.dtype == dtype
            np.testing.assert_allclose(a, b, **tol, err_msg=f"step {step}, param {i}")


# ---- against torch.optim ----------------------------------------------------------------------
O = optimizers
TORCH_CASES = {
    "adamw": (lambda: O.AdamW(0.01, weight_decay=0.1, epsilon=TINY),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, eps=TINY)),
    "adamw_default_decay_amsgrad": (
        lambda: O.AdamW(0.01, amsgrad=True, epsilon=TINY),
        lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.004, amsgrad=True, eps=TINY)),
    "adagrad": (lambda: O.Adagrad(0.1, epsilon=TINY),
                lambda p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1,
                                              eps=TINY)),
    "adagrad_zero_start": (lambda: O.Adagrad(0.1, initial_accumulator_value=0.0,
                                             epsilon=TINY),
                           lambda p: torch.optim.Adagrad(p, lr=0.1, eps=TINY)),
    "adadelta_keras_defaults": (lambda: O.Adadelta(),
                                lambda p: torch.optim.Adadelta(p, lr=0.001, rho=0.95,
                                                               eps=1e-7)),
    "adadelta_paper_lr": (lambda: O.Adadelta(1.0, rho=0.9, epsilon=1e-6),
                          lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.9, eps=1e-6)),
    "adamax": (lambda: O.Adamax(0.01, epsilon=TINY),
               lambda p: torch.optim.Adamax(p, lr=0.01, eps=TINY)),
    "adamax_betas": (lambda: O.Adamax(0.05, beta_1=0.8, beta_2=0.9, epsilon=TINY),
                     lambda p: torch.optim.Adamax(p, lr=0.05, betas=(0.8, 0.9), eps=TINY)),
    "nadam": (lambda: O.Nadam(0.01),
              lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=1.0)),
    "nadam_betas": (lambda: O.Nadam(0.02, beta_1=0.8, beta_2=0.99),
                    lambda p: torch.optim.NAdam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-7,
                                                momentum_decay=1.0)),
    "nadam_weight_decay": (lambda: O.Nadam(0.01, weight_decay=0.2),
                           lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, weight_decay=0.2,
                                                       momentum_decay=1.0,
                                                       decoupled_weight_decay=True)),
}


@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_matches_torch_after_every_step(name):
    make_ours, make_theirs = TORCH_CASES[name]
    params, grads = optimizer_problem()
    _assert_histories(_run_neuropil(make_ours(), params, grads),
                      _run_torch(make_theirs, params, grads))


def test_nadam_differs_from_torch_default_momentum_decay():
    params, grads = optimizer_problem(seed=1)
    ours = _run_neuropil(O.Nadam(0.01), params, grads)
    theirs = _run_torch(lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7), params, grads)
    assert not np.allclose(ours[-1][0], theirs[-1][0], rtol=1e-3, atol=0)


def test_adagrad_epsilon_placement_differs_from_torch_for_tiny_accumulators():
    """√(a + ε) vs √a + ε: with a starting at 0 and tiny gradients, ε dominates Keras's."""
    params, grads = optimizer_problem(seed=2, grad_scale=1e-5)
    ours = _run_neuropil(O.Adagrad(0.01, initial_accumulator_value=0.0), params, grads)
    theirs = _run_torch(lambda p: torch.optim.Adagrad(p, lr=0.01, eps=1e-7), params, grads)
    assert not np.allclose(ours[0][0], theirs[0][0], rtol=1e-3, atol=0)


# ---- against Keras's formulas, float64 -------------------------------------------------------
def _adam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
    alpha = lr * math.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - beta_2)
    v = s["v"]
    if amsgrad:
        s["vhat"] = v = np.maximum(s.get("vhat", 0.0), s["v"])
    w -= s["m"] * alpha / (np.sqrt(v) + epsilon)


def _adagrad(w, g, s, t, lr, initial_accumulator_value=0.1, epsilon=1e-7):
    s["a"] = s.get("a", initial_accumulator_value) + g * g
    w -= lr * g / np.sqrt(s["a"] + epsilon)


def _adadelta(w, g, s, t, lr, rho=0.95, epsilon=1e-7):
    s["g2"] = rho * s["g2"] + (1 - rho) * g * g
    delta = -np.sqrt(s["d2"] + epsilon) * g / np.sqrt(s["g2"] + epsilon)
    s["d2"] = rho * s["d2"] + (1 - rho) * delta * delta
    w += lr * delta


def _adamax(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["u"] = np.maximum(beta_2 * s["u"], np.abs(g))
    w -= lr * s["m"] / ((1 - beta_1 ** t) * (s["u"] + epsilon))


def _nadam(w, g, s, t, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    mu = beta_1 * (1 - 0.5 * 0.96 ** t)
    mu_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    product = np.prod([beta_1 * (1 - 0.5 * 0.96 ** i) for i in range(1, t + 1)])
    s["m"] = s["m"] + (g - s["m"]) * (1 - beta_1)
    s["v"] = s["v"] + (g * g - s["v"]) * (1 - beta_2)
    m_hat = mu_next * s["m"] / (1 - product * mu_next) + (1 - mu) * g / (1 - product)
    v_hat = s["v"] / (1 - beta_2 ** t)
    w -= lr * m_hat / (np.sqrt(v_hat) + epsilon)


def _lion(w, g, s, t, lr, beta_1=0.9, beta_2=0.99):
    w -= lr * np.sign(beta_1 * s["m"] + (1 - beta_1) * g)
    s["m"] = beta_2 * s["m"] + (1 - beta_2) * g


def _ftrl(w, g, s, t, lr, learning_rate_power=-0.5, initial_accumulator_value=0.1,
          l1_regularization_strength=0.0, l2_regularization_strength=0.0,
          l2_shrinkage_regularization_strength=0.0, beta=0.0):
    n = s.get("n", np.full_like(w, initial_accumulator_value))
    p = -learning_rate_power
    l1, l2 = l1_regularization_strength, l2_regularization_strength + beta / (2 * lr)
    g_shrunk = g + 2 * l2_shrinkage_regularization_strength * w
    n_new = n + g * g
    s["z"] = s["z"] + g_shrunk - (n_new ** p - n ** p) / lr * w
    w[...] = (np.clip(s["z"], -l1, l1) - s["z"]) / (n_new ** p / lr + 2 * l2)
    s["n"] = n_new


RULES = {"AdamW": _adam, "Adagrad": _adagrad, "Adadelta": _adadelta, "Adamax": _adamax,
         "Nadam": _nadam, "Lion": _lion, "Ftrl": _ftrl}


def _keras_reference(cls, params, grads, learning_rate=0.001, weight_decay=None, **kw):
    """Keras 3's update rules in float64. base_optimizer: w -= w·λ·lr first, then
    update_step with t = iterations + 1; AdamW's λ defaults to 0.004."""
    if cls == "AdamW" and weight_decay is None:
        weight_decay = 0.004
    ws = [p.astype(np.float64) for p in params]
    states = [{k: np.zeros_like(w) for k in ("m", "v", "u", "g2", "d2", "z")} for w in ws]
    history = []
    for t, step_grads in enumerate(grads, start=1):
        for w, g, s in zip(ws, step_grads, states):
            if weight_decay:
                w -= w * weight_decay * learning_rate
            RULES[cls](w, g.astype(np.float64), s, t, learning_rate, **kw)
        history.append([w.copy() for w in ws])
    return history


KERAS_CASES = {
    "adamw_defaults": ("AdamW", {}),
    "adamw_amsgrad": ("AdamW", dict(learning_rate=0.01, weight_decay=0.1, amsgrad=True)),
    "adagrad_defaults": ("Adagrad", {}),
    "adagrad_zero_start": ("Adagrad", dict(learning_rate=0.01, initial_accumulator_value=0.0)),
    "adadelta_defaults": ("Adadelta", {}),
    "adadelta_lr1_weight_decay": ("Adadelta", dict(learning_rate=1.0, rho=0.9,
                                                   weight_decay=0.05)),
    "adamax_defaults": ("Adamax", {}),
    "adamax_weight_decay": ("Adamax", dict(learning_rate=0.01, beta_2=0.9, weight_decay=0.1)),
    "nadam_defaults": ("Nadam", {}),
    "nadam_betas": ("Nadam", dict(learning_rate=0.01, beta_1=0.7, beta_2=0.9)),
    "lion_defaults": ("Lion", {}),
    "lion_weight_decay": ("Lion", dict(learning_rate=0.01, beta_1=0.5, beta_2=0.9,
                                       weight_decay=0.3)),
    "ftrl_defaults": ("Ftrl", {}),
    "ftrl_regularized": ("Ftrl", dict(learning_rate=0.1, learning_rate_power=-0.3,
                                      initial_accumulator_value=0.05,
                                      l1_regularization_strength=0.001,
                                      l2_regularization_strength=0.01,
                                      l2_shrinkage_regularization_strength=0.02, beta=0.5)),
}


@pytest.mark.parametrize("grad_scale", [1.0, 1e-3])
@pytest.mark.parametrize("name", list(KERAS_CASES))
def test_matches_keras_formula_in_float64(name, grad_scale):
    """Small gradients (1e-3) make the default ε visible next to √v.

    Ftrl with small gradients runs on float64 weights: its z update subtracts two nearly
    equal powers of the accumulator, which float32 (Keras's too) resolves to ~1e-2 only."""
    cls, kwargs = KERAS_CASES[name]
    dtype = np.float64 if cls == "Ftrl" and grad_scale < 1 else np.float32
    params, grads = optimizer_problem(seed=4, grad_scale=grad_scale)
    ours = _run_neuropil(getattr(optimizers, cls)(**kwargs), params, grads, dtype)
    _assert_histories(ours, _keras_reference(cls, params, grads, **kwargs), KERAS_TOL, dtype)


def test_ftrl_l1_makes_weights_exactly_zero():
    params, grads = optimizer_problem(seed=5, grad_scale=0.01)
    ours = _run_neuropil(optimizers.Ftrl(0.1, l1_regularization_strength=1.0), params, grads)
    assert np.all(ours[-1][0] == 0.0)


# ---- schedules against torch.optim.lr_scheduler ------------------------------------------------
def _torch_lrs(make_scheduler, steps=STEPS + 1, lr=0.1):
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # no gradients: nothing moves, but the scheduler sees a step
        scheduler.step()
    return lrs


LR_SCHEDULE_CASES = {
    "exponential": (schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.8),
                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)),
    "staircase": (schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5,
                                             staircase=True),
                  lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    "cosine": (schedules.CosineDecay(0.1, decay_steps=STEPS, alpha=0.1),
               lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS,
                                                                    eta_min=0.01)),
    "polynomial": (schedules.PolynomialDecay(0.1, decay_steps=8, end_learning_rate=0.0,
                                             power=2.0),
                   lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters=8,
                                                                   power=2.0)),
}


@pytest.mark.parametrize("name", list(LR_SCHEDULE_CASES))
def test_schedule_matches_torch_lr_scheduler(name):
    schedule, make_scheduler = LR_SCHEDULE_CASES[name]
    np.testing.assert_allclose(schedule(np.arange(STEPS + 1)), _torch_lrs(make_scheduler),
                               rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("ours, theirs", [
    (lambda: optimizers.Adam(schedules.ExponentialDecay(0.05, 1, 0.8), epsilon=TINY),
     lambda p: torch.optim.Adam(p, lr=0.05, eps=TINY)),
    (lambda: optimizers.SGD(schedules.ExponentialDecay(0.05, 1, 0.8)),
     lambda p: torch.optim.SGD(p, lr=0.05)),
    (lambda: optimizers.AdamW(schedules.ExponentialDecay(0.05, 1, 0.8), weight_decay=0.1,
                              epsilon=TINY),
     lambda p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.1, eps=TINY)),
], ids=["adam", "sgd", "adamw"])
def test_optimizer_with_exponential_decay_matches_torch_exponential_lr(ours, theirs):
    params, grads = optimizer_problem(seed=6)
    _assert_histories(
        _run_neuropil(ours(), params, grads),
        _run_torch(theirs, params, grads,
                   lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8)))


def test_momentum_sgd_with_a_schedule_differs_from_torch_by_design():
    """Keras: m ← μm − lr_t·g, w ← w + m (past steps keep their old lr); torch:
    b ← μb + g, w ← w − lr_t·b (the whole momentum is rescaled by today's lr)."""
    params, grads = optimizer_problem(seed=7)
    ours = _run_neuropil(optimizers.SGD(schedules.ExponentialDecay(0.1, 1, 0.5),
                                        momentum=0.9), params, grads)
    theirs = _run_torch(lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), params, grads,
                        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.5))
    np.testing.assert_allclose(ours[0][0], theirs[0][0], **TOL)  # step 1: no history yet
    assert not np.allclose(ours[-1][0], theirs[-1][0], rtol=1e-3)
