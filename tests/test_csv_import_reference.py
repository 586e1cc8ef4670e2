"""CSV import as reference 1.2.8 does it (the default layout): a state machine or a multi-classifier.

The reference's own conversion of shared/reference/data/generated/v0.6.1/data.csv
(``csvdemo``, README section 2) is the fixture; the classifier layout is
tested in test_csv_import.py.
"""

from __future__ import annotations

import ast
import io
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.formats import CSVImportError, import_csv
from model_train_protocol.authoring import sample_labels

EXTRA = [f"Extra protocol context {i}." for i in range(4)]


def csv_text(*rows: str) -> io.StringIO:
    return io.StringIO("\n".join(rows) + "\n", newline="")


def _desc_states(token_info: dict) -> list[str]:
    """The list in a State_ token's desc ("The responses that are acceptable: [...].")."""
    return ast.literal_eval(token_info["desc"].split(": ", 1)[1].rstrip("."))


def test_input_output_reference_becomes_the_reference_state_machine(data_dir: Path) -> None:
    result = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA)
    assert (result.kind, result.samples, result.guardrail_samples, result.skipped) == ("state_machine", 10, 3, [])
    assert result.states == {"Output": ["Password", "Pricing", "Location"]}  # order of first appearance
    protocol = result.protocol
    assert (protocol.inputs, protocol.encrypt, protocol.version, protocol.model_type) == (1, False, "2.0.1",
                                                                                          "state_machine")
    (machine,) = protocol.instructions
    assert isinstance(machine, mtp.StateMachineInstruction)
    assert [s.output for s in machine.samples] == ["Password"] * 3 + ["Pricing"] * 3 + ["Location"] * 4
    assert len(machine.background) == 7
    assert [i for i, _ in mtp.authoring.instruction_guardrails(machine, protocol.guardrail_map())] == [0]
    assert protocol.validate() == []


def test_same_training_data_as_the_reference_csvdemo(data_dir: Path, shared_dir: Path) -> None:
    """Reference 0.6.1 wrote bloom 1.2.0 without set names (we write them, as 0.8.x does in that layout); its
    State_ desc lists the states in hash-set order (FORMAT.md 6, defect 2), ours in order of first appearance."""
    ours = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA, version="1.2.0").protocol.to_json()
    theirs = json.loads((shared_dir / "generated/v0.6.1/csvdemo_model.json").read_text(encoding="utf-8"))
    assert list(ours) == list(theirs)
    for field in ("$schema", "name", "inputs", "state_machine", "encrypted", "valid", "context", "special_tokens"):
        assert ours[field] == theirs[field], field
    assert ours["tokens"].keys() == theirs["tokens"].keys()
    for value, info in ours["tokens"].items():
        if value == "State_":
            assert sorted(_desc_states(info)) == sorted(_desc_states(theirs["tokens"][value]))
            info = {k: v for k, v in info.items() if k != "desc"}
            assert info == {k: v for k, v in theirs["tokens"][value].items() if k != "desc"}
        else:
            assert info == theirs["tokens"][value], value
    (mine,), (reference,) = ours["instruction"]["sets"], theirs["instruction"]["sets"]
    assert mine["name"] == "StateMachineInstruction"
    assert {k: v for k, v in mine.items() if k != "name"} == reference


def test_state_machine_file_says_state_machine(data_dir: Path) -> None:
    ours = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA, version="1.2.0").protocol.to_json()
    assert ours["state_machine"] is True
    again = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA).protocol.to_json()
    assert again["model_type"] == "state_machine" and again["$schema"].endswith("bloom_2_0_1.json")


