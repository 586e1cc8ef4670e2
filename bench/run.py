"""Benchmark harness: our package against the reference implementation (model-train-protocol 0.6.1).

    python bench/run.py                 # the full run: 10k, 100k, 1M samples; writes docs/benchmarks.md
    python bench/run.py --quick         # 10k and 100k only, results JSON only (no docs)

Each workload runs in a fresh process, one at a time (one core). For each it
records the wall time of the process, the phase times the process measured
itself (bench/work_*.py), its peak RSS (``os.wait4`` rusage, the kernel's own
high-water mark) and the bytes it wrote. The reference runs from its own
virtual environment, bench/.ref-venv, created here on first use with
``pip install model-train-protocol==0.6.1`` (it needs Python >= 3.11 and is
never a dependency of the project). Results go to bench/results/ (JSON); with
--docs (default for a full run) the generated block of docs/benchmarks.md,
docs/benchmarks.png and the README's bench table are rewritten.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
RESULTS = BENCH / "results"
REF_VENV = BENCH / ".ref-venv"
REF_REQUIREMENT = "model-train-protocol==0.6.1"
DOCS = REPO / "docs" / "benchmarks.md"
PLOT = REPO / "docs" / "benchmarks.png"
README = REPO / "README.md"
SUBSTRING_TOKENS = 10_000
EXPORT_FORMAT = "openai-chat"


# --- machine -------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """CPU model, cores, RAM, OS and Python of this machine."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": ram_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


# --- the reference's virtual environment ------------------------------------------
def _python_311_or_newer() -> str | None:
    if sys.version_info >= (3, 11):
        return sys.executable
    for name in ("python3.13", "python3.12", "python3.11"):
        found = shutil.which(name)
        if found:
            return found
    return None


