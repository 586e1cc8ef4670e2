"""The specs of a template's instructions, for a caller who holds a template (and maybe its protocol).

The types live in :mod:`model_train_protocol.runtime`; :func:`instruction_specs`
reads them from a template, with the facts a protocol adds when one is given
(the protocol compiles those itself, so this module imports nothing of the
authoring side).
"""

from __future__ import annotations

from typing import Any, Mapping

from ..runtime import InstructionSpec, read_template

__all__ = ["instruction_specs"]


def instruction_specs(template: Mapping[str, Any], protocol: Any = None) -> dict[str, InstructionSpec]:
    """Every instruction of a template (dict of the JSON file), in file order.

    With the ``protocol`` the template was written from, the specs also know which lines the user writes
    (what ``chat`` fills with the user's turns), states and label maps: the protocol compiles them
    (:meth:`Protocol.runtime_spec <model_train_protocol.Protocol.runtime_spec>`), so this module imports
    nothing of the authoring side.
    """
    if protocol is not None:
        return protocol.runtime_spec(template).specs
    return read_template(template)
