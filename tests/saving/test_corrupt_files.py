"""Damaged or hostile .keras files fail with a ValueError naming the file, never run code."""
from __future__ import annotations

import io
import json
import zipfile

import h5py
import numpy as np
import pytest

import neuropil as keras
from saving_helpers import conv_model, dense_model


@pytest.fixture
def saved(tmp_path):
    model = dense_model()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(np.ones((4, 4), "float32"), np.zeros(4), epochs=1, verbose=0)
    path = tmp_path / "good.keras"
    model.save(path)
    return path


def _members(path) -> dict:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rewrite(path, tmp_path, config=None, weights=None, drop=(), name="bad.keras"):
    """A copy of ``path`` with config.json / model.weights.h5 replaced or members dropped."""
    members = _members(path)
    if config is not None:
        members["config.json"] = json.dumps(config).encode() if not isinstance(
            config, bytes) else config
    if weights is not None:
        members["model.weights.h5"] = weights
    out = tmp_path / name
    with zipfile.ZipFile(out, "w") as zf:
        for member, data in members.items():
            if member not in drop:
                zf.writestr(member, data)
    return out


def _config(path) -> dict:
    return json.loads(_members(path)["config.json"])


def _edit_weights(path, edit) -> bytes:
    buffer = io.BytesIO(_members(path)["model.weights.h5"])
    with h5py.File(buffer, "a") as f:
        edit(f)
    return buffer.getvalue()


def _fails(path, *fragments):
    with pytest.raises(ValueError) as error:
        keras.models.load_model(path)
    message = str(error.value)
    assert path.name in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_truncated_zip(saved, tmp_path):
    data = saved.read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        path = tmp_path / f"cut{cut}.keras"
        path.write_bytes(data[:cut])
        _fails(path)


def test_not_a_zip(tmp_path):
    path = tmp_path / "text.keras"
    path.write_text("hello")
    _fails(path, "not a valid .keras file")


def test_bad_json(saved, tmp_path):
    _fails(_rewrite(saved, tmp_path, config=b"{not json"), "config.json is not valid JSON")
    _fails(_rewrite(saved, tmp_path, config=[1, 2], name="list.keras"),
           "does not describe a model")


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_missing_member(saved, tmp_path, member):
    _fails(_rewrite(saved, tmp_path, drop=(member,)), f"has no {member}")


def test_unknown_class_name(saved, tmp_path):
    config = _config(saved)
    config["config"]["layers"][1]["class_name"] = "Dense3000"
    _fails(_rewrite(saved, tmp_path, config=config), "'Dense3000'", "Unknown class")


@pytest.mark.parametrize("where", ["model", "layer", "initializer"])
def test_builtins_eval_is_never_called(saved, tmp_path, where, monkeypatch):
    calls = []
    monkeypatch.setattr("builtins.eval", lambda *args: calls.append(args))
    hostile = {"module": "builtins", "class_name": "eval",
               "config": {"source": "__import__('os').system('echo pwned')"},
               "registered_name": "eval"}
    config = _config(saved)
    if where == "model":
        config.update(hostile)
    elif where == "layer":
        config["config"]["layers"][1] = hostile
    else:
        config["config"]["layers"][1]["config"]["kernel_initializer"] = hostile
    _fails(_rewrite(saved, tmp_path, config=config), "eval")
    assert not calls


def test_builtins_function_is_refused(saved, tmp_path):
    config = _config(saved)
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "builtins", "class_name": "function", "config": "exec",
        "registered_name": "exec"}
    _fails(_rewrite(saved, tmp_path, config=config), "Unknown function 'exec'")


def test_module_import_is_never_attempted(saved, tmp_path, monkeypatch):
    imported = []
    monkeypatch.setattr("importlib.import_module", lambda name, *a: imported.append(name))
    config = _config(saved)
    config["config"]["layers"][1].update(module="os", class_name="system")
    _fails(_rewrite(saved, tmp_path, config=config), "'system'")
    assert not imported


