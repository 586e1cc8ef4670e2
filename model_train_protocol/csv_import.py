"""The reference's no-code CSV layout (columns ``Input``, ``Output``, ``Reference``) as a Protocol.

The reference turns such a CSV into a one-input state machine, which the MTP
0.3.2 format cannot hold (it needs ``inputs >= 2`` and has no state machines).
We build the same classifier as a basic instruction instead:

* ``Protocol(name, inputs=2, encrypt=False)`` with one ``Instruction`` named
  ``classify``. Its two input lines are a fixed task line (TokenSet ``Task``,
  the same text in every sample) and the user's message (TokenSet ``Input``, a
  UserToken line: the row's Input). The response line (TokenSet ``Output``)
  repeats the row's Output, and the sample's final is a token named after the
  Output (``Password`` -> ``Password_``), so the model answers with the label in
  free text and as a final token that code can read.
* An empty Output inherits the previous row's Output. A non-empty Reference
  becomes a context line of the instruction (duplicates skipped; past the ten
  lines an instruction may hold, the rest go to the protocol's context).
* Rows whose Output is ``GUARDRAIL`` become bad-prompt samples of one guardrail
  on the Input line (used when there are three or more).

Rows that cannot be used (empty Input, no Output to inherit, text over 300
characters, a label with fewer than three rows, a guardrail prompt with
digits, ...) are not dropped silently: :attr:`CSVImport.skipped` lists each one
with its row number (the header is row 1, as in a spreadsheet) and the reason.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, TextIO

import emoji

from .errors import MTPValueError
from .formats.limits import read_limited
from .guardrail import MIN_GUARDRAIL_SAMPLES, Guardrail
from .instructions import Instruction
from .protocol import Protocol
from .tokens import Token, UserToken
from .tokenset import TokenSet
from .validation import MAX_INSTRUCTION_CONTEXT, MAX_STRING_LENGTH, MIN_SAMPLES, substring_pairs

__all__ = ["CSVImportError", "RowIssue", "CSVImport", "CSVRow", "GUARDRAIL_OUTPUT", "DEFAULT_TASK", "import_csv", "read_csv"]

#: The Output value that marks a row as an off-topic prompt.
GUARDRAIL_OUTPUT = "GUARDRAIL"
#: The text of the fixed first input line of every sample.
DEFAULT_TASK = "Name the topic of the user's message."
INSTRUCTION_NAME = "classify"

# The reference's guardrail texts (FORMAT.md 5.3).
GOOD_PROMPT = "Prompt related to the provided context of the model"
BAD_PROMPT = "Prompt that is irrelevant and off topic"

_REQUIRED = ("Input", "Output")
_KNOWN = ("Input", "Output", "Reference")
_ROLE_NAMES = {
    "task": ("Task", "Job", "Assignment", "Mission", "Purpose"),
    "input": ("Input", "Message", "Question", "Query"),
    "output": ("Output", "Answer", "Reply", "Verdict"),
}
#: With more distinct Outputs than this, finals get numbered names (the name check is quadratic).
MAX_NATURAL_LABELS = 500


class CSVImportError(MTPValueError):
    """The CSV cannot be imported at all (missing columns, unreadable text)."""


@dataclass(frozen=True)
class RowIssue:
    """A row (or part of one) that was not used, and why. ``row`` counts the header as row 1."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class CSVImport:
    """The protocol built from a CSV, what was skipped, and how Outputs became final tokens."""

    protocol: Protocol
    skipped: list[RowIssue] = field(default_factory=list)
    samples: int = 0
    guardrail_samples: int = 0
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class CSVRow:
    """One data row: its number (header = row 1), stripped cells, Output already inherited when empty."""

    number: int
    input: str
    output: str
    reference: str


