"""The functional API beyond a chain: several inputs and outputs (lists and dicts), shared
layers, nested models, feature models, per-output compile, order and error handling."""
import numpy as np
import pytest

import neuropil as keras
from neuropil import layers, ops

RNG = np.random.default_rng(0)
XA = RNG.normal(size=(48, 4)).astype("float32")
XB = RNG.normal(size=(48, 3)).astype("float32")
Y_CLASS = RNG.integers(0, 3, 48)
Y_VALUE = (XA[:, :1] - XB[:, 1:2]).astype("float32")


def two_in_two_out(input_names=("a", "b")):
    a = keras.Input((4,), name=input_names[0])
    b = keras.Input((3,), name=input_names[1])
    merged = layers.concatenate([layers.Dense(8, activation="relu", name="branch_a")(a),
                                 layers.Dense(8, activation="relu", name="branch_b")(b)],
                                name="merged")
    classes = layers.Dense(3, activation="softmax", name="classes")(merged)
    value = layers.Dense(1, name="value")(merged)
    return a, b, classes, value


def test_two_inputs_two_outputs_train_with_per_output_losses_and_metrics():
    keras.utils.set_random_seed(1)
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    assert model.output_names == ["classes", "value"]
    model.compile(keras.optimizers.Adam(0.02),
                  loss=["sparse_categorical_crossentropy", "mse"],
                  metrics=[["accuracy"], ["mae", "mse"]])
    history = model.fit([XA, XB], [Y_CLASS, Y_VALUE], epochs=15, batch_size=16, verbose=0)
    # Keras 3's names: "<output>_loss" (unweighted) and "<output>_<metric>".
    assert set(history.history) == {"loss", "classes_loss", "value_loss", "classes_accuracy",
                                    "value_mae", "value_mse"}
    assert history.history["value_loss"][-1] < history.history["value_loss"][0] / 2
    logs = model.evaluate([XA, XB], [Y_CLASS, Y_VALUE], verbose=0, return_dict=True)
    assert logs["loss"] == pytest.approx(logs["classes_loss"] + logs["value_loss"], rel=1e-5)
    assert logs["value_mse"] == pytest.approx(logs["value_loss"], rel=1e-5)
    # The list form: loss, each output's loss, then the other names sorted (as Keras).
    listed = model.evaluate([XA, XB], [Y_CLASS, Y_VALUE], verbose=0)
    assert model.metrics_names == ["loss", "classes_loss", "value_loss", "classes_accuracy",
                                   "value_mae", "value_mse"]
    assert listed == pytest.approx([logs[name] for name in model.metrics_names])
    predictions = model.predict([XA, XB], verbose=0)
    assert isinstance(predictions, list)
    assert [p.shape for p in predictions] == [(48, 3), (48, 1)]


def test_loss_weights_scale_each_output_in_the_total():
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    results = {}
    for weights in (None, [1.0, 0.0], {"classes": 0.5, "value": 3.0}):
        model.compile("sgd", loss={"classes": "sparse_categorical_crossentropy",
                                   "value": "mse"}, loss_weights=weights)
        results[str(weights)] = model.evaluate([XA, XB], {"classes": Y_CLASS, "value": Y_VALUE},
                                               verbose=0, return_dict=True)
    plain, first_only, mixed = results.values()
    assert plain["classes_loss"] == first_only["classes_loss"] == mixed["classes_loss"]
    assert first_only["loss"] == pytest.approx(plain["classes_loss"], rel=1e-6)
    assert mixed["loss"] == pytest.approx(0.5 * plain["classes_loss"] + 3 * plain["value_loss"],
                                          rel=1e-5)


def test_loss_weights_change_what_is_learned():
    """With the regression output weighted 0 its head gets no gradient, so it stays put."""
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    model.compile("sgd", loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[1, 0])
    head = model.get_layer("value").get_weights()
    model.fit([XA, XB], [Y_CLASS, Y_VALUE], epochs=1, batch_size=16, verbose=0)
    for before, after in zip(head, model.get_layer("value").get_weights()):
        np.testing.assert_array_equal(before, after)


