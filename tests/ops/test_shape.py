"""Shape ops move values without changing them: each gradient lands where its value came from."""
import numpy as np
import pytest

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor


def check_against_numpy(fn, np_fn, *arrays):
    """Forward equals NumPy's, and backward matches central differences."""
    out = fn(*[Tensor(a) for a in arrays])
    np.testing.assert_array_equal(out.numpy(), np_fn(*arrays))
    return check_op(fn, *arrays)


@pytest.mark.parametrize("shape, new_shape", [((2, 3, 4), (6, 4)), ((2, 3, 4), (-1,)),
                                              ((2, 3, 4), (4, -1)), ((2, 3, 4), -1),
                                              ((6,), (2, 1, 3)), ((1,), ())], ids=str)
def test_reshape(shape, new_shape):
    x = random_array(*shape, seed=1)
    check_against_numpy(lambda t: ops.reshape(t, new_shape), lambda a: a.reshape(new_shape), x)


def test_reshape_method_forms():
    x = random_array(2, 6, seed=2)
    t = Tensor(x)
    for out in (t.reshape(3, 4), t.reshape((3, 4)), t.reshape(-1, 4), t.reshape([3, -1])):
        np.testing.assert_array_equal(out.numpy(), x.reshape(3, 4))
    assert t.reshape(-1).shape == (12,)


@pytest.mark.parametrize("shape, axes", [((3, 4), None), ((3, 4), (1, 0)), ((3, 4), (-1, 0)),
                                         ((2, 3, 4), None), ((2, 3, 4), (1, 2, 0)),
                                         ((2, 3, 4), (-2, -1, -3)), ((2, 3, 4), (0, 1, 2))],
                         ids=str)
def test_transpose(shape, axes):
    x = random_array(*shape, seed=3)
    result = check_against_numpy(lambda t: ops.transpose(t, axes),
                                 lambda a: np.transpose(a, axes), x)
    assert result.analytic[0].shape == shape


def test_transpose_methods():
    x = random_array(2, 3, 4, seed=4)
    t = Tensor(x)
    np.testing.assert_array_equal(t.T.numpy(), x.T)
    np.testing.assert_array_equal(t.transpose().numpy(), x.transpose())
    np.testing.assert_array_equal(t.transpose(1, 2, 0).numpy(), x.transpose(1, 2, 0))
    np.testing.assert_array_equal(t.transpose((1, 2, 0)).numpy(), x.transpose((1, 2, 0)))
    check_op(lambda a: a.T, x)


def test_transpose_rejects_a_bad_axis():
    with pytest.raises(ValueError):  # NumPy's AxisError is a ValueError
        ops.transpose(Tensor(np.ones((2, 3))), (0, 5))


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, None),
    "step slice": (slice(None), slice(None, None, 2)),
    "int and slice": (0, slice(1, 3)),
    "ellipsis": (Ellipsis, 1),
    "newaxis": (None, slice(None), 2),
    "int array": np.array([2, 0]),
    "repeated ints": np.array([0, 2, 0, 0]),
    "repeated pairs": (np.array([0, 1, 0]), np.array([1, 1, 1])),
    "list": [1, 1, 2],
    "fancy on axis 1": (slice(None), np.array([3, 3, 0])),
    "2-D index array": np.array([[0, 1], [1, 1]]),
    "boolean row mask": np.array([True, False, True]),
    "boolean full mask": "mask",
}


@pytest.mark.parametrize("name", INDICES)
def test_getitem(name):
    x = random_array(3, 4, seed=5)
    index = x > 0.3 if name == "boolean full mask" else INDICES[name]
    result = check_against_numpy(lambda t: t[index], lambda a: a[index], x)
    assert result.analytic[0].shape == x.shape


def test_getitem_repeated_indices_accumulate():
    x = Tensor(np.zeros(4), requires_grad=True)
    ops.getitem(x, np.array([1, 1, 3, 1])).backward(np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [0.0, 7.0, 0.0, 3.0])


def test_getitem_with_comparison_mask_from_tensor():
    x = Tensor(np.array([-1.0, 2.0, -3.0, 4.0]), requires_grad=True)
    y = x[x > 0]  # comparisons give boolean arrays, which index
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 0.0, 1.0])


@pytest.mark.parametrize("shapes, axis", [(((2, 3), (4, 3)), 0), (((2, 3), (2, 1), (2, 2)), 1),
                                          (((2, 3), (2, 5)), -1), (((2, 2, 3), (2, 1, 3)), 1),
                                          (((3,),), 0)], ids=str)
def test_concatenate(shapes, axis):
    arrays = [random_array(*s, seed=i) for i, s in enumerate(shapes)]
    result = check_against_numpy(lambda *ts: ops.concatenate(ts, axis=axis),
                                 lambda *a: np.concatenate(a, axis=axis), *arrays)
    assert [g.shape for g in result.analytic] == [a.shape for a in arrays]


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_stack(axis):
    arrays = [random_array(2, 3, seed=i) for i in range(3)]
    check_against_numpy(lambda *ts: ops.stack(ts, axis=axis),
                        lambda *a: np.stack(a, axis=axis), *arrays)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -3])
def test_expand_dims(axis):
    x = random_array(2, 3, seed=6)
    check_against_numpy(lambda t: ops.expand_dims(t, axis), lambda a: np.expand_dims(a, axis), x)


@pytest.mark.parametrize("axis", [None, 0, 2, -1, (0, 2)], ids=str)
def test_squeeze(axis):
    x = random_array(1, 3, 1, seed=7)
    check_against_numpy(lambda t: ops.squeeze(t, axis), lambda a: np.squeeze(a, axis), x)


@pytest.mark.parametrize("shape, target", [((3,), (2, 3)), ((2, 1), (2, 4)), ((), (3, 2)),
                                           ((1, 3, 1), (2, 3, 4))], ids=str)
def test_broadcast_to(shape, target):
    x = random_array(*shape, seed=8)
    result = check_against_numpy(lambda t: ops.broadcast_to(t, target),
                                 lambda a: np.broadcast_to(a, target), x)
    assert result.analytic[0].shape == shape


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 4), (3, 1, 2, 2)], ids=str)
def test_flatten_keeps_the_batch_axis(shape):
    x = random_array(*shape, seed=9)
    check_against_numpy(ops.flatten, lambda a: a.reshape(a.shape[0], -1), x)
