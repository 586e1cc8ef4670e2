"""Packages whose submodules are named after the class they hold, as the reference lays them out."""

from __future__ import annotations

import sys
import types
from typing import Any

__all__ = ["keep_class_attributes"]


class _ClassPackage(types.ModuleType):
    """A package whose class attributes survive the import of the submodule of the same name.

    Importing ``common.tokens.NumListToken`` (the module) makes Python set the attribute
    ``NumListToken`` of ``common.tokens`` to that module, so that ``common.tokens.NumListToken(...)``
    would afterwards call a module. Here such a module never replaces a class already there.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        held = self.__dict__.get(name)
        if isinstance(value, types.ModuleType) and held is not None and not isinstance(held, types.ModuleType):
            return
        super().__setattr__(name, value)


def keep_class_attributes(module_name: str) -> None:
    """Make the package ``module_name`` keep its class attributes when its submodules are imported."""
    sys.modules[module_name].__class__ = _ClassPackage
