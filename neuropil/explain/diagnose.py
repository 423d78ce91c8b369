"""``diagnose(history)``: reads training curves the way a teacher would.

The verdict is the first rule that holds, in this order (the numbers are ``Thresholds``'
defaults; "recent" means the last ``window`` epochs, at most a third of the run):

1. **diverging**: the training loss became NaN or infinite, or it ended more than 2× above
   its best value, or more than 10 % above where it started. (With fewer than 3 epochs
   nothing else can be told yet: the verdict is "still improving", train longer.)
2. **not learning**: the training loss never got 1 % below its first value.
3. **overfitting** (needs validation): the validation loss ended 10 % or more above its best
   while the training loss kept falling after that best epoch; or the validation loss stopped
   improving while it is 2× the training loss (or, with an accuracy metric, the training
   accuracy is 5 points or more above the validation accuracy).
4. **still improving**: the monitored loss (validation if recorded, else training) reached a
   new best at least 2 % lower during the recent epochs.

Losses below 0.1 % of the first training loss count as converged: rules 3 and 4 ignore their
tiny ups and downs (a regression fitted exactly has nothing left to improve or overfit).
5. **underfitting**: it has levelled off, but the training accuracy is below 90 % or
   (without an accuracy metric) the training loss is still above a quarter of its first value.
6. **good fit**: levelled off, low training loss, validation close to training.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neuropil.callbacks.callback import Callback
from neuropil.explain._format import num

__all__ = ["diagnose", "Diagnosis", "Thresholds", "join_histories", "Diagnose"]

VERDICTS = ("diverging", "not learning", "overfitting", "still improving", "underfitting",
            "good fit")


@dataclass(frozen=True)
class Thresholds:
    """The numbers behind ``diagnose``'s rules (fractions: 0.1 means 10 %)."""

    diverge_from_best: float = 2.0   # final training loss > 2 × its best
    diverge_from_start: float = 1.1  # final training loss > 1.1 × its first value
    not_learning: float = 0.01       # best training loss less than 1 % below the first
    overfit_rise: float = 0.1        # final val loss ≥ 10 % above its best ...
    overfit_ratio: float = 2.0       # ... or val loss ≥ 2 × train loss, no longer improving
    overfit_accuracy_gap: float = 0.05  # ... or train accuracy ≥ val accuracy + 5 points
    improving: float = 0.02          # a new best ≥ 2 % lower in the recent epochs
    window: int = 3                  # recent epochs (at most a third of the run)
    negligible: float = 1e-3         # a loss below 0.1 % of the first one has converged
    underfit_accuracy: float = 0.9   # levelled off below 90 % training accuracy
    underfit_loss: float = 0.25      # (no accuracy) training loss still > 25 % of its first


@dataclass
class Diagnosis:
    """What ``diagnose`` concluded.

    Attributes:
        verdict: one of "diverging", "not learning", "overfitting", "still improving",
            "underfitting", "good fit".
        evidence: the numbers the verdict rests on (epochs, best_epoch (1-based, as Keras
            prints them), losses first / best / last, gap, recent trends, accuracies).
        reasons: sentences giving the evidence.
        suggestions: what to try next.
    """

    verdict: str
    evidence: dict = field(default_factory=dict)
    reasons: list = field(default_factory=list)
    suggestions: list = field(default_factory=list)

    @property
    def best_epoch(self):
        return self.evidence.get("best_epoch")

    def __str__(self) -> str:
        text = f"Diagnosis: {self.verdict}. " + " ".join(self.reasons)
        if self.suggestions:
            text += " Suggestions: " + "; ".join(self.suggestions) + "."
        return text


# ---- histories -------------------------------------------------------------------------------
def _as_dict(history) -> dict:
    if isinstance(history, dict):
        return history
    inner = getattr(history, "history", None)
    if isinstance(inner, dict):
        return inner
    if inner is not None and isinstance(getattr(inner, "history", None), dict):
        return inner.history  # a model: its latest fit's History
    raise TypeError("Expected a History (what fit returns), its .history dict, or a list of "
                    f"them. Received: {type(history).__name__}")


