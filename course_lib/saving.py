"""Saving and loading a ``Sequential``: architecture and weights in one ``.npz``, no pickle."""
from __future__ import annotations

import json
import os
import tempfile
import zipfile

import numpy as np

from . import layers as layers_module

FORMAT = "course_lib.Sequential/1"


def save_model(model, path):
    """Write ``model``'s architecture and weights to ``path`` (a ``.npz`` file), atomically.

    The file is written next to its destination and renamed into place, so a crash
    mid-write leaves any previous file intact. Returns the path.
    """
    if not model.built:
        raise RuntimeError("the model has no weights yet: build it (fit, predict or build) before save.")
    path = os.fspath(path)
    config = {"format": FORMAT, "input_dim": model.input_dim, "dtype": str(model.dtype),
              "layers": [{"class": type(layer).__name__, "config": layer.get_config()}
                         for layer in model.layers]}
    arrays = {f"w{i:03d}": w for i, w in enumerate(model.get_weights())}
    arrays["config"] = np.frombuffer(json.dumps(config).encode("utf-8"), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.savez(handle, **arrays)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_model(path, model_class=None):
    """Rebuild a model saved by :func:`save_model` (compile it again to train).

    ``model_class`` is the class to build (``Sequential`` by default).
    """
    if model_class is None:
        from .model import Sequential as model_class
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = dict(data.items())
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ValueError(f"{path!r} is not a readable course_lib model file (truncated or "
                         f"another format): {err}") from None
    if "config" not in files:
        raise ValueError(f"{path!r} is not a course_lib model file: it has no 'config' entry.")
    try:
        config = json.loads(files.pop("config").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path!r} has a corrupt config: {err}") from None
    if config.get("format") != FORMAT:
        raise ValueError(f"{path!r} has format {config.get('format')!r}; expected {FORMAT!r}.")
    layers = []
    for entry in config["layers"]:
        layer_cls = getattr(layers_module, entry["class"], None)
        if not (isinstance(layer_cls, type) and issubclass(layer_cls, layers_module.Layer)):
            raise ValueError(f"{path!r} names an unknown layer class {entry['class']!r}.")
        layers.append(layer_cls(**entry["config"]))
    model = model_class(layers, dtype=config["dtype"]).build(config["input_dim"])
    model.set_weights([files[k] for k in sorted(files)])
    return model
