"""The Keras 3 losses added after the first six: hinge family, KL divergence, Poisson,
log-cosh, MAPE, MSLE, cosine similarity, the focal cross-entropies, Dice and Tversky.

Each loss is checked four ways:
  * against a NumPy transcription of Keras 3's formula (float64, rtol 1e-10), as a function
    (one value per sample) and as a class under every reduction, with sample weights;
  * its backward against central differences (``check_op``, float64);
  * against PyTorch CPU (value and d loss / d y_pred) where torch has a counterpart or the
    formula is short enough to write in torch by hand;
  * through ``compile(loss="<name>")`` (training lowers it), ``get_config`` / ``from_config``
    and a ``.keras`` save / load.
"""
import numpy as np
import pytest

import neuropil as keras
from neuropil.autodiff import Tensor
from tests.helpers import check_op

EPS = 1e-7
N, D = 6, 5
TIGHT = dict(rtol=1e-10, atol=1e-12)


# ---- NumPy transcriptions of Keras 3's formulas (float64) ------------------------------------
def _np_hinge_labels(y):
    return 2.0 * y - 1.0 if np.all((y == 0) | (y == 1)) else y


def np_hinge(y, p):
    return np.mean(np.maximum(1.0 - _np_hinge_labels(y) * p, 0.0), axis=-1)


def np_squared_hinge(y, p):
    return np.mean(np.maximum(1.0 - _np_hinge_labels(y) * p, 0.0) ** 2, axis=-1)


def np_categorical_hinge(y, p):
    pos = np.sum(y * p, axis=-1)
    neg = np.max((1.0 - y) * p, axis=-1)
    return np.maximum(neg - pos + 1.0, 0.0)


def np_kld(y, p):
    y, p = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(y * np.log(y / p), axis=-1)


def np_poisson(y, p):
    return np.mean(p - y * np.log(p + EPS), axis=-1)


def np_log_cosh(y, p):
    return np.mean(np.log(np.cosh(p - y)), axis=-1)


def np_mape(y, p):
    return 100.0 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), EPS)), axis=-1)


def np_msle(y, p):
    return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2, -1)


def np_cosine(y, p, axis=-1):
    def unit(v):
        return v / np.sqrt(np.maximum(np.sum(v * v, axis=axis, keepdims=True), EPS * EPS))
    return -np.sum(unit(y) * unit(p), axis=axis)


def np_binary_focal(y, p, apply_class_balancing=False, alpha=0.25, gamma=2.0,
                    from_logits=False, label_smoothing=0.0, axis=-1):
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        p = 1 / (1 + np.exp(-p))
    q = np.clip(p, EPS, 1 - EPS)
    bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    p_t = y * p + (1 - y) * (1 - p)
    out = (1 - p_t) ** gamma * bce
    if apply_class_balancing:
        out = out * (y * alpha + (1 - y) * (1 - alpha))
    return np.mean(out, axis=axis)


def np_categorical_focal(y, p, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0,
                         axis=-1):
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / p.shape[axis]
    if from_logits:
        e = np.exp(p - p.max(axis, keepdims=True))
        p = e / e.sum(axis, keepdims=True)
    q = np.clip(p / p.sum(axis, keepdims=True), EPS, 1 - EPS)
    return np.sum((1 - q) ** gamma * np.asarray(alpha) * (-y * np.log(q)), axis=axis)


def np_dice(y, p, axis=None):
    return 1 - 2 * np.sum(y * p, axis=axis) / (np.sum(y, axis=axis) + np.sum(p, axis=axis) + EPS)


