"""conv2d, depthwise_conv2d and conv2d_transpose: gradients, slow twins, PyTorch parity.

Tolerances:
- gradients vs float64 central differences: ``check_op``'s rtol=1e-4, atol=1e-6;
- forward vs the loop-by-loop references in ``conv_reference.py`` (float64): rtol=1e-10,
  atol=1e-12 (the same sums in another order);
- PyTorch CPU parity in float64 (forward and both gradients): rtol=1e-9, atol=1e-10; in
  float32: rtol=1e-4, atol=1e-4 (sums of up to a few hundred products, orders differ).

TF's 'same' padding puts the smaller half of an odd total before; PyTorch pads both sides
alike, so the parity tests pad explicitly with the asymmetric ``F.pad`` and use padding=0.
"""
import numpy as np
import pytest

from conv_reference import (conv2d_reference, conv2d_transpose_reference,
                            depthwise_conv2d_reference, same_padding)
from helpers import check_op, random_array
from neuropil import ops
from neuropil.autodiff import Tensor

# x shape, kernel (kh, kw), strides, padding, dilation. Odd and even sizes, non-square inputs
# and kernels, so that 'same' splits an odd total padding (smaller half before).
CASES = [
    ((2, 5, 5, 2), (3, 3), 1, "valid", 1),
    ((2, 5, 5, 2), (3, 3), 1, "same", 1),
    ((2, 6, 7, 2), (3, 2), 2, "same", 1),
    ((2, 6, 6, 2), (2, 2), 1, "same", 1),       # total padding 1 per axis: (0, 1)
    ((2, 7, 6, 1), (3, 3), 1, "same", 2),       # one channel: the tap-major im2col path
    ((2, 5, 5, 1), (3, 3), 2, "valid", 1),
    ((1, 6, 5, 3), (2, 3), (2, 1), "same", 1),
    ((2, 7, 7, 2), (3, 3), 1, "valid", (2, 1)),
    ((2, 8, 6, 2), (4, 3), 3, "same", 1),
    ((2, 6, 6, 2), (3, 3), 2, "valid", 1),      # the last row and column are never read
]
IDS = [f"{x}-k{k}-s{s}-{p}-d{d}" for x, k, s, p, d in CASES]


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# ---- conv2d ------------------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, k_hw, strides, padding, dilation", CASES, ids=IDS)
def test_conv2d_matches_reference_and_gradients(x_shape, k_hw, strides, padding, dilation,
                                                kernels_path):
    x = random_array(*x_shape, seed=1)
    kernel = random_array(*k_hw, x_shape[-1], 3, seed=2)
    out = ops.conv2d(Tensor(x), Tensor(kernel), strides, padding, dilation).numpy()
    expected = conv2d_reference(x, kernel, strides, padding, dilation)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    check_op(lambda a, k: ops.conv2d(a, k, strides, padding, dilation), x, kernel)


def test_conv2d_lecture_vertical_edge():
    """6x6 image, left half 10, right half 0; the vertical-edge kernel finds the edge."""
    image = np.zeros((1, 6, 6, 1))
    image[:, :, :3] = 10.0
    edge = np.array([[1.0, 0.0, -1.0]] * 3).reshape(3, 3, 1, 1)
    out = ops.conv2d(image, edge).numpy()[0, :, :, 0]
    np.testing.assert_array_equal(out, [[0, 30, 30, 0]] * 4)


def test_conv2d_strided_views_are_not_required_to_be_contiguous():
    x = random_array(2, 6, 6, 4, seed=3)[:, ::-1, :, 1:3]  # a reversed, sliced view
    kernel = random_array(3, 3, 2, 2, seed=4)
    np.testing.assert_allclose(ops.conv2d(x, kernel, padding="same").numpy(),
                               conv2d_reference(x, kernel, 1, "same"), rtol=1e-10)


def test_conv2d_float32_and_the_model_input_gets_no_gradient():
    x = Tensor(random_array(2, 5, 5, 3, seed=5).astype(np.float32))
    kernel = Tensor(random_array(3, 3, 3, 4, seed=6).astype(np.float32), requires_grad=True)
    out = ops.conv2d(x, kernel, padding="same")
    assert out.dtype == np.float32 and out.shape == (2, 5, 5, 4)
    out.backward(np.ones(out.shape, np.float32))
    assert x.grad is None and kernel.grad.dtype == np.float32
    assert kernel.grad.shape == (3, 3, 3, 4)


