"""Load test of `mtp serve`: throughput and latency at 1, 4 and 16 concurrent clients, on loopback only.

Starts a real `mtp serve` process on 127.0.0.1 (any free port) with a
trained model, then for each concurrency level runs that many client
threads, each with its own keep-alive HTTP connection, sending ``POST /run``
requests (the example protocol's own prompts, in turn) back to back for
``--seconds``; requests still running at the deadline finish and count.
Reports per level: requests answered, 503s, other errors, throughput
(answers/s), client-side p50/p99 latency, and the server's own p50
``latency_ms``. Then checks that the server still answers ``/health`` and
refuses a batch of bad requests with 4xx, and stops it (exit status 0).

    python bench/serve_load.py                         # trains the Cheshire Cat example from scratch first
    python bench/serve_load.py --model cat-model       # an existing `mtp train` directory
    python bench/serve_load.py --base smollm2          # trains on SmolLM2-135M (minutes on a CPU)
    python bench/serve_load.py --json results.json --markdown

Everything is bounded in time: training (the base's recipe), start-up
(``--start-timeout``), each level (``--seconds`` plus the last requests, each
with a ``--request-timeout``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

LEVELS = (1, 4, 16)


def _percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of ``values``; None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def train_model(base: str, out: Path, max_steps: int | None = None) -> Path:
    """The Cheshire Cat example trained with the base's default recipe (`mtp train --base BASE [--max-steps N]`)."""
    from model_train_protocol.examples.cheshire_cat import build_protocol
    from model_train_protocol.train import TrainConfig, train

    train(build_protocol(), out, TrainConfig(base=base, max_steps=max_steps, progress=False))
    return out


def requests_of(model_file: Path) -> list[dict[str, Any]]:
    """One ``POST /run`` body per sample of the protocol stored with the model."""
    import model_train_protocol as mtp
    from model_train_protocol.authoring import NumListToken, NumToken

    protocol = mtp.Protocol.load(model_file)
    bodies = []
    for instruction in protocol.instructions:
        for sample in instruction.samples:
            numbers: list[Any] = []
            for snippet in sample.inputs:  # placeholders in token order, as the renderer fills them
                values, lists = iter(snippet.numbers), iter(snippet.number_lists)
                for token in snippet.tokenset.tokens:
                    if isinstance(token, NumToken):
                        numbers.append(next(values))
                    elif isinstance(token, NumListToken):
                        numbers.append(list(next(lists)))
            bodies.append({"instruction": instruction.name, "lines": [s.string for s in sample.inputs],
                           "numbers": numbers})
    return bodies


class Server:
    """A `mtp serve` process on 127.0.0.1, stopped with SIGTERM."""

    def __init__(self, model_dir: Path, threads: int, queue_limit: int, start_timeout: float) -> None:
        mtp = shutil.which("mtp", path=str(Path(sys.executable).parent)) or "mtp"
        command = [mtp, "serve", str(model_dir), "--host", "127.0.0.1", "--port", "0", "--threads", str(threads),
                   "--queue-limit", str(queue_limit)]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in self.proc.stdout], daemon=True).start()
        try:
            first = lines.get(timeout=start_timeout)
        except queue.Empty:
            self.stop()
            raise SystemExit(f"the server did not start within {start_timeout:.0f} s") from None
        if not first.startswith("serving "):
            self.stop()
            raise SystemExit(f"unexpected server output: {first!r}")
        address = first.split(" at http://", 1)[1].split(" ", 1)[0]
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)
        assert self.host == "127.0.0.1", "loopback only"

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return code, self.proc.stderr.read() if self.proc.stderr else ""


def _post(conn: http.client.HTTPConnection, path: str, body: Any) -> tuple[int, dict[str, Any]]:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


