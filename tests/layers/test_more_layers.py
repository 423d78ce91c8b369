"""PReLU, GroupNormalization, UnitNormalization, ActivityRegularization, Permute and
RepeatVector: values, gradients (central differences; PyTorch parity for PReLU and
GroupNormalization), Keras's arguments, validation, configs, saving and summaries."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops
from neuropil.autodiff import Tensor
from neuropil.layers.normalization import group_norm
from helpers import check_op, random_array

RNG = np.random.default_rng(7)
BASE_KEYS = {"name", "trainable", "dtype"}


def forward_backward(layer, x, out_weights):
    """Runs ``layer`` on x, backpropagates sum(out · out_weights); returns (out, dx)."""
    inputs = Tensor(x, requires_grad=True)
    out = layer(inputs)
    (out * Tensor(out_weights)).sum().backward()
    return out.numpy(), inputs.grad


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


# ---- PReLU -----------------------------------------------------------------------------
def test_prelu_by_hand_and_default_is_relu():
    x = np.array([[-4.0, -1.0, 0.0, 2.0]], "float32")
    np.testing.assert_array_equal(layers.PReLU()(x).numpy(), [[0.0, 0.0, 0.0, 2.0]])
    layer = layers.PReLU(alpha_initializer=keras.initializers.Constant(0.25))
    np.testing.assert_array_equal(layer(x).numpy(), [[-1.0, -0.25, 0.0, 2.0]])
    assert [(w.name, w.shape) for w in layer.weights] == [("alpha", (4,))]


@pytest.mark.parametrize("shared_axes, alpha_shape", [(None, (3, 4, 5)), ([1, 2], (1, 1, 5)),
                                                      (1, (1, 4, 5)), ((1, 2, 3), (1, 1, 1))])
def test_prelu_alpha_shape_follows_shared_axes(shared_axes, alpha_shape):
    layer = layers.PReLU(shared_axes=shared_axes)
    assert layer(np.ones((2, 3, 4, 5), "float32")).shape == (2, 3, 4, 5)
    assert layer.alpha.shape == alpha_shape
    # the shared axes may change size from call to call; the others may not
    if shared_axes == [1, 2]:
        assert layer(np.ones((1, 6, 2, 5), "float32")).shape == (1, 6, 2, 5)
        with pytest.raises(ValueError, match="p_re_lu"):
            layer(np.ones((1, 6, 2, 4), "float32"))


@pytest.mark.parametrize("case", ["dense", "conv_shared"])
def test_prelu_matches_torch_forward_and_gradients(case):
    """Keras's PReLU is nn.PReLU: per feature on (N, F); with shared_axes=[1, 2] on
    channels-last images it is nn.PReLU(C) on the channels-first transpose."""
    torch = pytest.importorskip("torch")
    if case == "dense":
        x = RNG.standard_normal((6, 5))
        layer = layers.PReLU(alpha_initializer="random_uniform", dtype="float64")
        to_torch = from_torch = (lambda a: a)
    else:
        x = RNG.standard_normal((2, 4, 3, 5))  # (N, H, W, C)
        layer = layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1, 2],
                             dtype="float64")
        to_torch, from_torch = (lambda a: a.transpose(0, 3, 1, 2)), \
            (lambda a: a.transpose(0, 2, 3, 1))
    layer.build(x.shape)
    alpha = RNG.uniform(0.05, 0.5, layer.alpha.shape)
    layer.set_weights([alpha])
    w = RNG.standard_normal(x.shape)
    ours, dx = forward_backward(layer, x, w)

    theirs = torch.nn.PReLU(num_parameters=x.shape[-1]).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(alpha.reshape(-1)))
    tx = torch.tensor(to_torch(x), requires_grad=True)
    ty = theirs(tx)
    (ty * torch.tensor(to_torch(w))).sum().backward()
    assert max_diff(ours, from_torch(ty.detach().numpy())) < 1e-12
    assert max_diff(dx, from_torch(tx.grad.numpy())) < 1e-12
    assert max_diff(layer.alpha.grad.reshape(-1), theirs.weight.grad.numpy()) < 1e-12
    assert np.abs(layer.alpha.grad).max() > 0.1  # a real gradient reached alpha


def test_prelu_float32_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((8, 7)).astype("float32")
    layer = layers.PReLU(alpha_initializer="random_uniform")
    layer.build(x.shape)
    theirs = torch.nn.PReLU(7)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(layer.alpha.numpy()))
    np.testing.assert_allclose(layer(x).numpy(), theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6, atol=1e-7)


def test_prelu_gradient_central_differences():
    x, alpha = random_array(3, 4, seed=1), random_array(4, seed=2, low=0.0, high=0.6)
    check_op(lambda x, a: ops.relu(x) - a * ops.relu(-x), x, alpha)
    layer = layers.PReLU(alpha_initializer=keras.initializers.Constant(0.3), dtype="float64")
    check_op(lambda x: layer(x), x)


def test_prelu_regularizer_trains_and_validation():
    layer = layers.PReLU(alpha_initializer=keras.initializers.Constant(0.5),
                         alpha_regularizer=keras.regularizers.L2(0.1))
    layer(np.ones((2, 3), "float32"))
    assert float(layer.losses[0]) == pytest.approx(0.1 * 3 * 0.25)
    with pytest.raises(ValueError, match="shared axis 3 .*1..2"):
        layers.PReLU(shared_axes=[3])(np.ones((2, 3, 4), "float32"))
    with pytest.raises(ValueError, match="axis 1 of the input is unknown"):
        layers.PReLU()(keras.Input((None, 4)))
    assert layers.PReLU(shared_axes=1)(keras.Input((None, 4))).shape == (None, None, 4)
    with pytest.raises(TypeError, match="shared_axes"):
        layers.PReLU(shared_axes="1")


def test_prelu_trains_in_a_model():
    """A PReLU learns its slope: y = -x for x < 0 needs alpha -> -1."""
    x = np.linspace(-2, -0.1, 40, dtype="float32").reshape(-1, 1)
    model = keras.Sequential([keras.Input((1,)), layers.PReLU()])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.fit(x, -x, epochs=40, batch_size=40, verbose=0)
    assert model.layers[0].alpha.numpy()[0] == pytest.approx(-1.0, abs=0.05)


# ---- GroupNormalization ----------------------------------------------------------------
def test_group_norm_by_hand():
    layer = layers.GroupNormalization(groups=2, epsilon=0.0)
    out = layer(np.array([[1.0, 3.0, 0.0, 10.0]], "float32")).numpy()
    np.testing.assert_allclose(out, [[-1.0, 1.0, -1.0, 1.0]], atol=1e-6)
    assert [(w.name, w.shape) for w in layer.weights] == [("gamma", (4,)), ("beta", (4,))]
    # each (sample, group) has mean 0 and variance 1 over its positions and channels
    x = RNG.normal(3.0, 2.0, (4, 5, 6)).astype("float32")
    y = layers.GroupNormalization(groups=3, epsilon=0.0)(x).numpy().reshape(4, 5, 3, 2)
    np.testing.assert_allclose(y.mean(axis=(1, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=(1, 3)), 1.0, rtol=1e-4)


@pytest.mark.parametrize("shape, groups, axis", [((3, 4, 5, 6), 3, -1), ((3, 6, 4, 5), 2, 1),
                                                 ((2, 7, 8), 4, -1), ((2, 8), 1, -1),
                                                 ((2, 5, 6), -1, -1), ((2, 6, 5, 3), 3, -3)])
def test_group_norm_matches_torch_forward_and_gradients(shape, groups, axis):
    """nn.GroupNorm normalizes channels-first inputs: move our channel axis to 1."""
    torch = pytest.importorskip("torch")
    x = RNG.normal(1.0, 2.0, shape)
    w = RNG.standard_normal(shape)
    layer = layers.GroupNormalization(groups=groups, axis=axis, epsilon=1e-5,
                                      dtype="float64")
    layer.build(shape)
    channels = shape[axis]
    gamma, beta = RNG.uniform(0.5, 1.5, channels), RNG.standard_normal(channels)
    layer.set_weights([gamma, beta])
    ours, dx = forward_backward(layer, x, w)

    def first(a):
        return np.moveaxis(a, axis, 1)

    theirs = torch.nn.GroupNorm(layer.groups, channels, eps=1e-5).double()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    tx = torch.tensor(first(x), requires_grad=True)
    ty = theirs(tx)
    (ty * torch.tensor(first(w))).sum().backward()
    assert max_diff(first(ours), ty.detach().numpy()) < 1e-12
    assert max_diff(first(dx), tx.grad.numpy()) < 1e-12
    assert max_diff(layer.gamma.grad, theirs.weight.grad.numpy()) < 1e-12
    assert max_diff(layer.beta.grad, theirs.bias.grad.numpy()) < 1e-12


def test_group_norm_float32_matches_torch():
    torch = pytest.importorskip("torch")
    x = RNG.normal(0.5, 3.0, (4, 8, 8, 16)).astype("float32")
    ours = layers.GroupNormalization(groups=4, epsilon=1e-5)(x).numpy()
    theirs = torch.nn.GroupNorm(4, 16, eps=1e-5)(torch.tensor(x).permute(0, 3, 1, 2))
    np.testing.assert_allclose(ours, theirs.detach().permute(0, 2, 3, 1).numpy(), atol=2e-5)


@pytest.mark.parametrize("shape, groups, axis", [((2, 3, 6), 3, -1), ((2, 4, 3, 2), 2, 1),
                                                 ((3, 4), 2, -1)])
def test_group_norm_gradient_central_differences(shape, groups, axis):
    channels = shape[axis]
    x = random_array(*shape, seed=3)
    gamma, beta = random_array(channels, seed=4), random_array(channels, seed=5)
    check_op(lambda x, g, b: group_norm(x, g, b, groups, axis, 1e-3), x, gamma, beta)
    layer = layers.GroupNormalization(groups=groups, axis=axis, center=False, scale=False,
                                      dtype="float64")
    check_op(lambda x: layer(x), x)
    assert layer.weights == []


def test_group_norm_special_cases():
    x = RNG.standard_normal((2, 3, 4)).astype("float32")
    # groups=1: each sample over all its values, as LayerNormalization over axes 1 and 2
    np.testing.assert_allclose(layers.GroupNormalization(groups=1)(x).numpy(),
                               layers.LayerNormalization(axis=[1, 2])(x).numpy(), atol=1e-5)
    # groups=-1: one group per channel (instance normalization); build stores the count
    layer = layers.GroupNormalization(groups=-1)
    y = layer(x).numpy()
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-5)
    assert layer.groups == 4 and layer.get_config()["groups"] == 4


def test_group_norm_validation_names_layer_and_numbers():
    with pytest.raises(ValueError, match=r'"gn".*groups=3 must divide the number of '
                                         r"channels, 8"):
        layers.GroupNormalization(groups=3, name="gn")(np.ones((2, 8), "float32"))
    with pytest.raises(ValueError, match="groups=32 must divide .* 16"):  # the default
        layers.GroupNormalization()(np.ones((2, 4, 16), "float32"))
    with pytest.raises(ValueError, match="groups=8 must divide .* 4"):  # more groups
        layers.GroupNormalization(groups=8)(np.ones((2, 4), "float32"))
    for bad in (0, -2, 2.0, True):
        with pytest.raises(ValueError, match="groups"):
            layers.GroupNormalization(groups=bad)
    with pytest.raises(TypeError, match="axis"):
        layers.GroupNormalization(axis=[1, 2])
    with pytest.raises(ValueError, match="out of bounds"):
        layers.GroupNormalization(groups=1, axis=3)(np.ones((2, 4), "float32"))
    with pytest.raises(ValueError, match="channel axis .* must be known"):
        layers.GroupNormalization(groups=1, axis=1)(keras.Input((None, 4)))


# ---- UnitNormalization -----------------------------------------------------------------
def test_unit_norm_values():
    np.testing.assert_allclose(
        layers.UnitNormalization()(np.array([[3.0, 4.0], [0.0, -2.0]], "float32")).numpy(),
        [[0.6, 0.8], [0.0, -1.0]], rtol=1e-6)
    x = RNG.standard_normal((3, 4, 5)).astype("float32")
    y = layers.UnitNormalization(axis=[1, 2])(x).numpy()
    np.testing.assert_allclose((y ** 2).sum(axis=(1, 2)), 1.0, rtol=1e-5)
    y = layers.UnitNormalization(axis=1)(x).numpy()
    np.testing.assert_allclose((y ** 2).sum(axis=1), 1.0, rtol=1e-5)
    layer = layers.UnitNormalization()
    assert layer.built and layer.weights == []


def test_unit_norm_zero_vector_and_epsilon_floor():
    """Keras floors the norm (not its square) at epsilon: a zero sample stays zero with a
    finite gradient, and a small non-zero one is still scaled to norm 1."""
    x = Tensor(np.zeros((1, 3)), requires_grad=True)
    y = layers.UnitNormalization(dtype="float64")(x)
    y.sum().backward()
    assert np.all(y.numpy() == 0) and np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(ops.normalize(np.array([1e-5, 0.0])).numpy(), [1.0, 0.0])


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_unit_norm_gradient_central_differences(axis):
    layer = layers.UnitNormalization(axis=axis, dtype="float64")
    check_op(lambda x: layer(x), random_array(2, 3, 4, seed=6))


def test_unit_norm_validation():
    with pytest.raises(TypeError, match="axis"):
        layers.UnitNormalization(axis="last")
    with pytest.raises(ValueError, match="out of bounds"):
        layers.UnitNormalization(axis=2).compute_output_shape((None, 4))


# ---- ActivityRegularization ------------------------------------------------------------
def test_activity_regularization_loss_in_layer_and_model_losses():
    x = np.array([[1.0, -3.0], [2.0, 0.0]], "float32")
    layer = layers.ActivityRegularization(l1=0.1, l2=0.5)
    np.testing.assert_array_equal(layer(x).numpy(), x)
    expected = (0.1 * np.abs(x).sum() + 0.5 * (x ** 2).sum()) / 2  # per sample, as Keras
    assert len(layer.losses) == 1 and float(layer.losses[0]) == pytest.approx(expected)

    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, name="d"),
                              layers.ActivityRegularization(l2=0.5)])
    out = model(x).numpy()
    assert len(model.losses) == 1
    assert float(model.losses[0]) == pytest.approx(0.5 * (out ** 2).sum() / 2, rel=1e-6)


def test_activity_regularization_is_part_of_the_fit_loss():
    x = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]], "float32")
    y = np.zeros((3, 1), "float32")
    model = keras.Sequential([keras.Input((2,)),
                              layers.Dense(1, kernel_initializer="ones", use_bias=False),
                              layers.ActivityRegularization(l1=0.2, l2=0.1)])
    model.compile(keras.optimizers.SGD(0.0), "mse")  # lr 0: the loss is of these weights
    history = model.fit(x, y, batch_size=3, epochs=1, verbose=0)
    out = x.sum(axis=1)  # 3, -1, 4
    mse = (out ** 2).mean()
    penalty = (0.2 * np.abs(out).sum() + 0.1 * (out ** 2).sum()) / 3
    assert history.history["loss"][0] == pytest.approx(mse + penalty, rel=1e-6)
    plain = keras.Sequential([keras.Input((2,)),
                              layers.Dense(1, kernel_initializer="ones", use_bias=False)])
    plain.compile(keras.optimizers.SGD(0.0), "mse")
    assert plain.fit(x, y, batch_size=3, verbose=0).history["loss"][0] == pytest.approx(mse)


def test_activity_regularization_config_and_validation():
    layer = layers.ActivityRegularization(l1=0.01)
    assert set(layer.get_config()) == BASE_KEYS | {"l1", "l2"}
    assert layer.get_config()["l2"] == 0.0 and layer.built
    with pytest.raises(ValueError, match="ActivityRegularization: `l2`.*-1"):
        layers.ActivityRegularization(l2=-1)


# ---- Permute and RepeatVector ----------------------------------------------------------
def test_permute_values_shapes_and_gradient():
    x = np.arange(24, dtype="float32").reshape(1, 2, 3, 4)
    layer = layers.Permute((3, 1, 2))
    np.testing.assert_array_equal(layer(x).numpy(), x.transpose(0, 3, 1, 2))
    assert layer.compute_output_shape((None, 2, 3, 4)) == (None, 4, 2, 3)
    assert layers.Permute((2, 1))(keras.Input((10, 64))).shape == (None, 64, 10)
    check_op(lambda x: layers.Permute((2, 3, 1), dtype="float64")(x), random_array(2, 3, 4, 2))
    for bad in [(0, 1), (1, 3), (1, 1), (2,)]:
        with pytest.raises(ValueError, match="dims"):
            layers.Permute(bad)
    with pytest.raises(ValueError, match="ndim=3|expected ndim"):
        layers.Permute((2, 1))(np.ones((2, 3, 4, 5), "float32"))


def test_repeat_vector_values_shapes_and_gradient():
    x = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")
    out = layers.RepeatVector(3)(x).numpy()
    assert out.shape == (2, 3, 2)
    np.testing.assert_array_equal(out, np.repeat(x[:, None, :], 3, axis=1))
    assert layers.RepeatVector(3)(keras.Input((32,))).shape == (None, 3, 32)
    inputs = Tensor(x, requires_grad=True)
    layers.RepeatVector(3)(inputs).sum().backward()
    np.testing.assert_array_equal(inputs.grad, np.full((2, 2), 3.0))  # the copies add up
    check_op(lambda x: layers.RepeatVector(2, dtype="float64")(x), random_array(3, 4))
    with pytest.raises(TypeError, match="`n`"):
        layers.RepeatVector(2.0)
    with pytest.raises(ValueError, match="positive"):
        layers.RepeatVector(0)
    with pytest.raises(ValueError, match="ndim"):
        layers.RepeatVector(2)(np.ones((2, 3, 4), "float32"))


# ---- configs, saving, summary ------------------------------------------------------------
KERAS_KEYS = {  # the get_config keys of Keras 3's classes
    "PReLU": {"alpha_initializer", "alpha_regularizer", "alpha_constraint", "shared_axes"},
    "GroupNormalization": {"groups", "axis", "epsilon", "center", "scale", "beta_initializer",
                           "gamma_initializer", "beta_regularizer", "gamma_regularizer",
                           "beta_constraint", "gamma_constraint"},
    "UnitNormalization": {"axis"},
    "Permute": {"dims"},
    "RepeatVector": {"n"},
}
ARGS = {"PReLU": dict(shared_axes=[1]), "GroupNormalization": dict(groups=2),
        "UnitNormalization": dict(axis=[1]), "Permute": dict(dims=(2, 1)),
        "RepeatVector": dict(n=2)}


@pytest.mark.parametrize("name", sorted(KERAS_KEYS))
def test_config_keys_are_keras(name):
    layer = getattr(layers, name)(**ARGS[name])
    config = layer.get_config()
    assert set(config) == BASE_KEYS | KERAS_KEYS[name]
    assert type(layer).from_config(config).get_config() == config


def test_defaults_are_keras():
    config = layers.GroupNormalization().get_config()
    assert (config["groups"], config["axis"], config["epsilon"]) == (32, -1, 1e-3)
    assert config["center"] and config["scale"]
    config = layers.PReLU().get_config()
    assert config["alpha_initializer"]["class_name"] == "Zeros"
    assert config["shared_axes"] is None
    assert layers.UnitNormalization().get_config()["axis"] == -1
    assert layers.PReLU().name.startswith("p_re_lu")  # Keras's snake case of the class


def _all_six_model():
    inputs = keras.Input((4, 6), name="x")
    h = layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1], name="prelu")(inputs)
    h = layers.GroupNormalization(groups=3, gamma_initializer="random_normal",
                                  beta_initializer="random_normal", name="gn")(h)
    h = layers.Permute((2, 1), name="perm")(h)
    h = layers.UnitNormalization(name="unit")(h)
    h = layers.ActivityRegularization(l1=0.01, name="act")(h)
    h = layers.Dense(3, name="dense")(layers.Flatten(name="flat")(h))
    outputs = layers.RepeatVector(2, name="rep")(h)
    return keras.Model(inputs, outputs)


def test_keras_file_and_weights_file_round_trip(tmp_path):
    model = _all_six_model()
    x = RNG.standard_normal((5, 4, 6)).astype("float32")
    model.save(tmp_path / "m.keras")
    restored = keras.models.load_model(tmp_path / "m.keras")
    assert restored.get_config() == model.get_config()
    assert [w.path for w in restored.weights] == [w.path for w in model.weights]
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))

    model.save_weights(tmp_path / "m.weights.h5")
    fresh = _all_six_model()
    assert not np.allclose(fresh.predict(x, verbose=0), model.predict(x, verbose=0))
    fresh.load_weights(tmp_path / "m.weights.h5")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_summary_shows_output_shapes_and_params():
    model = _all_six_model()
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line))
    text = "\n".join(lines)
    rows = {name: next(line for line in lines if f"{name} (" in line)
            for name in ("prelu", "gn", "perm", "unit", "act", "rep")}
    assert "(None, 4, 6)" in rows["prelu"] and " 6 " in rows["prelu"]  # alpha: (1, 6)
    assert "(None, 4, 6)" in rows["gn"] and " 12 " in rows["gn"]  # gamma, beta: 6 each
    assert "(None, 6, 4)" in rows["perm"] and "(None, 6, 4)" in rows["unit"]
    assert "(None, 6, 4)" in rows["act"] and "(None, 2, 3)" in rows["rep"]
    assert "Total params: 93 " in text  # 6 + 12 + (24 · 3 + 3)
