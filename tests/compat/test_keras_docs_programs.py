"""Keras documentation programs (trimmed) that once failed on neuropil.

From the guides "Customizing what happens in fit()" (a ``keras.Model`` subclass built with
``CustomModel(inputs, outputs)``, ``train_step(self, data)`` / ``test_step(self, data)``
overrides, custom ``metrics``, the GAN), the callbacks API reference
(``round(model.optimizer.learning_rate, 5)``) and "The Functional API"
(``keras.utils.plot_model``).
"""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, 8)).astype("float32"), rng.random((n, 1)).astype("float32")


class GuideModel(keras.Model):
    """The guide's first example: train_step(self, data) looping over self.metrics."""

    def train_step(self, data):
        x, y = data
        y_pred = self(x, training=True)
        loss = self.compute_loss(y=y, y_pred=y_pred)
        loss.backward()
        trainable_weights = [v for v in self.trainable_weights]
        gradients = [v.grad for v in trainable_weights]
        self.optimizer.apply(gradients, trainable_weights)
        for metric in self.metrics:
            if metric.name == "loss":
                metric.update_state(loss)
            else:
                metric.update_state(y, y_pred)
        return {m.name: m.result() for m in self.metrics}


def _functional(cls, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(8,))
    outputs = layers.Dense(1)(layers.Dense(4, activation="relu")(inputs))
    return cls(inputs, outputs)


def test_model_subclass_called_with_inputs_and_outputs_is_functional():
    model = _functional(GuideModel)
    assert isinstance(model, keras.Model)
    assert isinstance(model, keras.models.Functional)
    assert model.output_shape == (None, 1)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense", "Dense"]


def test_train_step_taking_data_matches_the_built_in_step():
    x, y = _data()
    custom, plain = _functional(GuideModel), _functional(keras.Model)
    plain.set_weights(custom.get_weights())
    for model in (custom, plain):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse",
                      metrics=["mae"])
    history = custom.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    expected = plain.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    # Same steps: the compiled metrics are built by the loop over self.metrics, and each
    # step starts from clean gradients (they would otherwise add up across batches).
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["mae"], expected.history["mae"], rtol=1e-5)
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_custom_metrics_property_and_compile_without_loss():
    class CustomModel(keras.Model):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data
            self.zero_grad()
            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)
            loss.backward()
            self.optimizer.apply([v.grad for v in self.trainable_weights],
                                 self.trainable_weights)
            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {"loss": self.loss_tracker.result(), "mae": self.mae_metric.result()}

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    x, y = _data(256)
    model = _functional(CustomModel)
    model.compile(optimizer="adam")
    history = model.fit(x, y, epochs=3, verbose=0)
    assert sorted(history.history) == ["loss", "mae"]
    assert history.history["loss"][-1] < history.history["loss"][0]
    # Reset at each epoch: the epoch's value is the mean of its own 8 batch losses.
    assert float(model.loss_tracker.count) == 8


def test_sample_weight_reaches_a_train_step_taking_data():
    seen = []

    class CustomModel(GuideModel):
        def train_step(self, data):
            seen.append(len(data))
            return super().train_step(data[:2])

    x, y = _data()
    model = _functional(CustomModel)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, sample_weight=np.ones(len(x)), batch_size=32, verbose=0)
    model.fit(x, y, batch_size=32, verbose=0)
    assert seen == [3, 3, 2, 2]


def test_test_step_taking_data_and_super_train_step():
    class CustomModel(keras.Model):
        steps = 0

        def train_step(self, data):
            self.steps += 1
            return super().train_step(data)

        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name != "loss":
                    metric.update_state(y, y_pred)
                else:
                    metric.update_state(loss)
            return {m.name: m.result() for m in self.metrics}

    x, y = _data(100)
    model = _functional(CustomModel)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, epochs=1, batch_size=20, validation_split=0.2, verbose=0)
    assert model.steps == 4
    assert sorted(history.history) == ["loss", "mae", "val_loss", "val_mae"]
    loss, mae = model.evaluate(x, y, batch_size=100, verbose=0)
    expected = np.mean((model.predict(x, verbose=0) - y) ** 2)
    assert loss == pytest.approx(expected, rel=1e-5)
    assert 0 < mae < 1