def run_level(server: Server, bodies: list[dict[str, Any]], clients: int, seconds: float,
              request_timeout: float) -> dict[str, Any]:
    """``clients`` threads sending requests back to back for ``seconds``: counts and latencies."""
    latencies: list[float] = []
    server_ms: list[float] = []
    tokens: list[int] = []
    counts = {"ok": 0, "busy": 0, "error": 0}
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=request_timeout)
        start_gate.wait()
        i = index
        while time.perf_counter() < deadline[0]:
            body = bodies[i % len(bodies)]
            i += clients
            began = time.perf_counter()
            try:
                status, answer = _post(conn, "/run", body)
            except (OSError, http.client.HTTPException, ValueError):
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=request_timeout)
                status, answer = 0, {}
            took = (time.perf_counter() - began) * 1000
            with lock:
                if status == 200:
                    counts["ok"] += 1
                    latencies.append(took)
                    server_ms.append(answer["latency_ms"])
                    tokens.append(answer["tokens"])
                elif status == 503:
                    counts["busy"] += 1
                else:
                    counts["error"] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"clients": clients, "seconds": round(elapsed, 2), **counts,
            "throughput_rps": round(counts["ok"] / elapsed, 2),
            "p50_ms": _round(_percentile(latencies, 50)), "p99_ms": _round(_percentile(latencies, 99)),
            "server_p50_ms": _round(statistics.median(server_ms) if server_ms else None),
            "tokens_mean": _round(statistics.mean(tokens) if tokens else None)}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def bad_requests(server: Server) -> list[int]:
    """Statuses of requests the server must refuse with a 4xx (it must answer them, and keep answering)."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
    bodies = [{}, {"instruction": "nope"}, {"lines": 5}, {"instruction": "alice_cat_alice_continue", "lines": ["a"]},
              {"model": "nope"}, {"unknown": 1}]
    statuses = [_post(conn, "/run", body)[0] for body in bodies]
    conn.request("POST", "/run", body=b"{not json", headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    statuses.append(response.status)
    conn.close()
    return statuses


def markdown(report: dict[str, Any]) -> str:
    rows = ["| clients | answered | 503 | errors | answers/s | p50 ms | p99 ms | server p50 ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for level in report["levels"]:
        rows.append(f"| {level['clients']} | {level['ok']} | {level['busy']} | {level['error']} | "
                    f"{level['throughput_rps']} | {level['p50_ms']} | {level['p99_ms']} | {level['server_p50_ms']} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="A directory written by `mtp train` (default: train one).")
    parser.add_argument("--base", default="scratch", choices=("scratch", "smollm2"),
                        help="Base of the model trained when --model is not given.")
    parser.add_argument("--max-steps", type=int, help="Bound the training of that model (a shorter run: the "
                        "figures then measure serving, not a trained model's answer lengths).")
    parser.add_argument("--seconds", type=float, default=20.0, help="Duration of each concurrency level.")
    parser.add_argument("--levels", default=",".join(map(str, LEVELS)), help="Concurrent clients per level.")
    parser.add_argument("--threads", type=int, default=1, help="`mtp serve --threads`: PyTorch threads.")
    parser.add_argument("--queue-limit", type=int, default=16, help="`mtp serve --queue-limit`.")
    parser.add_argument("--start-timeout", type=float, default=300.0)
    parser.add_argument("--request-timeout", type=float, default=120.0)
    parser.add_argument("--json", type=Path, help="Write the report here.")
    parser.add_argument("--markdown", action="store_true", help="Print the table as Markdown.")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.levels.split(",")]

    with tempfile.TemporaryDirectory(prefix="mtp-serve-load-") as scratch:
        model_dir = args.model
        trained_s = None
        if model_dir is None:
            began = time.perf_counter()
            print(f"training the Cheshire Cat example (--base {args.base}) ...", file=sys.stderr)
            model_dir = train_model(args.base, Path(scratch) / "model", args.max_steps)
            trained_s = round(time.perf_counter() - began, 1)
        bodies = requests_of(model_dir / "mtp_model.json")
        server = Server(model_dir, args.threads, args.queue_limit, args.start_timeout)
        try:
            results = []
            for clients in levels:
                print(f"{clients} client(s) for {args.seconds:g} s ...", file=sys.stderr)
                results.append(run_level(server, bodies, clients, args.seconds, args.request_timeout))
            refused = bad_requests(server)
            conn = http.client.HTTPConnection(server.host, server.port, timeout=60)
            conn.request("GET", "/health")
            healthy = json.loads(conn.getresponse().read())["status"] == "ok"
            conn.close()
        finally:
            code, stderr = server.stop()
    report = {
        "model": str(args.model or f"cheshire_cat trained from --base {args.base}"
                     + (f" for {args.max_steps} steps" if args.max_steps else "")),
        "train_s": trained_s, "prompts": len(bodies), "threads": args.threads, "queue_limit": args.queue_limit,
        "machine": {"cpus": os.cpu_count(), "load_avg_1m": round(os.getloadavg()[0], 1),
                    "python": platform.python_version()},
        "levels": results, "bad_request_statuses": refused, "healthy_after": healthy, "exit_status": code,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown(report) if args.markdown else json.dumps(report, indent=2))
    survived = healthy and code == 0 and all(400 <= s < 500 for s in refused) and "Traceback" not in stderr
    print(f"server {'survived' if survived else 'DID NOT SURVIVE'}: health after load {'ok' if healthy else 'failed'}, "
          f"bad requests answered {sorted(set(refused))}, exit status {code}", file=sys.stderr)
    return 0 if survived else 1


if __name__ == "__main__":
    sys.exit(main())
