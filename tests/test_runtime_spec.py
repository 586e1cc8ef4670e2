"""The compiled runtime spec: its JSON round trip, stable bytes, what inference reads, and `mtp upgrade`."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infer.tiny import PROTOCOLS, cheshire

from model_train_protocol.rules import compile_runtime
from model_train_protocol.errors import MTPFileError
from model_train_protocol.runtime import (Final, InstructionRuntime, InstructionSpec, IntentHead, LineReference,
                                          Placeholder, Refusal, RuntimeSpec)

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
TEXTS = st.lists(TEXT, max_size=4).map(tuple)
NUMBER = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
FINAL = st.builds(Final, TEXT, TEXT, st.none(), st.none()) | st.builds(Final, TEXT, TEXT, NUMBER, NUMBER)
SPEC = st.builds(
    InstructionSpec, name=TEXT, kind=TEXT, input_lines=st.lists(TEXT, min_size=1, max_size=3).map(tuple),
    finals=st.lists(FINAL, min_size=1, max_size=3).map(tuple), guardrails=st.lists(FINAL, max_size=2).map(tuple),
    user_lines=st.lists(st.booleans(), max_size=3).map(tuple),
    placeholders=st.lists(st.builds(Placeholder, st.integers(0, 5), NUMBER, NUMBER,
                                    st.none() | st.integers(1, 9)), max_size=2).map(tuple),
    states=st.none() | TEXTS, labels=st.none() | st.lists(st.tuples(TEXT, TEXTS), max_size=2).map(tuple),
    refusals=TEXTS)
HEAD = st.integers(1, 3).flatmap(lambda n: st.builds(
    IntentHead, index=st.integers(0, 9), line=st.integers(0, 3), classes=st.lists(TEXT, min_size=1, max_size=3).map(tuple),
    texts=st.lists(TEXT, min_size=n, max_size=n).map(tuple), labels=st.lists(TEXT, min_size=n, max_size=n).map(tuple),
    replies=st.lists(TEXT, min_size=n, max_size=n).map(tuple), min_similarity=st.none() | st.floats(-1, 1)))
ITEM = st.builds(InstructionRuntime, spec=SPEC, answers=TEXTS, refusal_line=st.none() | TEXT,
                 references=st.lists(st.builds(LineReference, st.integers(0, 5), TEXTS, TEXTS), max_size=2).map(tuple),
                 head=st.none() | HEAD)
SIMILARITY = st.dictionaries(TEXT, st.dictionaries(st.integers(0, 5).map(str), st.floats(0, 1), max_size=2), max_size=2)
REFUSAL = st.builds(lambda t, s: Refusal.from_section({"threshold": t, "similarity": {"thresholds": s}}),
                    st.none() | st.floats(0, 1), SIMILARITY)
RUNTIME = st.builds(RuntimeSpec, name=TEXT, instructions=st.lists(ITEM, max_size=3).map(tuple), context=TEXTS,
                    budget_texts=TEXTS, refusal=REFUSAL, structural=TEXTS, encoder=st.none() | TEXT)


@settings(max_examples=60, deadline=None)
@given(RUNTIME)
def test_a_spec_reads_back_as_written(spec):
    text = spec.dumps()
    again = RuntimeSpec.from_json(json.loads(text))
    assert again == spec and again.dumps() == text


@pytest.mark.parametrize("name", [*PROTOCOLS, "cheshire", "cheshire-encrypted"])
def test_a_compiled_protocol_reads_back_with_the_same_specs(name):
    protocol = cheshire(name.endswith("encrypted")) if name.startswith("cheshire") else PROTOCOLS[name]()
    spec = compile_runtime(protocol.template_json(), protocol)
    assert RuntimeSpec.from_json(json.loads(spec.dumps())) == spec
    assert list(spec.specs) == list(protocol.template_json()["instructions"])  # template order kept
    assert spec.structural and spec.name == protocol.name


@pytest.mark.parametrize("name", [*PROTOCOLS, "cheshire"])
def test_the_file_says_which_line_a_prompt_may_leave_out(name):
    """runtime.json carries the omissible line (for the C library), computed by the spec's one rule; a reader
    that meets the key derives it again and a file without it reads the same."""
    protocol = cheshire(False) if name == "cheshire" else PROTOCOLS[name]()
    spec = compile_runtime(protocol.template_json(), protocol)
    doc = json.loads(spec.dumps())
    for item, compiled in zip(doc["instructions"], spec.specs.values()):
        assert item["omissible_line"] == compiled.omissible_line
        assert (compiled.omissible_line is not None) == compiled.choice  # the pre-<RUN> line of every choice kind
        if compiled.omissible_line is not None:
            assert compiled.input_lines[-2] == compiled.omissible_line and "<string>" not in compiled.omissible_line
        del item["omissible_line"]
    assert RuntimeSpec.from_json(doc) == spec


@pytest.mark.parametrize("name", [*PROTOCOLS, "cheshire"])
def test_inference_gets_the_compiled_spec_from_the_protocol_it_is_handed(name):
    """``Model(..., protocol)`` and ``infer.instruction_specs(template, protocol)`` ask ``Protocol.runtime_spec``
    (inference imports no compiler): the same specs as the compiler's; a template alone gives the template's."""
    from model_train_protocol.rules import instruction_specs as compiled_specs
    from model_train_protocol.infer import instruction_specs

    protocol = cheshire(False) if name == "cheshire" else PROTOCOLS[name]()
    template = protocol.template_json()
    assert protocol.runtime_spec() == compile_runtime(template, protocol)
    assert instruction_specs(template, protocol) == compiled_specs(template, protocol)
    alone = RuntimeSpec.from_template(template)
    assert alone.specs == instruction_specs(template) == compiled_specs(template)
    assert alone.name == "" and not any(i.answers or i.references or i.head for i in alone.instructions)
    assert instruction_specs(template, protocol) != instruction_specs(template)  # the protocol's facts count


_COMPILE = ("import sys; from infer.tiny import cheshire; from model_train_protocol.rules import compile_runtime; "
            "p = cheshire(True); sys.stdout.write(compile_runtime(p.template_json(), p).dumps())")


def test_the_spec_is_byte_stable_across_processes():
    tests = Path(__file__).resolve().parent
    runs = {subprocess.run([sys.executable, "-c", _COMPILE], capture_output=True, text=True, check=True,
                           cwd=tests, env={"PYTHONHASHSEED": seed, "PYTHONPATH": f"{tests.parent}:{tests}"}).stdout
            for seed in ("1", "2")}
    protocol = cheshire(True)
    assert runs == {compile_runtime(protocol.template_json(), protocol).dumps()}


@pytest.mark.parametrize("broken", [{"format": "mtp-runtime/0"}, {"instructions": [{"name": 3}]}, []])
def test_a_spec_out_of_shape_is_one_file_error(broken):
    protocol = cheshire(False)
    document = json.loads(compile_runtime(protocol.template_json(), protocol).dumps())
    document = {**document, **broken} if isinstance(broken, dict) else broken
    with pytest.raises(MTPFileError, match="mtp upgrade|runtime spec is damaged"):
        RuntimeSpec.from_json(document)


# --- directories of an earlier version, and `mtp upgrade` ----------------------------------------------------
torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import mtp_in_process, write_model_dir  # noqa: E402

from model_train_protocol.model_dir import MANIFEST, RUNTIME_FILE, upgrade_dir  # noqa: E402


@pytest.fixture(scope="module")
def current(tmp_path_factory) -> Path:
    return write_model_dir(cheshire(True), tmp_path_factory.mktemp("runtime") / "model")


def _earlier(current: Path, out: Path) -> Path:
    """The directory as an earlier version wrote it: no runtime.json, and the manifest does not list one."""
    shutil.copytree(current, out)
    (out / RUNTIME_FILE).unlink()
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"] = [e for e in manifest["files"] if e["path"] != RUNTIME_FILE]
    (out / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return out


def test_an_earlier_directory_is_refused_with_one_line_naming_the_upgrade(current, tmp_path):
    from model_train_protocol import export_gguf
    from model_train_protocol.infer import Model
    from model_train_protocol.serve import load_models

    old = _earlier(current, tmp_path / "old")
    for load in (lambda: Model.load(old), lambda: load_models([old]), lambda: export_gguf(old, tmp_path / "gguf")):
        with pytest.raises(MTPFileError) as refused:
            load()
        assert "\n" not in str(refused.value) and f"`mtp upgrade {old}`" in str(refused.value)
    code, out, err = mtp_in_process("run", old, "-i", "alice_cat_alice_continue", "-l", "a", "-l", "b")
    assert code != 0 and out == "" and len(err.strip().splitlines()) == 1 and "mtp upgrade" in err


def test_upgrade_makes_it_loadable_with_identical_answers_and_bytes(current, tmp_path):
    from model_train_protocol.infer import Model

    old = _earlier(current, tmp_path / "old")
    code, out, err = mtp_in_process("upgrade", old, "--json")
    assert code == 0, err
    assert json.loads(out)["runtime"] == str(old / RUNTIME_FILE)
    assert (old / RUNTIME_FILE).read_bytes() == (current / RUNTIME_FILE).read_bytes()
    lines = ["Then it doesnt matter which way you go.", "Can you tell me a way?"]
    before, after = Model.load(current, max_text_tokens=6), Model.load(old, max_text_tokens=6)
    for name in before.instructions:
        spec = before.spec(name)
        numbers = [[p.min_value] * p.length if p.length else p.min_value for p in spec.placeholders]
        texts = (lines * spec.text_lines)[: spec.text_lines]
        assert before.run(name, texts, numbers) == after.run(name, texts, numbers)
    upgrade_dir(old)  # again: nothing changes
    assert (old / RUNTIME_FILE).read_bytes() == (current / RUNTIME_FILE).read_bytes()


def test_upgrade_refuses_a_damaged_directory_and_replaces_a_half_written_spec(current, tmp_path):
    old = _earlier(current, tmp_path / "old")
    (old / RUNTIME_FILE).write_text("{", encoding="utf-8")  # an upgrade cut short: the manifest does not list it
    upgrade_dir(old)
    assert (old / RUNTIME_FILE).read_bytes() == (current / RUNTIME_FILE).read_bytes()
    damaged = _earlier(current, tmp_path / "damaged")
    (damaged / "mtp_template.json").write_text("{}", encoding="utf-8")
    with pytest.raises(MTPFileError, match="checksum"):
        upgrade_dir(damaged)
    assert not (damaged / RUNTIME_FILE).exists()