def test_dict_inputs_and_outputs_by_name():
    keras.utils.set_random_seed(2)
    a, b, classes, value = two_in_two_out(("left", "right"))
    model = keras.Model({"left": a, "right": b}, {"cls": classes, "val": value})
    model.compile(keras.optimizers.Adam(0.01),
                  loss={"cls": "sparse_categorical_crossentropy", "val": "mse"},
                  metrics={"cls": "accuracy"})
    # dict keys in any order
    history = model.fit({"right": XB, "left": XA}, {"val": Y_VALUE, "cls": Y_CLASS}, epochs=2,
                        verbose=0, validation_split=0.25)
    assert {"cls_loss", "val_loss", "cls_accuracy", "val_cls_accuracy"} <= set(history.history)
    predictions = model.predict({"left": XA, "right": XB}, verbose=0)
    assert set(predictions) == {"cls", "val"} and predictions["val"].shape == (48, 1)
    direct = model({"right": XB[:5], "left": XA[:5]})
    np.testing.assert_allclose(direct["cls"].numpy(), predictions["cls"][:5], rtol=1e-6)
    with pytest.raises(ValueError, match="missing"):
        model.predict({"left": XA}, verbose=0)


def test_list_inputs_can_be_given_as_a_dict_of_input_names():
    a, b, classes, _ = two_in_two_out()
    model = keras.Model([a, b], classes)
    np.testing.assert_allclose(model.predict({"b": XB, "a": XA}, verbose=0),
                               model.predict([XA, XB], verbose=0))


def test_per_output_metric_names_and_errors():
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    model.compile("sgd", loss="mse", metrics={"value": ["mae", "mae"]},
                  weighted_metrics={"value": ["mae"]})
    logs = model.evaluate([XA, XB], [np.eye(3)[Y_CLASS], Y_VALUE], verbose=0,
                          return_dict=True)
    assert {"value_mae", "value_mae_1", "value_weighted_mae"} <= set(logs)
    with pytest.raises(ValueError, match="not output names"):
        model.compile("sgd", loss={"nope": "mse"})
        model.evaluate([XA, XB], [Y_CLASS, Y_VALUE], verbose=0)
    model.compile("sgd", loss=["mse", "mse"], metrics=["mae"])  # 1 entry for 2 outputs
    with pytest.raises(ValueError, match="1 entries, but the model has 2 output"):
        model.evaluate([XA, XB], [np.eye(3)[Y_CLASS], Y_VALUE], verbose=0)
    model.compile("sgd", loss=["mse", "mse"])
    with pytest.raises(ValueError, match="single array"):
        model.evaluate([XA, XB], Y_VALUE, verbose=0)


def test_one_loss_for_every_output_and_a_skipped_output():
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    model.compile("sgd", loss=[None, "mse"])  # no loss for the classes output
    logs = model.evaluate([XA, XB], [np.eye(3)[Y_CLASS], Y_VALUE], verbose=0,
                          return_dict=True)
    assert set(logs) == {"loss"}  # one loss only: no per-output trackers (as Keras)
    model.compile("sgd", loss="mse")
    logs = model.evaluate([XA, XB], [np.eye(3)[Y_CLASS], Y_VALUE], verbose=0,
                          return_dict=True)
    assert logs["loss"] == pytest.approx(logs["classes_loss"] + logs["value_loss"], rel=1e-5)


def test_shared_layer_gradients_are_summed():
    x1, x2 = keras.Input((3,)), keras.Input((3,))
    shared = layers.Dense(2, name="shared")
    out = layers.add([shared(x1), shared(x2)])
    model = keras.Model([x1, x2], out)
    assert len(model.trainable_weights) == 2 and model.count_params() == 8
    a = RNG.normal(size=(5, 3)).astype("float32")
    b = RNG.normal(size=(5, 3)).astype("float32")
    c = RNG.normal(size=(5, 2)).astype("float32")

    def gradient(fn):
        for w in model.trainable_weights:
            w.grad = None
        ops.sum(ops.multiply(fn(), c)).backward()
        return [np.array(w.grad) for w in model.trainable_weights]

    both = gradient(lambda: model([a, b], training=True))
    first = gradient(lambda: shared(a, training=True))
    second = gradient(lambda: shared(b, training=True))
    for total, g1, g2 in zip(both, first, second):
        np.testing.assert_allclose(total, g1 + g2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both[0], a.T @ c + b.T @ c, rtol=1e-5, atol=1e-6)


