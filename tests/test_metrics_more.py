"""Keras 3's confusion, F-score, regression, hinge and divergence metrics: hand-worked values,
an independent NumPy transcription of Keras's formulas on random data, state handling,
configs, compile name resolution and a save/load round trip."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, metrics


# ---- independent references: one explicit threshold comparison per threshold ----------
def ref_counts(y_true, y_pred, thresholds, weight=None):
    """Keras's definition spelled out: tile predictions against every threshold."""
    y_true = np.asarray(y_true, float).ravel() != 0
    y_pred = np.asarray(y_pred, float).ravel()
    w = np.ones_like(y_pred) if weight is None else np.asarray(weight, float).ravel()
    above = y_pred[None, :] > np.asarray(thresholds, float)[:, None]   # (T, N)
    return {"tp": (above & y_true) @ w, "fp": (above & ~y_true) @ w,
            "fn": (~above & y_true) @ w, "tn": (~above & ~y_true) @ w}


def auc_thresholds(n):
    return np.array([-1e-7] + [(i + 1) / (n - 1) for i in range(n - 2)] + [1 + 1e-7])


def ref_roc_auc(y_true, y_pred, n=200, weight=None):
    c = ref_counts(y_true, y_pred, auc_thresholds(n), weight)
    tpr = c["tp"] / np.maximum(c["tp"] + c["fn"], 1e-300)
    fpr = c["fp"] / np.maximum(c["fp"] + c["tn"], 1e-300)
    return -trapezoid(tpr, fpr)   # fpr decreases with the threshold


