"""State machines and multi-classifiers in files: every layout that holds them, every reference file of every version.

The reference writes a few things at random (FORMAT.md 6: set order, template
output order and ``states`` up to 0.8.8, example numbers), and our writer fixes
its defects on purpose; the comparisons below name each such difference where
they allow it.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from conftest import SHARED
from core_helpers import assert_schema_valid, mc_protocol, npc_protocol, sm_protocol
from model_train_protocol.jsonio import dumps
from model_train_protocol.formats import file_version
from model_train_protocol.rules import WRITABLE_VERSIONS, layouts_holding, rules_of, template_names
from model_train_protocol.runtime import format_labels, read_labels
from reader_helpers import CHOICE, REFERENCE, read

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
SM_LAYOUTS = ("1.1.0", "1.2.0", "1.2.1", "2.0.0", "2.0.1")
MC_LAYOUTS = ("2.0.0", "2.0.1")


def reload(protocol: mtp.Protocol, version: str) -> mtp.Protocol:
    return mtp.Protocol.from_json(json.loads(dumps(protocol.to_json(version))))


# --- layouts ---------------------------------------------------------------------------------------------------

def test_the_layouts_that_hold_each_model_type():
    assert layouts_holding("state_machine") == list(SM_LAYOUTS)
    assert layouts_holding("multi_classifier") == list(MC_LAYOUTS)
    assert layouts_holding("generative") == list(WRITABLE_VERSIONS)


def test_the_default_layout_depends_on_the_model_type():
    """0.3.2 stays the default of generative protocols (the contract); 0.3.2 cannot hold the others."""
    assert sm_protocol().to_json()["$schema"].endswith("/v2/bloom_2_0_1.json")
    assert mc_protocol().template_json()["$schema"].endswith("/v2/template_2_1_0.json")
    assert sm_protocol().validate() == sm_protocol().validate("2.0.1") == []


@pytest.mark.parametrize("version, marker", [("1.1.0", None), ("1.2.0", ("state_machine", True)),
                                             ("1.2.1", ("state_machine", True)),
                                             ("2.0.0", ("model_type", "state_machine")),
                                             ("2.0.1", ("model_type", "state_machine"))])
def test_state_machine_markers(version, marker):
    doc = sm_protocol().to_json(version)
    assert not {"state_machine", "model_type"} & set(doc) - ({marker[0]} if marker else set())
    if marker:
        assert doc[marker[0]] == marker[1]
        assert list(doc)[3] == marker[0]  # right after inputs, as the reference
    assert ("name" in doc["instruction"]["sets"][0]) == (version != "1.1.0")
    assert doc["instruction"]["sets"][0]["set"][-1] == ["State_"]
    assert {s["result"] for s in doc["instruction"]["sets"][0]["samples"]} == {"<NON>"}


@pytest.mark.parametrize("version", SM_LAYOUTS)
def test_state_machine_files_equal_the_reference_files(version):
    """Field for field the reference's sm files (our Event is a UserToken: guardrails need one)."""
    rel = {"1.1.0": "v0.5.6/sm_model.json", "1.2.0": "v0.8.8/sm_model.json"}.get(version, "v1.2.8/sm_model.json")
    ours, theirs = sm_protocol().to_json(version), read(rel)
    assert ours["tokens"]["Event_"].pop("user") is True
    for doc in (ours, theirs):
        doc.pop("$schema")
        doc.pop("model_type", None)
        doc.pop("state_machine", None)
        for s in doc["instruction"]["sets"]:
            s.pop("name", None)
    assert ours == theirs


def test_multi_classifier_file_equals_the_reference_file():
    assert mc_protocol().to_json("2.0.1") == read("v1.2.8/mc_model.json")