def np_tversky(y, p, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(p * y, axis=axis)
    fp = np.sum((1 - y) * p, axis=axis)
    fn = np.sum(y * (1 - p), axis=axis)
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


# ---- data: float64, away from every kink and clip boundary -------------------------------------
def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _away(x, points, gap=0.05):
    """Moves values within ``gap`` of a kink a fixed step off it (central differences)."""
    for point in points:
        x = np.where(np.abs(x - point) < gap, point + 2 * gap, x)
    return x


def data(kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "pm1":       # labels -1 / 1, scores with margins off the hinge
        y = rng.choice([-1.0, 1.0], size=(N, D))
        p = rng.normal(0, 1.5, size=(N, D))
        p = y * _away(y * p, [1.0])
    elif kind == "01":      # labels 0 / 1: hinge converts them to -1 / 1
        y = rng.integers(0, 2, size=(N, D)).astype(float)
        p = rng.normal(0, 1.5, size=(N, D))
        p = (2 * y - 1) * _away((2 * y - 1) * p, [1.0])
    elif kind == "onehot_scores":
        y = np.eye(D)[rng.integers(0, D, N)]
        p = rng.normal(0, 1.0, size=(N, D))
        p[0, :] = [3.0, -1.0, -1.2, -0.5, -0.7]  # one sample with zero loss (margin > 1)
        y[0] = np.eye(D)[0]
    elif kind == "probs":   # two distributions, both inside (eps, 1)
        y = _softmax(rng.normal(0, 1, size=(N, D)))
        p = _softmax(rng.normal(0, 1, size=(N, D)))
    elif kind == "onehot_probs":
        y = np.eye(D)[rng.integers(0, D, N)]
        p = _softmax(rng.normal(0, 1, size=(N, D)))
    elif kind == "onehot_logits":
        y = np.eye(D)[rng.integers(0, D, N)]
        p = rng.normal(0, 1.5, size=(N, D))
    elif kind == "counts":
        y = rng.poisson(2.0, size=(N, D)).astype(float)
        p = rng.uniform(0.2, 4.0, size=(N, D))
    elif kind == "positive":  # targets > 0 for MAPE / MSLE
        y = rng.uniform(0.5, 5.0, size=(N, D))
        p = _away(y + rng.normal(0, 1.0, size=(N, D)), [0.0]) + 0.0
        p = np.where(np.abs(p - y) < 0.05, y + 0.1, p)
    elif kind == "regression":
        y = rng.normal(size=(N, D))
        p = y + rng.normal(0, 2.0, size=(N, D))
    elif kind == "binary_probs":
        y = rng.integers(0, 2, size=(N, D)).astype(float)
        y[0, :3] = [0.25, 0.5, 0.9]  # soft labels
        p = 1 / (1 + np.exp(-rng.normal(0, 1.5, size=(N, D))))
    elif kind == "binary_logits":
        y = rng.integers(0, 2, size=(N, D)).astype(float)
        p = rng.normal(0, 2.0, size=(N, D))
    elif kind == "masks":   # (N, 2, 2, 1) images for Dice / Tversky
        y = rng.integers(0, 2, size=(N, 2, 2, 1)).astype(float)
        p = rng.uniform(0.05, 0.95, size=(N, 2, 2, 1))
    else:
        raise KeyError(kind)
    return y, p


# name: (function, class, kwargs, reference, data kind)
L = keras.losses
CASES = {
    "hinge": (L.hinge, L.Hinge, {}, np_hinge, "pm1"),
    "hinge_01": (L.hinge, L.Hinge, {}, np_hinge, "01"),
    "squared_hinge": (L.squared_hinge, L.SquaredHinge, {}, np_squared_hinge, "pm1"),
    "squared_hinge_01": (L.squared_hinge, L.SquaredHinge, {}, np_squared_hinge, "01"),
    "categorical_hinge": (L.categorical_hinge, L.CategoricalHinge, {}, np_categorical_hinge,
                          "onehot_scores"),
    "kld": (L.kl_divergence, L.KLDivergence, {}, np_kld, "probs"),
    "poisson": (L.poisson, L.Poisson, {}, np_poisson, "counts"),
    "log_cosh": (L.log_cosh, L.LogCosh, {}, np_log_cosh, "regression"),
    "mape": (L.mean_absolute_percentage_error, L.MeanAbsolutePercentageError, {}, np_mape,
             "positive"),
    "msle": (L.mean_squared_logarithmic_error, L.MeanSquaredLogarithmicError, {}, np_msle,
             "positive"),
    "cosine": (L.cosine_similarity, L.CosineSimilarity, {}, np_cosine, "regression"),
    "cosine_axis0": (L.cosine_similarity, L.CosineSimilarity, {"axis": 0}, np_cosine,
                     "regression"),
    "bfce": (L.binary_focal_crossentropy, L.BinaryFocalCrossentropy, {}, np_binary_focal,
             "binary_probs"),
    "bfce_balanced_logits": (L.binary_focal_crossentropy, L.BinaryFocalCrossentropy,
                             {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                              "from_logits": True}, np_binary_focal, "binary_logits"),
    "bfce_smoothing": (L.binary_focal_crossentropy, L.BinaryFocalCrossentropy,
                       {"label_smoothing": 0.2, "gamma": 3.0}, np_binary_focal,
                       "binary_probs"),
    "cfce": (L.categorical_focal_crossentropy, L.CategoricalFocalCrossentropy, {},
             np_categorical_focal, "onehot_probs"),
    "cfce_logits_alpha_list": (L.categorical_focal_crossentropy,
                               L.CategoricalFocalCrossentropy,
                               {"alpha": [0.1, 0.2, 0.3, 0.2, 0.2], "gamma": 1.0,
                                "from_logits": True, "label_smoothing": 0.1},
                               np_categorical_focal, "onehot_logits"),
    "dice": (L.dice, L.Dice, {"axis": (1, 2, 3)}, np_dice, "masks"),
    "tversky": (L.tversky, L.Tversky, {"alpha": 0.7, "beta": 0.3, "axis": (1, 2, 3)},
                np_tversky, "masks"),
}


def _reduce(values, weights, reduction):
    """Keras 3's reduce_weighted_values for one weight per sample."""
    values = values * (weights if weights is not None else 1.0)
    if reduction in (None, "none"):
        return values
    if reduction == "sum":
        return values.sum()
    if reduction == "mean_with_sample_weight" and weights is not None:
        return values.sum() / weights.sum()
    return values.sum() / values.size


@pytest.mark.parametrize("case", CASES)
def test_function_matches_keras_formula(case):
    fn, _, kwargs, reference, kind = CASES[case]
    y, p = data(kind)
    got = fn(y, p, **kwargs).numpy()
    expected = reference(y, p, **kwargs)
    assert got.shape == expected.shape == (p.shape[0] if kwargs.get("axis") != 0 else D,)
    np.testing.assert_allclose(got, expected, **TIGHT)


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "sum", "mean",
                                       "mean_with_sample_weight", "none", None])
