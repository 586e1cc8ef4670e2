"""The compatibility layer against the reference's later API (0.8-1.2.8): each incompatibility of issue 19.

Every test here failed before the layer existed; the reference's own 0.8.8 suite is run by
tests/test_conformance.py and bench/conformance.py.
"""

from __future__ import annotations

import importlib
import json
import inspect
import subprocess
import sys

import pytest

import model_train_protocol as mtp
from model_train_protocol.authoring import Instruction as CoreInstruction


@pytest.fixture
def lines() -> dict:
    cat, talk, alice = mtp.Token("Cat"), mtp.Token("Talk"), mtp.Token("Alice")
    return {"cat_talk": mtp.TokenSet((cat, talk)), "alice_talk": mtp.TokenSet((alice, talk)),
            "done": mtp.FinalToken("Done")}


def _reference_instruction(lines: dict, samples: int = 3, **extra) -> mtp.Instruction:
    instruction = mtp.Instruction("chat", input=mtp.InstructionInput([lines["cat_talk"], lines["alice_talk"]]),
                                  output=mtp.InstructionOutput(lines["cat_talk"], lines["done"]), **extra)
    for i in range(samples):
        instruction.add_sample([f"c{i}", f"a{i}"], f"r{i}")
    return instruction


def test_the_reference_import_paths_exist() -> None:
    """The 0.8.8 suite stopped at conftest.py: ModuleNotFoundError model_train_protocol.common.constants."""
    constants = importlib.import_module("model_train_protocol.common.constants")
    assert constants.NON_TOKEN is mtp.NON and constants.MINIMUM_TOTAL_CONTEXT_LINES == 10
    assert importlib.import_module("model_train_protocol.errors.protocol").ProtocolError is mtp.ProtocolError
    assert importlib.import_module("model_train_protocol.errors.conversion").ConversionError is mtp.ConversionError
    assert hasattr(importlib.import_module("model_train_protocol.csv.conversion"), "CSVLine")
    assert hasattr(importlib.import_module("model_train_protocol.v1"), "ProtocolFileV1")


