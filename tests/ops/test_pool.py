"""max_pool2d, avg_pool2d and pad: gradients, the slow twin, PyTorch parity.

Tolerances:
- gradients vs float64 central differences: ``check_op``'s rtol=1e-4, atol=1e-6 (random
  inputs have no ties, so max pooling is differentiable at them);
- forward vs ``conv_reference.pool2d_reference`` (float64): rtol=1e-12, atol=1e-12;
- PyTorch CPU parity in float64, forward and input gradient: rtol=1e-10, atol=1e-12; max
  pooling is exact (it copies values), so its forward is compared bit for bit.

PyTorch pads symmetrically; TF's 'same' is emulated with an explicit asymmetric ``F.pad``
(-inf for max pooling; for average pooling, zeros and a division by the count of image
values that torch itself computes by pooling ones).
"""
import numpy as np
import pytest

from conv_reference import pool2d_reference, same_padding
from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

# x shape, pool size, strides (None: the pool size), padding
CASES = [
    ((2, 4, 4, 2), 2, None, "valid"),
    ((2, 5, 5, 2), 2, None, "valid"),             # odd size: the last row/column dropped
    ((2, 5, 5, 2), 2, None, "same"),              # ... or padded after
    ((2, 5, 6, 2), 3, 1, "same"),                 # overlapping windows
    ((2, 6, 7, 1), (3, 2), (2, 1), "same"),
    ((2, 7, 6, 2), 3, 2, "valid"),
    ((1, 6, 6, 3), (2, 3), 2, "same"),
    ((2, 4, 5, 2), 4, 3, "same"),
]
IDS = [f"{x}-p{p}-s{s}-{pad}" for x, p, s, pad in CASES]
POOLS = {"max": ops.max_pool2d, "avg": ops.avg_pool2d}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, pool_size, strides, padding", CASES, ids=IDS)
def test_pool_matches_reference_and_gradients(x_shape, pool_size, strides, padding, kind,
                                              kernels_path):
    x = random_array(*x_shape, seed=1)
    pool = POOLS[kind]
    out = pool(x, pool_size, strides, padding).numpy()
    expected = pool2d_reference(x, pool_size, strides, padding, kind)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    check_op(lambda a: pool(a, pool_size, strides, padding), x)


def test_max_pool_ties_send_the_gradient_to_one_position(kernels_path):
    """Like TF and PyTorch: the first maximum of the window (row-major) takes it all."""
    x = Tensor(np.zeros((1, 4, 4, 1)), requires_grad=True)
    ops.max_pool2d(x, 2).backward(np.ones((1, 2, 2, 1)))
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0
    np.testing.assert_array_equal(x.grad[0, :, :, 0], expected)


def numpy_and_compiled(x, pool_size, strides=None, padding="valid"):
    """Max pooling's output and input gradient (for output gradients 0, 1, 2, ...) from the
    NumPy code and from the compiled loops: [(out, grad), (out, grad)]."""
    pytest.importorskip("numba")
    from neuropil.ops import accel

    results = []
    for enabled in (False, True):
        accel.set_enabled(enabled)
        try:
            t = Tensor(x, requires_grad=True)
            out = ops.max_pool2d(t, pool_size, strides, padding)
            out.backward(np.arange(out.size, dtype=x.dtype).reshape(out.shape))
            results.append((out.numpy(), t.grad))
        finally:
            accel.set_enabled(None)
    return results


def relu_like(shape, dtype, seed):
    """Half zeros, the rest multiples of 0.5: many ties in every window."""
    rng = np.random.default_rng(seed)
    return np.maximum(np.round(rng.standard_normal(shape) * 2) / 2, 0).astype(dtype)


@pytest.mark.parametrize("x_shape, pool_size, strides, padding", [
    ((8, 28, 28, 6), 2, None, "valid"), ((4, 9, 9, 3), 3, 2, "same"),
    ((4, 7, 7, 2), 3, 1, "valid"), ((4, 5, 5, 2), 2, None, "same")])
