"""The optimizers' Keras surface: defaults, names, get(), configs, learning rate, iterations,
weight decay, missing gradients. Update formulas are checked in tests/parity/.

Defaults below were read from Keras 3's keras/src/optimizers/<name>.py (__init__ signatures).
"""
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import backend
from neuropil.autodiff import Variable

opt = keras.optimizers

KERAS_DEFAULTS = {
    opt.SGD: dict(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None),
    opt.RMSprop: dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                      centered=False, weight_decay=None),
    opt.Adam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                   amsgrad=False, weight_decay=None),
    opt.AdamW: dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                    epsilon=1e-7, amsgrad=False),
    opt.Adagrad: dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                      weight_decay=None),
    opt.Adadelta: dict(learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None),
    opt.Adamax: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                     weight_decay=None),
    opt.Nadam: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                    weight_decay=None),
    opt.Lion: dict(learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None),
    opt.Ftrl: dict(learning_rate=0.001, learning_rate_power=-0.5,
                   initial_accumulator_value=0.1, l1_regularization_strength=0.0,
                   l2_regularization_strength=0.0, l2_shrinkage_regularization_strength=0.0,
                   beta=0.0, weight_decay=None),
}
BASE_KEYS = {"name", "learning_rate", "weight_decay", "clipnorm", "global_clipnorm",
             "clipvalue", "use_ema", "ema_momentum", "ema_overwrite_frequency",
             "loss_scale_factor", "gradient_accumulation_steps"}
# Keras's auto_name: the snake-cased class name ("RMSprop" -> "rm_sprop" in Keras too).
KERAS_NAMES = {opt.SGD: "sgd", opt.RMSprop: "rm_sprop", opt.Adam: "adam", opt.AdamW: "adam_w",
               opt.Adagrad: "adagrad", opt.Adadelta: "adadelta", opt.Adamax: "adamax",
               opt.Nadam: "nadam", opt.Lion: "lion", opt.Ftrl: "ftrl"}
ALL = list(KERAS_DEFAULTS)
NEW = [opt.AdamW, opt.Adagrad, opt.Adadelta, opt.Adamax, opt.Nadam, opt.Lion, opt.Ftrl]


def _weights(seed=0):
    rng = np.random.default_rng(seed)
    return [Variable(rng.normal(size=(3, 2)).astype(np.float32), name="kernel"),
            Variable(rng.normal(size=(2,)).astype(np.float32), name="bias")]


def _grads(seed=1):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]


def assert_config_value(config, key, value):
    if isinstance(value, float):  # the learning rate is a float32 variable
        assert config[key] == pytest.approx(value, rel=1e-7), key
    else:  # None, bools, strings, ints compare exactly (newer pytest refuses approx(None))
        assert config[key] == value, key


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_defaults_and_config_keys_match_keras(cls):
    config = cls().get_config()
    for key, value in KERAS_DEFAULTS[cls].items():
        assert_config_value(config, key, value)
    assert set(config) == BASE_KEYS | set(KERAS_DEFAULTS[cls])


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_default_names_are_keras_auto_names(cls):
    backend.clear_session()
    first, second = cls(), cls()
    assert (first.name, second.name) == (KERAS_NAMES[cls], KERAS_NAMES[cls] + "_1")
    assert cls(name="mine").name == "mine"


@pytest.mark.parametrize("name, cls", [
    ("adamw", opt.AdamW), ("adagrad", opt.Adagrad), ("adadelta", opt.Adadelta),
    ("adamax", opt.Adamax), ("nadam", opt.Nadam), ("lion", opt.Lion), ("ftrl", opt.Ftrl),
    ("AdamW", opt.AdamW), ("Nadam", opt.Nadam), ("sgd", opt.SGD), ("adam", opt.Adam)])
def test_get_by_name(name, cls):
    optimizer = opt.get(name)
    assert type(optimizer) is cls
    assert opt.get(optimizer) is optimizer


def test_get_none_unknown_and_bad_identifiers():
    assert opt.get(None) is None
    with pytest.raises(ValueError, match="Unknown optimizer.*'nadam'"):
        opt.get("nadamm")
    with pytest.raises(TypeError, match="Could not interpret"):
        opt.get(3)