@pytest.mark.parametrize("case", [c for c in CASES if c != "cosine_axis0"])
def test_class_reductions_with_sample_weight(case, reduction):
    fn, cls, kwargs, reference, kind = CASES[case]
    y, p = data(kind, seed=3)
    weights = np.random.default_rng(4).uniform(0.1, 2.0, size=N)
    loss = cls(reduction=reduction, **kwargs)
    per_sample = reference(y, p, **kwargs)
    np.testing.assert_allclose(loss(y, p, sample_weight=weights).numpy(),
                               _reduce(per_sample, weights, reduction), **TIGHT)
    np.testing.assert_allclose(loss(y, p).numpy(), _reduce(per_sample, None, reduction),
                               **TIGHT)


@pytest.mark.parametrize("case", CASES)
def test_gradient_matches_central_differences(case):
    fn, _, kwargs, _, kind = CASES[case]
    y, p = data(kind, seed=5)
    check_op(lambda pred: fn(y, pred, **kwargs), p, rtol=1e-6, atol=1e-8)


def test_hinge_converts_only_all_binary_labels():
    p = np.array([[0.3, -0.4]])
    # {0, 1} -> {-1, 1}: margins 1 - 0.3 and 1 - 0.4
    np.testing.assert_allclose(L.hinge([[1.0, 0.0]], p).numpy(), [(0.7 + 0.6) / 2], **TIGHT)
    # a label 0.5 keeps all labels as given: 1 - 0.5*0.3 and 1 - 0*(-0.4)
    np.testing.assert_allclose(L.hinge([[0.5, 0.0]], p).numpy(), [(0.85 + 1.0) / 2], **TIGHT)


