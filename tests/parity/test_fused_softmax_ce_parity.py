"""Fused softmax + cross-entropy: a model ending in Dense(softmax) trained with categorical
cross-entropy has the gradient of torch's ``cross_entropy`` on the logits.

neuropil sees that the probabilities came from a recorded softmax op and computes the loss
from that op's input (as Keras does on its TensorFlow backend), so the gradient w.r.t. the
logits is the short softmax(z) - y and the value stays exact when a probability underflows.
Keras on its torch/JAX backends instead clips the probabilities: in the saturated test below
it would report -log(1e-7) = 16.12 and no gradient where neuropil and torch report ~40 and a
full-size gradient. The same holds for Dense(sigmoid) + binary cross-entropy.

Tolerances (float32): values rtol=1e-5, atol=1e-6; gradients w.r.t. kernel, bias and input
rtol=1e-5, atol=1e-6 (each is one short GEMM over a batch of 8 away from softmax(z) - y);
atol=1e-5 in the saturated tests, whose inputs and weights are ~16x larger.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import neuropil as keras  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)
SATURATED_TOL = dict(rtol=1e-5, atol=1e-5)  # inputs ×3, weights ×16: gradients up to ~10
BATCH, IN, CLASSES = 8, 6, 4


def _weights(units, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    return (rng.normal(0, scale, size=(IN, units)).astype(np.float32),
            rng.normal(0, scale, size=(units,)).astype(np.float32))


def _model(activation, units, kernel, bias):
    model = keras.Sequential([keras.Input(shape=(IN,)),
                              keras.layers.Dense(units, activation=activation)])
    model.set_weights([kernel, bias])
    return model


def _torch_grads(kernel, bias, x, loss_of_logits):
    k = torch.from_numpy(kernel.copy()).requires_grad_(True)
    b = torch.from_numpy(bias.copy()).requires_grad_(True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    loss = loss_of_logits(xt @ k + b)
    loss.backward()
    return loss.item(), k.grad.numpy(), b.grad.numpy(), xt.grad.numpy()


def _neuropil_grads(model, x, loss_of_output):
    xt = Tensor(x.copy(), requires_grad=True)
    loss = loss_of_output(model(xt))
    loss.backward()
    dense = model.layers[-1]
    return float(loss.numpy()), dense.kernel.grad, dense.bias.grad, xt.grad


def _assert_same(ours, theirs, tol=TOL):
    assert ours[0] == pytest.approx(theirs[0], rel=1e-5, abs=1e-6)
    for mine, ref, what in zip(ours[1:], theirs[1:], ("kernel", "bias", "input")):
        assert mine is not None, f"no gradient for the {what}"
        np.testing.assert_allclose(mine, ref, **tol, err_msg=what)


def _data(seed=1, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(0, scale, size=(BATCH, IN)).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=BATCH)
    return x, labels, np.eye(CLASSES, dtype=np.float32)[labels]


@pytest.mark.parametrize("form", ["class", "function", "sparse_class", "sparse_function"])
def test_dense_softmax_ce_gradient_matches_torch_cross_entropy(form):
    kernel, bias = _weights(CLASSES)
    x, labels, one_hot = _data()
    losses = {
        "class": lambda p: keras.losses.CategoricalCrossentropy()(one_hot, p),
        "function": lambda p: keras.losses.categorical_crossentropy(one_hot, p).mean(),
        "sparse_class": lambda p: keras.losses.SparseCategoricalCrossentropy()(labels, p),
        "sparse_function":
            lambda p: keras.losses.sparse_categorical_crossentropy(labels, p).mean(),
    }
    ours = _neuropil_grads(_model("softmax", CLASSES, kernel, bias), x, losses[form])
    theirs = _torch_grads(kernel, bias, x,
                          lambda z: F.cross_entropy(z, torch.from_numpy(labels)))
    _assert_same(ours, theirs)


def test_gradient_wrt_logits_is_softmax_minus_target():
    rng = np.random.default_rng(2)
    z = rng.normal(size=(BATCH, CLASSES)).astype(np.float32)
    _, labels, one_hot = _data()
    zt = Tensor(z.copy(), requires_grad=True)
    keras.losses.CategoricalCrossentropy()(one_hot, keras.activations.softmax(zt)).backward()
    z_torch = torch.from_numpy(z.copy()).requires_grad_(True)
    F.cross_entropy(z_torch, torch.from_numpy(labels)).backward()
    np.testing.assert_allclose(zt.grad, z_torch.grad.numpy(), **TOL)
    e = np.exp(z - z.max(-1, keepdims=True))
    np.testing.assert_allclose(zt.grad, (e / e.sum(-1, keepdims=True) - one_hot) / BATCH,
                               **TOL)


def test_saturated_softmax_stays_exact_like_torch():
    """Logits ~40 apart: the true class's probability underflows far below eps = 1e-7."""
    kernel, bias = _weights(CLASSES, scale=8.0)
    x, labels, one_hot = _data(scale=3.0)
    loss = keras.losses.CategoricalCrossentropy()
    ours = _neuropil_grads(_model("softmax", CLASSES, kernel, bias), x,
                           lambda p: loss(one_hot, p))
    theirs = _torch_grads(kernel, bias, x,
                          lambda z: F.cross_entropy(z, torch.from_numpy(labels)))
    per_sample = F.cross_entropy(torch.from_numpy(x @ kernel + bias),
                                 torch.from_numpy(labels), reduction="none").numpy()
    assert per_sample.max() > 30  # really saturated
    _assert_same(ours, theirs, SATURATED_TOL)
    # The same probabilities handed over as plain numbers lose the logits and are clipped:
    probs = _model("softmax", CLASSES, kernel, bias).predict(x, verbose=0)
    clipped = keras.losses.categorical_crossentropy(one_hot, probs).numpy()
    assert clipped.max() == pytest.approx(-np.log(np.float32(1e-7)), rel=1e-5)


