"""``keras.random``: seeds (None, int, SeedGenerator), distributions, dropout and shuffle."""
import numpy as np
import pytest

import neuropil as keras
from helpers import check_op
from neuropil.autodiff import Tensor

DRAWS = {
    "normal": lambda seed: keras.random.normal((200,), seed=seed),
    "uniform": lambda seed: keras.random.uniform((200,), seed=seed),
    "truncated_normal": lambda seed: keras.random.truncated_normal((200,), seed=seed),
    "randint": lambda seed: keras.random.randint((200,), 0, 10, seed=seed),
    "categorical": lambda seed: keras.random.categorical(np.zeros((2, 5)), 50, seed=seed),
    "gamma": lambda seed: keras.random.gamma((200,), 2.0, seed=seed),
    "binomial": lambda seed: keras.random.binomial((200,), 10, 0.3, seed=seed),
    "beta": lambda seed: keras.random.beta((200,), 2.0, 3.0, seed=seed),
    "shuffle": lambda seed: keras.random.shuffle(np.arange(200), seed=seed),
    "dropout": lambda seed: keras.random.dropout(np.ones(200, np.float32), 0.5, seed=seed),
}


@pytest.mark.parametrize("name", sorted(DRAWS))
def test_seeds(name):
    draw = DRAWS[name]
    a, b = draw(42), draw(42)
    assert isinstance(a, Tensor)
    np.testing.assert_array_equal(a.numpy(), b.numpy())          # an int seed repeats
    generator = keras.random.SeedGenerator(42)
    first, second = draw(generator), draw(generator)
    np.testing.assert_array_equal(first.numpy(), a.numpy())      # its first draw is seed=42's
    assert not np.array_equal(first.numpy(), second.numpy())     # then it advances
    assert generator.state.numpy().tolist() == [42, 2]
    keras.utils.set_random_seed(7)
    unseeded = draw(None), draw(None)
    assert not np.array_equal(unseeded[0].numpy(), unseeded[1].numpy())
    keras.utils.set_random_seed(7)
    np.testing.assert_array_equal(draw(None).numpy(), unseeded[0].numpy())


def test_distributions():
    x = keras.random.normal((20000,), mean=3.0, stddev=2.0, seed=1).numpy()
    assert x.dtype == np.float32 and abs(x.mean() - 3) < 0.05 and abs(x.std() - 2) < 0.05
    u = keras.random.uniform((20000,), minval=-1, maxval=3, dtype="float64", seed=1).numpy()
    assert u.dtype == np.float64 and u.min() >= -1 and u.max() < 3 and abs(u.mean() - 1) < 0.05
    t = keras.random.truncated_normal((20000,), mean=1.0, stddev=0.5, seed=1).numpy()
    assert t.min() >= 0.0 and t.max() <= 2.0 and abs(t.std() - 0.44) < 0.02
    r = keras.random.randint((2, 3), 5, 8, seed=1)
    assert r.dtype == np.int32 and r.shape == (2, 3) and set(r.numpy().ravel()) <= {5, 6, 7}
    picks = keras.random.categorical([[0.0, 20.0, 0.0], [20.0, 0.0, 0.0]], 4, seed=1).numpy()
    np.testing.assert_array_equal(picks, [[1] * 4, [0] * 4])
    with pytest.raises(ValueError, match="float"):
        keras.random.normal((2,), dtype="int32")
    with pytest.raises(ValueError, match="SeedGenerator"):
        keras.random.normal((2,), seed="abc")
    with pytest.raises(ValueError, match="integer"):
        keras.random.SeedGenerator(1.5)


def test_dropout_scales_and_passes_gradients():
    x = np.ones((4, 1000), np.float32)
    out = keras.random.dropout(x, 0.25, seed=3).numpy()
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert abs((out == 0).mean() - 0.25) < 0.03
    shared = keras.random.dropout(x, 0.5, noise_shape=(None, 1), seed=3).numpy()
    assert all(len(set(row)) == 1 for row in shared)  # one decision per row
    np.testing.assert_array_equal(keras.random.dropout(x, 1.0).numpy(), np.zeros_like(x))
    check_op(lambda t: keras.random.dropout(t, 0.5, seed=5), np.random.default_rng(0)
             .standard_normal((3, 4)))


def test_shuffle_keeps_slices_whole_and_gradients():
    x = np.arange(12.0).reshape(4, 3)
    out = keras.random.shuffle(x, seed=0).numpy()
    assert sorted(map(tuple, out)) == sorted(map(tuple, x))  # rows permuted, not mixed
    columns = keras.random.shuffle(x, axis=1, seed=0).numpy()
    assert sorted(columns[0]) == [0.0, 1.0, 2.0]
    check_op(lambda t: keras.random.shuffle(t, seed=4), x)


def test_seed_generator_in_a_layer():
    class NoisyDense(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.seed_generator = keras.random.SeedGenerator(1337)

        def call(self, x, training=False):
            if training:
                return keras.random.dropout(x, rate=0.5, seed=self.seed_generator)
            return x

    layer = NoisyDense()
    x = np.ones((2, 8), np.float32)
    first, second = layer(x, training=True), layer(x, training=True)
    assert not np.array_equal(first.numpy(), second.numpy())
    np.testing.assert_array_equal(layer(x).numpy(), x)
    assert layer.weights == []  # the state is not a weight
    config = layer.seed_generator.get_config()
    assert config["seed"] == 1337
    assert keras.random.SeedGenerator.from_config(config).state.numpy().tolist() == [1337, 0]
