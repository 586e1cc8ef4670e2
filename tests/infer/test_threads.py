"""One thread policy: the cores the load average leaves free (at least one), for Model.load and every command."""

from __future__ import annotations

import os

import pytest

from model_train_protocol import extras
from model_train_protocol.errors import MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol


@pytest.mark.parametrize("usable, load, expected", [(2, 4.4, 1), (2, 0.0, 2), (2, 0.7, 1), (8, 3.0, 5), (4, 9.0, 1),
                                                    (1, 0.0, 1)])
def test_the_default_is_the_cores_the_load_leaves_free(monkeypatch, usable, load, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(usable)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert extras.default_threads() == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_a_bad_thread_count_is_a_clear_error(bad):
    pytest.importorskip("torch")
    with pytest.raises(MTPValueError, match="threads must be a whole number"):
        extras.use_threads(bad)


def test_model_load_sets_the_threads(make_model_dir, tmp_path, monkeypatch):
    """Regression: Model.load had no threads and left PyTorch's default (every core), 10x slower on busy cores."""
    torch = pytest.importorskip("torch")
    from model_train_protocol.infer import Model

    before = torch.get_num_threads()
    try:
        directory = make_model_dir(build_protocol(), tmp_path / "m")
        Model.load(directory, threads=3)
        assert torch.get_num_threads() == 3
        monkeypatch.setattr(extras, "default_threads", lambda: 2)
        Model.load(directory)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_every_command_that_runs_a_model_has_threads():
    import typer.main

    from model_train_protocol.cli import app

    commands = typer.main.get_command(app).commands
    for name in ("run", "chat", "eval", "serve", "train"):
        assert any("--threads" in p.opts for p in commands[name].params), name
