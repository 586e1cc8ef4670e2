"""A model file too large for the memory left is one clear error (issue 20, finding 7: a Rust allocation abort)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from model_train_protocol.errors import MTPFileError
from model_train_protocol.jsonio import _limits as limits
from model_train_protocol.jsonio import read_json_file


def test_a_file_needing_more_memory_than_is_free_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big_model.json"
    path.write_text('{"name": "' + "x" * 100_000 + '"}', encoding="utf-8")
    monkeypatch.setattr(limits, "available_memory", lambda: 7 * 100_000 - 1)
    with pytest.raises(MTPFileError, match="needs about .* MiB of memory"):
        read_json_file(path)
    monkeypatch.setattr(limits, "available_memory", lambda: 7 * 200_000)
    assert len(read_json_file(path)["name"]) == 100_000


def test_available_memory_sees_an_address_space_limit(tmp_path):
    pytest.importorskip("resource")
    path = tmp_path / "big_model.json"
    path.write_text('{"name": "' + "x" * (64 * 1024**2) + '"}', encoding="utf-8")
    script = (
        "import resource, sys\n"
        "from model_train_protocol.jsonio._limits import available_memory\n"
        "from model_train_protocol.cli import main\n"
        "vm = int(open('/proc/self/statm').read().split()[0]) * resource.getpagesize()\n"
        "resource.setrlimit(resource.RLIMIT_AS, (vm + 200 * 1024**2, resource.RLIM_INFINITY))\n"
        "assert available_memory() <= 200 * 1024**2\n"
        f"sys.argv = ['mtp', 'validate', {str(path)!r}]\n"
        "main()\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "needs about" in output and "of memory" in output, output[-2000:]
    assert "Traceback" not in output and "memory allocation" not in output