def exact_roc_auc(y_true, y_pred):
    """Mann-Whitney: P(score of a positive > score of a negative), ties count half."""
    pos, neg = y_pred[y_true == 1], y_pred[y_true == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


def ref_pr_auc_interpolated(y_true, y_pred, n=200):
    """Davis & Goadrich, integrated numerically: between thresholds TP and P = TP + FP are
    linear, precision is TP / P; integrate precision d(recall) with many sub-steps."""
    c = ref_counts(y_true, y_pred, auc_thresholds(n))
    tp, p, pos = c["tp"], c["tp"] + c["fp"], c["tp"][0] + c["fn"][0]
    total = 0.0
    for a in range(n - 1):
        if tp[a] == tp[a + 1]:
            continue
        s = np.linspace(0, 1, 20001)
        tps, ps = tp[a + 1] + s * (tp[a] - tp[a + 1]), p[a + 1] + s * (p[a] - p[a + 1])
        precision = np.where(ps > 0, tps / np.where(ps > 0, ps, 1), tp[a] / max(p[a], 1e-300)
                             if p[a + 1] == 0 else 0)
        total += trapezoid(precision, tps / pos)
    return total


def trapezoid(y, x):
    """The trapezoid rule written out (np.trapz is gone from NumPy 2.4)."""
    y, x = np.asarray(y, float), np.asarray(x, float)
    return float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ---- confusion counts -------------------------------------------------------------------
def test_counts_on_a_hand_example():
    y, p = [0, 1, 1, 1], [1, 0, 1, 1]
    expected = {metrics.TruePositives: 2, metrics.FalsePositives: 1,
                metrics.TrueNegatives: 0, metrics.FalseNegatives: 1}
    for cls, value in expected.items():
        m = cls()
        m.update_state(y, p)
        assert m.result() == value
    m = metrics.TruePositives()
    m.update_state(y, p, sample_weight=[0, 0, 1, 0.5])
    assert m.result() == pytest.approx(1.5)
    assert metrics.TruePositives().name == "true_positives"


@pytest.mark.parametrize("cls, key", [(metrics.TruePositives, "tp"),
                                      (metrics.FalsePositives, "fp"),
                                      (metrics.TrueNegatives, "tn"),
                                      (metrics.FalseNegatives, "fn")])
def test_counts_match_reference_over_thresholds_batches_and_weights(cls, key, rng):
    thresholds = [0.7, 0.0, 0.3, 1.0, 0.5]   # unsorted on purpose
    m = cls(thresholds=thresholds)
    ys, ps, ws = [], [], []
    for _ in range(3):
        y = rng.integers(0, 2, (16, 3))
        p = np.round(rng.random((16, 3)), 1)   # values on the thresholds too
        w = rng.random(16)
        m.update_state(y, p, sample_weight=w)
        ys.append(y), ps.append(p), ws.append(np.repeat(w[:, None], 3, 1))
    expected = ref_counts(np.concatenate(ys), np.concatenate(ps), thresholds,
                          np.concatenate(ws))[key]
    np.testing.assert_allclose(m.result(), expected, rtol=1e-12)
    m.reset_state()
    np.testing.assert_array_equal(m.result(), np.zeros(len(thresholds)))


# ---- precision / recall -----------------------------------------------------------------
def test_precision_recall_hand_values_and_defaults():
    p, r = metrics.Precision(), metrics.Recall()
    for m in (p, r):
        m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert p.result() == pytest.approx(2 / 3) and r.result() == pytest.approx(2 / 3)
    assert (p.name, r.name, p.thresholds) == ("precision", "recall", [0.5])
    p.update_state([1, 0], [0.9, 0.2])   # one more true positive: 3 / 4
    assert p.result() == pytest.approx(3 / 4)
    p.reset_state()
    assert p.result() == 0.0            # 0 / 0 reads as 0, like Keras's divide_no_nan
    r = metrics.Recall(thresholds=[0.0, 0.5, 0.95])
    r.update_state([1, 1, 0, 1], [0.96, 0.5, 0.3, 0.6])
    np.testing.assert_allclose(r.result(), [1.0, 2 / 3, 1 / 3])


def test_precision_recall_match_reference_with_weights(rng):
    y, pred, w = rng.integers(0, 2, 200), rng.random(200), rng.random(200)
    c = ref_counts(y, pred, [0.5], w)
    p, r = metrics.Precision(), metrics.Recall()
    for m in (p, r):
        m.update_state(y[:120], pred[:120], sample_weight=w[:120])
        m.update_state(y[120:], pred[120:], sample_weight=w[120:])
    assert p.result() == pytest.approx((c["tp"] / (c["tp"] + c["fp"]))[0], rel=1e-12)
    assert r.result() == pytest.approx((c["tp"] / (c["tp"] + c["fn"]))[0], rel=1e-12)


def test_class_id_and_top_k():
    y = np.array([[0, 0, 1, 1], [0, 1, 0, 0]])
    p = np.array([[0.6, 0.7, 0.8, 0.1], [0.9, 0.8, 0.4, 0.3]])
    m = metrics.Precision(class_id=2)                      # column 2 only: one TP
    m.update_state(y, p)
    assert m.result() == 1.0
    m = metrics.Precision(top_k=2)       # row 0 keeps cols 2, 1; row 1 keeps 0, 1 (all > -inf)
    m.update_state(y, p)
    assert m.result() == pytest.approx(2 / 4)
    m = metrics.Recall(top_k=1)                          # row 0 keeps col 2, row 1 col 0
    m.update_state(y, p)
    assert m.result() == pytest.approx(1 / 3)
    m = metrics.Precision(top_k=2, class_id=0)           # col 0 is kept in row 1 only: FP
    m.update_state(y, p)
    assert m.result() == 0.0
    m = metrics.Recall(top_k=2, class_id=1, thresholds=0.75)   # row 1: 0.8 > 0.75, label 1
    m.update_state(y, p)
    assert m.result() == 1.0


# ---- AUC --------------------------------------------------------------------------------
def test_auc_hand_example():
    m = metrics.AUC(num_thresholds=3)   # thresholds -1e-7, 0.5, 1+1e-7
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    # (fpr, tpr) at the thresholds: (1, 1), (0, 0.5), (0, 0): trapezoids 0.75 + 0
    assert m.result() == pytest.approx(0.75)
    assert m.name == "auc" and len(m.thresholds) == 3


def test_auc_roc_matches_trapezoid_reference_and_exact_auc(rng):
    y = rng.integers(0, 2, 500)
    pred = np.clip(0.3 * y + 0.7 * rng.random(500), 0, 1)
    m = metrics.AUC()
    m.update_state(y[:300], pred[:300])
    m.update_state(y[300:], pred[300:])
    assert m.result() == pytest.approx(ref_roc_auc(y, pred), rel=1e-12)
    assert m.result() == pytest.approx(exact_roc_auc(y, pred), abs=5e-3)
    weighted = metrics.AUC(num_thresholds=50)
    w = rng.random(500)
    weighted.update_state(y, pred, sample_weight=w)
    assert weighted.result() == pytest.approx(ref_roc_auc(y, pred, 50, w), rel=1e-12)


def test_auc_roc_against_sklearn(rng):
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    y = rng.integers(0, 2, 400)
    pred = rng.random(400) * 0.6 + 0.4 * y
    m = metrics.AUC(num_thresholds=1000)
    m.update_state(y, pred)
    assert m.result() == pytest.approx(sklearn_metrics.roc_auc_score(y, pred), abs=2e-3)


def test_auc_pr_interpolation_and_riemann_sums(rng):
    y = rng.integers(0, 2, 300)
    pred = np.clip(0.4 * y + 0.6 * rng.random(300), 0, 1)
    m = metrics.AUC(curve="PR", num_thresholds=20)
    m.update_state(y, pred)
    assert m.result() == pytest.approx(ref_pr_auc_interpolated(y, pred, 20), rel=1e-6)
    c = ref_counts(y, pred, auc_thresholds(20))
    recall = c["tp"] / (c["tp"] + c["fn"])
    precision = np.divide(c["tp"], c["tp"] + c["fp"], out=np.zeros(20),
                          where=c["tp"] + c["fp"] > 0)
    for method, height in (("minoring", np.minimum), ("majoring", np.maximum)):
        m = metrics.AUC(curve="PR", num_thresholds=20, summation_method=method)
        m.update_state(y, pred)
        expected = np.sum((recall[:-1] - recall[1:]) * height(precision[:-1], precision[1:]))
        assert m.result() == pytest.approx(expected, rel=1e-12)


def test_auc_multi_label_logits_and_explicit_thresholds(rng):
    y = rng.integers(0, 2, (100, 3))
    logits = rng.normal(size=(100, 3)) + y
    m = metrics.AUC(multi_label=True, from_logits=True, num_thresholds=30)
    m.update_state(y, logits)
    probs = 1 / (1 + np.exp(-logits))
    per_label = [ref_roc_auc(y[:, j], probs[:, j], 30) for j in range(3)]
    assert m.result() == pytest.approx(np.mean(per_label), rel=1e-12)
    weighted = metrics.AUC(multi_label=True, label_weights=[1.0, 0.0, 3.0], from_logits=True,
                           num_thresholds=30)
    weighted.update_state(y, logits)
    assert weighted.result() == pytest.approx((per_label[0] + 3 * per_label[2]) / 4,
                                              rel=1e-12)
    flat = metrics.AUC(num_thresholds=30, from_logits=True)   # one curve over every column
    flat.update_state(y, logits)
    assert flat.result() == pytest.approx(ref_roc_auc(y, probs, 30), rel=1e-12)
    explicit = metrics.AUC(thresholds=[0.5, 0.25, 0.75])
    assert explicit.num_thresholds == 5
    explicit.update_state(y[:, 0], probs[:, 0])
    c = ref_counts(y[:, 0], probs[:, 0], [-1e-7, 0.25, 0.5, 0.75, 1 + 1e-7])
    tpr, fpr = c["tp"] / (c["tp"] + c["fn"]), c["fp"] / (c["fp"] + c["tn"])
    assert explicit.result() == pytest.approx(-trapezoid(tpr, fpr), rel=1e-12)
    assert explicit.get_config()["thresholds"] == [0.25, 0.5, 0.75]
    explicit.reset_state()
    assert explicit.result() == 0.0


# ---- F-scores ---------------------------------------------------------------------------
def ref_fbeta(y, p, beta, average, threshold, w=None):
    pred = (p > threshold) if threshold is not None else \
        (p >= p.max(-1, keepdims=True)) & (np.abs(p) > 1e-9)
    pred = pred.astype(float)
    w = np.ones((len(y), 1)) if w is None else w[:, None]
    axis = None if average == "micro" else 0
    tp, fp = ((pred * y) * w).sum(axis), ((pred * (1 - y)) * w).sum(axis)
    fn, support = (((1 - pred) * y) * w).sum(axis), (y * w).sum(axis)
    prec, rec = tp / (tp + fp + 1e-7), tp / (tp + fn + 1e-7)
    f = (1 + beta ** 2) * prec * rec / (beta ** 2 * prec + rec + 1e-7)
    if average == "weighted":
        return np.sum(f * support / (support.sum() + 1e-7))
    return f.mean() if average else f


def test_f_scores_hand_values():
    y, p = np.array([[1, 0], [1, 1]]), np.array([[0.9, 0.1], [0.2, 0.8]])
    f2 = metrics.FBetaScore(beta=2.0, threshold=0.5)
    f2.update_state(y, p)
    np.testing.assert_allclose(f2.result(), [5 * 0.5 / 4.5, 1.0], atol=1e-6)
    f1 = metrics.F1Score(average="micro", threshold=0.5)   # TP 2, FP 0, FN 1
    f1.update_state(y, p)
    assert f1.result() == pytest.approx(0.8, abs=1e-6)
    argmax = metrics.F1Score(average="macro")    # threshold None: the top score per row
    argmax.update_state(y, p)                    # class 0: P=R=1/2... (TP 1, FP 0, FN 1)
    assert argmax.result() == pytest.approx((2 / 3 + 1) / 2, abs=1e-6)
    assert (f1.name, f2.name) == ("f1_score", "fbeta_score")


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("threshold", [None, 0.4])
def test_f_scores_match_reference(average, threshold, rng):
    y = rng.integers(0, 2, (64, 4)).astype(float)
    p, w = rng.random((64, 4)), rng.random(64)
    m = metrics.FBetaScore(average=average, beta=0.5, threshold=threshold)
    m.update_state(y[:40], p[:40], sample_weight=w[:40])
    m.update_state(y[40:], p[40:], sample_weight=w[40:])
    np.testing.assert_allclose(m.result(), ref_fbeta(y, p, 0.5, average, threshold, w),
                               rtol=1e-10)
    m.reset_state()
    m.update_state(y, p)
    np.testing.assert_allclose(m.result(), ref_fbeta(y, p, 0.5, average, threshold),
                               rtol=1e-10)


def test_f_score_argument_errors():
    with pytest.raises(ValueError, match="average"):
        metrics.F1Score(average="binary")
    with pytest.raises(ValueError, match="beta"):
        metrics.FBetaScore(beta=1)
    with pytest.raises(ValueError, match="threshold"):
        metrics.F1Score(threshold=0.0)
    with pytest.raises(ValueError, match="2D inputs"):
        metrics.F1Score().update_state([1, 0], [0.3, 0.2])


# ---- R² and the per-sample means --------------------------------------------------------
def test_r2_score(rng):
    m = metrics.R2Score()
    m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [2.0]])
    assert m.result() == pytest.approx(1 - 1 / 2)        # SS_res 1, SS_tot 2
    y, p, w = rng.normal(size=(50, 3)), rng.normal(size=(50, 3)), rng.random(50)
    w[:5] = 0
    ss_tot = (w[:, None] * (y - np.average(y, axis=0, weights=w)) ** 2).sum(0)
    raw = 1 - (w[:, None] * (y - p) ** 2).sum(0) / ss_tot
    for aggregation, expected in ((None, raw), ("uniform_average", raw.mean()),
                                  ("variance_weighted_average",
                                   (raw * ss_tot).sum() / ss_tot.sum())):
        m = metrics.R2Score(class_aggregation=aggregation)
        m.update_state(y[:20], p[:20], sample_weight=w[:20])
        m.update_state(y[20:], p[20:], sample_weight=w[20:])
        np.testing.assert_allclose(m.result(), expected, rtol=1e-10)
    adjusted = metrics.R2Score(num_regressors=4)
    adjusted.update_state(y, p, sample_weight=w)         # n = 45 non-zero-weight samples
    assert adjusted.result() == pytest.approx(1 - (1 - raw.mean()) * 44 / 40, rel=1e-10)