def join_histories(histories) -> tuple:
    """One record from several fits, as consecutive epochs.

    Args:
        histories: a History, a history dict, or a list of them (in training order).

    Returns:
        (values, starts): ``values`` maps each key to a float64 array over all epochs (NaN
        where a fit did not record the key); ``starts`` lists the first epoch index (from 0)
        of each fit. Validation recorded every k-th epoch (``validation_freq``) is placed at
        those epochs.
    """
    parts = [histories] if isinstance(histories, dict) or not isinstance(
        histories, (list, tuple)) else list(histories)
    parts = [_as_dict(part) for part in parts]
    keys = []
    for part in parts:
        keys += [key for key in part if key not in keys]
    columns = {key: [] for key in keys}
    starts, total = [], 0
    for part in parts:
        length = max((len(values) for values in part.values()), default=0)
        starts.append(total)
        for key in keys:
            values = np.asarray([float(v) for v in part.get(key, [])], np.float64)
            column = np.full(length, np.nan)
            if len(values) == length:
                column[:] = values
            elif len(values):  # validated every k-th epoch: at epochs k, 2k, ...
                at = np.round(np.arange(1, len(values) + 1) * length / len(values)) - 1
                column[at.astype(int)] = values
            columns[key].append(column)
        total += length
    return {key: np.concatenate(columns[key]) if columns[key] else np.zeros(0)
            for key in keys}, starts


def _accuracy_key(values: dict):
    for key in values:
        if not key.startswith("val_") and ("accuracy" in key or key == "acc"):
            return key
    return None


