"""Running the installed ``mtp`` script in a subprocess, and the files the CLI tests start from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol

_BESIDE = Path(sys.executable).parent / ("mtp.exe" if os.name == "nt" else "mtp")
MTP = str(_BESIDE) if _BESIDE.exists() else shutil.which("mtp")
CSV_DATA = Path(__file__).resolve().parents[1] / "data" / "csv"


def mtp(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point (not the module) as a user would, with a wide plain terminal."""
    if MTP is None:
        pytest.fail("the mtp script is not installed: pip install -e .")
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONIOENCODING": "utf-8"}
    env.pop("MTP_DEBUG", None)
    return subprocess.run([MTP, *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", timeout=300)


def assert_clean_error(proc: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """A failed run: the expected exit status, one ``error:`` line on stderr, and no traceback anywhere."""
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def assert_usage_error(proc: subprocess.CompletedProcess[str]) -> None:
    """click's usage errors: exit 2, a message on stderr, no traceback."""
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "Usage:" in proc.stderr or "error:" in proc.stderr


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Cheshire Cat model file (and its template beside it), written by the library."""
    directory = tmp_path_factory.mktemp("model")
    protocol = build_protocol()
    protocol.template(path=directory)
    return protocol.save(path=directory)


def edited_copy(model: Path, target: Path, edit) -> Path:
    """A copy of ``model`` with ``edit(document)`` applied."""
    document = json.loads(model.read_text(encoding="utf-8"))
    edit(document)
    target.write_text(json.dumps(document, indent=4, ensure_ascii=False), encoding="utf-8")
    return target
