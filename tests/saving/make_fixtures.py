"""Makes the Keras-written fixtures in tests/saving/fixtures/ (run with real Keras 3).

    python -m venv /tmp/kvenv && /tmp/kvenv/bin/pip install keras jax jaxlib h5py
    KERAS_BACKEND=jax /tmp/kvenv/bin/python tests/saving/make_fixtures.py

For each model: ``<name>.keras`` (compiled, trained a little, so the optimizer state is in
it), ``<name>.weights.h5`` and ``<name>.npz`` (inputs ``x``, targets ``y``, Keras's
predictions ``pred``, and ``pred_after``: predictions after one more epoch of
``fit(x, y, batch_size=8, shuffle=False)`` from the saved state, where training is
deterministic). neuropil's tests load them (test_keras_fixtures.py).

The other direction: ``... make_fixtures.py --check DIR`` loads every ``DIR/<name>.keras``
written by neuropil in Keras and compares its predictions on ``DIR/<name>.npz``'s ``x``
with ``pred``.
"""
import os
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent / "fixtures"


def sequential_dense():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(3, activation="softmax")], name="mlp")
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    rng = np.random.default_rng(0)
    return model, rng.uniform(-1, 1, (16, 4)).astype("float32"), rng.integers(0, 3, 16)


def functional_conv():
    inputs = keras.Input((8, 8, 1), name="image")
    x = keras.layers.Rescaling(1 / 255.0)(inputs)
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(2, 3, name="conv_b")(x)
    x = keras.layers.Flatten()(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="tiny_cnn")
    model.compile(keras.optimizers.SGD(0.05, momentum=0.9), "categorical_crossentropy")
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 255, (12, 8, 8, 1)).astype("float32")
    return model, x, np.eye(3, dtype="float32")[rng.integers(0, 3, 12)]


def make():
    HERE.mkdir(exist_ok=True)
    keras.utils.set_random_seed(0)
    for name, build in (("keras_sequential_dense", sequential_dense),
                        ("keras_functional_conv", functional_conv)):
        model, x, y = build()
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        model.save(HERE / f"{name}.keras")
        model.save_weights(HERE / f"{name}.weights.h5")
        pred = model.predict(x, verbose=0)
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        np.savez(HERE / f"{name}.npz", x=x, y=y, pred=pred,
                 pred_after=model.predict(x, verbose=0))
        print(f"{name}: keras {keras.__version__}, "
              f"{(HERE / f'{name}.keras').stat().st_size} bytes")


def check(directory):
    """Loads each neuropil-written file in Keras; returns the names that failed."""
    failed = []
    for path in sorted(Path(directory).glob("*.keras")):
        arrays = np.load(path.with_suffix(".npz"))
        try:
            model = keras.models.load_model(path)
            error = float(np.abs(model.predict(arrays["x"], verbose=0) -
                                 arrays["pred"]).max())
        except Exception as exception:  # report every file, not only the first failure
            print(f"{path.name}: FAILED {type(exception).__name__}: "
                  f"{str(exception).splitlines()[-1][:200]}")
            failed.append(path.name)
            continue
        print(f"{path.name}: {type(model).__name__}, max |keras - neuropil| = {error:.2e}")
        if error > 1e-4:
            failed.append(path.name)
    return failed


if __name__ == "__main__":
    if sys.argv[1:2] == ["--check"]:
        sys.exit(1 if check(sys.argv[2]) else 0)
    make()
