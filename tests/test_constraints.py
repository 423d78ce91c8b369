"""keras.constraints: each projection against a NumPy transcription of Keras 3's formula
(axis and epsilon included), `get` for every identifier kind, and the config round trips."""
from __future__ import annotations

import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import backend, constraints

EPS = 1e-7  # Keras's backend.epsilon()
RNG = np.random.default_rng(0)
W2 = RNG.normal(size=(5, 3)) * np.array([0.1, 1.0, 10.0])  # column norms on both sides of 1
W4 = RNG.normal(size=(3, 3, 2, 4))                          # a Conv2D kernel, HWIO


# ---- Keras 3's formulas, written out in NumPy (the spec) -----------------------------------
def norms(w, axis):
    return np.sqrt(np.sum(w ** 2, axis=tuple(np.atleast_1d(axis)), keepdims=True))


def keras_max_norm(w, max_value, axis):
    n = norms(w, axis)
    return w * np.clip(n, 0, max_value) / (EPS + n)


def keras_min_max_norm(w, min_value, max_value, rate, axis):
    n = norms(w, axis)
    return w * (rate * np.clip(n, min_value, max_value) + (1 - rate) * n) / (EPS + n)


def keras_unit_norm(w, axis):
    return w / (EPS + norms(w, axis))


# ---- values -------------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [0, 1, [0, 1]])
def test_max_norm_matches_keras_formula(axis):
    np.testing.assert_allclose(constraints.MaxNorm(1.5, axis=axis)(W2),
                               keras_max_norm(W2, 1.5, axis), rtol=1e-12)


def test_max_norm_default_is_two_over_columns_and_filters():
    out = constraints.MaxNorm()(W2)
    assert np.all(np.linalg.norm(out, axis=0) <= 2.0)
    np.testing.assert_allclose(out, keras_max_norm(W2, 2, 0), rtol=1e-12)
    # Conv2D: one norm per filter over (rows, cols, input_depth)
    out = constraints.MaxNorm(0.5, axis=[0, 1, 2])(W4)
    np.testing.assert_allclose(out, keras_max_norm(W4, 0.5, (0, 1, 2)), rtol=1e-12)
    np.testing.assert_allclose(np.sqrt((out ** 2).sum(axis=(0, 1, 2))), 0.5, rtol=1e-6)


def test_max_norm_worked_example():
    w = np.array([[3.0, 0.0], [4.0, 0.5]])  # column norms 5 and 0.5
    out = constraints.MaxNorm(2.0)(w)
    np.testing.assert_allclose(out, [[1.2, 0.0], [1.6, 0.5]], rtol=1e-6)
    # the epsilon is there, as in Keras: a column inside the bound shrinks by a hair
    assert out[1, 1] == pytest.approx(0.5 / (1 + 2 * EPS), rel=1e-12) and out[1, 1] < 0.5


@pytest.mark.parametrize("min_value, max_value, rate, axis",
                         [(0.0, 1.0, 1.0, 0), (0.5, 2.0, 1.0, 0), (0.5, 2.0, 0.25, 0),
                          (1.0, 3.0, 0.5, 1), (0.2, 0.3, 1.0, [0, 1, 2])])
def test_min_max_norm_matches_keras_formula(min_value, max_value, rate, axis):
    w = W4 if axis == [0, 1, 2] else W2
    np.testing.assert_allclose(constraints.MinMaxNorm(min_value, max_value, rate, axis)(w),
                               keras_min_max_norm(w, min_value, max_value, rate, axis),
                               rtol=1e-12)


def test_min_max_norm_rate_one_lands_inside_the_bounds():
    out = constraints.MinMaxNorm(min_value=0.5, max_value=2.0)(W2)
    column_norms = np.linalg.norm(out, axis=0)
    assert np.all((column_norms >= 0.5 - 1e-6) & (column_norms <= 2.0 + 1e-6))
    # W2's columns have norms ~0.2, ~2 and ~20: the first is raised, the last lowered
    assert np.linalg.norm(W2[:, 0]) < 0.5 and column_norms[0] == pytest.approx(0.5)
    assert column_norms[2] == pytest.approx(2.0)


@pytest.mark.parametrize("axis", [0, 1, [0, 1, 2]])
def test_unit_norm_matches_keras_formula(axis):
    w = W4 if axis == [0, 1, 2] else W2
    out = constraints.UnitNorm(axis=axis)(w)
    np.testing.assert_allclose(out, keras_unit_norm(w, axis), rtol=1e-12)
    np.testing.assert_allclose(norms(out, axis), 1.0, rtol=1e-6)


def test_non_neg_zeroes_negatives_only():
    w = np.array([[-2.0, 0.0], [0.5, -1e-9]], "float32")
    out = constraints.NonNeg()(w)
    np.testing.assert_array_equal(out, [[0.0, 0.0], [0.5, 0.0]])
    assert out.dtype == np.float32


