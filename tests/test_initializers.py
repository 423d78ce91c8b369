"""keras.initializers: distributions with Keras's scales, names, seeds and configs."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import initializers

SHAPE = (400, 300)  # fan_in 400, fan_out 300


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", np.sqrt(2 / 700)), ("he_normal", np.sqrt(2 / 400)),
    ("lecun_normal", np.sqrt(1 / 400)),
])
def test_truncated_normal_presets_have_keras_std(name, std):
    w = initializers.get(name)(SHAPE)
    assert w.dtype == np.float32 and w.shape == SHAPE
    assert abs(w.std() - std) / std < 0.03
    # truncated at two (untruncated) standard deviations
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-6


@pytest.mark.parametrize("name, limit", [
    ("glorot_uniform", np.sqrt(6 / 700)), ("he_uniform", np.sqrt(6 / 400)),
    ("lecun_uniform", np.sqrt(3 / 400)),
])
def test_uniform_presets_have_keras_limits(name, limit):
    w = initializers.get(name)(SHAPE)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.98 * limit
    assert abs(w.std() - limit / np.sqrt(3)) / limit < 0.03


def test_conv_kernel_fans_count_the_receptive_field():
    assert initializers.compute_fans((3, 3, 16, 32)) == (144, 288)


def test_constant_zeros_ones_random():
    assert np.all(initializers.get("zeros")((2, 2)) == 0)
    assert np.all(initializers.get("ones")((2,)) == 1)
    assert np.all(initializers.Constant(0.25)((3,)) == 0.25)
    normal = initializers.RandomNormal(mean=1.0, stddev=0.5)((20000,))
    assert abs(normal.mean() - 1) < 0.02 and abs(normal.std() - 0.5) < 0.02
    uniform = initializers.RandomUniform(-0.1, 0.2)((20000,))
    assert uniform.min() >= -0.1 and uniform.max() < 0.2
    # Keras defaults
    assert initializers.RandomNormal().get_config() == {"mean": 0.0, "stddev": 0.05,
                                                        "seed": None}
    assert initializers.RandomUniform().get_config() == {"minval": -0.05, "maxval": 0.05,
                                                         "seed": None}


def test_seeded_initializer_is_repeatable_and_unseeded_follows_the_global_seed():
    a = initializers.GlorotUniform(seed=3)((4, 4))
    np.testing.assert_array_equal(a, initializers.GlorotUniform(seed=3)((4, 4)))
    keras.utils.set_random_seed(5)
    b = initializers.HeNormal()((4, 4))
    keras.utils.set_random_seed(5)
    np.testing.assert_array_equal(b, initializers.HeNormal()((4, 4)))


def test_get_accepts_names_objects_configs_and_callables():
    assert isinstance(initializers.get("GlorotUniform"), initializers.GlorotUniform)
    obj = initializers.HeUniform()
    assert initializers.get(obj) is obj
    config = initializers.serialize(initializers.Constant(2.0))
    assert isinstance(initializers.deserialize(config), initializers.Constant)
    assert initializers.get(None) is None


def test_unknown_initializer_lists_valid_names():
    with pytest.raises(ValueError, match="Unknown initializer.*glorot_uniform"):
        initializers.get("glorot_uniformm")


def test_identity_and_orthogonal():
    np.testing.assert_array_equal(initializers.Identity()((3, 3)), np.eye(3))
    q = initializers.Orthogonal(seed=0)((5, 5))
    np.testing.assert_allclose(q @ q.T, np.eye(5), atol=1e-5)
