"""The compiled runtime spec: everything inference needs from the protocol, as one typed JSON file.

Training compiles it (:mod:`model_train_protocol.rules`) and writes it into
the model directory as ``runtime.json``; ``Model.load``, ``mtp serve`` and the
GGUF export read it and nothing else of the authoring side. Its bytes are
stable: :meth:`RuntimeSpec.dumps` sorts every object's keys and keeps lists in
their meaningful order (instructions in template order, states as listed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import MTPFileError
from ._lines import EOS_KEY, UNK_KEY
from ._refusal import Refusal
from ._spec import Final, InstructionSpec, Placeholder, read_template

__all__ = ["RUNTIME_FILE", "RUNTIME_FORMAT", "ENCODER_NAME", "LineReference", "IntentHead", "InstructionRuntime", "RuntimeSpec"]

#: The file name in a model directory, and the format tag inside it.
RUNTIME_FILE = "runtime.json"
RUNTIME_FORMAT = "mtp-runtime/1"
#: The sentence encoder of the similarity refusal and the intent heads (all-MiniLM-L6-v2, shipped offline).
ENCODER_NAME = "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class LineReference:
    """One guarded line of an instruction: its position among the prompt's text lines, its training texts and the
    guardrail's samples (what the similarity refusal compares a prompt's line with)."""

    line: int
    texts: tuple[str, ...]
    guardrail_texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentHead:
    """One instruction's intent head as the manifest describes it, with the training lines it answers from.

    ``index`` names its tensors in ``intent/heads.safetensors``; ``labels`` and ``replies`` are each training
    sample's class and answer text, in sample order (``texts`` their lines).
    """

    index: int
    line: int
    classes: tuple[str, ...]
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    replies: tuple[str, ...]
    min_similarity: float | None = None


@dataclass(frozen=True)
class InstructionRuntime:
    """One instruction: its spec, the answer lines decoding drafts from, its refusal line, similarity references
    and intent head."""

    spec: InstructionSpec
    #: the answer lines the model was trained to write for it, and the guardrails' answers (repeats kept)
    answers: tuple[str, ...] = ()
    #: the answer line a refusal writes (the guardrail's of its user line); None: unknown
    refusal_line: str | None = None
    references: tuple[LineReference, ...] = ()
    head: IntentHead | None = None


@dataclass(frozen=True)
class RuntimeSpec:
    """A trained model's runtime facts (see the module docstring)."""

    name: str
    instructions: tuple[InstructionRuntime, ...]
    #: the protocol's context lines (what the tokenizer was trained on besides the samples)
    context: tuple[str, ...] = ()
    #: every answer line of the protocol and its guardrails: the answer budget is twice the longest, in tokens
    budget_texts: tuple[str, ...] = ()
    refusal: Refusal = field(default_factory=Refusal)
    #: every structural string of the protocol (special tokens and keys): each must be one token of the tokenizer
    structural: tuple[str, ...] = ()
    #: the sentence encoder of the similarity refusal and the intent heads (None: neither is used); where the heads
    #: use one a user brought (stored in ``intent/encoder/``), its name, though instructions without a head
    #: still refuse by the shipped encoder's similarity
    encoder: str | None = None
    eos: str = EOS_KEY
    unk: str = UNK_KEY

    @classmethod
    def from_template(cls, template: Mapping[str, Any], refusal: Any = None) -> "RuntimeSpec":
        """The spec of a model trained elsewhere, whose template (and training's refusal section) is all there
        is: no answer lines, guarded lines or heads; a choice instruction's refusal line is its template's."""
        settled = Refusal.from_section(refusal)
        return cls(
            name="",
            instructions=tuple(InstructionRuntime(spec, (), spec.refusals[-1] if spec.choice and spec.refusals
                                                  else None) for spec in read_template(template).values()),
            refusal=settled,
            encoder=ENCODER_NAME if settled.similarity_section is not None else None,
        )

    @property
    def specs(self) -> dict[str, InstructionSpec]:
        return {i.spec.name: i.spec for i in self.instructions}

    def instruction(self, name: str) -> InstructionRuntime | None:
        return next((i for i in self.instructions if i.spec.name == name), None)

    # --- JSON ------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "format": RUNTIME_FORMAT, "name": self.name, "context": list(self.context),
            "budget_texts": list(self.budget_texts), "refusal": self.refusal.to_section(), "encoder": self.encoder,
            "structural": list(self.structural),
            "eos": self.eos, "unk": self.unk, "instructions": [_instruction_json(i) for i in self.instructions],
        }

    def dumps(self) -> str:
        """The file's text: sorted keys, two-space indent, UTF-8 as is, a final newline (stable bytes)."""
        return json.dumps(self.to_json(), sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"

    @classmethod
    def from_json(cls, data: Any, where: str = RUNTIME_FILE) -> "RuntimeSpec":
        """The spec of a parsed ``runtime.json``; anything out of shape raises an MTPFileError naming it."""
        reader = _Reader(where)
        doc = reader.mapping(data, "")
        if doc.get("format") != RUNTIME_FORMAT:
            raise MTPFileError(f"is not a runtime spec of format {RUNTIME_FORMAT!r}; run `mtp upgrade` on the "
                               "model directory.", path=where, pointer="/format")
        encoder = doc.get("encoder")
        return cls(
            name=reader.text(doc.get("name"), "/name"),
            instructions=tuple(reader.instruction(x, f"/instructions/{i}")
                               for i, x in enumerate(reader.sequence(doc.get("instructions"), "/instructions"))),
            context=reader.texts(doc.get("context"), "/context"),
            budget_texts=reader.texts(doc.get("budget_texts"), "/budget_texts"),
            refusal=Refusal.from_section(reader.mapping(doc.get("refusal"), "/refusal")),
            structural=reader.texts(doc.get("structural"), "/structural"),
            encoder=None if encoder is None else reader.text(encoder, "/encoder"),
            eos=reader.text(doc.get("eos"), "/eos"),
            unk=reader.text(doc.get("unk"), "/unk"),
        )


def _final_json(f: Final) -> dict[str, Any]:
    return {"key": f.key, "value": f.value, "min": f.min_value, "max": f.max_value}


def _instruction_json(item: InstructionRuntime) -> dict[str, Any]:
    s = item.spec
    head = item.head
    return {
        "name": s.name, "kind": s.kind, "input_lines": list(s.input_lines), "omissible_line": s.omissible_line,
        "finals": [_final_json(f) for f in s.finals], "guardrails": [_final_json(f) for f in s.guardrails],
        "user_lines": list(s.user_lines),
        "placeholders": [{"line": p.line, "min": p.min_value, "max": p.max_value, "length": p.length}
                         for p in s.placeholders],
        "states": None if s.states is None else list(s.states),
        "labels": None if s.labels is None else [[label, list(values)] for label, values in s.labels],
        "refusals": list(s.refusals),
        "answers": list(item.answers), "refusal_line": item.refusal_line,
        "references": [{"line": r.line, "texts": list(r.texts), "guardrail_texts": list(r.guardrail_texts)}
                       for r in item.references],
        "head": None if head is None else {
            "index": head.index, "line": head.line, "classes": list(head.classes), "texts": list(head.texts),
            "labels": list(head.labels), "replies": list(head.replies), "min_similarity": head.min_similarity},
    }


class _Reader:
    """Typed reads of the parsed file, each failure one MTPFileError with its JSON pointer."""

    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, pointer: str, what: str) -> MTPFileError:
        return MTPFileError(f"{what}; the runtime spec is damaged: run `mtp upgrade` on the model directory.",
                            path=self.where, pointer=pointer)

    def mapping(self, value: Any, pointer: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(pointer, "must be an object")
        return value

    def sequence(self, value: Any, pointer: str) -> Sequence[Any]:
        if not isinstance(value, list):
            raise self.fail(pointer, "must be a list")
        return value

    def text(self, value: Any, pointer: str) -> str:
        if not isinstance(value, str):
            raise self.fail(pointer, "must be a string")
        return value

    def texts(self, value: Any, pointer: str) -> tuple[str, ...]:
        return tuple(self.text(x, f"{pointer}/{i}") for i, x in enumerate(self.sequence(value, pointer)))

    def integer(self, value: Any, pointer: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(pointer, "must be an integer")
        return value

    def number(self, value: Any, pointer: str, optional: bool = False) -> Any:
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(pointer, "must be a number")
        return value

    def final(self, value: Any, pointer: str) -> Final:
        doc = self.mapping(value, pointer)
        return Final(self.text(doc.get("key"), f"{pointer}/key"), self.text(doc.get("value"), f"{pointer}/value"),
                     self.number(doc.get("min"), f"{pointer}/min", True),
                     self.number(doc.get("max"), f"{pointer}/max", True))

    def instruction(self, value: Any, pointer: str) -> InstructionRuntime:
        doc = self.mapping(value, pointer)
        placeholders = []
        for i, p in enumerate(self.sequence(doc.get("placeholders"), f"{pointer}/placeholders")):
            at = f"{pointer}/placeholders/{i}"
            p = self.mapping(p, at)
            length = p.get("length")
            placeholders.append(Placeholder(self.integer(p.get("line"), f"{at}/line"),
                                            self.number(p.get("min"), f"{at}/min"),
                                            self.number(p.get("max"), f"{at}/max"),
                                            None if length is None else self.integer(length, f"{at}/length")))
        states = doc.get("states")
        labels = doc.get("labels")
        label_pairs = None
        if labels is not None:
            label_pairs = []
            for i, pair in enumerate(self.sequence(labels, f"{pointer}/labels")):
                pair = self.sequence(pair, f"{pointer}/labels/{i}")
                if len(pair) != 2:
                    raise self.fail(f"{pointer}/labels/{i}", "must be [label, values]")
                label_pairs.append((self.text(pair[0], f"{pointer}/labels/{i}/0"),
                                    self.texts(pair[1], f"{pointer}/labels/{i}/1")))
        user_lines = self.sequence(doc.get("user_lines"), f"{pointer}/user_lines")
        if not all(isinstance(x, bool) for x in user_lines):
            raise self.fail(f"{pointer}/user_lines", "must be a list of booleans")
        spec = InstructionSpec(
            name=self.text(doc.get("name"), f"{pointer}/name"),
            kind=self.text(doc.get("kind"), f"{pointer}/kind"),
            input_lines=self.texts(doc.get("input_lines"), f"{pointer}/input_lines"),
            finals=tuple(self.final(f, f"{pointer}/finals/{i}")
                         for i, f in enumerate(self.sequence(doc.get("finals"), f"{pointer}/finals"))),
            guardrails=tuple(self.final(f, f"{pointer}/guardrails/{i}")
                             for i, f in enumerate(self.sequence(doc.get("guardrails"), f"{pointer}/guardrails"))),
            user_lines=tuple(user_lines),
            placeholders=tuple(placeholders),
            states=None if states is None else self.texts(states, f"{pointer}/states"),
            labels=None if label_pairs is None else tuple(label_pairs),
            refusals=self.texts(doc.get("refusals"), f"{pointer}/refusals"),
        )
        if not spec.finals or not spec.input_lines:
            raise self.fail(pointer, "an instruction needs input lines and finals")
        refusal_line = doc.get("refusal_line")
        references = []
        for i, r in enumerate(self.sequence(doc.get("references"), f"{pointer}/references")):
            at = f"{pointer}/references/{i}"
            r = self.mapping(r, at)
            references.append(LineReference(self.integer(r.get("line"), f"{at}/line"),
                                            self.texts(r.get("texts"), f"{at}/texts"),
                                            self.texts(r.get("guardrail_texts"), f"{at}/guardrail_texts")))
        head = doc.get("head")
        return InstructionRuntime(
            spec=spec,
            answers=self.texts(doc.get("answers"), f"{pointer}/answers"),
            refusal_line=None if refusal_line is None else self.text(refusal_line, f"{pointer}/refusal_line"),
            references=tuple(references),
            head=None if head is None else self.head(head, f"{pointer}/head"),
        )

    def head(self, value: Any, pointer: str) -> IntentHead:
        doc = self.mapping(value, pointer)
        found = IntentHead(
            index=self.integer(doc.get("index"), f"{pointer}/index"),
            line=self.integer(doc.get("line"), f"{pointer}/line"),
            classes=self.texts(doc.get("classes"), f"{pointer}/classes"),
            texts=self.texts(doc.get("texts"), f"{pointer}/texts"),
            labels=self.texts(doc.get("labels"), f"{pointer}/labels"),
            replies=self.texts(doc.get("replies"), f"{pointer}/replies"),
            min_similarity=self.number(doc.get("min_similarity"), f"{pointer}/min_similarity", True),
        )
        if not found.classes or not len(found.texts) == len(found.labels) == len(found.replies):
            raise self.fail(pointer, "an intent head needs classes and one label and reply per training line")
        return found
