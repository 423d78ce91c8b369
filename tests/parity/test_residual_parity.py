"""A residual basic block (ResNet-18/20's) against the same block written in PyTorch.

The block, from ``neuropil.applications.resnet.basic_block``:
    y = relu(BN2(conv2(relu(BN1(conv1(x))))) + shortcut(x))
with conv1 3x3 (stride 1 or 2), conv2 3x3, both without bias; the shortcut is the identity,
or (stride 2) a 1x1 convolution with stride 2 + batch norm. Batch norm uses PyTorch's
defaults (epsilon 1e-5, Keras momentum 0.9 = torch momentum 0.1). A stride-2 3x3 convolution
pads one pixel on every side, as torch's padding=1 does.

Same float32 weights on both sides: kernels HWIO -> OIHW (``transpose(3, 2, 0, 1)``), images
NHWC -> NCHW. The scalar differentiated is ``sum(y * r)`` for a fixed random r; compared: the
training-mode forward, the gradients of the input and of every weight, the moving
statistics after the step (torch's running_var uses the unbiased batch variance: undone as
in test_norm_parity.py), and the inference-mode forward with those statistics.

Tolerances (float32; observed worst absolute differences in brackets for both cases):
    forward (training and inference):   rtol=1e-4, atol=1e-4   [1.2e-6]
    input gradient:                     rtol=1e-3, atol=1e-4   [1.2e-6]
    weight gradients:                   rtol=1e-3, atol=1e-3   [1.5e-5; sums of ~10^3 terms]
    moving mean / variance:             rtol=1e-4, atol=1e-5   [~1e-7]
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import neuropil as keras  # noqa: E402
from neuropil.applications.resnet import basic_block  # noqa: E402
from neuropil.autodiff import Tensor  # noqa: E402

FWD = dict(rtol=1e-4, atol=1e-4)
GRAD_X = dict(rtol=1e-3, atol=1e-4)
GRAD_W = dict(rtol=1e-3, atol=1e-3)
STATS = dict(rtol=1e-4, atol=1e-5)


def nchw(a):
    return np.ascontiguousarray(a.transpose(0, 3, 1, 2))


class TorchBlock(torch.nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride > 1:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                          nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def neuropil_block(cin, cout, stride, size):
    inputs = keras.Input((size, size, cin))
    outputs = basic_block(inputs, cout, stride=stride, conv_shortcut=stride > 1, name="b",
                          bn=dict(epsilon=1e-5, momentum=0.9))
    return keras.Model(inputs, outputs)


# neuropil name -> torch module name
PAIRS = {"b_1_conv": "conv1", "b_1_bn": "bn1", "b_2_conv": "conv2", "b_2_bn": "bn2",
         "b_0_conv": "shortcut.0", "b_0_bn": "shortcut.1"}


def copy_weights(model, module, seed):
    rng = np.random.default_rng(seed)
    torch_modules = dict(module.named_modules())
    for name, torch_name in PAIRS.items():
        if torch_name not in torch_modules:
            continue
        layer, target = model.get_layer(name), torch_modules[torch_name]
        with torch.no_grad():
            if isinstance(layer, keras.layers.Conv2D):
                kernel = rng.normal(0, 0.3, layer.kernel.shape).astype(np.float32)
                layer.kernel.assign(kernel)
                target.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()))
            else:
                gamma = rng.uniform(0.5, 1.5, layer.gamma.shape).astype(np.float32)
                beta = rng.normal(0, 0.3, layer.beta.shape).astype(np.float32)
                layer.gamma.assign(gamma)
                layer.beta.assign(beta)
                target.weight.copy_(torch.from_numpy(gamma))
                target.bias.copy_(torch.from_numpy(beta))


def torch_gradient(target, name):
    if isinstance(target, torch.nn.Conv2d):
        return target.weight.grad.numpy().transpose(2, 3, 1, 0)  # OIHW -> HWIO
    return {"gamma": target.weight.grad, "beta": target.bias.grad}[name].numpy()


@pytest.mark.parametrize("cin, cout, stride", [(4, 4, 1), (3, 6, 2)],
                         ids=["identity", "projection"])
def test_residual_block_matches_torch(cin, cout, stride):
    size, batch = 8, 4
    model = neuropil_block(cin, cout, stride, size)
    module = TorchBlock(cin, cout, stride)
    copy_weights(model, module, seed=0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(batch, size, size, cin)).astype(np.float32)
    r = rng.normal(size=(batch, size // stride, size // stride, cout)).astype(np.float32)

    xn = Tensor(x, requires_grad=True)
    yn = model(xn, training=True)
    (yn * r).sum().backward()
    xt = torch.from_numpy(nchw(x)).requires_grad_(True)
    module.train()
    yt = module(xt)
    (yt * torch.from_numpy(nchw(r))).sum().backward()

    np.testing.assert_allclose(nchw(yn.numpy()), yt.detach().numpy(), **FWD)
    np.testing.assert_allclose(nchw(xn.grad), xt.grad.numpy(), **GRAD_X)
    torch_modules = dict(module.named_modules())
    checked = 0
    for name, torch_name in PAIRS.items():
        if torch_name not in torch_modules:
            continue
        layer, target = model.get_layer(name), torch_modules[torch_name]
        for variable in layer.trainable_weights:
            np.testing.assert_allclose(variable.grad, torch_gradient(target, variable.name),
                                       err_msg=f"{name}/{variable.name}", **GRAD_W)
            checked += 1
        if isinstance(layer, keras.layers.BatchNormalization):
            n = batch * (size // stride) ** 2
            np.testing.assert_allclose(layer.moving_mean.numpy(),
                                       target.running_mean.numpy(), **STATS)
            # torch: 0.9 + 0.1 * unbiased var; Keras: 0.9 + 0.1 * biased var
            torch_biased = 0.9 + (target.running_var.numpy() - 0.9) * (n - 1) / n
            np.testing.assert_allclose(layer.moving_variance.numpy(), torch_biased, **STATS)
    assert checked == (6 if stride == 1 else 9)

    # inference mode: both sides normalize with their moving statistics
    module.eval()
    torch_biased_vars = {}
    for name, torch_name in PAIRS.items():  # give torch the biased variances Keras keeps
        if torch_name in torch_modules and "bn" in name:
            torch_biased_vars[torch_name] = model.get_layer(name).moving_variance.numpy()
    with torch.no_grad():
        for torch_name, var in torch_biased_vars.items():
            torch_modules[torch_name].running_var.copy_(torch.from_numpy(var))
        expected = module(torch.from_numpy(nchw(x))).numpy()
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(nchw(got), expected, **FWD)
