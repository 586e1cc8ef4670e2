"""What a runtime needs to know about one instruction, read from the template file.

The template is the contract between training and inference: its input lines
say how to build the prompt, its output lines which finals may close an answer
(a numeric final's line holds ``<num_MIN_MAX>`` after its key: the model then
writes an integer in that range), and ``tokens.output`` maps each final key (hashed when encrypted) back to the
token's value. A refusal's final line is ``<UNK>`` (template 0.3.2) or
``{finalKey}<UNK>_`` (later templates, one per declared final; the reference
lists none of them in ``tokens.output``): every one the template lists is a
refusal, whose name is ``<UNK>``, and the first is the one training writes.
The compiler (:mod:`model_train_protocol.rules`) adds from the protocol what
the template leaves out (:class:`InstructionFacts`): which input lines the user
writes, a state machine's states, the guardrail answer lines.

A state machine (type ``state_machine``) answers one of its states, a
multi-classifier (``multi_classification_machine``) one value per label:
:func:`instruction_choices` reads them from the template's ``states``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..errors import MTPFileError, MTPValueError
from ._lines import EOS_KEY, NUM_PLACEHOLDER, STRING, UNK_KEY, format_labels, is_refusal_key, read_labels

__all__ = ["Final", "Placeholder", "InstructionSpec", "InstructionFacts", "read_template", "final_name",
           "instruction_choices", "STATE_MACHINE", "MULTI_CLASSIFIER", "GUARDRAIL_STATE"]

#: The template ``type`` of a state-machine instruction and of a multi-classifier instruction.
STATE_MACHINE = "state_machine"
MULTI_CLASSIFIER = "multi_classification_machine"
#: What a guarded state machine's template lists among its states: a marker of the guardrail, never an answer.
GUARDRAIL_STATE = "GUARDRAIL"


@dataclass(frozen=True)
class Final:
    """One allowed final: the key the model writes and the token value it stands for.

    A numeric final (a NumToken) has the range of the integer written right after its key.
    """

    key: str
    value: str
    min_value: int | float | None = None
    max_value: int | float | None = None

    @property
    def numeric(self) -> bool:
        return self.min_value is not None

    def int_range(self) -> tuple[int, int]:
        """The integers the model may write after the key (empty, lo > hi, when the range holds none)."""
        assert self.min_value is not None and self.max_value is not None
        return math.ceil(self.min_value), math.floor(self.max_value)

    @property
    def name(self) -> str:
        """The user's name of the token (``Vanish`` for ``Vanish_``; ``<UNK>`` stays as is)."""
        return final_name(self.value)


@dataclass(frozen=True)
class Placeholder:
    """A number placeholder of an input line: one integer, or a list of ``length`` integers."""

    line: int
    min_value: float
    max_value: float
    length: int | None = None

    def describe(self) -> str:
        what = f"a list of {self.length} integers" if self.length else "an integer"
        return f"{what} in [{_fmt(self.min_value)}, {_fmt(self.max_value)}] (input line {self.line + 1})"

    def check(self, value: Any) -> "int | float | tuple[int | float, ...]":
        """The value if it fits, else an MTPValueError that says what was expected."""
        values = value if self.length else [value]
        if self.length and (isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != self.length):
            raise MTPValueError(f"expected {self.describe()}, got {_short(value)}.")
        integers = isinstance(self.min_value, int) and isinstance(self.max_value, int)
        for v in values:
            if (isinstance(v, bool) or not isinstance(v, (int, float)) or (integers and not isinstance(v, int))
                    or not self.min_value <= v <= self.max_value):
                raise MTPValueError(f"expected {self.describe()}, got {_short(value)}.")
        return tuple(values) if self.length else value


