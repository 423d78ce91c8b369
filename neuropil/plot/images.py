"""Pictures of what a convolutional network holds and sees: its kernels, its feature maps,
and the augmented images it trains on."""
from __future__ import annotations

import math

import numpy as np

from neuropil.autodiff import no_grad
from neuropil.backend.random import set_random_seed
from neuropil.explain.trace import trace
from neuropil.plot._mpl import finish, pyplot, show_image

__all__ = ["filters", "feature_maps", "augmentations"]


def _grid(count: int, columns: int | None = None) -> tuple:
    columns = columns or math.ceil(math.sqrt(count))
    return math.ceil(count / columns), columns


def _kernel_of(layer) -> np.ndarray:
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        kernel = getattr(layer, "depthwise_kernel", None)
    if kernel is None and isinstance(layer, np.ndarray):
        kernel = layer
    if kernel is None or np.ndim(kernel) != 4:
        raise ValueError("plot.filters needs a built convolution layer (a kernel of shape "
                         "(height, width, in_channels, filters)) or such an array. Received: "
                         f"{layer!r}")
    return np.asarray(getattr(kernel, "data", kernel), np.float64)


def filters(layer, path=None, max_filters: int = 32, max_channels: int = 8):
    """Draws a convolution layer's kernels as small images.

    Kernels with 3 input channels are drawn in colour (one image per filter); otherwise each
    filter's channels are drawn side by side in a red (positive) / blue (negative) scale
    shared by all, with the numbers written in when the kernels are 3×3 or smaller and few.

    Args:
        layer: a built ``Conv2D`` (or any layer with a 4-D ``kernel``), or the kernel array.
        path: write the figure there as a PNG.
        max_filters, max_channels: how many filters (rows) and input channels to draw.

    Returns:
        The matplotlib ``Figure``.
    """
    kernel = _kernel_of(layer)
    kh, kw, channels, count = kernel.shape
    count = min(count, max_filters)
    name = getattr(layer, "name", "kernel")
    plt = pyplot()
    if channels == 3:
        rows, cols = _grid(count)
        figure, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows + 0.4),
                                    squeeze=False)
        for index, ax in enumerate(axes.flat):
            if index < count:
                show_image(ax, kernel[..., index], f"filter {index + 1}")
            else:
                ax.axis("off")
    else:
        shown = min(channels, max_channels)
        if shown == 1:
            rows, cols = _grid(count)
        else:
            rows, cols = count, shown
        limit = max(float(np.abs(kernel).max()), 1e-12)
        figure, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.55 * rows + 0.4),
                                    squeeze=False)
        write = kh * kw <= 9 and rows * cols <= 16
        for index, ax in enumerate(axes.flat):
            f, c = (index, 0) if shown == 1 else divmod(index, cols)
            if f >= count:
                ax.axis("off")
                continue
            ax.imshow(kernel[:, :, c, f], cmap="RdBu_r", vmin=-limit, vmax=limit)
            if write:
                for (a, b), value in np.ndenumerate(kernel[:, :, c, f]):
                    ax.text(b, a, f"{value:.2f}", ha="center", va="center", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            title = f"filter {f + 1}" if shown == 1 else f"f{f + 1} ch{c + 1}"
            ax.set_title(title, fontsize=7)
    figure.suptitle(f"{name}: {kernel.shape[-1]} filters {kh}×{kw}×{channels}", fontsize=9)
    return finish(figure, path)


def feature_maps(model, x, layer, path=None, max_maps: int = 32, sample: int = 0):
    """Draws what one layer outputs for one input: each channel's map as an image.

    Args:
        model: a Sequential or functional model.
        x: one input (without the batch axis) or a batch.
        layer: the layer, its name, or its index in the forward pass (as in ``trace``).
        path: write the figure there as a PNG.
        max_maps: how many channels to draw.
        sample: which sample of a batch to draw.

    Returns:
        The matplotlib ``Figure`` (the input image first, then the maps). A layer with a
        flat output (Dense) is drawn as a bar chart.
    """
    record = trace(model, x, sample=sample)
    entry = record[layer]
    out = np.asarray(entry.outputs if not isinstance(entry.outputs, list)
                     else entry.outputs[0])[sample]
    image = np.asarray(record.inputs if not isinstance(record.inputs, list)
                       else record.inputs[0])[sample]
    plt = pyplot()
    if out.ndim != 3:
        figure, ax = plt.subplots(figsize=(6, 3))
        flat = out.reshape(-1)
        ax.bar(np.arange(1, flat.size + 1), flat)
        ax.set_xlabel("neuron")
        ax.set_title(f"{entry.name} ({entry.kind}): {flat.size} outputs", fontsize=9)
        return finish(figure, path)
    count = min(out.shape[-1], max_maps)
    rows, cols = _grid(count + 1)
    figure, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows + 0.4),
                                squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index == 0 and image.ndim in (2, 3):
            show_image(ax, image, "input")
        elif 0 < index <= count:
            show_image(ax, out[..., index - 1], f"channel {index}", cmap="viridis")
        else:
            ax.axis("off")
    h, w, c = out.shape
    figure.suptitle(f"{entry.name} ({entry.kind}): {c} maps of {h}×{w}", fontsize=9)
    return finish(figure, path)


def augmentations(layer_or_model, images, n: int = 9, path=None, max_images: int = 4,
                  seed: int | None = None):
    """Draws augmented versions of images, as training would see them (``training=True``).

    Args:
        layer_or_model: a preprocessing / augmentation layer, or a model of them (any
            layer whose random behaviour switches on in training).
        images: one image (h, w, c) or a batch.
        n: augmented versions per image (next to the original).
        path: write the figure there as a PNG.
        max_images: how many images of a batch to draw (one row each).
        seed: seed the random generator first, for a repeatable figure.

    Returns:
        The matplotlib ``Figure``: one row per image, the original first.
    """
    batch = np.asarray(images)
    if batch.ndim in (2, 3) and (batch.ndim == 2 or batch.shape[-1] in (1, 3)):
        batch = batch[None] if batch.ndim == 3 else batch[None, ..., None]
    batch = batch[:max_images]
    if seed is not None:
        set_random_seed(seed)
    dtype = getattr(layer_or_model, "compute_dtype", "float32")
    versions = []
    with no_grad():
        for _ in range(n):
            out = layer_or_model(batch.astype(dtype), training=True)
            versions.append(np.asarray(getattr(out, "data", out)))
    plt = pyplot()
    rows, cols = len(batch), n + 1
    figure, axes = plt.subplots(rows, cols, figsize=(1.4 * cols, 1.4 * rows + 0.4),
                                squeeze=False)
    # One grey scale for all, so brightness and contrast changes show.
    low = min(float(batch.min()), min(float(v.min()) for v in versions))
    high = max(float(batch.max()), max(float(v.max()) for v in versions))
    for r in range(rows):
        show_image(axes[r, 0], batch[r], "original" if r == 0 else None, vmin=low, vmax=high)
        for k in range(n):
            show_image(axes[r, k + 1], versions[k][r], f"{k + 1}" if r == 0 else None,
                       vmin=low, vmax=high)
    name = getattr(layer_or_model, "name", type(layer_or_model).__name__)
    figure.suptitle(f"{name}: {n} augmented versions (training=True)", fontsize=9)
    return finish(figure, path)