def test_label_columns_become_a_multi_classifier_with_inherited_cells() -> None:
    result = import_csv(csv_text(
        "Input,Emotion,Intent,Reference",
        "Is it sunny?,happy,question,Weather talk.",
        "I lost my keys.,sad,statement,",
        "What a lovely day.,happy,,Weather talk.",   # Intent inherits 'statement'
        "Why did it break?,sad,question,",
        ",happy,question,",                          # no Input: reported, not a sample
    ), name="mc", context=[f"Line {i}." for i in range(10)])
    assert result.kind == "multi_classifier" and result.samples == 4
    assert result.states == {"Emotion": ["happy", "sad"], "Intent": ["question", "statement"]}
    assert [str(i) for i in result.skipped] == ["row 6: empty Input; the row is not a sample."]
    (classifier,) = result.protocol.instructions
    assert isinstance(classifier, mtp.MultiClassifierInstruction)
    assert classifier.background == ["Weather talk."]
    assert classifier.samples[2].output == "{'Emotion': 'happy', 'Intent': 'statement'}"
    assert result.protocol.validate() == []


def test_one_or_two_guardrail_rows_are_an_error_not_dropped() -> None:
    """Reference 0.5.5+ drops them silently (FORMAT.md 6, defect 23)."""
    rows = [f"question {i},Billing," for i in range(10)]
    with pytest.raises(CSVImportError, match=r"row\(s\) 12, 13: only 2 GUARDRAIL row\(s\).*at least 3"):
        import_csv(csv_text("Input,Output,Reference", *rows, "sing,GUARDRAIL,", "dance,GUARDRAIL,"), name="t")


def test_a_guardrail_rows_reference_is_not_context() -> None:
    """1.2.8 takes the Reference of sample rows only: a GUARDRAIL row's describes what is refused."""
    rows = [f"question {i},Billing,About billing {i % 2}." for i in range(10)]
    bad = [f"off topic {w},GUARDRAIL,Not our business {w}." for w in "abc"]
    result = import_csv(csv_text("Input,Output,Reference", *rows[:5], *bad, *rows[5:]), name="t")
    (machine,) = result.protocol.instructions
    assert machine.background == ["About billing 0.", "About billing 1."]
    assert result.guardrail_samples == 3


def test_references_are_used_once_and_only_from_sample_rows() -> None:
    """Duplicates are skipped (1.2.8's add_context keeps a line once), in order of first use; the Reference of a
    row without Input is not used (pandas drops the row), and references differing in spaces are different."""
    rows = ["q1,Billing,Same.", "q2,Billing,Other.", ",Billing,Of a row without Input.", "q3,Billing,Same.",
            "q4,Billing, Same.", "q5,Billing,Other."]
    result = import_csv(csv_text("Input,Output,Reference", *rows), name="t")
    assert result.protocol.instructions[0].background == ["Same.", "Other.", " Same."]
    assert [(i.row, i.reason) for i in result.skipped] == [(4, "empty Input; the row is not a sample.")]


def test_cells_are_taken_as_written() -> None:
    """1.2.8 reads the CSV with pandas, which strips no cell: spaces stay in Inputs, states and references."""
    rows = [f" question {i} ,{' Billing' if i % 2 else 'Billing'},  Padded reference. " for i in range(10)]
    result = import_csv(csv_text("Input,Output,Reference", *rows), name="t")
    (machine,) = result.protocol.instructions
    assert machine.samples[0].inputs[0].string == " question 0 "
    assert machine.states == ("Billing", " Billing") and result.states == {"Output": ["Billing", " Billing"]}
    assert machine.background == ["  Padded reference. "]


def test_guardrail_rows_may_hold_digits_from_bloom_1_on() -> None:
    rows = [f"question {i},Billing," for i in range(10)] + [f"what is {n} plus {n},GUARDRAIL," for n in range(3)]
    result = import_csv(csv_text("Input,Output,Reference", *rows), name="t", context=[f"c{i}" for i in range(10)])
    assert result.guardrail_samples == 3 and result.protocol.validate() == []


@pytest.mark.parametrize(("header", "says"), [
    ("Input,Output,output", "appears twice"),
    ("Input,Reference", "needs an Output column"),
    ("Question,Output", "needs an Input column"),
])
def test_bad_columns_raise(header: str, says: str) -> None:
    with pytest.raises(CSVImportError, match=says):
        import_csv(csv_text(header, "a,b,c"), name="t")
    assert issubclass(CSVImportError, mtp.ConversionError)


