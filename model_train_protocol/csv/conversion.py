"""The reference's import path ``model_train_protocol.csv.conversion`` (compat layer): ``CSVConversion(csv_data, protocol_name).to_mtp()``.

The conversion itself is :func:`model_train_protocol.csv_import.import_csv` (layout
``"reference"``: what reference 1.2.8 builds). ``csv_data`` may be a pandas
DataFrame, as in the reference, without this package needing pandas: anything with
a ``to_csv`` method is written to CSV text first. A path, a text stream or a
``{column: [cells...]}`` mapping works too.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from typing import Any, Mapping

from ..csv_import import CSVImport, RowIssue, import_csv
from ..errors import ConversionError
from ..protocol import Protocol

__all__ = ["CSVConversion", "CSVLine"]


@dataclass(frozen=True)
class CSVLine:
    """One row of a state-machine CSV: its Input, Output and Reference cells (``GUARDRAIL`` output: a bad prompt)."""

    input_str: str
    output_str: str
    context_str: str

    @property
    def is_guardrail(self) -> bool:
        return self.output_str == "GUARDRAIL"


class CSVConversion:
    """A CSV (or DataFrame) as a protocol, checked when created: ``CSVConversion(df, protocol_name="faq").to_mtp()``.

    Rows that could not be used are in :attr:`skipped` (row numbers count the
    header as row 1); the reference drops them without a word.
    """

    #: The columns of a state-machine CSV.
    REQUIRED_COLUMNS = ["Input", "Output", "Reference"]

    def __init__(self, csv_data: Any, protocol_name: str = "CSV Protocol") -> None:
        self.csv_data = csv_data
        self.protocol_name = protocol_name
        self._result: CSVImport = import_csv(_source(csv_data), name=protocol_name)

    @property
    def skipped(self) -> list[RowIssue]:
        return self._result.skipped

    @property
    def protocol(self) -> Protocol:
        """The protocol built (the same object :meth:`to_mtp` returns)."""
        return self._result.protocol

    @property
    def unique_states(self) -> list[str]:
        """The states of a state-machine CSV in first-seen order, without ``GUARDRAIL``."""
        instruction = self.protocol.instructions[0] if self.protocol.instructions else None
        return [s for s in getattr(instruction, "states", ()) if s != "GUARDRAIL"]

    def to_mtp(self) -> Protocol:
        """The protocol: a state machine (Input, Output, Reference) or a multi-classifier (label columns)."""
        return self._result.protocol


def _source(data: Any) -> Any:
    """A path or text stream :func:`import_csv` reads, from what the caller gave."""
    if hasattr(data, "to_csv") and callable(data.to_csv):  # a pandas DataFrame (NaN cells become empty)
        return io.StringIO(data.to_csv(index=False), newline="")
    if isinstance(data, (str, os.PathLike)) or hasattr(data, "read"):
        return data
    if isinstance(data, Mapping):
        columns = [str(c) for c in data]
        cells = [list(v) for v in data.values()]
        if len({len(c) for c in cells}) > 1:
            raise ConversionError("csv_data columns have different lengths; give every column one cell per row.")
        text = io.StringIO(newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        writer.writerows(zip(*cells))
        text.seek(0)
        return text
    raise ConversionError(f"csv_data must be a pandas DataFrame, a CSV path, a text stream or a mapping of column "
                          f"-> cells, got {type(data).__name__}.")