def test_conv2d_frozen_kernel_still_passes_the_input_gradient():
    x = Tensor(random_array(1, 4, 4, 2, seed=7), requires_grad=True)
    kernel = Tensor(random_array(2, 2, 2, 3, seed=8))
    ops.conv2d(x, kernel).backward(np.ones((1, 3, 3, 3)))
    assert kernel.grad is None and x.grad.shape == (1, 4, 4, 2)


@pytest.mark.parametrize("kwargs, message", [
    (dict(kernel_shape=(3, 3, 5, 2)), "input channels"),
    (dict(padding="full"), "padding"),
    (dict(kernel_shape=(7, 7, 2, 2)), "does not fit"),
    (dict(strides=0), "strides"),
    (dict(dilation_rate=(1, 2, 3)), "dilation_rate"),
])
def test_conv2d_errors_say_what_was_wrong(kwargs, message):
    kernel = np.zeros(kwargs.pop("kernel_shape", (3, 3, 2, 2)))
    with pytest.raises(ValueError, match=message):
        ops.conv2d(np.zeros((1, 5, 5, 2)), kernel, **kwargs)


def test_conv2d_rejects_a_bias_of_the_wrong_size():
    with pytest.raises(ValueError, match=r"one value per output channel, shape \(2,\)"):
        ops.conv2d(np.zeros((1, 5, 5, 2)), np.zeros((3, 3, 2, 2)), bias=np.zeros(3))


