"""fit / evaluate / predict on data that comes in batches: generators, iterables, lists of
batches and keras.utils.PyDataset, with Keras's epoch rules (keras/src/trainers/
epoch_iterator.py, data_adapters/generator_data_adapter.py, py_dataset_adapter.py)."""
import io
import math

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 6)).astype("float32")
Y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype("int64")


def classifier(lr=0.05):
    model = keras.Sequential([keras.Input((6,)), layers.Dense(8, activation="relu"),
                              layers.Dense(2, activation="softmax")], name="clf")
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def batches(batch=16, with_weights=False):
    """One pass over (X, Y) in batches: a finite generator."""
    for start in range(0, len(X), batch):
        part = slice(start, start + batch)
        yield (X[part], Y[part], np.ones(len(X[part]), "float32")) if with_weights else \
            (X[part], Y[part])


def forever(counter=None, batch=16):
    """An endless generator; counter[0] counts the batches drawn."""
    while True:
        for start in range(0, len(X), batch):
            if counter is not None:
                counter[0] += 1
            yield X[start:start + batch], Y[start:start + batch]


class Squares(keras.utils.PyDataset):
    """4 batches of 16; records the hooks Keras calls."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.events, self.indices = [], []

    def __len__(self):
        return math.ceil(len(X) / 16)

    def __getitem__(self, index):
        self.indices.append(index)
        return X[index * 16:(index + 1) * 16], Y[index * 16:(index + 1) * 16]

    def on_epoch_begin(self):
        self.events.append("begin")

    def on_epoch_end(self):
        self.events.append("end")


# ---- generators -----------------------------------------------------------------------
def test_finite_generator_is_one_epoch_and_matches_arrays():
    model = classifier()
    weights = [w.copy() for w in model.get_weights()]
    history = model.fit(batches(), epochs=1, verbose=0)
    twin = classifier()
    twin.set_weights(weights)
    expected = twin.fit(X, Y, batch_size=16, shuffle=False, epochs=1, verbose=0)
    assert history.params["steps"] is None  # unknown length, as in Keras
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    for mine, theirs in zip(model.get_weights(), twin.get_weights()):
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-6)


def test_infinite_generator_with_steps_per_epoch_is_consumed_across_epochs():
    counter = [0]
    model = classifier()
    history = model.fit(forever(counter), steps_per_epoch=3, epochs=4, verbose=0)
    assert counter[0] == 12  # 3 steps x 4 epochs from one generator, never restarted
    assert history.params["steps"] == 3
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_used_up_generator_stops_training_with_keras_warning():
    model = classifier()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches(), epochs=3, verbose=0)
    assert history.epoch == [0]


def test_generator_shorter_than_steps_per_epoch_warns_and_stops():
    model = classifier()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit(batches(), steps_per_epoch=3, epochs=3, verbose=0)
    assert history.epoch == [0, 1]  # 3 + 1 of the 4 batches, then nothing left


def test_sample_weights_in_batches_and_learning_from_a_generator():
    model = classifier()
    history = model.fit(forever(), steps_per_epoch=4, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.85
    model.fit(batches(with_weights=True), verbose=0)


def test_plain_list_of_batches_is_re_iterated_every_epoch():
    model = classifier()
    data = list(batches())
    history = model.fit(data, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2]
    assert history.params["steps"] == 4
    loss, accuracy = model.evaluate(data, verbose=0)
    assert [loss, accuracy] == pytest.approx(model.evaluate(X, Y, verbose=0), rel=1e-5)


def test_validation_generator_with_validation_steps():
    counter = [0]
    model = classifier()
    history = model.fit(forever(), steps_per_epoch=2, epochs=3, verbose=0,
                        validation_data=forever(counter), validation_steps=2)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert counter[0] == 6  # 2 per validation, continuing where the last one stopped


def test_validation_list_of_batches_equals_array_validation():
    model = classifier()
    history = model.fit(X, Y, epochs=1, verbose=0, validation_data=list(batches()))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(X, Y, verbose=0)[0], rel=1e-5)


def test_evaluate_and_predict_on_generators():
    model = classifier()
    expected = model.predict(X, verbose=0)
    np.testing.assert_allclose(model.predict((X[i:i + 10] for i in range(0, 64, 10)),
                                             verbose=0), expected, rtol=1e-6)
    # (x, y) tuples: predict uses x; steps limits an endless generator.
    assert model.predict(forever(), steps=2, verbose=0).shape == (32, 2)
    assert model.evaluate(batches(), verbose=0) == pytest.approx(
        model.evaluate(X, Y, verbose=0), rel=1e-5)
    assert model.evaluate(forever(), steps=4, verbose=0) == pytest.approx(
        model.evaluate(X, Y, verbose=0), rel=1e-5)


def test_progress_bar_counts_steps_of_unknown_total():
    from neuropil.callbacks import ProgbarLogger
    stream = io.StringIO()
    classifier().fit(batches(), verbose=2, callbacks=[ProgbarLogger(stream=stream)])
    assert stream.getvalue().startswith("4/4 - ")


# ---- PyDataset --------------------------------------------------------------------------
def test_pydataset_hooks_every_epoch_and_workers_accepted():
    data = Squares(workers=4, use_multiprocessing=False, max_queue_size=3)
    assert data.workers == 4 and data.max_queue_size == 3
    model = classifier()
    history = model.fit(data, epochs=3, verbose=0)
    assert history.params["steps"] == 4
    assert data.events == ["begin", "end"] * 3
    assert sorted(data.indices) == sorted(list(range(4)) * 3)


def test_pydataset_batch_order_shuffled_in_fit_not_in_evaluate():
    keras.utils.set_random_seed(3)
    data = Squares()
    classifier().fit(data, epochs=3, verbose=0)
    orders = [data.indices[i:i + 4] for i in range(0, 12, 4)]
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)
    assert any(order != [0, 1, 2, 3] for order in orders)
    data.indices.clear()
    classifier().fit(data, shuffle=False, epochs=1, verbose=0)
    classifier().evaluate(data, verbose=0)
    assert data.indices == [0, 1, 2, 3] * 2


def test_pydataset_with_steps_continues_then_starts_over():
    data = Squares()
    classifier().fit(data, steps_per_epoch=2, epochs=3, shuffle=False, verbose=0)
    assert data.indices == [0, 1, 2, 3, 0, 1]
    assert keras.utils.Sequence is keras.utils.PyDataset


def test_endless_pydataset_with_num_batches_none():
    class Endless(keras.utils.PyDataset):
        num_batches = None

        def __getitem__(self, index):
            start = index % 4 * 16
            return X[start:start + 16], Y[start:start + 16]

    history = classifier().fit(Endless(), steps_per_epoch=5, epochs=2, verbose=0)
    assert history.params["steps"] == 5


# ---- errors -----------------------------------------------------------------------------
def test_batch_size_with_a_generator_is_ignored_silently_as_in_keras():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = classifier().fit(batches(), batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 1  # the generator's batches of 16, one epoch


def test_y_with_a_generator_is_rejected():
    with pytest.raises(ValueError, match="`y` should not be passed.*included in each batch"):
        classifier().fit(batches(), Y, verbose=0)


def test_validation_split_with_a_generator_is_rejected():
    with pytest.raises(ValueError, match="validation_split.*arrays"):
        classifier().fit(batches(), validation_split=0.2, verbose=0)


def test_generator_yielding_the_wrong_structure():
    with pytest.raises(ValueError, match=r"must yield tuples \(x, y\).*Batch 0 is a ndarray"):
        classifier().fit((X[i:i + 16] for i in range(0, 64, 16)), verbose=0)
    with pytest.raises(ValueError, match="Batch 0 is a tuple of 4 items"):
        classifier().fit(iter([(X, Y, Y, Y)]), verbose=0)
    with pytest.raises(ValueError, match="Batch 1 .*same number of samples"):
        classifier().fit(iter([(X, Y), (X, Y[:3])]), verbose=0)


def test_empty_generator():
    with pytest.raises(ValueError, match="yielded no batches.*empty"):
        classifier().fit((b for b in []), verbose=0)
    with pytest.raises(ValueError, match="yielded no batches"):
        classifier().predict(iter([]), verbose=0)


def test_batches_are_checked_for_nan_and_input_shape():
    bad = X[:16].copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"batch 1\) x.*NaN or infinite.*\(3, 2\)"):
        classifier().fit(iter([(X[:16], Y[:16]), (bad, Y[:16])]), verbose=0)
    with pytest.raises(ValueError, match=r'"clf".*\(None, 6\).*\(16, 5\)'):
        classifier().fit(iter([(X[:16, :5], Y[:16])]), verbose=0)


def test_used_up_validation_generator_says_to_pass_validation_steps():
    with pytest.raises(ValueError, match="validation_data.*used up.*validation_steps"):
        classifier().fit(X, Y, epochs=2, verbose=0, validation_data=batches())
