"""Loss parity with ``torch.nn.functional`` on PyTorch CPU: values and d loss / d y_pred.

Every loss is checked three ways: the per-sample function (``keras.losses.mse(y, p)``, one
value per sample, a mean over the last axis), the class form with its default
``reduction="sum_over_batch_size"`` (the mean of those values), and the other reductions.
Gradients come from neuropil's engine: ``y_pred`` is a ``Tensor(requires_grad=True)`` and
``loss.backward()`` fills ``y_pred.grad``. Per-sample values are differentiated through
``sum(values * r)`` with a fixed random ``r`` so that each sample's gradient is scaled
differently.

Keras semantics the torch references reproduce on purpose:
  * probabilities (``from_logits=False``) are divided by their sum over the class axis and
    clipped to [eps, 1 - eps], eps = 1e-7, before the log (categorical / sparse). The
    division matters for the *gradient* even when the rows already sum to 1: d/dp of
    -log(p_k / sum p) is -1/p_k + 1, not -1/p_k (see test_probability_normalization_...).
    The inputs here keep every probability in [1e-3, 1 - 1e-3], so the clip is inactive;
    ``test_clipping_*`` documents what happens when it is not.
  * binary cross-entropy and the regression losses average over the last axis per sample.

Tolerances: float32 inputs, a handful of exp/log per value.
    values:    rtol=1e-5, atol=1e-6
    gradients: rtol=1e-5, atol=1e-6 (gradients are O(1/batch) ~ 0.1, no long sums)
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import neuropil as keras  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)
BATCH, CLASSES = 6, 5
EPS = 1e-7


# ---- inputs ---------------------------------------------------------------------------
def _softmax64(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _data(kind, seed=0):
    """(y_true, y_pred) as float32 / int64 NumPy arrays for one kind of loss."""
    rng = np.random.default_rng(seed)
    if kind in ("probs", "logits", "sparse_probs", "sparse_logits"):
        logits = rng.normal(0, 1.0, size=(BATCH, CLASSES))
        labels = rng.integers(0, CLASSES, size=BATCH)
        y_pred = logits if kind.endswith("logits") else _softmax64(logits)
        y_true = labels if kind.startswith("sparse") else np.eye(CLASSES)[labels]
    elif kind in ("binary_probs", "binary_logits"):
        logits = rng.normal(0, 1.5, size=(BATCH, 3))
        y_true = rng.integers(0, 2, size=(BATCH, 3)).astype(np.float64)
        y_true[0] = [0.25, 0.5, 0.9]  # soft labels are allowed by both libraries
        y_pred = logits if kind == "binary_logits" else 1 / (1 + np.exp(-logits))
    else:  # regression
        y_true = rng.normal(size=(BATCH, 4))
        y_pred = y_true + rng.normal(0, 1.5, size=(BATCH, 4))  # errors on both sides of delta
    y_pred = y_pred.astype(np.float32)
    if kind in ("probs", "sparse_probs", "binary_probs"):
        assert 1e-3 < y_pred.min() and y_pred.max() < 1 - 1e-3  # the eps clip is inactive
    y_true = y_true.astype(np.int64 if kind.startswith("sparse") else np.float32)
    return y_true, y_pred


# ---- torch references: one value per sample, Keras's formula -------------------------
def _t_cce_probs(y, p):
    return -(y * torch.log(p / p.sum(-1, keepdim=True))).sum(-1)


def _t_scce_probs(y, p):
    return F.nll_loss(torch.log(p / p.sum(-1, keepdim=True)), y, reduction="none")


# name: (keras function, keras class, kwargs, data kind, torch per-sample reference)
CASES = {
    "cce": (keras.losses.categorical_crossentropy, keras.losses.CategoricalCrossentropy, {},
            "probs", _t_cce_probs),
    "cce_logits": (keras.losses.categorical_crossentropy,
                   keras.losses.CategoricalCrossentropy, {"from_logits": True}, "logits",
                   lambda y, z: F.cross_entropy(z, y, reduction="none")),
    "scce": (keras.losses.sparse_categorical_crossentropy,
             keras.losses.SparseCategoricalCrossentropy, {}, "sparse_probs", _t_scce_probs),
    "scce_logits": (keras.losses.sparse_categorical_crossentropy,
                    keras.losses.SparseCategoricalCrossentropy, {"from_logits": True},
                    "sparse_logits", lambda y, z: F.cross_entropy(z, y, reduction="none")),
    "bce": (keras.losses.binary_crossentropy, keras.losses.BinaryCrossentropy, {},
            "binary_probs",
            lambda y, p: F.binary_cross_entropy(p, y, reduction="none").mean(-1)),
    "bce_logits": (keras.losses.binary_crossentropy, keras.losses.BinaryCrossentropy,
                   {"from_logits": True}, "binary_logits",
                   lambda y, z: F.binary_cross_entropy_with_logits(z, y, reduction="none")
                   .mean(-1)),
    "mse": (keras.losses.mean_squared_error, keras.losses.MeanSquaredError, {}, "regression",
            lambda y, p: F.mse_loss(p, y, reduction="none").mean(-1)),
    "mae": (keras.losses.mean_absolute_error, keras.losses.MeanAbsoluteError, {},
            "regression", lambda y, p: F.l1_loss(p, y, reduction="none").mean(-1)),
    "huber": (keras.losses.huber, keras.losses.Huber, {}, "regression",
              lambda y, p: F.huber_loss(p, y, reduction="none", delta=1.0).mean(-1)),
    "huber_0.5": (keras.losses.huber, keras.losses.Huber, {"delta": 0.5}, "regression",
                  lambda y, p: F.huber_loss(p, y, reduction="none", delta=0.5).mean(-1)),
    "huber_2": (keras.losses.huber, keras.losses.Huber, {"delta": 2.0}, "regression",
                lambda y, p: F.huber_loss(p, y, reduction="none", delta=2.0).mean(-1)),
}

# Torch's own batch reduction equals Keras's "sum_over_batch_size" for these.
TORCH_MEAN = {
    "cce_logits": lambda y, z: F.cross_entropy(z, y),
    "scce_logits": lambda y, z: F.cross_entropy(z, y),
    "bce": lambda y, p: F.binary_cross_entropy(p, y),
    "bce_logits": lambda y, z: F.binary_cross_entropy_with_logits(z, y),
    "mse": lambda y, p: F.mse_loss(p, y),
    "mae": lambda y, p: F.l1_loss(p, y),
    "huber": lambda y, p: F.huber_loss(p, y, delta=1.0),
    "huber_2": lambda y, p: F.huber_loss(p, y, delta=2.0),
}


def _neuropil(loss, y_true, y_pred, weights=None):
    """Value and gradient w.r.t. y_pred of neuropil's ``loss(y_true, y_pred)``."""
    pred = Tensor(y_pred.copy(), requires_grad=True)
    value = loss(y_true, pred)
    scalar = value if weights is None else (value * weights).sum()
    scalar.backward()
    return value.numpy(), pred.grad


