"""Long runs do not grow memory: 200 epochs of fit, 1000 calls of model(x)."""
from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import neuropil as keras

# History keeps a few floats per epoch (~0.2 KB here), as in Keras; a graph kept alive per
# step would cost several KB per epoch.
FIT_BOUND_BYTES = 150_000     # over epochs 20..200
CALL_BOUND_BYTES = 20_000     # over 1000 calls


@pytest.fixture
def model_and_data():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(2)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model, x, y


@pytest.fixture
def traced():
    tracemalloc.start(1)
    yield
    tracemalloc.stop()


def _traced_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_200_epochs_do_not_grow_memory(model_and_data, traced):
    model, x, y = model_and_data
    sizes = {}
    measure = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: (
        sizes.__setitem__(epoch + 1, _traced_bytes()) if epoch + 1 in (20, 200) else None))
    model.fit(x, y, batch_size=8, epochs=200, validation_split=0.25, verbose=0,
              callbacks=[measure])
    growth = sizes[200] - sizes[20]
    print(f"\nmemory grown from epoch 20 to 200: {growth} bytes")
    assert growth < FIT_BOUND_BYTES


def test_calling_the_model_1000_times_does_not_leak(model_and_data, traced):
    model, x, _ = model_and_data
    model(x)
    before = _traced_bytes()
    for _ in range(1000):
        model(x)
    growth = _traced_bytes() - before
    print(f"\nmemory grown over 1000 calls: {growth} bytes")
    assert growth < CALL_BOUND_BYTES


def test_a_dropped_output_frees_its_graph_without_the_cycle_collector(model_and_data):
    model, x, _ = model_and_data
    out = model(x, training=True)  # recorded: the output holds its graph
    gone = weakref.ref(out)
    gc.disable()
    try:
        del out
        assert gone() is None  # freed by reference counting: the graph holds no cycles
    finally:
        gc.enable()