def _loss_cases(rng):
    y = rng.random((8, 5)) + 0.1
    p = rng.random((8, 5)) + 0.1
    signs = rng.integers(0, 2, (8, 5)).astype(float)
    onehot = np.eye(5)[rng.integers(0, 5, 8)]
    yn, pn = y / y.sum(1, keepdims=True), p / p.sum(1, keepdims=True)
    return [
        (metrics.MeanAbsolutePercentageError, y, p,
         100 * np.mean(np.abs(y - p) / np.abs(y), -1)),
        (metrics.CosineSimilarity, y, p,
         (y * p).sum(-1) / np.linalg.norm(y, axis=-1) / np.linalg.norm(p, axis=-1)),
        (metrics.LogCoshError, y, p, np.mean(np.log(np.cosh(p - y)), -1)),
        (metrics.Hinge, signs, p - 0.5, np.mean(np.maximum(1 - (2 * signs - 1) * (p - 0.5), 0),
                                                -1)),
        (metrics.SquaredHinge, signs, p - 0.5,
         np.mean(np.maximum(1 - (2 * signs - 1) * (p - 0.5), 0) ** 2, -1)),
        (metrics.CategoricalHinge, onehot, p,
         np.maximum((p * (1 - onehot)).max(-1) - (p * onehot).sum(-1) + 1, 0)),
        (metrics.KLDivergence, yn, pn, np.sum(yn * np.log(yn / pn), -1)),
    ]