def test_a_multi_classifier_has_no_guardrail_and_needs_bloom_2() -> None:
    with pytest.raises(CSVImportError, match="multi-classifier has no guardrail"):
        import_csv(csv_text("Input,Emotion,Intent", "a,happy,question", "b,GUARDRAIL,statement"), name="t")
    with pytest.raises(CSVImportError, match="bloom 1.2.1 cannot hold"):
        import_csv(csv_text("Input,Emotion,Intent", "a,happy,question"), name="t", version="1.2.1")


def test_target_0_3_2_and_layout_classifier_give_the_classifier(data_dir: Path) -> None:
    for options in ({"version": "0.3.2"}, {"layout": "classifier"}):
        result = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA, **options)
        assert result.kind == "classifier" and isinstance(result.protocol.instructions[0], mtp.Instruction)
        assert result.protocol.to_json()["$schema"].endswith("bloom_0_3_2.json")
    with pytest.raises(CSVImportError, match="layout 'table'"):
        import_csv(data_dir / "csv" / "data.csv", layout="table")


def test_csv_conversion_takes_a_dataframe_as_the_reference(data_dir: Path) -> None:
    pandas = pytest.importorskip("pandas")
    from model_train_protocol.csv import CSVConversion

    frame = pandas.read_csv(data_dir / "csv" / "data.csv")  # empty cells are NaN
    protocol = CSVConversion(csv_data=frame, protocol_name="csvdemo").to_mtp()
    for line in EXTRA:  # as the reference's csvdemo run did
        protocol.add_context(line)
    expected = import_csv(data_dir / "csv" / "data.csv", name="csvdemo", context=EXTRA).protocol
    assert protocol.validate() == []
    assert json.dumps(protocol.to_json()) == json.dumps(expected.to_json())
    assert CSVConversion(frame).to_mtp().name == "CSV Protocol"


def test_csv_conversion_without_pandas_takes_columns_or_a_path(data_dir: Path) -> None:
    from model_train_protocol.csv import CSVConversion

    columns = {"Input": ["a", "b", "c"], "Emotion": ["happy", "sad", ""], "Intent": ["question", "", "statement"]}
    conversion = CSVConversion(columns, protocol_name="mc")
    assert conversion.to_mtp().instructions[0].state_map == {"Emotion": ("happy", "sad"),
                                                             "Intent": ("question", "statement")}
    assert CSVConversion(data_dir / "csv" / "data.csv").to_mtp().model_type == "state_machine"
    with pytest.raises(mtp.ConversionError, match="different lengths"):
        CSVConversion({"Input": ["a"], "Output": []})
    with pytest.raises(mtp.ConversionError, match="csv_data must be"):
        CSVConversion(42)


_words = st.sampled_from(["a", "b", "c"])
_rows = st.lists(st.tuples(st.text(alphabet="xyz ", min_size=1, max_size=5).filter(str.strip),
                           st.one_of(st.just(""), _words), st.one_of(st.just(""), _words)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(_rows.filter(lambda rows: rows[0][1] and rows[0][2]))
def test_cells_inherit_per_column_for_any_rows(table: list[tuple[str, str, str]]) -> None:
    """Property: every sample carries, per label column, the last non-empty cell at or above its row."""
    result = import_csv(csv_text("Input,Emotion,Intent", *(",".join(row) for row in table)), name="t")
    expected, last = [], {"Emotion": "", "Intent": ""}
    for text, emotion, intent in table:
        last = {"Emotion": emotion or last["Emotion"], "Intent": intent or last["Intent"]}
        expected.append((text, dict(last)))  # cells as written: 1.2.8 (pandas) strips nothing
    (classifier,) = result.protocol.instructions
    assert [(s.inputs[0].string, sample_labels(s)) for s in classifier.samples] == expected
    assert result.states == {label: list(dict.fromkeys(v[label] for _, v in expected)) for label in ("Emotion", "Intent")}
