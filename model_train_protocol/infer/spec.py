"""What a runtime needs to know about one instruction: the runtime's types, at their long-standing import path.

The types live in :mod:`model_train_protocol.runtime`; reading them from a
template with the protocol's facts is the compiler's
(:func:`model_train_protocol.compiler.instruction_specs`), re-exported here on
first use so this module imports nothing of the authoring side.
"""

from __future__ import annotations

from typing import Any

from ..runtime import (GUARDRAIL_STATE, MULTI_CLASSIFIER, STATE_MACHINE, Final, InstructionSpec, Placeholder,
                       final_name)

__all__ = ["Final", "Placeholder", "InstructionSpec", "instruction_specs", "instruction_names", "final_name",
           "STATE_MACHINE", "MULTI_CLASSIFIER", "GUARDRAIL_STATE"]

#: Public functions of the compiler kept importable from here (they read a protocol, so they load on first use).
_COMPILER = ("instruction_specs", "instruction_names")


def __getattr__(name: str) -> Any:
    if name in _COMPILER:
        from ..compiler import instruction_names, instruction_specs

        return {"instruction_specs": instruction_specs, "instruction_names": instruction_names}[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
