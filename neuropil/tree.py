"""``keras.tree``: nested lists, tuples and dicts, flattened and rebuilt.

The rules are Keras 3's (``keras/src/tree``): lists, tuples, namedtuples, deques and dicts
(any mapping) are containers; everything else, None and strings and arrays included, is a
leaf. A dict's values come in sorted key order, an ``OrderedDict``'s in its own order, so
that ``pack_sequence_as(s, flatten(s))`` gives ``s`` back; rebuilt dicts keep the key order
(and the type) of the structure they copy.

Level 0: plain Python, importable by every other level. ``neuropil.layers.node`` keeps its
own ``flatten_structure`` with the same order (``tests/test_tree_namespace.py`` checks that
the two agree).
"""
from __future__ import annotations

import collections
from collections.abc import Mapping

__all__ = ["is_nested", "flatten", "map_structure", "pack_sequence_as",
           "assert_same_structure", "lists_to_tuples"]


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def is_nested(structure) -> bool:
    """True for a list, tuple, namedtuple, deque or mapping; False for a leaf.

    Example:
    >>> is_nested({"foo": 42}), is_nested(42), is_nested("text")
    (True, False, False)
    """
    return isinstance(structure, (list, tuple, collections.deque, Mapping))


def _keys(mapping) -> list:
    """Keras's order: an OrderedDict's own, any other mapping's sorted."""
    if isinstance(mapping, collections.OrderedDict):
        return list(mapping)
    try:
        return sorted(mapping)
    except TypeError as error:
        raise TypeError("keras.tree sorts a dict's keys, so they must be comparable with "
                        f"each other. Received keys: {list(mapping)!r}") from error


def _children(structure) -> list:
    """The direct children, in flattening order."""
    if isinstance(structure, Mapping):
        return [structure[key] for key in _keys(structure)]
    return list(structure)


def _rebuild(structure, children: list):
    """A container like ``structure`` holding ``children`` (given in flattening order)."""
    if isinstance(structure, Mapping):
        by_key = dict(zip(_keys(structure), children))
        items = [(key, by_key[key]) for key in structure]  # the original key order
        if isinstance(structure, collections.defaultdict):
            return type(structure)(structure.default_factory, items)
        try:
            return type(structure)(items)
        except TypeError:  # a mapping type that cannot be built from pairs
            return dict(items)
    if _is_namedtuple(structure):
        return type(structure)(*children)
    if isinstance(structure, collections.deque):
        return collections.deque(children, maxlen=structure.maxlen)
    return type(structure)(children)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first, dict values in sorted key order.

    Example:
    >>> flatten({"b": [1, 2], "a": (3, {"z": 4, "y": None})})
    [3, None, 4, 1, 2]
    """
    if not is_nested(structure):
        return [structure]
    return [leaf for child in _children(structure) for leaf in flatten(child)]


def assert_same_structure(a, b, check_types=None) -> None:
    """Raises ValueError unless ``a`` and ``b`` nest alike.

    At each level the containers must be of the same kind with the same length: any two
    mappings match if they have the same keys; list, tuple, deque and each namedtuple class
    are different kinds. The leaves may differ in anything. ``check_types`` is accepted
    and ignored, as in Keras 3 (where it is deprecated).
    """
    _check_same(a, b, ())


def _check_same(a, b, path) -> None:
    def fail(reason):
        where = f" at path {path}" if path else ""
        raise ValueError(f"The two structures don't have the same nested structure{where}: "
                         f"{reason}.\nFirst structure: {a!r}\nSecond structure: {b!r}")

    if is_nested(a) != is_nested(b):
        fail("one is a leaf, the other a container")
    if not is_nested(a):
        return
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        if not (isinstance(a, Mapping) and isinstance(b, Mapping)):
            fail(f"{type(a).__name__} vs {type(b).__name__}")
        if set(a) != set(b):
            fail(f"different keys {sorted(map(str, a))} vs {sorted(map(str, b))}")
        for key in _keys(a):
            _check_same(a[key], b[key], path + (key,))
        return
    if _kind(a) != _kind(b):
        fail(f"{type(a).__name__} vs {type(b).__name__}")
    if len(a) != len(b):
        fail(f"lengths {len(a)} vs {len(b)}")
    for index, (x, y) in enumerate(zip(a, b)):
        _check_same(x, y, path + (index,))


def _kind(structure):
    if _is_namedtuple(structure):
        return type(structure)
    for kind in (list, tuple, collections.deque):
        if isinstance(structure, kind):
            return kind
    return type(structure)


def map_structure(func, *structures, none_is_leaf=True):
    """``func`` applied leaf by leaf across ``structures``, in the first one's nesting.

    Args:
        func: called with one leaf from each structure.
        *structures: one or more structures that nest alike.
        none_is_leaf: if False, None leaves are kept as None without calling ``func``.

    Example:
    >>> map_structure(lambda x, y: x * y, [[1], (2, 3)], [[4], (5, 6)])
    [[4], (10, 18)]

    Raises:
        ValueError: the structures do not nest alike (see ``assert_same_structure``).
    """
    if not structures:
        raise TypeError("map_structure() needs at least one structure.")
    if not callable(func):
        raise TypeError(f"map_structure(): `func` must be callable. Received: {func!r}")
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    return _map(func, structures, none_is_leaf)


def _map(func, structures, none_is_leaf):
    first = structures[0]
    if not is_nested(first):
        if first is None and not none_is_leaf:
            return None
        return func(*structures)
    columns = zip(*(_children(s) for s in structures))
    return _rebuild(first, [_map(func, column, none_is_leaf) for column in columns])


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` (leaves in ``flatten`` order) put back into ``structure``'s nesting.

    Example:
    >>> pack_sequence_as({"key3": "", "key1": "", "key2": ""}, ["v1", "v2", "v3"])
    {'key3': 'v3', 'key1': 'v1', 'key2': 'v2'}

    Raises:
        TypeError: ``flat_sequence`` is not a sequence.
        ValueError: it holds more or fewer items than ``structure`` has leaves.
    """
    if not isinstance(flat_sequence, (list, tuple)) and not hasattr(flat_sequence, "__len__"):
        raise TypeError("pack_sequence_as(): `flat_sequence` must be a list or tuple. "
                        f"Received: {type(flat_sequence).__name__}")
    flat_sequence = list(flat_sequence)
    expected = len(flatten(structure))
    if len(flat_sequence) != expected:
        raise ValueError(f"pack_sequence_as(): the structure has {expected} leaves but "
                         f"`flat_sequence` has {len(flat_sequence)} items.\nStructure: "
                         f"{structure!r}")
    leaves = iter(flat_sequence)

    def fill(node):
        if not is_nested(node):
            return next(leaves)
        return _rebuild(node, [fill(child) for child in _children(node)])
    return fill(structure)


def lists_to_tuples(structure):
    """The same structure with every list turned into a tuple."""
    if not is_nested(structure):
        return structure
    children = [lists_to_tuples(child) for child in _children(structure)]
    return tuple(children) if isinstance(structure, list) else _rebuild(structure, children)
