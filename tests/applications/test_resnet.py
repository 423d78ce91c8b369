"""ResNet-20/18/50 and VGG-16: published parameter counts, Keras's layer names and
arguments, output shapes, a forward pass, and the summary's "Connected to" column."""
import time

import numpy as np
import pytest

import neuropil as keras
from neuropil.applications import VGG16, ResNet18, ResNet20, ResNet50


def _trainable(model) -> int:
    return int(sum(w.size for w in model.trainable_weights))


@pytest.fixture(scope="module")
def resnet20():
    keras.utils.set_random_seed(0)
    return ResNet20()


def test_resnet20_architecture(resnet20):
    # 3 stages x 3 basic blocks, 16/32/64 filters, projection shortcuts on stages 2 and 3
    assert resnet20.count_params() == 274_042 and _trainable(resnet20) == 272_474
    assert resnet20.output_shape == (None, 10)
    convs = [layer for layer in resnet20.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 1 + 3 * 3 * 2 + 2  # stem, 18 in blocks, 2 projections
    assert sorted({c.filters for c in convs}) == [16, 32, 64]
    assert resnet20.get_layer("conv3_block1_0_conv").strides == (2, 2)
    assert resnet20.get_layer("conv4_block3_out").output.shape == (None, 8, 8, 64)
    assert [type(layer).__name__ for layer in resnet20.layers[-2:]] == \
        ["GlobalAveragePooling2D", "Dense"]


def test_resnet20_forward_on_two_images(resnet20):
    images = np.random.default_rng(0).uniform(0, 1, (2, 32, 32, 3)).astype("float32")
    probabilities = resnet20.predict(images, verbose=0)
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    features = keras.Model(resnet20.input, resnet20.get_layer("avg_pool").output)
    assert features.predict(images, verbose=0).shape == (2, 64)


def test_resnet20_summary_shows_connections(resnet20):
    lines = []
    resnet20.summary(print_fn=lines.append, line_length=200)
    text = "\n".join(lines)
    assert "Connected to" in text and "Total params: 274,042" in text
    add_row = next(line for line in text.splitlines() if "conv2_block1_add (Add)" in line)
    # the identity shortcut (the stem's relu) and the residual branch's batch norm
    assert "conv1_relu[0][0], conv2_block1_2_bn[0][0]" in add_row
    narrow = []
    resnet20.summary(print_fn=narrow.append, line_length=100)  # the column wraps
    rows = narrow[0].splitlines()
    at = next(i for i, line in enumerate(rows) if "conv2_block1_add (Add)" in line)
    assert "conv1_relu[0][0]," in rows[at] and "conv2_block1_2_bn[0][0]" in rows[at + 1]


def test_resnet20_options():
    logits = ResNet20(classifier_activation=None, classes=100)
    assert logits.output_shape == (None, 100)
    assert logits.get_layer("predictions").activation is keras.activations.linear
    assert ResNet20(include_top=False).output_shape == (None, 8, 8, 64)
    assert ResNet20(include_top=False, pooling="max").output_shape == (None, 64)
    assert ResNet20(input_shape=(16, 16, 1)).output_shape == (None, 10)


def test_resnet18_matches_torchvision_count():
    model = ResNet18()
    assert _trainable(model) == 11_689_512  # torchvision.models.resnet18().parameters()
    assert model.count_params() == 11_689_512 + 2 * 4_800  # + moving mean and variance
    assert model.output_shape == (None, 1000)
    assert all(not conv.use_bias for conv in model.layers
               if isinstance(conv, keras.layers.Conv2D))
    assert model.get_layer("conv5_block2_out").output.shape == (None, 7, 7, 512)


def test_resnet50_matches_keras_count_and_names():
    start = time.perf_counter()
    model = ResNet50()
    built = time.perf_counter() - start
    assert model.count_params() == 25_636_712       # Keras's ResNet50, with top
    assert _trainable(model) == 25_583_592           # Keras: non-trainable 53,120
    assert built < 10, f"building ResNet50 took {built:.1f} s"
    names = [layer.name for layer in model.layers]
    assert names[1:7] == ["conv1_pad", "conv1_conv", "conv1_bn", "conv1_relu", "pool1_pad",
                          "pool1_pool"]
    assert model.get_layer("conv1_conv").use_bias
    assert model.get_layer("conv1_bn").epsilon == pytest.approx(1.001e-5)
    assert model.get_layer("conv2_block1_0_conv").kernel.shape == (1, 1, 64, 256)
    assert model.get_layer("conv3_block1_1_conv").strides == (2, 2)
    assert "conv5_block3_add" in names and names[-2:] == ["avg_pool", "predictions"]
    assert model.get_layer("conv5_block3_out").output.shape == (None, 7, 7, 2048)


def test_keras_input_shape_rules():
    assert ResNet18(include_top=False, input_shape=(64, 64, 3),
                    pooling="avg").output_shape == (None, 512)
    features = ResNet18(include_top=False)
    assert features.input_shape == (None, None, None, 3)
    with pytest.raises(ValueError, match="at least 32x32"):
        ResNet50(input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        ResNet50(input_shape=(None, None, 3))
    with pytest.raises(ValueError, match="`pooling` must be"):
        ResNet18(include_top=False, pooling="sum")
    inputs = keras.Input((32, 32, 3))
    assert ResNet20(input_tensor=inputs).input is inputs


def test_imagenet_weights_need_a_local_file(tmp_path):
    for builder in (ResNet50, ResNet18, VGG16, ResNet20):
        with pytest.raises(ValueError, match="no download of pretrained weights"):
            builder(weights="imagenet")
    with pytest.raises(ValueError, match="no such file"):
        ResNet20(weights=str(tmp_path / "missing.weights.h5"))


def test_weights_from_a_local_file(tmp_path, resnet20):
    path = tmp_path / "resnet20.weights.h5"
    resnet20.save_weights(path)
    loaded = ResNet20(weights=str(path))
    for a, b in zip(loaded.get_weights(), resnet20.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_vgg16_counts_without_building_the_top():
    # VGG16 no-top: Keras's 14,714,688. With the top at 224x224x3 it is 138,357,544: the
    # dense layers are counted from the convolutional output rather than allocated (~550 MB).
    convolutional = VGG16(include_top=False, input_shape=(224, 224, 3))
    assert convolutional.count_params() == 14_714_688
    assert convolutional.output_shape == (None, 7, 7, 512)
    flat = int(np.prod(convolutional.output_shape[1:]))
    top = (flat * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    assert convolutional.count_params() + top == 138_357_544
    names = [layer.name for layer in convolutional.layers]
    assert names[1:4] == ["block1_conv1", "block1_conv2", "block1_pool"]
    assert VGG16(include_top=False, input_shape=(32, 32, 3), pooling="avg").output_shape == \
        (None, 512)


@pytest.mark.slow
def test_vgg16_with_top_has_138_million_weights():
    model = VGG16()
    assert model.count_params() == 138_357_544
    assert [layer.name for layer in model.layers[-4:]] == ["flatten", "fc1", "fc2",
                                                          "predictions"]
