"""compile / fit / evaluate / predict and the on-batch methods, as Keras defines them."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def toy_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6)).astype("float32")
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype("int64")
    return x, y


def classifier(optimizer="adam", metrics=("accuracy",)):
    model = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=list(metrics))
    return model


def test_fit_learns_and_history_has_keras_keys():
    x, y = toy_data()
    model = classifier(keras.optimizers.Adam(0.01))
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 10 for v in history.history.values())
    assert history.epoch == list(range(10))
    assert history.params == {"verbose": 0, "epochs": 10, "steps": 5}  # 150 samples / 32
    assert model.history is history
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = toy_data(100)
    model = classifier()
    history = model.fit(x, y, epochs=1, validation_split=0.2, verbose=0)
    expected = model.evaluate(x[80:], y[80:], verbose=0)
    np.testing.assert_allclose(history.history["val_loss"][0], expected[0], rtol=1e-5)


def test_validation_data_tuple():
    x, y = toy_data()
    history = classifier().fit(x, y, epochs=2, validation_data=(x[:50], y[:50]), verbose=0)
    assert len(history.history["val_accuracy"]) == 2


def test_evaluate_returns_scalar_without_metrics_list_with_and_dict_on_request():
    x, y = toy_data(64)
    plain = classifier(metrics=())
    assert isinstance(plain.evaluate(x, y, verbose=0), float)
    model = classifier()
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx(
        {"loss": loss, "accuracy": accuracy})
    probabilities = model.predict(x, verbose=0)
    assert accuracy == pytest.approx(np.mean(probabilities.argmax(1) == y))


def test_predict_batches_and_concatenates():
    x, _ = toy_data(70)
    model = classifier()
    out = model.predict(x, batch_size=32, verbose=0)
    assert isinstance(out, np.ndarray) and out.shape == (70, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out, np.asarray(model(x)), rtol=1e-6)


def test_on_batch_methods():
    x, y = toy_data(32)
    model = classifier()
    loss, accuracy = model.train_on_batch(x, y)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    logs = model.test_on_batch(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    assert model.predict_on_batch(x[:3]).shape == (3, 2)


def test_repeated_fit_continues_training():
    x, y = toy_data()
    model = classifier(keras.optimizers.SGD(0.05))
    first = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    second = model.fit(x, y, epochs=3, verbose=0).history["loss"]
    assert second[0] < first[0]
    assert model.optimizer.iterations.value == 2 * 3 * 7


def test_initial_epoch_numbers_the_epochs():
    x, y = toy_data()
    history = classifier().fit(x, y, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]


def test_shuffle_false_is_deterministic_order():
    x, y = toy_data(64)
    keras.utils.set_random_seed(0)
    a = classifier(keras.optimizers.SGD(0.1))
    a.fit(x, y, epochs=2, shuffle=False, verbose=0)
    keras.utils.set_random_seed(0)
    b = classifier(keras.optimizers.SGD(0.1))
    b.fit(x, y, epochs=2, shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


def test_same_seed_gives_a_bit_identical_run():
    x, y = toy_data()

    def run():
        keras.utils.set_random_seed(42)
        model = keras.Sequential([keras.Input((6,)), layers.Dense(16, activation="relu"),
                                  layers.Dropout(0.3), layers.Dense(2, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, validation_split=0.2, verbose=0)
        return history.history, model.get_weights()

    (h1, w1), (h2, w2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)


def test_one_hot_labels_with_categorical_crossentropy():
    x, y = toy_data()
    model = keras.Sequential([keras.Input((6,)), layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, keras.utils.to_categorical(y), epochs=5, verbose=0)
    assert history.history["accuracy"][-1] > 0.8


def test_binary_classifier_with_sigmoid():
    x, y = toy_data()
    model = keras.Sequential([keras.Input((6,)), layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.RMSprop(0.05), "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y.astype("float32"), epochs=20, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_regression_with_mse_and_mae_metric():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32") + 0.3
    model = keras.Sequential([keras.Input((3,)), layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", metrics=["mae"])
    history = model.fit(x, y, epochs=30, verbose=0)
    assert history.history["loss"][-1] < 1e-3 and "mae" in history.history
    np.testing.assert_allclose(model.layers[0].get_weights()[0].ravel(), [1, -2, 0.5], atol=0.02)


def test_sample_weight_and_class_weight_change_the_loss():
    x, y = toy_data(64)
    model = classifier()
    plain = model.evaluate(x, y, verbose=0)[0]
    weights = np.where(y == 1, 2.0, 0.0).astype("float32")
    weighted = model.evaluate(x, y, sample_weight=weights, verbose=0)[0]
    assert weighted != pytest.approx(plain)
    model.fit(x, y, class_weight={0: 1.0, 1: 3.0}, epochs=1, verbose=0)


def test_string_and_object_optimizers_and_losses():
    x, y = toy_data(64)
    for optimizer in ("sgd", "rmsprop", "adam", keras.optimizers.SGD(0.01, momentum=0.9)):
        model = keras.Sequential([keras.Input((6,)), layers.Dense(2, activation="softmax")])
        model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
        history = model.fit(x, y, epochs=1, verbose=0)
        assert "sparse_categorical_accuracy" in history.history


def test_logits_model_with_from_logits_loss():
    x, y = toy_data()
    model = keras.Sequential([keras.Input((6,)), layers.Dense(2)])
    model.compile(keras.optimizers.Adam(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    assert model.fit(x, y, epochs=10, verbose=0).history["accuracy"][-1] > 0.9
