"""DDP: two CPU processes over gloo under torchrun; rank 0 alone writes the model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.train import load_trained

SCRIPT = Path(__file__).with_name("ddp_script.py")


def test_two_processes_over_gloo(tmp_path):
    out = tmp_path / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    run = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(SCRIPT), str(out)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [json.loads(Path(f"{out}.rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert [r["manifest_written"] for r in ranks] == [True, False]
    # validation loss is reduced across ranks, so both ranks saw the same numbers
    assert ranks[0]["history"] == ranks[1]["history"] and len(ranks[0]["history"]) == 2
    loaded = load_trained(out, device="cpu")
    assert loaded.manifest["mtp"]["metrics"]["world_size"] == 2
    assert loaded.manifest["mtp"]["metrics"]["steps"] == 4