def test_siamese_model_trains_and_summary_shows_both_calls():
    left, right = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    encoder = layers.Dense(3, activation="tanh", name="encoder")
    distance = layers.subtract([encoder(left), encoder(right)])
    out = layers.Dense(1, name="score")(layers.multiply([distance, distance]))
    model = keras.Model([left, right], out)
    model.compile(keras.optimizers.Adam(0.05), "mse")
    x1, x2 = XA, XA[::-1].copy()
    y = np.sum((x1 - x2) ** 2, axis=1, keepdims=True).astype("float32") / 8
    history = model.fit([x1, x2], y, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    lines = []
    model.summary(print_fn=lines.append, line_length=120)
    text = "\n".join(lines)
    assert "Connected to" in text
    assert "left[0][0]" in text and "right[0][0]" in text
    encoder_row = next(line for line in text.splitlines() if "encoder (Dense)" in line)
    assert "left[0][0], right[0][0]" in encoder_row


def test_nested_models_as_layers():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(3, name="inner_dense")(inner_in), name="inner")
    seq = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="seq_dense")],
                           name="seq")
    x = keras.Input((4,))
    model = keras.Model(x, seq(inner(x)))
    assert [layer.name for layer in model.layers][1:] == ["inner", "seq"]
    assert model.count_params() == 15 + 8
    data = XA[:6]
    expected = seq(inner(data)).numpy()
    np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-6)
    model.compile("sgd", "mse")
    before = model.get_layer("inner").get_weights()[0].copy()
    model.fit(data, np.ones((6, 2), "float32"), verbose=0)
    assert not np.array_equal(before, inner.get_weights()[0])  # trained through the nesting


def test_feature_models_from_intermediate_layers():
    a, b, classes, value = two_in_two_out()
    model = keras.Model([a, b], [classes, value])
    branch = model.get_layer("branch_a")
    assert branch.input is a and branch.output.shape == (None, 8)
    features = keras.Model(model.input, model.get_layer("merged").output)
    assert [layer.name for layer in features.layers] == ["a", "b", "branch_a", "branch_b",
                                                         "merged"]
    got = features.predict([XA, XB], verbose=0)
    expected = np.concatenate([branch(XA).numpy(), model.get_layer("branch_b")(XB).numpy()], 1)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    only_a = keras.Model(model.get_layer("a").output, branch.output)
    assert only_a.predict(XA, verbose=0).shape == (48, 8)
    seq = keras.Sequential([keras.Input((4,)), layers.Dense(5, name="h"), layers.Dense(1)])
    hidden = keras.Model(seq.input, seq.get_layer("h").output)
    assert hidden.predict(XA, verbose=0).shape == (48, 5)


def test_order_follows_the_graph_not_construction():
    x = keras.Input((4,), name="x")
    late, early = layers.Dense(3, name="late"), layers.Dense(3, name="early")  # made first
    head = layers.Dense(1, name="head")
    right = layers.Dense(3, name="right")
    h = early(x)
    out = head(layers.add([late(h), right(x)], name="sum"))
    model = keras.Model(x, out)
    names = [layer.name for layer in model.layers]
    assert names.index("x") < names.index("early") < names.index("late") < names.index("head")
    assert names.index("right") < names.index("sum")
    expected = head(late(early(XA)).numpy() + right(XA).numpy()).numpy()
    np.testing.assert_allclose(model.predict(XA, verbose=0), expected, rtol=1e-5)
    # the outputs listed in another order run the same graph
    twin = keras.Model(x, [out, h])
    np.testing.assert_allclose(twin.predict(XA, verbose=0)[0], expected, rtol=1e-5)


def test_deep_graph_needs_no_recursion():
    x = keras.Input((2,))
    y = x
    for _ in range(1200):
        y = layers.Identity()(y)
    model = keras.Model(x, y)
    assert len(model.layers) == 1201


def test_disconnected_graph_names_the_tensor_and_layer():
    a, b = keras.Input((3,), name="a"), keras.Input((3,), name="b")
    out = layers.add([layers.Dense(2, name="from_a")(a), layers.Dense(2, name="from_b")(b)])
    with pytest.raises(ValueError, match=r'Graph disconnected.*"b".*"from_b"'):
        keras.Model(a, out)


def test_shape_mismatch_at_construction_names_both_layers_and_shapes():
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    shared = layers.Dense(2, name="shared")
    shared(a)
    projected = layers.Dense(3, name="proj")(b)
    with pytest.raises(ValueError, match=r'(?s)"shared".*\(None, 3\).*from layer "proj"'):
        shared(projected)
    with pytest.raises(ValueError, match=r'(?s)"plus".*\(None, 4\).*"a".*\(None, 3\).*"b"'):
        layers.Add(name="plus")([a, b])


def test_duplicate_layer_names_are_refused():
    x = keras.Input((3,))
    y = layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(x))
    with pytest.raises(ValueError, match='"twin" is used 2 times'):
        keras.Model(x, y)


