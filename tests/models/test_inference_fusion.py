"""Conv2D -> BatchNormalization (-> relu) chains folded into one convolution in inference
(``models/fusion.py``): same predictions as the layers run one by one, and no folding where
the result could differ."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.autodiff import Tensor, no_grad
from neuropil.models import fusion


def trained_bn(layer, channels, seed):
    """Give a BatchNormalization layer non-trivial statistics and affine weights."""
    rng = np.random.default_rng(seed)
    layer.moving_mean.assign(rng.normal(size=channels))
    layer.moving_variance.assign(rng.uniform(0.5, 2.0, size=channels))
    if layer.gamma is not None:
        layer.gamma.assign(rng.uniform(0.5, 1.5, size=channels))
    if layer.beta is not None:
        layer.beta.assign(rng.normal(size=channels))


def unfused(model, x):
    """The model's inference output with every layer run on its own."""
    original = fusion.inference_chains
    fusion_free = lambda nodes, outputs: {}  # noqa: E731
    import neuropil.models.functional as functional
    functional.inference_chains = fusion_free
    try:
        with no_grad():
            return model(x, training=False).numpy()
    finally:
        functional.inference_chains = original


def chains_of(model):
    return fusion.inference_chains(model._nodes, model.outputs)


def block(x, filters, strides=1, relu=layers.ReLU, use_bias=False, center=True, scale=True):
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=use_bias)(x)
    y = layers.BatchNormalization(center=center, scale=scale)(y)
    return relu()(y) if relu is not None else y


@pytest.mark.parametrize("relu, use_bias, center, scale", [
    (layers.ReLU, False, True, True),
    (lambda: layers.Activation("relu"), True, True, True),
    (None, True, False, False),
    (layers.ReLU, True, False, True),
])
def test_a_chain_predicts_what_its_layers_predict(relu, use_bias, center, scale):
    inputs = keras.Input((9, 8, 3))
    outputs = layers.GlobalAveragePooling2D()(
        block(block(inputs, 8, relu=relu, use_bias=use_bias, center=center, scale=scale), 12,
              strides=2))
    model = keras.Model(inputs, outputs)
    for index, layer in enumerate(model.layers):
        if isinstance(layer, layers.BatchNormalization):
            trained_bn(layer, layer.moving_mean.shape[0], seed=index)
    assert len(chains_of(model)) == 2
    x = np.random.default_rng(0).normal(size=(5, 9, 8, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), unfused(model, x), rtol=1e-5,
                               atol=1e-5)


