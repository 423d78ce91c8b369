"""neuropil.losses as a package (crossentropy, regression, hinge, probabilistic, segmentation,
loss): every name of the former single module is still there, and what the split could change
(class modules, saved configs, a loss's direction as a metric) did not change."""
import importlib
import json

import numpy as np
import pytest

import neuropil as keras
from neuropil import losses
from neuropil.metrics import MeanMetricWrapper

SUBMODULES = ["crossentropy", "regression", "hinge", "probabilistic", "segmentation", "loss"]
# Module-level names of the single-file neuropil/losses.py that were not in its __all__.
FORMER_PRIVATE = ["REDUCTIONS", "reduce_weighted", "MSE", "MAE", "_tensor", "_align_ranks",
                  "_logits_of", "_binary_terms", "_hinge_labels", "_margin", "_axis",
                  "_wrapper_class", "_NEW_FUNCTIONS", "_FUNCTIONS", "_CLASSES"]


def test_every_former_name_is_still_importable():
    missing = [name for name in losses.__all__ + FORMER_PRIVATE if not hasattr(losses, name)]
    assert not missing
    assert losses.MSE is losses.mse is losses.mean_squared_error


@pytest.mark.parametrize("name", SUBMODULES)
def test_submodules_export_the_same_objects(name):
    module = importlib.import_module(f"neuropil.losses.{name}")
    for exported in module.__all__:
        assert getattr(losses, exported) is getattr(module, exported), exported


def test_each_name_lives_in_exactly_one_family():
    owners = {}
    for name in SUBMODULES:
        for exported in importlib.import_module(f"neuropil.losses.{name}").__all__:
            owners.setdefault(exported, []).append(name)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert set(losses.__all__) - {"get", "serialize", "deserialize"} <= set(owners)


@pytest.mark.parametrize("cls", sorted(losses._CLASSES.values(), key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_classes_live_beside_their_function_and_save_as_keras_losses(cls):
    instance = cls()
    assert cls.__module__ == instance.fn.__module__
    assert cls.__module__.startswith("neuropil.losses.")
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(instance)))
    assert config["module"] == "keras.losses" and config["class_name"] == cls.__name__
    assert config["registered_name"] is None
    assert losses.serialize(instance)["module"] == "keras.losses"
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is cls and restored.get_config() == instance.get_config()


@pytest.mark.parametrize("fn", sorted(set(losses._FUNCTIONS.values()), key=lambda f: f.__name__),
                         ids=lambda f: f.__name__)
def test_functions_save_as_keras_losses_and_are_minimized_as_metrics(fn):
    config = keras.saving.serialize_keras_object(fn)
    assert config == {"module": "keras.losses", "class_name": "function",
                      "config": fn.__name__, "registered_name": fn.__name__}
    assert keras.saving.deserialize_keras_object(config) is fn
    assert MeanMetricWrapper(fn)._direction == "down"


def test_a_model_with_a_loss_object_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", keras.losses.Huber(delta=0.5))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.loss) is keras.losses.Huber and loaded.loss.delta == 0.5
    x = np.ones((3, 2), "float32")
    assert loaded.evaluate(x, x[:, :1], verbose=0) == pytest.approx(
        model.evaluate(x, x[:, :1], verbose=0))