def test_max_pool_float32_compiled_equals_numpy(x_shape, pool_size, strides, padding):
    """The compiled pooling against the NumPy one, bit for bit, on relu-like float32 data
    with many ties (zeros, and repeated positive values)."""
    x = relu_like(x_shape, np.float32, seed=5)
    (out, grad), (c_out, c_grad) = numpy_and_compiled(x, pool_size, strides, padding)
    np.testing.assert_array_equal(c_out, out)
    np.testing.assert_array_equal(c_grad, grad)
    assert c_grad.dtype == np.float32


# The 2x2 kernels treat channel counts differently (1; up to 16 in runs of 16 lanes; more);
# odd heights and widths leave a row and a column no window covers.
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape", [(3, 7, 9, 1), (2, 6, 5, 3), (4, 28, 28, 6), (2, 9, 8, 8),
                                     (2, 5, 7, 12), (2, 11, 10, 16), (1, 4, 6, 33)], ids=str)
def test_max_pool_2x2_compiled_equals_numpy(x_shape, dtype):
    x = relu_like(x_shape, dtype, seed=6)
    (out, grad), (c_out, c_grad) = numpy_and_compiled(x, 2)
    np.testing.assert_array_equal(c_out, out)
    np.testing.assert_array_equal(c_grad, grad)
    assert c_out.dtype == c_grad.dtype == dtype


@pytest.mark.parametrize("channels", [1, 6, 16])
def test_max_pool_2x2_compiled_passes_nan_and_inf_on_like_numpy(channels):
    """Forward only: where a window holds a NaN, NumPy routes no gradient (NaN != NaN)."""
    x = relu_like((2, 9, 8, channels), np.float32, seed=7)
    spots = np.random.default_rng(8).random(x.shape)
    x[spots < 0.05], x[spots > 0.95] = np.nan, -np.inf
    (out, _), (c_out, _) = numpy_and_compiled(x, 2)
    np.testing.assert_array_equal(c_out, out)  # NaNs in the same places
    assert np.isnan(out).any()


@pytest.mark.parametrize("channels", [1, 3, 6, 16])
def test_max_pool_2x2_kernels_stay_inside_their_chunk(channels):
    """The worker threads pool chunks of one batch: a kernel's wide runs must not reach the
    neighbouring images in ``out``, ``arg`` or ``gx``."""
    kernels = pytest.importorskip("neuropil.ops.pool_kernels")
    x = relu_like((3, 5, 7, channels), np.float32, seed=9)
    out = np.full((3, 2, 3, channels), 7, np.float32)
    arg = np.full(out.shape, 9, np.uint8)
    kernels.max_pool_2x2_forward(x[1:2], out[1:2], arg[1:2])
    assert (out[::2] == 7).all() and (arg[::2] == 9).all()
    np.testing.assert_array_equal(out[1], ops.max_pool2d(x[1:2], 2).numpy()[0])
    gx = np.full(x.shape, 5, np.float32)
    kernels.max_pool_2x2_backward(out[1:2], arg[1:2], gx[1:2])
    assert (gx[::2] == 5).all()
    assert np.count_nonzero(gx[1]) == np.count_nonzero(out[1])  # one position per window


@pytest.mark.parametrize("pool_size, strides", [(2, None), (3, 2)])
def test_max_pool_passes_a_nan_on_like_np_maximum(pool_size, strides, kernels_path):
    x = np.arange(36.0).reshape(1, 6, 6, 1)
    x[0, 1, 1, 0] = np.nan
    out = ops.max_pool2d(x, pool_size, strides).numpy()[0, :, :, 0]
    assert np.isnan(out[0, 0]) and np.isfinite(out.ravel()[1:]).all()