NON_DEFAULT = {
    opt.AdamW: dict(learning_rate=0.01, weight_decay=0.1, beta_1=0.8, amsgrad=True,
                    clipnorm=1.0),
    opt.Adagrad: dict(learning_rate=0.1, initial_accumulator_value=0.5, epsilon=1e-6),
    opt.Adadelta: dict(learning_rate=1.0, rho=0.9, epsilon=1e-6, clipvalue=0.5),
    opt.Adamax: dict(learning_rate=0.002, beta_1=0.8, beta_2=0.99, weight_decay=0.01),
    opt.Nadam: dict(learning_rate=0.002, beta_1=0.85, beta_2=0.995, epsilon=1e-8,
                    global_clipnorm=2.0),
    opt.Lion: dict(learning_rate=1e-4, beta_1=0.95, beta_2=0.98, weight_decay=0.05),
    opt.Ftrl: dict(learning_rate=0.05, learning_rate_power=-0.25,
                   initial_accumulator_value=0.2, l1_regularization_strength=0.01,
                   l2_regularization_strength=0.02, l2_shrinkage_regularization_strength=0.03,
                   beta=0.1),
}


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    kwargs = NON_DEFAULT[cls]
    original = cls(name="custom", **kwargs)
    config = original.get_config()
    for key, value in kwargs.items():
        assert_config_value(config, key, value)
    assert cls.from_config(config).get_config() == config
    serialized = json.loads(json.dumps(opt.serialize(original)))
    assert serialized["module"] == "keras.optimizers"
    assert serialized["class_name"] == cls.__name__
    restored = opt.deserialize(serialized)
    assert type(restored) is cls and restored.get_config() == config
    assert type(opt.get(serialized)) is cls


def test_deserialize_is_case_insensitive_like_keras():
    restored = opt.deserialize({"class_name": "adamw", "config": {"weight_decay": 0.2}})
    assert type(restored) is opt.AdamW and restored.weight_decay == 0.2


