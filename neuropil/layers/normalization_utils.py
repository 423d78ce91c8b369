"""What the normalization layers share: their learned shift (beta) and scale (gamma)
arguments, checked and kept by ``_set_affine`` and written back by ``_affine_config``,
and the checks of boolean flags and axes."""
from __future__ import annotations

from neuropil import constraints, initializers, regularizers
from neuropil.layers.input_spec import format_shape


def _serialize_or_none(regularizer):
    return None if regularizer is None else regularizers.serialize(regularizer)


def _set_affine(layer, center, scale, beta_initializer, gamma_initializer, beta_regularizer,
                gamma_regularizer, beta_constraint, gamma_constraint) -> None:
    """Checks and keeps a normalization layer's arguments for its learned shift (beta) and
    scale (gamma); ``_affine_config`` writes them back."""
    kind = type(layer).__name__
    layer.center, layer.scale = _flag(kind, "center", center), _flag(kind, "scale", scale)
    layer.beta_initializer = initializers.get(beta_initializer)
    layer.gamma_initializer = initializers.get(gamma_initializer)
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)


def _affine_config(layer) -> dict:
    """The config of a normalization layer's learned shift (beta) and scale (gamma): their
    initializers, regularizers and constraints, as Keras writes them."""
    return {"beta_initializer": initializers.serialize(layer.beta_initializer),
            "gamma_initializer": initializers.serialize(layer.gamma_initializer),
            "beta_regularizer": _serialize_or_none(layer.beta_regularizer),
            "gamma_regularizer": _serialize_or_none(layer.gamma_regularizer),
            "beta_constraint": constraints.serialize(layer.beta_constraint),
            "gamma_constraint": constraints.serialize(layer.gamma_constraint)}


def _flag(layer: str, name: str, value) -> bool:
    if not isinstance(value, (bool, int)):
        raise TypeError(f"{layer}: `{name}` must be True or False. Received: {name}={value!r}")
    return bool(value)


def _axis_in_bounds(layer, axis, input_shape) -> None:
    rank = len(input_shape)
    for a in axis if isinstance(axis, list) else [axis]:
        if not -rank <= a < rank:
            raise ValueError(f'Layer "{layer.name}": axis {a} is out of bounds for input '
                             f"shape {format_shape(input_shape)}. Received: axis={axis}")
