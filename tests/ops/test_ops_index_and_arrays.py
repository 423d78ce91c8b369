"""``keras.ops`` array builders (meshgrid, tri, kron, cumprod) and index ops (scatter,
scatter_update, segment_sum, segment_max, bincount, searchsorted): values against NumPy and
PyTorch, gradients against central differences in float64, Keras's dtypes and errors."""
import numpy as np
import pytest
import torch

from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

A = random_array(3, 4, seed=1)
B = random_array(2, 3, seed=2)
V = random_array(5, seed=3)


def grad_of(fn, *arrays):
    """The gradients of sum(fn(...)) for each input (float64), by backpropagation."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    ops.sum(out).backward()
    return [t.grad for t in tensors]


# ---- meshgrid, tri -----------------------------------------------------------------------
@pytest.mark.parametrize("indexing", ["xy", "ij"])
def test_meshgrid_matches_numpy_and_torch(indexing):
    x, y, z = np.arange(3), np.arange(4) * 10, np.arange(2) * 100
    for vectors in [(x,), (x, y), (x, y, z)]:
        got = ops.meshgrid(*vectors, indexing=indexing)
        expected = np.meshgrid(*vectors, indexing=indexing)
        reference = torch.meshgrid(*[torch.tensor(v) for v in vectors], indexing=indexing)
        assert len(got) == len(vectors)
        for g, e, r in zip(got, expected, reference):
            np.testing.assert_array_equal(np.asarray(g), e)
            np.testing.assert_array_equal(np.asarray(g), r.numpy())
    assert ops.meshgrid(np.arange(3, dtype="int16"), [1.0])[0].dtype == np.int16
    assert ops.meshgrid([1, 2], [1.0])[1].dtype == np.float32


def test_meshgrid_gradient_and_bad_indexing():
    check_op(lambda a, b: ops.meshgrid(a, b)[0] * ops.meshgrid(a, b)[1], V, V[:3])
    check_op(lambda a, b: ops.meshgrid(a, b, indexing="ij")[1], V, V[:3])
    with pytest.raises(ValueError, match="meshgrid.*indexing='ab'"):
        ops.meshgrid(V, V, indexing="ab")


def test_tri():
    for args in [(3,), (3, 5), (4, 2, -1), (3, 4, 2)]:
        np.testing.assert_array_equal(np.asarray(ops.tri(*args)), np.tri(*args))
    assert ops.tri(3).dtype == np.float32
    assert ops.tri(3, dtype="int32").dtype == np.int32
    assert ops.tri(2, M=3, k=1, dtype="bool").numpy().tolist() == [[True, True, False],
                                                                   [True, True, True]]


# ---- kron --------------------------------------------------------------------------------
@pytest.mark.parametrize("a_shape,b_shape", [((3,), (2,)), ((2, 3), (3, 2)), ((2, 3), (4,)),
                                             ((3,), (2, 2)), ((2, 1, 3), (2, 2, 1))])
def test_kron_matches_numpy_torch_and_gradient(a_shape, b_shape):
    a, b = random_array(*a_shape, seed=4), random_array(*b_shape, seed=5)
    got = np.asarray(ops.kron(a, b))
    np.testing.assert_allclose(got, np.kron(a, b))
    np.testing.assert_allclose(got, torch.kron(torch.tensor(a), torch.tensor(b)).numpy())
    check_op(lambda x, y: ops.kron(x, y), a, b)


def test_kron_dtypes():
    assert ops.kron([1, 2], [3, 4]).dtype == np.int32
    assert ops.kron([1, 2], np.array([3.0], "float32")).dtype == np.float32


# ---- cumprod -----------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_cumprod_matches_numpy_torch_and_gradient(axis):
    np.testing.assert_allclose(np.asarray(ops.cumprod(A, axis=axis)), np.cumprod(A, axis=axis))
    if axis is not None:
        reference = torch.cumprod(torch.tensor(A), dim=axis).numpy()
        np.testing.assert_allclose(np.asarray(ops.cumprod(A, axis=axis)), reference)
    check_op(lambda x: ops.cumprod(x, axis=axis), A)


def test_cumprod_gradient_with_zeros_matches_torch():
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.5, -2.0, 0.5, 4.0, 0.0],
                  [0.0, 2.0, 3.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0]])
    weights = random_array(4, 5, seed=6)
    got = grad_of(lambda t: ops.cumprod(t, axis=1) * weights, x)[0]
    reference = torch.tensor(x, requires_grad=True)
    (torch.cumprod(reference, dim=1) * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(got, reference.grad.numpy(), rtol=1e-12, atol=1e-12)
    check_op(lambda t: ops.cumprod(t, axis=1), x)  # zeros are smooth points of a product


def test_cumprod_dtypes():
    assert ops.cumprod(np.array([1, 2, 3], "int32")).dtype == np.int32
    assert ops.cumprod([True, False]).dtype == np.int32
    assert ops.cumprod([1, 2], dtype="float32").dtype == np.float32
    assert ops.cumprod([1.0, 2.0]).dtype == np.float32


# ---- scatter, scatter_update -------------------------------------------------------------
def test_scatter_keras_example_and_duplicates_add():
    out = ops.scatter([[0, 1], [1, 1]], np.array([1.0, 1.0]), shape=(2, 2))
    np.testing.assert_array_equal(np.asarray(out), [[0.0, 1.0], [0.0, 1.0]])
    out = ops.scatter([[1], [1], [3]], np.array([1.0, 2.0, 5.0], "float32"), shape=(4,))
    np.testing.assert_array_equal(np.asarray(out), [0.0, 3.0, 0.0, 5.0])
    assert out.dtype == np.float32
    assert ops.scatter([[0]], [7], (2,)).dtype == np.int32


def test_scatter_slices_and_gradient():
    indices = np.array([[1, 0], [2, 3], [1, 0]])           # repeated (1, 0): values add
    values = random_array(3, 5, seed=7)
    expected = np.zeros((3, 4, 5))
    np.add.at(expected, tuple(indices.T), values)
    np.testing.assert_allclose(np.asarray(ops.scatter(indices, values, (3, 4, 5))), expected)
    check_op(lambda v: ops.scatter(indices, v, (3, 4, 5)), values)
    batched = indices.reshape(3, 1, 2)                      # indices (..., k), values (...)
    np.testing.assert_allclose(
        np.asarray(ops.scatter(batched, values.reshape(3, 1, 5), (3, 4, 5))), expected)
    check_op(lambda v: ops.scatter(batched, v, (3, 4, 5)), values.reshape(3, 1, 5))


def test_scatter_update_values_and_gradients():
    inputs = random_array(4, 3, seed=8)
    indices = [[1, 2], [3, 0]]
    updates = np.array([10.0, 20.0])
    expected = inputs.copy()
    expected[1, 2], expected[3, 0] = 10.0, 20.0
    np.testing.assert_allclose(np.asarray(ops.scatter_update(inputs, indices, updates)),
                               expected)
    check_op(lambda x, u: ops.scatter_update(x, indices, u), inputs, updates)
    rows = random_array(2, 3, seed=9)                       # k < ndim: whole rows
    expected = inputs.copy()
    expected[[2, 0]] = rows
    np.testing.assert_allclose(np.asarray(ops.scatter_update(inputs, [[2], [0]], rows)),
                               expected)
    check_op(lambda x, u: ops.scatter_update(x, [[2], [0]], u), inputs, rows)
    grad_x, grad_u = grad_of(lambda x, u: ops.scatter_update(x, [[2], [0]], u), inputs, rows)
    np.testing.assert_array_equal(grad_x[[0, 2]], 0)
    np.testing.assert_array_equal(grad_u, 1)


def test_scatter_update_duplicates_last_wins_and_add():
    x = np.zeros(4)
    out = ops.scatter_update(x, [[0], [0], [1]], np.array([1.0, 2.0, 3.0]))
    np.testing.assert_array_equal(np.asarray(out), [2.0, 3.0, 0.0, 0.0])
    _, grad_u = grad_of(lambda a, u: ops.scatter_update(a, [[0], [0], [1]], u), x,
                        [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grad_u, [0.0, 1.0, 1.0])  # the overwritten one gets 0
    out = ops.scatter_update(x, [[0], [0], [1]], np.array([1.0, 1.0, 1.0]), reduction="add")
    np.testing.assert_array_equal(np.asarray(out), [2.0, 1.0, 0.0, 0.0])  # Keras's example
    check_op(lambda a, u: ops.scatter_update(a, [[0], [0], [1]], u, reduction="add"),
             random_array(4, seed=10), random_array(3, seed=11))
    assert ops.scatter_update(np.zeros(2, "float32"), [[0]], [1.0]).dtype == np.float32
    with pytest.raises(NotImplementedError, match="scatter_update.*reduction='max'"):
        ops.scatter_update(x, [[0]], [1.0], reduction="max")


def test_scatter_errors_name_the_op_and_values():
    with pytest.raises(ValueError, match=r"scatter: index \[5\] is out of range for shape"):
        ops.scatter([[5]], [1.0], (3,))
    with pytest.raises(ValueError, match=r"scatter_update:.*must have shape \(2,\)"):
        ops.scatter_update(np.zeros(3), [[0], [1]], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"scatter: each index has 3 entries"):
        ops.scatter([[0, 0, 0]], [1.0], (2, 2))
    with pytest.raises(ValueError, match=r"scatter:.*integers.*float"):
        ops.scatter([[0.5]], [1.0], (2,))


# ---- segment_sum, segment_max ------------------------------------------------------------
def _segment_reference(data, ids, n, fn, empty):
    return np.stack([fn(data[ids == s], axis=0) if (ids == s).any()
                     else np.full(data.shape[1:], empty) for s in range(n)])


def test_segment_keras_examples_and_dtypes():
    data, ids = [1, 2, 10, 20, 100, 200], [0, 0, 1, 1, 2, 2]
    out = ops.segment_sum(data, ids, 3)
    assert out.numpy().tolist() == [3, 30, 300] and out.dtype == np.int32
    out = ops.segment_max(data, ids, 3)
    assert out.numpy().tolist() == [2, 20, 200] and out.dtype == np.int32
    assert ops.segment_max(np.array([1.0], "float32"), [0]).dtype == np.float32


@pytest.mark.parametrize("sorted_", [False, True])
def test_segment_sum_values_and_gradient(sorted_):
    ids = np.array([0, 0, 1, 3, 3, 3]) if sorted_ else np.array([3, 0, 1, 0, 3, -1])
    data = random_array(6, 2, seed=12)
    kept = ids >= 0
    expected = _segment_reference(data[kept], ids[kept], 5, np.sum, 0.0)
    got = ops.segment_sum(data, ids, num_segments=5, sorted=sorted_)
    np.testing.assert_allclose(np.asarray(got), expected)
    assert ops.segment_sum(data, ids).shape == (4, 2)       # inferred: max id + 1
    check_op(lambda d: ops.segment_sum(d, ids, num_segments=5), data)
    reference = torch.zeros(5, 2, dtype=torch.float64).index_add_(
        0, torch.tensor(ids[kept]), torch.tensor(data[kept]))
    np.testing.assert_allclose(np.asarray(got), reference.numpy())


def test_segment_max_values_gradient_and_ties():
    ids = np.array([2, 0, 2, 0, 2])
    data = random_array(5, 3, seed=13)
    expected = _segment_reference(data, ids, 4, np.max, -np.inf)
    got = ops.segment_max(data, ids, num_segments=4)
    np.testing.assert_allclose(np.asarray(got), expected)   # segments 1 and 3: -inf
    check_op(lambda d: ops.segment_max(d, ids, num_segments=3)[0::2], data)  # not empty 1
    # Ties split the gradient evenly, as JAX's and TensorFlow's segment_max do.
    tied = np.array([3.0, 1.0, 3.0, 5.0])
    grad = grad_of(lambda d: ops.segment_max(d, [0, 0, 0, 1]), tied)[0]
    np.testing.assert_allclose(grad, [0.5, 0.0, 0.5, 1.0])
    assert ops.segment_max(np.array([1, 2], "int32"), [0, 0], 2).numpy()[1] == \
        np.iinfo(np.int32).min


def test_segment_errors_name_the_op_and_values():
    with pytest.raises(ValueError, match=r"segment_sum: segment id 3 is out of range for "
                                         r"num_segments=2"):
        ops.segment_sum(V[:3], [0, 1, 3], num_segments=2)
    with pytest.raises(ValueError, match=r"segment_max: segment_ids and data must have the "
                                         r"same leading dimension.*\(2,\).*\(5,\)"):
        ops.segment_max(V, [0, 1])
    with pytest.raises(ValueError, match=r"segment_sum: segment_ids must be a 1-D integer"):
        ops.segment_sum(A, [[0, 1, 2, 3]] * 3)


# ---- bincount, searchsorted --------------------------------------------------------------
def test_bincount_matches_numpy_and_torch():
    x = np.array([1, 2, 2, 3, 7, 0], "int32")
    w = np.array([0.5, 1.0, 1.0, 1.5, 2.0, 3.0], "float32")
    for weights, minlength in [(None, 0), (None, 10), (w, 0), (w, 12)]:
        got = ops.bincount(x, weights=weights, minlength=minlength)
        expected = np.bincount(x, weights, minlength)
        tw = None if weights is None else torch.tensor(weights)
        reference = torch.bincount(torch.tensor(x), weights=tw, minlength=minlength)
        np.testing.assert_allclose(np.asarray(got), expected)
        np.testing.assert_allclose(np.asarray(got), reference.numpy())
        assert got.dtype == (np.int32 if weights is None else np.float32)
    assert ops.bincount(np.array([1, 2, 2, 3], "uint8")).numpy().tolist() == [0, 1, 2, 1]
    batched = ops.bincount([[0, 1, 1], [2, 2, 2]], minlength=4)
    assert batched.numpy().tolist() == [[1, 2, 0, 0], [0, 0, 3, 0]]


def test_bincount_errors():
    with pytest.raises(ValueError, match="bincount: sparse=True is not supported"):
        ops.bincount([1, 2], sparse=True)
    with pytest.raises(ValueError, match=r"bincount: x must be non-negative.*-1"):
        ops.bincount([1, -1])
    with pytest.raises(ValueError, match=r"bincount: weights must have x's shape \(2,\)"):
        ops.bincount([1, 2], weights=[1.0])
    with pytest.raises(ValueError, match="bincount: x must be a 1-D or 2-D integer"):
        ops.bincount([1.5, 2.0])


@pytest.mark.parametrize("side", ["left", "right"])
def test_searchsorted_matches_numpy_and_torch(side):
    sequence = np.array([1.0, 3.0, 3.0, 5.0, 8.0], "float32")
    values = np.array([[0.0, 3.0, 4.0], [5.0, 8.0, 9.0]], "float32")
    got = ops.searchsorted(sequence, values, side=side)
    np.testing.assert_array_equal(np.asarray(got), np.searchsorted(sequence, values, side))
    reference = torch.searchsorted(torch.tensor(sequence), torch.tensor(values), side=side)
    np.testing.assert_array_equal(np.asarray(got), reference.numpy())
    assert got.dtype == np.int32 and got.shape == values.shape


def test_searchsorted_errors():
    with pytest.raises(ValueError, match="searchsorted: sorted_sequence must be 1-D.*"
                                         r"\(2, 2\)"):
        ops.searchsorted([[1, 2], [3, 4]], [1])
    with pytest.raises(ValueError, match="searchsorted: side must be.*side='middle'"):
        ops.searchsorted([1, 2], [1], side="middle")


def test_new_ops_are_in_the_public_list():
    for name in ["meshgrid", "tri", "cumprod", "kron", "bincount", "searchsorted",
                 "segment_sum", "segment_max", "scatter", "scatter_update"]:
        assert name in ops.__all__ and callable(getattr(ops, name))


def test_tensor_indices_and_ids_are_accepted():
    ids = ops.convert_to_tensor([1, 0, 1])
    np.testing.assert_allclose(np.asarray(ops.segment_sum(V[:3], ids)), [V[1], V[0] + V[2]])
    out = ops.scatter(ops.convert_to_tensor([[1]]), ops.convert_to_tensor([2.0]), (2,))
    assert out.numpy().tolist() == [0.0, 2.0]
