"""The models a server answers with: loaded from trained directories, each named by its protocol."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Mapping, Sequence

from ..errors import MTPValueError

if TYPE_CHECKING:
    from ..infer import Model

__all__ = ["load_models", "model_name", "check_models"]


def model_name(model: "Model", directory: "str | os.PathLike[str] | None" = None) -> str:
    """The protocol's name (what clients pass as ``model``); the manifest's, then the folder's, without one."""
    if model.runtime.name:
        return model.runtime.name
    name = model.manifest.get("name")
    if isinstance(name, str) and name:
        return name
    if directory is not None:
        return Path(directory).resolve().name
    raise MTPValueError("the model has no protocol name; serve it under a name of your choice: "
                        "create_app({'NAME': model}).")


def load_models(directories: Sequence["str | os.PathLike[str]"], *, threshold: float | None = None,
                max_text_tokens: int | None = None, min_similarity: float | None = None) -> dict[str, "Model"]:
    """``{protocol name: Model}`` for trained directories, each opened by ``Model.load`` (all its checks).

    Two directories of the same protocol would answer to one name: an error.
    """
    from ..infer import Model

    if not directories:
        raise MTPValueError("no model to serve; pass one or more directories written by `mtp train`.")
    models: dict[str, Model] = {}
    origin: dict[str, str] = {}
    for directory in directories:
        model = Model.load(directory, max_text_tokens=max_text_tokens, threshold=threshold,
                           min_similarity=min_similarity)
        name = model_name(model, directory)
        if name in models:
            raise MTPValueError(f"{directory} and {origin[name]} both hold a model of protocol {name!r}, and "
                                "models are served by their protocol's name; serve them from two `mtp serve` "
                                "processes on different ports.")
        models[name] = model
        origin[name] = str(directory)
    return models


def check_models(models: Mapping[str, "Model"]) -> dict[str, "Model"]:
    """A ``{name: Model}`` mapping given directly: at least one model, names that are non-empty strings."""
    if not models:
        raise MTPValueError("no model to serve; pass {name: Model} or directories written by `mtp train`.")
    for name in models:
        if not isinstance(name, str) or not name.strip():
            raise MTPValueError(f"model names must be non-empty strings, got {name!r}.")
    return dict(models)
