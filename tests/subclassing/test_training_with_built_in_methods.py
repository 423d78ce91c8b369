"""The customization patterns of the Keras guide "Training & evaluation with the built-in
methods": a loss function, a ``keras.losses.Loss`` subclass and a ``keras.metrics.Metric``
subclass (add_variable / update_state / result / reset_state), each passed to compile()."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(32, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(32, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def _data(n=256, seed=0):
    """MNIST-shaped inputs whose label is the brightest of ten pixel bands."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    x = rng.random((n, 784)).astype("float32") * 0.5
    for band in range(10):
        x[labels == band, band * 78:(band + 1) * 78] += 0.5
    return x, labels


# ---- custom losses ----------------------------------------------------------------------
def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    """Mean squared error plus a pull of the predictions towards 0.5."""

    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


def test_loss_function_in_compile():
    keras.utils.set_random_seed(0)
    x, y = _data()
    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  loss=custom_mean_squared_error)
    y_one_hot = ops.one_hot(y, num_classes=10)
    history = model.fit(x, y_one_hot, batch_size=64, epochs=4, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0]
    y_pred = model.predict(x, verbose=0)
    expected = np.mean(np.mean((y_one_hot.numpy() - y_pred) ** 2, axis=-1))
    assert model.evaluate(x, y_one_hot, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_loss_subclass_in_compile():
    keras.utils.set_random_seed(0)
    x, y = _data()
    y_one_hot = ops.one_hot(y, num_classes=10).numpy()
    model = get_uncompiled_model()
    loss = CustomMSE(regularization_factor=0.5)
    assert loss.name == "custom_mse"
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2), loss=loss)
    history = model.fit(x, y_one_hot, batch_size=64, epochs=4, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    p = model.predict(x, verbose=0)
    expected = np.mean(np.mean((y_one_hot - p) ** 2, -1) + 0.5 * np.mean((0.5 - p) ** 2, -1))
    assert model.evaluate(x, y_one_hot, verbose=0) == pytest.approx(expected, rel=1e-4)
    weighted = loss(y_one_hot, p, sample_weight=np.arange(len(p)) % 2)
    halves = np.mean((y_one_hot - p) ** 2, -1) + 0.5 * np.mean((0.5 - p) ** 2, -1)
    assert float(weighted) == pytest.approx(np.sum(halves[1::2]) / len(p), rel=1e-5)


# ---- a custom metric --------------------------------------------------------------------
class CategoricalTruePositives(keras.metrics.Metric):
    """How many samples were classified correctly (a count, not a rate)."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.equal(ops.cast(y_true, "int32"), ops.cast(y_pred, "int32"))
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = ops.cast(sample_weight, "float32")
            values = ops.multiply(values, sample_weight)
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        # The trainer calls this at the start of every epoch and evaluation.
        self.true_positives.assign(0.0)


class CategoricalTruePositivesWithEq(CategoricalTruePositives):
    """The guide's verbatim comparison: ``tensor == tensor`` compares values in Keras."""

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        self.true_positives.assign_add(ops.sum(ops.cast(values, "float32")))


def test_metric_subclass_by_hand():
    metric = CategoricalTruePositives()
    assert [v.name for v in metric.variables] == ["ctp"]
    y_true = np.array([[1], [2], [0]])
    y_pred = np.eye(3)[[1, 0, 0]]
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == 2.0
    metric.update_state(y_true, y_pred, sample_weight=np.array([[0.5], [1.0], [0.0]]))
    assert float(metric.result()) == 2.5
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_metric_subclass_in_compile_counts_each_epoch():
    keras.utils.set_random_seed(0)
    x, y = _data()
    y = y[:, None]  # (n, 1): the metric compares against an (n, 1) column of predictions
    model = get_uncompiled_model()
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=[CategoricalTruePositives()])
    history = model.fit(x, y, batch_size=64, epochs=3, verbose=0)
    counts = history.history["categorical_true_positives"]
    assert len(counts) == 3 and all(0 <= c <= len(x) for c in counts)  # reset every epoch
    assert counts[-1] > counts[0]
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    correct = np.sum(np.argmax(model.predict(x, verbose=0), axis=1) == y[:, 0])
    assert float(result["categorical_true_positives"]) == correct
    assert float(model.evaluate(x, y, verbose=0, return_dict=True)
                 ["categorical_true_positives"]) == correct  # not added to the last count


def test_metric_written_with_eq_like_the_guide():
    metric = CategoricalTruePositivesWithEq()
    metric.update_state(np.array([[1], [2], [0]]), np.eye(3)[[1, 0, 0]])
    assert float(metric.result()) == 2.0
