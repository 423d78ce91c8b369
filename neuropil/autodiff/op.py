"""The base class of every differentiable function.

An op is a small class: ``forward`` computes the result from NumPy arrays and keeps only
what ``backward`` will need; ``backward`` turns the gradient of the output into gradients of
the inputs. Calling an op on tensors runs ``forward`` and, when recording, links the output
tensor to the op so that ``Tensor.backward`` can find it.
"""
from __future__ import annotations

import numbers

import numpy as np

from neuropil.autodiff import mode
from neuropil.autodiff.tensor import Tensor

__all__ = ["Op"]


class Op:
    """Subclass and implement ``forward(*arrays) -> array`` and ``backward(grad) -> tuple``.

    Inside both, ``self.recording`` says whether backward may come (so forward can skip
    saving anything in inference) and ``self.needs_grad[i]`` whether input ``i`` wants a
    gradient (so backward can skip work nobody asked for, e.g. the model input's gradient).
    ``backward`` returns one entry per input; ``None`` where no gradient is needed.
    """

    recording: bool = False
    needs_grad: tuple = ()
    inputs: tuple = ()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError(f"{type(self).__name__} has no backward.")

    def __call__(self, *inputs) -> Tensor:
        tensors = _as_tensors(inputs)
        self.needs_grad = needs_grad = tuple([t.requires_grad for t in tensors])
        self.recording = mode._grad_enabled and any(needs_grad)
        out = Tensor(self.forward(*[t.data for t in tensors]), requires_grad=self.recording)
        if self.recording:
            self.inputs = tensors
            out._producer = self
        return out

    def release(self) -> None:
        """Drops the inputs and everything saved, once backward has run."""
        self.__dict__.clear()


def _as_tensors(inputs) -> tuple:
    for x in inputs:
        if not isinstance(x, Tensor):
            break
    else:
        return inputs  # all tensors already (the common case): nothing to convert
    # A Python number takes the dtype of the tensors it meets (NumPy's NEP 50 rule), so
    # ``x * 2.0`` stays float32 for a float32 x instead of being promoted to float64.
    like = None
    for x in inputs:
        if isinstance(x, Tensor) and x.data.dtype.kind == "f":
            like = x.data.dtype
            break
    out = []
    for x in inputs:
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, numbers.Number) and not isinstance(x, np.generic):
            out.append(Tensor(np.asarray(x, dtype=like or np.result_type(x))))
        else:
            out.append(Tensor(x))
    return tuple(out)