def test_subclassed_model_train_step_without_zero_grad():
    class MLP(keras.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    class CustomMLP(MLP):
        train_step = GuideModel.train_step

    x, y = _data()
    custom, plain = CustomMLP(), MLP()
    custom(x[:1]), plain(x[:1])
    plain.set_weights(custom.get_weights())
    for model in (custom, plain):
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
        model.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0)
    for a, b in zip(custom.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gan_style_fit_without_targets():
    latent_dim = 3
    discriminator = keras.Sequential([keras.Input((4,)), layers.Dense(1)])
    generator = keras.Sequential([keras.Input((latent_dim,)), layers.Dense(4)])

    class GAN(keras.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        def train_step(self, real_images):
            if isinstance(real_images, tuple):
                real_images = real_images[0]
            batch_size = real_images.shape[0]
            noise = keras.random.normal(shape=(batch_size, self.latent_dim),
                                        seed=self.seed_generator)
            combined = ops.concatenate([self.generator(noise), real_images], axis=0)
            labels = ops.concatenate([ops.ones((batch_size, 1)), ops.zeros((batch_size, 1))],
                                     axis=0)
            self.zero_grad()
            d_loss = self.loss_fn(labels, self.discriminator(combined))
            d_loss.backward()
            self.d_optimizer.apply([v.grad for v in self.discriminator.trainable_weights],
                                   self.discriminator.trainable_weights)
            self.zero_grad()
            noise = keras.random.normal(shape=(batch_size, self.latent_dim),
                                        seed=self.seed_generator)
            g_loss = self.loss_fn(ops.zeros((batch_size, 1)),
                                  self.discriminator(self.generator(noise)))
            g_loss.backward()
            self.g_optimizer.apply([v.grad for v in self.generator.trainable_weights],
                                   self.generator.trainable_weights)
            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {"d_loss": self.d_loss_tracker.result(),
                    "g_loss": self.g_loss_tracker.result()}

    gan = GAN(discriminator, generator, latent_dim)
    gan.compile(d_optimizer=keras.optimizers.Adam(3e-4), g_optimizer=keras.optimizers.Adam(3e-4),
                loss_fn=keras.losses.BinaryCrossentropy(from_logits=True))
    before = generator.get_weights()[0].copy()
    history = gan.fit(np.random.rand(40, 4).astype("float32"), epochs=2, batch_size=20,
                      verbose=0)
    assert sorted(history.history) == ["d_loss", "g_loss"]
    assert all(np.isfinite(v) for v in history.history["d_loss"] + history.history["g_loss"])
    assert not np.array_equal(before, generator.get_weights()[0])


def test_round_and_format_a_learning_rate():
    # The LearningRateScheduler reference: round(model.optimizer.learning_rate, 5).
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2)])
    model.compile(keras.optimizers.SGD(), loss="mse")
    assert round(model.optimizer.learning_rate, 5) == 0.01
    assert f"{model.optimizer.learning_rate:.3f}" == "0.010"
    assert round(keras.Variable(2.6)) == 3
    np.testing.assert_allclose(round(keras.Variable(np.array([1.26, 2.0])), 1), [1.3, 2.0])
    assert "shape=(2,)" in f"{keras.Variable(np.zeros(2))}"


def test_backend_name_and_version():
    assert keras.backend.backend() == "numpy" == keras.config.backend()
    assert keras.version() == keras.__version__  # a function in Keras 3


def test_plot_model(tmp_path):
    pytest.importorskip("matplotlib")
    inputs = keras.Input(shape=(784,))
    outputs = layers.Dense(10)(layers.Dense(64, activation="relu")(inputs))
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    path = tmp_path / "my_first_model_with_shape_info.png"
    assert keras.utils.plot_model(model, str(path), show_shapes=True) is None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@keras.saving.register_keras_serializable(package="test_keras_docs_programs")
class LogisticEndpoint(keras.layers.Layer):
    """From "Training & evaluation with the built-in methods": a layer called on two
    tensors, ``LogisticEndpoint(name="predictions")(targets, logits)``, adding its loss."""

    def __init__(self, name=None, **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        loss = self.loss_fn(targets, logits, sample_weights)
        self.add_loss(loss)
        return ops.softmax(logits)


def test_layer_called_on_several_tensors_in_a_functional_model(tmp_path):
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    logits = keras.layers.Dense(10, name="logits")(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)
    assert predictions.shape == (None, 10)
    model = keras.Model(inputs=[inputs, targets], outputs=predictions)
    model.compile(optimizer="adam")  # No loss argument!
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((3, 3)), "targets": rng.random((3, 10))}
    history = model.fit(data, verbose=0)
    assert sorted(history.history) == ["loss"] and np.isfinite(history.history["loss"][0])
    # The graph replays both arguments: the loss is the layer's, on these targets.
    out = model.predict(data, verbose=0)
    np.testing.assert_allclose(out.sum(axis=1), 1, rtol=1e-5)
    node = model.get_config()["layers"][-1]["inbound_nodes"][0]
    assert [a["config"]["keras_history"][0] for a in node["args"]] == ["targets", "logits"]
    path = tmp_path / "endpoint.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    np.testing.assert_allclose(restored.predict(data, verbose=0), out, rtol=1e-6)


