"""The compiler: a protocol and its template, turned into the runtime spec a model directory carries.

This is the one place that reads the authoring model (protocol, instructions,
token sets, guardrails, the renderer's name matching) for inference: which
lines the user writes, the guardrail answer lines, the answer texts decoding
drafts from, the guarded lines' training texts, the intent heads' training
lines. :func:`compile_runtime` joins them with what training chose (the
manifest's refusal and intent sections) into a
:class:`~model_train_protocol.runtime.RuntimeSpec`; inference reads only that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import MTPFileError, MTPValueError
from ..jsonio import write_atomic
from ..authoring import NumToken, instruction_guardrails
from ._render import structural_strings, template_names
from ..runtime import (ENCODER_NAME, REFUSE_CLASS, RUNTIME_FILE, InstructionFacts, InstructionRuntime,
    InstructionSpec, IntentHead, LineReference, Refusal, RuntimeSpec, read_template)

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["instruction_specs", "instruction_names", "instruction_facts", "HeadSource", "head_sources",
           "GuardedLine", "line_references", "intent_heads", "compile_runtime", "write_runtime"]



# --- instruction specs ---------------------------------------------------------------------------------------
def _protocol_instructions(protocol: "Protocol | None", template: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol's instruction of each template instruction, matched by name, else by input lines (model files
    of format 0.3.2 store no instruction names)."""
    if protocol is None:
        return {}
    described = {name: body.get("input", ()) for name, body in template.items() if isinstance(body, Mapping)}
    names = template_names(protocol.instructions, described, protocol.key_map())
    return {names[i.name]: i for i in protocol.instructions if i.name in names}


def instruction_facts(template: Mapping[str, Any], protocol: "Protocol | None") -> dict[str, InstructionFacts]:
    """What the protocol adds to each template instruction it matches (see :class:`InstructionFacts`)."""
    instructions = template.get("instructions") if isinstance(template, Mapping) else None
    if protocol is None or not isinstance(instructions, Mapping):
        return {}
    gmap = protocol.guardrail_map()
    facts = {}
    for name, instruction in _protocol_instructions(protocol, instructions).items():
        guarded = instruction_guardrails(instruction, gmap)
        states = getattr(instruction, "states", None)
        facts[name] = InstructionFacts(
            user_lines=tuple(ts.has_user for ts in instruction.tokensets),
            states=tuple(states) if states is not None else None,
            state_map=getattr(instruction, "state_map", None),
            refusals=tuple(dict.fromkeys(g.bad_output for _, g in guarded)) or None,
        )
    return facts


def instruction_specs(template: Mapping[str, Any], protocol: "Protocol | None" = None) -> dict[str, InstructionSpec]:
    """Every instruction of a template (dict of the JSON file), in file order.

    With the ``protocol`` the template was written from, the specs also know
    which lines the user writes (what ``chat`` fills with the user's turns).
    """
    if not isinstance(template, Mapping) or not isinstance(template.get("instructions"), Mapping):
        raise MTPFileError("not an MTP template: 'tokens.output' or 'instructions' is missing", pointer="/")
    return read_template(template, instruction_facts(template, protocol))


def instruction_names(protocol: "Protocol", specs: Mapping[str, InstructionSpec]) -> dict[str, str]:
    """The model's instruction name for each of the protocol's instructions (:func:`._render.template_names`:
    by name, else by input lines, since model files of format 0.3.2 store no instruction names)."""
    names = template_names(protocol.instructions, {name: spec.input_lines for name, spec in specs.items()},
                           protocol.key_map())
    for instruction in protocol.instructions:
        if instruction.name not in names:
            raise MTPValueError(
                f"instruction {instruction.name!r} of {protocol.name!r} matches none of the model's instructions "
                f"({', '.join(specs)}) by name or by its input lines; was the model trained on another protocol?"
            )
    return names


# --- similarity references -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GuardedLine:
    """One guarded line of a protocol instruction: its position among the prompt's text lines and its training
    texts (what the similarity refusal compares with)."""

    instruction: str
    line: int
    texts: tuple[str, ...]
    guardrail_texts: tuple[str, ...]