# ---- argument checks ---------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda: opt.AdamW(weight_decay=None), "weight_decay"),
    (lambda: opt.Lion(beta_1=0.0), "beta_1"),
    (lambda: opt.Lion(beta_1=1.5), "beta_1"),
    (lambda: opt.Adagrad(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (lambda: opt.Ftrl(learning_rate_power=0.5), "learning_rate_power"),
    (lambda: opt.Ftrl(l1_regularization_strength=-1.0), "l1_regularization_strength"),
    (lambda: opt.Nadam(clipnorm=1.0, clipvalue=1.0), "Only one of"),
    (lambda: opt.Adamax(learning_rate=-0.1), "learning_rate must be >= 0"),
])
def test_bad_arguments_are_named(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_unknown_keyword_raises_and_legacy_decay_warns():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments.*momentum"):
        opt.Adagrad(momentum=0.9)
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        opt.Adamax(decay=0.1)


# ---- learning rate -----------------------------------------------------------------------
def test_learning_rate_get_and_set():
    optimizer = opt.Nadam(learning_rate=0.01)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    optimizer.learning_rate = 0.5
    assert float(optimizer.learning_rate) == 0.5
    assert float(optimizer.lr) == 0.5  # the old alias
    optimizer.learning_rate = np.float64(0.25)
    assert optimizer.get_config()["learning_rate"] == 0.25
    with pytest.raises(ValueError, match="learning_rate must be >= 0"):
        optimizer.learning_rate = -1.0


def test_a_callable_learning_rate_is_called_without_arguments_like_keras():
    values = iter([0.1, 0.2, 0.3])
    optimizer = opt.SGD(learning_rate=lambda: next(values))
    weights, grads = _weights(), _grads()
    before = weights[1].numpy().copy()
    optimizer.apply(grads, weights)  # one read per step: 0.1
    np.testing.assert_allclose(weights[1].numpy(), before - 0.1 * grads[1], rtol=1e-6)
    with pytest.raises(ValueError, match="cannot be serialized"):
        optimizer.get_config()


# ---- iterations, missing gradients, weight decay --------------------------------------------
@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_iterations_count_applies(cls):
    optimizer, weights = cls(), _weights()
    for step in range(3):
        assert int(optimizer.iterations.numpy()) == step
        optimizer.apply(_grads(seed=step), weights)
    assert int(optimizer.iterations.numpy()) == 3
    optimizer.apply([], [])  # Keras: an empty list is a no-op, not a step
    assert int(optimizer.iterations.numpy()) == 3


@pytest.mark.parametrize("cls", NEW, ids=lambda c: c.__name__)
def test_a_variable_with_no_gradient_is_left_alone(cls):
    """No update and no weight decay for it, and its slots do not move it later."""
    optimizer = cls(weight_decay=0.1) if cls is not opt.AdamW else cls()
    weights = _weights()
    bias_before = weights[1].numpy().copy()
    optimizer.apply(_grads(seed=1), weights)
    moved = weights[1].numpy().copy()
    assert not np.array_equal(moved, bias_before)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['bias'\]"):
        optimizer.apply([_grads(seed=2)[0], None], weights)
    np.testing.assert_array_equal(weights[1].numpy(), moved)
    with pytest.raises(ValueError, match="No gradients provided"):
        optimizer.apply([None, None], weights)


def test_adamw_is_adam_with_decoupled_weight_decay():
    weights_a, weights_b, grads = _weights(), _weights(), _grads()
    adamw = opt.AdamW(learning_rate=0.1, weight_decay=0.5)
    adam = opt.Adam(learning_rate=0.1, weight_decay=0.5)
    adamw.apply(grads, weights_a)
    adam.apply(grads, weights_b)
    np.testing.assert_array_equal(weights_a[0].numpy(), weights_b[0].numpy())


def test_weight_decay_shrinks_before_the_update():
    """Keras: w ← w − w·wd·lr, then the optimizer's own step. Lion's step is lr·sign(g) on
    the first call (m = 0), so the expected weights are easy to write down."""
    weights, grads = _weights(), _grads()
    w0 = weights[0].numpy().astype(np.float64)
    opt.Lion(learning_rate=0.1, weight_decay=0.5).apply(grads, weights)
    np.testing.assert_allclose(weights[0].numpy(), w0 * (1 - 0.05) - 0.1 * np.sign(grads[0]),
                               rtol=1e-6)


def test_exclude_from_weight_decay_by_name_or_variable():
    for how in (dict(var_names=["bias"]), "list"):
        weights, grads = _weights(), _grads()
        zero = [np.zeros_like(g) for g in grads]
        optimizer = opt.AdamW(learning_rate=0.1, weight_decay=0.5)
        optimizer.exclude_from_weight_decay(**(how if how != "list" else
                                               dict(var_list=[weights[1]])))
        before = [w.numpy().copy() for w in weights]
        optimizer.apply(zero, weights)  # zero gradients: only the decay moves weights
        np.testing.assert_allclose(weights[0].numpy(), before[0] * 0.95, rtol=1e-6)
        np.testing.assert_array_equal(weights[1].numpy(), before[1])


def test_nadam_advances_its_momentum_product_once_per_step():
    """The product is shared by all variables: one variable's result must not depend on how
    many others are updated in the same step."""
    alone, together = _weights(), _weights()
    a, b = opt.Nadam(0.01), opt.Nadam(0.01)
    for step in range(4):
        grads = _grads(seed=step)
        a.apply(grads[:1], alone[:1])
        b.apply(grads, together)
    np.testing.assert_array_equal(alone[0].numpy(), together[0].numpy())
    mu = [0.9 * (1 - 0.5 * 0.96 ** t) for t in range(1, 5)]
    assert float(b._u_product.numpy()) == pytest.approx(np.prod(mu), rel=1e-6)
    assert b._u_product in b.variables


def test_adagrad_accumulator_starts_at_initial_value():
    optimizer, weights = opt.Adagrad(initial_accumulator_value=0.3), _weights()
    grads = _grads()
    optimizer.apply(grads, weights)
    accumulators = [v for v in optimizer.variables if v.name.endswith("_accumulator")]
    np.testing.assert_allclose(accumulators[0].numpy(), 0.3 + grads[0] ** 2, rtol=1e-6)


# ---- base behaviours shared by all -------------------------------------------------------
def test_apply_without_variables_uses_the_built_list():
    weights, grads = _weights(), _grads()
    optimizer = opt.Adamax(0.01)
    with pytest.raises(ValueError, match="must already be built"):
        optimizer.apply(grads)
    optimizer.build(weights)
    optimizer.apply(grads)
    reference, twin = _weights(), opt.Adamax(0.01)
    twin.apply(grads, reference)
    np.testing.assert_array_equal(weights[0].numpy(), reference[0].numpy())
    assert opt.Adamax(0.01).apply_gradients(zip(grads, _weights())).numpy() == 1


def test_loss_scale_factor_divides_gradients():
    weights, scaled, grads = _weights(), _weights(), _grads()
    opt.Adagrad(0.1).apply(grads, weights)
    opt.Adagrad(0.1, loss_scale_factor=8.0).apply([g * 8 for g in grads], scaled)
    np.testing.assert_allclose(scaled[0].numpy(), weights[0].numpy(), rtol=1e-6)


def test_constraints_are_applied_after_the_update():
    weights, grads = _weights(), _grads()
    weights[0].constraint = lambda w: np.clip(w.numpy(), 0.0, None)  # non-negative
    opt.Lion(0.1).apply(grads, weights)
    assert weights[0].numpy().min() >= 0.0


@pytest.mark.parametrize("optimizer, expected", [
    (lambda: opt.RMSprop(momentum=0.9, centered=True),
     ["velocity", "velocity", "momentum", "momentum", "average_gradient", "average_gradient"]),
    (lambda: opt.Adam(amsgrad=True),
     ["momentum", "velocity", "momentum", "velocity", "velocity_hat", "velocity_hat"]),
])
def test_slot_order_matches_keras_build(optimizer, expected):
    """Keras's build() creates the slots in this order; .keras files store them by position,
    so the order is what lets optimizer state move between Keras and neuropil."""
    instance = optimizer()
    weights = _weights()
    instance.apply(_grads(), weights)
    slots = [v.name for v in instance.variables[2:]]
    assert [name.split("_", 1)[1] for name in slots] == expected