# ---- conv2d with a layer's bias and relu in the same op ----------------------------------
@pytest.mark.parametrize("use_bias, relu", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("x_shape, k_hw, strides, padding, dilation", CASES[:7], ids=IDS[:7])
def test_conv2d_bias_and_relu_match_the_composed_ops(x_shape, k_hw, strides, padding, dilation,
                                                     use_bias, relu, kernels_path):
    """The fused op against its composed twin relu(add(conv2d(x, k), b)): forward and every
    gradient agree in float64 to rounding, and central differences agree with backward."""
    x = random_array(*x_shape, seed=41)
    kernel = random_array(*k_hw, x_shape[-1], 3, seed=42)
    arrays = [x, kernel] + ([random_array(3, seed=43)] if use_bias else [])

    def fused(a, k, b=None):
        return ops.conv2d(a, k, strides, padding, dilation, bias=b, relu=relu)

    def composed(a, k, b=None):
        z = ops.conv2d(a, k, strides, padding, dilation)
        z = z if b is None else ops.add(z, b)
        return ops.relu(z) if relu else z

    weights = random_array(*fused(*arrays).shape, seed=44)
    (out, grads), (twin_out, twin_grads) = (our_grads(f, arrays, weights)
                                            for f in (fused, composed))
    np.testing.assert_allclose(out, twin_out, rtol=1e-12, atol=1e-12)
    for g, twin in zip(grads, twin_grads):
        np.testing.assert_allclose(g, twin, rtol=1e-10, atol=1e-12)
    check_op(fused, *arrays)


@pytest.mark.parametrize("x_shape, k_hw, padding", [
    ((2, 7, 6, 1), (3, 2), "same"), ((3, 6, 8, 1), (5, 5), "valid"),
    ((2, 5, 5, 1), (2, 2), "same"), ((1, 4, 9, 1), (1, 4), "valid")])
@pytest.mark.parametrize("input_grad", [False, True])
def test_conv2d_one_channel_stride_one(x_shape, k_hw, padding, input_grad, kernels_path):
    """One input channel, stride 1: with numba the direct compiled loop (no im2col), which
    keeps the padded image instead of the columns. Forward against the slow twin, every
    gradient against the composed ops and central differences, with and without the input
    gradient (a first layer skips it)."""
    x = random_array(*x_shape, seed=53)
    kernel, bias = random_array(*k_hw, 1, 4, seed=54), random_array(4, seed=55)
    expected = np.maximum(conv2d_reference(x, kernel, 1, padding) + bias, 0)
    fused = lambda a, k, b: ops.conv2d(a, k, padding=padding, bias=b, relu=True)  # noqa: E731
    np.testing.assert_allclose(fused(x, kernel, bias).numpy(), expected, rtol=1e-10,
                               atol=1e-12)
    tensors = [Tensor(x, requires_grad=input_grad), Tensor(kernel, requires_grad=True),
               Tensor(bias, requires_grad=True)]
    weights = random_array(*expected.shape, seed=56)
    fused(*tensors).backward(weights)
    twin = [Tensor(a, requires_grad=True) for a in (x, kernel, bias)]
    ops.relu(ops.add(ops.conv2d(twin[0], twin[1], padding=padding), twin[2])).backward(weights)
    assert (tensors[0].grad is None) != input_grad
    for ours, theirs in zip(tensors[int(not input_grad):], twin[int(not input_grad):]):
        np.testing.assert_allclose(ours.grad, theirs.grad, rtol=1e-10, atol=1e-12)
    check_op(fused, x, kernel, bias)


def test_conv2d_bias_gradient_alone_when_the_kernel_is_frozen(kernels_path):
    x = random_array(2, 6, 6, 1, seed=45)
    kernel, bias = Tensor(random_array(3, 3, 1, 2, seed=46)), Tensor(np.zeros(2),
                                                                     requires_grad=True)
    out = ops.conv2d(Tensor(x), kernel, padding="same", bias=bias, relu=True)
    out.backward(np.ones(out.shape))
    assert kernel.grad is None
    np.testing.assert_allclose(bias.grad, (out.numpy() > 0).sum(axis=(0, 1, 2)), rtol=1e-12)


@pytest.mark.parametrize("channels", [1, 3])
def test_conv2d_in_chunks_matches_one_batch(monkeypatch, channels, kernels_path):
    """Forward and backward run a few images at a time, on the worker threads; with one
    image per chunk the numbers are the same as with the default chunks."""
    from neuropil.autodiff import no_grad
    from neuropil.ops import window

    x = random_array(5, 7, 6, channels, seed=47)
    kernel, bias = random_array(3, 3, channels, 4, seed=48), random_array(4, seed=49)
    weights = random_array(5, 7, 6, 4, seed=50)

    def run():
        fn = lambda a, k, b: ops.conv2d(a, k, padding="same", bias=b, relu=True)  # noqa: E731
        with no_grad():
            inference = fn(x, kernel, bias).numpy()
        return inference, our_grads(fn, [x, kernel, bias], weights)

    whole, (out, grads) = run()
    monkeypatch.setattr(window, "CHUNK_BYTES", 1)
    monkeypatch.setattr(window, "UNCONTROLLED_CHUNK_BYTES", 1)
    monkeypatch.setattr(window, "MIN_SPLIT_BYTES", 0)
    parts, (out_parts, grads_parts) = run()
    np.testing.assert_allclose(parts, whole, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out_parts, out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(whole, out, rtol=1e-12, atol=1e-12)
    for g, g_parts in zip(grads, grads_parts):
        np.testing.assert_allclose(g_parts, g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("view", ["channel slice", "transposed"])
def test_conv2d_reads_non_contiguous_inputs_right(view, kernels_path):
    """A grouped convolution convolves channel slices of x, a channels-first layer a
    transposed view: im2col's fast copy assumes contiguous rows and must not be used on
    them (it read wrong numbers, or past the array, before this test)."""
    base = random_array(2, 6, 7, 5, seed=70)
    x = base[..., 1:4] if view == "channel slice" else \
        random_array(2, 3, 7, 6, seed=71).transpose(0, 3, 2, 1)
    assert not x.flags.c_contiguous
    kernel = random_array(3, 2, x.shape[-1], 4, seed=72)
    weights = random_array(2, 4, 6, 4, seed=73)
    fn = lambda a, k: ops.conv2d(a, k, padding="valid")  # noqa: E731
    (out, grads), (ref_out, ref_grads) = (our_grads(fn, [x, kernel], weights),
                                          our_grads(fn, [np.ascontiguousarray(x), kernel],
                                                    weights))
    np.testing.assert_allclose(out, ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out, conv2d_reference(x, kernel, 1, "valid", 1), rtol=1e-10)
    for g, ref in zip(grads, ref_grads):
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("channels, strides", [(1, 1), (3, 1), (3, 2)])
def test_conv2d_and_pooling_same_on_one_or_two_worker_threads(channels, strides,
                                                              kernels_path, monkeypatch):
    """backend.threads shares the chunks among workers; the numbers must not depend on how
    many (float64: the kernel gradient's partial sums only change their order)."""
    from neuropil.backend import threads
    from neuropil.ops import window

    monkeypatch.setattr(window, "MIN_SPLIT_BYTES", 0)  # these small batches split too

    x = random_array(9, 8, 8, channels, seed=60)
    kernel, bias = random_array(3, 3, channels, 5, seed=61), random_array(5, seed=62)

    def fn(a, k, b):
        y = ops.conv2d(a, k, strides, padding="same", bias=b, relu=True)
        return ops.max_pool2d(y, 2, padding="same")

    weights = random_array(*fn(x, kernel, bias).shape, seed=63)
    results = []
    for count in (1, 2):
        threads.set_num_threads(count)
        try:
            results.append(our_grads(fn, [x, kernel, bias], weights))
        finally:
            threads.set_num_threads(None)
    (out1, grads1), (out2, grads2) = results
    np.testing.assert_array_equal(out2, out1)
    for g1, g2 in zip(grads1, grads2):
        np.testing.assert_allclose(g2, g1, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_shape, out_channels, padding", [
    ((16, 28, 28, 1), 6, "same"), ((16, 14, 14, 6), 16, "valid")], ids=["lenet1", "lenet2"])
def test_conv2d_float32_compiled_equals_numpy(x_shape, out_channels, padding):
    """LeNet's layers in float32: the compiled loops (the direct one-channel convolution,
    col2im) against im2col and NumPy; sums in another order, so float32 rounding apart."""
    pytest.importorskip("numba")
    from neuropil.ops import accel

    rng = np.random.default_rng(52)
    x = rng.standard_normal(x_shape, dtype=np.float32)
    kernel = rng.standard_normal((5, 5, x_shape[-1], out_channels), dtype=np.float32) * 0.2
    bias = rng.standard_normal(out_channels, dtype=np.float32)
    fn = lambda a, k, b: ops.conv2d(a, k, padding=padding, bias=b, relu=True)  # noqa: E731
    weights = rng.standard_normal(fn(x, kernel, bias).shape, dtype=np.float32)
    results = []
    for enabled in (False, True):
        accel.set_enabled(enabled)
        try:
            results.append(our_grads(fn, [x, kernel, bias], weights))
        finally:
            accel.set_enabled(None)
    (out, grads), (c_out, c_grads) = results
    np.testing.assert_allclose(c_out, out, rtol=1e-5, atol=1e-5)
    # The kernel gradient sums 12,544 float32 products per entry, in chunks whose partial
    # sums are added in another order by each path: rounding apart by a few 1e-5.
    for g, c_g in zip(grads, c_grads):
        assert c_g.dtype == np.float32
        np.testing.assert_allclose(c_g, g, rtol=1e-4, atol=1e-4)


# x shape, kernel (kh, kw), padding, filters: the compiled one-channel loop takes six filters
# a pass (the last group padded with zero filters) and keeps planes as wide as the padded
# image, so odd and even sizes, several groups and a part-filled one.
ONE_CHANNEL = [
    ((3, 9, 7, 1), (3, 3), "same", 6),
    ((2, 11, 13, 1), (5, 5), "valid", 8),     # two groups, the second with two filters
    ((1, 6, 5, 1), (2, 2), "same", 1),        # even kernel: padding (0, 1); batch 1
    ((2, 7, 10, 1), (4, 4), "same", 13),      # three groups
    ((1, 28, 28, 1), (5, 5), "same", 6),      # LeNet's first layer, batch 1
]


@pytest.mark.parametrize("x_shape, k_hw, padding, filters", ONE_CHANNEL,
                         ids=[f"{x}-k{k}-{p}-o{o}" for x, k, p, o in ONE_CHANNEL])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("relu, with_bias", [(True, True), (False, True), (True, False),
                                             (False, False)])
def test_conv2d_one_channel_compiled_equals_numpy(x_shape, k_hw, padding, filters, dtype,
                                                  relu, with_bias):
    """The direct compiled loop (one channel, stride 1) against im2col and NumPy: forward,
    kernel and bias gradients, with and without relu and bias. Half the outputs are
    negative, so relu's mask matters; float32 sums in another order, so rounding apart."""
    pytest.importorskip("numba")
    from neuropil.ops import accel

    rng = np.random.default_rng(57)
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = (rng.standard_normal(k_hw + (1, filters)) * 0.3).astype(dtype)
    arrays = [x, kernel] + ([rng.standard_normal(filters).astype(dtype)] if with_bias else [])

    def fn(a, k, b=None):
        return ops.conv2d(a, k, padding=padding, bias=b, relu=relu)

    weights = rng.standard_normal(fn(*arrays).shape).astype(dtype)
    results = []
    for enabled in (False, True):
        accel.set_enabled(enabled)
        try:
            results.append(our_grads(fn, arrays, weights))
        finally:
            accel.set_enabled(None)
    (out, grads), (c_out, c_grads) = results
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    assert c_out.dtype == dtype
    np.testing.assert_allclose(c_out, out, **tol)
    for g, c_g in zip(grads, c_grads):
        assert c_g.dtype == dtype
        np.testing.assert_allclose(c_g, g, **tol)


def test_numba_can_be_switched_off_by_environment_variable():
    import os
    import subprocess
    import sys

    code = "from neuropil.ops import accel; print(accel.kernels() is None)"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ, NEUROPIL_DISABLE_NUMBA="1"), cwd=root,
                          check=True)
    assert done.stdout.strip() == "True"