def test_mean_metrics_match_reference_with_weights(rng):
    for cls, y, p, per_sample in _loss_cases(rng):
        w = rng.random(len(y))
        m = cls()
        m.update_state(y[:3], p[:3], sample_weight=w[:3])
        m.update_state(y[3:], p[3:], sample_weight=w[3:])
        assert m.result() == pytest.approx(np.sum(per_sample * w) / w.sum(), rel=1e-10), cls
        m.reset_state()
        m.update_state(y, p)
        assert m.result() == pytest.approx(per_sample.mean(), rel=1e-10), cls


def test_mean_metrics_hand_values():
    m = metrics.MeanAbsolutePercentageError()
    m.update_state([[2.0, 4.0]], [[1.0, 5.0]])           # 50 % and 25 %
    assert m.result() == pytest.approx(37.5)
    m = metrics.Hinge()
    m.update_state([[0, 1]], [[0.3, 0.4]])                # labels -> -1, +1: 1.3 and 0.6
    assert m.result() == pytest.approx(0.95)
    m = metrics.CosineSimilarity()
    m.update_state([[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]])   # 1/sqrt 2 and 0
    assert m.result() == pytest.approx(np.sqrt(0.5) / 2)
    m = metrics.LogCoshError()
    m.update_state([[0.0]], [[1000.0]])                   # no overflow: ~ 1000 - log 2
    assert m.result() == pytest.approx(1000 - np.log(2))
    names = {cls().name for cls in (metrics.MeanAbsolutePercentageError, metrics.LogCoshError,
                                    metrics.KLDivergence, metrics.CosineSimilarity)}
    assert names == {"mean_absolute_percentage_error", "logcosh", "kl_divergence",
                     "cosine_similarity"}


