"""keras.utils: the saving registry's aliases, Progbar, pack / unpack and split_dataset."""
from __future__ import annotations

import logging

import numpy as np
import pytest

import neuropil as keras
from neuropil import config, saving


@pytest.fixture
def interactive_logging():
    saved = config.is_interactive_logging_enabled()
    yield
    (config.enable_interactive_logging if saved else config.disable_interactive_logging)()


# ---- the registry, reachable from keras.utils ------------------------------------------------
@pytest.mark.parametrize("name", ["register_keras_serializable", "serialize_keras_object",
                                  "deserialize_keras_object", "custom_object_scope",
                                  "CustomObjectScope", "get_custom_objects",
                                  "get_registered_name", "get_registered_object"])
def test_registry_functions_are_the_saving_ones(name):
    assert getattr(keras.utils, name) is getattr(saving, name)


class Doubler(keras.layers.Layer):
    """A custom layer that is deliberately not registered."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def test_custom_object_scope_lets_load_model_find_a_custom_layer(tmp_path):
    pytest.importorskip("h5py")
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2)(Doubler(3.0)(inputs)))
    path = tmp_path / "custom.keras"
    model.save(path)
    with pytest.raises(ValueError, match="Unknown class 'Doubler'"):
        keras.models.load_model(path)
    with keras.utils.custom_object_scope({"Doubler": Doubler}):
        loaded = keras.models.load_model(path)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    assert type(loaded.layers[1]) is Doubler and loaded.layers[1].factor == 3.0
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_register_then_serialize_round_trip(clean_registry):
    cls = keras.utils.register_keras_serializable(package="utils_test")(
        type("Tripler", (Doubler,), {}))
    assert keras.utils.get_registered_name(cls) == "utils_test>Tripler"
    assert keras.utils.get_registered_object("utils_test>Tripler") is cls
    assert keras.utils.get_custom_objects()["utils_test>Tripler"] is cls
    config_dict = keras.utils.serialize_keras_object(cls(factor=3.0, name="t"))
    assert config_dict["registered_name"] == "utils_test>Tripler"
    rebuilt = keras.utils.deserialize_keras_object(config_dict)
    assert type(rebuilt) is cls and rebuilt.factor == 3.0


# ---- Progbar ----------------------------------------------------------------------------------
def test_progbar_prints_a_keras_line_per_update(capsys):
    bar = keras.utils.Progbar(target=4, interval=0)
    for step in range(1, 5):
        bar.update(step, values=[("loss", float(step))])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4  # not a terminal: one line per update
    assert lines[0].startswith("1/4 ━━━━━               ")
    assert lines[-1].startswith("4/4 ━━━━━━━━━━━━━━━━━━━━ ")
    assert "s/step" in lines[-1]
    # Averaged over the steps seen until the last one, which Keras shows as given.
    assert lines[1].endswith("- loss: 1.5000") and lines[-1].endswith("- loss: 4.0000")


def test_progbar_on_a_terminal_redraws_one_line(capsys):
    bar = keras.utils.Progbar(target=2, interval=0)
    bar._dynamic = True  # as if stdout were a terminal
    bar.update(1, values=[("loss", 0.123456)])
    bar.update(2, values=[("loss", 1.0)])
    out = capsys.readouterr().out
    first, second = out.split("\r")[1:]
    assert not first.endswith("\n") and second.endswith("\n")  # only the last ends the line
    assert second.startswith("2/2 ") and "- loss: 1.0000" in second


def test_progbar_averages_weighted_by_steps_and_keeps_stateful_values(capsys):
    bar = keras.utils.Progbar(target=10, interval=0, stateful_metrics=["acc"])
    bar.update(2, values=[("loss", 1.0), ("acc", 0.5)])
    bar.update(6, values=[("loss", 4.0), ("acc", 0.75)])  # 4 steps at 4.0, 2 at 1.0
    last = capsys.readouterr().out.splitlines()[-1]
    assert " 6/10 " in f" {last}" and "- loss: 3.0000 - acc: 0.7500" in last


def test_progbar_add_moves_forward(capsys):
    bar = keras.utils.Progbar(target=3, interval=0)
    bar.add(1)
    bar.add(2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" ")[0] for line in lines] == ["1/3", "3/3"]


def test_progbar_verbose_2_prints_only_the_final_line(capsys):
    bar = keras.utils.Progbar(target=3, verbose=2)
    for step in range(1, 4):
        bar.update(step, values=[("loss", 0.5)])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 and lines[0].startswith("3/3 - ") and \
        lines[0].endswith("- loss: 0.5000")


def test_progbar_unknown_target_and_silence(capsys):
    keras.utils.Progbar(target=None, interval=0).update(5)
    assert capsys.readouterr().out.startswith("      5/Unknown")
    keras.utils.Progbar(target=2, verbose=0).update(2)
    assert capsys.readouterr().out == ""


def test_progbar_small_values_in_scientific_notation(capsys):
    keras.utils.Progbar(target=1, interval=0).update(1, values=[("loss", 2e-5)])
    assert capsys.readouterr().out.rstrip().endswith("- loss: 2.0000e-05")


def test_progbar_refuses_both_metric_lists():
    with pytest.raises(ValueError, match="not both"):
        keras.utils.Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])


def test_progbar_goes_to_logging_when_interactive_logging_is_off(capsys, caplog,
                                                                 interactive_logging):
    keras.config.disable_interactive_logging()
    with caplog.at_level(logging.INFO, logger="neuropil"):
        keras.utils.Progbar(target=2, interval=0).update(2, values=[("loss", 1.0)])
    assert capsys.readouterr().out == ""
    assert caplog.records[-1].getMessage().startswith("2/2 ")


# ---- pack / unpack ------------------------------------------------------------------------------
def test_pack_x_y_sample_weight():
    x, y, w = np.ones(3), np.zeros(3), np.full(3, 2.0)
    assert keras.utils.pack_x_y_sample_weight(x) is x
    assert keras.utils.pack_x_y_sample_weight([x, x]) == ([x, x],)  # a list stays one x
    assert keras.utils.pack_x_y_sample_weight(x, y)[1] is y
    assert len(keras.utils.pack_x_y_sample_weight(x, y, w)) == 3


def test_unpack_x_y_sample_weight():
    x, y, w = "x", "y", "w"
    assert keras.utils.unpack_x_y_sample_weight(x) == (x, None, None)
    assert keras.utils.unpack_x_y_sample_weight((x,)) == (x, None, None)
    assert keras.utils.unpack_x_y_sample_weight([x, y]) == (x, y, None)
    assert keras.utils.unpack_x_y_sample_weight((x, y, w)) == (x, y, w)
    with pytest.raises(ValueError, match="tuple of 4 items"):
        keras.utils.unpack_x_y_sample_weight((x, y, w, w))


def test_pack_then_unpack_round_trip():
    packed = keras.utils.pack_x_y_sample_weight(1, 2, 3)
    assert keras.utils.unpack_x_y_sample_weight(packed) == (1, 2, 3)


# ---- split_dataset ----------------------------------------------------------------------------
def test_split_an_array_by_fraction_keeps_order():
    left, right = keras.utils.split_dataset(np.arange(10), left_size=0.8)
    np.testing.assert_array_equal(left, np.arange(8))
    np.testing.assert_array_equal(right, [8, 9])


@pytest.mark.parametrize("left_size, right_size, expected", [
    (3, None, (3, 7)), (None, 4, (6, 4)), (None, 0.25, (8, 2)), (0.5, 0.3, (5, 3)),
    (2, 3, (2, 3))])
def test_split_sizes(left_size, right_size, expected):
    left, right = keras.utils.split_dataset(np.arange(10), left_size, right_size)
    assert (len(left), len(right)) == expected


def test_both_sizes_given_leaves_out_the_middle():
    left, right = keras.utils.split_dataset(np.arange(10), left_size=2, right_size=3)
    np.testing.assert_array_equal(left, [0, 1])
    np.testing.assert_array_equal(right, [7, 8, 9])  # Keras takes the right part at the end


def test_split_a_tuple_keeps_pairs_together():
    x = np.arange(20).reshape(10, 2)
    y = np.arange(10) * 10
    (x_left, y_left), (x_right, y_right) = keras.utils.split_dataset(
        (x, y), left_size=0.7, shuffle=True, seed=1)
    assert x_left.shape == (7, 2) and y_right.shape == (3,)
    np.testing.assert_array_equal(x_left[:, 0] * 5, y_left)
    np.testing.assert_array_equal(x_right[:, 0] * 5, y_right)
    assert sorted(np.concatenate([y_left, y_right])) == list(y)


def test_split_a_list_returns_tuples():
    left, right = keras.utils.split_dataset([np.arange(4), np.arange(4)], left_size=1)
    assert isinstance(left, tuple) and len(left) == 2 and len(left[0]) == 1


def test_shuffle_with_a_seed_is_deterministic_and_is_keras_permutation():
    import random
    first = keras.utils.split_dataset(np.arange(50), left_size=0.6, shuffle=True, seed=7)
    again = keras.utils.split_dataset(np.arange(50), left_size=0.6, shuffle=True, seed=7)
    other = keras.utils.split_dataset(np.arange(50), left_size=0.6, shuffle=True, seed=8)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])
    samples = list(range(50))
    random.Random(7).shuffle(samples)  # Keras: random.seed(seed); random.shuffle(samples)
    np.testing.assert_array_equal(first[0], samples[:30])


def test_shuffle_without_a_seed_follows_set_random_seed():
    keras.utils.set_random_seed(3)
    first = keras.utils.split_dataset(np.arange(30), left_size=10, shuffle=True)
    keras.utils.set_random_seed(3)
    again = keras.utils.split_dataset(np.arange(30), left_size=10, shuffle=True)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], np.arange(10))


@pytest.mark.parametrize("kwargs, match", [
    ({}, "at least one"),
    ({"left_size": 10}, "smaller than 10"),
    ({"left_size": 0}, "positive"),
    ({"left_size": 1.5}, "within \\(0, 1\\)"),
    ({"left_size": 6, "right_size": 6}, "more than the 10"),
    ({"left_size": 0.04}, "left part empty"),
])
def test_split_size_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras.utils.split_dataset(np.arange(10), **kwargs)


def test_split_type_errors():
    with pytest.raises(TypeError, match="`left_size` must be an int"):
        keras.utils.split_dataset(np.arange(10), left_size="half")
    with pytest.raises(TypeError, match="NumPy array"):
        keras.utils.split_dataset([[1, 2, 3]], left_size=1)
    with pytest.raises(ValueError, match="same number of samples"):
        keras.utils.split_dataset((np.arange(4), np.arange(5)), left_size=1)
