"""The engine: Tensor.backward's walk, gradient accumulation, dtypes and operator sugar."""
import operator

import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Op, Tensor, Variable, as_array


# ---- backward: accumulation, graph shapes, errors ------------------------------------------

def test_worked_example_from_the_docstring():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0, 6.0])
    assert x.grad.dtype == np.float32


def test_two_backward_calls_accumulate_into_leaf_grad():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * 3.0).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad, [3.0 + 2.0, 3.0 - 4.0])


def test_retain_graph_allows_a_second_walk():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.numpy())


def test_second_backward_through_a_released_graph_raises():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])  # the first gradient, unchanged


def test_diamond_graph_sums_both_paths():
    x = Tensor(np.array([0.5, -1.5, 2.0]), requires_grad=True)
    a = ops.exp(x)
    b = x * 3.0
    (a * b).sum().backward()  # d/dx (e^x · 3x) = 3e^x (1 + x)
    np.testing.assert_allclose(x.grad, 3 * np.exp(x.numpy()) * (1 + x.numpy()))


def test_same_tensor_as_both_inputs_of_one_op():
    x = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * x + x).sum().backward()
    np.testing.assert_allclose(x.grad, 2 * x.numpy() + 1)


def test_shared_subgraph_is_walked_once():
    x = Tensor(np.array([2.0]), requires_grad=True)
    h = x * x          # used by two consumers; its gradient must be complete before it flows on
    y = h * 2.0 + ops.sqrt(h)
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, [4 * 2.0 + 1.0])  # d/dx (2x² + |x|) at x = 2


@pytest.mark.parametrize("shape_a, shape_b", [((3, 4), (4,)), ((2, 1, 3), (1, 4, 1)),
                                              ((3, 4), ()), ((1,), (2, 3))], ids=str)
def test_leaf_gradients_are_reduced_to_the_leaf_shapes(shape_a, shape_b):
    a = Tensor(random_array(*shape_a, seed=1), requires_grad=True)
    b = Tensor(random_array(*shape_b, seed=2), requires_grad=True)
    (a * b + a - b).sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b


def test_gradient_only_for_leaves_that_ask():
    a = Tensor(np.ones(3), requires_grad=True)
    b = Tensor(np.ones(3))
    (a * b).sum().backward()
    assert a.grad is not None and b.grad is None


def test_intermediate_tensors_keep_no_grad():
    x = Tensor(np.ones(3), requires_grad=True)
    h = x * 2.0
    h.sum().backward()
    assert h.grad is None and x.grad is not None


def test_backward_on_non_scalar_without_seed_raises_clearly():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(RuntimeError, match=r"single-element.*\(2, 3\).*grad="):
        y.backward()


def test_backward_on_single_element_non_scalar_is_allowed():
    x = Tensor(np.array([[3.0]]), requires_grad=True)
    (x * x).backward()
    np.testing.assert_allclose(x.grad, [[6.0]])


def test_backward_seed_of_the_wrong_shape_raises():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        y.backward(np.ones((3, 2)))


def test_backward_on_a_tensor_without_gradient_raises():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (Tensor(np.ones(2)) * 2.0).sum().backward()


def test_backward_seed_is_used():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (x * 3.0).backward(np.array([10.0, 100.0]))
    np.testing.assert_allclose(x.grad, [30.0, 300.0])


class WrongShapeGrad(Op):
    def forward(self, a):
        return a * 2

    def backward(self, grad):
        return (grad.sum(),)  # a scalar for a (3,) input


def test_an_op_returning_a_wrongly_shaped_gradient_is_named():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongShapeGrad.*shape \(\).*shape \(3,\)"):
        WrongShapeGrad()(x).backward(np.ones(3))


@pytest.mark.parametrize("depth", [5000])
def test_deep_chain_needs_no_recursion(depth):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x
    for _ in range(depth):
        y = y + 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])
    np.testing.assert_array_equal(y.numpy(), x.numpy() + depth)


def test_deep_chain_of_multiplies_has_the_right_gradient():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward(np.ones(1))
    np.testing.assert_allclose(x.grad, [1.0001 ** 5000], rtol=1e-9)


# ---- dtypes --------------------------------------------------------------------------------

def test_python_floats_become_float32_and_float64_arrays_stay():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(3.0).dtype == np.float32
    assert Tensor(np.array([1.0])).dtype == np.float64
    assert Tensor(np.float64(1.0)).dtype == np.float64
    assert Tensor(np.array([1.0], np.float16)).dtype == np.float16
    assert Tensor([1, 2]).dtype.kind == "i"
    assert Tensor([1, 2], dtype="float32").dtype == np.float32


def test_float64_graph_keeps_float64_gradients():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = ops.tanh(x * 2.0 + 1.0).sum()
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float64


def test_as_array():
    arr = np.ones(3, np.float64)
    assert as_array(arr) is arr
    assert as_array(Tensor(arr)) is arr
    assert as_array([1.5]).dtype == np.float32
    assert as_array(arr, np.float32).dtype == np.float32


# ---- operator sugar ----------------------------------------------------------------------

BINARY_OPERATORS = [operator.add, operator.sub, operator.mul, operator.truediv, operator.pow]


