"""keras.config: Keras 3's global settings, backed by neuropil.backend (no second copy)."""
from __future__ import annotations

import numpy as np
import pytest

import neuropil as keras
from neuropil import backend, config


@pytest.fixture(autouse=True)
def restore_config():
    """Every test leaves the global settings as it found them."""
    saved = (backend.floatx(), backend.epsilon(), dict(config._STATE))
    yield
    backend.set_floatx(saved[0])
    backend.set_epsilon(saved[1])
    config._STATE.clear()
    config._STATE.update(saved[2])


def test_namespace_is_reachable_the_keras_way():
    assert keras.config is config
    from neuropil.config import floatx  # noqa: F401  (a plain import works too)
    missing = [name for name in config.__all__ if not hasattr(config, name)]
    assert missing == []


def test_floatx_set_then_get_is_the_backends_setting():
    assert keras.config.floatx() == "float32"
    keras.config.set_floatx("float64")
    assert keras.config.floatx() == "float64"
    assert keras.backend.floatx() == "float64"  # one setting, not two
    assert keras.layers.Dense(2).dtype == "float64"


def test_set_floatx_rejects_an_unknown_type():
    with pytest.raises(ValueError, match="float8"):
        keras.config.set_floatx("float8")
    assert keras.config.floatx() == "float32"


def test_epsilon_set_then_get():
    assert keras.config.epsilon() == 1e-7
    keras.config.set_epsilon(1e-5)
    assert keras.config.epsilon() == 1e-5
    assert keras.backend.epsilon() == 1e-5


def test_image_data_format_is_channels_last_and_stays_so():
    assert keras.config.image_data_format() == "channels_last"
    keras.config.set_image_data_format("Channels_Last")  # case-insensitive, as Keras
    assert keras.config.image_data_format() == "channels_last"


def test_channels_first_is_refused_with_the_per_layer_fix():
    with pytest.raises(ValueError, match="channels-last only") as error:
        keras.config.set_image_data_format("channels_first")
    assert "data_format='channels_first'" in str(error.value)
    assert keras.config.image_data_format() == "channels_last"


def test_unknown_data_format_is_refused():
    with pytest.raises(ValueError, match="Received: data_format='nchw'"):
        keras.config.set_image_data_format("nchw")


def test_backend_is_numpy():
    assert keras.config.backend() == "numpy"


def test_enable_unsafe_deserialization_does_not_unlock_lambdas():
    assert keras.config.enable_unsafe_deserialization() is None
    config_with_lambda = {"class_name": "__lambda__", "config": {"code": "AAAA"}}
    with pytest.raises(ValueError, match="never loads code"):
        keras.saving.deserialize_keras_object(config_with_lambda, safe_mode=False)


def test_interactive_logging_toggles():
    assert keras.config.is_interactive_logging_enabled() is True
    keras.config.disable_interactive_logging()
    assert keras.config.is_interactive_logging_enabled() is False
    assert keras.utils.is_interactive_logging_enabled() is False  # same state in utils
    keras.utils.enable_interactive_logging()
    assert keras.config.is_interactive_logging_enabled() is True


def test_traceback_filtering_toggles():
    assert keras.config.is_traceback_filtering_enabled() is True
    keras.config.disable_traceback_filtering()
    assert keras.config.is_traceback_filtering_enabled() is False
    keras.config.enable_traceback_filtering()
    assert keras.config.is_traceback_filtering_enabled() is True


def test_max_epochs_and_max_steps_per_epoch_cap_fit():
    import numpy as np

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    steps = []
    count_steps = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: steps.append(batch))
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    assert (keras.config.max_epochs(), keras.config.max_steps_per_epoch()) == (2, 3)
    try:
        history = model.fit(x, y, batch_size=4, epochs=5, verbose=0, callbacks=[count_steps])
    finally:
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
    assert len(history.history["loss"]) == 2 and steps == [0, 1, 2, 0, 1, 2]
    steps.clear()
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[count_steps])
    assert len(history.history["loss"]) == 2 and len(steps) == 20  # no cap: 10 a epoch


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "3"])
def test_caps_must_be_positive_integers(bad):
    with pytest.raises(ValueError, match="positive integer"):
        keras.config.set_max_epochs(bad)
    assert keras.config.max_epochs() is None


def test_dtype_policy_follows_floatx():
    policy = keras.config.dtype_policy()
    assert (policy.name, policy.compute_dtype, policy.variable_dtype) == ("float32",) * 3
    keras.config.set_floatx("float64")
    assert keras.config.dtype_policy().name == "float64"


def test_set_dtype_policy_sets_floatx_and_new_layers_follow():
    keras.config.set_dtype_policy("float64")
    assert keras.config.floatx() == "float64"
    assert keras.config.dtype_policy() == config.DTypePolicy("float64")
    layer = keras.layers.Dense(3)
    layer.build((None, 2))
    assert layer.kernel.numpy().dtype == np.float64
    keras.config.set_dtype_policy(config.DTypePolicy("float32"))
    assert keras.config.floatx() == "float32"


@pytest.mark.parametrize("name", ["mixed_float16", "mixed_bfloat16", "bfloat16",
                                  "int8_from_float32"])
def test_mixed_and_quantized_policies_are_refused(name):
    with pytest.raises(ValueError, match="does not support the dtype policy"):
        keras.config.set_dtype_policy(name)
    assert keras.config.floatx() == "float32"


def test_a_policy_must_be_a_name_or_a_policy():
    with pytest.raises(ValueError, match="Invalid `policy`"):
        keras.config.set_dtype_policy(32)


def test_fit_progress_goes_to_the_logger_when_interactive_logging_is_off(capsys, caplog):
    import logging

    import numpy as np

    import neuropil as keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((8, 3), "float32"), np.zeros((8, 1), "float32")
    keras.config.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="neuropil"):
            model.fit(x, y, epochs=2, verbose=2)
    finally:
        keras.config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    lines = [r.getMessage() for r in caplog.records if r.name == "neuropil"]
    assert lines[0] == "Epoch 1/2" and any(line.startswith("1/1 - ") for line in lines)
    model.fit(x, y, epochs=1, verbose=2)  # back on: printed again
    assert "1/1 - " in capsys.readouterr().out
