"""Which examples are evaluated, and how a loaded protocol's instructions are matched to the model's."""

from __future__ import annotations

import pytest

from model_train_protocol.errors import MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.examples.support_intents import build_heldout, build_protocol as build_intents
from model_train_protocol.infer import instruction_specs
from model_train_protocol.authoring import Protocol

pytest.importorskip("torch")

from model_train_protocol.eval import select_cases  # noqa: E402
from model_train_protocol.model_dir import protocol_sha256  # noqa: E402


def manifest(protocol, val_split=0.2):
    return {"mtp": {"protocol_sha256": protocol_sha256(protocol), "settings": {"val_split": val_split, "seed": 0}}}


def test_the_trained_protocol_gives_its_validation_split():
    protocol = build_protocol()
    specs = instruction_specs(protocol.template_json(), protocol)
    chosen = select_cases(protocol, manifest(protocol), specs)
    assert chosen.source == "validation split"
    assert 0 < len(chosen.examples) < 27
    everything = select_cases(protocol, manifest(protocol), specs, "all")
    assert len(everything.examples) == 27
    assert len(select_cases(protocol, manifest(protocol), specs, "train").examples) == 27 - len(chosen.examples)


def test_another_protocol_is_used_whole_and_matched_by_input_lines(tmp_path):
    trained = build_intents()
    specs = instruction_specs(trained.template_json(), trained)
    heldout = Protocol.load(build_heldout().save(path=tmp_path))  # 0.3.2 files keep no instruction names
    assert heldout.instructions[0].name != "support"
    chosen = select_cases(heldout, manifest(trained), specs)
    assert chosen.source == "all samples"
    assert len(chosen.examples) == 130 and {e.instruction for e in chosen.examples} == {"support"}
    assert sum(e.guardrail for e in chosen.examples) == 30
    with pytest.raises(MTPValueError, match="different one"):
        select_cases(heldout, manifest(trained), specs, "val")


def test_a_protocol_of_another_shape_is_refused():
    trained = build_intents()
    specs = instruction_specs(trained.template_json(), trained)
    with pytest.raises(MTPValueError, match="matches none of the model's instructions"):
        select_cases(build_protocol(), manifest(trained), specs)