def read_csv(source: str | os.PathLike[str] | TextIO) -> tuple[list[CSVRow], list[RowIssue]]:
    """Rows of a CSV with ``Input``/``Output``/``Reference`` columns (names matched ignoring case and spaces).

    Cells are stripped; an empty Output is filled from the previous row. Issues
    about the file's shape (unknown columns, ragged rows) come back as RowIssues.
    """
    where = f"{source}: " if isinstance(source, (str, os.PathLike)) else ""
    if isinstance(source, (str, os.PathLike)):
        try:
            text = read_limited(source).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CSVImportError(f"{where}not UTF-8 text ({exc.reason} at byte {exc.start}); save the CSV as UTF-8.") from None
        handle: TextIO = io.StringIO(text, newline="")
    else:
        handle = source
    reader = csv.reader(handle)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CSVImportError(f"{where}row 1: not a readable CSV header ({exc}).") from None
    if not header or not any(h.strip() for h in header):
        raise CSVImportError(f"{where}the CSV is empty; it needs a header row with the columns Input, Output and Reference.")
    columns = {}
    issues = []
    for index, raw in enumerate(header):
        name = raw.strip()
        canonical = next((k for k in _KNOWN if k.lower() == name.lower()), None)
        if canonical is None:
            issues.append(RowIssue(1, f"column {index + 1} ({name!r}) is not Input, Output or Reference; ignored."))
            continue
        if canonical in columns:
            raise CSVImportError(f"{where}row 1: the column {canonical!r} appears twice; keep one.")
        columns[canonical] = index
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise CSVImportError(
            f"{where}row 1: the CSV needs the columns Input and Output (Reference optional); missing {', '.join(missing)}."
        )

    rows: list[CSVRow] = []
    previous = ""
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                issues.append(RowIssue(number, f"{len(cells)} cells but the header has {len(header)}; extra cells ignored."))

            def cell(name: str) -> str:
                index = columns.get(name)
                return cells[index].strip() if index is not None and index < len(cells) else ""

            output = cell("Output") or previous
            if output:
                previous = output
            rows.append(CSVRow(number, cell("Input"), output, cell("Reference")))
    except csv.Error as exc:
        raise CSVImportError(f"{where}row {number}: not valid CSV ({exc}).") from None
    return rows, issues