@pytest.mark.parametrize("scale", [0.5, 8.0], ids=["moderate", "saturated"])
def test_dense_sigmoid_bce_gradient_matches_torch_bce_with_logits(scale):
    kernel, bias = _weights(1, seed=3, scale=scale)
    x, _, _ = _data(seed=4, scale=3.0 if scale > 1 else 1.0)
    y = (np.random.default_rng(5).uniform(size=(BATCH, 1)) > 0.5).astype(np.float32)
    if scale > 1:  # confidently wrong samples, whose sigmoid rounds to exactly 0 or 1
        wrong_margin = ((1 - 2 * y) * (x @ kernel + bias)).max()
        assert wrong_margin > 100
    ours = _neuropil_grads(_model("sigmoid", 1, kernel, bias), x,
                           lambda p: keras.losses.BinaryCrossentropy()(y, p))
    theirs = _torch_grads(kernel, bias, x, lambda z: F.binary_cross_entropy_with_logits(
        z, torch.from_numpy(y)))
    _assert_same(ours, theirs, SATURATED_TOL if scale > 1 else TOL)


def test_compiled_model_train_step_gradient_matches_torch():
    """The trainer's own path (compile -> train_on_batch) leaves the gradients on the
    weights; with learning_rate=0 the weights stay put so the gradients can be compared."""
    kernel, bias = _weights(CLASSES, seed=6)
    x, labels, one_hot = _data(seed=7)
    model = _model("softmax", CLASSES, kernel, bias)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0),
                  loss="categorical_crossentropy")
    loss = model.train_on_batch(x, one_hot)
    dense = model.layers[-1]
    theirs = _torch_grads(kernel, bias, x,
                          lambda z: F.cross_entropy(z, torch.from_numpy(labels)))
    assert float(loss) == pytest.approx(theirs[0], rel=1e-5)
    np.testing.assert_allclose(dense.kernel.grad, theirs[1], **TOL)
    np.testing.assert_allclose(dense.bias.grad, theirs[2], **TOL)
    np.testing.assert_array_equal(dense.kernel.numpy(), kernel)


def test_softmax_over_another_axis_is_not_fused():
    """Cross-entropy over axis 1 of probabilities that a softmax made over axis -1 must use
    the probabilities (normalized over axis 1, Keras's formula), not the softmax's input."""
    rng = np.random.default_rng(8)
    z = rng.normal(size=(2, 3, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=(2, 4))].transpose(0, 2, 1)
    probs = keras.activations.softmax(Tensor(z, requires_grad=True), axis=-1)
    ours = keras.losses.categorical_crossentropy(y, probs, axis=1).numpy()
    p = torch.softmax(torch.from_numpy(z), dim=-1)
    theirs = -(torch.from_numpy(y) * torch.log(p / p.sum(1, keepdim=True))).sum(1)
    np.testing.assert_allclose(ours, theirs.numpy(), **TOL)
