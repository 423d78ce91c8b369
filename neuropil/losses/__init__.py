"""``keras.losses``: what training minimizes.

Each loss function takes ``(y_true, y_pred)`` and returns one value per sample; a ``Loss``
object (``keras.losses.CategoricalCrossentropy()``) also applies sample weights and reduces
to a scalar (the mean over the batch, by default).

Cross-entropy on probabilities from a softmax (or sigmoid) output is computed from that
layer's logits with the fused op: the same value, but exact where a probability would round
to 0 in float32, and with the short gradient softmax(z) - y.

The functions and classes live in one module per family (``crossentropy``, ``regression``,
``hinge``, ``probabilistic``, ``segmentation``; the base class in ``loss``); this module
gathers them and resolves names: ``get``, ``serialize``, ``deserialize``.
"""
from __future__ import annotations

from neuropil._naming import unknown_identifier
from neuropil.losses.crossentropy import (BinaryCrossentropy, BinaryFocalCrossentropy,
                                          CategoricalCrossentropy, CategoricalFocalCrossentropy,
                                          SparseCategoricalCrossentropy, binary_crossentropy,
                                          binary_focal_crossentropy, categorical_crossentropy,
                                          categorical_focal_crossentropy,
                                          sparse_categorical_crossentropy)
from neuropil.losses.hinge import (CategoricalHinge, Hinge, SquaredHinge, categorical_hinge,
                                   hinge, squared_hinge)
from neuropil.losses.loss import Loss, LossFunctionWrapper
from neuropil.losses.probabilistic import KLDivergence, Poisson, kl_divergence, poisson
from neuropil.losses.regression import (CosineSimilarity, Huber, LogCosh, MeanAbsoluteError,
                                        MeanAbsolutePercentageError, MeanSquaredError,
                                        MeanSquaredLogarithmicError, cosine_similarity, huber,
                                        log_cosh, mae, mean_absolute_error,
                                        mean_absolute_percentage_error, mean_squared_error,
                                        mean_squared_logarithmic_error, mse)
from neuropil.losses.segmentation import Dice, Tversky, dice, tversky

# Names of the single-file neuropil.losses outside __all__, still importable from here.
from neuropil.losses.crossentropy import _binary_terms, _logits_of  # noqa: F401
from neuropil.losses.hinge import _hinge_labels, _margin  # noqa: F401
from neuropil.losses.loss import (REDUCTIONS, _align_ranks, _tensor,  # noqa: F401
                                  _wrapper_class, reduce_weighted)
from neuropil.losses.regression import MAE, MSE  # noqa: F401
from neuropil.losses.segmentation import _axis  # noqa: F401

__all__ = ["Loss", "LossFunctionWrapper", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "BinaryCrossentropy", "MeanSquaredError",
           "MeanAbsoluteError", "Huber", "Hinge", "SquaredHinge", "CategoricalHinge",
           "KLDivergence", "Poisson", "LogCosh", "MeanAbsolutePercentageError",
           "MeanSquaredLogarithmicError", "CosineSimilarity", "BinaryFocalCrossentropy",
           "CategoricalFocalCrossentropy", "Dice", "Tversky", "categorical_crossentropy",
           "sparse_categorical_crossentropy", "binary_crossentropy", "mean_squared_error",
           "mean_absolute_error", "huber", "hinge", "squared_hinge", "categorical_hinge",
           "kl_divergence", "poisson", "log_cosh", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "cosine_similarity", "binary_focal_crossentropy",
           "categorical_focal_crossentropy", "dice", "tversky", "mse", "mae", "get",
           "serialize", "deserialize"]


_NEW_FUNCTIONS = (hinge, squared_hinge, categorical_hinge, kl_divergence, poisson, log_cosh,
                  mean_absolute_percentage_error, mean_squared_logarithmic_error,
                  cosine_similarity, binary_focal_crossentropy, categorical_focal_crossentropy,
                  dice, tversky)
_FUNCTIONS = {"categorical_crossentropy": categorical_crossentropy,
              "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
              "binary_crossentropy": binary_crossentropy,
              "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
              "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
              "huber": huber, **{fn.__name__: fn for fn in _NEW_FUNCTIONS},
              # Keras 3's short aliases (keras.losses.get("kld"), compile(loss="mape"))
              "bce": binary_crossentropy, "BCE": binary_crossentropy,
              "MSE": mean_squared_error, "MAE": mean_absolute_error,
              "kld": kl_divergence, "KLD": kl_divergence,
              "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
              "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error}
_CLASSES = {c.__name__: c for c in (
    CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
    MeanSquaredError, MeanAbsoluteError, Huber, Hinge, SquaredHinge, CategoricalHinge,
    KLDivergence, Poisson, LogCosh, MeanAbsolutePercentageError, MeanSquaredLogarithmicError,
    CosineSimilarity, BinaryFocalCrossentropy, CategoricalFocalCrossentropy, Dice, Tversky)}


def get(identifier):
    """A name (``"mse"``, ``"categorical_crossentropy"``), class name, config, callable."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier in _FUNCTIONS:
            return _FUNCTIONS[identifier]
        if identifier in _CLASSES:
            return _CLASSES[identifier]()
        raise unknown_identifier("loss", identifier, list(_FUNCTIONS) + list(_CLASSES))
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return identifier
    raise TypeError(f"Could not interpret loss identifier: {identifier!r}")


def serialize(loss):
    if isinstance(loss, Loss):
        return {"module": "keras.losses", "class_name": type(loss).__name__,
                "config": loss.get_config(), "registered_name": None}
    return getattr(loss, "__name__", str(loss))


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        return get(config)
    name = config["class_name"]
    cls = (custom_objects or {}).get(name) or _CLASSES.get(name)
    if cls is None:
        raise unknown_identifier("loss", name, _CLASSES)
    return cls.from_config(config.get("config", {}))