def test_resnet20_predict_is_unchanged_by_fusion():
    model = keras.applications.ResNet20(input_shape=(32, 32, 3), classes=10)
    for index, layer in enumerate(model.layers):
        if isinstance(layer, layers.BatchNormalization):
            trained_bn(layer, layer.moving_mean.shape[0], seed=index)
    assert len(chains_of(model)) >= 19
    x = np.random.default_rng(1).normal(size=(4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(x, verbose=0), unfused(model, x), rtol=1e-4,
                               atol=1e-6)


def test_no_chain_where_an_intermediate_result_is_used_elsewhere():
    inputs = keras.Input((6, 6, 2))
    conv = layers.Conv2D(4, 3, padding="same")(inputs)
    normed = layers.BatchNormalization()(conv)
    both = layers.Add()([normed, conv])  # the conv's output is read twice
    model = keras.Model(inputs, both)
    assert chains_of(model) == {}
    # A model output is not folded away either.
    inputs = keras.Input((6, 6, 2))
    conv = layers.Conv2D(4, 3, padding="same")(inputs)
    model = keras.Model(inputs, [conv, layers.BatchNormalization()(conv)])
    assert chains_of(model) == {}


def test_no_chain_for_other_convolutions_activations_or_axes():
    inputs = keras.Input((6, 6, 4))
    a = layers.BatchNormalization()(layers.Conv2D(4, 3, activation="relu")(inputs))
    b = layers.BatchNormalization()(layers.Conv2D(4, 3, groups=2)(inputs))
    c = layers.BatchNormalization(axis=1)(layers.Conv2D(4, 3)(inputs))
    d = layers.BatchNormalization()(layers.DepthwiseConv2D(3)(inputs))
    model = keras.Model(inputs, [a, b, c, d])
    assert chains_of(model) == {}
    # A capped relu is not folded (the conv + batch norm still are).
    inputs = keras.Input((6, 6, 4))
    capped = layers.ReLU(max_value=6.0)(layers.BatchNormalization()(layers.Conv2D(4, 3)(inputs)))
    model = keras.Model(inputs, capped)
    (chain,) = chains_of(model).values()
    assert not chain.relu
    x = np.random.default_rng(2).normal(size=(2, 6, 6, 4)).astype("float32") * 10
    # float32: folding the scale into the kernel rounds differently (values up to ~100)
    np.testing.assert_allclose(model.predict(x, verbose=0), unfused(model, x), rtol=1e-5,
                               atol=1e-4)


def test_only_inference_without_gradients_is_fused(monkeypatch):
    """Training calls and calls that record gradients run the layers one by one; predict,
    evaluate and no_grad calls run the chain."""
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, block(inputs, 3))
    model.compile(optimizer="sgd", loss="mse")
    calls = []
    original = fusion.Chain.run
    monkeypatch.setattr(fusion.Chain, "run",
                        lambda self, value: calls.append(1) or original(self, value))
    x = np.ones((2, 6, 6, 2), "float32")
    model(Tensor(x), training=True)
    model(Tensor(x), training=False)  # gradients recorded: layers run one by one
    model.train_on_batch(x, np.zeros((2, 6, 6, 3), "float32"))
    assert not calls
    model.predict(x, verbose=0)
    assert len(calls) == 1
    model.evaluate(x, np.zeros((2, 6, 6, 3), "float32"), verbose=0)
    with no_grad():
        model(x)
    assert len(calls) == 3


def test_fusion_uses_the_current_weights_after_training():
    inputs = keras.Input((8, 8, 1))
    x = block(inputs, 4)
    outputs = layers.Dense(2, activation="softmax")(layers.Flatten()(x))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    data = np.random.default_rng(3).normal(size=(16, 8, 8, 1)).astype("float32")
    before = model.predict(data, verbose=0)
    model.fit(data, np.arange(16) % 2, epochs=2, verbose=0)
    after = model.predict(data, verbose=0)
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, unfused(model, data), rtol=1e-5, atol=1e-6)


def test_residual_blocks_fold_their_add_and_relu():
    """conv -> bn -> Add([., shortcut]) -> relu runs as one convolution with a residual,
    whether the shortcut is the block's input or a projection (itself a chain)."""
    inputs = keras.Input((8, 8, 4))
    x = block(inputs, 4)
    y = layers.BatchNormalization()(layers.Conv2D(4, 3, padding="same", use_bias=False)(x))
    x = layers.ReLU()(layers.Add()([y, x]))                      # identity shortcut
    y = block(x, 6, strides=2)
    y = layers.BatchNormalization()(layers.Conv2D(6, 3, padding="same")(y))
    shortcut = layers.BatchNormalization()(layers.Conv2D(6, 1, strides=2)(x))
    x = layers.Activation("relu")(layers.Add()([shortcut, y]))   # projection, other order
    model = keras.Model(inputs, layers.GlobalAveragePooling2D()(x))
    for index, layer in enumerate(model.layers):
        if isinstance(layer, layers.BatchNormalization):
            trained_bn(layer, layer.moving_mean.shape[0], seed=index)
    chains = list(chains_of(model).values())
    assert sum(chain.shortcut is not None for chain in chains) == 2
    assert len(chains) == 5
    data = np.random.default_rng(4).normal(size=(3, 8, 8, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(data, verbose=0), unfused(model, data),
                               rtol=1e-5, atol=1e-5)
