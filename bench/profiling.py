"""Where the time goes: cProfile of our build, save, template and load at N samples (default 100,000).

    python bench/profiling.py [N]

Prints the top functions by own time for each phase and writes the same to
bench/results/profile-N.txt. The figures in docs/benchmarks.md's profile
section come from this script.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import work_ours  # noqa: E402

import model_train_protocol as mtp  # noqa: E402


def profiled(label: str, code: str, env: dict, out: io.StringIO, top: int = 12) -> None:
    profiler = cProfile.Profile()
    start = time.process_time()
    profiler.runctx(code, env, env)
    cpu = time.process_time() - start
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream).strip_dirs().sort_stats("tottime")
    stats.print_stats(top)
    lines = [ln for ln in stream.getvalue().splitlines() if ln.strip()]
    body = "\n".join(ln for ln in lines if "function calls" in ln or ln.lstrip()[:1].isdigit() or "ncalls" in ln)
    out.write(f"## {label}: {cpu:.2f} s CPU under the profiler\n{body}\n\n")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    out = io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"work_ours": work_ours, "mtp": mtp, "n": n, "tmp": tmp}
        profiled(f"build {n:,} samples", "protocol = work_ours.build_protocol(n)", env, out)
        profiled("save (validate + stream the model file)", "protocol.save(path=tmp)", env, out)
        profiled("template", "protocol.template(path=tmp)", env, out)
        profiled("load (parse + rebuild)", "loaded = mtp.Protocol.load(tmp + '/bench_model.json')", env, out)
        profiled("validate (the loaded protocol)", "loaded.validate()", env, out)
    text = out.getvalue()
    print(text)
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / f"profile-{n}.txt").write_text(text)


if __name__ == "__main__":
    main()