def line_references(protocol: "Protocol") -> list[GuardedLine]:
    """Every guarded text line of every instruction, with the distinct texts its samples and guardrail hold."""
    gmap = protocol.guardrail_map()
    found = []
    for instruction in protocol.instructions:
        for index, guardrail in instruction_guardrails(instruction, gmap):
            texts = dict.fromkeys(s.inputs[index].string for s in instruction.samples if index < len(s.inputs))
            found.append(GuardedLine(instruction.name, index, tuple(texts), tuple(dict.fromkeys(guardrail.samples))))
    return found


# --- intent heads --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeadSource:
    """One instruction's head: the line it reads, each sample's text and class, descriptions and guardrail lines."""

    instruction: str
    #: the instruction's index in the protocol (0.3.2 model files store no instruction names)
    position: int
    line: int
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    #: (text, class) pairs the protocol's author wrote about the classes: the final tokens' descriptions
    described: tuple[tuple[str, str], ...]
    guard: tuple[str, ...]
    #: each sample's answer text, in sample order (what a decision overriding the model answers with)
    replies: tuple[str, ...]

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    def examples(self) -> Iterator[tuple[str, str]]:
        """The head's training lines: every sample's, then the descriptions."""
        yield from zip(self.texts, self.labels)
        yield from self.described


def _read_line(samples: Sequence[Any], guarded: list[int]) -> int | None:
    """The line a head reads: the guarded one (the user's), else the input line with the most distinct texts."""
    if guarded:
        return guarded[-1]
    widths = [len({s.inputs[i].string for s in samples}) for i in range(len(samples[0].inputs))] if samples else []
    best = max(range(len(widths)), key=lambda i: (widths[i], i), default=None)
    return best if best is not None and widths[best] > 1 else None


def head_sources(protocol: "Protocol") -> list[HeadSource]:
    """Every instruction that chooses among two or more named finals, states or label lines, with what its head
    learns from.

    Numeric finals (the model writes a number) get no head: their answers are
    the language model's alone. A multi-classifier's classes are the label
    lines its samples answer (one value per label each), so its head answers
    only combinations the protocol shows.
    """
    gmap = protocol.guardrail_map()
    found = []
    for position, instruction in enumerate(protocol.instructions):
        samples = list(instruction.samples)
        if not samples or getattr(instruction, "prompt", None):
            continue
        choice = instruction.model_type in ("state_machine", "multi_classifier")
        if not choice and any(isinstance(s.final, NumToken) for s in samples):
            continue
        guards = instruction_guardrails(instruction, gmap)
        line = _read_line(samples, [i for i, _ in guards])
        if line is None:
            continue
        answers = tuple(instruction.answer(s) for s in samples)  # the lines the model learns (labels in map order)
        labels = answers if choice else tuple(s.final.name for s in samples)
        if len(set(labels)) < 2:
            continue
        described = () if choice else tuple(dict.fromkeys(
            (s.final.desc, s.final.name) for s in samples if s.final.desc and s.final.desc.strip()))
        guard = tuple(dict.fromkeys(t for i, g in guards if i == line for t in g.samples))
        found.append(HeadSource(instruction.name, position, line, tuple(s.inputs[line].string for s in samples), labels,
                                described, guard, answers))
    return found


