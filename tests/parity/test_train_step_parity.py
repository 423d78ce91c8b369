"""One end-to-end training step against PyTorch CPU: a 2-layer MLP, same initial weights,
one ``train_on_batch`` with SGD(0.1) in neuropil == one forward/backward/``step()`` in torch.

Checked: the loss that ``train_on_batch`` returns (the loss *before* the update, as in Keras)
and every weight after the update. neuropil's kernels are (in, out); torch's Linear weights
are (out, in), so they are transposed on the way in and out.

Tolerances: loss rtol=1e-5; weights rtol=1e-5, atol=1e-6 (float32; the update is
0.1 × a gradient that is itself a couple of small GEMMs deep).
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import neuropil as keras  # noqa: E402

TOL = dict(rtol=1e-5, atol=1e-6)
BATCH, IN, HIDDEN, OUT = 16, 6, 8, 3


def _initial_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(0, 0.5, size=(IN, HIDDEN)).astype(np.float32),
            rng.normal(0, 0.1, size=(HIDDEN,)).astype(np.float32),
            rng.normal(0, 0.5, size=(HIDDEN, OUT)).astype(np.float32),
            rng.normal(0, 0.1, size=(OUT,)).astype(np.float32)]


def _neuropil_mlp(weights, output_activation, optimizer, loss):
    model = keras.Sequential([keras.Input(shape=(IN,)),
                              keras.layers.Dense(HIDDEN, activation="relu"),
                              keras.layers.Dense(OUT, activation=output_activation)])
    model.set_weights(weights)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def _torch_mlp(weights):
    mlp = torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.ReLU(),
                              torch.nn.Linear(HIDDEN, OUT))
    with torch.no_grad():
        for layer, (kernel, bias) in zip((mlp[0], mlp[2]), (weights[:2], weights[2:])):
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))
    return mlp


def _torch_weights(mlp):
    return [mlp[0].weight.detach().numpy().T, mlp[0].bias.detach().numpy(),
            mlp[2].weight.detach().numpy().T, mlp[2].bias.detach().numpy()]


def _batch(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH, IN)).astype(np.float32)
    labels = rng.integers(0, OUT, size=BATCH)
    targets = rng.normal(size=(BATCH, OUT)).astype(np.float32)
    return x, labels, targets


# loss name: (output activation, y for neuropil, torch loss of the raw outputs)
def _case(name, labels, targets):
    one_hot = np.eye(OUT, dtype=np.float32)[labels]
    t_labels = torch.from_numpy(labels)
    return {
        "categorical_crossentropy": ("softmax", one_hot,
                                     lambda z: F.cross_entropy(z, t_labels)),
        "sparse_categorical_crossentropy": ("softmax", labels,
                                            lambda z: F.cross_entropy(z, t_labels)),
        "mse": (None, targets, lambda z: F.mse_loss(z, torch.from_numpy(targets))),
    }[name]


@pytest.mark.parametrize("loss_name", ["categorical_crossentropy",
                                       "sparse_categorical_crossentropy", "mse"])
def test_one_sgd_step_matches_torch(loss_name):
    weights = _initial_weights()
    x, labels, targets = _batch()
    activation, y, torch_loss = _case(loss_name, labels, targets)

    model = _neuropil_mlp(weights, activation, keras.optimizers.SGD(learning_rate=0.1),
                          loss_name)
    loss = model.train_on_batch(x, y)

    mlp = _torch_mlp(weights)
    optimizer = torch.optim.SGD(mlp.parameters(), lr=0.1)
    optimizer.zero_grad()
    t_loss = torch_loss(mlp(torch.from_numpy(x)))
    t_loss.backward()
    optimizer.step()

    assert float(loss) == pytest.approx(t_loss.item(), rel=1e-5)
    for ours, theirs, name in zip(model.get_weights(), _torch_weights(mlp),
                                  ("kernel_1", "bias_1", "kernel_2", "bias_2")):
        np.testing.assert_allclose(ours, theirs, **TOL, err_msg=name)
    # The step really moved every weight (the comparison is not vacuous).
    for before, after in zip(weights, model.get_weights()):
        assert np.abs(after - before).max() > 1e-4


def test_three_momentum_steps_match_torch():
    """A few steps in a row with SGD(0.1, momentum=0.9): the gradients now depend on the
    updated weights, so any drift would compound."""
    weights = _initial_weights(seed=2)
    x, labels, _ = _batch(seed=3)
    model = _neuropil_mlp(weights, "softmax",
                          keras.optimizers.SGD(learning_rate=0.1, momentum=0.9),
                          "sparse_categorical_crossentropy")
    mlp = _torch_mlp(weights)
    optimizer = torch.optim.SGD(mlp.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        loss = model.train_on_batch(x, labels)
        optimizer.zero_grad()
        t_loss = F.cross_entropy(mlp(torch.from_numpy(x)), torch.from_numpy(labels))
        t_loss.backward()
        optimizer.step()
        assert float(loss) == pytest.approx(t_loss.item(), rel=1e-5)
    for ours, theirs in zip(model.get_weights(), _torch_weights(mlp)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=2e-6)