def _torch(loss, y_true, y_pred, weights=None):
    pred = torch.from_numpy(y_pred.copy()).requires_grad_(True)
    value = loss(torch.from_numpy(y_true), pred)
    scalar = value if weights is None else (value * torch.from_numpy(weights)).sum()
    scalar.backward()
    return value.detach().numpy(), pred.grad.numpy()


def _weights(seed=1):
    return np.random.default_rng(seed).uniform(0.5, 2.0, size=BATCH).astype(np.float32)


# ---- the function forms -----------------------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_function_form_values_and_gradients(name):
    fn, _, kwargs, kind, reference = CASES[name]
    y_true, y_pred = _data(kind)
    r = _weights()
    value, grad = _neuropil(lambda y, p: fn(y, p, **kwargs), y_true, y_pred, r)
    t_value, t_grad = _torch(reference, y_true, y_pred, r)
    assert value.shape == (BATCH,) and value.dtype == np.float32
    assert grad.shape == y_pred.shape and grad.dtype == np.float32
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)


# ---- the class forms and their reductions --------------------------------------------------
@pytest.mark.parametrize("name", list(CASES))
def test_class_form_default_reduction_is_the_batch_mean(name):
    _, cls, kwargs, kind, reference = CASES[name]
    y_true, y_pred = _data(kind, seed=2)
    loss = cls(**kwargs)
    assert loss.reduction == "sum_over_batch_size"
    value, grad = _neuropil(loss, y_true, y_pred)
    assert value.shape == ()
    t_value, t_grad = _torch(lambda y, p: reference(y, p).mean(), y_true, y_pred)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)
    if name in TORCH_MEAN:  # and torch's built-in reduction agrees
        b_value, b_grad = _torch(TORCH_MEAN[name], y_true, y_pred)
        np.testing.assert_allclose(value, b_value, **TOL)
        np.testing.assert_allclose(grad, b_grad, **TOL)