@pytest.mark.parametrize("version", ["1.2.0", "2.0.1"])
def test_state_machine_templates(version):
    template = sm_protocol().template_json(version)
    assert template["instructions"]["StateMachineInstruction"] == {
        "type": "state_machine",
        "input": ["<BOS>\n", "Previous_\n<string>\n", "Event_\n<string>\n", "State_\n", "<RUN>"],
        "output": ["<string>\n<NON>\n<EOS>", "<string>\n<NON>_<UNK>_\n<EOS>"],
    }
    assert template["states"] == ["Idle", "Running", "Stopped", "GUARDRAIL"]  # declared order, GUARDRAIL last
    assert template["tokens"]["output"] == {"<NON>": "<NON>", "<NON>_<UNK>_": "<NON>_<UNK>_"}
    assert template["example_usage"] == {
        "instruction_input": "<BOS>\nPrevious_\nIdle\nEvent_\nstart\nState_\n<RUN>\n",
        "valid_model_output": "Running\n<NON>\n<EOS>",
        "guardrail_model_output": "Idle\n<NON>_<UNK>_\n<EOS>",
    }
    if version == "1.2.0":
        assert template["state_machine"] is True and "model_type" not in template
    else:
        assert template["model_type"] == "state_machine" and "state_machine" not in template


def test_an_unguarded_state_machine_lists_no_guardrail_state():
    template = sm_protocol(guarded=False).template_json()
    assert template["states"] == ["Idle", "Running", "Stopped"]
    assert template["tokens"]["output"] == {"<NON>": "<NON>"}
    assert template["instructions"]["StateMachineInstruction"]["output"] == ["<string>\n<NON>\n<EOS>"]
    assert template["example_usage"]["guardrail_model_output"] == ""


def test_multi_classifier_templates():
    template = mc_protocol().template_json("2.0.0")
    assert template["$schema"].endswith("/v2/template_2_1_0.json")  # as 1.2.8 with version="2.0.0"
    assert template["states"] == {"emotion": ["happy", "sad"], "intent": ["question", "statement"]}
    assert template["instructions"]["MultiClassifierInstruction"]["type"] == "multi_classification_machine"
    assert template["example_usage"]["valid_model_output"] == "{'emotion': 'happy', 'intent': 'question'}\n<NON>\n<EOS>"


