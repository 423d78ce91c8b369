"""Constraints in use: every `*_constraint` argument reaches its weight (`variable.constraint`)
and its config; every optimizer applies them after the update (fit, train_on_batch, a custom
loop, clipped gradients); .keras files keep them."""
from __future__ import annotations

import inspect
import json
import zipfile

import numpy as np
import pytest

import neuropil as keras
from neuropil import constraints, layers

# layer -> (constructor arguments, one sample's shape, {constraint argument: weight attribute})
KERNEL_BIAS = {"kernel_constraint": "kernel", "bias_constraint": "bias"}
BETA_GAMMA = {"beta_constraint": "beta", "gamma_constraint": "gamma"}
LAYERS = {
    "Dense": (dict(units=3), (4,), KERNEL_BIAS),
    "Conv2D": (dict(filters=2, kernel_size=3), (5, 5, 2), KERNEL_BIAS),
    "Conv2DTranspose": (dict(filters=2, kernel_size=3), (4, 4, 2), KERNEL_BIAS),
    "DepthwiseConv2D": (dict(kernel_size=3), (5, 5, 2),
                        {"depthwise_constraint": "kernel", "bias_constraint": "bias"}),
    "SeparableConv2D": (dict(filters=2, kernel_size=3), (5, 5, 2),
                        {"depthwise_constraint": "depthwise_kernel",
                         "pointwise_constraint": "pointwise_kernel", "bias_constraint": "bias"}),
    "Conv1D": (dict(filters=2, kernel_size=3), (6, 2), KERNEL_BIAS),
    "Conv1DTranspose": (dict(filters=2, kernel_size=3), (6, 2), KERNEL_BIAS),
    "DepthwiseConv1D": (dict(kernel_size=3), (6, 2),
                        {"depthwise_constraint": "kernel", "bias_constraint": "bias"}),
    "SeparableConv1D": (dict(filters=2, kernel_size=3), (6, 2),
                        {"depthwise_constraint": "depthwise_kernel",
                         "pointwise_constraint": "pointwise_kernel", "bias_constraint": "bias"}),
    "BatchNormalization": (dict(), (4,), BETA_GAMMA),
    "LayerNormalization": (dict(), (4,), BETA_GAMMA),
    "GroupNormalization": (dict(groups=2), (4,), BETA_GAMMA),
    "PReLU": (dict(), (4,), {"alpha_constraint": "alpha"}),
}


def _constraint_arguments(cls) -> set:
    return {name for name in inspect.signature(cls.__init__).parameters
            if name.endswith("_constraint")}


def test_the_table_covers_every_layer_with_constraint_arguments():
    found = {}
    for name in layers.__all__:
        cls = getattr(layers, name)
        if isinstance(cls, type) and issubclass(cls, layers.Layer) and \
                _constraint_arguments(cls):
            found[cls.__name__] = _constraint_arguments(cls)  # aliases: Convolution2D
    assert found == {name: set(spec[2]) for name, spec in LAYERS.items()}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_constraint_argument_reaches_its_weight_and_the_config(name):
    kwargs, shape, weights = LAYERS[name]
    # a name, an object and a config dict: all three identifier kinds
    given = dict(zip(weights, ["non_neg", constraints.MaxNorm(1.5, axis=[0]),
                               constraints.serialize(constraints.UnitNorm(axis=-1))]))
    layer = getattr(layers, name)(**kwargs, **given)
    layer(np.zeros((2, *shape), "float32"))
    config = layer.get_config()
    json.dumps(config)  # plain data only
    clone = type(layer).from_config(config)
    clone(np.zeros((2, *shape), "float32"))
    for argument, attribute in weights.items():
        expected = constraints.get(given[argument])
        for owner in (layer, clone):
            constraint = getattr(owner, argument)
            assert isinstance(constraint, constraints.Constraint)
            assert type(constraint) is type(expected)
            assert constraint.get_config() == expected.get_config()
            assert getattr(owner, attribute).constraint is constraint
        assert config[argument] == constraints.serialize(expected)


def test_no_constraint_is_none_everywhere():
    layer = layers.Dense(2)
    layer(np.zeros((1, 3), "float32"))
    assert layer.kernel_constraint is None and layer.kernel.constraint is None
    assert layer.get_config()["kernel_constraint"] is None


def test_bad_constraint_argument_is_refused_at_construction():
    with pytest.raises(ValueError, match="Unknown constraint: 'maxnorm'"):
        layers.Dense(2, kernel_constraint="maxnorm")
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        layers.PReLU(alpha_constraint=0.5)


def test_keras_written_layer_config_loads_its_constraints():
    config = layers.Dense(4).get_config()
    config["kernel_constraint"] = {"module": "keras.constraints", "class_name": "MaxNorm",
                                   "config": {"max_value": 2, "axis": 0},
                                   "registered_name": None}
    layer = keras.saving.deserialize_keras_object(
        {"module": "keras.layers", "class_name": "Dense", "config": config,
         "registered_name": None})
    assert isinstance(layer.kernel_constraint, constraints.MaxNorm)
    assert layer.kernel_constraint.get_config() == {"max_value": 2, "axis": 0}


