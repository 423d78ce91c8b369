"""Bad data and bad arguments fail early with a ValueError / TypeError that says what was
wrong (the argument or layer, what was expected, what arrived), never with an IndexError,
AttributeError or a NumPy traceback from deep inside."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neuropil as keras

L = keras.layers
X = np.ones((8, 4), "float32")
Y = np.zeros(8, "int64")


def dense_model():
    model = keras.Sequential([keras.Input((4,)), L.Dense(3)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def two_input_model():
    a, b = keras.Input((4,)), keras.Input((2,))
    model = keras.Model([a, b], L.Dense(3)(L.Concatenate()([a, b])))
    model.compile("adam", "mse")
    return model


def fit(x, y, **kwargs):
    return dense_model().fit(x, y, verbose=0, **kwargs)


CASES = {
    "ragged list": (lambda: fit([[1, 2, 3, 4], [1, 2]], [0, 1]), ["`x`", "equal-length"]),
    "empty arrays": (lambda: fit(np.zeros((0, 4), "float32"), np.zeros(0)), ["empty"]),
    "object array": (lambda: fit(np.array([object()] * 8).reshape(8, 1), Y), ["objects"]),
    "strings in x": (lambda: fit(np.full((8, 4), "a"), Y), ["`x`", "dtype <U1"]),
    "strings in y": (lambda: fit(X, np.full(8, "a")), ["`y`", "dtype <U1"]),
    "complex x": (lambda: fit(X.astype(complex), Y), ["`x`", "complex128"]),
    "a string to predict": (lambda: dense_model().predict("hello", verbose=0), ["`x`"]),
    "a scalar to predict": (lambda: dense_model().predict(np.float32(3), verbose=0),
                            ["batch axis"]),
    "x, y lengths differ": (lambda: fit(X, Y[:5]), ["8 samples", "y has 5"]),
    "sample_weight length": (lambda: fit(X, Y, sample_weight=np.ones(3)),
                             ["sample_weight", "3"]),
    "1 input for 2": (lambda: two_input_model().fit(X, np.zeros((8, 3)), verbose=0),
                      ["expects 2 input", "received 1"]),
    "3 inputs for 2": (lambda: two_input_model().predict([X, X[:, :2], X], verbose=0),
                       ["expects 2 input", "received 3"]),
    "dict for Sequential": (lambda: fit({"a": X}, Y), ["not a dict", "'a'"]),
    "3-D into Dense-first": (lambda: fit(np.ones((8, 4, 4), "float32"), Y),
                             ["expected shape (None, 4)", "(8, 4, 4)"]),
    "negative label": (lambda: fit(X, -np.ones(8, "int64")), ["label value of -1", "[0, 3)"]),
    "label >= classes": (lambda: fit(X, np.full(8, 3)), ["label value of 3", "[0, 3)"]),
    "label out of range in evaluate": (
        lambda: dense_model().evaluate(X, np.full(8, 7), verbose=0), ["label value of 7"]),
    "NaN in x": (lambda: fit(np.full((8, 4), np.nan, "float32"), Y), ["`x`", "NaN"]),
    "inf in y": (lambda: fit(X, np.full(8, np.inf)), ["`y`", "infinite"]),
    "NaN in validation_data": (
        lambda: fit(X, Y, validation_data=(np.full((2, 4), np.nan), Y[:2])), ["NaN"]),
    "2-D sample_weight": (lambda: fit(X, Y, sample_weight=np.ones((8, 5))),
                          ["sample_weight", "(8, 5)", "(8,)"]),
    "class_weight key 'a'": (lambda: fit(X, Y, class_weight={0: 1.0, "a": 2.0}),
                             ["class_weight", "'a'"]),
    "steps_per_epoch=-1": (lambda: fit(X, Y, steps_per_epoch=-1), ["steps_per_epoch=-1"]),
    "validation_freq=0": (lambda: fit(X, Y, validation_split=0.25, validation_freq=0),
                          ["validation_freq=0"]),
    "validation_split=1.5": (lambda: fit(X, Y, validation_split=1.5), ["validation_split"]),
    "batch_size=0": (lambda: fit(X, Y, batch_size=0), ["batch_size=0"]),
    "epochs='3'": (lambda: fit(X, Y, epochs="3"), ["epochs='3'"]),
    "Dense(units=-1)": (lambda: L.Dense(-1), ["Dense", "units=-1"]),
    "Dense(units=2.5)": (lambda: L.Dense(2.5), ["Dense", "units=2.5"]),
    "Dropout(rate=1.5)": (lambda: L.Dropout(1.5), ["Dropout", "rate=1.5"]),
    "Conv2D(padding='full')": (lambda: L.Conv2D(2, 3, padding="full"),
                               ["Conv2D", "padding='full'"]),
    "Conv2D(strides=0)": (lambda: L.Conv2D(2, 3, strides=0), ["Conv2D", "strides=0"]),
    "MaxPooling2D(0)": (lambda: L.MaxPooling2D(0), ["MaxPooling2D", "pool_size=0"]),
    "Adam(learning_rate=-1)": (lambda: keras.optimizers.Adam(learning_rate=-1),
                               ["Adam", "learning_rate=-1"]),
    "SGD(learning_rate='fast')": (lambda: keras.optimizers.SGD(learning_rate="fast"),
                                  ["SGD", "learning_rate='fast'"]),
    "SGD(learning_rate=nan)": (lambda: keras.optimizers.SGD(learning_rate=float("nan")),
                               ["SGD", "learning_rate=nan"]),
    "SGD(momentum=2)": (lambda: keras.optimizers.SGD(momentum=2), ["SGD", "momentum=2"]),
    "unknown activation": (lambda: L.Dense(3, activation="nope"), ["'nope'"]),
    "unknown loss": (lambda: dense_model().compile("adam", "nope"), ["'nope'"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_case_raises_a_clear_error(case):
    action, fragments = CASES[case]
    with pytest.raises((ValueError, TypeError)) as error:
        action()
    assert type(error.value) in (ValueError, TypeError), repr(error.value)  # not NumPy's
    for fragment in fragments:
        assert fragment in str(error.value), str(error.value)


DTYPES = ["float32", "float64", "int64", "uint8", "bool", "complex64", "U1", "object"]


@st.composite
def hostile_data(draw):
    n = draw(st.integers(0, 5))
    shape = draw(st.sampled_from([(n,), (n, 4), (n, 3), (n, 4, 2), (n, 4), ()]))
    dtype = draw(st.sampled_from(DTYPES))
    fill = draw(st.sampled_from([0.5, -2.0, np.nan, np.inf, 1.0]))
    x = np.full(shape, fill if dtype.startswith("float") else 1).astype(dtype)
    m = draw(st.sampled_from([n, n + 1, max(n - 1, 0)]))
    y = np.array(draw(st.lists(st.integers(-2, 4), min_size=m, max_size=m)), "int64")
    as_list = draw(st.booleans())
    return (x.tolist() if as_list and dtype != "object" else x), y


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_data(), st.sampled_from(["fit", "evaluate", "predict"]))
def test_random_hostile_data_fails_only_with_clear_errors(data, method):
    x, y = data
    model = dense_model()
    try:
        if method == "predict":
            model.predict(x, verbose=0)
        else:
            getattr(model, method)(x, y, verbose=0)
    except (ValueError, TypeError) as error:
        assert type(error) in (ValueError, TypeError), repr(error)  # not UFuncTypeError
        message = str(error).lower()
        assert any(word in message for word in ("`x`", "`y`", "label", "input", "numeric")), \
            message


def test_nan_loss_in_fit_is_reported_with_its_batch(capsys):
    x = np.ones((16, 4), "float32")
    model = keras.Sequential([keras.Input((4,)), L.Dense(1)])
    model.compile(keras.optimizers.SGD(1e30), "mse")
    with np.errstate(all="ignore"):  # the overflow is the point
        history = model.fit(x, np.ones(16) * 1e10, batch_size=4, epochs=3, verbose=0,
                            callbacks=[keras.callbacks.TerminateOnNaN()])
    out = capsys.readouterr().out
    assert "Invalid loss, terminating training" in out and out.startswith("Batch ")
    assert history.epoch == [0] and model.stop_training
