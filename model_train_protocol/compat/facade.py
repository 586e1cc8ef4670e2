"""The type of the facade classes: a core object counts as an instance of the facade class over its class."""

from __future__ import annotations

from typing import Any

__all__ = ["FacadeType"]


class FacadeType(type):
    """``isinstance(x, mtp.Instruction)`` holds for a core ``Instruction`` that a loaded file or a CSV import
    built (the core cannot build the facade's classes: it never imports this layer).

    Only a class that names its ``_core_class`` answers so; a user's subclass of it keeps Python's rule.
    """

    def __instancecheck__(cls, instance: Any) -> bool:
        core_class = cls.__dict__.get("_core_class")
        return isinstance(instance, core_class) if core_class is not None else super().__instancecheck__(instance)

    def __subclasscheck__(cls, subclass: type) -> bool:
        core_class = cls.__dict__.get("_core_class")
        return issubclass(subclass, core_class) if core_class is not None else super().__subclasscheck__(subclass)
