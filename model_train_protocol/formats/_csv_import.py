"""The reference's no-code CSV layout (columns ``Input``, ``Output``, ``Reference``) as a Protocol.

By default (``layout="reference"``) the CSV becomes what reference 1.2.8 builds
from it (FORMAT.md 5.3), written as bloom 2.0.1 unless ``version=`` says otherwise:

* columns ``Input``, ``Output`` (and ``Reference``): a one-input state machine,
  ``Protocol(name, inputs=1, encrypt=False)`` with one ``StateMachineInstruction``
  on the line ``Input``, whose states are the distinct Outputs in order of first
  appearance. ``GUARDRAIL`` rows become one guardrail on that line; one or two
  such rows are an error here (reference 0.5.5+ drops them silently, FORMAT.md 6, defect 23);
* ``Input`` with other label columns (``Emotion``, ``Intent``, ...): a
  ``MultiClassifierInstruction`` with one label per column and its values in
  order of first appearance (bloom 2.x only; it has no guardrail);
* cells are taken as written (not stripped), as pandas reads them for the
  reference; a row without Input is left out; an empty label cell inherits
  the previous row's value of that column; the non-empty ``Reference`` of a
  sample row becomes an instruction context line, once (a ``GUARDRAIL`` row's
  Reference is not used); a column name given twice is an error.

A target version that cannot hold a state machine (``version="0.3.2"``) and
``layout="classifier"`` give the 0.3.2-compatible classifier, built as a basic
instruction:

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

from ..errors import ConversionError
from ..jsonio import read_limited
from ..rules import BLOOM_2_0_1, FormatVersion, format_version, substring_pairs
from ..constants import MAX_INSTRUCTION_CONTEXT, MAX_STRING_LENGTH, MIN_GUARDRAIL_SAMPLES, MIN_SAMPLES
from ..authoring import (Guardrail, Instruction, MultiClassifierInstruction, Protocol, StateMachineInstruction, Token,
                         TokenSet, UserToken)

__all__ = ["CSVImportError", "RowIssue", "CSVImport", "CSVRow", "GUARDRAIL_OUTPUT", "DEFAULT_TASK", "LAYOUTS",
           "import_csv", "read_csv", "read_table"]

#: ``layout=`` of :func:`import_csv`: what reference 1.2.8 builds, or the 0.3.2-compatible classifier.
LAYOUTS = ("reference", "classifier")

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


class CSVImportError(ConversionError):
    """The CSV cannot be imported at all (missing columns, unreadable text, too few GUARDRAIL rows)."""


@dataclass(frozen=True)
class RowIssue:
    """A row (or part of one) that was not used, and why. ``row`` counts the header as row 1."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass
class CSVImport:
    """The protocol built from a CSV, what was skipped, and what it answers.

    ``kind`` is ``"classifier"`` (``labels``: each Output and its final token's
    name), ``"state_machine"`` (``states["Output"]``: the states) or
    ``"multi_classifier"`` (``states``: each label column and its values).
    """

    protocol: Protocol
    skipped: list[RowIssue] = field(default_factory=list)
    samples: int = 0
    guardrail_samples: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    kind: str = "classifier"
    states: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class CSVRow:
    """One data row: its number (header = row 1), stripped cells, Output already inherited when empty."""

    number: int
    input: str
    output: str
    reference: str


def read_table(source: str | os.PathLike[str] | TextIO) -> tuple[list[str], list[tuple[int, list[str]]], list[RowIssue]]:
    """The header (names stripped), the non-blank data rows with their numbers (header = row 1), and issues
    about the file's shape (ragged rows). Unreadable text and an empty file raise :class:`CSVImportError`."""
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
    rows: list[tuple[int, list[str]]] = []
    issues: list[RowIssue] = []
    number = 1
    try:
        for cells in reader:
            number += 1
            if not any(c.strip() for c in cells):
                continue  # blank line
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                issues.append(RowIssue(number, f"{len(cells)} cells but the header has {len(header)}; extra cells ignored."))
            rows.append((number, cells))
    except csv.Error as exc:
        raise CSVImportError(f"{where}row {number}: not valid CSV ({exc}).") from None
    return [h.strip() for h in header], rows, issues


