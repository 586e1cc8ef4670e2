"""One module reads the environment: model_train_protocol/_env.py. Nothing else in the package touches
``os.environ`` or ``os.getenv``, checked on the source with ``ast``; and what that module reads."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from model_train_protocol import _env
from model_train_protocol.errors import MTPError, MTPValueError
from model_train_protocol.serve import ServeExtraMissing, require_serve_extra
from model_train_protocol.train import TrainExtraMissing

SERVE_HINT, TRAIN_HINT, require_train_extra = _env.SERVE_INSTALL_HINT, _env.TRAIN_INSTALL_HINT, _env.require_train_extra

PACKAGE = Path(__file__).resolve().parents[1] / "model_train_protocol"
#: The names of the os module that read or change the environment.
ENVIRONMENT_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_uses(source: str) -> list[int]:
    """Lines of ``source`` that use the process environment: ``os.environ``, ``os.getenv``, ... or those names
    imported from ``os``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in ENVIRONMENT_NAMES:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and any(
                alias.name in ENVIRONMENT_NAMES for alias in node.names):
            lines.append(node.lineno)
    return lines


def test_only_the_env_module_reads_the_environment() -> None:
    found = {str(path.relative_to(PACKAGE)): lines for path in sorted(PACKAGE.rglob("*.py"))
             if path.name != "_env.py" or path.parent != PACKAGE
             if (lines := environment_uses(path.read_text(encoding="utf-8")))}
    assert found == {}
    assert environment_uses((PACKAGE / "_env.py").read_text(encoding="utf-8"))  # the module the check spares


@pytest.mark.parametrize("source", ["import os\nx = os.environ.get('A')", "import os as o\no.getenv('A')",
                                    "from os import environ", "from os import getenv as g",
                                    "import os\nos.environ['A'] = '1'", "import os\nos.putenv('A', '1')"])
def test_every_way_to_the_environment_is_found(source: str) -> None:
    assert environment_uses(source)


def test_the_cache_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MTP_CACHE_DIR", str(tmp_path / "mtp"))
    assert _env.cache_root() == tmp_path / "mtp"
    monkeypatch.setenv("MTP_CACHE_DIR", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert _env.cache_root() == tmp_path / "xdg" / "mtp-toolkit"
    monkeypatch.delenv("MTP_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert _env.cache_root() == Path.home() / ".cache" / "mtp-toolkit"


def test_byte_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTP_TEST_BYTES", raising=False)
    assert _env.byte_limit("MTP_TEST_BYTES", 7) == 7
    monkeypatch.setenv("MTP_TEST_BYTES", "12")
    assert _env.byte_limit("MTP_TEST_BYTES", 7) == 12
    for bad in ("0", "-3", "lots"):
        monkeypatch.setenv("MTP_TEST_BYTES", bad)
        with pytest.raises(MTPValueError, match="MTP_TEST_BYTES=.* must be a positive number of bytes"):
            _env.byte_limit("MTP_TEST_BYTES", 7)


def test_the_torchrun_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    assert (_env.world_size(), _env.rank(), _env.local_rank()) == (1, 0, 0)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert (_env.world_size(), _env.rank(), _env.local_rank()) == (4, 3, 1)


def test_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MTP_DEBUG", raising=False)
    assert not _env.debug()
    monkeypatch.setenv("MTP_DEBUG", "1")
    assert _env.debug()


def test_a_missing_serve_package_is_one_line_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # import uvicorn now raises ImportError
    with pytest.raises(ServeExtraMissing) as raised:
        require_serve_extra()
    message = str(raised.value)
    assert message.startswith("`mtp serve` needs the [serve] extra, but 'uvicorn' cannot be imported")
    assert message.endswith(f"install it with: {SERVE_HINT}") and "\n" not in message
    assert isinstance(raised.value, ImportError) and isinstance(raised.value, MTPError)


def test_a_missing_train_package_is_one_line_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # the first package checked, installed or not
    with pytest.raises(TrainExtraMissing) as raised:
        require_train_extra()
    message = str(raised.value)
    assert message.startswith("training needs the [train] extra, but 'torch' cannot be imported")
    assert message.endswith(f"install it with: {TRAIN_HINT}") and "\n" not in message
    assert TRAIN_HINT == 'pip install ".[train]" (in a clone of the mtp-toolkit repository)'
    assert SERVE_HINT == 'pip install ".[serve,train]" (in a clone of the mtp-toolkit repository)'
