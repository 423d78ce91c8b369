"""The package's levels: each module may import only from modules at its level or below.

One table, read by ``tests/test_levels.py`` (which fails on an upward import) and by
``tools/loc.py`` (which prints lines per level). Keep it in step with the README's table.
"""
from __future__ import annotations

# Top-level name inside neuropil -> level. Lower levels never import higher ones.
LEVELS = {
    "backend": 0, "config": 0, "tree": 0,
    "autodiff": 1,
    "ops": 2, "data": 2,
    "_naming": 3, "initializers": 3, "regularizers": 3, "constraints": 3,
    "activations": 3, "random": 3,
    "layers": 4,
    "losses": 5, "metrics": 5, "optimizers": 5, "callbacks": 5,
    "training": 6,
    "models": 7,
    "utils": 8, "datasets": 8, "explain": 8, "saving": 8, "applications": 8, "plot": 8,
    "distribution": 8,
    "cli": 9, "__init__": 9, "__main__": 9,
}

# Documented exceptions: (importing file, imported top-level name) -> why.
ALLOWED_UPWARD = {
    ("neuropil/training/trainer.py", "explain"):
        "fit(diagnose=True) calls explain.diagnose, imported inside fit only when asked for",
    ("neuropil/autodiff/tensor.py", "ops"):
        "Tensor's operator sugar (a + b, a @ b) calls ops lazily inside the method body",
    ("neuropil/models/model.py", "saving"):
        "Model.save / save_weights / load_weights / to_json call neuropil.saving, imported "
        "inside the method bodies (Keras's model.save is an alias of keras.saving)",
    ("neuropil/models/__init__.py", "saving"):
        "keras.models.load_model / save_model / model_from_json are thin wrappers that "
        "import neuropil.saving when called",
    ("neuropil/callbacks/backup_and_restore.py", "saving"):
        "BackupAndRestore writes its state file with saving.atomic (temporary file, fsync, "
        "rename, directory fsync), imported inside the methods that write",
    ("neuropil/layers/__init__.py", "saving"):
        "keras.layers.serialize / deserialize are thin wrappers of the saving registry, "
        "imported inside the functions",
    ("neuropil/models/sequential.py", "saving"):
        "Sequential.get_config / from_config name each layer's class through the saving "
        "registry (registered custom layers included), imported inside the methods",
    ("neuropil/models/functional.py", "saving"):
        "Functional.get_config / from_config name each layer's class through the saving "
        "registry (registered custom layers included), imported inside the methods",
}


def top_level_name(relative_path: str) -> str:
    """'neuropil/ops/linalg.py' -> 'ops'; 'neuropil/config.py' -> 'config'."""
    parts = relative_path.split("/")
    return parts[1] if len(parts) > 2 else parts[1].removesuffix(".py")