def test_states_follow_the_declared_order_not_the_samples():
    protocol = mtp.Protocol("order", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    line = mtp.TokenSet(mtp.Token("Said"))
    machine = mtp.StateMachineInstruction(context=[line], states=["Zeta", "Alpha", "Mid"])
    for i in range(10):
        machine.add_sample([f"s{i}"], ["Mid", "Alpha", "Zeta"][i % 3])
    protocol.add_instruction(machine)
    assert protocol.template_json()["states"] == ["Zeta", "Alpha", "Mid"]
    again = reload(protocol, "2.0.1")
    assert again.instructions[0].states == ("Zeta", "Alpha", "Mid")
    assert dumps(again.template_json()) == dumps(protocol.template_json())


def test_every_layout_is_schema_valid_ours_and_the_reference():
    for build, layouts in ((sm_protocol, SM_LAYOUTS), (lambda: sm_protocol(True, False), SM_LAYOUTS),
                           (npc_protocol, SM_LAYOUTS), (mc_protocol, MC_LAYOUTS)):
        protocol = build()
        for version in layouts:
            assert_schema_valid(json.loads(dumps(protocol.to_json(version))))
            assert_schema_valid(json.loads(dumps(protocol.template_json(version))))


@pytest.mark.parametrize("label, change, pointer", [
    ("a state machine sample not ending in <NON>",
     lambda d: d["instruction"]["sets"][0]["samples"][0].update(result="Done_"),
     "/instruction/sets/0/samples/0/result"),
    ("a state machine with two sets", lambda d: d["instruction"]["sets"].append(d["instruction"]["sets"][0]),
     "/instruction/sets"),
    ("an unknown model type", lambda d: d.update(model_type="regression"), "/model_type"),
])
def test_our_model_schema_rejects(label, change, pointer):
    from model_train_protocol.formats import schema_problems

    doc = json.loads(dumps(sm_protocol().to_json("2.0.1")))
    change(doc)
    assert pointer in [p.pointer for p in schema_problems(doc)], label


@pytest.mark.parametrize("label, change, pointer", [
    ("states in a generative template", lambda d: d.update(model_type="generative"), "/states"),
    ("a basic instruction in a state machine",
     lambda d: d["instructions"]["StateMachineInstruction"].update(type="basic"),
     "/instructions/StateMachineInstruction/type"),
    ("a state machine answering a final",
     lambda d: d["instructions"]["StateMachineInstruction"]["output"].append("<string>\nDone_\n<EOS>"),
     "/instructions/StateMachineInstruction/output/2"),
])
def test_our_template_schema_rejects(label, change, pointer):
    from model_train_protocol.formats import schema_problems

    doc = json.loads(dumps(sm_protocol().template_json("2.0.1")))
    change(doc)
    assert pointer in [p.pointer for p in schema_problems(doc)], label


# --- golden files ----------------------------------------------------------------------------------------------

GOLDEN_FILES = [
    (npc_protocol, None, "npc_model.json", "npc_template.json"),
    (npc_protocol, "1.1.0", "v1.1.0/npc_model.json", "v1.1.0/npc_template.json"),
    (npc_protocol, "1.2.0", "v1.2.0/npc_model.json", None),
    (mc_protocol, None, "mc_model.json", "mc_template.json"),
]


@pytest.mark.parametrize("build, version, model, template", GOLDEN_FILES)
def test_golden_files_byte_for_byte(tmp_path, build, version, model, template):
    """Regenerate after an intended format change: save these protocols into tests/data/golden and review the diff."""
    protocol = build()
    written = protocol.save(path=tmp_path, version=version)
    assert written.read_bytes() == (GOLDEN / model).read_bytes()
    if template is not None:
        assert protocol.template(path=tmp_path, version=version).read_bytes() == (GOLDEN / template).read_bytes()
    again = mtp.Protocol.load(written).save(path=tmp_path / "again", version=version)
    assert again.read_bytes() == written.read_bytes()


# --- the reference's files, every version ------------------------------------------------------------------------

def _shared() -> Path:
    path = SHARED / "reference" / "data"
    if not path.is_dir():
        pytest.skip("../shared/reference/data is not available (the reference data lives beside the repository)")
    return path


def _model_files() -> list[str]:
    """Every model file of ../shared/reference/data, relative to it (collected without ../shared: an empty list)."""
    root = SHARED / "reference" / "data"
    found = sorted(root.glob("generated/v*/*_model*.json")) + sorted(root.glob("examples/*/bloom_*.json")) + \
        sorted(root.glob("examples/*/*_model.json"))
    return [str(p.relative_to(root)) for p in found] or ["(../shared/reference/data absent)"]


OLD_LAYOUT = ("generated/v0.1.8/", "generated/v0.2.0/")  # pre-0.3: recognised and refused (FORMAT.md 2.8)


def _content(doc: dict[str, Any]) -> dict[str, Any]:
    """What a round trip keeps: tokens (our user flag aside), special tokens, contexts, samples, guardrails; sets by
    content (the reference's set order is random). Guardrails are returned apart, see :func:`_guardrails`."""
    doc = copy.deepcopy(doc)
    for info in doc["tokens"].values():
        info.pop("user", None)
    sets = []
    for s in doc["instruction"]["sets"]:
        s.pop("name", None)
        s.pop("guardrails")
        sets.append(json.dumps(s, sort_keys=True, ensure_ascii=False))
    return {"name": doc["name"], "inputs": doc["inputs"], "encrypted": doc["encrypted"], "context": doc["context"],
            "tokens": doc["tokens"], "special_tokens": doc["special_tokens"], "sets": sorted(sets)}


def _guardrails(doc: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {(json.dumps(s["set"]), g["index"], json.dumps({k: v for k, v in g.items() if k != "index"}))
            for s in doc["instruction"]["sets"] for g in s["guardrails"]}


def _same_guardrails(original: dict[str, Any], ours: dict[str, Any]) -> None:
    """Every guardrail of the file is kept at its line; we may add it to other lines with the very same tokens
    (a guardrail guards a TokenSet, so equal lines share it: the documented difference of README "formats")."""
    theirs, mine = _guardrails(original), _guardrails(ours)
    assert theirs <= mine
    guarded = {(tuple(json.loads(rows)[index]), g) for rows, index, g in theirs}
    for rows, index, g in mine - theirs:
        assert (tuple(json.loads(rows)[index]), g) in guarded


@pytest.mark.parametrize("rel", _model_files())
def test_every_reference_model_file_loads_resaves_and_round_trips(rel):
    """Own layout and the newest; schema-valid (ours and the reference's); same content; our bytes are stable."""
    root = _shared()
    path = root / rel
    if rel.startswith(OLD_LAYOUT):
        with pytest.raises(mtp.MTPFileError, match="pre-0.3"):
            mtp.Protocol.load(path)
        return
    original = json.loads(path.read_text(encoding="utf-8"))
    protocol = mtp.Protocol.load(path)
    own = rules_of(file_version(original)).bloom  # 0.3.0 / 0.3.1 are written as 0.3.2
    for version in dict.fromkeys((own, "2.0.1")):
        text = dumps(protocol.to_json(version))
        ours = json.loads(text)
        assert_schema_valid(ours)
        assert _content(ours) == _content(original), (rel, version)
        _same_guardrails(original, ours)
        assert ours.get("model_type", protocol.model_type) == protocol.model_type
        again = mtp.Protocol.from_json(ours)
        assert dumps(again.to_json(version)) == text, (rel, version)
        template = json.loads(dumps(protocol.template_json(version)))
        assert_schema_valid(template)


def test_the_choice_fixtures_are_state_machines_and_multi_classifiers():
    kinds = {rel: mtp.Protocol.load(REFERENCE / rel).model_type for rel in CHOICE}
    assert kinds == {rel: "multi_classifier" if "mc_" in rel else "state_machine" for rel in CHOICE}
    csv = mtp.Protocol.load(REFERENCE / "v0.6.1/csvdemo_model.json").instructions[0]
    assert csv.states == ("Pricing", "Location", "Password")  # declared (desc) order, not the samples' order
    assert len(csv.background) == 7 and len(csv.samples) == 10
    mc = mtp.Protocol.load(REFERENCE / "v1.2.8/mc_model.json").instructions[0]
    assert mc.state_map == {"emotion": ("happy", "sad"), "intent": ("question", "statement")}


# Template fields the reference fills at random or wrongly (FORMAT.md 6), normalized on both sides before comparing.
_NUMBER = re.compile(r"-?[0-9]+")


def _normalized_template(doc: dict[str, Any], model_type: str, guarded: bool, *, reference: bool,
                         names: dict[str, str], tokens_input: dict[str, str]) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    if doc.pop("$schema").endswith("/template_1_1_0.json"):  # 0.4.x: we write template 1.2.0 for bloom 1.1.0
        doc["state_machine"], doc["states"] = False, []
    if not reference:  # our instruction names as loaded; the reference's come from the template itself
        doc["instructions"] = {names.get(n, n): body for n, body in doc["instructions"].items()}
    if reference and model_type == "state_machine" and guarded:
        # 0.5.x: no GUARDRAIL state and <UNK> in tokens.output; 0.6.0 fixed both (FORMAT.md 3.2, 5.1).
        if "GUARDRAIL" not in doc["states"]:
            doc["states"].append("GUARDRAIL")
        if "<UNK>" in doc["tokens"]["output"]:
            del doc["tokens"]["output"]["<UNK>"]
            doc["tokens"]["output"]["<NON>_<UNK>_"] = "<NON>_<UNK>_"
    # Random order of states up to 0.8.8 (sample order in 1.2.8, declared order in ours): a set.
    if isinstance(doc.get("states"), list):
        doc["states"] = sorted(doc["states"])
    if not reference:
        # FORMAT.md 6 #10: we list {final}<UNK>_ in tokens.output (every refusal line maps back); 0.3.3+ do not.
        doc["tokens"]["output"] = {k: v for k, v in doc["tokens"]["output"].items()
                                   if not (k.endswith("<UNK>_") and k != "<NON>_<UNK>_") or model_type != "generative"}
    for body in doc["instructions"].values():
        # Random output order up to 0.8.8; a NumToken final's placeholder is ours; refusal lines of lines we
        # guard because an equal TokenSet is guarded elsewhere are ours too: compared as sets without refusals.
        body["output"] = sorted({re.sub(r"<num_[^>]*>", "", line) for line in body["output"] if "<UNK>" not in line})
    example = doc["example_usage"]
    if reference and example["instruction_input"] and "\n" in example["instruction_input"]:
        # FORMAT.md 6 #7: the reference names the output set by its value-key; we write its keys.
        lines = example["instruction_input"].split("\n")
        lines[-3] = re.sub(r"<num_[^>]*>", "", tokens_input.get(lines[-3], lines[-3]))
        example["instruction_input"] = "\n".join(lines)
    for field in ("instruction_input", "valid_model_output"):
        # FORMAT.md 6 #3: random example numbers; our numeric final shows its number (Madness_5), theirs not.
        example[field] = _NUMBER.sub("", example[field])
    if reference and example["instruction_input"] == "":
        example.pop("instruction_input")  # 0.5+: "" without a basic instruction; we show the extended sample
    return doc


def _template_pairs() -> list[str]:
    root = SHARED / "reference" / "data"
    return [str(p.relative_to(root)) for p in sorted(root.glob("generated/v*/*_template*.json"))
            if not str(p.relative_to(root)).startswith(OLD_LAYOUT)] or ["(../shared/reference/data absent)"]


@pytest.mark.parametrize("rel", _template_pairs())
def test_our_template_of_each_reference_file_equals_the_reference_template(rel):
    root = _shared()
    theirs = json.loads((root / rel).read_text(encoding="utf-8"))
    model_path = root / rel.replace("_template", "_model")
    protocol = mtp.Protocol.load(model_path)
    own = rules_of(file_version(json.loads(model_path.read_text(encoding="utf-8"))))
    ours = json.loads(dumps(protocol.template_json(own)))
    assert_schema_valid(ours)
    lines = {name: body["input"] for name, body in theirs["instructions"].items()}
    names = template_names(protocol.instructions, lines, protocol.key_map())
    guarded = bool(protocol.guardrail_map())
    common = dict(model_type=protocol.model_type, guarded=guarded, names=names, tokens_input=ours["tokens"]["input"])
    ours_n = _normalized_template(ours, reference=False, **common)
    theirs_n = _normalized_template(theirs, reference=True, **common)
    if theirs["example_usage"]["instruction_input"] == "":
        ours_n["example_usage"].pop("instruction_input")
    assert ours_n == theirs_n


# --- random state machines and multi-classifiers -------------------------------------------------------------------

WORD = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
LINE = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="<"), min_size=1,
               max_size=20).filter(str.strip)  # no "<": a special token in a text is a validation problem


