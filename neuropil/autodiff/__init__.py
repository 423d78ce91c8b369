"""Level 1: the autodiff engine. See README.md beside this file for how it works."""
from neuropil.autodiff.mode import enable_grad, is_grad_enabled, no_grad
from neuropil.autodiff.op import Op
from neuropil.autodiff.tensor import Tensor, Variable, as_array

__all__ = ["Tensor", "Variable", "Op", "as_array", "no_grad", "enable_grad", "is_grad_enabled"]
