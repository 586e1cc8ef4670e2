"""Run by test_distributed.py under torchrun: every rank trains the example with tiny settings."""

from __future__ import annotations

import json
import os
import sys

from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.train import TrainConfig, train

out = sys.argv[1]
result = train(build_protocol(), out, TrainConfig(
    base="scratch", n_layer=1, n_embd=32, n_head=2, vocab_size=300, max_steps=4, eval_every=2, progress=False, check_examples=0,
))
rank = os.environ["RANK"]
with open(f"{out}.rank{rank}.json", "w", encoding="utf-8") as handle:
    json.dump({"world_size": result.metrics["world_size"], "history": result.history,
               "manifest_written": bool(result.manifest)}, handle)
