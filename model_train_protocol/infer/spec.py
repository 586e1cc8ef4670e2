"""What a runtime needs to know about one instruction, read from the template file.

The template is the contract between training and inference: its input lines
say how to build the prompt, its output lines which finals may close an answer
(a numeric final's line holds ``<num_MIN_MAX>`` after its key: the model then
writes an integer in that range), and ``tokens.output`` maps each final key (hashed when encrypted) back to the
token's value. The protocol (when at hand) adds what the template leaves out:
which input lines the user writes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import MTPFileError, MTPValueError
from ..render import NUM_PLACEHOLDER, STRING, input_lines
from ..tokens import EOS, UNK

if TYPE_CHECKING:
    from ..protocol import Protocol

__all__ = ["Final", "Placeholder", "InstructionSpec", "instruction_specs", "instruction_names", "final_name"]


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
    guardrail: Final | None = None
    #: per text line (in ``<string>`` order): True where the user writes it
    user_lines: tuple[bool, ...] = ()
    placeholders: tuple[Placeholder, ...] = field(default=())

    @property
    def text_lines(self) -> int:
        """How many ``<string>`` slots the prompt has."""
        return sum(STRING in line for line in self.input_lines)

    @property
    def outputs(self) -> tuple[Final, ...]:
        """Every final the model may close an answer with, the guardrail's last."""
        return self.finals + ((self.guardrail,) if self.guardrail else ())

    def final_for_key(self, key: str) -> Final | None:
        return next((f for f in self.outputs if f.key == key), None)

    @property
    def prompt_line(self) -> int:
        """The text line the user's new message goes in: the last user line (the last line if none is marked)."""
        marked = [i for i, user in enumerate(self.user_lines) if user]
        return marked[-1] if marked else self.text_lines - 1


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
    prefix, suffix = STRING + "\n", "\n" + EOS.key
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


def instruction_specs(template: Mapping[str, Any], protocol: "Protocol | None" = None) -> dict[str, InstructionSpec]:
    """Every instruction of a template (dict of the JSON file), in file order.

    With the ``protocol`` the template was written from, the specs also know
    which lines the user writes (what ``chat`` fills with the user's turns).
    """
    try:
        outputs: Mapping[str, str] = template["tokens"]["output"]
        instructions: Mapping[str, Any] = template["instructions"]
    except (KeyError, TypeError):
        raise MTPFileError("not an MTP template: 'tokens.output' or 'instructions' is missing", pointer="/") from None
    by_key = {key: value for value, key in outputs.items()}
    users = _user_lines(protocol)
    specs = {}
    for name, body in instructions.items():
        where = f"/instructions/{name}"
        lines = tuple(body.get("input", ()))
        if not lines or not all(isinstance(x, str) for x in lines):
            raise MTPFileError("instruction has no input lines", pointer=f"{where}/input")
        finals, guardrail = [], None
        for j, line in enumerate(body.get("output", ())):
            key, bounds = _output_key(line, f"{where}/output/{j}")
            value = by_key.get(key)
            if value is None:
                raise MTPFileError(f"final key {key!r} is not in tokens.output", pointer=f"{where}/output/{j}")
            if key == UNK.key:
                guardrail = Final(key, value)
                continue
            finals.append(Final(key, value, *(bounds or (None, None))))
        if not finals:
            raise MTPFileError("instruction has no output lines", pointer=f"{where}/output")
        text_lines = sum(STRING in line for line in lines)
        user = users.get(name, users.get(lines, ()))
        specs[name] = InstructionSpec(
            name=name,
            kind=str(body.get("type", "basic")),
            input_lines=lines,
            finals=tuple(finals),
            guardrail=guardrail,
            user_lines=tuple(user) if len(user) == text_lines else (),
            placeholders=_placeholders(lines, f"{where}/input"),
        )
    return specs


def _user_lines(protocol: "Protocol | None") -> dict[Any, list[bool]]:
    """For each context line: whether its TokenSet holds a UserToken, by instruction name and by input lines.

    Model files of format 0.3.2 do not store instruction names (a loaded
    protocol calls them ``instruction_0``...), so the template's instructions
    are also matched by their input lines.
    """
    if protocol is None:
        return {}
    keys = protocol.key_map()
    found: dict[Any, list[bool]] = {}
    for instruction in protocol.instructions:
        flags = [ts.has_user for ts in instruction.context]
        found[instruction.name] = flags
        found[tuple(input_lines(instruction, keys))] = flags
    return found


def _short(value: Any) -> str:
    """A value for an error message: at most 60 characters (a 5,000-digit number has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too large to print"
    return text if len(text) <= 60 else text[:57] + "..."


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
