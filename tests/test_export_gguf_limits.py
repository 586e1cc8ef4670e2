"""GGUF export under attack (issue 20): wide numeric ranges, colliding or long instruction names, an output
directory holding the user's files, an export that fails half way."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.errors import MTPError, TokenError
from model_train_protocol.infer import integer_range

from infer.tiny import cheshire, mtp_in_process, write_model_dir
from test_export_gguf import gbnf_regex


def test_integer_range_grows_linearly_with_the_digits():
    """Finding 1: 1e20 gave a 36 MB grammar, 1e30 ran for hours; now a float's widest range is a few pages."""
    sizes = {digits: len(integer_range(-(10**digits), 10**digits)) for digits in (20, 40, 80)}
    assert sizes[80] < 3 * sizes[40] < 9 * sizes[20]
    assert len(integer_range(-(10**308), 10**308)) < 100_000


@settings(max_examples=60, deadline=None)
@given(st.integers(-(10**25), 10**25), st.integers(0, 10**25), st.data())
def test_wide_integer_ranges_accept_exactly_their_integers(lo, width, data):
    hi = lo + width
    pattern = gbnf_regex(f"root ::= {integer_range(lo, hi)}\n")
    edges = [lo, hi, lo - 1, hi + 1, lo + 1, hi - 1, 0, -1, 1, 10 ** len(str(abs(hi))), -(10 ** len(str(abs(lo))))]
    for n in edges + [data.draw(st.integers(lo - 10, hi + 10)) for _ in range(5)]:
        assert bool(pattern.fullmatch(str(n))) == (lo <= n <= hi), n
    assert not pattern.fullmatch("0" + str(abs(hi))) and not pattern.fullmatch("-0")


def test_a_number_bound_past_a_float_is_refused():
    """A NumToken bound is a number a float can hold, so grammars, keys and messages stay bounded."""
    mtp.NumToken("Wide", min_value=-(10**308), max_value=10**308)
    for bound in (10**309, -(10**5000)):
        with pytest.raises(TokenError, match="what a float holds") as caught:
            mtp.NumToken("Huge", min_value=min(0, bound), max_value=max(0, bound))
        assert len(str(caught.value)) < 300


def test_grammar_file_names_are_unique_and_short():
    from model_train_protocol.export_gguf import grammar_files

    names = ["cat talk", "cat_talk", "Cat_talk", "é" * 200, "a/../b", ".hidden", "cat_talk-2"]
    files = grammar_files(dict.fromkeys(names))
    assert files["cat_talk"] == "cat_talk.gbnf" and files["cat_talk-2"] == "cat_talk-2.gbnf"
    assert len({f.casefold() for f in files.values()}) == len(names)
    for file in files.values():
        assert len(file.encode()) <= 70 and "/" not in file and not file.startswith(".")


@pytest.fixture(scope="module")
def colliding_dir(tmp_path_factory):
    pytest.importorskip("gguf")
    protocol = cheshire(False)
    for instruction, name in zip(protocol.instructions, ["cat talk", "cat_talk", "Cat_talk", "x" * 230]):
        instruction.name = name
    return write_model_dir(protocol, tmp_path_factory.mktemp("colliding") / "model")


def test_each_instruction_gets_its_own_grammar(colliding_dir, tmp_path):
    """Finding 2: `cat talk` and `cat_talk` shared one file; a 230-byte name failed after the GGUF was written."""
    code, out, err = mtp_in_process("export-model", colliding_dir, "--format", "gguf", "--out", tmp_path / "b",
                                    "--json")
    assert code == 0, err
    result = json.loads(out)
    files = {name: os.path.basename(path) for name, path in result["grammars"].items()}
    assert len(set(files.values())) == 4 == len(os.listdir(tmp_path / "b" / "grammars"))
    prompts = json.loads((tmp_path / "b" / "prompts.json").read_text())
    for name, entry in prompts["instructions"].items():
        assert entry["grammar"] == f"grammars/{files[name]}"
        assert repr(name) in (tmp_path / "b" / entry["grammar"]).read_text().splitlines()[0]


@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir):
    pytest.importorskip("gguf")
    return tiny_model_dir(False)


def test_export_never_replaces_the_users_files(tiny_dir, tmp_path):
    """Finding 15: `--out EXISTING_DIR` silently replaced the README.md and prompts.json there."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "README.md").write_text("my notes")
    (out / "prompts.json").write_text("{}")
    code, _, err = mtp_in_process("export-model", tiny_dir, "--format", "gguf", "--out", out)
    assert code == 1 and "did not write" in err and "Traceback" not in err
    assert sorted(os.listdir(out)) == ["README.md", "prompts.json"]
    assert (out / "README.md").read_text() == "my notes"
    (out / "README.md").unlink()
    (out / "prompts.json").unlink()
    (out / "grammars").mkdir()
    (out / "grammars" / "mine.gbnf").write_text("root ::= \"x\"\n")
    code, _, err = mtp_in_process("export-model", tiny_dir, "--format", "gguf", "--out", out)
    assert code == 1 and (out / "grammars" / "mine.gbnf").exists()


def test_export_replaces_its_own_earlier_bundle(tiny_dir, tmp_path):
    out = tmp_path / "bundle"
    first = mtp.export_gguf(tiny_dir, out, quant="f16")
    (out / "grammars" / "stale.gbnf").write_text("old")
    second = mtp.export_gguf(tiny_dir, out, quant="q8_0")
    assert first["gguf"].is_file() and second["gguf"].is_file()  # f16 and q8_0 may share a folder
    assert not (out / "grammars" / "stale.gbnf").exists()
    assert json.loads(second["prompts"].read_text())["model"] == "model-q8_0.gguf"
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no staging folder left beside it


def test_a_failed_export_writes_nothing(tiny_dir, tmp_path, monkeypatch):
    """Finding 1 (second half): an export killed after the GGUF left a half bundle without prompts.json."""
    import importlib

    module = importlib.import_module("model_train_protocol.export_gguf")

    def broken(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_readme", broken)
    with pytest.raises(KeyboardInterrupt):
        mtp.export_gguf(tiny_dir, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    mtp.export_gguf(tiny_dir, tmp_path / "out")
    monkeypatch.setattr(module, "_readme", broken)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(KeyboardInterrupt):
        mtp.export_gguf(tiny_dir, tmp_path / "out", quant="q8_0")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_stale_staging_of_a_killed_export_is_removed(tiny_dir, tmp_path):
    stale = tmp_path / f".out.{2**22 + 12345}.0123456789ab.mtp-staging"
    (stale / "grammars").mkdir(parents=True)
    mtp.export_gguf(tiny_dir, tmp_path / "out")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_output_that_is_a_file_is_refused(tiny_dir, tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(MTPError, match="not a directory"):
        mtp.export_gguf(tiny_dir, tmp_path / "f")


def test_prompts_json_lists_the_structural_strings(tiny_dir, tmp_path):
    """Finding 17: an engine running the GGUF must refuse the same user text as the Python runtime."""
    from model_train_protocol.rules import structural_strings

    prompts = json.loads(mtp.export_gguf(tiny_dir, tmp_path / "b")["prompts"].read_text())
    assert set(structural_strings(cheshire(False))) <= set(prompts["structural"])
    assert "structural" in prompts["how_to_fill"]
