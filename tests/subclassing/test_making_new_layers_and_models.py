"""The patterns of the Keras guide "Making new layers and models via subclassing", written
with ``import neuropil as keras`` and ``keras.ops``: weights made with add_weight, lazy build,
nested layers (attributes and lists), add_loss, the training argument, get_config, a Model
subclass trained with fit (synthetic and real MNIST), summary, and the guide's closing VAE."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops


# ---- layers with state ------------------------------------------------------------------
class EagerLinear(keras.layers.Layer):
    """Weights created in __init__ from a known input size."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal",
                                 trainable=True)
        self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


class Linear(keras.layers.Layer):
    """Weights created in build(), once the input size is known; serializable."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units),
                                 initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal",
                                 trainable=True)

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


class ComputeSum(keras.layers.Layer):
    """A non-trainable weight updated in call()."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = self.add_weight(initializer="zeros", shape=(input_dim,), trainable=False)

    def call(self, inputs):
        self.total.assign_add(ops.sum(inputs, axis=0))
        return self.total


def test_linear_layer_weights_are_tracked():
    layer = EagerLinear(4, 2)
    y = layer(ops.ones((2, 2)))
    assert y.shape == (2, 4)
    assert layer.weights == [layer.w, layer.b]
    np.testing.assert_allclose(y.numpy(), np.ones((2, 2)) @ layer.w.numpy(), rtol=1e-6)