# ---- training honours them ------------------------------------------------------------------
def _regression(seed=0, n=64, features=8, units=3, scale=10.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, units)) * scale).astype("float32")
    return x, y


def _dense_model(**kwargs):
    model = keras.Sequential([keras.Input((8,)),
                              layers.Dense(3, kernel_initializer=keras.initializers.
                                           GlorotUniform(seed=1), **kwargs)])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    return model


def test_max_norm_dense_keeps_every_column_norm_bounded_through_fit():
    x, y = _regression()
    constrained = _dense_model(kernel_constraint=constraints.MaxNorm(1.0))
    twin = _dense_model()
    constrained.fit(x, y, epochs=5, batch_size=16, verbose=0)
    twin.fit(x, y, epochs=5, batch_size=16, verbose=0)
    assert np.all(np.linalg.norm(constrained.layers[0].kernel.numpy(), axis=0) <= 1 + 1e-6)
    assert np.linalg.norm(twin.layers[0].kernel.numpy(), axis=0).max() > 2.0


def test_non_neg_bias_through_train_on_batch():
    x = np.ones((8, 8), "float32")
    y = np.full((8, 3), -20.0, "float32")  # pulls the bias down hard
    constrained = _dense_model(bias_constraint="non_neg")
    twin = _dense_model()
    for _ in range(3):
        constrained.train_on_batch(x, y)
        twin.train_on_batch(x, y)
    assert np.all(constrained.layers[0].bias.numpy() >= 0)
    assert np.all(twin.layers[0].bias.numpy() < 0)


def test_custom_loop_with_optimizer_apply():
    x, y = _regression(scale=-10.0)
    results = {}
    for label, constraint in (("constrained", constraints.NonNeg()), ("twin", None)):
        layer = layers.Dense(3, kernel_constraint=constraint,
                             kernel_initializer=keras.initializers.GlorotUniform(seed=2))
        optimizer = keras.optimizers.Adam(learning_rate=0.5)
        layer(x)
        for _ in range(3):
            loss = keras.ops.mean(keras.ops.square(layer(x) - y))
            loss.backward()
            optimizer.apply([w.grad for w in layer.trainable_weights],
                            layer.trainable_weights)
            for w in layer.trainable_weights:
                w.grad = None
        results[label] = layer.kernel.numpy()
    assert results["constrained"].min() >= 0
    assert results["twin"].min() < -0.5


OPTIMIZERS = ["SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Adamax", "Nadam",
              "Lion", "Ftrl"]
CLIPPING = [{}, {"clipnorm": 0.5}, {"clipvalue": 0.1}, {"global_clipnorm": 0.5}]


@pytest.mark.parametrize("clipping", CLIPPING, ids=lambda c: next(iter(c), "no_clip"))
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_applies_the_constraint_after_its_update(name, clipping):
    def step(constraint):
        variable = keras.Variable(np.full((3,), 1e-4, "float32"), name="w")
        variable.constraint = constraint
        optimizer = getattr(keras.optimizers, name)(learning_rate=1.0, **clipping)
        optimizer.apply([np.ones(3, "float32")], [variable])  # pushes w below zero
        return variable.numpy()
    assert np.all(step(constraints.NonNeg()) == 0)
    assert np.all(step(None) < 0)  # the twin shows the constraint did the work


def test_keras_style_constraint_written_with_ops():
    class NonNegative(constraints.Constraint):  # the example of Keras's Constraint docstring
        def __call__(self, w):
            return w * keras.ops.cast(keras.ops.greater_equal(w, 0.0), dtype=w.dtype)

    variable = keras.Variable(np.array([0.1, -0.2, 0.3], "float32"))
    variable.constraint = NonNegative()
    keras.optimizers.SGD(learning_rate=1.0).apply([np.array([1.0, 0.0, 0.0], "float32")],
                                                  [variable])
    np.testing.assert_array_equal(variable.numpy(), np.array([0.0, 0.0, 0.3], "float32"))


def test_conv2d_max_norm_per_filter_through_fit():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 6, 6, 2)).astype("float32")
    y = (rng.normal(size=(16, 4, 4, 3)) * 10).astype("float32")

    def model(constraint):
        model = keras.Sequential([keras.Input((6, 6, 2)), layers.Conv2D(
            3, 3, kernel_constraint=constraint,
            kernel_initializer=keras.initializers.GlorotUniform(seed=4))])
        model.compile(keras.optimizers.SGD(learning_rate=0.05), "mse")
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        kernel = model.layers[0].kernel
        return kernel, np.sqrt(np.sum(kernel.numpy() ** 2, axis=(0, 1, 2)))
    kernel, norms = model(constraints.MaxNorm(0.5, axis=[0, 1, 2]))
    assert isinstance(kernel.constraint, constraints.MaxNorm)
    assert norms.shape == (3,) and np.all(norms <= 0.5 + 1e-6)
    assert model(None)[1].max() > 0.6