# ---- depthwise_conv2d --------------------------------------------------------------------
@pytest.mark.parametrize("x_shape, k_hw, strides, padding, dilation", CASES[1:8], ids=IDS[1:8])
def test_depthwise_conv2d_matches_reference_and_gradients(x_shape, k_hw, strides, padding,
                                                          dilation):
    x = random_array(*x_shape, seed=11)
    kernel = random_array(*k_hw, x_shape[-1], 2, seed=12)
    out = ops.depthwise_conv2d(x, kernel, strides, padding, dilation).numpy()
    expected = depthwise_conv2d_reference(x, kernel, strides, padding, dilation)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    check_op(lambda a, k: ops.depthwise_conv2d(a, k, strides, padding, dilation), x, kernel)


# ---- conv2d_transpose --------------------------------------------------------------------
def keras_transpose_geometry(n, k, s, d, padding, output_padding):
    """Keras's output length, and where it starts in the full (n-1)*s + span "stamped" canvas.

    Stated independently of the op: the length from Keras's docs (deconv_output_length), the
    start from TensorFlow, where a transposed conv is the gradient of a conv2d from the
    output back to the input, so 'same' drops what that conv2d would have padded before.
    """
    span = (k - 1) * d + 1
    if padding == "valid":
        length = (n - 1) * s + (max(span, s) if output_padding is None
                                else span + output_padding)
        return length, 0
    length = n * s if output_padding is None else (n - 1) * s + span % 2 + output_padding
    return length, same_padding(length, k, s, d)[0]


