"""Every code block of README.md and docs/*.md runs as written, in order, and shows what it says it shows.

Each document runs in a fresh temporary directory that holds a copy of the
repository's ``examples/`` folder (the files the examples use that no earlier
block writes). Per block kind:

- ``python``: executed in one namespace per document (later blocks see earlier names);
- ``bash``: run as one ``bash -e`` script (``# ...`` lines are comments, e.g. shown output);
- ``console``: each ``$ command`` runs and its output (stdout and stderr, as a terminal shows them) must
  match the lines below it: ``...`` alone on a line stands for any lines, ``...`` inside a line for any
  text. A command whose output is shown may fail (exit non-zero) when it prints what is shown; a command
  shown without output must succeed. A traceback always fails.

An HTML comment on the line before a block changes that: ``<!-- docs-test: slow -->`` (trains a model with a
pretrained base or takes minutes: runs only under ``pytest -m slow``; so must the blocks that use its files), ``<!-- docs-test: skip REASON -->`` (cannot run here at all, e.g. installs or needs GPUs; the reason is
required), ``<!-- docs-test: output-varies -->`` (console output not compared: timings, trained models).
``pip install`` lines are the setup this test runs in, so they are not run again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = ["README.md", *sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").glob("*.md"))]
LANGUAGES = ("python", "bash", "console")
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!-- docs-test: (slow|output-varies|skip (.+)) -->$")


@dataclass
class Block:
    document: str
    line: int
    language: str
    code: str
    marker: str = ""


def blocks(document: str) -> list[Block]:
    """The fenced code blocks of ``document`` in the languages this test runs, with their markers."""
    lines = (ROOT / document).read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match or not match.group(1):
            if match:  # an unlabelled block (text, grammar): skip to its end
                i += 1
                while i < len(lines) and not lines[i].startswith("```"):
                    i += 1
            i += 1
            continue
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        previous = next((lines[j] for j in range(start - 1, -1, -1) if lines[j].strip()), "")
        marker = _MARKER.match(previous.strip())
        if match.group(1) in LANGUAGES:
            found.append(Block(document, start + 1, match.group(1), "\n".join(body) + "\n",
                               marker.group(1) if marker else ""))
    return found


def _environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""), "NO_COLOR": "1",
           "TERM": "dumb", "PYTHONIOENCODING": "utf-8", "PYTHONUNBUFFERED": "1", "HF_HUB_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    for name in ("MTP_DEBUG", "COLUMNS"):
        env.pop(name, None)
    return env


def _without_installs(script: str) -> str:
    """The script with its ``pip install`` commands left out (this test runs in the installed project)."""
    kept = []
    for line in script.splitlines():
        command = line.split("#", 1)[0].strip()
        if re.match(r"^(python3? -m )?pip install ", command):
            rest = command.split("&&", 1)
            line = rest[1].strip() if len(rest) == 2 else ""
        kept.append(line)
    return "\n".join(kept) + "\n"


def _console_commands(code: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$ `` line; continuation lines end in a backslash."""
    commands: list[tuple[str, list[str]]] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            commands[-1][1].append(line)
            i += 1
            continue
        command = line[2:]
        while command.endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command[:-1] + " " + lines[i].strip()
        commands.append((command, []))
        i += 1
    return commands


def _line_pattern(expected: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in expected.rstrip().split("...")) + r"\Z", re.S)


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """``actual`` lines match ``expected``: ``...`` alone matches any lines, inside a line any text."""
    if not expected:
        return not actual
    head, rest = expected[0], expected[1:]
    if head.strip() == "...":
        return any(output_matches(rest, actual[k:]) for k in range(len(actual) + 1))
    return bool(actual) and bool(_line_pattern(head).match(actual[0].rstrip())) and output_matches(rest, actual[1:])


class DocumentRun:
    """Runs the blocks of one document in order, in one directory, sharing one Python namespace."""

    def __init__(self, directory: Path) -> None:
        self.cwd = directory
        self.namespace: dict = {"__name__": "__docs__"}
        self.env = _environment()

    def run(self, block: Block) -> None:
        where = f"{block.document}:{block.line}"
        if block.language == "python":
            previous = Path.cwd()
            os.chdir(self.cwd)
            try:
                exec(compile(block.code, where, "exec"), self.namespace)
            finally:
                os.chdir(previous)
        elif block.language == "bash":
            self._bash(where, block.code)
        else:
            for command, expected in _console_commands(block.code):
                compare = bool(expected) and block.marker != "output-varies"
                output = self._bash(where, command, may_fail=compare)
                if compare:
                    actual = output.splitlines()
                    assert output_matches([e for e in expected], actual), (
                        f"{where}: `{command}` printed\n{output}\nbut the document shows\n" + "\n".join(expected))

    def _bash(self, where: str, script: str, may_fail: bool = False) -> str:
        marker = self.cwd / ".docs-test-cwd"
        full = f"set -eo pipefail\ncd {shlex_quote(str(self.cwd))}\n{_without_installs(script)}\npwd > {shlex_quote(str(marker))}\n"
        proc = subprocess.run(["bash", "-c", full], env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              text=True, encoding="utf-8", timeout=1800)
        output = proc.stdout
        assert "Traceback" not in output, f"{where}: a traceback\n{output}"
        if not may_fail:
            assert proc.returncode == 0, f"{where}: `{script.strip()}` failed ({proc.returncode})\n{output}"
        if marker.is_file():
            self.cwd = Path(marker.read_text(encoding="utf-8").strip())
            marker.unlink()
        return output


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def _run_document(document: str, tmp_path: Path, slow: bool) -> list[Block]:
    work = tmp_path / "docs"
    shutil.copytree(ROOT / "examples", work / "examples")
    shutil.copytree(ROOT / "bench", work / "bench", ignore=shutil.ignore_patterns("results", "__pycache__"))
    run = DocumentRun(work)
    skipped = []
    for block in blocks(document):
        if block.marker.startswith("skip") or (block.marker == "slow" and not slow):
            skipped.append(block)
            continue
        run.run(block)
    return skipped