def test_tensor_keyword_argument_in_a_functional_model():
    inputs = keras.Input(shape=(3,), name="inputs")
    targets = keras.Input(shape=(10,), name="targets")
    weights = keras.Input(shape=(), name="weights")
    logits = keras.layers.Dense(10)(inputs)
    predictions = LogisticEndpoint()(targets, logits, sample_weights=weights)
    model = keras.Model(inputs=[inputs, targets, weights], outputs=predictions)
    model.compile(optimizer="adam")
    rng = np.random.default_rng(1)
    data = {"inputs": rng.random((4, 3)), "targets": rng.random((4, 10)), "weights": np.ones(4)}
    model.fit(data, verbose=0)
    zero = dict(data, weights=np.zeros(4))
    # The weights tensor reaches the loss: all-zero weights make it zero.
    assert model.evaluate(zero, verbose=0) == pytest.approx(0.0, abs=1e-7)
    assert model.evaluate(data, verbose=0) > 0.1
    clone = keras.models.clone_model(model)
    assert clone.predict(data, verbose=0).shape == (4, 10)


@keras.saving.register_keras_serializable(package="test_keras_docs_programs")
class LayerWithCustomVariable(keras.layers.Dense):
    """From "Save, serialize and export models": a Dense with a Variable held in an
    attribute, and a call(self, inputs, *args, **kwargs) forwarding to Dense.call."""

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.my_variable = keras.Variable(np.random.random((units,)), name="my_variable",
                                          dtype="float32")

    def call(self, inputs, *args, **kwargs):
        return super().call(inputs, *args, **kwargs) + self.my_variable


def test_variable_attribute_is_a_weight_trained_and_saved(tmp_path):
    model = keras.Sequential([LayerWithCustomVariable(1)])
    model.compile(optimizer="adam", loss="mean_squared_error")
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 10)), rng.random((8, 1))
    layer = model.layers[0]
    before = layer.my_variable.numpy().copy()
    # Dense.call() takes no `training`: a **kwargs call does not get one (Keras's rule).
    model.fit(x, y, verbose=0)
    assert any(v is layer.my_variable for v in layer.trainable_weights)
    assert len(layer.weights) == 3
    assert not np.array_equal(before, layer.my_variable.numpy())  # trained
    model.save(tmp_path / "custom_vars_model.keras")
    restored = keras.models.load_model(tmp_path / "custom_vars_model.keras")
    np.testing.assert_allclose(restored.layers[0].my_variable.numpy(),
                               layer.my_variable.numpy())
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_kwargs_call_still_sees_training_inside():
    class Wrapper(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dropout = layers.Dropout(0.5)

        def call(self, inputs, **kwargs):
            assert "training" not in kwargs
            return self.dropout(inputs)

    layer = Wrapper()
    x = np.ones((4, 100), "float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    assert (np.asarray(layer(x, training=True)) == 0).any()


def test_layers_serialize_deserialize():
    config = keras.layers.serialize(layers.Dense(3, activation="relu", name="d"))
    assert config["class_name"] == "Dense" and config["config"]["units"] == 3
    layer = keras.layers.deserialize(config)
    assert isinstance(layer, layers.Dense) and layer.units == 3 and layer.name == "d"


def test_training_loop_from_scratch():
    # "Writing a training loop from scratch" (its torch form, neuropil's gradients in .grad).
    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(8,), name="digits")
    outputs = keras.layers.Dense(3, name="predictions")(
        keras.layers.Dense(16, activation="relu")(inputs))
    model = keras.Model(inputs=inputs, outputs=outputs)
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    loss_fn = keras.losses.CategoricalCrossentropy(from_logits=True)
    train_acc_metric = keras.metrics.CategoricalAccuracy()
    rng = np.random.default_rng(0)
    x = rng.random((96, 8)).astype("float32")
    y = keras.utils.to_categorical(np.argmax(x[:, :3], axis=1), 3)
    lines, losses = [], []
    for epoch in range(5):
        for step in range(3):
            xb, yb = x[step * 32:(step + 1) * 32], y[step * 32:(step + 1) * 32]
            logits = model(xb, training=True)
            loss = loss_fn(yb, logits)
            model.zero_grad()
            loss.backward()
            trainable_weights = [v for v in model.trainable_weights]
            gradients = [v.grad for v in trainable_weights]
            optimizer.apply(gradients, trainable_weights)
            train_acc_metric.update_state(yb, logits)
            lines.append(f"Training loss (for 1 batch) at step {step}: {loss:.4f}")
            losses.append(float(loss))
        train_acc_metric.reset_state()
    assert lines[0].startswith("Training loss (for 1 batch) at step 0: ")
    assert len(lines[0].rsplit(" ", 1)[1]) == 6  # "2.3456"
    assert int(optimizer.iterations) == 15
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
