"""summary() in Keras 3's layout: layer (type), output shape, param #, totals."""
import neuropil as keras
from neuropil import layers


def summary_text(model, **kwargs):
    lines = []
    model.summary(print_fn=lambda line, **_: lines.append(line), **kwargs)
    return "\n".join(lines)


def test_summary_of_the_course_7_4_3_1_network():
    model = keras.Sequential([keras.Input((7,)), layers.Dense(4, name="h1"),
                              layers.Dense(3, name="h2"), layers.Dense(1, name="out")],
                             name="course")
    text = summary_text(model)
    assert 'Model: "course"' in text
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    for row in (("h1 (Dense)", "(None, 4)", "32"), ("h2 (Dense)", "(None, 3)", "15"),
                ("out (Dense)", "(None, 1)", "4")):
        line = next(line for line in text.splitlines() if row[0] in line)
        assert row[1] in line and line.rstrip(" │").endswith(row[2])
    assert "Total params: 51 (204.00 B)" in text
    assert "Trainable params: 51" in text and "Non-trainable params: 0" in text


def test_summary_counts_frozen_weights_as_non_trainable():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="a"), layers.Dense(1)])
    model.get_layer("a").trainable = False
    text = summary_text(model)
    assert "Trainable params: 3 " in text and "Non-trainable params: 8 " in text


def test_summary_of_unbuilt_model_says_so():
    model = keras.Sequential([layers.Dense(2)])
    text = summary_text(model)
    assert "unbuilt" in text or "?" in text


def test_summary_prints_to_stdout_by_default(capsys):
    keras.Sequential([keras.Input((3,)), layers.Dense(2)]).summary()
    assert "Total params: 8" in capsys.readouterr().out
