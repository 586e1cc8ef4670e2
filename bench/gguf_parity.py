"""Parity of a GGUF export in llama.cpp with the Python runtime: same prompts, greedy, each instruction's grammar.

    MTP_LLAMA_CPP=/path/to/llama.cpp/build python bench/gguf_parity.py MODEL_DIR [--quant f16 q8_0] [--threads 2]

The prompts are the protocol's own (every rendered example, guardrail prompts
included, each distinct prompt once). For each quantisation the model
directory is exported (``export_gguf``) and every prompt runs through
``Model.complete`` (constrained, greedy) and through ``llama-completion
--grammar-file`` (``--temp 0``). Reported: how many llama.cpp answers parse
under the template, how many name the same final (and integer) and the same
text as the Python runtime's own choice (before any confidence threshold), and
p50/p95 latency and tokens/s of both (llama.cpp: its own timings of the
prompt and generation, model loading excluded; wall time of the process also
given). Results are printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_TIMING = re.compile(r"(prompt eval time|eval time|total time) =\s+([0-9.]+) ms /\s+(\d+)")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _llama(binary: Path, gguf: Path, grammar: Path, prompt: str, threads: int) -> tuple[str, dict[str, Any]]:
    args = [str(binary), "-m", str(gguf), "-p", prompt, "-n", "160", "--temp", "0", "-no-cnv", "--no-warmup",
            "-t", str(threads), "--seed", "0", "--no-display-prompt", "-c", "1024", "--special", "--grammar-file", str(grammar)]
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, LD_LIBRARY_PATH=str(binary.parent)))
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"llama-completion failed ({done.returncode}): {done.stderr[-3000:]}")
    timings = {name: (float(ms), int(n)) for name, ms, n in _TIMING.findall(done.stderr)}
    marker = " [end of text]\n"  # printed when generation ended on the end-of-generation token
    ended = done.stdout.endswith(marker)
    text = done.stdout[: -len(marker)] if ended else done.stdout
    return (text + "<EOS>" if ended and not text.endswith("<EOS>") else text), {"wall_s": wall, **timings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--quant", nargs="+", default=["f16", "q8_0"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=0, help="at most this many prompts (0: all)")
    parser.add_argument("--llama-cpp", type=Path, default=os.environ.get("MTP_LLAMA_CPP"))
    args = parser.parse_args()
    if args.llama_cpp is None:
        raise SystemExit("set MTP_LLAMA_CPP (or --llama-cpp) to the llama.cpp build directory")
    binary = args.llama_cpp / "bin" / "llama-completion"

    import torch

    from model_train_protocol import export_gguf
    from model_train_protocol.infer import Model, parse_completion
    from model_train_protocol.infer.spec import instruction_names
    from model_train_protocol.render import render_protocol

    torch.set_num_threads(args.threads)
    model = Model.load(args.model_dir)
    names = instruction_names(model.protocol, model.specs)
    prompts: dict[str, str] = {}
    for example in render_protocol(model.protocol):
        prompts.setdefault(example.prompt, names[example.instruction])
    items = list(prompts.items())[: args.limit or None]

    python = []
    for prompt, name in items:
        start = time.perf_counter()
        answer = model.complete(model.spec(name), prompt)
        python.append((answer, time.perf_counter() - start))
    report: dict[str, Any] = {"prompts": len(items), "threads": args.threads, "python": {
        "p50_ms": 1000 * _pct([s for _, s in python], 0.5), "p95_ms": 1000 * _pct([s for _, s in python], 0.95),
        "tokens_per_s": sum(a.tokens for a, _ in python) / sum(s for _, s in python)}}
    for quant in args.quant:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = export_gguf(args.model_dir, Path(tmp) / "bundle", quant=quant)
            parsed = same_final = same_text = 0
            walls, totals, gen_tokens, gen_ms, mismatches = [], [], 0, 0.0, []
            for (prompt, name), (ours, _) in zip(items, python):
                out, timing = _llama(binary, bundle["gguf"], bundle["grammars"][name], prompt, args.threads)
                try:
                    theirs = parse_completion(out, model.spec(name))
                except ValueError:
                    mismatches.append({"prompt": prompt, "python": ours.raw, "llama.cpp": out})
                    continue
                parsed += 1
                final_ok = (theirs.final, theirs.value) == (ours.candidate or ours.final, ours.value)
                same_final += final_ok
                same_text += theirs.text == ours.text
                if not final_ok:
                    mismatches.append({"prompt": prompt, "python": ours.raw, "llama.cpp": out})
                walls.append(timing["wall_s"])
                prompt_ms = timing.get("prompt eval time", (0.0, 0))[0]
                eval_ms, eval_n = timing.get("eval time", (0.0, 0))
                totals.append(prompt_ms + eval_ms)
                gen_tokens += eval_n
                gen_ms += eval_ms
            report[quant] = {
                "gguf_bytes": bundle["gguf"].stat().st_size, "parsed": parsed, "same_final": same_final,
                "same_text": same_text, "agreement": same_final / len(items),
                "p50_ms": _pct(totals, 0.5) if totals else None, "p95_ms": _pct(totals, 0.95) if totals else None,
                "process_p50_ms": 1000 * _pct(walls, 0.5) if walls else None,
                "tokens_per_s": 1000 * gen_tokens / gen_ms if gen_ms else None,
                "mismatches": mismatches[:5],
            }
        print(json.dumps({quant: {k: v for k, v in report[quant].items() if k != "mismatches"}}), file=sys.stderr)
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
