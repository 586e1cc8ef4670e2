"""Which examples a model is evaluated on.

A model directory records the protocol it was trained on (its sha256) and the
split settings; the split is reproducible, so when the model file given to
``mtp eval`` is that protocol the held-out (validation) examples are used.
Any other model file (say, held-out paraphrases written as a protocol of their
own) is used whole: every sample and every guardrail refusal. Prompts come from
the canonical renderer, exactly as in training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import MTPValueError
from ..render import RenderedExample, input_lines, render_protocol

if TYPE_CHECKING:
    from ..infer.spec import InstructionSpec
    from ..protocol import Protocol

__all__ = ["EvalSet", "select_cases", "instruction_names"]


@dataclass(frozen=True)
class EvalSet:
    """The examples to score and where they came from (``validation split``, ``training split``, ``all samples``)."""

    examples: list[RenderedExample]
    source: str


def select_cases(protocol: "Protocol", manifest: Mapping[str, Any], specs: Mapping[str, "InstructionSpec"],
                 split: str = "auto") -> EvalSet:
    """The examples of ``protocol`` to evaluate: ``auto`` (held-out split when it is the trained protocol, else
    all), ``val``, ``train`` or ``all``; each names the model's instruction (``specs``) it belongs to."""
    chosen = _select(protocol, manifest, split)
    names = instruction_names(protocol, specs)
    return EvalSet([replace(e, instruction=names[e.instruction]) for e in chosen.examples], chosen.source)


def instruction_names(protocol: "Protocol", specs: Mapping[str, "InstructionSpec"]) -> dict[str, str]:
    """The model's instruction name for each of the protocol's instructions.

    By name when it matches, else by identical template input lines: model
    files of format 0.3.2 do not store instruction names, so a loaded protocol
    calls them ``instruction_0``, ... while the model's template has the real ones.
    """
    keys = protocol.key_map()
    by_lines = {spec.input_lines: name for name, spec in specs.items()}
    names = {}
    for instruction in protocol.instructions:
        if instruction.name in specs:
            names[instruction.name] = instruction.name
            continue
        match = by_lines.get(tuple(input_lines(instruction, keys)))
        if match is None:
            raise MTPValueError(
                f"instruction {instruction.name!r} of {protocol.name!r} matches none of the model's instructions "
                f"({', '.join(specs)}) by name or by its input lines; was the model trained on another protocol?"
            )
        names[instruction.name] = match
    return names


def _select(protocol: "Protocol", manifest: Mapping[str, Any], split: str) -> EvalSet:
    mtp = manifest.get("mtp", {}) if isinstance(manifest, Mapping) else {}
    settings = mtp.get("settings", {}) if isinstance(mtp, Mapping) else {}
    same = _sha256(protocol) == mtp.get("protocol_sha256")
    if split not in ("auto", "val", "train", "all"):
        raise MTPValueError(f"split must be auto, val, train or all, got {split!r}.")
    if split == "all" or (split == "auto" and not same):
        return EvalSet(list(render_protocol(protocol, guardrails=True)), "all samples")
    if not same:
        raise MTPValueError(
            f"the {split} split exists only for the protocol the model was trained on, and this model file is a "
            "different one; use --split all."
        )
    from ..train.data import build_training_data

    data = build_training_data(
        protocol,
        val_split=float(settings.get("val_split", 0.0)),
        seed=int(settings.get("seed", 0)),
        guardrails=bool(settings.get("guardrails", True)),
        context_text=False,
    )
    if split == "train":
        return EvalSet(data.train, "training split")
    if not data.val:
        if split == "val":
            raise MTPValueError("the model was trained without a validation split (val_split=0); use --split all.")
        return EvalSet(data.train, "training split (the model has no validation split)")
    return EvalSet(data.val, "validation split")


def _sha256(protocol: "Protocol") -> str:
    from ..train.artifacts import protocol_sha256

    return protocol_sha256(protocol)