def reference_python(allow_install: bool) -> tuple[str | None, str]:
    """The reference venv's interpreter (created on first use), or None and the reason."""
    python = REF_VENV / "bin" / "python"
    check = [str(python), "-c", "import model_train_protocol, importlib.metadata as m; print(m.version('model-train-protocol'))"]
    if python.exists():
        done = subprocess.run(check, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == REF_REQUIREMENT.split("==")[1]:
            return str(python), f"{REF_REQUIREMENT} in {REF_VENV.relative_to(REPO)}"
    if not allow_install:
        return None, "reference venv missing and --no-install given"
    base = _python_311_or_newer()
    if base is None:
        return None, "no Python >= 3.11 found to create the reference venv (model-train-protocol 0.6.1 needs it)"
    print(f"creating {REF_VENV} and installing {REF_REQUIREMENT} ...", flush=True)
    steps = [[base, "-m", "venv", "--clear", str(REF_VENV)], [str(python), "-m", "pip", "install", "-q", REF_REQUIREMENT]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return None, f"`{' '.join(step[-3:])}` failed: {' | '.join(tail)}"
    done = subprocess.run(check, capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"{REF_REQUIREMENT} installed but does not import: {done.stderr.strip().splitlines()[-1:]}"
    return str(python), f"{REF_REQUIREMENT} in {REF_VENV.relative_to(REPO)}"


# --- running one workload -----------------------------------------------------------
def measure(cmd: list[str], timeout: float, result_file: Path | None = None) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process; wall time, peak RSS (MiB), exit status and its own report."""
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output: list[bytes] = []
    # Drain the output in a thread so a chatty child never blocks on a full pipe.
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read() if proc.stdout else b""), daemon=True)
    reader.start()
    timed_out = False
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() - start > timeout:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.01)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    reader.join(5)
    text = b"".join(output).decode("utf-8", "replace")
    run: dict[str, Any] = {
        "cmd": " ".join(cmd),
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "exit": proc.returncode,
        "loadavg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    if timed_out:
        run["not_run"] = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        run["not_run"] = f"exit {proc.returncode}: " + " | ".join(text.strip().splitlines()[-2:])
    if result_file is not None and result_file.exists():
        report = json.loads(result_file.read_text())
        run["phases"] = {k: round(v, 3) for k, v in report["phases"].items()}
        run["cpu_phases"] = {k: round(v, 3) for k, v in report.get("cpu", {}).items()}
        run["info"] = report["info"]
        if "skipped" in report["info"]:
            run["not_run"] = report["info"]["skipped"]
    return run


def workload(python: str, impl: str, mode: str, n: int, workdir: Path, timeout: float) -> dict[str, Any]:
    script = BENCH / f"work_{impl}.py"
    result = workdir / f"{impl}-{mode}-{n}.json"
    outdir = workdir / f"{impl}-{n}"
    outdir.mkdir(parents=True, exist_ok=True)
    run = measure([python, str(script), mode, str(n), str(outdir), str(result)], timeout, result)
    if mode == "build" and "info" in run:
        run["bytes_written"] = sum(run["info"]["files"].values())
    return run


def cli_workload(args: list[str], workdir: Path, timeout: float, out_dir: Path | None = None) -> dict[str, Any]:
    mtp = Path(sys.executable).with_name("mtp")
    if not mtp.exists():
        return {"not_run": f"the `mtp` command is not installed beside {sys.executable}"}
    help_text = subprocess.run([str(mtp), args[0], "--help"], capture_output=True, text=True)
    if help_text.returncode != 0:
        return {"not_run": f"`mtp {args[0]}` does not exist yet"}
    run = measure([str(mtp), *args], timeout)
    if out_dir is not None and out_dir.exists():
        run["bytes_written"] = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    return run


# --- the whole run -------------------------------------------------------------------
def _extrapolated_over(results: dict[str, Any], name: str, impl: str, n: int, timeout: float) -> str | None:
    """A reason not to run a workload that the smaller runs say cannot finish in time.

    The estimate grows at least linearly with N, and as fast as it grew between the two largest runs.
    """
    done = [w for w in results["workloads"] if w["workload"] == name and w["impl"] == impl and "not_run" not in w]
    if not done:
        return None
    done.sort(key=lambda w: w["n"])
    last = done[-1]
    growth = 1.0  # at least linear; faster when the two largest runs grew faster than N
    if len(done) >= 2 and done[-2]["wall_s"] > 0 and last["n"] > done[-2]["n"]:
        growth = max(1.0, math.log(last["wall_s"] / done[-2]["wall_s"]) / math.log(last["n"] / done[-2]["n"]))
    estimate = last["wall_s"] * (n / last["n"]) ** growth
    if estimate <= timeout:
        return None
    return (f"not run: would take about {estimate:,.0f} s (N^{growth:.2f} growth from {last['wall_s']:.0f} s at "
            f"N={last['n']:,}), over the {timeout:.0f} s limit per workload")


def run_all(opts: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in opts.sizes.split(",")]
    ref_python, ref_note = (None, "skipped (--no-ref)") if opts.no_ref else reference_python(not opts.no_install)
    print(f"reference: {ref_note}", flush=True)
    ours_python = sys.executable
    results: dict[str, Any] = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "reference": ref_note,
        "sizes": sizes,
        "workloads": [],
    }
    workdir = Path(opts.workdir) if opts.workdir else Path(tempfile.mkdtemp(prefix="mtp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)

    def record(name: str, impl: str, n: int | None, run: dict[str, Any]) -> None:
        entry = {"workload": name, "impl": impl, "n": n, **run}
        results["workloads"].append(entry)
        shown = entry.get("not_run") or (
            f"{entry['wall_s']:.2f} s wall, {entry['peak_rss_mib']:.0f} MiB peak"
            + (f", phases {entry['phases']}" if "phases" in entry else "")
        )
        print(f"  {name:<16} {impl:<4} n={n!s:<8} {shown}", flush=True)

    ref_cap = opts.ref_max_n
    for n in sizes:
        for impl in ("ours", "ref"):
            if impl == "ref" and ref_python is None:
                record("build+save+tpl", impl, n, {"not_run": ref_note})
                record("load+validate", impl, n, {"not_run": ref_note})
                continue
            if impl == "ref" and ref_cap is not None and n > ref_cap:
                reason = f"not run: above --ref-max-n {ref_cap}"
                record("build+save+tpl", impl, n, {"not_run": reason})
                record("load+validate", impl, n, {"not_run": reason})
                continue
            python = ours_python if impl == "ours" else ref_python
            skip = _extrapolated_over(results, "build+save+tpl", impl, n, opts.timeout)
            build = {"not_run": skip} if skip else workload(python, impl, "build", n, workdir, opts.timeout)
            record("build+save+tpl", impl, n, build)
            if "not_run" in build:
                record("load+validate", impl, n, {"not_run": "its build did not run"})
                continue
            skip = _extrapolated_over(results, "load+validate", impl, n, opts.timeout)
            record("load+validate", impl, n,
                   {"not_run": skip} if skip else workload(python, impl, "load", n, workdir, opts.timeout))

    biggest = max(sizes)
    model_file = workdir / f"ours-{biggest}" / "bench_model.json"
    if model_file.exists():
        record("mtp validate", "ours", biggest, cli_workload(["validate", str(model_file)], workdir, opts.timeout))
        export_dir = workdir / "export"
        shutil.rmtree(export_dir, ignore_errors=True)
        export = cli_workload(
            ["export", str(model_file), "--format", EXPORT_FORMAT, "--out", str(export_dir), "--val-split", "0.1", "--seed", "1"],
            workdir, opts.timeout, export_dir,
        )
        record("mtp export", "ours", biggest, export)
    for impl, python in (("ours", ours_python), ("ref", ref_python)):
        if python is None:
            record("substring rule", impl, SUBSTRING_TOKENS, {"not_run": ref_note})
            continue
        record("substring rule", impl, SUBSTRING_TOKENS,
               workload(python, impl, "substring", SUBSTRING_TOKENS, workdir, opts.substring_timeout))
    if not opts.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


# --- reporting ------------------------------------------------------------------------
def _find(results: dict[str, Any], name: str, impl: str, n: int | None) -> dict[str, Any] | None:
    for w in results["workloads"]:
        if w["workload"] == name and w["impl"] == impl and w["n"] == n:
            return w
    return None


def _seconds(w: dict[str, Any] | None, cpu: bool = False) -> float | None:
    """A workload's time: the sum of its own phases (no interpreter start), else the whole process's.

    ``cpu``: CPU seconds (user + system) instead of wall seconds; they hold
    still when other processes share the cores, wall seconds do not.
    """
    if w is None or "not_run" in w:
        return None
    phases = w.get("cpu_phases" if cpu else "phases")
    if phases:
        return sum(v for k, v in phases.items() if k not in ("total", "gen_only"))
    return w["cpu_s" if cpu else "wall_s"]


def _fmt_time(s: float | None) -> str:
    return "—" if s is None else (f"{s:.2f} s" if s < 100 else f"{s:.0f} s")


def _fmt_mib(w: dict[str, Any] | None) -> str:
    return "—" if w is None or "not_run" in w else f"{w['peak_rss_mib']:.0f} MiB"


def _ratio(a: float | None, b: float | None) -> str:
    return "—" if a is None or b is None or b == 0 else f"{a / b:.1f}×"


def table(results: dict[str, Any]) -> str:
    """The results as a Markdown table (ours, reference, ratios)."""
    rows = [
        "| workload | N | ours: wall | ours: CPU | ours: peak RSS | reference: wall | reference: CPU | reference: peak RSS "
        "| ref/ours wall | ref/ours CPU | ref/ours RSS | bytes written (ours) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = ["build+save+tpl", "load+validate", "mtp validate", "mtp export", "substring rule"]
    notes = []
    for name in names:
        for n in sorted({w["n"] for w in results["workloads"] if w["workload"] == name}):
            ours, ref = _find(results, name, "ours", n), _find(results, name, "ref", n)
            cells = []
            for w in (ours, ref):
                if w is None:
                    cells += ["n/a"] * 3
                elif "not_run" in w:
                    cells += ["not run", "—", "—"]
                    notes.append(f"{'ours' if w is ours else 'reference'} {name} at N={n:,}: {w['not_run']}")
                else:
                    cells += [_fmt_time(_seconds(w)), _fmt_time(_seconds(w, cpu=True)), _fmt_mib(w)]
            m_ours = ours["peak_rss_mib"] if ours and "not_run" not in ours else None
            m_ref = ref["peak_rss_mib"] if ref and "not_run" not in ref else None
            written = ours.get("bytes_written") if ours else None
            rows.append(
                f"| {name} | {n:,} | {' | '.join(cells)} | {_ratio(_seconds(ref), _seconds(ours))} "
                f"| {_ratio(_seconds(ref, cpu=True), _seconds(ours, cpu=True))} | {_ratio(m_ref, m_ours)} "
                f"| {'—' if written is None else f'{written / 1e6:,.1f} MB'} |"
            )
    text = "\n".join(rows)
    if notes:
        text += "\n\n" + "\n".join(f"- {note}" for note in notes)
    return text


def phases_table(results: dict[str, Any]) -> str:
    """Per-phase wall seconds of the build+save+template workload (from inside each process)."""
    rows = ["| impl | N | of which: generating the strings | build | save | template | process wall (with start-up) "
            "| load average (1 min) before / after |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for w in results["workloads"]:
        if w["workload"] != "build+save+tpl" or "phases" not in w:
            continue
        p = w["phases"]
        rows.append(f"| {w['impl']} | {w['n']:,} | {p.get('gen_only', 0):.2f} | {p['build']:.2f} | {p['save']:.2f} "
                    f"| {p['template']:.2f} | {w['wall_s']:.2f} | {w['loadavg_1min'][0]:.1f} / {w['loadavg_1min'][1]:.1f} |")
    return "\n".join(rows)


def machine_line(results: dict[str, Any]) -> str:
    m = results["machine"]
    return (f"{m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}; "
            f"reference: {results['reference']}; run {results['date']}")


def plot(results: dict[str, Any], path: Path) -> bool:
    """CPU time, wall time and peak RSS of build+save+template and load+validate against N, log-log."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return False
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    styles = {("ours", "build+save+tpl"): "-o", ("ours", "load+validate"): "-^",
              ("ref", "build+save+tpl"): "--s", ("ref", "load+validate"): "--v"}
    labels = {"ours": "ours", "ref": "reference 0.6.1"}
    for name in ("build+save+tpl", "load+validate"):
        for impl in ("ours", "ref"):
            done = [w for w in results["workloads"] if w["workload"] == name and w["impl"] == impl and "not_run" not in w]
            if not done:
                continue
            ns = [w["n"] for w in done]
            label = f"{labels[impl]}: {name}"
            axes[0].plot(ns, [_seconds(w, cpu=True) for w in done], styles[impl, name], label=label)
            axes[1].plot(ns, [_seconds(w) for w in done], styles[impl, name], label=label)
            axes[2].plot(ns, [w["peak_rss_mib"] for w in done], styles[impl, name], label=label)
    for ax, title, unit in ((axes[0], "CPU time (user + system)", "seconds"), (axes[1], "wall time", "seconds"),
                            (axes[2], "peak RSS", "MiB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples (N)")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    m = results["machine"]
    fig.suptitle(f"MTP: ours vs reference 0.6.1 ({m['cpu']}, {m['cores']} cores, Python {m['python']})", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _replace_block(text: str, start: str, end: str, body: str) -> str:
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        return text.rstrip("\n") + f"\n\n{start}\n{body}\n{end}\n"
    return text[: i + len(start)] + "\n" + body + "\n" + text[j:]


def write_docs(results: dict[str, Any], json_name: str) -> None:
    """Rewrite the generated blocks of docs/benchmarks.md and the README's bench table."""
    has_plot = plot(results, PLOT)
    body = "\n\n".join([
        f"Machine: {machine_line(results)}. Raw results: `bench/results/{json_name}` (not committed).",
        "Times are measured inside each process (interpreter start-up and imports excluded; the build phase "
        "includes generating the benchmark's strings, the same cost on both sides, shown apart in the phase table); "
        "`mtp` commands are timed as whole processes. Peak RSS is the whole process's (`wait4` rusage). "
        "Ratios are reference / ours: higher is better for ours.",
        table(results),
        "Issue 4's targets against this run:",
        targets_table(results),
        "Phases of build + save + template (seconds):",
        phases_table(results),
    ] + (["![time and memory against N](benchmarks.png)"] if has_plot else []))
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    DOCS.write_text(_replace_block(text, "<!-- bench:generated -->", "<!-- /bench:generated -->", body), encoding="utf-8")
    if README.exists():
        readme = README.read_text(encoding="utf-8")
        start, end = "<!-- bench:readme -->", "<!-- /bench:readme -->"
        if start in readme and end in readme:
            README.write_text(_replace_block(readme, start, end, readme_section(results)), encoding="utf-8")


def _target_summary(results: dict[str, Any]) -> str:
    """Issue 4's main targets against this run, in one sentence (CPU seconds)."""
    parts = []
    ours, ref = _find(results, "build+save+tpl", "ours", 100_000), _find(results, "build+save+tpl", "ref", 100_000)
    if ours and ref and "not_run" not in ours and "not_run" not in ref:
        speed = _seconds(ref, cpu=True) / _seconds(ours, cpu=True)
        memory = ref["peak_rss_mib"] / ours["peak_rss_mib"]
        parts.append(f"At 100k: {speed:.1f}× faster (target 20×: {'met' if speed >= 20 else 'missed'}), "
                     f"1/{memory:.1f} of the memory (target 1/3: {'met' if memory >= 3 else 'missed'}).")
    big = _find(results, "build+save+tpl", "ours", 1_000_000)
    if big and "not_run" not in big:
        t, m = _seconds(big, cpu=True), big["peak_rss_mib"]
        parts.append(f"At 1M: {t:.1f} s (target 10 s: {'met' if t < 10 else 'missed'}), {m:,.0f} MiB "
                     f"(target 1.5 GB: {'met' if m < 1430 else 'missed'}).")
    return " ".join(parts)


def targets_table(results: dict[str, Any]) -> str:
    """Issue 4's targets against this run (CPU seconds of the measured phases; wall in parentheses)."""
    def get(name: str, impl: str, n: int) -> dict[str, Any] | None:
        w = _find(results, name, impl, n)
        return None if w is None or "not_run" in w else w

    def cpu_wall(w: dict[str, Any]) -> str:
        return f"{_fmt_time(_seconds(w, cpu=True))} CPU ({_fmt_time(_seconds(w))} wall)"

    def verdict(ok: bool, miss: str) -> str:
        return "met" if ok else f"**missed**: {miss}"

    rows = ["| target | this run | verdict |", "|---|---|---|"]
    ours, ref = get("build+save+tpl", "ours", 100_000), get("build+save+tpl", "ref", 100_000)
    if ours and ref:
        speed = _seconds(ref, cpu=True) / _seconds(ours, cpu=True)
        memory = ref["peak_rss_mib"] / ours["peak_rss_mib"]
        rows.append(f"| 100k build + save + template ≥ 20× faster than the reference | {cpu_wall(ours)} vs "
                    f"{cpu_wall(ref)}: **{speed:.1f}×** | {verdict(speed >= 20, f'{20 / speed:.1f}× short')} |")
        rows.append(f"| 100k peak memory ≤ 1/3 of the reference's | {_fmt_mib(ours)} vs {_fmt_mib(ref)}: "
                    f"**1/{memory:.1f}** | {verdict(memory >= 3, 'over a third')} |")
    big = get("build+save+tpl", "ours", 1_000_000)
    if big:
        t = _seconds(big, cpu=True)
        rows.append(f"| 1M build + save + template < 10 s | {cpu_wall(big)} | {verdict(t < 10, f'by {t / 10 - 1:.0%}')} |")
        rows.append(f"| 1M build + save + template < 1.5 GB | {_fmt_mib(big)} | "
                    f"{verdict(big['peak_rss_mib'] < 1430, 'over 1.5 GB')} |")
    load = get("load+validate", "ours", 1_000_000)
    if load:
        t = _seconds(load, cpu=True)
        rows.append(f"| 1M load + validate < 5 s | {cpu_wall(load)}, {_fmt_mib(load)} | "
                    f"{verdict(t < 5, f'{t / 5:.1f}× the target')} |")
    export = get("mtp export", "ours", 1_000_000)
    if export:
        t = export["cpu_s"]
        rows.append(f"| `mtp export` on the 1M file < 10 s | {t:.1f} s CPU ({export['wall_s']:.1f} s wall), whole "
                    f"command | {verdict(t < 10, f'{t / 10:.1f}× the target')} |")
    for name in ("build+save+tpl", "load+validate"):
        points = [(n, get(name, "ours", n)) for n in results["sizes"]]
        points = [(n, w) for n, w in points if w]
        if len(points) >= 2:
            steps = ", ".join(f"×{_seconds(b, cpu=True) / _seconds(a, cpu=True):.1f} for ×{nb // na}"
                              for (na, a), (nb, b) in zip(points, points[1:]))
            series = " → ".join(_fmt_time(_seconds(w, cpu=True)) for _, w in points)
            rows.append(f"| linear growth: {name} | CPU {series} ({steps}) | see below |")
    sub = get("substring rule", "ours", SUBSTRING_TOKENS)
    if sub:
        ref_sub = _find(results, "substring rule", "ref", SUBSTRING_TOKENS)
        other = f"; the reference: {ref_sub['not_run']}" if ref_sub and "not_run" in ref_sub else ""
        rows.append(f"| substring rule with {SUBSTRING_TOKENS:,} tokens stays fast | {cpu_wall(sub)} to build and "
                    f"validate{other} | {verdict(_seconds(sub, cpu=True) < 5, 'slow')} |")
    return "\n".join(rows)


def readme_section(results: dict[str, Any]) -> str:
    rows = ["| workload | N | ours: CPU / wall | reference: CPU / wall | ref/ours (CPU) | peak RSS ours / reference |",
            "|---|---:|---:|---:|---:|---:|"]
    for name in ("build+save+tpl", "load+validate", "mtp validate", "mtp export"):
        for n in results["sizes"]:
            ours, ref = _find(results, name, "ours", n), _find(results, name, "ref", n)
            if ours is None or "not_run" in ours:
                continue
            if ref is None:
                ref_text = mem_ref = "n/a"
            elif "not_run" in ref:
                ref_text, mem_ref = "not run", "—"
            else:
                ref_text, mem_ref = f"{_fmt_time(_seconds(ref, cpu=True))} / {_fmt_time(_seconds(ref))}", _fmt_mib(ref)
            rows.append(f"| {name} | {n:,} | {_fmt_time(_seconds(ours, cpu=True))} / {_fmt_time(_seconds(ours))} "
                        f"| {ref_text} | {_ratio(_seconds(ref, cpu=True), _seconds(ours, cpu=True))} "
                        f"| {_fmt_mib(ours)} / {mem_ref} |")
    m = results["machine"]
    return "\n".join([
        "Reproduce with one command, `python bench/run.py` (it creates `bench/.ref-venv` with the reference "
        "`model-train-protocol==0.6.1` on first use; `--quick` runs 10k and 100k only). "
        f"Measured on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB, Python {m['python']}, {results['date']}:",
        "",
        *rows,
        "",
        "CPU seconds are the figures to compare when the machine is shared (wall seconds include waiting for a "
        "core). " + _target_summary(results) + " Details, the targets, the profile and what bounds the time: "
        "[docs/benchmarks.md](docs/benchmarks.md).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000", help="sample counts, comma-separated")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only; do not touch the docs")
    parser.add_argument("--ref-max-n", type=int, default=None, help="do not run the reference above this N")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per workload before it is killed")
    parser.add_argument("--substring-timeout", type=float, default=120,
                        help="seconds for the substring-rule workload (the reference's check is quadratic)")
    parser.add_argument("--no-ref", action="store_true", help="measure only our package")
    parser.add_argument("--no-install", action="store_true", help="never create the reference venv")
    parser.add_argument("--docs", action=argparse.BooleanOptionalAction, default=None,
                        help="rewrite docs/benchmarks.md, docs/benchmarks.png and the README table "
                             "(default: on for a full run)")
    parser.add_argument("--workdir", help="where the files are written (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the written files")
    parser.add_argument("--report", metavar="RESULTS_JSON",
                        help="run nothing: print and (with --docs) write the docs from a saved results file")
    opts = parser.parse_args(argv)
    if opts.quick:
        opts.sizes = "10000,100000"
    docs = opts.docs if opts.docs is not None else not opts.quick
    if opts.report:
        results = json.loads(Path(opts.report).read_text())
        json_name = Path(opts.report).name
    else:
        results = run_all(opts)
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        json_name = f"results-{stamp}.json"
        (RESULTS / json_name).write_text(json.dumps(results, indent=2))
        (RESULTS / "latest.json").write_text(json.dumps(results, indent=2))
    print()
    print(f"Machine: {machine_line(results)}")
    print(table(results))
    print()
    print(phases_table(results))
    print(f"\nresults: {RESULTS / json_name}")
    if docs:
        write_docs(results, json_name)
        print(f"wrote {DOCS.relative_to(REPO)}, {PLOT.relative_to(REPO)} and the README bench section")
    return 0


if __name__ == "__main__":
    sys.exit(main())
