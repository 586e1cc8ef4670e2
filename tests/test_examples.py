"""The Cheshire Cat example: golden files, byte for byte, and the same bytes in every process.

After an intended change of the file format or of the example, regenerate the golden files with
``python -m model_train_protocol.examples.cheshire_cat tests/data/golden`` and review the diff.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core_helpers import assert_files_valid
from model_train_protocol.examples.cheshire_cat import build_protocol

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
NAMES = ("cheshire_cat_model.json", "cheshire_cat_template.json")


def test_example_matches_the_golden_files(tmp_path):
    protocol = build_protocol()
    assert protocol.validate() == []
    written = [protocol.save(path=tmp_path), protocol.template(path=tmp_path)]
    assert [p.name for p in written] == list(NAMES)
    for path in written:
        assert path.read_bytes() == (GOLDEN / path.name).read_bytes(), f"{path.name} differs from the golden file"
    assert_files_valid(*written)


def test_golden_files_are_utf8_without_trailing_newline():
    for name in NAMES:
        data = (GOLDEN / name).read_bytes()
        assert not data.endswith(b"\n")
        assert b"\\u" not in data  # non-ASCII written literally
    assert "“" in (GOLDEN / NAMES[0]).read_text(encoding="utf-8")


def _save_in_subprocess(out: Path, seed: str) -> dict[str, bytes]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    subprocess.run([sys.executable, "-m", "model_train_protocol.examples.cheshire_cat", str(out)],
                   check=True, env=env, capture_output=True, timeout=120)
    return {name: (out / name).read_bytes() for name in NAMES}


@pytest.mark.parametrize("seeds", [("0", "12345")])
def test_two_processes_with_different_hash_seeds_write_identical_bytes(tmp_path, seeds):
    first = _save_in_subprocess(tmp_path / "a", seeds[0])
    second = _save_in_subprocess(tmp_path / "b", seeds[1])
    assert first == second
    assert first[NAMES[0]] == (GOLDEN / NAMES[0]).read_bytes()


def test_saving_twice_in_one_process_is_identical(tmp_path):
    protocol = build_protocol()
    a = protocol.save(path=tmp_path / "a").read_bytes()
    b = protocol.save(path=tmp_path / "b").read_bytes()
    assert a == b


def test_readme_api_example_runs_and_saves_valid_files(tmp_path, monkeypatch):
    """The README's "API by example" section is runnable as written."""
    import re

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### API by example")[1].split("\n## ")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
    assert_files_valid(tmp_path / "shop_model.json", tmp_path / "shop_template.json")


def test_the_repository_script_writes_the_package_example(tmp_path):
    """examples/cheshire_cat.py is a thin entry point onto the package's example, not a second copy."""
    script = Path(__file__).resolve().parents[1] / "examples" / "cheshire_cat.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})
    for name in NAMES:
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes()


def test_no_sample_answers_by_repeating_one_of_its_input_lines():
    """Regression: a numeric sample answered with the Cat's own input line, and the fine-tuned demo model then
    echoed that line back for the new-wording question."""
    for instruction in build_protocol().instructions:
        for sample in instruction.samples:
            assert sample.output not in [snippet.string for snippet in sample.inputs], (instruction.name, sample.output)
