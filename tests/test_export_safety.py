"""Export writes only where it was asked, through unique temp files, and concurrent exports never mix."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.export import export_protocol, read_jsonl
from model_train_protocol.jsonio import TEMP_SUFFIX, clean_stale_temps, write_atomic

from infer.tiny import mtp_in_process


def _model_file(tmp_path: Path, name: str) -> Path:
    """A model file whose ``name`` field is ``name`` (a hostile file: save() itself would refuse the name)."""
    path = build_protocol().save(path=tmp_path)
    document = json.loads(path.read_text(encoding="utf-8"))
    document["name"] = name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["../../x", "/tmp/mtp_escape_x", "a/b"])
def test_export_without_out_never_leaves_the_current_directory(tmp_path, monkeypatch, name):
    model = _model_file(tmp_path, name)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    before = set(tmp_path.rglob("*"))
    code, out, err = mtp_in_process("export", model, "--format", "text")
    assert code == 1 and err.startswith("error:") and "--out" in err
    assert set(tmp_path.rglob("*")) == before
    assert not Path("/tmp/mtp_escape_x_text").exists()


def test_a_planted_link_at_the_old_temp_name_is_not_followed(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious", encoding="utf-8")
    for name in (".train.jsonl.tmp", ".val.jsonl.tmp"):
        (out / name).symlink_to(victim)
    export_protocol(build_protocol(), out, "text", val_split=0.3)
    assert victim.read_text(encoding="utf-8") == "precious"
    assert read_jsonl(out / "train.jsonl") and read_jsonl(out / "val.jsonl")


def test_a_failed_export_leaves_no_temp_files(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def broken(*args, **kwargs):  # the examples fail once the temp files exist
        raise RuntimeError("disk full")
        yield  # noqa: unreachable: makes this a generator, as the real one is

    monkeypatch.setattr("model_train_protocol.export._export._examples", broken)
    with pytest.raises(RuntimeError):
        export_protocol(build_protocol(), out, "text", val_split=0.3)
    assert list(out.iterdir()) == []


def _export(args: tuple[str, float, int]) -> None:
    out, split, seed = args
    protocol = build_protocol()
    if seed % 2:  # two different contents: each export's files must come from one run
        protocol.add_context("An extra line that only the odd runs have.")
    export_protocol(protocol, out, "text", val_split=split, seed=seed, context=False)


def test_concurrent_exports_into_one_folder_never_mix(tmp_path):
    out = tmp_path / "shared"
    out.mkdir()
    jobs = [(str(out), 0.3, seed) for seed in range(8)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.map(_export, jobs)
    train, val = read_jsonl(out / "train.jsonl"), read_jsonl(out / "val.jsonl")
    alone = tmp_path / "alone"
    for seed in range(8):  # the folder holds exactly the pair one of the runs wrote
        _export((str(alone / str(seed)), 0.3, seed))
        if (read_jsonl(alone / str(seed) / "train.jsonl"), read_jsonl(alone / str(seed) / "val.jsonl")) == (train, val):
            break
    else:
        pytest.fail("train.jsonl and val.jsonl do not come from one export")
    # the split files and the tool files beside them (dataset_info.json, ...), nothing else: no temp file
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (alone / str(seed)).iterdir())
    assert {"train.jsonl", "val.jsonl"} <= {p.name for p in out.iterdir()}


def test_a_later_export_without_a_split_removes_the_stale_val_file(tmp_path):
    export_protocol(build_protocol(), tmp_path / "a", "text", val_split=0.3)
    export_protocol(build_protocol(), tmp_path / "a", "text")
    export_protocol(build_protocol(), tmp_path / "b", "text")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert not (tmp_path / "a" / "val.jsonl").exists()


def test_stale_temp_files_of_killed_saves_are_cleaned_by_later_saves(tmp_path):
    target = tmp_path / "cheshire_cat_model.json"
    dead = _dead_pid()
    stale = tmp_path / f".{target.name}.{dead}.abc123{TEMP_SUFFIX}"
    stale.write_bytes(b"x" * 1000)
    running = tmp_path / f".{target.name}.{os.getpid()}.def456{TEMP_SUFFIX}"
    running.write_bytes(b"y")
    other = tmp_path / f".other.json.{dead}.abc{TEMP_SUFFIX}"
    other.write_bytes(b"z")
    link = tmp_path / f".{target.name}.{dead}.lnk{TEMP_SUFFIX}"
    link.symlink_to(other)
    build_protocol().save(path=tmp_path)
    assert not stale.exists()
    assert running.exists() and other.exists() and link.is_symlink()  # a live writer's, another target's, a link
    clean_stale_temps(target)
    assert running.exists()


def test_atomic_writes_leave_no_temp_file_and_use_the_usual_mode(tmp_path):
    target = tmp_path / "f.json"
    write_atomic(target, "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask


def _dead_pid() -> int:
    """The id of a process that has ended."""
    proc = multiprocessing.get_context("spawn").Process(target=int)
    proc.start()
    proc.join()
    return proc.pid


def test_save_into_a_folder_given_as_an_existing_file_is_an_mtp_error(tmp_path):
    existing = tmp_path / "file"
    existing.write_text("x", encoding="utf-8")
    with pytest.raises(mtp.ProtocolError):
        build_protocol().template(path=existing)


def test_no_write_ever_changes_the_process_umask(tmp_path, monkeypatch):
    """Changing the umask, even for a moment, races with every other thread creating files (issue 9)."""
    import subprocess
    import sys

    from model_train_protocol.jsonio import usual_file_mode

    def forbidden(*args):
        raise AssertionError("os.umask was called")

    monkeypatch.setattr(os, "umask", forbidden)
    protocol = build_protocol()
    protocol.save(path=tmp_path)
    protocol.template(path=tmp_path)
    export_protocol(protocol, tmp_path / "export", "openai-chat", val_split=0.3)
    mode = usual_file_mode(tmp_path)
    assert {p.stat().st_mode & 0o777 for p in tmp_path.rglob("*") if p.is_file()} == {mode}
    code = ("import os\ndef boom(*a): raise SystemExit('umask changed at import')\nos.umask = boom\n"
            "import model_train_protocol, model_train_protocol.jsonio, model_train_protocol.export, "
            "model_train_protocol.model_dir")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