@pytest.mark.parametrize("other_kind", ["tensor", "ndarray", "python", "numpy scalar"])
@pytest.mark.parametrize("op", BINARY_OPERATORS, ids=lambda f: f.__name__)
def test_binary_operators_on_either_side(op, other_kind):
    a = np.abs(random_array(2, 3, seed=3)) + 0.5  # positive: a valid base and divisor
    b = np.abs(random_array(2, 3, seed=4)) + 0.5
    other = {"tensor": Tensor(b), "ndarray": b, "python": 1.5,
             "numpy scalar": np.float64(1.5)}[other_kind]
    b_value = b if other_kind in ("tensor", "ndarray") else 1.5
    for left in (True, False):
        x = Tensor(a, requires_grad=True)
        out = op(x, other) if left else op(other, x)
        assert isinstance(out, Tensor), (op, other_kind, left)
        want = op(a, b_value) if left else op(b_value, a)
        np.testing.assert_allclose(out.numpy(), want, rtol=1e-12)
        check_op(lambda t: op(t, other) if left else op(other, t), a)


@pytest.mark.parametrize("other_kind", ["tensor", "ndarray"])
def test_matmul_operator_on_either_side(other_kind):
    a, b = random_array(2, 3, seed=5), random_array(3, 2, seed=6)
    other = Tensor(b) if other_kind == "tensor" else b
    np.testing.assert_allclose((Tensor(a) @ other).numpy(), a @ b)
    np.testing.assert_allclose((other @ Tensor(a)).numpy(), b @ a)
    check_op(lambda t: t @ other, a)
    check_op(lambda t: other @ t, a)


def test_unary_operators():
    a = random_array(2, 3, seed=7)
    x = Tensor(a)
    np.testing.assert_array_equal((-x).numpy(), -a)
    np.testing.assert_array_equal(abs(x).numpy(), np.abs(a))
    assert +x is x
    check_op(lambda t: -t, a)
    check_op(abs, a)


@pytest.mark.parametrize("op", [operator.lt, operator.le, operator.gt, operator.ge],
                         ids=lambda f: f.__name__)
def test_comparisons_give_boolean_arrays(op):
    a = np.array([1.0, 2.0, 3.0])
    x = Tensor(a, requires_grad=True)
    for left, right, want in ((x, 2.0, op(a, 2.0)), (2.0, x, op(2.0, a)),
                              (x, a[::-1], op(a, a[::-1])), (x, Tensor(a), op(a, a))):
        out = op(left, right)
        assert isinstance(out, np.ndarray) and out.dtype == bool
        np.testing.assert_array_equal(out, want)


def test_tensors_hash_by_identity_and_compare_by_value():
    x, y = Tensor([1.0, 2.0]), Tensor([1.0, 3.0])
    assert len({x, y, x}) == 2  # hashing by identity: usable in sets and as dict keys
    np.testing.assert_array_equal(x == y, [True, False])  # == is elementwise, as in Keras
    np.testing.assert_array_equal(x != y, [False, True])
    np.testing.assert_array_equal(x == 1.0, [True, False])


@pytest.mark.parametrize("index", [0, -1, slice(0, 2), (1, slice(None)), (Ellipsis, 0),
                                   np.array([1, 1]), [0, 1, 0]], ids=str)
def test_indexing(index):
    a = random_array(3, 2, seed=8)
    np.testing.assert_array_equal(Tensor(a)[index].numpy(), a[index])
    check_op(lambda t: t[index], a)


def test_methods_and_properties():
    a = random_array(2, 3, seed=9)
    x = Tensor(a, requires_grad=True)
    assert (x.shape, x.ndim, x.size, len(x), x.dtype) == ((2, 3), 2, 6, 2, np.float64)
    np.testing.assert_allclose(x.exp().numpy(), np.exp(a))
    np.testing.assert_allclose(abs(x).log().numpy(), np.log(np.abs(a)))
    assert np.asarray(x) is a and x.numpy() is a
    assert np.asarray(x, dtype=np.float32).dtype == np.float32
    assert float(Tensor(2.5)) == 2.5 and int(Tensor(3)) == 3 and Tensor(1.0).item() == 1.0
    assert "requires_grad=True" in repr(x)


def test_detach_cuts_the_graph():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = (x * 2.0).detach()
    assert not d.requires_grad and d._producer is None
    (x * d).sum().backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


# ---- Variable ------------------------------------------------------------------------------

def test_variable_assign_keeps_the_array():
    v = Variable(np.zeros(2), name="bias")
    data = v.data
    v.assign([1.0, 2.0])
    v.assign_add(np.ones(2))
    v.assign_sub(np.array([0.5, 0.5]))
    assert v.data is data and v.dtype == np.float32
    np.testing.assert_allclose(v.numpy(), [1.5, 2.5])
    with pytest.raises(ValueError, match="bias"):
        v.assign(np.ones(3))


def test_variable_trainable_flag_drives_gradients():
    v = Variable(np.ones(2), name="w")
    assert v.requires_grad and v.trainable
    v.trainable = False
    assert not v.requires_grad
    assert not (v * 2.0).requires_grad
    with pytest.raises(ValueError, match="shape"):
        Variable(np.ones(3), shape=(2,), name="w")
