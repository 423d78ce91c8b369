"""Bad input gets a clear error before any NumPy traceback."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers


def model(loss="sparse_categorical_crossentropy", name="net"):
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")], name=name)
    m.compile("sgd", loss, metrics=["accuracy"])
    return m


X = np.ones((10, 4), "float32")
Y = np.arange(10) % 3


def test_fit_before_compile():
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    for call in (lambda: m.fit(X, Y), lambda: m.evaluate(X, Y), lambda: m.train_on_batch(X, Y)):
        with pytest.raises(RuntimeError, match="compile"):
            call()


def test_integer_labels_with_categorical_crossentropy_suggest_the_fix():
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*to_categorical"):
        model("categorical_crossentropy").fit(X, Y, verbose=0)


def test_label_out_of_range_for_sparse_loss():
    with pytest.raises(ValueError, match="3"):
        model().fit(X, np.full(10, 3), verbose=0)


def test_wrong_input_shape_names_the_model_and_shapes():
    with pytest.raises(ValueError, match=r'"net".*\(None, 4\).*\(10, 5\)'):
        model().fit(np.ones((10, 5), "float32"), Y, verbose=0)


def test_different_sample_counts():
    with pytest.raises(ValueError, match="10.*9|9.*10"):
        model().fit(X, Y[:9], verbose=0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_inputs(bad):
    x = X.copy()
    x[2, 1] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite.*\(2, 1\)"):
        model().fit(x, Y, verbose=0)


@pytest.mark.parametrize("kind, name, hint", [
    ("optimizer", "adamm", "adam"), ("loss", "mean_squared_eror", "mean_squared_error"),
    ("metric", "acuracy", "accuracy"),
])
def test_unknown_names_suggest_and_list(kind, name, hint):
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    kwargs = {"optimizer": "sgd", "loss": "mse"}
    kwargs[{"metric": "metrics"}.get(kind, kind)] = [name] if kind == "metric" else name
    with pytest.raises(ValueError, match=f"Unknown {kind}.*{hint}"):
        m.compile(**kwargs)
        m.fit(X, np.ones((10, 3), "float32"), verbose=0)


def test_bad_fit_arguments():
    m = model()
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(X, Y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="batch_size"):
        m.fit(X, Y, batch_size=0, verbose=0)


def test_targets_that_do_not_fit_the_output_shape():
    m = keras.Sequential([keras.Input((4,)), layers.Dense(3)])
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"y_true.shape=\(10,\).*y_pred.shape=\(10, 3\)"):
        m.fit(X, np.ones(10, "float32"), verbose=0)