def test_non_trainable_weight():
    my_sum = ComputeSum(2)
    x = ops.ones((2, 2))
    np.testing.assert_array_equal(np.asarray(my_sum(x)), [2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(my_sum(x)), [4.0, 4.0])
    assert len(my_sum.weights) == 1 and len(my_sum.non_trainable_weights) == 1
    assert my_sum.trainable_weights == []


def test_lazy_build_and_config_round_trip():
    layer = Linear(32)
    assert not layer.built and layer.weights == []
    y = layer(ops.ones((2, 5)))
    assert y.shape == (2, 32) and layer.w.shape == (5, 32)
    config = Linear(64, name="lin").get_config()
    assert config["units"] == 64 and config["name"] == "lin"
    rebuilt = Linear.from_config(config)
    assert rebuilt.units == 64 and rebuilt.name == "lin"


# ---- composition ------------------------------------------------------------------------
class MLPBlock(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        x = ops.relu(self.linear_2(x))
        return self.linear_3(x)


class Stack(keras.layers.Layer):
    """Sublayers held in a list are tracked too."""

    def __init__(self, depth=3):
        super().__init__()
        self.blocks = [Linear(8) for _ in range(depth)]

    def call(self, inputs):
        for block in self.blocks:
            inputs = ops.tanh(block(inputs))
        return inputs


def test_nested_layers_are_tracked():
    mlp = MLPBlock()
    assert mlp(ops.ones(shape=(3, 64))).shape == (3, 1)
    assert len(mlp.weights) == 6 and len(mlp.trainable_weights) == 6
    stack = Stack()
    stack(np.ones((2, 4), np.float32))
    assert len(stack.trainable_weights) == 6
    stack.trainable = False
    assert stack.trainable_weights == [] and len(stack.non_trainable_weights) == 6


def test_gradients_reach_every_nested_weight():
    mlp = MLPBlock()
    loss = ops.mean(ops.square(mlp(np.random.default_rng(0).normal(size=(4, 3)))))
    loss.backward()
    assert all(w.grad is not None and w.grad.shape == w.shape for w in mlp.trainable_weights)


# ---- losses from call() -------------------------------------------------------------------
class ActivityRegularizationLayer(keras.layers.Layer):
    def __init__(self, rate=1e-2):
        super().__init__()
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.mean(inputs))
        return inputs


class OuterLayer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.activity_reg = ActivityRegularizationLayer(1e-2)

    def call(self, inputs):
        return self.activity_reg(inputs)


class OuterLayerWithKernelRegularizer(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(32, kernel_regularizer=keras.regularizers.l2(1e-3))

    def call(self, inputs):
        return self.dense(inputs)


def test_add_loss_is_reset_on_each_outer_call():
    layer = OuterLayer()
    assert len(layer.losses) == 0
    layer(ops.ones((1, 1)))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(1e-2)
    layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1 and float(layer.losses[0]) == 0.0


def test_losses_include_weight_regularizers():
    layer = OuterLayerWithKernelRegularizer()
    layer(ops.zeros((1, 1)))
    (penalty,) = layer.losses
    expected = 1e-3 * np.sum(np.square(layer.dense.kernel.numpy()))
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


def test_add_loss_is_added_to_the_compiled_loss_in_fit():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).random((64, 3)), np.random.default_rng(1).random((64, 3))
    history = model.fit(x, y, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    y_pred = model.predict(x, verbose=0)
    mse = np.mean((y_pred - y) ** 2)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(mse + 1e-2 * y_pred.mean(), rel=1e-4)


def test_guide_model_without_weights_fits():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, ActivityRegularizationLayer()(inputs))
    model.compile(optimizer="adam", loss="mse")
    with pytest.warns(UserWarning, match="no trainable weights"):
        history = model.fit(np.random.random((2, 3)), np.random.random((2, 3)), verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_compile_without_loss_minimizes_the_added_losses():
    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam")
    history = model.fit(np.random.random((8, 3)), np.random.random((8, 3)), epochs=5,
                        verbose=0).history
    assert history["loss"][-1] < history["loss"][0]  # the activity penalty is minimized


# ---- the training argument -----------------------------------------------------------------
class CustomDropout(keras.layers.Layer):
    def __init__(self, rate, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs, training=None):
        if training:
            return keras.random.dropout(inputs, rate=self.rate)
        return inputs


def test_training_argument():
    layer = CustomDropout(0.5)
    x = np.ones((4, 100), np.float32)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    dropped = layer(x, training=True).numpy()
    assert set(np.unique(dropped)) == {0.0, 2.0}

    class Outer(keras.layers.Layer):  # the flag reaches a nested layer's call()
        def __init__(self):
            super().__init__()
            self.dropout = CustomDropout(0.5)

        def call(self, inputs):
            return self.dropout(inputs)

    assert (Outer()(x, training=True).numpy() == 0).any()


# ---- a Model subclass trained with fit ------------------------------------------------------
class MLP(keras.Model):
    def __init__(self, hidden=64, classes=10, rate=0.0, **kwargs):
        super().__init__(**kwargs)
        self.dense_1 = layers.Dense(hidden, activation="relu")
        self.dropout = CustomDropout(rate)
        self.dense_2 = layers.Dense(classes)

    def call(self, inputs):
        return self.dense_2(self.dropout(self.dense_1(inputs)))


def _mnist_like(n, seed):
    """Ten noisy prototypes of 784 'pixels' in [0, 1]: MNIST's shapes, an easy task."""
    rng = np.random.default_rng(seed)
    prototypes = np.random.default_rng(123).random((10, 784))
    labels = rng.integers(0, 10, n)
    images = np.clip(prototypes[labels] + rng.normal(0, 0.3, (n, 784)), 0, 1)
    return images.astype("float32"), labels


def test_model_subclass_fits_mnist_like_data_and_summarizes(capsys):
    keras.utils.set_random_seed(0)
    model = MLP(rate=0.1)
    model(ops.zeros((1, 784)))
    model.summary()
    printed = capsys.readouterr().out
    assert "Total params: 50,890" in printed and "dense" in printed
    assert len(model.layers) == 3 and len(model.trainable_weights) == 4
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["sparse_categorical_accuracy"])
    x, y = _mnist_like(1024, seed=1)
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    x_test, y_test = _mnist_like(256, seed=2)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.95
    np.testing.assert_array_equal(model.predict(x_test, verbose=0),
                                  model.predict(x_test, verbose=0))  # no dropout in predict


def test_model_subclass_fits_real_mnist(shared_datasets):
    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(
        path=shared_datasets / "mnist")
    x_train = x_train[:3000].reshape(-1, 784).astype("float32") / 255
    x_test = x_test[:1000].reshape(-1, 784).astype("float32") / 255
    model = MLP()
    model.compile(optimizer="adam",
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x_train, y_train[:3000], batch_size=32, epochs=2, verbose=0)
    _, accuracy = model.evaluate(x_test, y_test[:1000], verbose=0)
    assert accuracy > 0.82  # 3,000 images, 2 epochs (measured 0.85-0.88 over seeds)


# ---- the guide's end-to-end example: a variational autoencoder -----------------------------
class Sampling(layers.Layer):
    """z = mean + exp(log_var / 2) · epsilon, epsilon ~ N(0, 1)."""

    def call(self, inputs):
        z_mean, z_log_var = inputs
        batch, dim = ops.shape(z_mean)[0], ops.shape(z_mean)[1]
        epsilon = keras.random.normal(shape=(batch, dim))
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


class Encoder(layers.Layer):
    def __init__(self, latent_dim=8, intermediate_dim=32, name="encoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_mean = layers.Dense(latent_dim)
        self.dense_log_var = layers.Dense(latent_dim)
        self.sampling = Sampling()

    def call(self, inputs):
        x = self.dense_proj(inputs)
        z_mean, z_log_var = self.dense_mean(x), self.dense_log_var(x)
        return z_mean, z_log_var, self.sampling((z_mean, z_log_var))


class Decoder(layers.Layer):
    def __init__(self, original_dim, intermediate_dim=32, name="decoder", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
        self.dense_output = layers.Dense(original_dim, activation="sigmoid")

    def call(self, inputs):
        return self.dense_output(self.dense_proj(inputs))


class VariationalAutoEncoder(keras.Model):
    def __init__(self, original_dim, intermediate_dim=32, latent_dim=8, name="autoencoder",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
        self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

    def call(self, inputs):
        z_mean, z_log_var, z = self.encoder(inputs)
        reconstructed = self.decoder(z)
        kl_loss = -0.5 * ops.mean(z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1)
        self.add_loss(kl_loss)
        return reconstructed


def test_variational_autoencoder_trains():
    keras.utils.set_random_seed(0)
    x, _ = _mnist_like(512, seed=3)
    vae = VariationalAutoEncoder(784)
    vae.compile(keras.optimizers.Adam(learning_rate=1e-3),
                loss=keras.losses.MeanSquaredError())
    history = vae.fit(x, x, epochs=3, batch_size=64, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.6 * losses[0]
    assert len(vae.losses) == 1  # the KL term of the last forward pass only
