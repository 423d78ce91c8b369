"""Pretrained weights: the base shipped with neuropil (checksum, the model it fits, frozen),
weights files loaded with a layer-by-layer shape check, and torchvision ResNet-18 weights
from a .safetensors file checked against a PyTorch reference forward pass."""
import hashlib
import shutil

import numpy as np
import pytest

import neuropil as keras
from neuropil.applications import LeNet5, ResNet18
from neuropil.applications import pretrained
from neuropil.applications.torchvision_weights import torchvision_resnet18_names


def test_shipped_base_loads_with_its_checksum():
    path = pretrained.shipped_path("mnist_0to4")
    assert path.is_file() and path.stat().st_size < 300_000
    assert hashlib.sha256(path.read_bytes()).hexdigest() == \
        pretrained.SHIPPED["mnist_0to4"].sha256
    base = LeNet5(include_top=False, weights="mnist_0to4")
    assert base.output_shape == (None, 400)
    reference = LeNet5(include_top=False)
    reference.load_weights(path)
    for loaded, direct in zip(base.weights, reference.weights):
        np.testing.assert_array_equal(loaded.numpy(), direct.numpy())
    random_base = LeNet5(include_top=False)
    assert not np.array_equal(base.weights[0].numpy(), random_base.weights[0].numpy())


def test_shipped_base_detects_digits_features():
    # trained features: a digit's image gives a non-trivial, finite 400-vector
    base = LeNet5(include_top=False, weights="mnist_0to4")
    image = np.zeros((1, 28, 28, 1), "float32")
    image[0, 6:22, 13:15] = 1.0   # a "1"
    features = base.predict(image, verbose=0)
    assert features.shape == (1, 400) and np.isfinite(features).all() and features.max() > 0


def test_checksum_mismatch_is_refused(tmp_path, monkeypatch):
    damaged = tmp_path / "lenet5_mnist_0to4.weights.h5"
    shutil.copy(pretrained.shipped_path("mnist_0to4"), damaged)
    with open(damaged, "ab") as file:
        file.write(b"\0")
    monkeypatch.setattr(pretrained, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(ValueError, match="SHA-256 .* does not match"):
        LeNet5(include_top=False, weights="mnist_0to4")


@pytest.mark.parametrize("arguments, message", [
    (dict(include_top=True), "include_top=False"),
    (dict(include_top=False, input_shape=(32, 32, 1)), r"needs input_shape=\(28, 28, 1\)"),
    (dict(include_top=False, input_shape=(28, 28, 3)), r"Received: input_shape=\(28, 28, 3\)"),
    (dict(include_top=False, activation="tanh"), "trained with activation='relu'"),
])
def test_shipped_base_only_fits_its_model(arguments, message):
    with pytest.raises(ValueError, match=message):
        LeNet5(weights="mnist_0to4", **arguments)


@pytest.mark.parametrize("weights, message", [
    ("mnist_0to9", "no such file"),
    ("imagenet", "no download"),
    ("model.pth", "pickle-based"),
])
def test_bad_weights_arguments(weights, message):
    with pytest.raises(ValueError, match=message):
        LeNet5(include_top=False, weights=weights)


def test_shipped_name_for_another_builder():
    with pytest.raises(ValueError, match="these weights are for LeNet5"):
        ResNet18(weights="mnist_0to4")


def test_frozen_base_has_no_trainable_weights():
    base = LeNet5(include_top=False, weights="mnist_0to4")
    base.trainable = False
    model = keras.Sequential([keras.Input((28, 28, 1)), base,
                              keras.layers.Dense(5, activation="softmax")])
    assert base.trainable_weights == []
    assert len(model.trainable_weights) == 2   # the head's kernel and bias
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Trainable params: 2,005" in text          # 400 * 5 + 5
    assert "Non-trainable params: 2,572" in text      # 6*25+6 + 16*150+16


def test_path_loading_round_trip(tmp_path):
    base = LeNet5(include_top=False, weights="mnist_0to4")
    base.save_weights(tmp_path / "base.weights.h5")
    base.save(tmp_path / "base.keras")
    for path in ("base.weights.h5", "base.keras"):
        again = LeNet5(include_top=False, weights=str(tmp_path / path))
        np.testing.assert_array_equal(again.weights[2].numpy(), base.weights[2].numpy())


def test_path_loading_with_mismatched_file_names_the_layer(tmp_path):
    other = LeNet5(input_shape=(28, 28, 3), include_top=False)   # conv1 kernel 5x5x3x6
    path = tmp_path / "rgb.weights.h5"
    other.save_weights(path)
    with pytest.raises(ValueError) as error:
        LeNet5(include_top=False, weights=str(path))
    text = str(error.value)
    assert "rgb.weights.h5" in text and "'conv1'" in text
    assert "(5, 5, 1, 6)" in text and "(5, 5, 3, 6)" in text


# ---- torchvision ResNet-18 from .safetensors ----------------------------------------------
try:
    import torch
except ImportError:   # pragma: no cover - torch is in the test extra
    torch = None

if torch is not None:
    nn = torch.nn

    class _BasicBlock(nn.Module):
        """torchvision.models.resnet.BasicBlock."""

        def __init__(self, inplanes, planes, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or inplanes != planes:
                self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                                nn.BatchNorm2d(planes))

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)


    class _TorchResNet18(nn.Module):
        """torchvision.models.resnet18's architecture and state-dict names."""

        def __init__(self, num_classes=1000):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            widths = [64, 64, 128, 256, 512]
            for stage in range(1, 5):
                stride = 1 if stage == 1 else 2
                setattr(self, f"layer{stage}", nn.Sequential(
                    _BasicBlock(widths[stage - 1], widths[stage], stride),
                    _BasicBlock(widths[stage], widths[stage])))
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))