@pytest.mark.parametrize("name", ["cce", "scce_logits", "bce", "mse", "huber"])
def test_class_form_other_reductions(name):
    _, cls, kwargs, kind, reference = CASES[name]
    y_true, y_pred = _data(kind, seed=3)
    r = _weights()

    value, grad = _neuropil(cls(reduction="sum", **kwargs), y_true, y_pred)
    t_value, t_grad = _torch(lambda y, p: reference(y, p).sum(), y_true, y_pred)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)

    for reduction in ("none", None):
        value, grad = _neuropil(cls(reduction=reduction, **kwargs), y_true, y_pred, r)
        t_value, t_grad = _torch(reference, y_true, y_pred, r)
        np.testing.assert_allclose(value, t_value, **TOL)
        np.testing.assert_allclose(grad, t_grad, **TOL)


@pytest.mark.parametrize("name", ["cce_logits", "mse", "bce"])
def test_sample_weight_reductions(name):
    """sum_over_batch_size divides Σ w·loss by the batch size; mean_with_sample_weight by Σ w."""
    _, cls, kwargs, kind, reference = CASES[name]
    y_true, y_pred = _data(kind, seed=4)
    w = _weights(seed=5)
    w_t = torch.from_numpy(w)
    for reduction, divisor in (("sum_over_batch_size", BATCH),
                               ("mean_with_sample_weight", float(w.sum()))):
        loss = cls(reduction=reduction, **kwargs)
        pred = Tensor(y_pred.copy(), requires_grad=True)
        value = loss(y_true, pred, sample_weight=w)
        value.backward()
        t_value, t_grad = _torch(lambda y, p: (reference(y, p) * w_t).sum() / divisor,
                                 y_true, y_pred)
        np.testing.assert_allclose(value.numpy(), t_value, **TOL)
        np.testing.assert_allclose(pred.grad, t_grad, **TOL)


# ---- names, aliases, options -------------------------------------------------------------
@pytest.mark.parametrize("name, kind", [("categorical_crossentropy", "probs"),
                                        ("sparse_categorical_crossentropy", "sparse_probs"),
                                        ("binary_crossentropy", "binary_probs"),
                                        ("mse", "regression"), ("mae", "regression"),
                                        ("mean_squared_error", "regression"),
                                        ("huber", "regression")])
def test_losses_get_by_name_matches_the_function(name, kind):
    y_true, y_pred = _data(kind, seed=6)
    fn = keras.losses.get(name)
    direct = getattr(keras.losses, name)
    np.testing.assert_array_equal(fn(y_true, y_pred).numpy(), direct(y_true, y_pred).numpy())


def test_categorical_label_smoothing_matches_torch():
    """Keras and torch smooth the same way: y * (1 - s) + s / classes."""
    y_true, logits = _data("logits", seed=7)
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    value, grad = _neuropil(loss, y_true, logits)
    t_value, t_grad = _torch(lambda y, z: F.cross_entropy(z, y, label_smoothing=0.1),
                             y_true, logits)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)


def test_binary_label_smoothing_matches_formula():
    """Keras's binary smoothing pulls labels toward 0.5: y * (1 - s) + s / 2."""
    y_true, logits = _data("binary_logits", seed=8)
    loss = keras.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.2)
    value, grad = _neuropil(loss, y_true, logits)
    t_value, t_grad = _torch(
        lambda y, z: F.binary_cross_entropy_with_logits(z, y * 0.8 + 0.1), y_true, logits)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)


def test_soft_targets_from_logits_match_torch():
    """Categorical CE accepts any distribution as target; torch's cross_entropy does too."""
    rng = np.random.default_rng(9)
    y_true = _softmax64(rng.normal(size=(BATCH, CLASSES))).astype(np.float32)
    logits = rng.normal(size=(BATCH, CLASSES)).astype(np.float32)
    value, grad = _neuropil(keras.losses.CategoricalCrossentropy(from_logits=True),
                            y_true, logits)
    t_value, t_grad = _torch(lambda y, z: F.cross_entropy(z, y), y_true, logits)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)


def test_sparse_labels_with_trailing_axis():
    """Keras accepts (batch, 1) integer labels for the sparse loss, like (batch,)."""
    y_true, logits = _data("sparse_logits", seed=10)
    flat = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    column = keras.losses.sparse_categorical_crossentropy(y_true[:, None], logits,
                                                          from_logits=True)
    t_value = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(y_true),
                              reduction="none").numpy()
    np.testing.assert_allclose(flat.numpy(), t_value, **TOL)
    np.testing.assert_allclose(column.numpy(), t_value, **TOL)


