"""The template file (``{name}_template.json``, template 0.3.2): the model's exact line format.

Same layout as the reference, with its defects fixed (FORMAT.md 6): instructions
and outputs in insertion order, the example built from a real sample through
the canonical renderer (its numbers, its final, keys rather than clear values).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..guardrail import guardrail_map, instruction_guardrails
from ..render import KeyMap, input_lines, output_line, render_completion, render_prompt, tokenset_pattern
from ..tokens import UNK
from .model_file import schema_url

if TYPE_CHECKING:
    from ..instructions import BaseInstruction
    from ..protocol import Protocol

__all__ = ["template_document", "TEMPLATE_0_3_2", "instruction_outputs"]

TEMPLATE_0_3_2 = "0.3.2"


def instruction_outputs(instruction: "BaseInstruction", keys: KeyMap, guarded: bool, guardrail_key: str) -> list[str]:
    """Allowed output lines: one per distinct final in sample order, then the guardrail line."""
    finals = dict.fromkeys(keys(s.final) for s in instruction.samples)
    lines = [output_line(k) for k in finals]
    if guarded:
        lines.append(output_line(guardrail_key))
    return lines


def _tokens(protocol: "Protocol", keys: KeyMap, guarded: bool) -> dict[str, Any]:
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for instruction in protocol.instructions:
        for ts in instruction.rows:
            inputs.setdefault(ts.value_key, tokenset_pattern(ts, keys))
        for s in instruction.samples:
            outputs.setdefault(s.final.value, keys(s.final))
    if guarded:
        outputs[UNK.value] = UNK.key
    return {
        "input": {k: inputs[k] for k in sorted(inputs)},
        "output": {k: outputs[k] for k in sorted(outputs)},
    }


def _example_usage(protocol: "Protocol", keys: KeyMap, gmap: dict) -> dict[str, str]:
    """A worked example from the first instruction's first sample, and the first guardrail's refusal."""
    example = {"instruction_input": "", "valid_model_output": "", "guardrail_model_output": ""}
    first = next((i for i in protocol.instructions if i.samples), None)
    if first is not None:
        sample = first.samples[0]
        example["instruction_input"] = render_prompt(first, sample.inputs, keys)
        example["valid_model_output"] = render_completion(sample.output, keys(sample.final))
    for instruction in protocol.instructions:
        guards = instruction_guardrails(instruction, gmap)
        if guards:
            example["guardrail_model_output"] = render_completion(guards[0][1].bad_output, UNK.key)
            break
    return example


def template_document(protocol: "Protocol") -> dict[str, Any]:
    """The template 0.3.2 file as a JSON-ready dict, in file order."""
    keys = protocol.key_map()
    gmap = guardrail_map(protocol.instructions)
    instructions = {}
    for instruction in protocol.instructions:
        guarded = bool(instruction_guardrails(instruction, gmap))
        instructions[instruction.name] = {
            "type": instruction.kind,
            "input": input_lines(instruction, keys),
            "output": instruction_outputs(instruction, keys, guarded, UNK.key),
        }
    return {
        "$schema": schema_url("template", TEMPLATE_0_3_2),
        "encrypt": protocol.encrypt,
        "tokens": _tokens(protocol, keys, bool(gmap)),
        "instructions": instructions,
        "example_usage": _example_usage(protocol, keys, gmap),
    }