def _cell(cells: list[str], index: int | None) -> str:
    """A cell of the classifier layout, stripped (empty when the row is short)."""
    return cells[index].strip() if index is not None and index < len(cells) else ""


def _raw(cells: "list[str | None]", index: int | None) -> "str | None":
    """A cell as the reference reads it: its text unchanged, None where there is none."""
    return cells[index] if index is not None and index < len(cells) else None


def read_csv(source: str | os.PathLike[str] | TextIO) -> tuple[list[CSVRow], list[RowIssue]]:
    """Rows of a CSV with ``Input``/``Output``/``Reference`` columns (names matched ignoring case and spaces).

    Cells are stripped; an empty Output is filled from the previous row. Issues
    about the file's shape (unknown columns, ragged rows) come back as RowIssues.
    """
    where = f"{source}: " if isinstance(source, (str, os.PathLike)) else ""
    header, table, shape = read_table(source)
    columns = {}
    issues = []
    for index, name in enumerate(header):
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
    for number, cells in table:
        output = _cell(cells, columns.get("Output")) or previous
        if output:
            previous = output
        rows.append(CSVRow(number, _cell(cells, columns["Input"]), output, _cell(cells, columns.get("Reference"))))
    return rows, sorted(issues + shape, key=lambda i: i.row)


def import_csv(
    source: str | os.PathLike[str] | TextIO,
    name: str | None = None,
    context: Iterable[str] = (),
    task: str = DEFAULT_TASK,
    layout: str = "reference",
    version: str | None = None,
) -> CSVImport:
    """Build a protocol from a no-code CSV (see the module docstring for the mapping).

    ``name`` defaults to the file's stem ("csv_protocol" for a stream);
    ``context`` adds protocol context lines (MTP needs ten context lines in
    total, references included). ``layout`` is ``"reference"`` (what reference
    1.2.8 builds) or ``"classifier"``; ``version`` is the layout the protocol's
    files take (``"2.0.1"`` for the reference layout, ``"0.3.2"`` for the
    classifier, by default; a ``"0.3.2"`` target gives the classifier; ``task`` is
    the classifier's first line). The protocol is returned even when it is not
    yet valid (for example too few context lines): call ``protocol.validate()``.
    """
    if layout not in LAYOUTS:
        raise CSVImportError(f"layout {layout!r} is not one of {', '.join(LAYOUTS)}.")
    fmt = None if version is None else format_version(version)
    if name is None:
        name = Path(source).stem if isinstance(source, (str, os.PathLike)) else "csv_protocol"
    if layout == "classifier" or (fmt is not None and fmt.major == 0):
        result = _import_classifier(source, name, context, task)
    else:
        where = f"{source}: " if isinstance(source, (str, os.PathLike)) else ""
        header, table, issues = read_table(source)
        cells = [(number, [c if c != "" else None for c in row]) for number, row in table]  # an empty field: none
        result = _import_reference(header, cells, name, context, fmt or BLOOM_2_0_1, where)
        result.skipped = sorted(issues + result.skipped, key=lambda i: i.row)
    if fmt is not None:
        result.protocol.version = fmt.bloom
    return result


def _import_classifier(source: str | os.PathLike[str] | TextIO, name: str, context: Iterable[str],
                       task: str) -> CSVImport:
    """The 0.3.2-compatible classifier (module docstring)."""
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


def _reference_columns(header: list[str], where: str) -> tuple[int, int | None, list[tuple[str, int]], list[RowIssue]]:
    """Index of Input, of Reference (or None), and the label columns (name, index), as reference 1.2.8 reads them."""
    seen: dict[str, str] = {}
    for name in header:
        if name and name.lower() in seen:
            raise CSVImportError(f"{where}row 1: the column {name!r} appears twice (as {seen[name.lower()]!r} "
                                 "too); CSV column names must be unique, keep one.")
        seen[name.lower()] = name
    issues = [RowIssue(1, f"column {i + 1} has no name; ignored.") for i, name in enumerate(header) if not name]
    known = {name.lower(): i for i, name in enumerate(header) if name}
    if "input" not in known:
        raise CSVImportError(f"{where}row 1: the CSV needs an Input column (and Output, or one column per label).")
    labels = [(name, i) for i, name in enumerate(header) if name and name.lower() not in ("input", "reference")]
    if not labels:
        raise CSVImportError(f"{where}row 1: the CSV needs an Output column (a state machine) or one column per "
                             "label (a multi-classifier) besides Input and Reference.")
    return known["input"], known.get("reference"), labels, issues