@st.composite
def choice_protocols(draw) -> mtp.Protocol:
    kind = draw(st.sampled_from(["state_machine", "multi_classifier"]))
    inputs = draw(st.integers(1, 3))
    protocol = mtp.Protocol("rand", inputs=inputs, encrypt=draw(st.booleans()))
    for i in range(10):
        protocol.add_context(f"line {i}")
    # Names of one length never contain each other (the substring rule); a-j never spell "State".
    names = draw(st.lists(st.text(alphabet="abcdefghij", min_size=4, max_size=4), min_size=inputs,
                          max_size=inputs, unique=True))
    tokens = [mtp.Token("In" + n.capitalize()) for n in names]
    sets = [mtp.TokenSet((t,)) for t in tokens]
    if kind == "state_machine":
        states = draw(st.lists(LINE, min_size=1, max_size=5, unique=True))
        instruction = mtp.StateMachineInstruction(context=sets, states=states, name=draw(WORD))
        for _ in range(draw(st.integers(10, 14))):
            instruction.add_sample([draw(LINE) for _ in sets], draw(st.sampled_from(states)))
    else:
        labels = draw(st.lists(WORD, min_size=1, max_size=3, unique=True))
        state_map = {label: draw(st.lists(LINE, min_size=1, max_size=3, unique=True)) for label in labels}
        instruction = mtp.MultiClassifierInstruction(context=sets, state_map=state_map)
        for _ in range(draw(st.integers(3, 6))):
            instruction.add_sample([draw(LINE) for _ in sets],
                                   {label: draw(st.sampled_from(values)) for label, values in state_map.items()})
    protocol.add_instruction(instruction)
    return protocol


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(choice_protocols(), st.sampled_from(("0.3.2", *SM_LAYOUTS)))
def test_random_state_machines_and_multi_classifiers_round_trip_in_every_layout_that_holds_them(protocol, version):
    if protocol.model_type not in WRITABLE_VERSIONS[version].model_types:  # 0.3.2; 1.x for a multi-classifier
        assert "protocol.layout-model-type" in [p.rule for p in protocol.validate(version)]
        return
    assert protocol.validate(version) == []
    text = dumps(protocol.to_json(version))
    again = mtp.Protocol.from_json(json.loads(text))
    assert dumps(again.to_json(version)) == text
    if not WRITABLE_VERSIONS[version].set_names:  # bloom 1.1.0 stores no names: the reference's default comes back
        assert again.instructions[0].name == type(protocol.instructions[0]).__name__
        again.instructions[0].name = protocol.instructions[0].name
    assert dumps(again.template_json(version)) == dumps(protocol.template_json(version))
    original, loaded = protocol.instructions[0], again.instructions[0]
    assert isinstance(loaded, type(original)) and loaded.kind == original.kind  # a loaded file holds core classes
    assert getattr(loaded, "states", None) == getattr(original, "states", None)
    assert getattr(loaded, "state_map", None) == getattr(original, "state_map", None)
    assert [s.output for s in loaded.samples] == [s.output for s in original.samples]


