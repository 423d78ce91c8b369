"""keras.optimizers.Lamb: a first step worked by hand, a float64 transcription of Keras 3's
update (keras/src/optimizers/lamb.py, described in neuropil/optimizers/lamb.py) over ten
steps with and without weight decay and clipping, the trust ratio's zero cases, defaults,
names, config round trip, get / serialize, slots in Keras's order, and save / load resuming
bit-identically. torch.optim has no Lamb, so there is no PyTorch parity test.

Tolerance against the float64 transcription: rtol=1e-5, atol=1e-7 (float32 weights, ten
steps of size about lr).
"""
import json
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil import backend, layers
from helpers import optimizer_problem
from neuropil.autodiff import Variable

Lamb = keras.optimizers.Lamb
TOL = dict(rtol=1e-5, atol=1e-7)


def reference(params, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
              weight_decay=None, clipnorm=None):
    """Keras's Lamb in float64, one weight tensor at a time; returns the weights after each
    step."""
    lr = learning_rate
    params = [p.astype(np.float64) for p in params]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    history = []
    for t, step_grads in enumerate(grads, start=1):
        for i, g in enumerate(step_grads):
            g = g.astype(np.float64)
            if clipnorm is not None:
                g = g * min(1.0, clipnorm / np.linalg.norm(g))
            if weight_decay is not None:
                params[i] = params[i] - params[i] * weight_decay * lr
            m[i] = beta_1 * m[i] + (1 - beta_1) * g
            v[i] = beta_2 * v[i] + (1 - beta_2) * g * g
            update = (m[i] / (1 - beta_1 ** t)) / (np.sqrt(v[i] / (1 - beta_2 ** t)) + epsilon)
            w_norm, u_norm = np.linalg.norm(params[i]), np.linalg.norm(update)
            ratio = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1.0
            params[i] = params[i] - ratio * lr * update
        history.append([p.copy() for p in params])
    return history


def test_first_step_by_hand():
    # m̂ = g, v̂ = g², so u = g / (|g| + eps) ≈ sign(g) = [1, -1]: ‖u‖ ≈ √2, ‖w‖ = 5.
    # w ← w − 0.1 · (5 / √2) · [1, -1]
    w = Variable(np.array([3.0, 4.0], "float32"), name="w")
    Lamb(learning_rate=0.1).apply([np.array([1.0, -2.0], "float32")], [w])
    step = 0.1 * 5 / math.sqrt(2)
    np.testing.assert_allclose(w.numpy(), [3 - step, 4 + step], rtol=1e-6)


def test_zero_weights_take_the_plain_adam_step():
    # ‖w‖ = 0: the trust ratio is 1, so w ← −lr · u ≈ −lr · sign(g)
    w = Variable(np.zeros(3, "float32"), name="w")
    Lamb(learning_rate=0.5).apply([np.array([2.0, -0.5, 0.0], "float32")], [w])
    np.testing.assert_allclose(w.numpy(), [-0.5, 0.5, 0.0], rtol=1e-6)


def test_zero_gradient_leaves_the_weights_alone():
    # u = 0: the ratio is 1 (no division by zero) and the step is 0
    w = Variable(np.array([1.0, -2.0], "float32"), name="w")
    Lamb(learning_rate=0.5).apply([np.zeros(2, "float32")], [w])
    np.testing.assert_array_equal(w.numpy(), [1.0, -2.0])


@pytest.mark.parametrize("kwargs, grad_scale", [
    ({}, 1.0),
    ({}, 1e-3),
    (dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6), 1.0),
    (dict(learning_rate=0.01, weight_decay=0.1), 1.0),
    (dict(learning_rate=0.01, clipnorm=0.5), 1.0),
], ids=["defaults", "small_grads", "options", "weight_decay", "clipnorm"])
def test_matches_the_float64_transcription(kwargs, grad_scale):
    params, grads = optimizer_problem(grad_scale=grad_scale)
    weights = [Variable(p.copy(), name=f"w{i}") for i, p in enumerate(params)]
    optimizer = Lamb(**kwargs)
    for step, (step_grads, expected) in enumerate(zip(grads, reference(params, grads,
                                                                         **kwargs))):
        optimizer.apply(step_grads, weights)
        for got, want in zip(weights, expected):
            np.testing.assert_allclose(got.numpy(), want, **TOL, err_msg=f"step {step}")
    assert int(optimizer.iterations.data) == len(grads)


def test_each_tensor_moves_by_lr_times_its_norm():
    # the trust ratio makes ‖Δw‖ = lr · ‖w‖ whatever the gradient's scale
    params, grads = optimizer_problem(seed=4, steps=1)
    for scale in (1e-4, 1.0, 1e4):
        weights = [Variable(p.copy(), name="w") for p in params]
        Lamb(learning_rate=0.01).apply([g * scale for g in grads[0]], weights)
        for before, after in zip(params, weights):
            assert np.linalg.norm(after.numpy() - before) == pytest.approx(
                0.01 * np.linalg.norm(before), rel=1e-5)


def test_defaults_config_and_round_trip():
    backend.clear_session()
    optimizer = Lamb()
    assert optimizer.name == "lamb" and Lamb().name == "lamb_1"
    config = optimizer.get_config()
    assert config["learning_rate"] == pytest.approx(0.001)
    assert {k: config[k] for k in ("beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm",
                                   "clipvalue", "global_clipnorm")} == dict(
        beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None, clipnorm=None,
        clipvalue=None, global_clipnorm=None)
    custom = Lamb(learning_rate=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                  weight_decay=0.01, global_clipnorm=1.0, name="mine")
    config = custom.get_config()
    assert Lamb.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(keras.optimizers.serialize(custom)))
    assert serialized["module"] == "keras.optimizers" and serialized["class_name"] == "Lamb"
    for restored in (keras.optimizers.deserialize(serialized), keras.optimizers.get(serialized),
                     keras.saving.deserialize_keras_object(
                         keras.saving.serialize_keras_object(custom))):
        assert type(restored) is Lamb and restored.get_config() == config


@pytest.mark.parametrize("identifier", ["lamb", "Lamb", "LAMB"])
def test_get_by_name(identifier):
    assert type(keras.optimizers.get(identifier)) is Lamb


def test_unknown_arguments_are_refused():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Lamb"):
        Lamb(amsgrad=True)


def test_slots_follow_keras_order():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="d")])
    optimizer = Lamb()
    optimizer.build(model.trainable_variables)
    assert [v.name for v in optimizer.variables] == [
        "iteration", "learning_rate", "d_kernel_momentum", "d_kernel_velocity",
        "d_bias_momentum", "d_bias_velocity"]


def test_fit_save_load_resumes_bit_identically(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 3)).astype("float32")
    y = rng.integers(0, 2, size=(16,))

    def fresh():
        keras.utils.set_random_seed(3)
        model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="relu"),
                                  layers.Dense(2, activation="softmax")])
        model.compile(Lamb(0.01), "sparse_categorical_crossentropy")
        return model

    straight = fresh()
    straight.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    resumed = fresh()
    resumed.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    resumed.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.optimizer) is Lamb
    loaded.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
