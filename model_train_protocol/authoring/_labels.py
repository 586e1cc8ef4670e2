"""The answer line of a multi-classifier: one value per label, written as a Python dict literal.

The reference stores ``{'emotion': 'happy', 'intent': 'question'}`` (Python
``repr`` quoting) and accepts JSON or a Python literal on input; a sample keeps
its labels in the order given (as the reference writes them). The model learns,
and every runtime enforces, one order: the state map's, as the template's
``states`` lists the labels (:meth:`MultiClassifierInstruction.answer
<model_train_protocol.authoring.MultiClassifierInstruction.answer>`).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import InstructionError, InstructionTypeError
from ..runtime import read_labels

__all__ = ["parse_labels", "labels_problem"]


def labels_problem(labels: Mapping[str, Any], state_map: Mapping[str, Any]) -> str | None:
    """Why ``labels`` does not name exactly the labels of ``state_map`` (None when it does)."""
    missing = [label for label in state_map if label not in labels]
    extra = [label for label in labels if label not in state_map]
    if missing or extra:
        parts = []
        if missing:
            parts.append("missing " + ", ".join(map(repr, missing)))
        if extra:
            parts.append("unknown " + ", ".join(map(repr, extra)))
        return "labels " + "; ".join(parts) + f" (the labels are {', '.join(map(repr, state_map))})"
    return None


def parse_labels(value: Any, state_map: Mapping[str, Any], where: str) -> dict[str, str]:
    """A sample's labels from a dict, a JSON object or a Python dict literal; exactly the map's labels.

    Values are not checked against the map here: ``Protocol.validate`` reports
    every such problem at once (rule ``labels-in-map``).
    """
    if isinstance(value, str):
        parsed = read_labels(value)
        if parsed is None:
            raise InstructionError(f"{where}: {value[:80]!r} is not a JSON object or Python dict literal of strings; "
                                   "write e.g. {\"emotion\": \"happy\", \"intent\": \"question\"}.")
        value = parsed
    if not isinstance(value, Mapping):
        raise InstructionTypeError(f"{where}: labels must be a dict (label -> value) or its JSON text, got "
                                   f"{type(value).__name__}.")
    for label, item in value.items():
        if not isinstance(label, str) or not isinstance(item, str):
            raise InstructionTypeError(f"{where}: label {label!r} -> {item!r}: labels and values must be strings.")
        if "\n" in item or not item.strip():
            raise InstructionError(f"{where}: label {label!r} has value {item!r}; a value is one non-empty line.")
    problem = labels_problem(value, state_map)
    if problem is not None:
        raise InstructionError(f"{where}: {problem}; give exactly one value for every label.")
    return dict(value)