def test_sparse_ignore_class_averages_over_kept_samples_like_torch_ignore_index():
    """Keras masks the ignored samples, so the default reduction divides by the kept count,
    which is what torch's ``ignore_index`` does."""
    y_true, logits = _data("sparse_logits", seed=11)
    y_true[[1, 4]] = 2
    y_true[[0, 3]] = 3  # make sure both ignored and kept samples exist
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)
    value, grad = _neuropil(loss, y_true, logits)
    t_value, t_grad = _torch(lambda y, z: F.cross_entropy(z, y, ignore_index=2),
                             y_true, logits)
    np.testing.assert_allclose(value, t_value, **TOL)
    np.testing.assert_allclose(grad, t_grad, **TOL)
    per_sample = keras.losses.sparse_categorical_crossentropy(y_true, logits,
                                                              from_logits=True, ignore_class=2)
    assert per_sample.numpy()[1] == 0 and per_sample.numpy()[4] == 0
    for reduction in ("sum", "mean_with_sample_weight"):  # no rescaling; Σ mask = kept count
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=2,
                                                          reduction=reduction)
        t_reduction = "sum" if reduction == "sum" else "mean"
        value, grad = _neuropil(loss, y_true, logits)
        t_value, t_grad = _torch(
            lambda y, z: F.cross_entropy(z, y, ignore_index=2, reduction=t_reduction),
            y_true, logits)
        np.testing.assert_allclose(value, t_value, **TOL)
        np.testing.assert_allclose(grad, t_grad, **TOL)


# ---- Keras's probability handling -----------------------------------------------------------
def test_probability_normalization_adds_one_to_the_gradient():
    """Keras computes -log(p_k / Σp): for rows summing to 1 the value equals torch's
    nll_loss(log p), but the gradient has the extra Σy/Σp = 1 on every entry."""
    y_true, probs = _data("sparse_probs", seed=12)
    value, grad = _neuropil(keras.losses.SparseCategoricalCrossentropy(), y_true, probs)
    naive_value, naive_grad = _torch(lambda y, p: F.nll_loss(torch.log(p), y),
                                     y_true, probs)
    np.testing.assert_allclose(value, naive_value, **TOL)
    np.testing.assert_allclose(grad - naive_grad, np.full_like(grad, 1.0 / BATCH),
                               rtol=1e-4, atol=1e-6)


def test_clipping_categorical_probabilities():
    """A true-class probability of 0 costs -log(eps) = 16.118 (torch: inf) and, being
    clipped, passes no gradient. A probability of exactly 1 is clipped to 1 - eps."""
    y_true = np.eye(3, dtype=np.float32)[[0, 1]]
    probs = np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]], np.float32)
    value, grad = _neuropil(keras.losses.categorical_crossentropy, y_true, probs,
                            np.ones(2, np.float32))
    expected = [-np.log(np.float32(EPS)), -np.log(np.float32(1 - EPS))]
    np.testing.assert_allclose(value, expected, rtol=1e-6)
    assert not np.isfinite(_t_cce_probs(torch.from_numpy(y_true[:1]),
                                        torch.from_numpy(probs[:1])).item())
    np.testing.assert_array_equal(grad, 0.0)
    # Keras's torch backend writes the same thing as clamp-then-log in torch:
    clamped = _torch(lambda y, p: -(y * torch.log(torch.clamp(p / p.sum(-1, keepdim=True),
                                                              EPS, 1 - EPS))).sum(-1),
                     y_true, probs, np.ones(2, np.float32))
    np.testing.assert_allclose(value, clamped[0], rtol=1e-6)
    np.testing.assert_array_equal(grad, clamped[1])


def test_clipping_binary_probabilities():
    """p = 1 with y = 0 costs -log(1 - (1 - eps)) = 15.94 in float32 where torch's own
    binary_cross_entropy clamps the log at -100 (a cost of 100); clamping p to
    [eps, 1 - eps] first, as Keras's torch backend does, gives neuropil's value exactly."""
    y_true = np.array([[0.0, 1.0]], np.float32)
    probs = np.array([[1.0, 0.0]], np.float32)
    value, grad = _neuropil(keras.losses.binary_crossentropy, y_true, probs,
                            np.ones(1, np.float32))
    one_minus = np.float32(1) - np.clip(np.float32(1), EPS, 1 - EPS)
    expected = (-np.log(one_minus) - np.log(np.float32(EPS))) / 2
    np.testing.assert_allclose(value, [expected], rtol=1e-6)
    raw = F.binary_cross_entropy(torch.from_numpy(probs), torch.from_numpy(y_true))
    assert raw.item() == pytest.approx(100.0)
    t_value, t_grad = _torch(
        lambda y, p: F.binary_cross_entropy(torch.clamp(p, EPS, 1 - EPS), y,
                                            reduction="none").mean(-1),
        y_true, probs, np.ones(1, np.float32))
    np.testing.assert_allclose(value, t_value, rtol=1e-6)
    np.testing.assert_array_equal(grad, 0.0)
    np.testing.assert_array_equal(t_grad, 0.0)
