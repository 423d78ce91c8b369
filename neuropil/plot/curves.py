"""Training curves: loss and each metric, training and validation, epoch by epoch."""
from __future__ import annotations

import numpy as np

from neuropil.explain.diagnose import join_histories
from neuropil.plot._mpl import finish, pyplot

__all__ = ["history"]


def _panels(values: dict) -> list:
    """Base names to draw, one panel each: "loss" first, then the metrics in log order."""
    names = []
    for key in values:
        base = key[4:] if key.startswith("val_") else key
        if base == "data_loss":
            continue  # drawn in the loss panel
        if base not in names:
            names.append(base)
    return sorted(names, key=lambda name: name != "loss")


def history(*histories, path=None, title=None):
    """Plots the loss and each metric over the epochs, training (solid) and validation
    (dashed).

    Several histories (repeated ``fit`` calls) continue one another: their epochs are
    numbered on, and a dotted line marks where each new fit began. The epoch with the lowest
    validation loss is marked in every panel.

    Args:
        *histories: ``History`` objects (what ``fit`` returns), their ``.history`` dicts, or
            one list of them.
        path: write the figure there as a PNG (e.g. ``"curves.png"``).
        title: the figure's title.

    Returns:
        The matplotlib ``Figure``.

    Example:
    >>> h = model.fit(x, y, epochs=10, validation_split=0.1)   # doctest: +SKIP
    >>> neuropil.plot.history(h, path="curves.png")            # doctest: +SKIP
    """
    if len(histories) == 1 and isinstance(histories[0], (list, tuple)):
        histories = histories[0]
    if not histories:
        raise ValueError("plot.history needs at least one History (what fit returns).")
    values, starts = join_histories(list(histories))
    panels = _panels(values)
    if not panels:
        raise ValueError("plot.history: the history is empty (no epochs recorded).")
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator
    figure, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.6), squeeze=False)
    n = max(len(v) for v in values.values())
    epochs = np.arange(1, n + 1)
    val_loss = values.get("val_loss")
    best = int(np.nanargmin(val_loss)) if val_loss is not None and \
        np.isfinite(val_loss).any() else None
    for ax, name in zip(axes[0], panels):
        for key, style, label in ((name, "-", "training"), ("val_" + name, "--", "validation"),
                                  ("data_loss" if name == "loss" else None, ":",
                                   "training, without penalties")):
            series = values.get(key)
            if series is None or not np.isfinite(series).any():
                continue
            seen = np.isfinite(series)
            ax.plot(epochs[seen], series[seen], style, marker="." if n <= 30 else None,
                    label=label)
        for number, start in enumerate(starts[1:], 2):
            ax.axvline(start + 0.5, color="grey", linestyle=":", linewidth=1)
            ax.text(start + 0.6, 1.0, f" fit {number} starts", fontsize=7, color="grey",
                    transform=ax.get_xaxis_transform(), va="top")
        if best is not None:
            ax.axvline(best + 1, color="tab:red", alpha=0.25, linewidth=3)
            val_series = values.get("val_" + name)
            if val_series is not None and np.isfinite(val_series[best]):
                ax.plot([best + 1], [val_series[best]], "*", color="tab:red", markersize=12,
                        label=f"best val_loss: epoch {best + 1}")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_title(name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        figure.suptitle(title)
    return finish(figure, path)
