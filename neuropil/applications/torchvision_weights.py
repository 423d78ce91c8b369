"""ResNet-18 weights from a ``.safetensors`` file in torchvision's naming.

torchvision's ``resnet18().state_dict()`` names map onto neuropil's (Keras-style) layers:

    conv1.weight                       -> conv1_conv          (kernel: OIHW -> HWIO)
    bn1.{weight,bias,running_mean,running_var}
                                       -> conv1_bn            (gamma, beta, moving mean/var)
    layer{s}.{b}.conv{i}.weight, .bn{i}.*
                                       -> conv{s+1}_block{b+1}_{i}_conv, _{i}_bn
    layer{s}.0.downsample.0.weight, .1.*
                                       -> conv{s+1}_block1_0_conv, _0_bn (projection)
    fc.weight, fc.bias                 -> predictions         (kernel: (out, in) -> (in, out))

``num_batches_tracked`` counters are ignored; without the top, so is ``fc``. Every name
and shape is checked before anything is assigned. safetensors is an optional extra
(``pip install safetensors``): its format is a JSON header and raw arrays, nothing that
can run code, unlike the pickled ``.pth``.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["torchvision_resnet18_names", "load_torchvision_resnet18"]

_BN = (("weight", "gamma"), ("bias", "beta"), ("running_mean", "moving_mean"),
       ("running_var", "moving_variance"))


def _conv(torch_name, layer):
    return [(f"{torch_name}.weight", layer, "kernel", "conv")]


def _bn(torch_name, layer):
    return [(f"{torch_name}.{t}", layer, attribute, "vector") for t, attribute in _BN]


def torchvision_resnet18_names(include_top: bool = True) -> list:
    """``[(torch name, neuropil layer, attribute, kind)]`` in state-dict order."""
    names = _conv("conv1", "conv1_conv") + _bn("bn1", "conv1_bn")
    for stage in range(1, 5):
        for block in range(2):
            torch_block, ours = f"layer{stage}.{block}", f"conv{stage + 1}_block{block + 1}"
            for i in (1, 2):
                names += _conv(f"{torch_block}.conv{i}", f"{ours}_{i}_conv")
                names += _bn(f"{torch_block}.bn{i}", f"{ours}_{i}_bn")
            if block == 0 and stage > 1:
                names += _conv(f"{torch_block}.downsample.0", f"{ours}_0_conv")
                names += _bn(f"{torch_block}.downsample.1", f"{ours}_0_bn")
    if include_top:
        names += [("fc.weight", "predictions", "kernel", "dense"),
                  ("fc.bias", "predictions", "bias", "vector")]
    return names


def _to_keras(array: np.ndarray, kind: str) -> np.ndarray:
    if kind == "conv":
        return array.transpose(2, 3, 1, 0)    # (out, in, h, w) -> (h, w, in, out)
    if kind == "dense":
        return array.T                        # (out, in) -> (in, out)
    return array


def _read(path: str) -> dict:
    try:
        from safetensors.numpy import load_file
    except ImportError as error:
        raise ImportError("Loading `.safetensors` weights needs the safetensors package: "
                          "`pip install safetensors` (or `pip install neuropil[pretrained]`)."
                          ) from error
    try:
        return load_file(path)
    except Exception as error:   # safetensors raises its own SafetensorError
        raise ValueError(f"{path}: not a readable .safetensors file ({error}).") from error


def load_torchvision_resnet18(model, path) -> None:
    """Loads torchvision ResNet-18 weights from ``path`` into neuropil's ``ResNet18``.

    Raises:
        ValueError: a tensor is missing, unexpected or of the wrong shape (naming the file,
            the tensor, the layer and both shapes); nothing is assigned then.
    """
    path = os.fspath(path)
    tensors = _read(path)
    include_top = any(layer.name == "predictions" for layer in model.layers)
    expected = torchvision_resnet18_names(include_top)
    wanted = {name for name, *_ in expected}
    ignored = {name for name in tensors if name.endswith(".num_batches_tracked") or
               (not include_top and name.startswith("fc."))}
    missing = [name for name in wanted if name not in tensors]
    unexpected = sorted(set(tensors) - wanted - ignored)
    if missing or unexpected:
        raise ValueError(f"{path}: not torchvision's ResNet-18 naming. Missing: "
                         f"{sorted(missing)[:8]}{' ...' if len(missing) > 8 else ''}; "
                         f"unexpected: {unexpected[:8]}{' ...' if len(unexpected) > 8 else ''}")
    plan = []
    for torch_name, layer_name, attribute, kind in expected:
        variable = getattr(model.get_layer(layer_name), attribute)
        value = _to_keras(np.asarray(tensors[torch_name]), kind)
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(f"{path}: layer '{layer_name}' {attribute} has shape "
                             f"{tuple(variable.shape)}, but '{torch_name}' holds shape "
                             f"{tuple(tensors[torch_name].shape)} (= {tuple(value.shape)} "
                             "after conversion to Keras's layout).")
        if value.dtype.kind != "f":
            raise ValueError(f"{path}: '{torch_name}' holds {value.dtype}; expected floats.")
        plan.append((variable, value))
    for variable, value in plan:
        variable.assign(np.ascontiguousarray(value, dtype=variable.dtype))