@pytest.fixture(scope="module")
def torch_resnet18(tmp_path_factory):
    """A reference ResNet-18 with non-trivial batch-norm statistics, saved as safetensors."""
    if torch is None:
        pytest.skip("PyTorch is the reference framework (test extra)")
    safetensors_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    net = _TorchResNet18(num_classes=10)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    net.eval()
    path = tmp_path_factory.mktemp("torch") / "resnet18.safetensors"
    safetensors_torch.save_file({k: v.contiguous() for k, v in net.state_dict().items()},
                                str(path))
    return net, path


def test_torchvision_names_cover_the_state_dict(torch_resnet18):
    net, _ = torch_resnet18
    ours = {name for name, *_ in torchvision_resnet18_names()}
    theirs = {k for k in net.state_dict() if not k.endswith("num_batches_tracked")}
    assert ours == theirs and len(ours) == 102


def test_resnet18_from_safetensors_matches_torch(torch_resnet18):
    net, path = torch_resnet18
    model = ResNet18(weights=str(path), input_shape=(64, 64, 3), classes=10,
                     classifier_activation=None)
    images = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype("float32")
    with torch.no_grad():
        expected = net(torch.from_numpy(images.transpose(0, 3, 1, 2).copy())).numpy()
    np.testing.assert_allclose(model.predict(images, verbose=0), expected, rtol=1e-4,
                               atol=1e-4)
    kernel = model.get_layer("conv2_block1_1_conv").kernel.numpy()
    np.testing.assert_array_equal(
        kernel, net.layer1[0].conv1.weight.detach().numpy().transpose(2, 3, 1, 0))
    features = ResNet18(weights=str(path), include_top=False, input_shape=(64, 64, 3),
                        pooling="avg")   # fc is ignored without the top
    assert features.output_shape == (None, 512)


def test_resnet18_safetensors_shape_mismatch_names_the_layer(torch_resnet18):
    _, path = torch_resnet18
    with pytest.raises(ValueError) as error:
        ResNet18(weights=str(path), input_shape=(64, 64, 3), classes=1000)
    text = str(error.value)
    assert "resnet18.safetensors" in text and "'predictions'" in text
    assert "(512, 1000)" in text and "(10, 512)" in text


def test_resnet18_safetensors_wrong_names(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "other.safetensors"
    safetensors_numpy.save_file({"conv.weight": np.zeros((64, 3, 7, 7), "float32")}, str(path))
    with pytest.raises(ValueError, match="not torchvision's ResNet-18 naming"):
        ResNet18(weights=str(path), input_shape=(64, 64, 3))


def test_pickled_and_foreign_formats_refused(tmp_path):
    with pytest.raises(ValueError, match="pickle-based.*safetensors"):
        ResNet18(weights=str(tmp_path / "resnet18.pth"))
    safetensors_file = tmp_path / "x.safetensors"
    safetensors_file.write_bytes(b"")
    with pytest.raises(ValueError, match="only ResNet18 reads"):
        keras.applications.ResNet20(weights=str(safetensors_file))
