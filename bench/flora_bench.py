"""libflora (native/flora, the reference runtime's C interface on llama.cpp) against the Python runtime.

    python bench/flora_bench.py MODEL_DIR --library libflora.so [--quant f16 q8_0] [--threads 2]

The prompts are the protocol's own (every rendered example, guardrail prompts included, each distinct prompt
once). Each goes through ``Model.complete`` (constrained, greedy) and, for each quantisation of the directory's
GGUF export, through the library as a game calls it (``Inference`` with the prompt ending in ``<RUN>``, then
``OutputNLM``; the model loads once). Reported: how many answers parse under the template and name the same
final (and integer) as the Python runtime's own choice (before any confidence threshold), p50/p95 latency per
prompt (the call, model loading excluded), tokens/s (answer tokens over that time) and the median TokenSpeed the
library reports. Printed as JSON.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gguf_parity import percentile, python_runs  # bench/ is on sys.path when run as a script


class NLMOutput(ctypes.Structure):
    _fields_ = [("TokenSpeed", ctypes.c_float), ("Size", ctypes.c_int), ("Buffer", ctypes.POINTER(ctypes.c_ubyte))]


def _library(path: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(path.resolve()))
    lib.InitNLM.argtypes, lib.InitNLM.restype = [ctypes.c_char_p, ctypes.c_bool], ctypes.c_void_p
    lib.Inference.argtypes, lib.Inference.restype = [ctypes.c_void_p, ctypes.c_char_p], None
    lib.OutputNLM.argtypes, lib.OutputNLM.restype = [ctypes.c_void_p], ctypes.POINTER(NLMOutput)
    lib.Delete.argtypes, lib.Delete.restype = [ctypes.c_void_p], None
    return lib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("--library", type=Path, required=True, help="libflora.so built from native/flora")
    parser.add_argument("--quant", nargs="+", default=["f16", "q8_0"])
    parser.add_argument("--threads", type=int, default=1, help="threads of both runtimes (more are far slower on busy cores)")
    args = parser.parse_args()
    os.environ["MTP_FLORA_THREADS"] = str(args.threads)

    import torch

    from model_train_protocol import export_gguf
    from model_train_protocol import Protocol
    from model_train_protocol.errors import MTPError
    from model_train_protocol.infer import Model, parse_completion
    from model_train_protocol.rules import instruction_names, render_protocol

    torch.set_num_threads(args.threads)
    model = Model.load(args.model_dir)
    protocol = Protocol.load(args.model_dir / "mtp_model.json")  # the runtime spec holds no samples: the protocol's
    names = instruction_names(protocol, model.specs)
    items = list({e.prompt: names[e.instruction] for e in render_protocol(protocol)}.items())
    python, timing = python_runs(model, items)
    report: dict[str, Any] = {"prompts": len(items), "threads": args.threads, "python": timing}
    lib = _library(args.library)
    for quant in args.quant:
        with tempfile.TemporaryDirectory() as tmp:
            bundle = export_gguf(args.model_dir, Path(tmp) / "bundle", quant=quant, without_intent_head=True)
            nlm = lib.InitNLM(str(bundle["gguf"].parent).encode(), False)
            if not nlm:
                raise SystemExit(f"InitNLM failed on the {quant} export (see the log above)")
            parsed = same_final = tokens = 0
            latency, speeds = [], []
            for (prompt, name), (ours, _) in zip(items, python):
                start = time.perf_counter()
                lib.Inference(nlm, prompt.rstrip("\n").encode("utf-8"))  # as the Unreal plugin sends it
                out = lib.OutputNLM(nlm).contents
                latency.append(time.perf_counter() - start)
                text = ctypes.string_at(out.Buffer).decode("utf-8", "replace")
                speeds.append(out.TokenSpeed)
                tokens += len(model.vocab.encode(text))
                try:
                    theirs = parse_completion(text, model.spec(name))
                except (MTPError, ValueError):
                    continue
                parsed += 1
                same_final += (theirs.final, theirs.value) == (ours.candidate or ours.final, ours.value)
            lib.Delete(nlm)
            report[quant] = {"parsed": parsed, "same_final": same_final, "agreement": same_final / len(items),
                             "p50_ms": 1000 * percentile(latency, 0.5), "p95_ms": 1000 * percentile(latency, 0.95),
                             "tokens_per_s": tokens / sum(latency),
                             "reported_token_speed_p50": statistics.median(speeds)}
        print(json.dumps({quant: report[quant]}), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