def import_csv(
    source: str | os.PathLike[str] | TextIO,
    name: str | None = None,
    context: Iterable[str] = (),
    task: str = DEFAULT_TASK,
) -> CSVImport:
    """Build a protocol from a no-code CSV (see the module docstring for the mapping).

    ``name`` defaults to the file's stem ("csv_protocol" for a stream);
    ``context`` adds protocol context lines (MTP needs ten context lines in
    total, references included). The protocol is returned even when it is not
    yet valid (for example too few context lines): call ``protocol.validate()``.
    """
    if name is None:
        name = Path(source).stem if isinstance(source, (str, os.PathLike)) else "csv_protocol"
    rows, issues = read_csv(source)
    protocol = Protocol(name=name, inputs=2, encrypt=False)
    for line in context:
        protocol.add_context(line)

    samples: list[CSVRow] = []
    bad_prompts: list[CSVRow] = []
    references: dict[str, None] = {}
    for row in rows:
        if row.reference:
            if len(row.reference) > MAX_STRING_LENGTH:
                issues.append(RowIssue(row.number, _too_long("Reference", row.reference) + " The reference is not used."))
            else:
                references.setdefault(row.reference, None)
        if not row.input:
            issues.append(RowIssue(row.number, "empty Input; the row is not a sample."))
        elif not row.output:
            issues.append(RowIssue(row.number, "empty Output and no earlier row to inherit one from; give it an Output."))
        elif len(row.input) > MAX_STRING_LENGTH:
            issues.append(RowIssue(row.number, _too_long("Input", row.input)))
        elif row.output == GUARDRAIL_OUTPUT:
            digit = next((ch for ch in row.input if ch.isdigit()), None)
            if digit is not None:
                issues.append(RowIssue(row.number, f"GUARDRAIL prompt contains the digit {digit!r}; bad-prompt examples "
                                                   "may not contain digits (write numbers as words)."))
            else:
                bad_prompts.append(row)
        elif len(row.output) > MAX_STRING_LENGTH:
            issues.append(RowIssue(row.number, _too_long("Output", row.output)))
        else:
            samples.append(row)

    per_label = Counter(r.output for r in samples)
    thin = {label for label, n in per_label.items() if n < MIN_SAMPLES}
    for row in samples:
        if row.output in thin:
            issues.append(RowIssue(row.number, f"Output {row.output!r} has only {per_label[row.output]} row(s); every "
                                               f"Output needs at least {MIN_SAMPLES} (MTP's minimum per final)."))
    samples = [r for r in samples if r.output not in thin]

    labels = list(dict.fromkeys(r.output for r in samples))
    names, roles = _token_names(labels)
    task_set = TokenSet(Token(roles["task"]))
    input_set = TokenSet(UserToken(roles["input"]))
    output_set = TokenSet(Token(roles["output"]))
    finals = {label: Token(names[label], desc=None if names[label] == label else label) for label in labels}
    result = CSVImport(protocol=protocol, labels={label: names[label] for label in labels})

    if samples:
        instruction = Instruction(context=[task_set, input_set], response=output_set,
                                  final=list(finals.values()), name=INSTRUCTION_NAME)
        lines = list(references)
        for line in lines[:MAX_INSTRUCTION_CONTEXT]:
            instruction.add_context(line)
        for line in lines[MAX_INSTRUCTION_CONTEXT:]:
            protocol.add_context(line)
        for row in samples:
            instruction.add_sample(input_snippets=[task, row.input], output_snippet=row.output, final=finals[row.output])
        protocol.add_instruction(instruction)
        result.samples = len(samples)
    else:
        for line in references:
            protocol.add_context(line)

    if len(bad_prompts) >= MIN_GUARDRAIL_SAMPLES and samples:
        guardrail = Guardrail(good_prompt=GOOD_PROMPT, bad_prompt=BAD_PROMPT, bad_output=GUARDRAIL_OUTPUT)
        for row in bad_prompts:
            guardrail.add_sample(row.input)
        input_set.set_guardrail(guardrail)
        result.guardrail_samples = len(bad_prompts)
    else:
        why = (f"only {len(bad_prompts)} GUARDRAIL row(s); a guardrail needs at least {MIN_GUARDRAIL_SAMPLES}."
               if samples else "no usable sample rows, so there is no instruction to guard.")
        issues.extend(RowIssue(r.number, why) for r in bad_prompts)

    result.skipped = sorted(issues, key=lambda i: i.row)
    return result


def _too_long(column: str, text: str) -> str:
    return f"{column} has {len(text)} characters; the limit is {MAX_STRING_LENGTH}. Shorten it."


def _sanitize(label: str) -> str:
    """A token name for an Output: runs of characters MTP does not allow become one underscore."""
    allowed = "".join(ch if (ch.isalnum() or ch == "_" or emoji.is_emoji(ch)) else " " for ch in label)
    return re.sub(r"[\s_]+", "_", allowed.strip()).strip("_")


def _clashes(names: list[str]) -> bool:
    """True when a name contains another one or two reduce to the same text (MTP's substring rule)."""
    return bool(substring_pairs(names))


def _token_names(labels: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """Token names for the Outputs, and for the three fixed lines, that pass MTP's substring rule.

    Outputs are named after themselves (``"Reset password"`` -> ``Reset_password``)
    when no name then contains another; otherwise (``Pass`` and ``Password``,
    or more than :data:`MAX_NATURAL_LABELS` Outputs) every Output gets a
    numbered name (``Label01``, ``Label02``, ...), and the token's ``desc``
    keeps the Output text. The fixed lines take the first candidate name that
    clashes with no Output name.
    """
    natural = [_sanitize(label) for label in labels]
    if all(natural) and len(labels) <= MAX_NATURAL_LABELS and not _clashes(natural):
        roles: dict[str, str] = {}
        for role, options in _ROLE_NAMES.items():
            for candidate in options:
                if not _clashes([*natural, *roles.values(), candidate]):
                    roles[role] = candidate
                    break
        if len(roles) == len(_ROLE_NAMES):
            return dict(zip(labels, natural)), roles
    width = len(str(len(labels)))
    numbered = {label: f"Label{i:0{width}d}" for i, label in enumerate(labels, 1)}
    return numbered, {role: options[0] for role, options in _ROLE_NAMES.items()}
