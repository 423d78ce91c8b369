"""With keras.utils.set_random_seed(s), training is bit-for-bit reproducible."""
from __future__ import annotations

import numpy as np

import neuropil as keras


def _train(seed: int):
    keras.utils.set_random_seed(seed)
    x = np.random.default_rng(0).normal(size=(120, 10)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 1)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.4), keras.layers.Dense(3)])
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=4, shuffle=True, validation_split=0.25,
                        verbose=0)
    return model.get_weights(), history.history


def test_same_seed_same_weights_and_history():
    (w1, h1), (w2, h2) = _train(3), _train(3)
    assert h1.keys() == h2.keys() and "val_loss" in h1
    for key in h1:  # floats compared exactly, not approximately
        assert [float(v) for v in h1[key]] == [float(v) for v in h2[key]], key
    for a, b in zip(w1, w2, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_another_seed_differs():
    (w1, _), (w2, _) = _train(3), _train(4)
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w2))
