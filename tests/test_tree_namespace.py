"""keras.tree: Keras 3's rules for nested structures (sorted dict keys, OrderedDict order)."""
from __future__ import annotations

import collections

import numpy as np
import pytest

import neuropil as keras
from neuropil.layers.node import flatten_structure

Point = collections.namedtuple("Point", ["x", "y"])
OtherPoint = collections.namedtuple("Point", ["x", "y"])

NESTED = {"b": [1, (2, 3)], "a": {"z": 4, "y": [5, None]}, "c": Point(6, 7)}


def test_reachable_from_the_top_level():
    import neuropil.tree
    assert keras.tree is neuropil.tree
    assert "tree" in keras.__all__


@pytest.mark.parametrize("value, expected", [
    (42, False), ("text", False), (None, False), (np.zeros(3), False),
    ([1], True), ((), True), ({"a": 1}, True), (Point(1, 2), True),
    (collections.deque([1]), True), (collections.OrderedDict(a=1), True)])
def test_is_nested(value, expected):
    assert keras.tree.is_nested(value) is expected


def test_flatten_sorts_dict_keys_at_every_depth():
    assert keras.tree.flatten(NESTED) == [5, None, 4, 1, 2, 3, 6, 7]
    assert keras.tree.flatten({100: "world!", 6: "Hello"}) == ["Hello", "world!"]


def test_flatten_of_leaves():
    assert keras.tree.flatten(None) == [None]
    assert keras.tree.flatten(1) == [1]
    array = np.arange(4)
    assert keras.tree.flatten([array])[0] is array  # arrays are leaves, not iterated


def test_flatten_keeps_an_ordered_dicts_order():
    ordered = collections.OrderedDict([("b", 1), ("a", 2)])
    assert keras.tree.flatten(ordered) == [1, 2]
    assert keras.tree.flatten(dict(ordered)) == [2, 1]


def test_flatten_agrees_with_the_functional_models_order():
    structure = {"b": [1, (2, 3)], "a": {"z": 4, "y": [5, None]}}
    assert keras.tree.flatten(structure) == flatten_structure(structure)


def test_map_structure_keeps_types_and_key_order():
    result = keras.tree.map_structure(lambda v: None if v is None else v * 10, NESTED)
    assert result == {"b": [10, (20, 30)], "a": {"z": 40, "y": [50, None]},
                      "c": Point(60, 70)}
    assert list(result) == ["b", "a", "c"]  # insertion order of the input
    assert type(result["c"]) is Point and type(result["b"][1]) is tuple


def test_map_structure_over_several_structures():
    assert keras.tree.map_structure(lambda x, y: x * y, [[1], (2, 3)], [[4], (5, 6)]) == \
        [[4], (10, 18)]


def test_map_structure_none_is_leaf():
    calls = []
    keras.tree.map_structure(calls.append, [1, None])
    assert calls == [1, None]
    result = keras.tree.map_structure(lambda v: v + 1, [1, None], none_is_leaf=False)
    assert result == [2, None]


def test_map_structure_refuses_mismatched_structures():
    with pytest.raises(ValueError, match="same nested structure"):
        keras.tree.map_structure(lambda a, b: a, [1, 2], [1, [2]])


def test_pack_sequence_as_uses_sorted_keys_but_keeps_insertion_order():
    packed = keras.tree.pack_sequence_as({"key3": "", "key1": "", "key2": ""},
                                         ["value1", "value2", "value3"])
    assert packed == {"key3": "value3", "key1": "value1", "key2": "value2"}
    assert list(packed) == ["key3", "key1", "key2"]


def test_pack_sequence_as_inverts_flatten():
    assert keras.tree.pack_sequence_as(NESTED, keras.tree.flatten(NESTED)) == NESTED
    assert keras.tree.pack_sequence_as((("a", "b"), ("c", "d", "e"), "f"), range(6)) == \
        ((0, 1), (2, 3, 4), 5)
    assert keras.tree.pack_sequence_as("leaf", [9]) == 9


def test_pack_sequence_as_checks_the_count():
    with pytest.raises(ValueError, match="3 leaves but `flat_sequence` has 2"):
        keras.tree.pack_sequence_as([1, [2, 3]], [1, 2])


def test_assert_same_structure_passes_and_ignores_leaves():
    keras.tree.assert_same_structure([(0, 1)], [("a", np.zeros(2))])
    keras.tree.assert_same_structure({"a": 1, "b": [2]},
                                     collections.OrderedDict([("b", [0]), ("a", 0)]))
    keras.tree.assert_same_structure(Point(0, 1), Point(2, 3))


@pytest.mark.parametrize("a, b", [
    ([0, 1], (0, 1)),                 # list vs tuple
    ([0, 1], [0, 1, 2]),              # lengths
    ({"a": 1}, {"b": 1}),             # keys
    ([0, [1]], [0, 1]),               # container vs leaf
    (Point(0, 1), OtherPoint(0, 1)),  # two namedtuple classes, even with one name
])
def test_assert_same_structure_refuses(a, b):
    with pytest.raises(ValueError, match="same nested structure"):
        keras.tree.assert_same_structure(a, b)


def test_lists_to_tuples():
    assert keras.tree.lists_to_tuples({"a": [1, [2]], "b": (3,)}) == {"a": (1, (2,)),
                                                                       "b": (3,)}
