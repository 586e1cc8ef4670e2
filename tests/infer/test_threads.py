"""One thread policy: the cores other work leaves free (at least one), for Model.load and every command."""

from __future__ import annotations

import os

import pytest

from model_train_protocol import extras
from model_train_protocol.errors import MTPValueError
from model_train_protocol.examples.cheshire_cat import build_protocol


@pytest.mark.parametrize("usable, load, now, expected", [
    (2, 4.4, None, 1), (2, 0.0, None, 2), (2, 0.7, None, 1), (8, 3.0, None, 5), (4, 9.0, None, 1), (1, 0.0, None, 1),
    (2, 1.0, 0.1, 2),  # the average still counts a job that just ended: the cores are free now
    (2, 4.4, 2.0, 1), (8, 3.0, 1.0, 7),
    (2, 0.7, 1.9, 1),  # busier now than on average: the average, lower, still leaves one core
])
def test_the_default_is_the_cores_other_work_leaves_free(monkeypatch, usable, load, now, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(usable)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(extras, "_busy_now", lambda cores: now)
    assert extras.default_threads() == expected


def test_the_cores_busy_now_come_from_the_system_s_cpu_times(monkeypatch, tmp_path):
    stat = tmp_path / "stat"
    #         user nice system idle iowait irq softirq steal
    stat.write_text("cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4 5\n")

    def later(seconds):  # the window passes: 400 more ticks, 300 of them busy on the two cores
        stat.write_text("cpu  350 0 100 880 70 0 0 0 0 0\n")

    monkeypatch.setattr(extras, "_PROC_STAT", str(stat))
    monkeypatch.setattr("time.sleep", later)
    assert extras._busy_now(2) == pytest.approx(2 * 300 / 400)
    monkeypatch.setattr(extras, "_PROC_STAT", str(tmp_path / "missing"))
    assert extras._busy_now(2) is None


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