@dataclass(frozen=True)
class InstructionSpec:
    """One instruction as the runtime sees it."""

    name: str
    kind: str
    input_lines: tuple[str, ...]
    finals: tuple[Final, ...]
    #: the refusal finals the template lists, the one training writes first (empty: the instruction cannot refuse)
    guardrails: tuple[Final, ...] = ()
    #: per text line (in ``<string>`` order): True where the user writes it
    user_lines: tuple[bool, ...] = ()
    placeholders: tuple[Placeholder, ...] = field(default=())
    #: a state machine's states (its only answers besides the refusal); None for other kinds
    states: tuple[str, ...] | None = None
    #: a multi-classifier's labels (the state map's order, the answer line's) and each one's values; None for others
    labels: tuple[tuple[str, tuple[str, ...]], ...] | None = None
    #: the guardrail answer lines the refusal final may follow (empty: unknown, any answer line)
    refusals: tuple[str, ...] = ()

    @property
    def choice(self) -> bool:
        """Whether the answer line is chosen from a closed set (a state, or a label line) rather than free text."""
        return self.states is not None or self.labels is not None

    def answer_choice(self, text: str) -> "str | dict[str, str] | None":
        """The state, or the labels, that answer line ``text`` gives; None when it gives none (or is free text)."""
        if self.states is not None:
            return text if text in self.states else None
        if self.labels is not None:
            return _label_combination(text, self.labels)
        return None

    @property
    def text_lines(self) -> int:
        """How many ``<string>`` slots the prompt has."""
        return sum(STRING in line for line in self.input_lines)

    @property
    def guardrail(self) -> Final | None:
        """The refusal final training writes (what a runtime writes when it refuses itself); None: cannot refuse."""
        return self.guardrails[0] if self.guardrails else None

    @property
    def outputs(self) -> tuple[Final, ...]:
        """Every final the model may close an answer with, the refusals last."""
        return self.finals + self.guardrails

    def final_for_key(self, key: str) -> Final | None:
        return next((f for f in self.outputs if f.key == key), None)

    @property
    def omissible_line(self) -> str | None:
        """The input line a prompt may leave out, or None: a state machine's or multi-classifier's response-set
        line (``State_``) right before the last one (``<RUN>``), when it has no text slot.

        The reference's game-engine runtime sends such prompts without it, so the runtimes that read whole
        prompts put it back. This is the rule's one home: ``runtime.json`` carries its answer per instruction
        for the C library (``native/flora``).
        """
        if not self.choice or len(self.input_lines) < 2 or STRING in self.input_lines[-2]:
            return None
        return self.input_lines[-2]

    @property
    def prompt_line(self) -> int:
        """The text line the user's new message goes in: the last user line (the last line if none is marked)."""
        marked = [i for i, user in enumerate(self.user_lines) if user]
        return marked[-1] if marked else self.text_lines - 1


@dataclass(frozen=True)
class InstructionFacts:
    """What the protocol adds to one template instruction (the compiler's part; all optional).

    ``user_lines``: per ``<string>`` slot, whether the user writes it; ``states``/``state_map``: a state
    machine's states or a multi-classifier's labels, used when the template lists none (or when several
    multi-classifiers share its merged map); ``refusals``: the guardrail answer lines (None: unknown, the
    template's example is read instead).
    """

    user_lines: tuple[bool, ...] = ()
    states: tuple[str, ...] | None = None
    state_map: Mapping[str, Sequence[str]] | None = None
    refusals: tuple[str, ...] | None = None


def final_name(value: str) -> str:
    """``Vanish_`` -> ``Vanish``; special literals such as ``<UNK>`` unchanged."""
    return value[:-1] if value.endswith("_") and not value.startswith("<") else value


def _fmt(n: float) -> str:
    return str(int(n)) if float(n).is_integer() else str(n)


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise MTPFileError(f"bad number {text!r} in a placeholder", pointer=where) from None
    return int(value) if value.is_integer() else value


def _placeholders(lines: Sequence[str], where: str) -> tuple[Placeholder, ...]:
    found = []
    text_line = 0
    for i, line in enumerate(lines):
        for m in NUM_PLACEHOLDER.finditer(line):
            length = int(m.group(3)) if m.group(3) is not None else None
            found.append(Placeholder(text_line, _number(m.group(1), f"{where}/{i}"), _number(m.group(2), f"{where}/{i}"), length))
        text_line += STRING in line
    return tuple(found)


def _output_key(line: str, where: str) -> tuple[str, "tuple[float, float] | None"]:
    """The final key of an output line, and the range of its ``<num_MIN_MAX>`` placeholder if it has one."""
    prefix, suffix = STRING + "\n", "\n" + EOS_KEY
    if not (line.startswith(prefix) and line.endswith(suffix)) or len(line) <= len(prefix) + len(suffix):
        raise MTPFileError(f"output line {line!r} is not '<string>\\nKEY\\n<EOS>'", pointer=where)
    key = line[len(prefix) : -len(suffix)]
    m = NUM_PLACEHOLDER.search(key)
    if m is None:
        return key, None
    if m.end() != len(key) or m.start() == 0 or m.group(3) is not None:
        raise MTPFileError(f"output line {line!r}: a final may only end in one number placeholder "
                           "'<num_MIN_MAX>' right after its key", pointer=where)
    return key[: m.start()], (_number(m.group(1), where), _number(m.group(2), where))


