"""Shared fixtures: paths to test data and to the reference data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SHARED = REPO.parent / "shared"


@pytest.fixture
def data_dir() -> Path:
    """tests/data: fixture files copied into the project."""
    return DATA


@pytest.fixture
def shared_dir() -> Path:
    """../shared/reference/data, or skip when the reference data is not beside the repository."""
    path = SHARED / "reference" / "data"
    if not path.is_dir():
        pytest.skip("../shared/reference/data is not available")
    return path


def _tree_digest(folder: Path) -> dict[str, str]:
    import hashlib

    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """The session's cache of untrained tiny model directories of the Cheshire Cat (``tiny_model_dir(encrypt)``),
    written once per test process and shared by the tests that only read them; a test that changes one fails
    the session at teardown (copy it first: ``shutil.copytree``)."""
    from infer.tiny import cheshire, write_model_dir

    made: dict[bool, tuple[Path, dict[str, str]]] = {}

    def get(encrypt: bool) -> Path:
        if encrypt not in made:
            folder = write_model_dir(cheshire(encrypt), tmp_path_factory.mktemp("shared") / "model")
            made[encrypt] = folder, _tree_digest(folder)
        return made[encrypt][0]

    yield get
    for folder, digest in made.values():
        assert _tree_digest(folder) == digest, f"a test changed the shared model directory {folder}"