def test_avg_pool_same_averages_only_the_image():
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)
    out = ops.avg_pool2d(x, 2, 2, "same").numpy()[0, :, :, 0]  # windows 2x2, 2x1, 1x2, 1x1
    np.testing.assert_allclose(out, [[(1 + 2 + 4 + 5) / 4, (3 + 6) / 2], [(7 + 8) / 2, 9]])


def test_pool_keeps_float32_and_errors_are_clear():
    x = np.ones((2, 4, 4, 3), np.float32)
    assert ops.max_pool2d(x, 2).dtype == ops.avg_pool2d(x, 2).dtype == np.float32
    with pytest.raises(ValueError, match="does not fit"):
        ops.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="padding"):
        ops.avg_pool2d(x, 2, padding="full")
    with pytest.raises(ValueError, match="height, width"):
        ops.max_pool2d(np.ones((4, 4, 3)), 2)


# ---- pad ---------------------------------------------------------------------------------
@pytest.mark.parametrize("pad_width, constant", [
    (((0, 0), (1, 2), (2, 0), (0, 0)), 0.0),
    (1, 0.5),
    ((1, 2), -3.0),
])
def test_pad_forward_and_gradient(pad_width, constant):
    x = random_array(2, 3, 2, 2, seed=2)
    np.testing.assert_array_equal(ops.pad(x, pad_width, constant_values=constant).numpy(),
                                  np.pad(x, pad_width, constant_values=constant))
    check_op(lambda a: ops.pad(a, pad_width, constant_values=constant), x)


def test_pad_rejects_negative_widths():
    with pytest.raises(ValueError, match=">= 0"):
        ops.pad(np.ones((2, 2)), ((1, -1), (0, 0)))


# ---- PyTorch parity ----------------------------------------------------------------------
def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_pool(torch, kind, tx, x_shape, pool_size, strides, padding):
    F = torch.nn.functional
    pool_size = pair(pool_size)
    strides = pool_size if strides is None else pair(strides)
    x = tx.permute(0, 3, 1, 2)
    pads = (0, 0, 0, 0)
    if padding == "same":
        (top, bottom), (left, right) = [same_padding(n, k, s) for n, k, s in
                                        zip(x_shape[1:3], pool_size, strides)]
        pads = (left, right, top, bottom)
    if kind == "max":
        out = F.max_pool2d(F.pad(x, pads, value=-np.inf), pool_size, strides)
    else:
        total = F.avg_pool2d(F.pad(x, pads), pool_size, strides, divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(x), pads), pool_size, strides,
                             divisor_override=1)
        out = total / count
    return out.permute(0, 2, 3, 1)


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("x_shape, pool_size, strides, padding", CASES, ids=IDS)
def test_pool_parity_with_torch(x_shape, pool_size, strides, padding, kind):
    torch = pytest.importorskip("torch")
    x = random_array(*x_shape, seed=3)
    ours_x = Tensor(x, requires_grad=True)
    out = POOLS[kind](ours_x, pool_size, strides, padding)
    weights = random_array(*out.shape, seed=4)
    out.backward(weights)

    tx = torch.tensor(x, requires_grad=True)
    t_out = torch_pool(torch, kind, tx, x_shape, pool_size, strides, padding)
    (t_out * torch.tensor(weights)).sum().backward()
    if kind == "max":
        np.testing.assert_array_equal(out.numpy(), t_out.detach().numpy())
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours_x.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_max_pool_ties_match_torch():
    torch = pytest.importorskip("torch")
    x = np.round(random_array(2, 6, 6, 2, seed=5))  # few distinct values: many ties
    ours = Tensor(x, requires_grad=True)
    ops.max_pool2d(ours, 3, 1).backward(np.ones((2, 4, 4, 2)))
    tx = torch.tensor(x, requires_grad=True)
    torch_pool(torch, "max", tx, x.shape, 3, 1, "valid").sum().backward()
    np.testing.assert_array_equal(ours.grad, tx.grad.numpy())