# ---- IoU ------------------------------------------------------------------------------
def test_iou_hand_values():
    m = metrics.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])     # confusion [[1, 1], [1, 1]]: 1/3 each
    assert m.result() == pytest.approx(1 / 3, abs=1e-6)
    m.update_state([1], [1], sample_weight=[2.0])  # [[1, 1], [1, 3]]: 1/3 and 3/5
    assert m.result() == pytest.approx((1 / 3 + 3 / 5) / 2, abs=1e-6)
    assert m.name == "mean_io_u"
    one = metrics.IoU(num_classes=3, target_class_ids=[2])   # class 2 never seen: 0
    one.update_state([0, 1], [0, 1])
    assert one.result() == 0.0
    m.reset_state()
    assert m.result() == 0.0


def test_iou_matches_reference(rng):
    y = rng.integers(0, 4, (6, 5, 5))
    scores = rng.random((6, 5, 5, 4)) + 0.6 * np.eye(4)[y]
    w = rng.random(6)
    m = metrics.MeanIoU(num_classes=4, sparse_y_pred=False, ignore_class=3)
    m.update_state(y[:2], scores[:2], sample_weight=np.repeat(w[:2], 25))
    m.update_state(y[2:], scores[2:], sample_weight=np.repeat(w[2:], 25))
    pred = scores.argmax(-1)
    weights = np.broadcast_to(w[:, None, None], y.shape)
    ious = []
    for c in range(4):   # per class, from sets: |true c and pred c| / |true c or pred c|
        kept = y != 3
        inter = (weights * ((y == c) & (pred == c) & kept)).sum()
        union = (weights * (((y == c) | (pred == c)) & kept)).sum()
        if union > 0:
            ious.append(inter / union)
    assert m.result() == pytest.approx(np.mean(ious), rel=1e-5)
    target = metrics.IoU(num_classes=4, target_class_ids=[0, 2], sparse_y_true=False)
    target.update_state(np.eye(4)[y], pred)
    cm = np.zeros((4, 4))
    np.add.at(cm, (y.ravel(), pred.ravel()), 1)
    per_class = np.diag(cm) / (cm.sum(0) + cm.sum(1) - np.diag(cm))
    assert target.result() == pytest.approx(per_class[[0, 2]].mean(), rel=1e-5)


