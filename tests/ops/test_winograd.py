"""Winograd F(4x4, 3x3) convolutions (``ops/winograd.py``) against the im2col path.

With numba, a 3x3 stride-1 convolution of 8 or more input channels runs through the
Winograd transforms; with ``accel`` switched off the same call runs im2col + GEMM, the
reference. Both must give the same output and gradients (input, kernel, bias, with the
fused relu), for odd and even sizes (a last tile half outside the image), both paddings,
float64 to rounding and float32 to ~1e-5 of the values' scale.
"""
import numpy as np
import pytest

from conv_reference import conv2d_reference
from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor
from neuropil.ops import accel, winograd
from neuropil.ops.conv import Conv2D
from neuropil.ops.window import SlidingWindow

pytest.importorskip("numba")

# Sizes that are and are not multiples of the 4x4 tile, one smaller than a tile.
SHAPES = [(2, 8, 8, 8, 4), (3, 7, 5, 9, 3), (1, 3, 3, 8, 2), (2, 4, 9, 16, 5),
          (5, 12, 11, 10, 7), (2, 6, 10, 8, 3)]


def conv_and_grads(x, kernel, bias, padding, relu, compiled: bool):
    """Output and the gradients of sum(output · weights), on one path."""
    accel.set_enabled(compiled)
    try:
        xs, ks = Tensor(x, requires_grad=True), Tensor(kernel, requires_grad=True)
        bs = None if bias is None else Tensor(bias, requires_grad=True)
        y = ops.conv2d(xs, ks, 1, padding, bias=bs, relu=relu)
        weights = np.cos(np.arange(y.size)).reshape(y.shape).astype(x.dtype)
        (y * Tensor(weights)).sum().backward()
        return [y.numpy(), xs.grad, ks.grad] + ([] if bs is None else [bs.grad])
    finally:
        accel.set_enabled(None)


def test_winograd_is_used_where_it_applies():
    window = SlidingWindow((8, 8), (3, 3), (1, 1), (1, 1), "same")
    assert winograd.applies(window, (3, 3, 8, 4))
    assert not winograd.applies(window, (3, 3, 3, 4))  # few channels: im2col
    assert not winograd.applies(SlidingWindow((8, 8), (3, 3), (2, 2), (1, 1), "same"),
                                (3, 3, 8, 4))
    assert not winograd.applies(SlidingWindow((8, 8), (5, 5), (1, 1), (1, 1), "same"),
                                (5, 5, 8, 4))
    assert not winograd.applies(SlidingWindow((8, 8), (3, 3), (1, 1), (2, 2), "same"),
                                (3, 3, 8, 4))
    # ... and the convolution op takes that path (it keeps the transformed kernel)
    x = random_array(2, 8, 8, 8, seed=18).astype(np.float32)
    kernel = random_array(3, 3, 8, 4, seed=19).astype(np.float32)
    for channels, expected in ((8, True), (3, False)):
        op = Conv2D(1, "same", 1)
        op(Tensor(x[..., :channels]), Tensor(kernel[:, :, :channels]))
        assert (op.u is not None) is expected


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("shape", SHAPES, ids=[str(s) for s in SHAPES])
def test_winograd_equals_im2col_float64(shape, padding, relu):
    n, h, w, c, o = shape
    x, kernel = random_array(n, h, w, c, seed=1), random_array(3, 3, c, o, seed=2)
    bias = random_array(o, seed=3)
    ours = conv_and_grads(x, kernel, bias, padding, relu, compiled=True)
    reference = conv_and_grads(x, kernel, bias, padding, relu, compiled=False)
    for got, want in zip(ours, reference):
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("shape", SHAPES[:4], ids=[str(s) for s in SHAPES[:4]])
def test_winograd_float32_close_to_im2col(shape):
    n, h, w, c, o = shape
    x = random_array(n, h, w, c, seed=4).astype(np.float32)
    kernel = random_array(3, 3, c, o, seed=5).astype(np.float32)
    bias = random_array(o, seed=6).astype(np.float32)
    ours = conv_and_grads(x, kernel, bias, "same", True, compiled=True)
    reference = conv_and_grads(x, kernel, bias, "same", True, compiled=False)
    for got, want in zip(ours, reference):
        assert got.dtype == np.float32
        scale = np.abs(want).max()
        assert np.abs(got - want).max() <= 3e-5 * scale, np.abs(got - want).max() / scale