def test_a_deep_class_import_leaves_the_class_on_its_package() -> None:
    """Importing ``common.tokens.NumListToken`` (a module) once replaced the package's class by that module."""
    code = ("from model_train_protocol.common.tokens.NumListToken import NumListToken\n"
            "import model_train_protocol.common.tokens as tokens\n"
            "print(tokens.NumListToken('Scores', min_value=0, max_value=9, length=2).length)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"


def test_instruction_input_and_output(lines) -> None:
    instruction = _reference_instruction(lines)
    assert instruction.input.tokensets == [lines["cat_talk"], lines["alice_talk"]]
    snippet = instruction.input.tokensets[0].create_snippet("hello")  # the reference README's own call
    assert snippet.tokenset is lines["cat_talk"]
    assert instruction.output.tokenset is lines["cat_talk"] and instruction.output.final == [lines["done"]]
    guardrail = mtp.Guardrail("on topic", "off topic", "What?")
    for text in ("sing", "dance", "jump"):
        guardrail.add_sample(text)
    instruction.add_guardrail(guardrail, 1)
    assert instruction.input.guardrails == {1: guardrail}


def test_context_is_the_background_lines_for_the_later_api(lines) -> None:
    instruction = _reference_instruction(lines, context=["Alice meets the Cat."])
    assert instruction.context == ["Alice meets the Cat."]
    assert instruction.tokensets == (lines["cat_talk"], lines["alice_talk"])
    seed = mtp.Instruction(context=[lines["cat_talk"]], response=lines["cat_talk"], final=lines["done"], name="s")
    assert seed.context == (lines["cat_talk"],)  # the seed API keeps its meaning


def test_tokens_and_token_sets_compare_by_value() -> None:
    assert mtp.NumToken("Count", min_value=1, max_value=10) == mtp.NumToken("Count", min_value=1, max_value=10)
    assert hash(mtp.Token("Cat")) == hash(mtp.Token("Cat"))
    assert mtp.NumToken("Count", min_value=1, max_value=10) != mtp.NumToken("Count", min_value=1, max_value=5)
    assert mtp.Token("Count") != mtp.NumToken("Count", min_value=1, max_value=10)
    cat, talk = mtp.Token("Cat"), mtp.Token("Talk")
    assert mtp.TokenSet((cat, talk)) == mtp.TokenSet((cat, talk)) != mtp.TokenSet((talk, cat))
    assert mtp.TokenSet((cat, talk)).key == "Cat_Talk_"


def test_add_instruction_needs_three_samples_for_a_reference_instruction(lines) -> None:
    protocol = mtp.Protocol("p", inputs=2, encrypt=False)
    with pytest.raises(mtp.InstructionError, match="at least three samples"):
        protocol.add_instruction(_reference_instruction(lines, samples=2))
    protocol.add_instruction(_reference_instruction(lines, samples=3))


def test_a_second_state_machine_is_a_state_machine_error() -> None:
    sets = [mtp.TokenSet(mtp.Token("Previous")), mtp.TokenSet(mtp.Token("Event"))]
    protocol = mtp.Protocol("sm", inputs=2)
    protocol.add_instruction(mtp.StateMachineInstruction(input=mtp.StateMachineInput(sets), states=["Idle"]))
    with pytest.raises(mtp.StateMachineError):
        protocol.add_instruction(mtp.StateMachineInstruction(input=mtp.StateMachineInput(sets), states=["Idle"]))


def test_public_helpers_of_the_later_api(lines) -> None:
    count = mtp.NumToken("Count", min_value=1, max_value=10)
    assert (count.num, mtp.Token("Cat").num) == (1, 0)
    assert mtp.NumListToken("Scores", min_value=0, max_value=9, length=4).num_list == 4
    assert count.template_representation == "<num_1_10>"
    assert mtp.Token("Cat", desc="a cat").to_dict() == {
        "value": "Cat_", "key": None, "num": 0, "num_list": 0, "desc": "a cat", "special": None, "type": "Token",
        "min_value": None, "max_value": None, "length": None}
    assert mtp.BOS.to_dict()["special"] == "start"
    instruction = _reference_instruction(lines)
    sample = instruction.samples[0].to_dict()
    assert sample == {"strings": ["c0", "a0", "r0"], "prompt": None, "numbers": [[], [], []],
                      "number_lists": [[], [], []], "result": "Done_", "value": None}
    as_dict = instruction.to_dict()
    assert as_dict["result"] == lines["done"].to_dict() and len(as_dict["tokens"]) == 3
    guardrail = mtp.Guardrail("good", "bad", "No.")
    with pytest.raises(mtp.GuardrailError, match="At least 3 sample prompts are required"):
        guardrail.format_samples()
    for text in ("x", "y", "z"):
        guardrail.add_sample(text)
    assert guardrail.format_samples() == ["No.", "<bad>", "<good>", ["x", "y", "z"]]
    protocol = mtp.Protocol("p", inputs=2, encrypt=False)
    protocol.add_instruction(instruction)
    assert protocol.input_count == 2 and lines["done"] in protocol.tokens and mtp.BOS not in protocol.tokens
    sm = mtp.StateMachineInstruction(input=mtp.StateMachineInput([lines["cat_talk"]]), states=["A", "B"])
    assert sm.get_states() == [] and sm.states == ("A", "B")  # the reference's: the states its samples answer
    sm.add_sample(["b"], "B")
    sm.add_sample(["a"], "A")
    assert sm.get_states() == ["B", "A"]


def test_loaded_objects_are_instances_of_the_facade_classes(lines, tmp_path) -> None:
    protocol = mtp.Protocol("p", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Line {i}.")
    protocol.add_instruction(_reference_instruction(lines))
    loaded = mtp.Protocol.load(protocol.save(path=tmp_path))
    assert isinstance(loaded, mtp.Protocol) and isinstance(loaded.instructions[0], mtp.Instruction)
    assert not isinstance(loaded.instructions[0], mtp.ExtendedInstruction)


def test_the_core_classes_have_one_typed_signature() -> None:
    """The call-style guessing lives in the compatibility layer, not in the core classes."""
    parameters = list(inspect.signature(CoreInstruction.__init__).parameters)
    assert parameters == ["self", "context", "response", "final", "name"]
    with pytest.raises(TypeError):
        CoreInstruction(name="x", input=None, output=None)  # type: ignore[call-arg]


@pytest.mark.parametrize("name", ["v0.8.8/tiny_model.json", "v0.8.8/sm_model.json", "v1.2.8/tiny_model.json",
                                  "v1.2.8/tiny_encrypted_model.json", "v1.2.8/extended_only_model.json",
                                  "v1.2.8/sm_model.json", "v1.2.8/mc_model.json", "v1.2.8/numeric_model.json"])
def test_a_reference_file_loads_and_saves_in_its_layout_adding_nothing(name: str, shared_dir) -> None:
    """A guarded line's token becomes a UserToken on loading (our model needs one), but is not written as one."""
    document = json.loads((shared_dir / "generated" / name).read_text(encoding="utf-8"))
    layout = document["$schema"].rsplit("bloom_", 1)[1].removesuffix(".json").replace("_", ".")
    assert mtp.Protocol.from_json(document).to_json(layout) == document