@pytest.mark.parametrize("safe_mode", [True, False])
def test_lambda_is_refused_even_unsafe(saved, tmp_path, safe_mode):
    config = _config(saved)
    config["config"]["layers"][1]["config"]["activation"] = {
        "class_name": "__lambda__", "config": {"value": ["base64-bytecode", None, None]}}
    path = _rewrite(saved, tmp_path, config=config)
    with pytest.raises(ValueError, match="never loads code"):
        keras.models.load_model(path, safe_mode=safe_mode)


def test_wrong_hdf5_shape(saved, tmp_path):
    def edit(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = np.zeros((4, 7), "float32")
    path = _rewrite(saved, tmp_path, weights=_edit_weights(saved, edit))
    _fails(path, "'layers/dense/vars/0'", "weight 'kernel'", "(4, 5)", "(4, 7)")


def test_missing_weights(saved, tmp_path):
    path = _rewrite(saved, tmp_path, weights=_edit_weights(
        saved, lambda f: f.__delitem__("layers/dense_1")))
    _fails(path, "['kernel', 'bias']", "no group 'layers/dense_1/vars'")
    path = _rewrite(saved, tmp_path, name="one.keras", weights=_edit_weights(
        saved, lambda f: f.__delitem__("layers/dense/vars/1")))
    _fails(path, "has 2 weights", "holds 1")


def test_non_numeric_and_linked_datasets(saved, tmp_path):
    def text(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.array([b"a"] * 5)
    _fails(_rewrite(saved, tmp_path, weights=_edit_weights(saved, text)), "numbers")

    def soft(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = h5py.SoftLink("/layers/dense_1/vars/1")
    _fails(_rewrite(saved, tmp_path, name="soft.keras", weights=_edit_weights(saved, soft)),
           "SoftLink")

    def external(f):
        del f["layers/dense"]
        f["layers/dense"] = h5py.ExternalLink("/etc/passwd.h5", "/x")
    _fails(_rewrite(saved, tmp_path, name="ext.keras", weights=_edit_weights(saved, external)),
           "ExternalLink")


def test_garbage_weights_member(saved, tmp_path):
    _fails(_rewrite(saved, tmp_path, weights=b"\x89HDF garbage"), "not a readable HDF5")


def test_keras_only_option_set_is_refused(saved, tmp_path):
    config = _config(saved)
    config["config"]["layers"][1]["config"]["quantization_config"] = {"mode": "int8"}
    _fails(_rewrite(saved, tmp_path, config=config), "quantization_config")


def test_broken_functional_graph(tmp_path):
    path = tmp_path / "f.keras"
    conv_model().save(path)
    config = _config(path)
    config["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"][
        "keras_history"] = ["nowhere", 0, 0]
    _fails(_rewrite(path, tmp_path, config=config), "unknown layer 'nowhere'")
    config = _config(path)
    config["config"]["output_layers"] = ["head", 5, 0]
    _fails(_rewrite(path, tmp_path, config=config, name="out.keras"), "no node 5")


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_random_byte_flips_never_escape_as_other_errors(saved, tmp_path, suffix):
    """Fuzz: any damage either still loads or raises ValueError naming the file.

    (A zip checks CRCs, so a damaged .keras always fails; HDF5 has no checksums, so flipped
    bytes inside a .weights.h5 array load as different numbers, as in Keras.)
    """
    if suffix == ".weights.h5":
        keras.models.load_model(saved).save_weights(tmp_path / "good.weights.h5")
    data = (tmp_path / f"good{suffix}").read_bytes()
    rng = np.random.default_rng(0)
    failures = 0
    for trial in range(100):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=int(rng.integers(1, 4))):
            damaged[position] ^= int(rng.integers(1, 256))
        path = tmp_path / f"fuzz{trial}{suffix}"
        path.write_bytes(bytes(damaged))
        try:
            if suffix == ".keras":
                keras.models.load_model(path)
            else:
                dense_model().load_weights(path)
        except ValueError as error:
            assert path.name in str(error)
            failures += 1
    assert failures >= (90 if suffix == ".keras" else 5)