def test_winograd_matches_the_loop_reference_without_bias():
    x, kernel = random_array(2, 6, 7, 8, seed=7), random_array(3, 3, 8, 3, seed=8)
    accel.set_enabled(True)
    try:
        for padding in ("same", "valid"):
            out = ops.conv2d(Tensor(x), Tensor(kernel), 1, padding).numpy()
            np.testing.assert_allclose(out, conv2d_reference(x, kernel, 1, padding, 1),
                                       rtol=1e-11, atol=1e-11)
    finally:
        accel.set_enabled(None)


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_winograd_gradients_match_central_differences(padding):
    x, kernel = random_array(2, 5, 6, 8, seed=9), random_array(3, 3, 8, 2, seed=10)
    bias = random_array(2, seed=11)
    accel.set_enabled(True)
    try:
        check_op(lambda a, k, b: ops.conv2d(a, k, 1, padding, bias=b, relu=True), x, kernel,
                 bias)
    finally:
        accel.set_enabled(None)


@pytest.mark.parametrize("frozen", ["kernel", "input"])
def test_winograd_with_a_frozen_kernel_or_input(frozen):
    """Only the gradients asked for are computed, equal to im2col's."""
    x, kernel = random_array(2, 6, 6, 8, seed=14), random_array(3, 3, 8, 2, seed=12)
    bias = random_array(2, seed=13)

    def grads(compiled):
        accel.set_enabled(compiled)
        try:
            xs = Tensor(x, requires_grad=frozen != "input")
            ks = Tensor(kernel, requires_grad=frozen != "kernel")
            ops.conv2d(xs, ks, padding="same", bias=Tensor(bias), relu=True).sum().backward()
            return xs.grad, ks.grad
        finally:
            accel.set_enabled(None)

    (gx, gk), (gx_ref, gk_ref) = grads(True), grads(False)
    assert (gx is None) == (frozen == "input") and (gk is None) == (frozen == "kernel")
    for got, want in ((gx, gx_ref), (gk, gk_ref)):
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-11)


def test_winograd_empty_batch():
    """0 images give 0 images and zero kernel and bias gradients."""
    kernel, bias = random_array(3, 3, 8, 2, seed=12), random_array(2, seed=13)
    accel.set_enabled(True)
    try:
        empty = Tensor(np.zeros((0, 6, 6, 8)), requires_grad=True)
        ks, bs = Tensor(kernel, requires_grad=True), Tensor(bias, requires_grad=True)
        y = ops.conv2d(empty, ks, padding="same", bias=bs, relu=True)
        assert y.shape == (0, 6, 6, 2)
        y.sum().backward()
        assert empty.grad.shape == (0, 6, 6, 8)
        assert not ks.grad.any() and not bs.grad.any()
    finally:
        accel.set_enabled(None)


def test_winograd_kernel_transform_and_its_gradient_are_adjoint():
    """<U(g), dU> = <g, Gᵀ dU G>: kernel_gradient is the transpose of transform_kernel."""
    rng = np.random.default_rng(15)
    g, du = rng.standard_normal((3, 3, 4, 5)), rng.standard_normal((36, 4, 5))
    lhs = np.sum(winograd.transform_kernel(g) * du)
    rhs = np.sum(g * winograd.kernel_gradient(du))
    assert abs(lhs - rhs) < 1e-10 * abs(lhs)


def test_half_precision_stays_with_im2col():
    """numba has no float16 arithmetic: such convolutions keep the NumPy path."""
    window = SlidingWindow((8, 8), (3, 3), (1, 1), (1, 1), "same")
    assert not winograd.applies(window, (3, 3, 8, 4), np.float16)
    x = random_array(2, 8, 8, 8, seed=16).astype(np.float16)
    kernel = random_array(3, 3, 8, 4, seed=17).astype(np.float16)
    out = ops.conv2d(Tensor(x), Tensor(kernel), padding="same").numpy()
    assert out.dtype == np.float16
    expected = conv2d_reference(x.astype(np.float64), kernel.astype(np.float64), 1, "same", 1)
    np.testing.assert_allclose(out, expected, rtol=2e-2, atol=5e-2)