# --- reading details ----------------------------------------------------------------------------------------------

def test_without_the_reference_description_states_come_from_the_samples():
    doc = read("v1.2.8/sm_model.json")
    doc["tokens"]["State_"]["desc"] = None
    machine = mtp.Protocol.from_json(doc).instructions[0]
    assert machine.states == ("Running", "Stopped", "Idle")  # distinct sample answers, in order
    doc = read("v1.2.8/mc_model.json")
    doc["tokens"]["States_"]["desc"] = "labels"
    classifier = mtp.Protocol.from_json(doc).instructions[0]
    assert classifier.state_map == {"emotion": ("happy", "sad"), "intent": ("question", "statement")}


def test_label_answers_in_json_are_stored_in_python_quoting_in_their_own_order():
    doc = read("v1.2.8/mc_model.json")
    doc["instruction"]["sets"][0]["samples"][0]["strings"][-1] = '{"intent": "question", "emotion": "happy"}'
    classifier = mtp.Protocol.from_json(doc).instructions[0]
    assert classifier.samples[0].output == "{'intent': 'question', 'emotion': 'happy'}"
    assert classifier.answer(classifier.samples[0]) == "{'emotion': 'happy', 'intent': 'question'}"
    again = mtp.Protocol.from_json(doc).to_json("2.0.1")
    assert again["instruction"]["sets"][0]["samples"][0]["strings"][-1] == "{'intent': 'question', 'emotion': 'happy'}"


