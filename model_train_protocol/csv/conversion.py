"""The reference's import path ``model_train_protocol.csv.conversion`` (compat layer): ``CSVConversion``.

``CSVConversion(csv_data, protocol_name="CSV Protocol")`` reads the table when created, as reference 0.8.8 and
1.2.8 do (``csv_data``, ``ordered_lines``, ``unique_states``, an empty ``protocol``), and ``to_mtp()`` builds its
instruction through the reference's calls and adds it: a ``StateMachineInstruction`` for the columns ``Input``,
``Output`` (and ``Reference``), a ``MultiClassifierInstruction`` for other label columns (1.2.8). A row without
Input is left out; an empty Output (label) cell inherits the previous row's; a sample row's Reference becomes a
background line, once; ``GUARDRAIL`` rows become one guardrail on the input line when there are three or more.

``csv_data`` may be a pandas DataFrame, as in the reference, without this package needing pandas (an empty
string in it is an Input, a missing value is none), a ``{column: [cells...]}`` mapping, or a CSV path or text
stream (where an empty field is a missing value, as pandas reads it). Files and the CLI go through the core's
:func:`model_train_protocol.formats.import_csv` instead, which builds the same protocol.

Where the reference is silent this class is not: one or two ``GUARDRAIL`` rows, which it drops (FORMAT.md 6,
defect 23), are dropped with a ``UserWarning`` and listed in :attr:`CSVConversion.skipped`.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any, Mapping

from ..compat.instructions import MultiClassifierInstruction, StateMachineInstruction
from ..compat.protocol import Protocol
from ..formats import BAD_PROMPT, GOOD_PROMPT, GUARDRAIL_OUTPUT, RowIssue, read_table
from ..errors import ConversionError, ProtocolError
from ..constants import MIN_GUARDRAIL_SAMPLES, MIN_SAMPLES
from ..authoring import Guardrail, Token, TokenSet
from ..reference_api.io import InstructionInput, StateMachineInput
from ..v1 import ProtocolV1
from ..v2 import ProtocolV2

__all__ = ["CSVConversion", "CSVLine", "MultiCSVLine", "CSVProtocol"]

_INPUT, _OUTPUT, _REFERENCE = "Input", "Output", "Reference"


@dataclass(frozen=True)
class CSVLine:
    """One row of a state-machine CSV: its Input, Output and Reference cells (``GUARDRAIL`` output: a bad prompt)."""

    input_str: str
    output_str: str
    context_str: str

    @property
    def is_guardrail(self) -> bool:
        return self.output_str == GUARDRAIL_OUTPUT


@dataclass(frozen=True)
class MultiCSVLine:
    """One row of a multi-classifier CSV (1.2.8): its Input, one value per label column, its Reference."""

    input_str: str
    outputs: dict[str, str]
    context_str: str


class CSVProtocol(ProtocolV2, ProtocolV1):
    """The protocol ``CSVConversion`` builds: reference 1.2.8's ``ProtocolV2`` and, for scripts and tests of
    0.8.8, its ``ProtocolV1`` (each checks its own); saved as 1.2.8 writes it, bloom 2.0.1."""

    def __init__(self, name: str, state_machine: bool) -> None:
        Protocol.__init__(self, name, 1, False, state_machine=state_machine, version=ProtocolV2.LAYOUT)


class CSVConversion:
    """A CSV table as a protocol, as the reference converts it: ``CSVConversion(df, "faq").to_mtp()``."""

    #: The columns of a state-machine CSV (a multi-classifier's are Input, Reference and its labels).
    REQUIRED_COLUMNS = [_INPUT, _OUTPUT, _REFERENCE]
    #: What every CSV needs (1.2.8): besides these, at least one label column.
    BASE_REQUIRED_COLUMNS = [_INPUT, _REFERENCE]

    def __init__(self, csv_data: Any, protocol_name: str = "CSV Protocol") -> None:
        header, rows, self.csv_data = _table(csv_data)
        _check_columns(header)
        self.output_columns = [c for c in header if c not in self.BASE_REQUIRED_COLUMNS]
        self.multi = self.output_columns != [_OUTPUT]
        at = {name: i for i, name in enumerate(header)}
        self._rows = [(number, cells) for number, cells in rows if cells[at[_INPUT]] is not None]
        self._skipped = [RowIssue(number, "empty Input; the row is not a sample.")
                         for number, cells in rows if cells[at[_INPUT]] is None]
        self.ordered_lines: list[CSVLine] | list[MultiCSVLine] = _lines(self._rows, at, self.output_columns,
                                                                       self.multi)
        self.protocol = CSVProtocol(protocol_name, state_machine=not self.multi)

    @property
    def unique_states(self) -> set[str] | dict[str, list[str]]:
        """A state-machine CSV's states without ``GUARDRAIL`` (a set, as the reference's); a multi-classifier's
        values per label column, in order of first appearance."""
        if self.multi:
            found: dict[str, list[str]] = {column: [] for column in self.output_columns}
            for line in self.ordered_lines:
                for column, value in line.outputs.items():  # type: ignore[union-attr]
                    if value not in found[column]:
                        found[column].append(value)
            return found
        return {line.output_str for line in self.ordered_lines} - {GUARDRAIL_OUTPUT}  # type: ignore[union-attr]

    @property
    def skipped(self) -> list[RowIssue]:
        """Rows that were not used, and why (the header is row 1); the reference drops them without a word."""
        return sorted(self._skipped, key=lambda issue: issue.row)

    def to_mtp(self) -> CSVProtocol:
        """The protocol with its one instruction (added on the first call). An instruction of fewer than three
        samples is a ``ProtocolError``, as the reference's ``add_instruction`` raises it."""
        if not self.protocol.instructions:
            self.protocol.add_instruction(self._instruction())
        return self.protocol

    def _instruction(self) -> StateMachineInstruction | MultiClassifierInstruction:
        input_set = TokenSet(Token(_INPUT))
        instruction: StateMachineInstruction | MultiClassifierInstruction
        if self.multi:
            instruction = MultiClassifierInstruction(InstructionInput([input_set]), self.unique_states)
        else:
            outputs = dict.fromkeys(line.output_str for line in self.ordered_lines)  # type: ignore[union-attr]
            states = [state for state in outputs if state != GUARDRAIL_OUTPUT]
            instruction = StateMachineInstruction(input=StateMachineInput([input_set]), states=states)
        bad: list[tuple[int, str]] = []
        for (number, _), line in zip(self._rows, self.ordered_lines):
            if isinstance(line, CSVLine) and line.is_guardrail:
                bad.append((number, line.input_str))
                continue
            if line.context_str:
                instruction.add_context(line.context_str)
            answer = line.outputs if isinstance(line, MultiCSVLine) else line.output_str
            instruction.add_sample([line.input_str], answer)
        if len(instruction.samples) < MIN_SAMPLES:
            raise ProtocolError(f"Instruction must have at least three samples. Found {len(instruction.samples)} "
                                "samples. Each Output needs rows (a state machine: ten in all to be saved).")
        if len(bad) >= MIN_GUARDRAIL_SAMPLES:
            guardrail = Guardrail(good_prompt=GOOD_PROMPT, bad_prompt=BAD_PROMPT, bad_output=GUARDRAIL_OUTPUT)
            for _, text in bad:
                guardrail.add_sample(text)
            instruction.add_guardrail(guardrail, 0)
        elif bad:
            why = (f"only {len(bad)} {GUARDRAIL_OUTPUT} row(s); a guardrail needs at least {MIN_GUARDRAIL_SAMPLES}, "
                   "so they are not used (as in the reference)")
            warnings.warn(f"CSVConversion: rows {', '.join(str(n) for n, _ in bad)}: {why}.", UserWarning, stacklevel=3)
            self._skipped += [RowIssue(n, why + ".") for n, _ in bad]
        return instruction


