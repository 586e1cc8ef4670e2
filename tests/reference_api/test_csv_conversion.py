"""``model_train_protocol.csv.conversion.CSVConversion`` as reference 0.8.8 and 1.2.8 have it.

The table is read when the object is made (``csv_data``, ``ordered_lines``, ``unique_states``, an empty
``protocol``); ``to_mtp()`` adds the instruction. What the reference does silently (one or two GUARDRAIL rows
dropped) is done here with a warning and listed in ``skipped``.
"""

from __future__ import annotations

import pytest

import model_train_protocol as mtp
from model_train_protocol.csv.conversion import CSVConversion, CSVLine
from model_train_protocol.v1 import ProtocolV1
from model_train_protocol.v2 import ProtocolV2


def _columns(n: int = 10, guardrails: int = 0) -> dict[str, list[str]]:
    inputs = [f"question {i}" for i in range(n)] + [f"off topic {i}" for i in range(guardrails)]
    outputs = [f"state{i % 3}" for i in range(n)] + ["GUARDRAIL"] * guardrails
    references = [f"Reference {i}." for i in range(n)] + [f"Refused {i}." for i in range(guardrails)]
    return {"Input": inputs, "Output": outputs, "Reference": references}


def test_the_table_is_read_when_made_and_the_instruction_added_by_to_mtp() -> None:
    conversion = CSVConversion(_columns(guardrails=3), "faq")
    assert [line.output_str for line in conversion.ordered_lines[-4:]] == ["state0"] + ["GUARDRAIL"] * 3
    assert conversion.unique_states == {"state0", "state1", "state2"}
    assert conversion.protocol.state_machine and not conversion.protocol.instructions
    assert conversion.protocol.input_count == 1 and conversion.protocol.encrypt is False
    protocol = conversion.to_mtp()
    assert protocol is conversion.protocol is conversion.to_mtp()  # added once
    assert isinstance(protocol, ProtocolV1) and isinstance(protocol, ProtocolV2)  # 0.8.8's and 1.2.8's class
    (instruction,) = protocol.instructions
    assert isinstance(instruction, mtp.StateMachineInstruction) and instruction.name == "StateMachineInstruction"
    assert instruction.get_states() == ["state0", "state1", "state2", "GUARDRAIL"]
    assert instruction.context == [f"Reference {i}." for i in range(10)]  # a GUARDRAIL row's is not used
    assert [s.input[0] for s in instruction.samples][:2] == ["question 0", "question 1"]
    assert instruction.has_guardrails and instruction.get_guardrails()[0].samples == [f"off topic {i}" for i in range(3)]
    assert protocol.validate() == []


def test_one_or_two_guardrail_rows_are_dropped_with_a_warning() -> None:
    conversion = CSVConversion(_columns(guardrails=2))
    with pytest.warns(UserWarning, match="rows 12, 13: only 2 GUARDRAIL"):
        instruction = conversion.to_mtp().instructions[0]
    assert not instruction.has_guardrails and instruction.get_states() == ["state0", "state1", "state2"]
    assert [issue.row for issue in conversion.skipped] == [12, 13]


def test_fewer_than_three_samples_is_the_references_protocol_error() -> None:
    for columns in ({"Input": [], "Output": [], "Reference": []}, _columns(n=2),
                    {"Input": ["a", "b", "c"], "Output": ["GUARDRAIL"] * 3, "Reference": ["", "", ""]}):
        with pytest.raises(mtp.ProtocolError, match="Instruction must have at least three samples"):
            CSVConversion(columns).to_mtp()


def test_an_empty_first_output_is_a_conversion_error_and_later_ones_inherit() -> None:
    with pytest.raises(mtp.ConversionError, match="The first line of the CSV cannot have an empty output"):
        CSVConversion({"Input": ["a", "b"], "Output": ["", "x"], "Reference": ["", ""]})
    lines = CSVConversion({"Input": ["a", "b", "c"], "Output": ["x", "", "y"], "Reference": ["r", None, ""]}).ordered_lines
    assert lines == [CSVLine("a", "x", "r"), CSVLine("b", "x", ""), CSVLine("c", "y", "")]


def test_a_dataframe_drops_rows_without_input_but_keeps_an_empty_one() -> None:
    pd = pytest.importorskip("pandas")
    data = pd.DataFrame({"Input": ["Valid input", "", pd.NA, "Another valid"],
                         "Output": ["state1", "state2", "state3", "state4"],
                         "Reference": ["ref1", "ref2", "ref3", pd.NA]})
    conversion = CSVConversion(data)
    assert list(conversion.csv_data["Input"]) == ["Valid input", "", "Another valid"]
    assert [line.input_str for line in conversion.ordered_lines] == ["Valid input", "", "Another valid"]
    instruction = conversion.to_mtp().instructions[0]
    assert [s.input[0] for s in instruction.samples] == ["Valid input", "", "Another valid"]
    assert instruction.context == ["ref1", "ref2"] and [i.row for i in conversion.skipped] == [4]


def test_label_columns_make_a_multi_classifier() -> None:
    columns = {"Input": ["a", "b", "c"], "Reference": ["", "", ""], "Emotion": ["happy", "sad", ""],
               "Intent": ["question", "", "statement"]}
    conversion = CSVConversion(columns)
    assert conversion.unique_states == {"Emotion": ["happy", "sad"], "Intent": ["question", "statement"]}
    protocol = conversion.to_mtp()
    assert protocol.model_type == "multi_classifier" and not protocol.state_machine
    assert [s.output for s in protocol.instructions[0].samples][2] == "{'Emotion': 'sad', 'Intent': 'statement'}"
