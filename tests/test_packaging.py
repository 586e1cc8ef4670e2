"""pyproject.toml: an SPDX license string (no setuptools deprecation warning on install) and pinned test tools."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8"))


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"  # the table form ({text = ...}) is deprecated by setuptools 77
    requires = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    assert requires and int(re.search(r">=\s*(\d+)", requires[0]).group(1)) >= 77


def test_test_extra_pins_trl_and_datasets_and_the_one_torch() -> None:
    test = PYPROJECT["project"]["optional-dependencies"]["test"]
    train = PYPROJECT["project"]["optional-dependencies"]["train"]
    assert any(r.startswith("trl==") for r in test) and any(r.startswith("datasets==") for r in test)
    torch_pins = {r for r in test + train if r.startswith("torch")}
    assert torch_pins == {"torch==2.13.0"}


def test_installed_versions_are_the_pinned_ones() -> None:
    import importlib.metadata

    for requirement in PYPROJECT["project"]["optional-dependencies"]["test"]:
        if "==" in requirement:
            name, version = requirement.split("==")
            try:
                installed = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
            assert installed.split("+")[0] == version, (name, installed)
