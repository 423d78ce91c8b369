"""``keras.config``: the global settings, in one place.

Level 0, beside ``neuropil.backend``: the numeric settings (floatx, epsilon, image format)
live in the backend and are re-exported here, not copied. What is new here is state Keras
keeps in ``keras.config`` that the backend did not have: interactive logging, traceback
filtering, the debugging caps on epochs and steps, and the dtype policy (a view of floatx).

Where neuropil differs from Keras, the function says so:

* ``backend()`` is ``"numpy"``: there is one backend.
* ``set_image_data_format`` accepts only ``"channels_last"``.
* ``set_dtype_policy`` accepts single-type policies only ("float32", "float64", ...) and
  sets floatx, which is what every layer's default dtype is read from.
* ``enable_unsafe_deserialization`` changes nothing: neuropil never loads code from a file.
"""
from __future__ import annotations


from neuropil.backend import (epsilon, floatx, image_data_format, set_epsilon,  # noqa: F401
                              set_floatx)

__all__ = ["floatx", "set_floatx", "epsilon", "set_epsilon", "image_data_format",
           "set_image_data_format", "backend", "enable_unsafe_deserialization",
           "enable_interactive_logging", "disable_interactive_logging",
           "is_interactive_logging_enabled", "DTypePolicy", "dtype_policy", "set_dtype_policy",
           "enable_traceback_filtering", "disable_traceback_filtering",
           "is_traceback_filtering_enabled", "max_epochs", "set_max_epochs",
           "max_steps_per_epoch", "set_max_steps_per_epoch"]

# The state below is the only copy; other modules read it through these functions.
_STATE = {"interactive_logging": True, "traceback_filtering": True,
          "max_epochs": None, "max_steps_per_epoch": None}


def backend() -> str:
    """The name of the backend: always ``"numpy"`` (neuropil computes with NumPy).

    Example:
    >>> keras.config.backend()
    'numpy'
    """
    return "numpy"


# ---- image data format -------------------------------------------------------------------
def set_image_data_format(data_format: str) -> None:
    """Sets the default image layout; neuropil has one, ``"channels_last"`` (NHWC).

    Raises:
        ValueError: ``"channels_first"`` (not supported globally) or an unknown name.
    """
    value = str(data_format).lower()
    if value == "channels_last":
        return
    if value == "channels_first":
        raise ValueError("neuropil is channels-last only: images are (batch, height, width, "
                         "channels) and the global default cannot be changed. Received: "
                         f"data_format={data_format!r}. Keep 'channels_last' here, and pass "
                         "data_format='channels_first' to the individual layers that take "
                         "it (Conv2D, pooling, ...) if your data is laid out that way.")
    raise ValueError("The `data_format` argument must be one of {'channels_first', "
                     f"'channels_last'}}. Received: data_format={data_format!r}")


# ---- saving --------------------------------------------------------------------------------
def enable_unsafe_deserialization() -> None:
    """Accepted for Keras compatibility; it changes nothing.

    In Keras this lets ``load_model`` run the Python bytecode of a saved ``Lambda``.
    neuropil never loads code from a file, whatever this says: a saved lambda is refused
    with an error that names the fix (a function registered with
    ``keras.saving.register_keras_serializable()``, or ``custom_objects``).
    """


# ---- interactive logging -------------------------------------------------------------------
def enable_interactive_logging() -> None:
    """Progress output (fit / evaluate / predict, ``keras.utils.Progbar``) goes to stdout
    (the default)."""
    _STATE["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Progress output (fit / evaluate / predict, ``keras.utils.Progbar``) goes to the
    ``logging`` module instead (logger ``"neuropil"``, level INFO, no bars), as Keras sends
    it to ``absl.logging``."""
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    """True when progress output goes to stdout (see ``disable_interactive_logging``)."""
    return _STATE["interactive_logging"]


# ---- traceback filtering -------------------------------------------------------------------
def enable_traceback_filtering() -> None:
    """Recorded only: neuropil never filters tracebacks (its frames are short and readable)."""
    _STATE["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Recorded only: neuropil always shows full tracebacks."""
    _STATE["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    """What was last set with ``enable_`` / ``disable_traceback_filtering`` (default True)."""
    return _STATE["traceback_filtering"]


# ---- debugging caps on training runs -------------------------------------------------------
def _check_cap(name: str, value) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"set_{name}: expected a positive integer or None. Received: "
                         f"{name}={value!r}")


def max_epochs():
    """The cap set by ``set_max_epochs`` (None: no cap)."""
    return _STATE["max_epochs"]


def set_max_epochs(max_epochs) -> None:
    """Caps the epochs of every ``fit`` (a debugging aid in Keras; None: no cap)."""
    _check_cap("max_epochs", max_epochs)
    _STATE["max_epochs"] = max_epochs


def max_steps_per_epoch():
    """The cap set by ``set_max_steps_per_epoch`` (None: no cap)."""
    return _STATE["max_steps_per_epoch"]


def set_max_steps_per_epoch(max_steps_per_epoch) -> None:
    """Caps the training steps of every epoch of ``fit`` (None: no cap), as Keras 3 does
    for quick smoke runs of a script."""
    _check_cap("max_steps_per_epoch", max_steps_per_epoch)
    _STATE["max_steps_per_epoch"] = max_steps_per_epoch


# ---- dtype policy: a view of floatx ------------------------------------------------------
_SINGLE_TYPES = ("float16", "float32", "float64")


class DTypePolicy:
    """A Keras dtype policy restricted to what neuropil does: one float type for both the
    weights and the computation (no mixed precision, no quantization).

    Args:
        name: ``"float16"``, ``"float32"`` or ``"float64"``; None means ``floatx()``.
    """

    def __init__(self, name: str | None = None):
        name = floatx() if name is None else name
        if not isinstance(name, str):
            raise ValueError("Invalid `policy` argument: expected the string name of a "
                             f"policy such as 'float32'. Received: policy={name!r} (of type "
                             f"{type(name).__name__})")
        if name not in _SINGLE_TYPES:
            raise ValueError(f"neuropil does not support the dtype policy {name!r}: weights "
                             "and computations share one float type. Use one of "
                             f"{', '.join(map(repr, _SINGLE_TYPES))} (mixed precision such "
                             "as 'mixed_float16', 'bfloat16' and quantized policies are "
                             "Keras features neuropil does not implement).")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._name

    @property
    def variable_dtype(self) -> str:
        return self._name

    def get_config(self) -> dict:
        return {"name": self._name}

    def __eq__(self, other):
        return isinstance(other, DTypePolicy) and other.name == self.name

    def __hash__(self):
        return hash(self._name)

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


def dtype_policy() -> DTypePolicy:
    """The global dtype policy: always ``DTypePolicy(floatx())``, so the two never disagree."""
    return DTypePolicy(floatx())


def set_dtype_policy(policy) -> None:
    """Sets the global dtype policy, which in neuropil means ``set_floatx(policy.name)``:
    every layer created afterwards without a ``dtype=`` uses that type for its weights and
    its computation (as in Keras, where a plain policy sets both).

    Args:
        policy: a policy name (``"float32"``, ``"float64"``, ``"float16"``) or a
            ``DTypePolicy``.

    Raises:
        ValueError: a mixed, bfloat16 or quantized policy, or something that is not a policy.
    """
    if not isinstance(policy, DTypePolicy):
        policy = DTypePolicy(policy)
    set_floatx(policy.name)