def test_kld_clips_both_sides_and_cosine_is_negative():
    y = np.array([[1.0, 0.0]])
    p = np.array([[0.5, 0.5]])
    # y clipped to [eps, 1]: 1*log(1/0.5) + eps*log(eps/0.5)
    np.testing.assert_allclose(L.kl_divergence(y, p).numpy(),
                               [np.log(2.0) + EPS * np.log(EPS / 0.5)], **TIGHT)
    assert np.isfinite(L.kl_divergence([[0.5, 0.5]], [[1.0, 0.0]]).numpy()).all()
    np.testing.assert_allclose(L.cosine_similarity([[1.0, 2.0], [1.0, 0.0], [0.0, 0.0]],
                                                   [[2.0, 4.0], [0.0, 3.0], [1.0, 1.0]])
                               .numpy(), [-1.0, 0.0, 0.0], atol=1e-12)


def test_keras_docstring_values():
    """The worked examples in Keras 3's docstrings (float32 there, hence 1e-6)."""
    np.testing.assert_allclose(
        L.CategoricalFocalCrossentropy()([[0., 1., 0.], [0., 0., 1.]],
                                         [[0.05, 0.95, 0], [0.1, 0.8, 0.1]]).numpy(),
        0.23315276, rtol=1e-6)
    y, z = np.array([0, 1, 0, 0.0]), np.array([-18.6, 0.51, 2.94, -12.8])
    assert round(float(L.BinaryFocalCrossentropy(gamma=2, from_logits=True)(y, z)), 3) == 0.691
    assert round(float(L.BinaryFocalCrossentropy(apply_class_balancing=True, gamma=2,
                                                 from_logits=True)(y, z)), 2) == 0.51
    yt = [[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]]
    yp = [[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]]
    np.testing.assert_allclose(L.Dice(axis=(1, 2, 3), reduction=None)(yt, yp).numpy(),
                               [0.5, 0.75757575], rtol=1e-6)
    np.testing.assert_allclose(L.Dice()(yt, yp).numpy(), 0.6164384, rtol=1e-6)
    np.testing.assert_allclose(L.MeanAbsolutePercentageError()([100.0, 200.0, 300.0],
                                                               [90.0, 210.0, 310.0]).numpy(),
                               6.111111, rtol=1e-6)


# ---- PyTorch parity -----------------------------------------------------------------------
def _neuropil_value_grad(fn, y, p):
    pred = Tensor(p.copy(), requires_grad=True)
    value = fn(y, pred)
    value.sum().backward()
    return value.numpy(), pred.grad


def _torch_value_grad(fn, y, p):
    torch = pytest.importorskip("torch")
    pred = torch.from_numpy(p.copy()).requires_grad_(True)
    value = fn(torch.from_numpy(y), pred)
    value.sum().backward()
    return value.detach().numpy(), pred.grad.numpy()


def _torch_cases():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def hinge_t(y, p):
        return torch.clamp(1 - y * p, min=0).mean(-1)

    def focal_t(y, z, alpha=0.25, gamma=2.0):  # torchvision.ops.sigmoid_focal_loss, by hand
        prob = torch.sigmoid(z)
        ce = F.binary_cross_entropy_with_logits(z, y, reduction="none")
        p_t = prob * y + (1 - prob) * (1 - y)
        loss = ce * (1 - p_t) ** gamma
        return ((alpha * y + (1 - alpha) * (1 - y)) * loss).mean(-1)

    return {
        "kld": (L.kl_divergence, "probs",
                lambda y, p: F.kl_div(torch.log(p), y, reduction="none").sum(-1)),
        "poisson": (L.poisson, "counts",
                    lambda y, p: F.poisson_nll_loss(p, y, log_input=False, full=False, eps=EPS,
                                                    reduction="none").mean(-1)),
        "hinge": (L.hinge, "pm1", hinge_t),
        "squared_hinge": (L.squared_hinge, "pm1",
                          lambda y, p: (torch.clamp(1 - y * p, min=0) ** 2).mean(-1)),
        "categorical_hinge": (L.categorical_hinge, "onehot_scores",
                              lambda y, p: torch.clamp(((1 - y) * p).amax(-1) - (y * p).sum(-1)
                                                       + 1, min=0)),
        "cosine": (L.cosine_similarity, "regression",
                   lambda y, p: -F.cosine_similarity(y, p, dim=-1, eps=EPS)),
        "log_cosh": (L.log_cosh, "regression", lambda y, p: torch.log(torch.cosh(p - y))
                     .mean(-1)),
        "binary_focal": (lambda y, z: L.binary_focal_crossentropy(
            y, z, apply_class_balancing=True, from_logits=True), "binary_logits", focal_t),
    }