def _check_columns(header: list[str]) -> None:
    """The reference's column rules: Input needed, no name twice, at least one label column."""
    if _INPUT not in header:
        raise ConversionError(f"CSV is missing required columns: {_INPUT}.")
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise ConversionError(f"CSV cannot contain duplicate column names: {', '.join(twice)}.")
    if not [name for name in header if name not in CSVConversion.BASE_REQUIRED_COLUMNS]:
        raise ConversionError("CSV must contain at least one output column in addition to Input and Reference.")


def _lines(rows: list[tuple[int, list[str | None]]], at: dict[str, int], columns: list[str],
           multi: bool) -> list[CSVLine] | list[MultiCSVLine]:
    """The rows as the reference's lines: an empty Output (label) cell inherits the previous row's value."""
    previous: dict[str, str | None] = {column: None for column in columns}
    lines: list[Any] = []
    for _, cells in rows:
        outputs = {}
        for column in columns:
            value = cells[at[column]] or previous[column]
            if value is None:
                where = f" in column {column!r}" if multi else ""
                raise ConversionError(f"The first line of the CSV cannot have an empty output{where}.")
            outputs[column] = previous[column] = value
        text, reference = cells[at[_INPUT]] or "", cells[at[_REFERENCE]] if _REFERENCE in at else None
        if multi:
            lines.append(MultiCSVLine(text, outputs, reference or ""))
        else:
            lines.append(CSVLine(text, outputs[_OUTPUT], reference or ""))
    return lines


def _table(data: Any) -> tuple[list[str], list[tuple[int, list[str | None]]], Any]:
    """(header, (row number, cells) per row with None for a missing value, ``csv_data`` as the reference keeps it:
    a DataFrame without its rows that lack Input). Row numbers count the header as row 1."""
    if hasattr(data, "columns") and hasattr(data, "isna") and hasattr(data, "itertuples"):  # a pandas DataFrame
        header = [str(c) for c in data.columns]
        gaps = data.isna()
        cells = [[None if gap else str(value) for value, gap in zip(values, missing)]
                 for values, missing in zip(data.itertuples(index=False, name=None),
                                            gaps.itertuples(index=False, name=None))]
        kept = data[~gaps[_INPUT]].reset_index(drop=True) if header.count(_INPUT) == 1 else data
        return header, list(enumerate(cells, 2)), kept
    if isinstance(data, Mapping):
        header = [str(c) for c in data]
        columns = [list(v) for v in data.values()]
        if len({len(c) for c in columns}) > 1:
            raise ConversionError("csv_data columns have different lengths; give every column one cell per row.")
        rows = [[None if _missing(v) else str(v) for v in row] for row in zip(*columns)]
        return header, list(enumerate(rows, 2)), data
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "read"):
        header, table, _ = read_table(data)
        width = len(header)
        return header, [(n, [c if c != "" else None for c in (row + [""] * width)[:width]]) for n, row in table], data
    raise ConversionError(f"csv_data must be a pandas DataFrame, a CSV path, a text stream or a mapping of column "
                          f"-> cells, got {type(data).__name__}.")


def _missing(value: Any) -> bool:
    """None, or a float NaN (pandas' missing value), in a mapping's cells."""
    return value is None or (isinstance(value, float) and value != value)