# ---- identifiers, configs, compile, saving ----------------------------------------------
@pytest.mark.parametrize("identifier, cls", [
    ("precision", "Precision"), ("recall", "Recall"), ("auc", "AUC"), ("AUC", "AUC"),
    ("true_positives", "TruePositives"), ("f1_score", "F1Score"),
    ("f_beta_score", "FBetaScore"), ("r2_score", "R2Score"),
    ("mape", "MeanAbsolutePercentageError"),
    ("kl_divergence", "KLDivergence"), ("hinge", "Hinge"),
    ("categorical_hinge", "CategoricalHinge"), ("log_cosh_error", "LogCoshError")])
def test_string_identifiers(identifier, cls):
    assert type(metrics.get(identifier)) is getattr(metrics, cls)


NEW = ["TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives", "Precision",
       "Recall", "AUC", "F1Score", "FBetaScore", "R2Score", "MeanAbsolutePercentageError",
       "CosineSimilarity", "LogCoshError", "Hinge", "SquaredHinge", "CategoricalHinge",
       "KLDivergence", "IoU", "MeanIoU"]


def test_configs_round_trip_and_registry():
    from neuropil.saving import registry
    table = registry._tables()["metrics"]
    configured = {"Precision": dict(thresholds=[0.2, 0.6], top_k=2, class_id=1, name="p"),
                  "AUC": dict(num_thresholds=17, curve="PR", summation_method="majoring",
                              multi_label=True, label_weights=[0.5, 1.0], from_logits=True),
                  "FBetaScore": dict(average="weighted", beta=2.0, threshold=0.3),
                  "R2Score": dict(class_aggregation=None, num_regressors=2),
                  "CosineSimilarity": dict(axis=1),
                  "IoU": dict(num_classes=4, target_class_ids=[1, 3], ignore_class=0),
                  "MeanIoU": dict(num_classes=3, sparse_y_pred=False)}
    for name in NEW:
        cls = getattr(keras.metrics, name)
        assert table[name] is cls
        m = cls(**configured.get(name, {}))
        config = m.get_config()
        clone = cls.from_config(config)
        assert clone.get_config() == config
        restored = metrics.deserialize(metrics.serialize(m))
        assert type(restored) is cls and restored.get_config() == config
    assert metrics.F1Score().get_config() == {"name": "f1_score", "dtype": "float32",
                                              "average": None, "threshold": None}


def _binary_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


def test_compile_reports_history_keys_and_survives_save(tmp_path):
    x, y = _binary_data()
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy",
                  metrics=["precision", keras.metrics.Recall(), keras.metrics.AUC()])
    history = model.fit(x, y, batch_size=32, epochs=3, verbose=0, validation_data=(x, y))
    for key in ("precision", "recall", "auc", "val_precision", "val_recall", "val_auc"):
        assert len(history.history[key]) == 3, key
        assert all(0.0 <= v <= 1.0 for v in history.history[key])
    # the last validation numbers are the metrics of the final weights on all of x
    pred = model.predict(x, verbose=0)
    c = ref_counts(y, pred, [0.5])
    assert history.history["val_precision"][-1] == pytest.approx(
        (c["tp"] / (c["tp"] + c["fp"]))[0], rel=1e-6)
    assert history.history["val_recall"][-1] == pytest.approx(
        (c["tp"] / (c["tp"] + c["fn"]))[0], rel=1e-6)
    assert history.history["val_auc"][-1] == pytest.approx(ref_roc_auc(y, pred), rel=1e-6)
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    again = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert set(again) == set(results)
    for key in results:
        assert again[key] == pytest.approx(results[key], rel=1e-6), key


def test_f1_and_r2_in_compile():
    x, y = _binary_data()
    onehot = np.concatenate([1 - y, y], axis=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, activation="softmax")])
    model.compile("adam", "categorical_crossentropy",
                  metrics=[keras.metrics.F1Score(average="macro"), "r2_score"])
    history = model.fit(x, onehot, batch_size=32, epochs=2, verbose=0)
    assert set(history.history) >= {"f1_score", "r2_score", "loss"}
    assert len(history.history["f1_score"]) == 2
