"""``Protocol(..., version=, state_machine=)``: the reference's protocol arguments, read for our Protocol.

Reference 0.8-1.2.8 ``version=`` only relabels ``$schema`` (FORMAT.md 4.4, defect 12);
here it picks the layout that ``save()``, ``template()``, ``to_json()`` and
``validate()`` use when they are given none. Versions the reference can label but
we do not write (bloom 2.0.0, 1.2.0, 1.1.0, 1.0.0) pick the layout of the same
major that we write (2.0.1, 1.2.1): same content, valid against its own schema.
``state_machine=True`` (reference 0.5-0.8) picks bloom 1.2.1, the layout those
releases wrote (as 1.2.0).
"""

from __future__ import annotations

from typing import Any

__all__ = ["layout_of"]

#: Reference labels we write in the layout of the same major.
_SAME_MAJOR = {"2.0.0": "2.0.1", "1.2.0": "1.2.1", "1.1.0": "1.2.1", "1.0.0": "1.2.1"}
#: What reference 0.5-0.8 wrote for a state machine, as we write it.
STATE_MACHINE_LAYOUT = "1.2.1"


def layout_of(version: Any, state_machine: Any) -> Any:
    """The default layout ``Protocol(version=..., state_machine=...)`` asks for (None: the library default).

    A string in the ``state_machine`` place is a 1.2.8 call ``Protocol(name, inputs, encrypt, version)``,
    which has no ``state_machine`` parameter.
    """
    if isinstance(state_machine, str) and version is None:
        version, state_machine = state_machine, False
    if version is None:
        return STATE_MACHINE_LAYOUT if state_machine is True else None
    if isinstance(version, str):
        return _SAME_MAJOR.get(version.strip().lower().removeprefix("v"), version)
    return version
