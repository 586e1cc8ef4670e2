"""Parity of a GGUF export in llama.cpp with the Python runtime: same prompts, greedy, each instruction's grammar.

    MTP_LLAMA_CPP=/path/to/llama.cpp/build python bench/gguf_parity.py MODEL_DIR [--quant f16 q8_0] [--threads 1]

The prompts are the protocol's own (every rendered example, guardrail prompts
included, each distinct prompt once), plus those of the model files given with
``--prompts`` (held-out paraphrases written apart from training). For each quantisation the model
directory is exported (``export_gguf``) and every prompt runs through
``Model.complete`` (constrained, greedy) and through libllama with the
instruction's exported grammar, greedy (``mtp-gguf-run``, built from
bench/gguf_run.cpp: the model loads once, as in an engine). Reported: how many
llama.cpp answers parse under the template, how many name the same final (and
integer) and the same text as the Python runtime's own choice (before any
confidence threshold), how many the same final as the Python runtime's language
model itself (``same_model_final``: where an intent head decides the final in
Python, the GGUF, which has no head, can only match this one), and p50/p95
latency per prompt (prompt processing plus generation, model loading excluded)
and tokens/s of both. Printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def python_runs(model: Any, items: list[tuple[str, str]]) -> tuple[list[tuple[Any, float]], dict[str, float]]:
    """Each (prompt, instruction) through the Python runtime: (answer, seconds) per prompt, and p50/p95/tokens/s."""
    runs = []
    for prompt, name in items:
        start = time.perf_counter()
        answer = model.complete(model.spec(name), prompt)
        runs.append((answer, time.perf_counter() - start))
    seconds = [s for _, s in runs]
    return runs, {"p50_ms": 1000 * percentile(seconds, 0.5), "p95_ms": 1000 * percentile(seconds, 0.95),
                  "tokens_per_s": sum(a.tokens for a, _ in runs) / sum(seconds)}


def _llama(binary: Path, gguf: Path, jobs: list[tuple[str, str]], threads: int) -> list[dict[str, Any]]:
    """Every (grammar, prompt) through one mtp-gguf-run process (the model loads once, as in an engine)."""
    stdin = b"".join(f"{len(g.encode())} {len(p.encode())}\n".encode() + g.encode() + p.encode() for g, p in jobs)
    done = subprocess.run([str(binary), str(gguf), str(threads), "160"], input=stdin, capture_output=True,
                          timeout=1800)
    if done.returncode != 0:
        raise SystemExit(f"mtp-gguf-run failed ({done.returncode}): {done.stderr.decode()[-3000:]}")
    results, data = [], done.stdout
    while data:
        header, data = data.split(b"\n", 1)
        _, n_prompt, prompt_ms, n_gen, gen_ms, ended, size = header.decode().split()
        text, data = data[: int(size)].decode("utf-8", "replace"), data[int(size) + 1 :]
        results.append({"prompt_tokens": int(n_prompt), "prompt_ms": float(prompt_ms), "gen_tokens": int(n_gen),
                        "gen_ms": float(gen_ms), "ended": ended == "1", "text": text})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--quant", nargs="+", default=["f16", "q8_0"])
    parser.add_argument("--threads", type=int, default=1, help="threads of both runtimes (more are far slower on busy cores)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many prompts (0: all)")
    parser.add_argument("--prompts", type=Path, action="append", default=[],
                        help="another model file whose prompts are run too (e.g. held-out paraphrases); repeatable")
    parser.add_argument("--llama-cpp", type=Path, default=os.environ.get("MTP_LLAMA_CPP"))
    args = parser.parse_args()
    if args.llama_cpp is None:
        raise SystemExit("set MTP_LLAMA_CPP (or --llama-cpp) to the llama.cpp build directory")
    binary = args.llama_cpp / "bin" / "mtp-gguf-run"
    if not binary.is_file():
        raise SystemExit(f"{binary} is missing: build it from bench/gguf_run.cpp (see its first lines)")

    import torch

    from model_train_protocol import Protocol, export_gguf
    from model_train_protocol.infer import Model, parse_completion
    from model_train_protocol.rules import instruction_names, render_protocol

    torch.set_num_threads(args.threads)
    model = Model.load(args.model_dir)
    prompts: dict[str, str] = {}
    for protocol in [Protocol.load(args.model_dir / "mtp_model.json"), *(Protocol.load(path) for path in args.prompts)]:
        names = instruction_names(protocol, model.specs)
        for example in render_protocol(protocol):
            prompts.setdefault(example.prompt, names[example.instruction])
    items = list(prompts.items())[: args.limit or None]

    python, timing = python_runs(model, items)
    report: dict[str, Any] = {"prompts": len(items), "threads": args.threads, "python": timing,
                              "intent_head": model.intent is not None}
    for quant in args.quant:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = export_gguf(args.model_dir, Path(tmp) / "bundle", quant=quant, without_intent_head=True)
            jobs = [(bundle["grammars"][name].read_text(encoding="utf-8"), prompt) for prompt, name in items]
            runs = _llama(binary, bundle["gguf"], jobs, args.threads)
            parsed = same_final = same_text = same_model_final = 0
            mismatches = []
            for (prompt, name), (ours, _), run in zip(items, python, runs):
                try:
                    theirs = parse_completion(run["text"], model.spec(name))
                except ValueError:
                    mismatches.append({"prompt": prompt, "python": ours.raw, "llama.cpp": run["text"]})
                    continue
                parsed += 1
                final_ok = (theirs.final, theirs.value) == (ours.candidate or ours.final, ours.value)
                same_final += final_ok
                same_text += theirs.text == ours.text
                # what the language model chose (a state machine's state), before any intent head
                same_model_final += (theirs.state if theirs.state is not None else theirs.final) == ours.model_final
                if not final_ok:
                    mismatches.append({"prompt": prompt, "python": ours.raw, "llama.cpp": run["text"]})
            latency = [r["prompt_ms"] + r["gen_ms"] for r in runs]
            report[quant] = {
                "gguf_bytes": bundle["gguf"].stat().st_size, "parsed": parsed, "same_final": same_final,
                "same_text": same_text, "agreement": same_final / len(items), "same_model_final": same_model_final,
                "p50_ms": percentile(latency, 0.5), "p95_ms": percentile(latency, 0.95),
                "tokens_per_s": 1000 * sum(r["gen_tokens"] for r in runs) / sum(latency),
                "mismatches": mismatches[:5],
            }
        print(json.dumps({quant: {k: v for k, v in report[quant].items() if k != "mismatches"}}), file=sys.stderr)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
