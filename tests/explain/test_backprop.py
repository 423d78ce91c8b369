"""backprop: one training step's gradients, checked against a hand computation."""
import re

import numpy as np
import pytest

import neuropil as keras
from neuropil import layers
from neuropil.explain import BackpropReport, backprop


def tiny_network():
    """x = (1, 2) -> Dense(2, relu) -> Dense(1, sigmoid), numbers chosen to come out round.

    Forward: z1 = (1·1 + 2·0.5 + 0, 1·(-1) + 2·1 + 0.5) = (2, 1.5) = h;
    z2 = 2·0.5 + 1.5·(-1) + 0.5 = 0; y = sigmoid(0) = 0.5; L = (0.5 - 1)² = 0.25.
    Backward: dL/dy = 2(y - 1) = -1; sigmoid'(0) = 0.25; dL/dz2 = -0.25;
    dL/dW2 = h · dL/dz2 = (-0.5, -0.375); dL/db2 = -0.25;
    dL/dh = W2 · dL/dz2 = (-0.125, 0.25), relu'(z1) = 1; dL/dW1 = x ⊗ dL/dh; dL/db1 = dL/dh.
    """
    model = keras.Sequential([keras.Input((2,)), layers.Dense(2, activation="relu", name="d1"),
                              layers.Dense(1, activation="sigmoid", name="d2")])
    model.set_weights([np.array([[1, -1], [0.5, 1]], "float32"), np.array([0, 0.5], "float32"),
                       np.array([[0.5], [-1]], "float32"), np.array([0.5], "float32")])
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_numbers_match_the_hand_computation():
    report = backprop(tiny_network(), [1, 2], 1)
    assert isinstance(report, BackpropReport)
    assert report.loss == pytest.approx(0.25) and report.data_loss == pytest.approx(0.25)
    chain = report.chain
    assert chain.layer == "d2" and chain.activation == "sigmoid"
    np.testing.assert_allclose(chain.x, [[2, 1.5]])
    np.testing.assert_allclose(chain.z, [[0]])
    np.testing.assert_allclose(chain.dL_dy, [[-1]], rtol=1e-6)
    np.testing.assert_allclose(chain.dg_dz, [[0.25]], rtol=1e-6)
    np.testing.assert_allclose(chain.dL_dz, [[-0.25]], rtol=1e-6)
    np.testing.assert_allclose(chain.dL_dW, [[-0.5], [-0.375]], rtol=1e-6)
    np.testing.assert_allclose(chain.dL_db, [-0.25], rtol=1e-6)
    assert chain.matches_engine < 1e-7
    np.testing.assert_allclose(report.grad("d2/kernel"), [[-0.5], [-0.375]], rtol=1e-6)
    np.testing.assert_allclose(report.grad("d2/bias"), [-0.25], rtol=1e-6)
    np.testing.assert_allclose(report.grad("d1/kernel"), [[-0.125, 0.25], [-0.25, 0.5]],
                               rtol=1e-6)
    np.testing.assert_allclose(report.grad("d1/bias"), [-0.125, 0.25], rtol=1e-6)
    norms = {f"{g.layer}/{g.name}": g.norm for g in report.gradients}
    assert norms["d2/kernel"] == pytest.approx(np.hypot(0.5, 0.375), rel=1e-6)


def test_report_text():
    text = str(backprop(tiny_network(), [1, 2], 1))
    # the loss is named as compile() resolved it ("mse" or its long name)
    assert re.search(r"loss \((mse|mean_squared_error)\) on 1 sample: 0\.25", text)
    assert "dL/dy = (-1)" in text
    assert "dL/dz = dL/dy · sigmoid'(z) = ((-1)·0.25) = (-0.25)" in text
    assert "dL/dW[1, 1] = 2·(-0.25) = -0.5" in text
    assert "dL/dW[2, 1] = 1.5·(-0.25) = -0.375" in text
    assert "dL/db = Σ dL/dz = (-0.25)" in text
    assert "d1/kernel" in text and "‖dL/dw‖" in text


def test_nothing_changes():
    model = tiny_network()
    model.add(layers.BatchNormalization())  # moving statistics move in training mode
    model.compile(keras.optimizers.SGD(0.1), loss="mse")
    before = model.get_weights()
    arrays = [w.data for w in model.weights]
    backprop(model, np.array([[1, 2], [3, -1]], "float32"), np.array([[1], [0]], "float32"))
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    assert all(w.data is a for w, a in zip(model.weights, arrays))
    assert all(w.grad is None for w in model.weights)
    assert int(np.asarray(model.optimizer.iterations.data)) == 0


def test_a_batch_sums_over_samples_and_matches_the_engine():
    model = tiny_network()
    x = np.array([[1, 2], [0.5, -1], [2, 0]], "float32")
    report = backprop(model, x, np.array([1, 0, 1], "float32"))
    assert report.batch == 3
    np.testing.assert_allclose(report.chain.dL_dW, report.grad("d2/kernel"), rtol=1e-5,
                               atol=1e-7)
    assert "summed over the 3 samples" in str(report)


def test_softmax_cross_entropy_gives_p_minus_y():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(4, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(2, 3)).astype("float32")
    report = backprop(model, x, np.array([1, 3]))
    p = model.predict(x, verbose=0)
    np.testing.assert_allclose(report.chain.dL_dz, (p - np.eye(4)[[1, 3]]) / 2, atol=1e-6)
    assert report.chain.dg_dz is None and "(y_pred − y_true) / batch" in str(report)


def test_penalties_and_dead_relus_are_reported(lecture_model):
    lecture_model.compile("sgd", "binary_crossentropy")
    text = str(backprop(lecture_model, [0, 1, 2, 3], 1))
    assert "hidden1/kernel" in text and "all zero" in text  # (0, 0) after hidden2's ReLUs
    model = keras.Sequential([keras.Input((2,)),
                              layers.Dense(1, kernel_regularizer=keras.regularizers.L2(0.5))])
    model.set_weights([np.array([[1.0], [2.0]], "float32"), np.zeros(1, "float32")])
    model.compile("sgd", "mse")
    report = backprop(model, [1, 1], 3)   # prediction 3: data loss 0, penalty 0.5·(1 + 4)
    assert report.data_loss == pytest.approx(0) and report.loss == pytest.approx(2.5)
    assert "data loss 0 + penalties 2.5" in str(report)
    np.testing.assert_allclose(report.grad("kernel"), [[1.0], [2.0]])  # d(0.5·Σw²)/dw = w


def test_a_loss_is_needed():
    model = keras.Sequential([keras.Input((2,)), layers.Dense(1)])
    with pytest.raises(ValueError, match="compile"):
        backprop(model, [1, 2], 1)
    assert backprop(model, [1, 2], 1, loss="mse").loss >= 0
