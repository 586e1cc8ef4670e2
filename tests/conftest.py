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