@pytest.mark.parametrize("label, change, pointer, words", [
    ("a final other than <NON>", lambda d: d["instruction"]["sets"][0]["samples"][2].update(result="State_"),
     "/instruction/sets/0/samples/2/result", "ends with <NON>"),
    ("a value", lambda d: d["instruction"]["sets"][0]["samples"][1].update(value=3),
     "/instruction/sets/0/samples/1/value", "has no value"),
    ("no State_ row", lambda d: d["instruction"]["sets"][0]["set"].__setitem__(2, ["Event_"]),
     "/instruction/sets/0/set/2", "['State_']"),
    ("a custom key on State_", lambda d: d["tokens"]["State_"].update(key="S"), "/tokens/State_", "automatic key"),
    ("a second instruction", lambda d: d["instruction"]["sets"].append(dict(d["instruction"]["sets"][0], name="b")),
     "/instruction/sets/1", "exactly one instruction"),
    ("a multi-line state", lambda d: d["instruction"]["sets"][0]["samples"][0]["strings"].__setitem__(2, "a\nb"),
     "/instruction/sets/0/samples/0/strings/2", "one non-empty line"),
])
def test_broken_state_machine_files_name_the_place(label, change, pointer, words):
    doc = read("v1.2.8/sm_model.json")
    change(doc)
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert info.value.pointer == pointer, label
    assert words in str(info.value), label