TRANSPOSE_CASES = [  # x shape, kernel (kh, kw), strides, padding, output_padding, dilation
    ((2, 3, 3, 2), (3, 3), 1, "valid", None, 1),
    ((2, 3, 4, 2), (3, 3), 2, "same", None, 1),
    ((2, 3, 3, 2), (2, 3), 2, "valid", None, 1),
    ((2, 3, 2, 1), (2, 2), 3, "valid", None, 1),   # stride > kernel: zeros past the canvas
    ((1, 4, 3, 2), (4, 3), 2, "same", None, 1),
    ((2, 3, 3, 2), (3, 3), 2, "same", 1, 1),
    ((2, 3, 3, 2), (3, 2), (2, 3), "same", (0, 2), 1),
    ((2, 3, 3, 2), (3, 3), 2, "valid", 1, 1),
    ((2, 4, 3, 2), (3, 3), 1, "same", None, 2),
]
TRANSPOSE_IDS = [f"{x}-k{k}-s{s}-{p}-op{o}-d{d}" for x, k, s, p, o, d in TRANSPOSE_CASES]


def transpose_geometry(x_shape, k_hw, strides, padding, output_padding, dilation):
    ops_ = [output_padding] * 2 if not isinstance(output_padding, tuple) else output_padding
    sizes = [keras_transpose_geometry(n, k, s, d, padding, o) for n, k, s, d, o in
             zip(x_shape[1:3], k_hw, pair(strides), pair(dilation), ops_)]
    return tuple(length for length, _ in sizes), tuple(start for _, start in sizes)


