"""to_categorical: Keras 3 shapes, float32 output, clear errors for bad labels."""

import numpy as np
import pytest

from neuropil.data.encoding import to_categorical


def test_hand_made_expectation():
    expected = np.array(
        [
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
        ],
        dtype=np.float32,
    )
    out = to_categorical([0, 2, 1, 2], num_classes=4)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_num_classes_inferred_as_max_plus_one():
    assert to_categorical(np.array([3, 0], np.uint8)).shape == (2, 4)


@pytest.mark.parametrize(
    "shape, expected",
    [
        ((5,), (5, 3)),
        ((5, 1), (5, 3)),  # a column of labels is n labels, as in Keras
        ((1,), (1, 3)),
        ((), (3,)),
        ((2, 4), (2, 4, 3)),
        ((2, 4, 1), (2, 4, 3)),
        ((0,), (0, 3)),
    ],
)
def test_shapes_follow_keras(shape, expected):
    labels = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape) % 3
    out = to_categorical(labels, num_classes=3)
    assert out.shape == expected
    # Each one-hot row points back at its label.
    np.testing.assert_array_equal(out.argmax(-1), labels.reshape(expected[:-1]))
    assert np.all(out.sum(-1) == 1)


def test_whole_number_floats_accepted():
    np.testing.assert_array_equal(to_categorical([1.0, 0.0]), [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    "labels, num_classes, message",
    [
        ([0, 3, 1], 3, r"label 3 \(at flat index 1\) is outside the range \[0, 3\)"),
        ([0, -1], 3, r"label -1 .* outside the range \[0, 3\)"),
        ([0, -1], None, r"label -1 .* outside the range"),
        ([0.0, 2.5], 3, r"value 2.5, which is not a whole number"),
        ([0.0, np.nan], 3, r"value nan"),
        ([0.0, np.inf], 3, r"value inf"),
        (["a", "b"], 3, r"integer class labels; got an array of dtype <U1"),
        ([], None, r"cannot infer `num_classes` from an empty"),
        ([0, 1], 0, r"positive integer. Received: num_classes=0"),
        ([0, 1], 2.5, r"Received: num_classes=2.5"),
        ([0, 1], True, r"Received: num_classes=True"),
    ],
)
def test_bad_labels_and_num_classes(labels, num_classes, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(labels, num_classes=num_classes)


def test_large_input_is_vectorised():
    labels = np.random.default_rng(0).integers(0, 10, size=200_000)
    out = to_categorical(labels, 10)
    np.testing.assert_array_equal(np.flatnonzero(out.reshape(-1)) % 10, labels)
