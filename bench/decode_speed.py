"""Inference speed of a trained model: latency, tokens/s, and what constrained decoding costs.

    python bench/decode_speed.py MODEL_DIR [MODEL_FILE] [--prompts 40] [--rounds 3]

Prompts are the protocol's own examples (rendered by the canonical renderer; the
model directory's ``mtp_model.json`` unless MODEL_FILE names another): like
``mtp eval``, the benchmark reads a protocol, then asks the runtime.
Each prompt is decoded greedily with and without constraints, alternating, so
machine load hits both alike. The constrained decoder writes the final's fixed
tail without running the model, so besides latency and time per token the
time per forward pass (model step plus masking) isolates the cost of the masks.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from model_train_protocol.rules import instruction_names, render_protocol


def measure(model: Any, examples: list, rounds: int = 3) -> dict[str, Any]:
    """Per mode: p50 latency per answer, tokens/s, ms per generated token (medians over rounds)."""
    runs: dict[str, list[tuple[float, int, int]]] = {"constrained": [], "unconstrained": []}
    for _ in range(rounds):
        for example in examples:
            spec = model.spec(example.instruction)
            for mode in runs:
                gen = model.generate(spec, example.prompt, constrained=mode == "constrained")
                runs[mode].append((gen.seconds, gen.new_tokens, gen.forward_passes))
    out: dict[str, Any] = {}
    for mode, items in runs.items():
        seconds = [s for s, _, _ in items]
        tokens = sum(n for _, n, _ in items)
        passes = sum(p for _, _, p in items)
        out[mode] = {
            "answers": len(items),
            "latency_p50_ms": round(1000 * statistics.median(seconds), 2),
            "tokens_per_s": round(tokens / sum(seconds), 1),
            "ms_per_token": round(1000 * sum(seconds) / tokens, 3),
            "ms_per_forward_pass": round(1000 * sum(seconds) / passes, 3),
            "tokens_per_answer": round(tokens / len(items), 1),
        }
    for unit in ("latency_p50_ms", "ms_per_token", "ms_per_forward_pass"):
        out[f"constrained_overhead_{unit}"] = round(out["constrained"][unit] / out["unconstrained"][unit] - 1, 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/decode_speed.py", description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("model_file", nargs="?", help="protocol whose examples are the prompts [default: the model's own]")
    parser.add_argument("--prompts", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)

    import torch

    from model_train_protocol import Protocol
    from model_train_protocol.infer import Model
    from model_train_protocol.model_dir import MODEL_FILE

    if args.threads:
        torch.set_num_threads(args.threads)
    model = Model.load(args.model_dir)
    protocol = Protocol.load(args.model_file or str(Path(args.model_dir) / MODEL_FILE))
    names = instruction_names(protocol, model.specs)
    examples = [e for e in render_protocol(protocol)][: args.prompts]
    from dataclasses import replace

    examples = [replace(e, instruction=names[e.instruction]) for e in examples]
    result = measure(model, examples, args.rounds)
    result["model"] = {"dir": args.model_dir, "parameters": sum(p.numel() for p in model.model.parameters()),
                       "threads": torch.get_num_threads()}
    json.dump(result, sys.stdout, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