def test_unused_input_still_belongs_to_the_model():
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    model = keras.Model([a, b], layers.Dense(1)(a))
    assert "b" in [layer.name for layer in model.layers]  # Keras lists it too
    assert model.predict([XA[:, :3], XB[:, :2]], verbose=0).shape == (48, 1)


def test_subclassed_model_with_custom_call_trains():
    class TwoTower(keras.Model):
        def __init__(self):
            super().__init__()
            self.left = layers.Dense(6, activation="relu")
            self.right = layers.Dense(6, activation="relu")
            self.head = layers.Dense(1)

        def call(self, inputs, training=None):
            x1, x2 = inputs
            return self.head(ops.concatenate([self.left(x1), self.right(x2)], axis=-1))

    keras.utils.set_random_seed(3)
    model = TwoTower()
    model.compile(keras.optimizers.Adam(0.02), "mse")
    history = model.fit([XA, XB], Y_VALUE, epochs=20, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    assert len(model.trainable_weights) == 6


def test_added_losses_are_cleared_at_each_outermost_call():
    class Penalized(layers.Layer):
        def call(self, x):
            self.add_loss(ops.sum(ops.square(x)))
            return x

    penalized = Penalized()
    x = keras.Input((2,))
    model = keras.Model(x, layers.Dense(1)(penalized(x)))
    data = np.ones((3, 2), "float32")
    model(data)
    model(data)
    assert len(model.losses) == 1 and float(model.losses[0].data) == pytest.approx(6.0)
    penalized(2 * data)  # called alone: its own outermost call
    assert float(penalized.losses[0].data) == pytest.approx(24.0) and len(model.losses) == 1
    model(data)  # the model's call clears the stale loss of its sublayer
    assert len(model.losses) == 1 and float(model.losses[0].data) == pytest.approx(6.0)
    model.compile("sgd", "mse")
    first = model.evaluate(data, np.zeros((3, 1)), verbose=0)
    second = model.evaluate(data, np.zeros((3, 1)), verbose=0)
    assert first == pytest.approx(second)  # no accumulation across steps


def test_shared_layer_activity_regularizer_counts_every_call():
    x1, x2 = keras.Input((2,)), keras.Input((2,))
    shared = layers.Dense(2, kernel_initializer="ones", activity_regularizer="l1")
    model = keras.Model([x1, x2], layers.add([shared(x1), shared(x2)]))
    model([np.ones((1, 2)), np.ones((1, 2))])
    assert len(model.losses) == 2
    model([np.ones((1, 2)), np.ones((1, 2))])
    assert len(model.losses) == 2


def test_dict_inputs_and_outputs_flatten_in_sorted_key_order_as_keras():
    """keras.tree.flatten sorts a dict's keys (an OrderedDict keeps its order), so a model
    built on dicts lists inputs and outputs that way, and a list of losses follows it."""
    from collections import OrderedDict

    b, a = keras.Input((2,), name="b"), keras.Input((3,), name="a")
    z = keras.layers.Dense(1, name="dz")(keras.layers.concatenate([a, b]))
    y = keras.layers.Dense(2, activation="softmax", name="dy")(a)
    model = keras.Model({"b": b, "a": a}, {"z": z, "y": y})
    assert [t.name for t in model.inputs] == ["a", "b"]
    assert model.output_names == ["dy", "dz"]
    ordered = keras.Model(OrderedDict(b=b, a=a), OrderedDict(z=z, y=y))
    assert [t.name for t in ordered.inputs] == ["b", "a"]
    assert ordered.output_names == ["dz", "dy"]

    rng = np.random.default_rng(0)
    x = {"a": rng.random((8, 3)), "b": rng.random((8, 2))}
    targets = {"z": rng.random((8, 1)), "y": rng.integers(0, 2, 8)}
    # A list of losses goes to the outputs in flattened order: y (sorted first), then z.
    model.compile(optimizer="sgd", loss=["sparse_categorical_crossentropy", "mse"])
    listed = model.evaluate(x, targets, verbose=0, return_dict=True)
    model.compile(optimizer="sgd", loss={"y": "sparse_categorical_crossentropy", "z": "mse"})
    named = model.evaluate(x, targets, verbose=0, return_dict=True)
    assert listed == pytest.approx(named)
    # Data given as a list follows model.inputs: a first.
    np.testing.assert_allclose(model.predict([x["a"], x["b"]], verbose=0)["z"],
                               model.predict(x, verbose=0)["z"], rtol=1e-6)