def test_batch_normalization_gamma_and_beta_constraints_through_fit():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.full((32, 4), -3.0, "float32")  # pulls beta below zero

    def model(**kwargs):
        model = keras.Sequential([keras.Input((4,)), layers.BatchNormalization(**kwargs)])
        model.compile(keras.optimizers.SGD(learning_rate=0.2), "mse")
        model.fit(x, y, epochs=3, batch_size=8, verbose=0)
        return model.layers[0]
    layer = model(gamma_constraint=constraints.UnitNorm(), beta_constraint="non_neg")
    assert layer.gamma.constraint is layer.gamma_constraint
    assert np.linalg.norm(layer.gamma.numpy()) == pytest.approx(1.0, abs=1e-5)
    assert np.all(layer.beta.numpy() >= 0)
    twin = model()
    assert np.all(twin.beta.numpy() < 0)
    assert abs(np.linalg.norm(twin.gamma.numpy()) - 1.0) > 0.1


# ---- saving -------------------------------------------------------------------------------------
def _constrained_model():
    model = keras.Sequential([
        keras.Input((6, 6, 1)),
        layers.Conv2D(2, 3, kernel_constraint=constraints.MaxNorm(0.7, axis=[0, 1, 2]),
                      bias_constraint="non_neg"),
        layers.BatchNormalization(gamma_constraint=constraints.MinMaxNorm(0.5, 1.0, 0.5)),
        layers.Flatten(),
        layers.Dense(3, kernel_constraint=constraints.UnitNorm())])
    model.compile(keras.optimizers.SGD(learning_rate=0.1), "mse")
    return model


def _constraint_configs(model) -> list:
    found = []
    for layer in model.layers:
        for weight in layer.weights:
            if weight.constraint is not None:
                found.append((layer.name, weight.name, type(weight.constraint).__name__,
                              weight.constraint.get_config()))
    return found


def test_keras_file_round_trip_keeps_constraints(tmp_path):
    rng = np.random.default_rng(6)
    x = rng.normal(size=(8, 6, 6, 1)).astype("float32")
    y = rng.normal(size=(8, 3)).astype("float32") * 5
    model = _constrained_model()
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "constrained.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    dense_config = config["config"]["layers"][-1]["config"]
    assert dense_config["kernel_constraint"] == {
        "module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": 0},
        "registered_name": None}

    loaded = keras.models.load_model(path)
    expected = _constraint_configs(model)
    assert len(expected) == 4 and _constraint_configs(loaded) == expected
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    loaded.fit(x, y, epochs=2, verbose=0)  # the loaded constraints still act
    np.testing.assert_allclose(np.linalg.norm(loaded.layers[-1].kernel.numpy(), axis=0), 1.0,
                               rtol=1e-5)
    assert np.all(loaded.layers[0].bias.numpy() >= 0)


@keras.saving.register_keras_serializable(package="test_layer_constraints")
class ClipTo(constraints.Constraint):
    """A user's constraint: registered, so a .keras file can name it."""

    def __init__(self, limit=1.0):
        self.limit = limit

    def __call__(self, w):
        return np.clip(np.asarray(getattr(w, "data", w)), -self.limit, self.limit)

    def get_config(self):
        return {"limit": self.limit}


class Unregistered(ClipTo):
    pass


@keras.saving.register_keras_serializable(package="test_layer_constraints")
def absolute(w):
    """A user's constraint function, registered."""
    return np.abs(np.asarray(getattr(w, "data", w)))


def test_registered_custom_constraint_round_trips_without_custom_objects(tmp_path):
    model = keras.Sequential([keras.Input((4,)), layers.Dense(2, kernel_constraint=ClipTo(0.3),
                                                              bias_constraint=absolute)])
    path = tmp_path / "custom.keras"
    model.save(path)
    written = json.loads(zipfile.ZipFile(path).read("config.json"))
    dense_config = written["config"]["layers"][-1]["config"]
    assert dense_config["kernel_constraint"]["registered_name"] == \
        "test_layer_constraints>ClipTo"  # as Keras names a registered class
    loaded = keras.models.load_model(path)
    constraint = loaded.layers[0].kernel.constraint
    assert type(constraint) is ClipTo and constraint.limit == 0.3
    assert loaded.layers[0].bias.constraint is absolute


def test_unregistered_custom_constraint_needs_custom_objects(tmp_path):
    model = keras.Sequential([keras.Input((4,)),
                              layers.Dense(2, kernel_constraint=Unregistered(0.2))])
    path = tmp_path / "unregistered.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Unregistered"):
        keras.models.load_model(path)
    loaded = keras.models.load_model(path, custom_objects={"Unregistered": Unregistered})
    assert type(loaded.layers[0].kernel_constraint) is Unregistered
    assert loaded.layers[0].kernel.constraint.limit == 0.2


def test_lambda_constraint_copies_in_memory_but_is_not_saved(tmp_path):
    layer = layers.Dense(2, kernel_constraint=lambda w: np.clip(np.asarray(w), -1, 1))
    clone = layers.Dense.from_config(layer.get_config())
    assert clone.kernel_constraint is layer.kernel_constraint
    model = keras.Sequential([keras.Input((3,)), layer])
    with pytest.raises(TypeError, match="lambda"):
        model.save(tmp_path / "lambda.keras")