def read_template(template: Mapping[str, Any], facts: Mapping[str, InstructionFacts] | None = None,
                  ) -> dict[str, InstructionSpec]:
    """Every instruction of a template (dict of the JSON file), in file order, with the ``facts`` the protocol
    adds (by template instruction name; see :class:`InstructionFacts`)."""
    try:
        outputs: Mapping[str, str] = template["tokens"]["output"]
        instructions: Mapping[str, Any] = template["instructions"]
    except (KeyError, TypeError):
        raise MTPFileError("not an MTP template: 'tokens.output' or 'instructions' is missing", pointer="/") from None
    by_key = {key: value for value, key in outputs.items()}
    specs = {}
    for name, body in instructions.items():
        where = f"/instructions/{name}"
        known = (facts or {}).get(name)
        lines = tuple(body.get("input", ()))
        if not lines or not all(isinstance(x, str) for x in lines):
            raise MTPFileError("instruction has no input lines", pointer=f"{where}/input")
        finals, guardrails = [], []
        for j, line in enumerate(body.get("output", ())):
            key, bounds = _output_key(line, f"{where}/output/{j}")
            if is_refusal_key(key) and bounds is None:
                guardrails.append(Final(key, UNK_KEY))
                continue
            value = by_key.get(key)
            if value is None:
                raise MTPFileError(f"final key {key!r} is not in tokens.output", pointer=f"{where}/output/{j}")
            finals.append(Final(key, value, *(bounds or (None, None))))
        if not finals:
            raise MTPFileError("instruction has no output lines", pointer=f"{where}/output")
        text_lines = sum(STRING in line for line in lines)
        user = known.user_lines if known is not None else ()
        kind = str(body.get("type", "basic"))
        states, labels = instruction_choices(template, name, kind, known)
        specs[name] = InstructionSpec(
            name=name,
            kind=kind,
            input_lines=lines,
            finals=tuple(finals),
            guardrails=tuple(guardrails),
            user_lines=tuple(user) if len(user) == text_lines else (),
            placeholders=_placeholders(lines, f"{where}/input"),
            states=states,
            labels=labels,
            refusals=_refusals(template, guardrails, known),
        )
    return specs


def instruction_choices(template: Mapping[str, Any], name: str, kind: str, facts: InstructionFacts | None = None,
                        ) -> tuple[tuple[str, ...] | None, tuple[tuple[str, tuple[str, ...]], ...] | None]:
    """(states, labels) of one template instruction: what a state machine or a multi-classifier may answer.

    Read from the template's ``type`` and top-level ``states`` (a list of
    states, ``GUARDRAIL`` being the guardrail's marker and never a state; or,
    for multi-classifiers, an object label -> values merged over the
    protocol's instructions). The protocol's ``facts`` are used when the
    template lists none, and for a multi-classifier of a protocol with
    several, whose merged map would mix their labels. Labels come in the state
    map's order, the order of the answer line. Both are None for other kinds.
    """
    listed = template.get("states")
    where = "/states"
    if kind == STATE_MACHINE:
        states: Any = [s for s in listed if s != GUARDRAIL_STATE] if isinstance(listed, list) else None
        if not states and facts is not None and facts.states is not None:
            states = list(facts.states)
        if not states or not all(isinstance(s, str) and s and "\n" not in s for s in states):
            raise MTPFileError(f"state-machine instruction {name!r}: the template lists no states (a list of "
                               "one-line strings); write the template again with this version.", pointer=where)
        return tuple(dict.fromkeys(states)), None
    if kind == MULTI_CLASSIFIER:
        several = sum(1 for body in template.get("instructions", {}).values()
                      if isinstance(body, Mapping) and body.get("type") == MULTI_CLASSIFIER) > 1
        state_map: Any = listed if isinstance(listed, Mapping) and listed else None
        if facts is not None and (state_map is None or several):
            state_map = facts.state_map
        if not isinstance(state_map, Mapping) or not state_map or not all(
                isinstance(k, str) and isinstance(v, (list, tuple)) and v and all(isinstance(x, str) for x in v)
                for k, v in state_map.items()):
            raise MTPFileError(f"multi-classifier instruction {name!r}: the template's states are not an object "
                               "label -> list of values; write the template again with this version.", pointer=where)
        return None, tuple((label, tuple(dict.fromkeys(state_map[label]))) for label in state_map)
    return None, None


def _refusals(template: Mapping[str, Any], guardrails: Sequence[Final], facts: InstructionFacts | None,
              ) -> tuple[str, ...]:
    """The guardrail answer lines of a guarded instruction: the protocol's (``facts``), else the template's
    example refusal when it is this instruction's; empty when unknown."""
    if not guardrails:
        return ()
    if facts is not None and facts.refusals:
        return facts.refusals
    example = template.get("example_usage")
    text = example.get("guardrail_model_output") if isinstance(example, Mapping) else None
    if isinstance(text, str) and text.count("\n") == 2 and any(
            text.endswith(f"\n{g.key}\n{EOS_KEY}") for g in guardrails):
        return (text.split("\n", 1)[0],)
    return ()


def _label_combination(text: str, labels: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, str] | None:
    """The labels of ``text`` when it is exactly the canonical line of one allowed value per label, else None."""
    values = read_labels(text)
    if values is None or list(values) != [label for label, _ in labels]:
        return None
    if any(values[label] not in allowed for label, allowed in labels) or format_labels(values) != text:
        return None
    return values


def _short(value: Any) -> str:
    """A value for an error message: at most 60 characters (a 5,000-digit number has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 60 else text[:57] + "..."
