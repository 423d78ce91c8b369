"""Recording mode: no_grad records nothing, enable_grad turns it back on, both nest and restore."""
import numpy as np
import pytest

from neuropil import ops
from neuropil.autodiff import Tensor, enable_grad, is_grad_enabled, no_grad


@pytest.fixture
def w():
    return Tensor(np.array([1.0, 2.0]), requires_grad=True)


def test_recording_is_on_by_default(w):
    assert is_grad_enabled()
    y = w * 2.0
    assert y.requires_grad and y._producer is not None


def test_no_grad_records_nothing(w):
    with no_grad():
        assert not is_grad_enabled()
        y = ops.tanh(w * 2.0 + 1.0)
    assert not y.requires_grad and y._producer is None
    assert is_grad_enabled()
    with pytest.raises(RuntimeError, match="no_grad"):
        y.sum().backward()


def test_no_grad_ops_save_nothing_for_backward(w):
    # An op that is not recording keeps no references to its inputs.
    with no_grad():
        y = ops.matmul(w, w)
    assert y._producer is None
    op = ops.linalg.MatMul()
    with no_grad():
        op(w, w)
    assert not op.recording and not hasattr(op, "a") and op.inputs == ()


def test_enable_grad_inside_no_grad(w):
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            y = w * 3.0
        z = w * 3.0
        assert not is_grad_enabled()
    assert y.requires_grad and not z.requires_grad
    y.sum().backward()
    np.testing.assert_allclose(w.grad, [3.0, 3.0])


def test_nested_no_grad_restores_the_outer_state():
    with no_grad():
        with no_grad():
            pass
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_state_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert is_grad_enabled()


def test_no_grad_as_a_decorator(w):
    @no_grad()
    def predict(x):
        return x * 2.0

    assert not predict(w).requires_grad
    assert is_grad_enabled()


def test_inputs_without_requires_grad_record_nothing_even_when_enabled():
    y = Tensor(np.ones(2)) * 2.0
    assert not y.requires_grad and y._producer is None