def _import_reference(header: list[str], table: "list[tuple[int, list[str | None]]]", name: str,
                      context: Iterable[str], fmt: FormatVersion, where: str) -> CSVImport:
    """A state machine (Input, Output, Reference) or a multi-classifier (other label columns), as 1.2.8 builds
    them, from the header and (row number, cells) per row, a cell None where the file has no value."""
    input_at, reference_at, label_columns, issues = _reference_columns(header, where)
    machine = len(label_columns) == 1 and label_columns[0][0].lower() == "output"
    if not machine and fmt.major < 2:
        raise CSVImportError(f"{where}the label columns {', '.join(n for n, _ in label_columns)} make a "
                             f"multi-classifier, which bloom {fmt.bloom} cannot hold; write it as bloom 2.0.1.")
    protocol = Protocol(name=name, inputs=1, encrypt=False, version=fmt.bloom)
    for line in context:
        protocol.add_context(line)

    previous = {label: "" for label, _ in label_columns}
    samples: list[tuple[str, dict[str, str]]] = []
    bad_prompts: list[tuple[int, str]] = []
    references: dict[str, None] = {}
    for number, cells in table:
        text = _raw(cells, input_at)
        if text is None:
            issues.append(RowIssue(number, "empty Input; the row is not a sample."))
            continue
        values = {}
        for label, index in label_columns:
            values[label] = _raw(cells, index) or previous[label]
            previous[label] = values[label]
        missing = [label for label, value in values.items() if not value]
        guarded = [label for label, value in values.items() if value == GUARDRAIL_OUTPUT]
        if missing:
            issues.append(RowIssue(number, f"empty {', '.join(missing)} and no earlier row to inherit from; fill it in."))
        elif guarded and not machine:
            raise CSVImportError(f"{where}row {number}: {GUARDRAIL_OUTPUT} in column {guarded[0]!r}, but a "
                                 "multi-classifier has no guardrail; remove the row or give it labels.")
        elif guarded:
            bad_prompts.append((number, text))
        else:
            samples.append((text, values))
            reference = _raw(cells, reference_at)
            if reference:
                references.setdefault(reference, None)

    if 0 < len(bad_prompts) < MIN_GUARDRAIL_SAMPLES:
        rows = ", ".join(str(n) for n, _ in bad_prompts)
        raise CSVImportError(
            f"{where}row(s) {rows}: only {len(bad_prompts)} {GUARDRAIL_OUTPUT} row(s); a guardrail needs at least "
            f"{MIN_GUARDRAIL_SAMPLES} (reference 0.5.5+ drops them silently). Add {GUARDRAIL_OUTPUT} rows or remove these."
        )
    input_set = TokenSet(Token("Input"))
    result = CSVImport(protocol=protocol, samples=len(samples),
                       kind="state_machine" if machine else "multi_classifier")
    result.states = {label: list(dict.fromkeys(values[label] for _, values in samples)) for label, _ in label_columns}
    if not samples:
        issues.extend(RowIssue(n, "no usable sample rows, so there is no instruction to guard.") for n, _ in bad_prompts)
        result.skipped = sorted(issues, key=lambda i: i.row)
        return result
    if machine:
        (label, _), = label_columns
        result.labels = {state: state for state in result.states[label]}
        instruction: StateMachineInstruction | MultiClassifierInstruction = StateMachineInstruction(
            context=[input_set], states=result.states[label])
        for text, values in samples:
            instruction.add_sample([text], values[label])
    else:
        instruction = MultiClassifierInstruction(context=[input_set], state_map=result.states)
        for text, values in samples:
            instruction.add_sample([text], values)
    for line in references:
        instruction.add_context(line)
    if bad_prompts:
        guardrail = Guardrail(good_prompt=GOOD_PROMPT, bad_prompt=BAD_PROMPT, bad_output=GUARDRAIL_OUTPUT)
        for _, text in bad_prompts:
            guardrail.add_sample(text)  # digits too: validation holds each layout to its own rule
        instruction.add_guardrail(guardrail, 0)
        result.guardrail_samples = len(bad_prompts)
    protocol.add_instruction(instruction)
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