def _recent_gain(series, window: int) -> float:
    """How much lower (relative) the best of the recent epochs is than the best before."""
    series = series[np.isfinite(series)]
    if len(series) < 2:
        return 0.0
    w = max(1, min(window, len(series) // 3))
    before, recent = series[:-w].min(), series[-w:].min()
    return float((before - recent) / max(abs(before), 1e-12))


# ---- the rules -------------------------------------------------------------------------------
def diagnose(history, thresholds: Thresholds | None = None) -> Diagnosis:
    """A verdict on training curves, with the evidence and what to try next.

    Args:
        history: what ``fit`` returned (a ``History``), its ``.history`` dict, or a list of
            them from repeated fits (joined as consecutive epochs).
        thresholds: a ``Thresholds`` to change the rules' numbers (see the module docstring).

    Returns:
        A ``Diagnosis`` with ``verdict``, ``evidence``, ``reasons`` and ``suggestions``;
        ``print`` it for a paragraph.

    Example:
    >>> d = diagnose({"loss": [1.0, 0.5, 0.3, 0.2, 0.1, 0.05],
    ...               "val_loss": [1.0, 0.6, 0.5, 0.6, 0.8, 1.0]})
    >>> d.verdict, d.best_epoch
    ('overfitting', 3)
    """
    t = thresholds or Thresholds()
    values, starts = join_histories(history)
    if "loss" not in values or not len(values["loss"]):
        raise ValueError("diagnose needs the training loss per epoch (the 'loss' key of "
                         f"fit's History). Received keys: {sorted(values)}")
    loss = values["loss"]
    n = len(loss)
    val = values.get("val_loss")
    has_val = val is not None and np.isfinite(val).sum() >= 2
    acc_key = _accuracy_key(values)
    evidence = {"epochs": n, "fits": len(starts), "train_loss_first": float(loss[0]),
                "train_loss_last": float(loss[-1])}
    finite = np.isfinite(loss)
    if finite.any():
        evidence["train_loss_best"] = float(np.nanmin(np.where(finite, loss, np.nan)))
    evidence["train_trend"] = _recent_gain(loss, t.window)
    if has_val:
        best = int(np.nanargmin(val))
        evidence.update(best_epoch=best + 1, val_loss_best=float(val[best]),
                        val_loss_last=float(val[np.isfinite(val)][-1]),
                        val_trend=_recent_gain(val, t.window))
        evidence["gap"] = evidence["val_loss_last"] - float(loss[-1])
    elif finite.any():
        evidence["best_epoch"] = int(np.nanargmin(np.where(finite, loss, np.nan))) + 1
    if acc_key:
        evidence["train_accuracy"] = float(values[acc_key][-1])
        if np.isfinite(values.get("val_" + acc_key, [np.nan])).any():
            val_acc = values["val_" + acc_key]
            evidence["val_accuracy"] = float(val_acc[np.isfinite(val_acc)][-1])

    for rule in (_diverging, _too_early, _not_learning, _overfitting, _still_improving,
                 _underfitting):
        found = rule(loss, val if has_val else None, evidence, t)
        if found is not None:
            return found
    return _good_fit(evidence, has_val)


def _epochs(n: int) -> str:
    return f"{n} epoch" + ("" if n == 1 else "s")


def _diverging(loss, val, ev, t):
    bad = np.flatnonzero(~np.isfinite(loss))
    if len(bad):
        reason = (f"The training loss became {num(loss[bad[0]])} at epoch {bad[0] + 1} of "
                  f"{ev['epochs']}: the updates blew the weights up.")
    else:
        first, best, last = ev["train_loss_first"], ev["train_loss_best"], ev["train_loss_last"]
        if last > t.diverge_from_best * best:
            reason = (f"The training loss fell to {num(best)} (epoch {int(np.argmin(loss)) + 1})"
                      f" but climbed back to {num(last)}, more than {num(t.diverge_from_best)}×"
                      " its best.")
        elif last > t.diverge_from_start * first and len(loss) > 1:
            reason = (f"The training loss rose from {num(first)} to {num(last)} over "
                      f"{_epochs(ev['epochs'])}: each step makes things worse.")
        else:
            return None
    return Diagnosis("diverging", ev, [reason], [
        "lower the learning rate (try 10× smaller)",
        "check that the inputs are scaled (e.g. pixels / 255) and contain no NaN",
        "clip the gradients (clipnorm=1.0 in the optimizer)"])


def _too_early(loss, val, ev, t):
    if ev["epochs"] >= 3:
        return None
    went = f"went from {num(ev['train_loss_first'])} to " if ev["epochs"] > 1 else "is "
    return Diagnosis("still improving", ev, [
        f"Only {_epochs(ev['epochs'])}: too early to tell how training will go (the training "
        f"loss {went}{num(ev['train_loss_last'])})."], [
        "train for more epochs (10 or more) with validation data (validation_split=0.1)"])


def _not_learning(loss, val, ev, t):
    first, best = ev["train_loss_first"], ev["train_loss_best"]
    if ev["epochs"] < 2 or (first - best) / max(abs(first), 1e-12) >= t.not_learning:
        return None
    return Diagnosis("not learning", ev, [
        f"Over {_epochs(ev['epochs'])} the training loss stayed at {num(first)} (best "
        f"{num(best)}, less than {num(100 * t.not_learning)} % lower): the weights are not "
        "moving the loss."], [
        "check the learning rate (10× larger if the loss barely moves, smaller if it jumps)",
        "check that the labels match the loss (integer labels: "
        "sparse_categorical_crossentropy; one-hot: categorical_crossentropy)",
        "scale the inputs to about [0, 1] or mean 0, variance 1",
        "look at the gradients with neuropil.explain.backprop(model, x, y): zeros everywhere "
        "mean dead ReLUs or a loss that does not reach the weights"])


def _negligible(value, ev, t) -> bool:
    return abs(value) <= t.negligible * abs(ev["train_loss_first"])


def _overfitting(loss, val, ev, t):
    if val is None or _negligible(ev["val_loss_last"], ev, t):
        return None
    best = ev["best_epoch"] - 1
    rise = (ev["val_loss_last"] - ev["val_loss_best"]) / max(abs(ev["val_loss_best"]), 1e-12)
    train_fell = loss[-1] < loss[best]
    reasons = []
    if rise >= t.overfit_rise and best < len(loss) - 1 and train_fell:
        reasons.append(
            f"Over {_epochs(ev['epochs'])} the training loss kept falling ({num(loss[best])} "
            f"at epoch {best + 1}, {num(loss[-1])} at the end), but the validation loss was "
            f"lowest at epoch {best + 1} ({num(ev['val_loss_best'])}) and ended "
            f"{num(100 * rise, 0)} % higher ({num(ev['val_loss_last'])}): the network is "
            "memorizing the training set.")
    elif ev["val_trend"] < t.improving:
        ratio = ev["val_loss_last"] / max(abs(ev["train_loss_last"]), 1e-12)
        acc_gap = ev.get("train_accuracy", np.nan) - ev.get("val_accuracy", np.nan)
        if np.isfinite(acc_gap) and acc_gap >= t.overfit_accuracy_gap:
            reasons.append(
                f"The validation loss stopped improving while the training accuracy "
                f"({num(100 * ev['train_accuracy'], 1)} %) is {num(100 * acc_gap, 1)} points "
                f"above the validation accuracy ({num(100 * ev['val_accuracy'], 1)} %).")
        elif not np.isfinite(acc_gap) and ratio >= t.overfit_ratio:
            reasons.append(
                f"The validation loss stopped improving at {num(ev['val_loss_last'])}, "
                f"{num(ratio, 1)}× the training loss ({num(ev['train_loss_last'])}).")
    if not reasons:
        return None
    stop = "keras.callbacks.EarlyStopping(monitor='val_loss', patience=3, " \
        "restore_best_weights=True)"
    stop = f"stop at epoch {best + 1}, the best validation epoch: {stop}" \
        if best < len(loss) - 1 else f"stop when validation stops improving: {stop}"
    return Diagnosis("overfitting", ev, reasons, [
        stop, "regularize: L2 weight penalties (kernel_regularizer=keras.regularizers.L2(1e-4)), "
        "Dropout, data augmentation", "more training data, or a smaller network"])


def _still_improving(loss, val, ev, t):
    monitored, name = (val, "validation") if val is not None else (loss, "training")
    gain = ev["val_trend"] if val is not None else ev["train_trend"]
    last = ev["val_loss_last"] if val is not None else ev["train_loss_last"]
    if gain < t.improving or _negligible(last, ev, t):
        return None
    w = max(1, min(t.window, int(np.isfinite(monitored).sum()) // 3))
    n = ev["epochs"]
    return Diagnosis("still improving", ev, [
        f"After {_epochs(n)} the {name} loss is still going down: its best of the last "
        f"{_epochs(w)} is {num(100 * gain, 1)} % below the best before (now {num(last)})."], [
        f"train longer: call fit again with initial_epoch={n} and a larger epochs (it "
        "continues from the current weights)",
        "keep validation on and EarlyStopping(monitor='val_loss', restore_best_weights=True) "
        "to stop when it levels off"])


def _underfitting(loss, val, ev, t):
    accuracy = ev.get("train_accuracy")
    if accuracy is not None and math.isfinite(accuracy):
        if accuracy >= t.underfit_accuracy:
            return None
        reason = (f"The training loss levelled off at {num(ev['train_loss_last'])} with a "
                  f"training accuracy of {num(100 * accuracy, 1)} % (below "
                  f"{num(100 * t.underfit_accuracy)} %): the network does not fit even the "
                  "data it trains on.")
    else:
        fraction = ev["train_loss_last"] / max(abs(ev["train_loss_first"]), 1e-12)
        if fraction <= t.underfit_loss:
            return None
        reason = (f"The training loss levelled off at {num(ev['train_loss_last'])}, still "
                  f"{num(100 * fraction, 0)} % of where it started ({num(ev['train_loss_first'])}"
                  "): the network does not fit even the data it trains on.")
    if val is not None:
        reason += (f" Validation is close behind ({num(ev['val_loss_last'])}), so it is not "
                   "overfitting.")
    return Diagnosis("underfitting", ev, [reason], [
        "more capacity: more neurons or filters, or another layer",
        "train longer, or with a larger learning rate if the loss fell slowly",
        "less regularization (smaller L2 factor, lower Dropout rate) if there is any"])


def _good_fit(ev, has_val) -> Diagnosis:
    reason = (f"After {_epochs(ev['epochs'])} the training loss levelled off at "
              f"{num(ev['train_loss_last'])}")
    if has_val:
        reason += (f" and the validation loss at {num(ev['val_loss_last'])} (best "
                   f"{num(ev['val_loss_best'])} at epoch {ev['best_epoch']}), close to it")
    if "train_accuracy" in ev:
        reason += f"; training accuracy {num(100 * ev['train_accuracy'], 1)} %"
        if "val_accuracy" in ev:
            reason += f", validation {num(100 * ev['val_accuracy'], 1)} %"
    suggestions = ["evaluate on the test set"]
    if has_val:
        suggestions.append(f"keep the weights of epoch {ev['best_epoch']} with EarlyStopping("
                           "restore_best_weights=True) or ModelCheckpoint(save_best_only=True)")
    else:
        suggestions.append("hold out validation data (validation_split=0.1) to confirm the "
                           "network generalizes")
    return Diagnosis("good fit", ev, [reason + "."], suggestions)


class Diagnose(Callback):
    """A callback that diagnoses the curves when ``fit`` ends and prints the paragraph.

    Example: ``model.fit(x, y, epochs=20, validation_split=0.1,
    callbacks=[neuropil.explain.Diagnose()])``; the result stays in ``.diagnosis``.

    Args:
        thresholds: a ``Thresholds`` for the rules (default: the documented ones).
        print_fn: where the paragraph goes (default ``print``; None to keep quiet).
    """

    def __init__(self, thresholds: Thresholds | None = None, print_fn=print):
        super().__init__()
        self.thresholds, self.print_fn = thresholds, print_fn
        self.diagnosis = None

    def on_train_end(self, logs=None):
        history = getattr(self.model, "history", None)
        if history is None or not getattr(history, "history", {}).get("loss"):
            return  # no epoch ran (initial_epoch >= epochs): nothing to judge
        self.diagnosis = diagnose(history, self.thresholds)
        if self.print_fn is not None:
            self.print_fn(str(self.diagnosis))
