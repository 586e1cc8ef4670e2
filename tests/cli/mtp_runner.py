"""Running ``mtp``: in this process (the CLI tests), or the installed script in a subprocess (the entry-point
smoke tests); and the files the CLI tests start from."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol

_BESIDE = Path(sys.executable).parent / ("mtp.exe" if os.name == "nt" else "mtp")
MTP = str(_BESIDE) if _BESIDE.exists() else shutil.which("mtp")
CSV_DATA = Path(__file__).resolve().parents[1] / "data" / "csv"


#: What the subprocess runs in: a wide plain terminal, no debug switch of the user's.
_TERMINAL = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "PYTHONIOENCODING": "utf-8"}


def mtp(*args: object, cwd: Path | None = None, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``mtp ARGS`` in this process, through the entry point's own ``main`` (error boundary included), with
    the terminal of :func:`mtp_process`: the exit status, stdout and stderr a user would see, without starting
    Python and importing PyTorch again (a second each). An exception that escapes ``main`` is written to stderr
    as Python would, so "no traceback" checks still see it."""
    from click.testing import CliRunner

    from model_train_protocol.cli import main

    saved_argv, saved_cwd = sys.argv, Path.cwd()
    with CliRunner().isolation(input=stdin, env={**_TERMINAL, "MTP_DEBUG": None}) as streams:
        sys.argv = ["mtp", *map(str, args)]
        code = 0
        try:
            if cwd is not None:
                os.chdir(cwd)
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - what the interpreter would print, then exit 1
            sys.stderr.write(traceback.format_exc())
            code = 1
        finally:
            sys.argv = saved_argv
            os.chdir(saved_cwd)
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = streams[0].getvalue().decode("utf-8"), streams[1].getvalue().decode("utf-8")
    return subprocess.CompletedProcess(["mtp", *map(str, args)], code, out, err)


def mtp_process(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed entry point (not the module) as a user would, with a wide plain terminal."""
    if MTP is None:
        pytest.fail("the mtp script is not installed: pip install -e .")
    env = {**os.environ, **_TERMINAL}
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