TORCH_NAMES = ["kld", "poisson", "hinge", "squared_hinge", "categorical_hinge", "cosine",
               "log_cosh", "binary_focal"]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_parity_with_torch(name):
    fn, kind, reference = _torch_cases()[name]
    y, p = data(kind, seed=7)
    value, grad = _neuropil_value_grad(fn, y, p)
    t_value, t_grad = _torch_value_grad(reference, y, p)
    np.testing.assert_allclose(value, t_value, **TIGHT)
    np.testing.assert_allclose(grad, t_grad, **TIGHT)


# ---- compile, config, saving -----------------------------------------------------------------
def _fit_losses(loss, y, activation=None, epochs=15):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(y.shape[-1],
                                                                     activation=activation)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss)
    history = model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, shuffle=False)
    return history.history["loss"], model


IDENTIFIERS = {  # name -> (targets kind, output activation)
    "hinge": ("pm1", None), "squared_hinge": ("01", None),
    "categorical_hinge": ("onehot", None), "kl_divergence": ("dist", "softmax"),
    "kld": ("dist", "softmax"), "KLD": ("dist", "softmax"), "poisson": ("counts", "softplus"),
    "log_cosh": ("reg", None), "mape": ("pos", None), "MAPE": ("pos", None),
    "mean_absolute_percentage_error": ("pos", None), "msle": ("pos", "softplus"),
    "mean_squared_logarithmic_error": ("pos", "softplus"), "cosine_similarity": ("reg", None),
    "binary_focal_crossentropy": ("01", "sigmoid"),
    "categorical_focal_crossentropy": ("onehot", "softmax"), "dice": ("01", "sigmoid"),
    "tversky": ("01", "sigmoid"), "Hinge": ("pm1", None), "KLDivergence": ("dist", "softmax"),
    "BinaryFocalCrossentropy": ("01", "sigmoid"),
}


def _targets(kind):
    rng = np.random.default_rng(1)
    x = np.random.default_rng(0).normal(size=(64, 4))
    score = x @ rng.normal(size=(4, 3))  # learnable targets: a function of the inputs
    if kind == "pm1":
        return np.sign(score).astype("float32")
    if kind == "01":
        return (score > 0).astype("float32")
    if kind == "onehot":
        return np.eye(3, dtype="float32")[score.argmax(-1)]
    if kind == "dist":
        return _softmax(score).astype("float32")
    if kind == "counts":
        return np.round(np.exp(0.5 * score)).astype("float32")
    if kind == "pos":
        return (2.0 + score).clip(0.5, None).astype("float32")
    return score.astype("float32")


@pytest.mark.parametrize("identifier", IDENTIFIERS)
def test_string_identifier_trains(identifier):
    kind, activation = IDENTIFIERS[identifier]
    history, _ = _fit_losses(identifier, _targets(kind), activation)
    assert np.all(np.isfinite(history))
    assert history[-1] < 0.8 * history[0] if history[0] > 0 else history[-1] < history[0]


def test_get_resolves_keras_names():
    assert L.get("kld") is L.kl_divergence and L.get("KLD") is L.kl_divergence
    assert L.get("mape") is L.mean_absolute_percentage_error
    assert L.get("msle") is L.mean_squared_logarithmic_error
    assert L.get("bce") is L.binary_crossentropy and L.get("MSE") is L.mean_squared_error
    assert isinstance(L.get("CosineSimilarity"), L.CosineSimilarity)
    with pytest.raises(ValueError, match="Did you mean 'hinge'"):
        L.get("hinje")


