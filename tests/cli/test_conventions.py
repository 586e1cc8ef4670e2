"""The command line follows the ecosystem's conventions: --version, -h, defaults in every help, one meaning per
short flag, completion, --verbose/--quiet, --json wherever there is a result, ``mtp env``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from .mtp_runner import MTP, model_file, mtp  # noqa: F401


def _commands():
    import typer.main

    from model_train_protocol.cli import app

    group = typer.main.get_command(app)
    return group, {name: group.commands[name] for name in group.commands}


def test_version_and_short_help() -> None:
    from model_train_protocol import __version__

    proc = mtp("--version")
    assert proc.returncode == 0 and proc.stdout.startswith(f"mtp {__version__} ")
    assert mtp("-h").stdout == mtp("--help").stdout and "Usage: mtp" in mtp("-h").stdout


def test_every_help_shows_its_defaults_untouched() -> None:
    _, commands = _commands()
    assert {"env", "train", "export", "demo"} <= set(commands)
    for name, command in commands.items():
        proc = mtp(name, "-h")
        assert proc.returncode == 0, (name, proc.stderr)
        text = proc.stdout
        assert "<bool>" not in text and "…" not in text, name
        shown = [p for p in command.params if getattr(p, "show_default", None) is not False
                 and p.param_type_name == "option" and p.default is not None and p.default is not False
                 and not (isinstance(p.default, (list, tuple)) and not p.default)
                 and not (p.is_flag and not p.secondary_opts)]
        assert text.count("[default: ") >= len(shown), (name, [p.name for p in shown])
    train_help = " ".join(mtp("train", "-h").stdout.split())
    for default in ("[default: smollm2]", "(default: 0 pretrained, 0.1 scratch)", "(default: 4 pretrained, at least 40 steps; "
                    "1 where the intent head decides every final, at least 20 steps; 60 scratch)", "(default: 6e-4 fine-tune, 2e-3 LoRA, 3e-3 scratch)", "(default: 20 of SmolLM2's 30",
                    "(default: 1 for the scratch model", "[default: 0.0; 0.0<=x<=0.99]"):
        assert default in train_help


def test_a_short_flag_means_one_thing_everywhere() -> None:
    group, commands = _commands()
    meaning: dict[str, set[str]] = {}
    for command in [group, *commands.values()]:
        for param in command.params:
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if len(o) == 2 and o.startswith("-")):
                meaning.setdefault(short, set()).update(longs)
    assert {short: longs for short, longs in meaning.items() if len(longs) > 1} == {}
    assert meaning["-f"] == {"--format"} and meaning["-o"] == {"--out"}


def test_shell_completion() -> None:
    assert "--install-completion" in mtp("--help").stdout
    env = {**os.environ, "_MTP_COMPLETE": "complete_bash", "COMP_WORDS": "mtp exp", "COMP_CWORD": "1"}
    proc = subprocess.run([MTP], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.split() == ["export", "export-model"]


def test_quiet_hides_warnings_not_results(model_file: Path) -> None:  # noqa: F811
    loud = mtp("info", model_file)
    assert "warning:" in loud.stderr
    quiet = mtp("-q", "info", model_file)
    assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == loud.stdout
    both = mtp("--verbose", "--quiet", "info", model_file)
    assert both.returncode == 2 and "exclude each other" in both.stderr


def test_quiet_belongs_to_its_own_invocation(model_file: Path) -> None:  # noqa: F811
    """Regression (issue 22): --quiet silenced a module-level console for every later command in the process."""
    from model_train_protocol.cli import _app

    from infer.tiny import mtp_in_process

    loud = mtp_in_process("info", model_file)
    quiet = mtp_in_process("--quiet", "info", model_file)
    after = mtp_in_process("info", model_file)
    assert loud[0] == quiet[0] == after[0] == 0 and "warning:" in loud[2]
    assert quiet[2] == "" and quiet[1] == loud[1]
    assert after == loud  # the quiet run left nothing behind
    first, second = _app.Consoles.create(quiet=True), _app.Consoles.create(quiet=False)
    assert first.err.quiet and not second.err.quiet and first.err is not second.err


def test_verbose_runs_the_command(model_file: Path) -> None:  # noqa: F811
    proc = mtp("-v", "validate", model_file)
    assert proc.returncode == 0 and "valid" in proc.stdout


def test_verbose_lives_in_the_cli_context_not_the_environment(model_file: Path, monkeypatch) -> None:  # noqa: F811
    """Regression (issue 22): --verbose wrote MTP_DEBUG=1 into the process's environment, for good."""
    import os

    from model_train_protocol.cli._app import _verbose_in

    from infer.tiny import mtp_in_process

    monkeypatch.delenv("MTP_DEBUG", raising=False)
    code, out, _ = mtp_in_process("--verbose", "validate", model_file)
    assert code == 0 and "valid" in out
    assert "MTP_DEBUG" not in os.environ
    assert _verbose_in(["-v", "run", "dir"]) and _verbose_in(["--quiet", "--verbose", "info"])
    assert not _verbose_in(["run", "dir", "-v"]) and not _verbose_in([])  # a command's own -v is not the root's