@pytest.mark.parametrize("x_shape, k_hw, strides, padding, output_padding, dilation",
                         TRANSPOSE_CASES, ids=TRANSPOSE_IDS)
def test_conv2d_transpose_matches_reference_and_gradients(x_shape, k_hw, strides, padding,
                                                          output_padding, dilation,
                                                          kernels_path):
    x = random_array(*x_shape, seed=21)
    kernel = random_array(*k_hw, 3, x_shape[-1], seed=22)
    fn = lambda a, k: ops.conv2d_transpose(a, k, strides, padding, output_padding,  # noqa: E731
                                           dilation)
    out = fn(x, kernel).numpy()
    out_hw, start_hw = transpose_geometry(x_shape, k_hw, strides, padding, output_padding,
                                          dilation)
    expected = conv2d_transpose_reference(x, kernel, out_hw, start_hw, strides, dilation)
    assert out.shape == (x_shape[0],) + out_hw + (3,)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)
    check_op(fn, x, kernel)


@pytest.mark.parametrize("strides, k", [(1, 3), (2, 3), (2, 2), (3, 3)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(strides, k):
    """<conv2d(x, K), y> == <x, conv2d_transpose(y, K)> with the very same kernel array."""
    h = (3 - 1) * strides + k  # an input the 'valid' windows tile exactly
    x, kernel = random_array(2, h, h, 2, seed=23), random_array(k, k, 2, 4, seed=24)
    y = random_array(2, 3, 3, 4, seed=25)
    back = ops.conv2d_transpose(y, kernel, strides, output_padding=0).numpy()
    assert back.shape == x.shape
    np.testing.assert_allclose((ops.conv2d(x, kernel, strides).numpy() * y).sum(),
                               (x * back).sum(), rtol=1e-12)


def test_conv2d_transpose_same_upsamples_by_the_stride():
    out = ops.conv2d_transpose(np.ones((1, 7, 5, 3)), np.ones((3, 3, 2, 3)), 2, "same")
    assert out.shape == (1, 14, 10, 2)


# ---- PyTorch parity ----------------------------------------------------------------------
def torch_same_pad(F, x_nchw, x_hw, k_hw, strides, dilation, padding, value=0.0):
    if padding == "valid":
        return x_nchw
    (top, bottom), (left, right) = [same_padding(n, k, s, d) for n, k, s, d in
                                    zip(x_hw, k_hw, pair(strides), pair(dilation))]
    return F.pad(x_nchw, (left, right, top, bottom), value=value)


def torch_grads(torch, fn, arrays, weights):
    """Forward of ``fn`` on NHWC tensors and the gradients of sum(out * weights)."""
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    (out * torch.tensor(weights)).sum().backward()
    return out.detach().numpy(), [t.grad.numpy() for t in tensors]


def our_grads(fn, arrays, weights):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    out = fn(*tensors)
    out.backward(weights.astype(out.dtype))
    return out.numpy(), [t.grad for t in tensors]


def assert_parity(ours, theirs, dtype):
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-4)
    (out, grads), (t_out, t_grads) = ours, theirs
    assert out.dtype == t_out.dtype
    np.testing.assert_allclose(out, t_out, **tol)
    for g, t_g in zip(grads, t_grads):
        assert g.shape == t_g.shape
        np.testing.assert_allclose(g, t_g, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("x_shape, k_hw, strides, padding, dilation", CASES, ids=IDS)
def test_conv2d_parity_with_torch(x_shape, k_hw, strides, padding, dilation, dtype):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = random_array(*x_shape, seed=31).astype(dtype)
    kernel = random_array(*k_hw, x_shape[-1], 4, seed=32).astype(dtype)

    def torch_conv(tx, tk):
        xp = torch_same_pad(F, tx.permute(0, 3, 1, 2), x_shape[1:3], k_hw, strides, dilation,
                            padding)
        out = F.conv2d(xp, tk.permute(3, 2, 0, 1), stride=pair(strides),
                       dilation=pair(dilation))
        return out.permute(0, 2, 3, 1)

    ours = our_grads(lambda a, k: ops.conv2d(a, k, strides, padding, dilation), [x, kernel],
                     random_array(*ops.conv2d(x, kernel, strides, padding, dilation).shape,
                                  seed=33))
    weights = random_array(*ours[0].shape, seed=33)
    assert_parity(ours, torch_grads(torch, torch_conv, [x, kernel], weights), dtype)


@pytest.mark.parametrize("x_shape, k_hw, strides, padding, dilation", CASES[1:8], ids=IDS[1:8])
def test_depthwise_conv2d_parity_with_torch(x_shape, k_hw, strides, padding, dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    channels, multiplier = x_shape[-1], 2
    x = random_array(*x_shape, seed=41)
    kernel = random_array(*k_hw, channels, multiplier, seed=42)

    def torch_depthwise(tx, tk):
        xp = torch_same_pad(F, tx.permute(0, 3, 1, 2), x_shape[1:3], k_hw, strides, dilation,
                            padding)
        weight = tk.permute(2, 3, 0, 1).reshape(channels * multiplier, 1, *k_hw)
        return F.conv2d(xp, weight, stride=pair(strides), dilation=pair(dilation),
                        groups=channels).permute(0, 2, 3, 1)

    fn = lambda a, k: ops.depthwise_conv2d(a, k, strides, padding, dilation)  # noqa: E731
    weights = random_array(*fn(x, kernel).shape, seed=43)
    assert_parity(our_grads(fn, [x, kernel], weights),
                  torch_grads(torch, torch_depthwise, [x, kernel], weights), np.float64)


@pytest.mark.parametrize("x_shape, k_hw, strides, padding, output_padding, dilation",
                         TRANSPOSE_CASES, ids=TRANSPOSE_IDS)
def test_conv2d_transpose_parity_with_torch(x_shape, k_hw, strides, padding, output_padding,
                                            dilation):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = random_array(*x_shape, seed=51)
    kernel = random_array(*k_hw, 3, x_shape[-1], seed=52)
    out_hw, start_hw = transpose_geometry(x_shape, k_hw, strides, padding, output_padding,
                                          dilation)

    def torch_transpose(tx, tk):
        # PyTorch's full output, then Keras's window of it (zeros past the end). A permuted
        # (non-contiguous) weight makes torch 2.13's backward fail when stride > kernel.
        full = F.conv_transpose2d(tx.permute(0, 3, 1, 2), tk.permute(3, 2, 0, 1).contiguous(),
                                  stride=pair(strides), dilation=pair(dilation))
        extra = [max(0, st + n - f) for st, n, f in zip(start_hw, out_hw, full.shape[2:])]
        full = F.pad(full, (0, extra[1], 0, extra[0]))
        return full[:, :, start_hw[0]:start_hw[0] + out_hw[0],
                    start_hw[1]:start_hw[1] + out_hw[1]].permute(0, 2, 3, 1)

    fn = lambda a, k: ops.conv2d_transpose(a, k, strides, padding, output_padding,  # noqa: E731
                                           dilation)
    weights = random_array(x_shape[0], *out_hw, 3, seed=53)
    assert_parity(our_grads(fn, [x, kernel], weights),
                  torch_grads(torch, torch_transpose, [x, kernel], weights), np.float64)


@pytest.mark.parametrize("channels", [1, 3])
def test_an_empty_batch_goes_through_forward_and_backward(channels, kernels_path):
    """0 images in, 0 images out, and zero weight gradients (each chunk loop and compiled
    loop is sized from the batch, so an empty one must not trip them)."""
    x = np.zeros((0, 8, 8, channels))
    kernel, bias = random_array(3, 3, channels, 2, seed=80), random_array(2, seed=81)

    def fn(a, k, b):
        y = ops.conv2d(a, k, padding="same", bias=b, relu=True)
        y = ops.max_pool2d(y, 2)
        return ops.depthwise_conv2d(y, ops.reshape(k[:, :, :1, :1], (3, 3, 1, 1))
                                    * np.ones((1, 1, 2, 1)), padding="same")

    out, grads = our_grads(fn, [x, kernel, bias], np.zeros((0, 4, 4, 2)))
    assert out.shape == (0, 4, 4, 2) and grads[0].shape == x.shape
    assert not grads[1].any() and not grads[2].any()
    transposed = ops.conv2d_transpose(np.zeros((0, 4, 4, 2)), random_array(3, 3, 5, 2, seed=82),
                                      strides=2, padding="same")
    assert transposed.shape == (0, 8, 8, 5)


@pytest.mark.parametrize("channels, strides, relu", [
    (1, 1, True),    # the compiled one-channel loop (numba) or im2col
    (8, 1, True),    # Winograd (numba) or im2col
    (8, 1, False),
    (3, 2, True),    # im2col at stride 2
])
def test_conv2d_residual_is_added_before_relu(channels, strides, relu, kernels_path):
    """conv2d(..., residual=r) = relu(conv2d(...) + r), with r's gradient the masked one."""
    x = random_array(2, 7, 6, channels, seed=90)
    kernel, bias = random_array(3, 3, channels, 4, seed=91), random_array(4, seed=92)
    shape = ops.conv2d(x, kernel, strides, "same").shape
    residual = random_array(*shape, seed=93)

    def fused(a, k, b, r):
        return ops.conv2d(a, k, strides, "same", bias=b, relu=relu, residual=r)

    def composed(a, k, b, r):
        y = ops.conv2d(a, k, strides, "same", bias=b) + r
        return ops.relu(y) if relu else y

    weights = random_array(*shape, seed=94)
    ours, theirs = (our_grads(fn, [x, kernel, bias, residual], weights)
                    for fn in (fused, composed))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-10)
    for got, want in zip(ours[1], theirs[1]):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    check_op(fused, x, kernel, bias, residual)
    with pytest.raises(ValueError, match="residual must have the output's shape"):
        ops.conv2d(x, kernel, strides, "same", residual=residual[:, :2])


# x shape, kernel (kh, kw), strides, dilation, padding: runs of kw·C (dilation 1) or of C
# (dilated columns), strided windows, 'same' borders, a 1x1 kernel.
IM2COL = [
    ((3, 14, 14, 6), (5, 5), (1, 1), (1, 1), "valid"),   # LeNet's 6->16 convolution
    ((2, 9, 11, 4), (3, 2), (2, 3), (1, 2), "same"),
    ((2, 8, 8, 3), (3, 3), (1, 1), (2, 2), "valid"),
    ((2, 7, 7, 2), (1, 1), (2, 2), (1, 1), "same"),
    ((0, 5, 5, 2), (3, 3), (1, 1), (1, 1), "same"),     # an empty batch
]


@pytest.mark.parametrize("x_shape, k_hw, strides, dilation, padding", IM2COL,
                         ids=[f"{x}-k{k}-s{s}-d{d}-{p}" for x, k, s, d, p in IM2COL])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ones", [False, True])
def test_compiled_im2col_equals_numpy(x_shape, k_hw, strides, dilation, padding, dtype, ones,
                                      monkeypatch):
    """The compiled im2col copies exactly what NumPy's strided view copies (a copy: equal
    bit for bit), the bias's column of ones included."""
    pytest.importorskip("numba")
    from neuropil.ops import accel
    from neuropil.ops.window import SlidingWindow

    kernels, calls = accel.kernels(), []
    monkeypatch.setattr(kernels, "im2col",
                        lambda *a, _f=kernels.im2col: calls.append(1) or _f(*a))

    x = np.random.default_rng(8).standard_normal(x_shape).astype(dtype)
    window = SlidingWindow(x_shape[1:3], k_hw, strides, dilation, padding)
    columns = {}
    for enabled in (False, True):
        accel.set_enabled(enabled)
        try:
            columns[enabled] = window.columns(x, ones)
        finally:
            accel.set_enabled(None)
    assert calls == [1]  # the compiled copy ran (once: with accel on)
    assert columns[True].dtype == dtype
    np.testing.assert_array_equal(columns[True], columns[False])
