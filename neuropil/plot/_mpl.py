"""matplotlib, loaded when a plot is first asked for (it is an optional extra)."""
from __future__ import annotations

import os
import sys

__all__ = ["pyplot", "finish", "show_image"]


def pyplot():
    """``matplotlib.pyplot``, on the Agg backend when there is no display to draw on."""
    try:
        import matplotlib
    except ImportError as error:
        raise ImportError('neuropil.plot needs matplotlib, an optional extra: '
                          'pip install "neuropil[plot]" (or pip install matplotlib).') from error
    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if headless and "MPLBACKEND" not in os.environ and \
            matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def finish(figure, path):
    """Writes ``figure`` as a PNG when ``path`` is given, and returns it.

    A figure written to a file is also released from pyplot (it stays usable), so a loop
    writing many plots does not pile up open windows; without a path it stays open for
    ``plt.show()``.
    """
    figure.tight_layout()
    if path is not None:
        figure.savefig(os.fspath(path), dpi=100, format="png")
        pyplot().close(figure)
    return figure


def show_image(ax, image, title=None, cmap="gray", vmin=None, vmax=None):
    """One image on ``ax``: (h, w) or (h, w, 1) in grey (scaled to its own range unless
    ``vmin`` / ``vmax`` are given), (h, w, 3) in colour, no ticks."""
    import numpy as np

    image = np.asarray(image, np.float64)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 3 and image.shape[-1] == 3:
        low, high = image.min(), image.max()
        if low < 0 or high > 1:
            image = image / 255 if low >= 0 and high <= 255 else \
                (image - low) / max(high - low, 1e-12)
        ax.imshow(np.clip(image, 0, 1))
    else:
        ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)