def intent_heads(section: Any, protocol: "Protocol", names: Mapping[str, str] | None = None,
                 where: str = "") -> dict[str, IntentHead]:
    """Each model instruction's head (by the model's name): the manifest's ``mtp.intent`` section, checked against
    and joined with the protocol's training lines."""
    sources = {s.position: s for s in head_sources(protocol)}
    heads: dict[str, IntentHead] = {}
    entries = section.get("heads") if isinstance(section, Mapping) else None
    for index, entry in enumerate(entries if isinstance(entries, list) else ()):
        entry = entry if isinstance(entry, Mapping) else {}
        position = entry.get("position")
        source = sources.get(position) if isinstance(position, int) and not isinstance(position, bool) else None
        classes = tuple(str(c) for c in entry.get("classes") or ())
        if source is None or not classes or entry.get("line") != source.line:
            raise MTPFileError(f"the intent head {index} does not match the protocol; train the model again.",
                               path=where or None)
        threshold = entry.get("min_similarity")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                      or not -1.0 <= threshold <= 1.0):
            raise MTPFileError(f"the intent head {index} has a bad min_similarity; train the model again.",
                               path=where or None)
        name = (names or {}).get(source.instruction, source.instruction)
        heads[name] = IntentHead(index, source.line, classes, source.texts, source.labels, source.replies,
                                 None if threshold is None or REFUSE_CLASS not in classes else float(threshold))
    return heads


# --- the runtime spec ----------------------------------------------------------------------------------------
def _answer_texts(protocol: "Protocol", instruction: str | None = None) -> tuple[str, ...]:
    """The answer lines of the protocol's samples (of ``instruction`` when it names one; 0.3.2 files carry no
    instruction names, so then every instruction's) and its guardrails' answers, repeats kept."""
    instructions = protocol.instructions
    chosen = [i for i in instructions if i.name == instruction] or instructions
    return tuple([i.answer(s) for i in chosen for s in i.samples]
                 + [g.bad_output for g in protocol.guardrail_map().values()])


def _refusal_line(protocol: "Protocol", spec: InstructionSpec) -> str | None:
    """The guardrail answer of the instruction's user line (the one a refusal is about), from the protocol."""
    gmap = protocol.guardrail_map()
    for instruction in protocol.instructions:
        if instruction.name == spec.name or len(protocol.instructions) == 1:
            guarded = instruction_guardrails(instruction, gmap)
            if guarded:
                return guarded[-1][1].bad_output
    return next((g.bad_output for g in gmap.values()), None)


def compile_runtime(template: Mapping[str, Any], protocol: "Protocol", refusal: Any = None,
                    intent: Any = None, where: str = "") -> RuntimeSpec:
    """The runtime spec of a template and the protocol it was written from, with training's refusal
    (``mtp.refusal``) and intent (``mtp.intent``) sections. ``where`` names the directory in errors. (A model
    trained elsewhere, whose template is all there is, gets :meth:`RuntimeSpec.from_template`.)"""
    specs = instruction_specs(template, protocol)
    settled = Refusal.from_section(refusal)
    # every instruction must match where a threshold or head is keyed by it
    strict = bool(settled.similarity) or isinstance(intent, Mapping)
    names = instruction_names(protocol, specs) if strict else template_names(
        protocol.instructions, {name: spec.input_lines for name, spec in specs.items()}, protocol.key_map())
    references: dict[str, list[LineReference]] = {}
    for ref in line_references(protocol):
        references.setdefault(names.get(ref.instruction, ref.instruction), []).append(
            LineReference(ref.line, ref.texts, ref.guardrail_texts))
    heads = intent_heads(intent, protocol, names, where) if isinstance(intent, Mapping) else {}
    uses_encoder = bool(heads) or settled.similarity_section is not None
    return RuntimeSpec(
        name=str(protocol.name) if protocol.name else "",
        instructions=tuple(
            InstructionRuntime(spec, _answer_texts(protocol, name), _refusal_line(protocol, spec),
                               tuple(references.get(name, ())), heads.get(name))
            for name, spec in specs.items()),
        context=tuple(protocol.context),
        budget_texts=_answer_texts(protocol),
        refusal=settled,
        structural=tuple(structural_strings(protocol)),
        # the heads' encoder: the shipped one, or the one a user brought (stored whole in the directory)
        encoder=(str(intent.get("encoder") or ENCODER_NAME) if heads else ENCODER_NAME) if uses_encoder else None,
    )


def write_runtime(folder: Path, spec: RuntimeSpec) -> None:
    """``folder/runtime.json``, written atomically."""
    write_atomic(folder / RUNTIME_FILE, spec.dumps())


