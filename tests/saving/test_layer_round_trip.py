"""Every layer in keras.layers survives get_config -> from_config, and a .keras round trip
inside a Sequential and a functional model (config, weights and predictions equal)."""
from __future__ import annotations

import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from saving_helpers import randomize

# class name -> (constructor arguments, shape of one sample)
SPECS = {
    "Dense": (dict(units=3, activation="tanh", kernel_regularizer="l2"), (4,)),
    "Activation": (dict(activation="sigmoid"), (4,)),
    "Identity": (dict(), (4,)),
    "ReLU": (dict(max_value=1.5, negative_slope=0.1), (4,)),
    "LeakyReLU": (dict(negative_slope=0.2), (4,)),
    "Softmax": (dict(axis=-1), (4,)),
    "ELU": (dict(alpha=0.5), (4,)),
    "Dropout": (dict(rate=0.3, seed=3), (4,)),
    "Flatten": (dict(), (2, 2, 1)),
    "Reshape": (dict(target_shape=(2, 2)), (4,)),
    "Conv2D": (dict(filters=2, kernel_size=3, strides=2, padding="same"), (5, 5, 1)),
    "DepthwiseConv2D": (dict(kernel_size=3, depth_multiplier=2), (5, 5, 2)),
    "SeparableConv2D": (dict(filters=2, kernel_size=3, padding="same"), (5, 5, 2)),
    "Conv2DTranspose": (dict(filters=3, kernel_size=3, strides=2), (4, 4, 2)),
    "MaxPooling2D": (dict(pool_size=2, padding="same"), (5, 5, 1)),
    "AveragePooling2D": (dict(pool_size=(2, 2), strides=1), (4, 4, 1)),
    "GlobalAveragePooling2D": (dict(keepdims=True), (4, 4, 2)),
    "GlobalMaxPooling2D": (dict(), (4, 4, 2)),
    "ZeroPadding2D": (dict(padding=((1, 0), (2, 1))), (3, 3, 1)),
    "Cropping2D": (dict(cropping=((1, 0), (0, 1))), (4, 4, 1)),
    "UpSampling2D": (dict(size=(2, 3)), (2, 2, 1)),
    "Rescaling": (dict(scale=1 / 255, offset=-0.5), (4,)),
    "Normalization": (dict(axis=-1), (3, 3, 2)),
    "Resizing": (dict(height=4, width=5, interpolation="bicubic"), (3, 3, 2)),
    "CenterCrop": (dict(height=2, width=2), (3, 4, 1)),
    "RandomFlip": (dict(mode="horizontal", seed=1), (3, 3, 2)),
    "RandomRotation": (dict(factor=0.1, fill_mode="constant", seed=1), (3, 3, 2)),
    "RandomZoom": (dict(height_factor=(-0.2, 0.1), width_factor=0.2, seed=1), (3, 3, 2)),
    "RandomTranslation": (dict(height_factor=0.1, width_factor=(-0.2, 0.2)), (3, 3, 2)),
    "RandomCrop": (dict(height=2, width=2, seed=1), (3, 4, 1)),
    "RandomContrast": (dict(factor=0.3, value_range=(0, 1)), (3, 3, 2)),
    "RandomBrightness": (dict(factor=(-0.1, 0.2), value_range=(-1, 1)), (3, 3, 2)),
    "BatchNormalization": (dict(momentum=0.9, epsilon=1e-2), (3, 3, 2)),
    "LayerNormalization": (dict(epsilon=1e-2), (4,)),
    "SpatialDropout1D": (dict(rate=0.5), (3, 4)),
    "SpatialDropout2D": (dict(rate=0.5), (3, 3, 4)),
    "SpatialDropout3D": (dict(rate=0.5), (2, 2, 2, 4)),
    "GaussianNoise": (dict(stddev=0.1), (4,)),
    "GaussianDropout": (dict(rate=0.1), (4,)),
    "AlphaDropout": (dict(rate=0.1), (4,)),
    "PReLU": (dict(alpha_initializer="random_uniform", shared_axes=[1]), (3, 2)),
    "GroupNormalization": (dict(groups=2, epsilon=1e-2, gamma_initializer="random_normal"),
                           (3, 4)),
    "UnitNormalization": (dict(axis=[1, 2]), (3, 2)),
    "ActivityRegularization": (dict(l1=0.01, l2=0.02), (4,)),
    "Permute": (dict(dims=(2, 1)), (3, 2)),
    "RepeatVector": (dict(n=3), (4,)),
    "Conv1D": (dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2), (6, 2)),
    "Conv1DTranspose": (dict(filters=2, kernel_size=3, strides=2, output_padding=1), (4, 2)),
    "DepthwiseConv1D": (dict(kernel_size=2, depth_multiplier=2), (5, 2)),
    "SeparableConv1D": (dict(filters=3, kernel_size=3, padding="same"), (5, 2)),
    "MaxPooling1D": (dict(pool_size=3, strides=2, padding="same"), (6, 2)),
    "AveragePooling1D": (dict(pool_size=2, strides=1), (5, 2)),
    "GlobalAveragePooling1D": (dict(keepdims=True), (5, 2)),
    "GlobalMaxPooling1D": (dict(data_format="channels_first"), (2, 5)),
    "UpSampling1D": (dict(size=3), (3, 2)),
    "ZeroPadding1D": (dict(padding=(2, 1)), (3, 2)),
    "Cropping1D": (dict(cropping=(1, 2)), (5, 2)),
    # merge layers: called on [x, x] in the functional round trip (they take a list)
    "Add": (dict(), (4,)),
    "Subtract": (dict(), (4,)),
    "Multiply": (dict(), (4,)),
    "Average": (dict(), (4,)),
    "Maximum": (dict(), (4,)),
    "Minimum": (dict(), (4,)),
    "Concatenate": (dict(axis=1), (2, 3)),
    "Dot": (dict(axes=(2, 2), normalize=True), (2, 3)),
}
_MERGE = {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
# Its config holds a Python function: tests/layers/test_lambda.py covers its saving.
_NOT_LAYERS_TO_TEST = {"Layer", "InputSpec", "Input", "InputLayer", "Lambda"}
CLASSES = sorted({getattr(layers, name).__name__ for name in layers.__all__
                  if isinstance(getattr(layers, name), type)} - _NOT_LAYERS_TO_TEST)


def test_every_public_layer_has_a_spec():
    missing = set(CLASSES) - set(SPECS)
    assert not missing, f"add these layers to SPECS in {__file__}: {sorted(missing)}"


def _layer(name):
    kwargs, shape = SPECS[name]
    return getattr(layers, name)(**kwargs), shape


@pytest.mark.parametrize("name", CLASSES)
def test_config_round_trip(name):
    layer, shape = _layer(name)
    config = layer.get_config()
    json.dumps(config)  # a config is plain JSON data
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def _sample(shape, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (3, *shape)).astype("float32")


def _assert_same_model(model, restored, x):
    assert restored.get_config() == model.get_config()
    assert [w.shape for w in restored.weights] == [w.shape for w in model.weights]
    for saved, loaded in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(saved, loaded)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("name", CLASSES)
def test_sequential_round_trip(name, tmp_path):
    if name in _MERGE:
        pytest.skip("a merge layer takes a list of inputs: see test_functional_round_trip")
    layer, shape = _layer(name)
    model = keras.Sequential([keras.Input(shape), layer, layers.Flatten(),
                              layers.Dense(2)])
    randomize(model)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored.layers[0]) is type(layer)
    _assert_same_model(model, restored, _sample(shape))


@pytest.mark.parametrize("name", CLASSES)
def test_functional_round_trip(name, tmp_path):
    layer, shape = _layer(name)
    inputs = keras.Input(shape, name="x")
    merged = layer([inputs, inputs]) if name in _MERGE else layer(inputs)
    outputs = layers.Dense(2, name="out")(layers.Flatten()(merged))
    model = keras.Model(inputs, outputs)
    randomize(model, seed=1)
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert type(restored) is type(model)
    assert [type(x) for x in restored.layers] == [type(x) for x in model.layers]
    _assert_same_model(model, restored, _sample(shape, seed=2))