CONFIGS = [
    (L.Hinge, {}), (L.SquaredHinge, {}), (L.CategoricalHinge, {}), (L.KLDivergence, {}),
    (L.Poisson, {}), (L.LogCosh, {}), (L.MeanAbsolutePercentageError, {}),
    (L.MeanSquaredLogarithmicError, {}), (L.CosineSimilarity, {"axis": 1}),
    (L.BinaryFocalCrossentropy, {"apply_class_balancing": True, "alpha": 0.4, "gamma": 3.0,
                                 "from_logits": True, "label_smoothing": 0.1}),
    (L.CategoricalFocalCrossentropy, {"alpha": [0.2, 0.8], "gamma": 1.0}),
    (L.Dice, {"axis": (1, 2)}), (L.Tversky, {"alpha": 0.3, "beta": 0.7}),
]


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=[c.__name__ for c, _ in CONFIGS])
def test_config_round_trip(cls, kwargs):
    loss = cls(reduction="sum", name="custom", **kwargs)
    config = loss.get_config()
    assert config["name"] == "custom" and config["reduction"] == "sum"
    for key, value in kwargs.items():
        assert config[key] == value and getattr(loss, key) == value
    clone = cls.from_config(config)
    assert clone.get_config() == config
    restored = L.deserialize(L.serialize(loss))
    assert type(restored) is cls and restored.get_config() == config


def test_default_names_and_keras_positional_order():
    expected = {L.Hinge: "hinge", L.SquaredHinge: "squared_hinge",
                L.CategoricalHinge: "categorical_hinge", L.KLDivergence: "kl_divergence",
                L.Poisson: "poisson", L.LogCosh: "log_cosh",
                L.MeanAbsolutePercentageError: "mean_absolute_percentage_error",
                L.MeanSquaredLogarithmicError: "mean_squared_logarithmic_error",
                L.CosineSimilarity: "cosine_similarity",
                L.BinaryFocalCrossentropy: "binary_focal_crossentropy",
                L.CategoricalFocalCrossentropy: "categorical_focal_crossentropy",
                L.Dice: "dice", L.Tversky: "tversky"}
    for cls, name in expected.items():
        loss = cls()
        assert loss.name == name and loss.reduction == "sum_over_batch_size"
    # Keras's constructors: Hinge(reduction, name), Dice(reduction, name, axis),
    # Tversky(alpha, beta, reduction, ...), BinaryFocal(apply_class_balancing, alpha, ...).
    assert L.Hinge("sum", "h").get_config() == {"name": "h", "reduction": "sum"}
    assert L.Dice("none", "d", (1, 2)).axis == (1, 2)
    assert L.Tversky(0.2, 0.8, "sum").get_config()["reduction"] == "sum"
    assert L.BinaryFocalCrossentropy(True, 0.4).alpha == 0.4
    with pytest.raises(TypeError, match="unexpected arguments"):
        L.Hinge(delta=1.0)
    with pytest.raises(ValueError, match="reduction"):
        L.Poisson(reduction="average")


@pytest.mark.parametrize("loss", [lambda: L.BinaryFocalCrossentropy(gamma=3.0, alpha=0.4,
                                                                    apply_class_balancing=True),
                                  lambda: "kld"])
def test_keras_archive_round_trip(tmp_path, loss):
    loss = loss()
    y = _targets("01") if not isinstance(loss, str) else _targets("dist")
    activation = "sigmoid" if not isinstance(loss, str) else "softmax"
    _, model = _fit_losses(loss, y, activation, epochs=2)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    assert restored.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0),
                                                               rel=1e-6)
    if not isinstance(loss, str):
        compiled = restored.loss
        assert isinstance(compiled, L.BinaryFocalCrossentropy)
        assert (compiled.gamma, compiled.alpha, compiled.apply_class_balancing) == (3.0, 0.4,
                                                                                   True)


def test_dice_and_tversky_align_rank_one_labels():
    """(n,) labels against (n, 1) predictions get the trailing axis, not an (n, n) product."""
    y, p = np.array([1.0, 0.0, 1.0]), np.array([[0.9], [0.2], [0.7]])
    np.testing.assert_allclose(L.dice(y, p).numpy(), np_dice(y[:, None], p), **TIGHT)
    np.testing.assert_allclose(L.tversky(y, p, 0.3, 0.7).numpy(),
                               np_tversky(y[:, None], p, 0.3, 0.7), **TIGHT)
