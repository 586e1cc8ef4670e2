"""Round trips: our files come back byte for byte; reference files reload to an equal protocol."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from core_helpers import small_protocol, tiny_protocol
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.jsonio import dumps
from reader_helpers import LOADABLE, VERSIONS, load, normalized, read, snapshot


def reload(protocol: mtp.Protocol, version: str) -> mtp.Protocol:
    return mtp.Protocol.from_json(json.loads(dumps(protocol.to_json(version))))


@pytest.mark.parametrize("version", VERSIONS)
def test_cheshire_cat_files_round_trip_byte_identically(tmp_path, version):
    first = build_protocol().save(path=tmp_path / "a", version=version)
    second = mtp.Protocol.load(first).save(path=tmp_path / "b", version=version)
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("build", [small_protocol, lambda: tiny_protocol(True), lambda: tiny_protocol(False)])
def test_small_protocols_round_trip(version, build):
    protocol = build()
    again = reload(protocol, version)
    assert dumps(again.to_json(version)) == dumps(protocol.to_json(version))
    if version != "0.3.2":  # 0.3.2 stores no names
        assert snapshot(again) == snapshot(protocol)
        ours, theirs = again.template_json(version), protocol.template_json(version)
        if all(len(i.finals) == 1 for i in protocol.instructions):
            assert ours == theirs
        else:  # samples come back sorted by final: outputs in that order, example from that first sample
            for name, body in ours["instructions"].items():
                assert sorted(body["output"]) == sorted(theirs["instructions"][name]["output"])
                assert body["input"] == theirs["instructions"][name]["input"]
            assert ours["tokens"] == theirs["tokens"]


def test_names_are_the_only_loss_of_bloom_0_3_2():
    protocol = build_protocol()
    again = reload(protocol, "0.3.2")
    assert [i.name for i in again.instructions] == [f"instruction_{i}" for i in range(len(protocol.instructions))]
    assert snapshot(again, names=False) == snapshot(protocol, names=False)


@pytest.mark.parametrize("rel", LOADABLE)
def test_reference_files_reload_to_an_equal_protocol(rel):
    protocol = load(rel)
    for version in VERSIONS:
        again = reload(protocol, version)
        assert snapshot(again, names=version != "0.3.2") == snapshot(protocol, names=version != "0.3.2"), version
        assert dumps(reload(again, version).to_json(version)) == dumps(again.to_json(version))


@pytest.mark.parametrize("rel", ["v0.3.2/tiny_model.json", "v0.3.2/tiny_encrypted_model.json", "v0.4.7/tiny_model.json",
                                 "v0.8.8/tiny_model.json", "v1.2.8/tiny_model.json", "v1.2.8/numeric_model.json"])
def test_reference_content_is_kept(rel):
    """Apart from the documented changes (labels, set order, names, user flags) the data is the reference's."""
    protocol = load(rel)
    for version in VERSIONS:
        assert normalized(protocol.to_json(version)) == normalized(read(rel)), version


def test_documented_changes_of_the_extended_reference_file():
    """The guardrail stays on the line the file guards (index 2, the prompt), not on the equal line 1; the
    prompt line's first token becomes a UserToken, which the saved file does not mark (nothing is added)."""
    original = read("v1.2.8/extended_only_model.json")
    ours = load("v1.2.8/extended_only_model.json").to_json("2.0.1")
    assert [g["index"] for g in original["instruction"]["sets"][0]["guardrails"]] == [2]
    assert [g["index"] for g in ours["instruction"]["sets"][0]["guardrails"]] == [2]
    assert "user" not in ours["tokens"]["Alice_"]
    assert normalized(ours) == normalized(original)


# --- random protocols --------------------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\0"), min_size=0, max_size=12)
#: Sample texts are single lines (rule string.newline).
LINE = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",), exclude_characters="\r\n\0"), max_size=12)


@st.composite
def protocols(draw) -> mtp.Protocol:
    """Random valid protocols: basic and extended instructions, number tokens, guardrails, custom keys."""
    inputs = draw(st.integers(1, 3))
    protocol = mtp.Protocol(draw(st.sampled_from(["p", "Proto x", "ü"])), inputs, encrypt=draw(st.booleans()))
    for i in range(draw(st.integers(10, 12))):
        protocol.add_context(draw(TEXT))
    serial = iter(range(100))

    def name(prefix: str) -> str:  # fixed width: no name contains another
        return f"{prefix}{next(serial):02d}q"

    def plain(user: bool = False) -> mtp.Token:
        key = draw(st.sampled_from([None, None, f"K{next(serial):02d}z"]))
        return (mtp.UserToken if user else mtp.Token)(name("Tk"), key=key, desc=draw(st.none() | TEXT))

    def line(user: bool = False, numbers: bool = True) -> mtp.TokenSet:
        tokens = [plain(user)]
        if numbers and draw(st.booleans()):
            tokens.append(mtp.NumToken(name("Nm"), min_value=0, max_value=draw(st.integers(0, 9))))
        if numbers and draw(st.booleans()):
            tokens.append(mtp.NumListToken(name("Ls"), min_value=-5, max_value=5, length=draw(st.integers(1, 3))))
        return mtp.TokenSet(tokens=tokens)

    def snippet(ts: mtp.TokenSet):
        nums = [draw(st.integers(t.min_value, t.max_value)) for t in ts.num_tokens]
        lists = [[draw(st.integers(t.min_value, t.max_value)) for _ in range(t.length)] for t in ts.num_list_tokens]
        return ts.create_snippet(draw(LINE), numbers=nums or None, number_lists=lists or None)

    guardrail = mtp.Guardrail("good", "bad", draw(st.sampled_from(["No.", "Nein"])))
    for example in ("one", "two", "three"):
        guardrail.add_sample(example)
    for index in range(draw(st.integers(1, 3))):
        extended = draw(st.booleans())
        finals = [mtp.Token(name("Fn"))]
        if draw(st.booleans()):
            finals.append(mtp.NumToken(name("Fv"), min_value=0, max_value=draw(st.sampled_from([3, 2.5]))))
        context = [line(user=draw(st.booleans())) for _ in range(inputs)]
        if extended:
            context.append(line(user=True))
            instruction = mtp.ExtendedInstruction(context=context, final=finals, name=f"ins{index}")
        else:
            instruction = mtp.Instruction(context=context, response=line(numbers=False), final=finals, name=f"ins{index}")
        for ts in instruction.guarded_sets:
            if ts.has_user and draw(st.booleans()):
                ts.set_guardrail(guardrail)
        for _ in range(draw(st.integers(0, 2))):
            instruction.add_context(draw(TEXT))
        for final in finals:
            for _ in range(3):
                value = draw(st.integers(0, 2)) if isinstance(final, mtp.NumToken) else None
                instruction.add_sample([snippet(ts) for ts in instruction.context], draw(LINE), value=value, final=final)
        protocol.add_instruction(instruction)
    return protocol


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(protocols(), st.sampled_from(VERSIONS))
def test_random_protocols_round_trip_byte_identically(protocol, version):
    if protocol.validate(version):  # e.g. inputs=1 in 0.3.2
        return
    text = dumps(protocol.to_json(version))
    again = mtp.Protocol.from_json(json.loads(text))
    assert dumps(again.to_json(version)) == text
    if version != "0.3.2":
        assert snapshot(again) == snapshot(protocol)
