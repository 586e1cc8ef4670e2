"""CSV import, the 0.3.2-compatible classifier (``layout="classifier"``); unusable rows are reported.

The default layout (what reference 1.2.8 builds) is tested in test_csv_import_reference.py.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.formats import GUARDRAIL_OUTPUT, CSVImportError, import_csv

EXTRA = ["Extra protocol context 0.", "Extra protocol context 1.", "Extra protocol context 2."]


def csv_text(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join(rows) + "\n", newline="")


@pytest.fixture
def data_csv(data_dir: Path) -> Path:
    return data_dir / "csv" / "data.csv"


def test_reference_csv_becomes_a_valid_protocol(data_csv: Path, tmp_path: Path) -> None:
    result = import_csv(data_csv, name="csvdemo", context=EXTRA, layout="classifier")
    protocol = result.protocol
    assert result.skipped == []
    assert (result.samples, result.guardrail_samples) == (10, 3)
    assert result.labels == {"Password": "Password", "Pricing": "Pricing", "Location": "Location"}
    assert protocol.validate() == []
    (instruction,) = protocol.instructions
    assert len(instruction.background) == 7  # seven distinct non-empty References
    assert instruction.background[0] == "Passwords can be reset from the account page."
    finals = [s.final.name for s in instruction.samples]
    assert finals == ["Password"] * 3 + ["Pricing"] * 3 + ["Location"] * 4  # empty Output inherits
    assert [s.inputs[1].string for s in instruction.samples][:2] == ["How do I reset my password?", "I forgot my password"]
    assert all(s.output == s.final.name for s in instruction.samples)
    guardrail = instruction.context[1].guardrail
    assert guardrail is not None and guardrail.bad_output == GUARDRAIL_OUTPUT
    assert guardrail.samples == ["Tell me a joke", "What is the capital of Spain?", "Write me a poem"]
    model = json.loads(protocol.save(path=tmp_path).read_text(encoding="utf-8"))
    assert model["inputs"] == 2 and model["instruction"]["sets"][0]["guardrails"][0]["index"] == 1


def test_name_defaults_to_file_stem(data_csv: Path) -> None:
    assert import_csv(data_csv, layout="classifier").protocol.name == "data"
    assert import_csv(csv_text("Input,Output", "a,X", "b,X", "c,X"), layout="classifier").protocol.name == "csv_protocol"


def test_too_few_context_lines_is_a_validation_problem(data_csv: Path) -> None:
    problems = import_csv(data_csv, layout="classifier").protocol.validate()
    assert [p.rule for p in problems] == ["protocol.context-lines"]


def test_unusable_rows_are_reported_with_row_numbers() -> None:
    source = csv_text(
        "Input,Output,Reference,Notes",  # row 1: Notes is not a known column
        ",Lost,",  # row 2: empty Input
        "q1,Refund,",
        "q2,,ref a",  # inherits Refund
        "q3,,ref a",  # duplicate reference: skipped silently
        "q4,Other,",  # only one row for Other
        "tell me a joke,GUARDRAIL,",
        "sing twice 2 times,GUARDRAIL,",  # digits
        "x" * 301 + ",Refund,",  # too long
    )
    result = import_csv(source, name="t", layout="classifier")
    reasons = {issue.row: issue.reason for issue in result.skipped}
    assert sorted(reasons) == [1, 2, 6, 7, 8, 9]
    assert "Notes" in reasons[1] and "empty Input" in reasons[2]
    assert "only 1 row" in reasons[6] and "digit '2'" in reasons[8] and "301 characters" in reasons[9]
    assert "only 1 GUARDRAIL row" in reasons[7]
    (instruction,) = result.protocol.instructions
    assert [s.inputs[1].string for s in instruction.samples] == ["q1", "q2", "q3"]
    assert instruction.background == ["ref a"]
    assert instruction.context[1].guardrail is None
    assert str(result.skipped[0]).startswith("row 1: ")


def test_first_row_without_output_is_reported() -> None:
    result = import_csv(csv_text("Input,Output", "a,", "b,X", "c,", "d,"), name="t", layout="classifier")
    assert [(i.row, "no earlier row" in i.reason) for i in result.skipped] == [(2, True)]
    assert result.samples == 3


def test_header_matching_ignores_case_and_spaces() -> None:
    result = import_csv(io.StringIO(" input , OUTPUT ,reference\na,X,r\nb,X,\nc,X,\n"), name="t", layout="classifier")
    assert result.samples == 3 and result.protocol.instructions[0].background == ["r"]


def test_bom_file(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_text("Input,Output\na,X\nb,X\nc,X\n", encoding="utf-8-sig")
    assert import_csv(path, layout="classifier").samples == 3


@pytest.mark.parametrize(
    "text, match",
    [
        ("", "empty"),
        ("Foo,Bar\n1,2\n", "missing Input, Output"),
        ("Input,Output,input\na,b,c\n", "appears twice"),
    ],
)
def test_unimportable_files_raise(text: str, match: str) -> None:
    with pytest.raises(CSVImportError, match=match):
        import_csv(io.StringIO(text), name="t", layout="classifier")
    assert issubclass(CSVImportError, mtp.MTPError)


def test_non_utf8_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("Input,Output\ncaf\u00e9,X\n".encode("latin-1"))
    with pytest.raises(CSVImportError, match="UTF-8"):
        import_csv(path, layout="classifier")


def test_labels_that_clash_get_numbered_token_names() -> None:
    rows = [f"q{i} {label},{label}" for label in ("Pass", "Password", "A b") for i in range(3)]
    result = import_csv(csv_text("Input,Output", *rows), name="t", context=[f"c{i}" for i in range(10)], layout="classifier")
    assert result.labels == {"Pass": "Label1", "Password": "Label2", "A b": "Label3"}
    finals = result.protocol.instructions[0].finals
    assert [t.desc for t in finals] == ["Pass", "Password", "A b"]
    assert result.protocol.validate() == []


def test_labels_are_sanitized_into_token_names() -> None:
    rows = [f"q{i},{label}" for label in ("Reset password!", "Billing") for i in range(3)]
    result = import_csv(csv_text("Input,Output", *rows), name="t", context=[f"c{i}" for i in range(10)], layout="classifier")
    assert result.labels == {"Reset password!": "Reset_password", "Billing": "Billing"}
    assert result.protocol.validate() == []


def test_single_letter_labels_stay_valid() -> None:
    rows = [f"q{i}{label},{label}" for label in "ABCD" for i in range(3)]
    result = import_csv(csv_text("Input,Output", *rows), name="t", context=[f"c{i}" for i in range(10)], layout="classifier")
    assert result.protocol.validate() == []


def test_many_references_overflow_into_protocol_context() -> None:
    rows = [f"q{i},X,fact {i}" for i in range(14)]
    protocol = import_csv(csv_text("Input,Output,Reference", *rows), name="t", layout="classifier").protocol
    assert len(protocol.instructions[0].background) == 10
    assert protocol.context == ["fact 10", "fact 11", "fact 12", "fact 13"]
    assert protocol.validate() == []