def test_epsilon_comes_from_the_backend():
    w = np.array([[0.6], [0.8]])  # norm 1
    try:
        backend.set_epsilon(0.25)
        np.testing.assert_allclose(constraints.UnitNorm()(w), w / 1.25, rtol=1e-12)
    finally:
        backend.set_epsilon(EPS)
    np.testing.assert_allclose(constraints.UnitNorm()(w), w / (1 + EPS), rtol=1e-12)


def test_inputs_can_be_variables_and_float32_stays_float32():
    variable = keras.Variable(W2.astype("float32"))
    for constraint in (constraints.MaxNorm(1.0), constraints.MinMaxNorm(),
                       constraints.UnitNorm(), constraints.NonNeg()):
        out = constraint(variable)
        assert isinstance(out, np.ndarray) and out.dtype == np.float32
        np.testing.assert_allclose(out, constraint(W2.astype("float32")))
    np.testing.assert_array_equal(variable.numpy(), W2.astype("float32"))  # not modified


def test_base_constraint_is_the_identity():
    assert constraints.Constraint()(W2) is W2
    assert constraints.Constraint().get_config() == {}


def test_reachable_as_keras_constraints_with_lowercase_aliases():
    assert isinstance(keras.constraints.MaxNorm(3), constraints.MaxNorm)
    assert keras.constraints.MaxNorm(3).max_value == 3
    assert constraints.max_norm is constraints.MaxNorm
    assert constraints.min_max_norm is constraints.MinMaxNorm
    assert constraints.non_neg is constraints.NonNeg
    assert constraints.unit_norm is constraints.UnitNorm


# ---- get / serialize / deserialize ------------------------------------------------------
@pytest.mark.parametrize("name, cls", [
    ("max_norm", constraints.MaxNorm), ("MaxNorm", constraints.MaxNorm),
    ("min_max_norm", constraints.MinMaxNorm), ("MinMaxNorm", constraints.MinMaxNorm),
    ("non_neg", constraints.NonNeg), ("NonNeg", constraints.NonNeg),
    ("unit_norm", constraints.UnitNorm), ("UnitNorm", constraints.UnitNorm),
    ("constraint", constraints.Constraint)])
def test_get_by_name_gives_a_default_instance(name, cls):
    obj = constraints.get(name)
    assert type(obj) is cls
    assert obj.get_config() == cls().get_config()


def test_get_other_identifier_kinds():
    assert constraints.get(None) is None
    instance = constraints.MaxNorm(3.0, axis=[0, 1])
    assert constraints.get(instance) is instance
    assert isinstance(constraints.get(constraints.UnitNorm), constraints.UnitNorm)  # a class

    def clip(w):
        return np.clip(w, -1, 1)
    assert constraints.get(clip) is clip
    from_dict = constraints.get(constraints.serialize(instance))
    assert type(from_dict) is constraints.MaxNorm
    assert from_dict.get_config() == {"max_value": 3.0, "axis": [0, 1]}
    keras_written = {"module": "keras.constraints", "class_name": "MinMaxNorm",
                     "config": {"min_value": 0.1, "max_value": 0.9, "rate": 0.5, "axis": 1},
                     "registered_name": None}
    assert constraints.get(keras_written).get_config() == keras_written["config"]


def test_get_unknown_name_is_a_clear_error():
    with pytest.raises(ValueError, match=r"Unknown constraint: 'maxnorm'.*max_norm"):
        constraints.get("maxnorm")
    with pytest.raises(ValueError, match="Unknown constraint: 'Clip'"):
        constraints.get({"class_name": "Clip", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret constraint identifier: 3"):
        constraints.get(3)


@pytest.mark.parametrize("constraint", [
    constraints.MaxNorm(1.5, axis=[0, 1, 2]), constraints.MinMaxNorm(0.2, 0.8, 0.5, 1),
    constraints.NonNeg(), constraints.UnitNorm(axis=-1), constraints.Constraint()])
def test_config_round_trips(constraint):
    config = constraint.get_config()
    assert type(constraint).from_config(config).get_config() == config
    serialized = constraints.serialize(constraint)
    assert serialized == {"module": "keras.constraints",
                          "class_name": type(constraint).__name__, "config": config,
                          "registered_name": None}
    restored = constraints.deserialize(json.loads(json.dumps(serialized)))
    assert type(restored) is type(constraint) and restored.get_config() == config
    np.testing.assert_allclose(restored(W4), constraint(W4))


def test_serialize_none_and_functions():
    assert constraints.serialize(None) is None

    def clip(w):
        return np.clip(w, -1, 1)
    config = constraints.serialize(clip)
    assert config["class_name"] == "function" and config["config"] == "clip"
    assert constraints.deserialize(config, custom_objects={"clip": clip}) is clip
    with pytest.raises(ValueError, match="custom_objects"):
        constraints.deserialize(config)
    anonymous = lambda w: w  # noqa: E731
    assert constraints.serialize(anonymous) is anonymous  # in-memory copies still work
    assert constraints.get(constraints.serialize(anonymous)) is anonymous
