"""The layer graph of a model, drawn with matplotlib boxes and arrows (no Graphviz)."""
from __future__ import annotations

from neuropil.explain._format import shape_text
from neuropil.explain._graph import graph_of
from neuropil.layers.conv import BaseConv2D
from neuropil.layers.core import Dense, InputLayer
from neuropil.layers.pooling import BaseGlobalPooling2D, BasePooling2D
from neuropil.plot._mpl import finish, pyplot

__all__ = ["model"]


def _colour(layer) -> str:
    if isinstance(layer, InputLayer):
        return "#dddddd"
    if isinstance(layer, BaseConv2D):
        return "#cfe2f3"
    if isinstance(layer, (BasePooling2D, BaseGlobalPooling2D)):
        return "#d9ead3"
    if isinstance(layer, Dense):
        return "#fce5cd"
    if graph_of(layer) is not None:
        return "#ead1dc"
    return "#ffffff"


def _label(layer, node, show_shapes: bool) -> str:
    kind = "Input" if isinstance(layer, InputLayer) else type(layer).__name__
    text = f"{layer.name}\n{kind}"
    if show_shapes:
        shapes = [shape_text(t.shape) for t in node.output_tensors]
        text += "\n" + ", ".join(shapes)
    if layer.built and layer.weights:
        text += f"\n{layer.count_params():,} weights"
    return text


def model(model, path=None, show_shapes: bool = True, title=None):
    """Draws the model's layers as boxes joined by arrows, from the inputs down.

    A model nested inside is one box (draw it on its own to see inside). Colours: inputs
    grey, convolutions blue, pooling green, Dense orange, nested models pink.

    Args:
        model: a built Sequential or functional model.
        path: write the figure there as a PNG.
        show_shapes: write each layer's output shape in its box.
        title: the figure's title (default: the model's name).

    Returns:
        The matplotlib ``Figure``.
    """
    graph = graph_of(model)
    if graph is None:
        raise ValueError(f'plot.model: model "{model.name}" has no graph of layers to draw. '
                         "Build it first: start a Sequential with keras.Input(shape=...), or "
                         "call the model on data once.")
    nodes = list(graph._nodes)
    depth, parents = {}, {}
    for node in nodes:  # topological order: parents come first
        parents[id(node)] = [p for p in node.parent_nodes if id(p) in depth]
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents[id(node)]), default=-1)
    levels = {}
    for node in nodes:
        levels.setdefault(depth[id(node)], []).append(node)
    positions = {}
    for level, members in levels.items():
        for index, node in enumerate(members):
            positions[id(node)] = (index - (len(members) - 1) / 2, -level)
    plt = pyplot()
    width = max(len(members) for members in levels.values())
    figure, ax = plt.subplots(figsize=(max(3.2, 2.6 * width), 1.15 * len(levels) + 0.6))
    boxes = {}
    for node in nodes:
        x, y = positions[id(node)]
        boxes[id(node)] = ax.text(
            x, y, _label(node.layer, node, show_shapes), ha="center", va="center", fontsize=7,
            bbox=dict(boxstyle="round,pad=0.4", facecolor=_colour(node.layer),
                      edgecolor="#555555"))
    for node in nodes:
        for parent in parents[id(node)]:
            ax.annotate("", xy=(0.5, 1.0), xycoords=boxes[id(node)], xytext=(0.5, 0.0),
                        textcoords=boxes[id(parent)],
                        arrowprops=dict(arrowstyle="->", color="#333333"))
    ax.set_xlim(-width / 2 - 0.2, width / 2 + 0.2)
    ax.set_ylim(-len(levels) + 0.5, 0.5)
    ax.axis("off")
    ax.set_title(title or f"{model.name}: {model.count_params():,} weights", fontsize=9)
    return finish(figure, path)
