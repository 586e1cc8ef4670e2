"""``Protocol(..., version=, state_machine=)``: the reference's protocol arguments, read for our Protocol.

Reference 0.8-1.2.8 ``version=`` only relabels ``$schema`` (FORMAT.md 4.4, defect 12);
here it picks the layout that ``save()``, ``template()``, ``to_json()`` and
``validate()`` use when they are given none (every version the reference labels
is a layout we write). ``state_machine=True`` (reference 0.5-0.8) picks bloom
1.2.0, the layout 0.6-0.8 write, and the protocol then takes only a
``StateMachineInstruction``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["layout_of", "STATE_MACHINE_LAYOUT"]

#: What reference 0.6-0.8 write for ``Protocol(..., state_machine=True)``.
STATE_MACHINE_LAYOUT = "1.2.0"


def layout_of(version: Any, state_machine: Any) -> Any:
    """The default layout ``Protocol(version=..., state_machine=...)`` asks for (None: the library's default
    for the protocol's model type).

    A string in the ``state_machine`` place is a 1.2.8 call ``Protocol(name, inputs, encrypt, version)``,
    which has no ``state_machine`` parameter.
    """
    if isinstance(state_machine, str) and version is None:
        version, state_machine = state_machine, False
    if version is None and state_machine is True:
        return STATE_MACHINE_LAYOUT
    return version
