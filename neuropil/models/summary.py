"""``model.summary()``: Keras 3's table of layers, output shapes and parameter counts."""
from __future__ import annotations

import shutil

from neuropil.layers.input_spec import format_shape
from neuropil.layers.node import KerasTensor, flatten_structure

__all__ = ["print_summary", "readable_memory_size"]


def readable_memory_size(size: float) -> str:
    units = ["B", "KB", "MB", "GB", "TB"]
    unit = 0
    while size >= 1024 and unit < len(units) - 1:
        size /= 1024
        unit += 1
    return f"{size:.2f} {units[unit]}"


def _count(weights) -> int:
    return int(sum(w.size for w in weights))


def _memory(weights) -> int:
    return int(sum(w.size * w.dtype.itemsize for w in weights))


def _output_shape(layer) -> str:
    try:
        outputs = flatten_structure(layer.output)
    except AttributeError:
        return "?"
    shapes = [format_shape(t.shape) for t in outputs if isinstance(t, KerasTensor)]
    return shapes[0] if len(shapes) == 1 else "[" + ", ".join(shapes) + "]"


def _params(layer) -> str:
    if not layer.built:
        return "0 (unbuilt)"
    return f"{layer.count_params():,}"


def _connections(layer, model_nodes) -> str:
    parts = []
    for node in layer._inbound_nodes:
        if id(node) not in model_nodes:
            continue
        for tensor in node.input_tensors:
            inbound, node_index, tensor_index = tensor._keras_history
            parts.append(f"{inbound.name}[{node_index}][{tensor_index}]")
    return ", ".join(parts) or "-"


def _wrap(text: str, width: int) -> list:
    """Lines of at most ``width`` characters, broken after ", " (a long piece is cut)."""
    lines, current = [], ""
    for piece in text.split(", "):
        candidate = f"{current}, {piece}" if current else piece
        if current and len(candidate) + 1 > width:
            lines.append(current + ",")
            current = piece
        else:
            current = candidate
    lines.append(current)
    return [line if len(line) <= width else line[:width - 1] + "…" for line in lines]


def _is_sequential_like(model) -> bool:
    """Keras's rule: a graph is shown without "Connected to" when each depth has one node
    with one input tensor and no layer is called twice (a Sequential always is)."""
    by_depth = getattr(model, "_nodes_by_depth", None)
    if by_depth is None:
        return True
    nodes = [node for depth_nodes in by_depth.values() for node in depth_nodes]
    if any(len(depth_nodes) > 1 or len(depth_nodes[0].input_tensors) > 1
           for depth_nodes in by_depth.values()):
        return False
    return all(sum(1 for n in nodes if n.layer is layer) <= 1 for layer in model.layers)


def print_summary(model, line_length=None, positions=None, print_fn=None,
                  show_trainable=False) -> None:
    """Prints the table; ``print_fn`` (default ``print``) receives the whole text."""
    layers = model.layers
    if hasattr(model, "_functional") and model._functional is not None:
        layers = model.layers
    sequential_like = _is_sequential_like(model)
    header = ["Layer (type)", "Output Shape", "Param #"]
    align = ["<", "<", ">"]
    if sequential_like:
        default, positions = 88, positions or [0.45, 0.80, 1.0]
    else:
        default, positions = 108, positions or [0.3, 0.56, 0.74, 1.0]
        header.append("Connected to")
        align.append("<")
    if show_trainable:
        default += 12
        positions = [p * 0.9 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("^")
    line_length = line_length or min(default, shutil.get_terminal_size((120, 24)).columns - 4)
    if positions[-1] <= 1:
        positions = [int(p * line_length) for p in positions]
    widths, previous = [], 0
    for position in positions:
        widths.append(max(position - previous - 3, 4))
        previous = position

    model_nodes = {id(n) for n in getattr(model, "_nodes", [])}
    rows = []
    for layer in layers:
        row = [f"{layer.name} ({type(layer).__name__})", _output_shape(layer), _params(layer)]
        if not sequential_like:
            row.append(_connections(layer, model_nodes))
        if show_trainable:
            row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
        rows.append(row)

    def line(left, fill, middle, right):
        return left + middle.join(fill * (w + 2) for w in widths) + right

    def cells(values, border="│"):
        # "Connected to" wraps after its commas, one line per inbound tensor when needed
        # (as Keras's table does); other cells are cut with "…".
        columns = []
        for column, (value, width) in enumerate(zip(values, widths)):
            if column == 3 and not sequential_like and len(value) > width:
                columns.append(_wrap(value, width))
            else:
                columns.append([value if len(value) <= width else value[:width - 1] + "…"])
        lines = []
        for index in range(max(len(c) for c in columns)):
            parts = [f" {(c[index] if index < len(c) else ''):{how}{width}} "
                     for c, width, how in zip(columns, widths, align)]
            lines.append(border + border.join(parts) + border)
        return "\n".join(lines)

    out = [f'Model: "{model.name}"', line("┏", "━", "┳", "┓"), cells(header, "┃"),
           line("┡", "━", "╇", "┩")]
    for index, row in enumerate(rows):
        if index:
            out.append(line("├", "─", "┼", "┤"))
        out.append(cells(row))
    out.append(line("└", "─", "┴", "┘"))

    trainable, non_trainable = model.trainable_weights, model.non_trainable_weights
    optimizer = getattr(model, "optimizer", None)
    optimizer_weights = optimizer.variables if optimizer is not None and optimizer.built else []
    total = _count(trainable) + _count(non_trainable) + _count(optimizer_weights)
    memory = _memory(trainable) + _memory(non_trainable) + _memory(optimizer_weights)
    out.append(f" Total params: {total:,} ({readable_memory_size(memory)})")
    out.append(f" Trainable params: {_count(trainable):,} "
               f"({readable_memory_size(_memory(trainable))})")
    out.append(f" Non-trainable params: {_count(non_trainable):,} "
               f"({readable_memory_size(_memory(non_trainable))})")
    if optimizer_weights:
        out.append(f" Optimizer params: {_count(optimizer_weights):,} "
                   f"({readable_memory_size(_memory(optimizer_weights))})")
    (print_fn or print)("\n".join(out))