def test_a_label_answer_that_is_no_dict_names_the_place():
    doc = read("v1.2.8/mc_model.json")
    doc["tokens"]["States_"]["desc"] = None
    doc["instruction"]["sets"][0]["samples"][3]["strings"][-1] = "happy"
    with pytest.raises(mtp.MTPFileError) as info:
        mtp.Protocol.from_json(doc)
    assert info.value.pointer == "/instruction/sets/0/samples/3/strings"


def test_an_old_file_is_a_state_machine_only_with_its_one_state_set():
    """Bloom 1.1.0 has no marker: one set answering on State_ with every result <NON> (reference 0.5.x)."""
    doc = read("v0.5.6/sm_model.json")
    assert mtp.Protocol.from_json(doc).model_type == "state_machine"
    doc["instruction"]["sets"][0]["samples"][0]["result"] = "Event_"
    with pytest.raises(mtp.MTPFileError):  # then a basic instruction whose final is an input token
        mtp.Protocol.from_json(doc).to_json("1.1.0")


def test_a_1_1_0_generative_protocol_that_looks_like_a_state_machine_is_refused():
    """It would come back as a state machine: validation says so instead of writing an ambiguous file."""
    protocol = mtp.Protocol("looks", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"line {i}")
    line, state = mtp.TokenSet(mtp.Token("Said")), mtp.TokenSet(mtp.Token("State"))
    instruction = mtp.Instruction(context=[line], response=state, final=mtp.NON, name="basic")
    for i in range(3):
        instruction.add_sample([f"s{i}"], f"a{i}")
    protocol.add_instruction(instruction)
    assert [p.rule for p in protocol.validate("1.1.0")] == ["protocol.layout-model-type"]
    assert protocol.validate("1.2.1") == []
    assert reload(protocol, "1.2.1").model_type == "generative"


def test_the_multi_classifier_files_are_the_reference_files_byte_for_byte(tmp_path):
    """The reference's mc protocol has nothing random (one instruction, no numbers): our files are its files."""
    root = _shared()
    protocol = mc_protocol()
    assert protocol.save(path=tmp_path).read_bytes() == (root / "generated/v1.2.8/mc_model.json").read_bytes()
    assert protocol.template(path=tmp_path).read_bytes() == (root / "generated/v1.2.8/mc_template.json").read_bytes()


def test_label_order_is_kept_as_given_in_the_reference_mc_file(tmp_path):
    """Reference 1.2.8 keeps each sample's labels in the order given and its state map in the order declared: the
    mc file with the map declared intent first and two samples given intent first reads and saves back unchanged,
    and the model learns (the template's states and every training line) the declared order."""
    doc = read("v1.2.8/mc_model.json")
    states = doc["tokens"]["States_"]
    states["desc"] = states["desc"].replace("{'emotion': ['happy', 'sad'], 'intent': ['question', 'statement']}",
                                            "{'intent': ['question', 'statement'], 'emotion': ['happy', 'sad']}")
    samples = doc["instruction"]["sets"][0]["samples"]
    for sample in samples[1:3]:
        labels = read_labels(sample["strings"][-1])
        sample["strings"][-1] = format_labels(labels, ["intent", "emotion"])
    protocol = mtp.Protocol.from_json(copy.deepcopy(doc))
    classifier = protocol.instructions[0]
    assert list(classifier.state_map) == ["intent", "emotion"]
    assert [s.output for s in classifier.samples] == [s["strings"][-1] for s in samples]
    assert dumps(protocol.to_json()) == dumps(doc)  # nothing reordered: the reference's bytes
    template = protocol.template_json()
    assert list(template["states"]) == ["intent", "emotion"]
    assert template["example_usage"]["valid_model_output"] == "{'intent': 'question', 'emotion': 'happy'}\n<NON>\n<EOS>"
    lines = [e.completion.split("\n")[0] for e in mtp.render_protocol(protocol)]
    assert lines == [classifier.answer(s) for s in classifier.samples]
    assert all(line.startswith("{'intent': ") for line in lines)
