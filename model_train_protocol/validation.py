"""Protocol validation: every rule checked at once, each problem with a rule id and a fix.

Rules are the MTP platform rules (FORMAT.md 1.6, 8). Checks are linear in the
number of samples; the token substring rule is linear in the number of tokens
times the distinct name lengths, never pairwise.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import chain
from operator import attrgetter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable

import emoji

from .formats.versions import DEFAULT_VERSION, FormatVersion
from .guardrail import MIN_GUARDRAIL_SAMPLES, guardrail_conflicts, guardrail_map
from .tokens import SpecialToken, Token

if TYPE_CHECKING:
    from .protocol import Protocol

__all__ = ["Problem", "validate_protocol", "collect_tokens", "MIN_CONTEXT_LINES", "MAX_STRING_LENGTH"]

MIN_CONTEXT_LINES = 10
MIN_SAMPLES = 3
MAX_STRING_LENGTH = 300
MAX_INSTRUCTION_CONTEXT = 10


@dataclass(frozen=True)
class Problem:
    """One broken rule: ``rule`` is a stable id, ``where`` the object, ``hint`` how to fix it."""

    rule: str
    where: str
    message: str
    hint: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.where}: {self.message} Fix: {self.hint}"

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "where": self.where, "message": self.message, "hint": self.hint}


def collect_tokens(protocol: "Protocol") -> tuple[list[Token], set[int]]:
    """Distinct token objects used by the protocol (TokenSet rows, then finals) and the ids used as finals."""
    seen: dict[int, Token] = {}
    finals: set[int] = set()
    for instruction in protocol.instructions:
        for ts in instruction.rows:
            for t in ts.tokens:
                seen.setdefault(id(t), t)
        for t in instruction.finals:
            if not isinstance(t, SpecialToken):
                seen.setdefault(id(t), t)
                finals.add(id(t))
    return list(seen.values()), finals


def file_name_issue(name: str) -> str | None:
    """Why ``name`` cannot be a file name (it names ``{name}_model.json``), or None when it can."""
    if not name.strip():
        return "it is empty"
    if any(ch in name for ch in ("/", "\\", "\0")) or name in (".", "..") or name != name.strip():
        return "no slashes, backslashes, NUL, leading or trailing spaces, '.' or '..'"
    return None


def validate_protocol(protocol: "Protocol", version: FormatVersion = DEFAULT_VERSION) -> list[Problem]:
    """Every problem of the protocol for the file ``version``, in a stable order; empty means it can be saved.

    Versions differ only in limits (FORMAT.md 2.7): minimum ``inputs``, string
    length, instruction context lines, digits in guardrail examples.
    """
    problems: list[Problem] = []
    add = problems.append
    name = f"protocol {protocol.name!r}"
    limit = version.max_string_length

    issue = file_name_issue(protocol.name)
    if issue is not None:
        add(Problem("protocol.name", name, f"the name cannot be used as a file name ({issue}); save() and "
                    "template() write {name}_model.json and {name}_template.json.",
                    "Create the protocol with a plain name, e.g. mtp.Protocol(name=\"my_model\", ...), and pass "
                    "the directory as path= to save()."))
    if protocol.inputs < version.min_inputs:
        add(Problem("protocol.inputs", name,
                    f"inputs is {protocol.inputs}; the bloom {version.bloom} format needs at least {version.min_inputs}.",
                    f"Create the protocol with inputs={version.min_inputs} or more, or save as version='1.2.1' "
                    "or '2.0.1'."))
    if not protocol.instructions:
        add(Problem("protocol.no-instructions", name, "no instructions have been added.",
                    "Call protocol.add_instruction(...) for each Instruction or ExtendedInstruction."))
    total = len(protocol.context) + sum(len(i.background) for i in protocol.instructions)
    if total < MIN_CONTEXT_LINES:
        add(Problem("protocol.context-lines", name,
                    f"{total} context line(s) in total; at least {MIN_CONTEXT_LINES} are required.",
                    f"Add {MIN_CONTEXT_LINES - total} more with protocol.add_context(...) or instruction.add_context(...)."))
    for i, line in enumerate(protocol.context):
        _check_length(add, "context.too-long", f"{name} context line {i}", line, "context line", limit)

    for instruction in protocol.instructions:
        _validate_instruction(add, instruction, version)

    _validate_tokens(add, protocol, version)
    _validate_guardrails(add, protocol, version)
    return problems


def _check_length(add, rule: str, where: str, text: str, what: str, limit: int | None) -> None:
    if limit is not None and len(text) > limit:
        add(Problem(rule, where, f"{what} has {len(text)} characters; the limit is {limit}.",
                    f"Shorten it to {limit} characters or split it, or save as version='2.0.1' (no limit)."))


def _validate_instruction(add, instruction, version: FormatVersion) -> None:
    where = f"instruction {instruction.name!r}"
    limit = version.max_string_length
    most = version.max_instruction_context
    if most is not None and len(instruction.background) > most:
        add(Problem("instruction.context-lines", where,
                    f"{len(instruction.background)} context lines; an instruction holds at most {most} in bloom "
                    f"{version.bloom}.",
                    "Move general lines to protocol.add_context(...), or save as version='1.2.1' or '2.0.1'."))
    for i, line in enumerate(instruction.background):
        _check_length(add, "context.too-long", f"{where} context line {i}", line, "context line", limit)
    count = len(instruction.samples)
    if count < MIN_SAMPLES:
        add(Problem("instruction.too-few-samples", where, f"{count} sample(s); at least {MIN_SAMPLES} are required.",
                    f"Add {MIN_SAMPLES - count} more with add_sample(...)."))
    per_final = Counter(map(_FINAL_VALUE, instruction.samples))
    for final in instruction.finals:
        n = per_final.get(final.value, 0)
        if n < MIN_SAMPLES and count >= MIN_SAMPLES:
            add(Problem("final.too-few-samples", f"{where} final {final.name!r}",
                        f"{n} sample(s) end with this final; each final needs at least {MIN_SAMPLES}.",
                        f"Add {MIN_SAMPLES - n} sample(s) with final={final.name} or remove it from the finals."))
    prompt_index = len(instruction.context) - 1 if instruction.kind == "extended" else -1
    if _any_line_break(instruction.samples):
        for si, sample in enumerate(instruction.samples):
            texts = [("prompt" if li == prompt_index else f"input {li}", sn.string) for li, sn in enumerate(sample.inputs)]
            for what, text in texts + [("response", sample.output)]:
                if _LINE_BREAK(text):
                    add(Problem("string.newline", f"{where} sample {si} {what}",
                                f"{what} {_preview(text)} contains a line break; each text is one line of the model's "
                                "input or output.", "Replace the line break with a space or split the text."))
    if limit is None or _longest(instruction.samples) <= limit:
        return
    for si, sample in enumerate(instruction.samples):
        for li, sn in enumerate(sample.inputs):
            if len(sn.string) > limit:
                what = "prompt" if li == prompt_index else f"input {li}"
                _check_length(add, "string.too-long", f"{where} sample {si} {what}", sn.string, what, limit)
        if len(sample.output) > limit:
            _check_length(add, "string.too-long", f"{where} sample {si} response", sample.output, "response", limit)


_FINAL_VALUE = attrgetter("final.value")
_OUTPUT = attrgetter("output")
_STRING = attrgetter("string")


_LINE_BREAK = re.compile(r"[\r\n]").search


def _any_line_break(samples) -> bool:
    """Whether any input or response string breaks a line: one C-level pass in the common case of none."""
    return any(map(_LINE_BREAK, chain(map(_STRING, chain.from_iterable(map(attrgetter("inputs"), samples))),
                                      map(_OUTPUT, samples))))


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _longest(samples) -> int:
    """The length of the longest input or response string: one C-level pass before the per-sample report."""
    inputs = max(map(len, map(_STRING, chain.from_iterable(map(attrgetter("inputs"), samples)))), default=0)
    return max(inputs, max(map(len, map(_OUTPUT, samples)), default=0))


def _reduce(text: str) -> str:
    """The substring rule compares lower-cased letters, digits and emoji only."""
    return "".join(ch for ch in text.lower() if ch.isalnum() or emoji.is_emoji(ch))


def _substring_pairs(strings: Iterable[str]) -> list[tuple[str, str]]:
    """(inner, outer) pairs where the reduced ``inner`` occurs inside the reduced ``outer``.

    For each string only substrings of lengths that some other string has are
    looked up in a hash map, so the cost is O(n * L * distinct lengths).
    """
    by_reduced: dict[str, list[str]] = defaultdict(list)
    for s in strings:
        r = _reduce(s)
        if r:
            by_reduced[r].append(s)
    lengths = sorted({len(r) for r in by_reduced})
    pairs: list[tuple[str, str]] = []
    for r, originals in by_reduced.items():
        for a, b in zip(originals, originals[1:]):
            pairs.append((a, b))
        for length in lengths:
            if length >= len(r):
                break
            found = {r[i:i + length] for i in range(len(r) - length + 1)} & by_reduced.keys()
            for sub in sorted(found):
                pairs += [(inner, originals[0]) for inner in by_reduced[sub]]
    return pairs


def _validate_tokens(add, protocol: "Protocol", version: FormatVersion) -> None:
    tokens, finals = collect_tokens(protocol)
    limit = version.max_string_length
    keys = protocol.key_map()
    by_value: dict[str, Token] = {}
    for t in tokens:
        other = by_value.setdefault(t.value, t)
        if other is not t and other.signature() != t.signature():
            add(Problem("token.duplicate-value", f"token {t.name!r}",
                        f"two different tokens are named {t.name!r} ({other!r} and {t!r}).",
                        "Use one token object for both, or rename one."))
    distinct = list(by_value.values())
    for t in distinct:  # values are written as strings of the set rows, which have the string limit
        if limit is not None and len(t.value) > limit:
            add(Problem("token.too-long", f"token {t.name[:40]!r}",
                        f"its value has {len(t.value)} characters; bloom {version.bloom} allows {limit}.",
                        f"Use a name of at most {limit - 1} characters (a long description goes in desc=...)."))
    by_key: dict[str, Token] = {}
    for t in distinct:
        other = by_key.setdefault(keys(t), t)
        if other is not t:
            add(Problem("token.duplicate-key", f"token {t.name!r}",
                        f"its key {keys(t)!r} is also the key of {other.name!r}.",
                        "Give one of them a different key=..."))
    for inner, outer in _substring_pairs(t.value for t in distinct):
        add(Problem("token.substring", f"token {inner[:-1]!r}",
                    f"value {inner!r} is contained in {outer!r} (letters and digits only, case-insensitive).",
                    "Rename one of them so neither name contains the other."))
    for inner, outer in _substring_pairs(sorted({keys(t) for t in distinct})):
        add(Problem("token.key-substring", f"key {inner!r}",
                    f"key {inner!r} is contained in key {outer!r} (letters and digits only, case-insensitive).",
                    "Choose custom keys that do not contain each other."))
    # By value, not identity: an equal token object used as a final counts as the same token.
    row_values = {t.value for i in protocol.instructions for ts in i.rows for t in ts.tokens}
    final_values = {t.value for t in tokens if id(t) in finals}
    for t in distinct:
        if t.value in final_values and t.value in row_values:
            add(Problem("token.final-in-set", f"token {t.name!r}",
                        "is used both as a final and inside a TokenSet; a final token only closes answers.",
                        f"Create a separate final token, e.g. mtp.Token({(t.name + 'Final')!r})."))


def _validate_guardrails(add, protocol: "Protocol", version: FormatVersion) -> None:
    for value_key, first, other in guardrail_conflicts(protocol.instructions):
        add(Problem("guardrail.conflict", f"TokenSet {value_key!r}",
                    f"equal TokenSets carry different guardrails ({first!r} and {other!r}).",
                    "Set the same Guardrail on every TokenSet with these tokens."))
    for guardrail in dict.fromkeys(guardrail_map(protocol.instructions).values()):
        n = len(guardrail.samples)
        if n < MIN_GUARDRAIL_SAMPLES:
            add(Problem("guardrail.too-few-samples", f"guardrail {guardrail.bad_output!r}",
                        f"{n} bad-prompt sample(s); at least {MIN_GUARDRAIL_SAMPLES} are required.",
                        f"Add {MIN_GUARDRAIL_SAMPLES - n} more with guardrail.add_sample(...)."))
        for text in (guardrail.bad_output, *guardrail.samples):
            if _LINE_BREAK(text):
                add(Problem("string.newline", f"guardrail {guardrail.bad_output!r}",
                            f"{_preview(text)} contains a line break; bad prompts and the bad output are single lines.",
                            "Replace the line break with a space."))
        if not version.guardrail_digits:
            for text in guardrail.samples:
                if any(ch.isdigit() for ch in text):
                    add(Problem("guardrail.digits", f"guardrail {guardrail.bad_output!r}",
                                f"bad-prompt sample {text!r} contains digits, which bloom {version.bloom} forbids.",
                                "Write numbers as words, or save as version='1.2.1' or '2.0.1'."))