@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_runs_as_written(document: str, tmp_path: Path) -> None:
    """Every block but the slow ones (they run under ``-m slow``)."""
    _run_document(document, tmp_path, slow=False)


@pytest.mark.slow
@pytest.mark.parametrize("document", DOCUMENTS)
def test_document_runs_as_written_with_slow_blocks(document: str, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    _run_document(document, tmp_path, slow=True)


def test_markers_and_languages_are_known() -> None:
    """A typo in a marker or a fence language must not silently skip a block."""
    for document in DOCUMENTS:
        text = (ROOT / document).read_text(encoding="utf-8")
        for comment in re.findall(r"<!-- docs-test:.*?-->", text):
            assert _MARKER.match(comment), f"{document}: unknown marker {comment}"
        for language in re.findall(r"^```(\w+)", text, re.M):
            assert language in LANGUAGES + ("text", "jsonc", "json", "yaml", "toml", "jinja"), (document, language)


def test_output_matching() -> None:
    assert output_matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert output_matches(["a ... z"], ["a middle z"])
    assert not output_matches(["a", "d"], ["a", "b", "d"])
    assert not output_matches(["x"], [])
    assert output_matches(["...", "last"], ["last"])


#: The documents whose option tables give defaults, and the command a table without a "command" column is of.
_OPTION_TABLES = {"docs/training.md": "train", "docs/inference.md": None, "docs/deploy.md": "serve"}


def _tables(document: str) -> list[list[dict[str, str]]]:
    """The markdown tables of ``document`` whose header has an ``option`` and a ``default`` column, as rows."""
    tables, header, rows = [], None, []
    for line in (ROOT / document).read_text(encoding="utf-8").splitlines() + [""]:
        if not line.startswith("|"):
            if header and {"option", "default"} <= set(header):
                tables.append(rows)
            header, rows = None, []
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(header, cells)))
    return tables


def _cli_default(command: str, option: str) -> str:
    """The default ``mtp COMMAND --help`` gives ``option``: the "default: ..." of its help text, else its value."""
    import typer.main

    from model_train_protocol.cli import app

    params = typer.main.get_command(app).commands[command].params
    param = next((p for p in params if option in p.opts or option in getattr(p, "secondary_opts", ())), None)
    assert param is not None, f"mtp {command} has no {option}"
    text = " ".join((getattr(param, "help", "") or "").split())
    start = text.find("default: ")
    if start >= 0:
        depth, end = 0, start + len("default: ")
        while end < len(text) and not (depth == 0 and text[end] in ")]"):
            depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(text[end], 0)
            end += 1
        return text[start + len("default: "):end].rstrip(".")
    if isinstance(param.default, bool):
        return "on" if param.default else "off"
    return "none" if param.default is None else str(param.default)


@pytest.mark.parametrize("document", sorted(_OPTION_TABLES))
def test_documented_defaults_are_the_clis(document: str) -> None:
    """Regression: docs/training.md gave --val-split 0.1 (0 for pretrained bases) and docs/inference.md called a
    learning rate the default that no longer was: every default in an option table is the command's own."""
    rows = [row for table in _tables(document) for row in table]
    assert rows, f"{document}: no option table"
    for row in rows:
        option = re.fullmatch(r"`(--[\w-]+)`", row["option"])
        assert option, f"{document}: one option per row, in backticks: {row['option']}"
        commands = row["command"].split(", ") if "command" in row else [_OPTION_TABLES[document]]
        for command in commands:
            assert row["default"].strip("`") == _cli_default(command, option.group(1)), (document, command, row)


def test_the_training_table_lists_every_option_the_issue_named() -> None:
    listed = {row["option"].strip("`") for table in _tables("docs/training.md") for row in table}
    assert {"--val-split", "--lr", "--threads", "--force", "--progress", "--max-false-refusals"} <= listed