def test_verbose_shows_an_internal_errors_traceback(monkeypatch, capsys) -> None:
    """An internal error is one line, and with --verbose its traceback (the boundary reads the root options)."""
    import sys

    from model_train_protocol.cli import _app

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(_app, "app", broken)
    monkeypatch.delenv("MTP_DEBUG", raising=False)
    monkeypatch.setattr(sys, "argv", ["mtp", "info", "x"])
    with pytest.raises(SystemExit) as exited:
        _app.main()
    assert exited.value.code == 1 and "internal error (RuntimeError: a bug)" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["mtp", "--verbose", "info", "x"])
    with pytest.raises(RuntimeError, match="a bug"):
        _app.main()


def test_json_wherever_there_is_a_result(model_file: Path, tmp_path: Path) -> None:  # noqa: F811
    out = json.loads(mtp("export", model_file, "-f", "openai-chat", "-o", tmp_path / "x", "--json").stdout)
    assert out["counts"] == {"train": 27} and out["guardrail_examples"] == 12
    assert {Path(p).name for p in out["tool_files"]} == {"chat_template.jinja", "added_tokens.json",
                                                          "dataset_info.json", "axolotl.yaml"}
    template = json.loads(mtp("template", model_file, "-o", tmp_path / "t", "--json").stdout)
    assert Path(template["file"]).is_file()
    converted = json.loads(mtp("convert", model_file, "--to", "2.0.1", "-o", tmp_path / "c", "--json").stdout)
    assert converted["version"] == "2.0.1" and Path(converted["file"]).is_file()
    info = json.loads(mtp("info", model_file, "--json").stdout)
    assert info["name"] == "cheshire_cat"
    env = json.loads(mtp("env", "--json").stdout)
    assert env["packages"]["mtp-toolkit"] and env["python"].count(".") == 2


def test_env_reports_versions_base_and_device() -> None:
    from model_train_protocol.train import environment_report

    report = environment_report()
    assert set(report) == {"python", "executable", "platform", "packages", "smollm2_base", "sentence_encoder", "device"}
    try:
        import torch
    except ImportError:
        assert report["device"]["auto"] is None
    else:
        assert report["packages"]["torch"] == torch.__version__
        assert report["device"]["auto"] == ("cuda" if torch.cuda.is_available() else "cpu")
    proc = mtp("env")
    assert proc.returncode == 0 and "transformers" in proc.stdout and "smollm2 base" in proc.stdout
    assert "sentence encoder" in proc.stdout


def test_option_names_are_whole_at_80_columns() -> None:
    _, commands = _commands()
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    for name in ("train", "export", "eval"):
        proc = subprocess.run([MTP, name, "-h"], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0
        for param in commands[name].params:
            for option in [*param.opts, *param.secondary_opts]:
                if option.startswith("-"):
                    assert option in proc.stdout, (name, option)
        assert max(len(line) for line in proc.stdout.splitlines()) <= 100
