"""The template file (``{name}_template.json``, template 0.3.2, 1.2.0 or 2.1.0): the model's exact line format.

State machines and multi-classifiers (templates 1.2.0 and 2.1.0) are written as
the reference 0.6.1+ writes them (FORMAT.md 3.2, 5.1, 5.2): instruction
``type`` ``state_machine`` / ``multi_classification_machine``, outputs
``<string>\n<NON>\n<EOS>`` (a guarded state machine adds
``<string>\n<NON>_<UNK>_\n<EOS>``, which replaces ``<UNK>`` in
``tokens.output``), and ``states``: a state machine's declared states in
declared order, ``"GUARDRAIL"`` appended when guarded; a multi-classifier's
declared state map (label -> values, merged across instructions).

Same layout as the reference, with its defects fixed (FORMAT.md 6): instructions
and outputs in insertion order, the example built from a real sample through
the canonical renderer (its numbers, its final, keys rather than clear values).
From template 1.1 a guardrail refusal ends in ``{finalKey}<UNK>_`` (one line per
declared final, FORMAT.md 3.4; the renderer's :func:`~..rules.refusal_lines`,
so training writes what the template lists); ``tokens.output`` then also lists
those keys, so every output line maps back to a value. A NumToken final's output line holds its
number placeholder after the key (``Madness_<num_0_10>``), where the reference
writes the key alone: the model writes the sample's value there.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Any

from ..authoring import (UNK, KeyMap, MultiClassifierInstruction, StateMachineInstruction, guardrail_map,
                         instruction_guardrails)
from ..rules import (BLOOM_0_3_2, DEFAULT_VERSION, FormatVersion, final_pattern, input_lines, output_line,
                     refusal_lines, render_completion, render_prompt, render_sample, schema_url, tokenset_pattern)

if TYPE_CHECKING:
    from ..authoring import BaseInstruction, Protocol

__all__ = ["template_document", "TEMPLATE_0_3_2", "instruction_outputs"]

TEMPLATE_0_3_2 = BLOOM_0_3_2.template

_FINAL = attrgetter("final")

def instruction_outputs(instruction: "BaseInstruction", keys: KeyMap, guarded: bool,
                        version: FormatVersion = DEFAULT_VERSION) -> list[str]:
    """Allowed output lines: one per distinct final in sample order, then the guardrail line(s).

    A NumToken final shows its placeholder after the key (``Madness_<num_0_10>``).
    """
    finals = dict.fromkeys(final_pattern(f, keys) for f in dict.fromkeys(map(_FINAL, instruction.samples)))
    lines = [output_line(f) for f in finals]
    if guarded:
        lines += [output_line(key) for _, key in refusal_lines(instruction, keys, version)]
    return lines


def _tokens(protocol: "Protocol", keys: KeyMap, gmap: dict, version: FormatVersion) -> dict[str, Any]:
    inputs: dict[str, str] = {}
    outputs: dict[str, str] = {}
    for instruction in protocol.instructions:
        for ts in instruction.rows:
            inputs.setdefault(ts.value_key, tokenset_pattern(ts, keys))
        for final in dict.fromkeys(map(_FINAL, instruction.samples)):  # distinct finals, in sample order
            outputs.setdefault(final.value, keys(final))
        if version.major > 0 and instruction_guardrails(instruction, gmap):
            outputs.update(refusal_lines(instruction, keys, version))
    if gmap and protocol.model_type != "state_machine":  # 0.6.1+: <NON>_<UNK>_ replaces <UNK> in state machines
        outputs[UNK.value] = UNK.key
    return {
        "input": {k: inputs[k] for k in sorted(inputs)},
        "output": {k: outputs[k] for k in sorted(outputs)},
    }


def _example_usage(protocol: "Protocol", keys: KeyMap, gmap: dict, version: FormatVersion) -> dict[str, str]:
    """A worked example from the first instruction's first sample, and the first guardrail's refusal."""
    example = {"instruction_input": "", "valid_model_output": "", "guardrail_model_output": ""}
    first = next((i for i in protocol.instructions if i.samples), None)
    if first is not None:
        sample = first.samples[0]
        example["instruction_input"] = render_prompt(first, sample.inputs, keys)
        example["valid_model_output"] = render_sample(first, sample, keys).completion
    for instruction in protocol.instructions:
        guards = instruction_guardrails(instruction, gmap)
        if guards:
            final_key = refusal_lines(instruction, keys, version)[0][1]
            example["guardrail_model_output"] = render_completion(guards[0][1].bad_output, final_key)
            break
    return example


#: What a guarded state machine's ``states`` ends with (the reference's CSV guardrail output, FORMAT.md 5.1).
GUARDRAIL_STATE = "GUARDRAIL"


def _states(protocol: "Protocol", gmap: dict) -> list[str] | dict[str, list[str]]:
    """The template's ``states``: [] (generative), the declared states (+ GUARDRAIL), or the merged state map."""
    if protocol.model_type == "state_machine":
        machines = [i for i in protocol.instructions if isinstance(i, StateMachineInstruction)]
        states = list(dict.fromkeys(s for i in machines for s in i.states))
        if any(instruction_guardrails(i, gmap) for i in machines):
            states.append(GUARDRAIL_STATE)
        return states
    if protocol.model_type == "multi_classifier":
        merged: dict[str, list[str]] = {}
        for instruction in protocol.instructions:
            if isinstance(instruction, MultiClassifierInstruction):
                for label, values in instruction.state_map.items():
                    merged[label] = list(dict.fromkeys([*merged.get(label, ()), *values]))
        return merged
    return []


def template_document(protocol: "Protocol", version: FormatVersion = DEFAULT_VERSION) -> dict[str, Any]:
    """The template file that goes with model ``version`` (template 0.3.2 by default), in file order."""
    keys = protocol.key_map()
    gmap = guardrail_map(protocol.instructions)
    instructions = {}
    for instruction in protocol.instructions:
        guarded = bool(instruction_guardrails(instruction, gmap))
        instructions[instruction.name] = {
            "type": instruction.kind,
            "input": input_lines(instruction, keys),
            "output": instruction_outputs(instruction, keys, guarded, version),
        }
    doc: dict[str, Any] = {"$schema": schema_url("template", version.template), "encrypt": protocol.encrypt}
    if version.major == 1:
        doc["state_machine"] = protocol.model_type == "state_machine"
    elif version.major >= 2:
        doc["model_type"] = protocol.model_type
    if version.major >= 1:
        doc["inputs"] = protocol.inputs
    doc["tokens"] = _tokens(protocol, keys, gmap, version)
    doc["instructions"] = instructions
    if version.major >= 1:
        doc["states"] = _states(protocol, gmap)
    doc["example_usage"] = _example_usage(protocol, keys, gmap, version)
    return doc
