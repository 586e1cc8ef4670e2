"""Repeatable attack on `mtp` and `mtp serve`: the hostile inputs of issue 20, each run as an attacker would.

Everything happens in a fresh temporary folder (the target) and on 127.0.0.1 only: no other address is ever
contacted. It trains one tiny scratch model from a hostile protocol (instructions named ``cat talk`` and
``cat_talk``, a numeric final up to 10^30), then runs each attack in a subprocess with a time limit and
classifies what came back:

- ``ok``: did what a user asked (exit 0, or HTTP 2xx);
- ``refused``: a clear refusal (exit 1 or 2 without a traceback or internal error, or a JSON 4xx);
- ``INTERNAL``: an internal error, a traceback, a 5xx the case did not expect, a crash by signal;
- ``HANG``: past its time limit.

Afterwards it checks that nothing was written outside the target (the target's parent holds only the
target; the repository's ``git status`` is unchanged). Exit status 0 when there are no INTERNAL, no HANG and
no write outside, 1 otherwise.

    python bench/attack.py              # about two to four minutes on one CPU core
    python bench/attack.py --json out.json
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"  # the only address this script ever connects to
LIMIT_S = 120  # each command
RUN = [sys.executable, "-c", "import sys; from model_train_protocol.cli import main; sys.argv[0] = 'mtp'; main()"]
TINY = ["--base", "scratch", "--layers", "1", "--width", "32", "--heads", "2", "--vocab-size", "300",
        "--max-steps", "30", "--check", "0", "--val-split", "0"]


class Attack:
    """The cases run and what each gave."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(root / "home"), "TMPDIR": str(root / "tmp"),
                    "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": str(root / "home"),
                    "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
        self.env.pop("MTP_DEBUG", None)
        (root / "home").mkdir()
        (root / "tmp").mkdir()
        self.results: list[dict[str, Any]] = []

    def record(self, name: str, outcome: str, detail: str = "", seconds: float = 0.0, expect: str = "refused") -> None:
        bad = outcome in ("INTERNAL", "HANG") or (expect == "ok" and outcome != "ok")
        self.results.append({"case": name, "outcome": outcome, "expected": expect, "seconds": round(seconds, 2),
                             "detail": detail[:200], "bad": bad})
        mark = "!!" if bad else "  "
        print(f"{mark} {outcome:9} {seconds:6.1f}s  {name}: {detail[:110]}", flush=True)

    def mtp(self, name: str, *args: object, expect: str = "refused", stdin: str = "",
            check: Callable[[subprocess.CompletedProcess], str] | None = None,
            preexec: Callable[[], None] | None = None) -> subprocess.CompletedProcess | None:
        """Run ``mtp ARGS`` in the target folder and record its outcome; ``check`` may add a failure note."""
        started = time.monotonic()
        try:
            proc = subprocess.run([*RUN, *map(str, args)], cwd=self.root, env=self.env, input=stdin, text=True,
                                  capture_output=True, timeout=LIMIT_S, preexec_fn=preexec)
        except subprocess.TimeoutExpired:
            self.record(name, "HANG", f"over {LIMIT_S} s", time.monotonic() - started, expect)
            return None
        output = proc.stdout + proc.stderr
        if proc.returncode < 0 or "Traceback" in output or "internal error" in output or proc.returncode > 2:
            outcome = "INTERNAL"
        else:  # exit 1 or 2 without a traceback: `mtp validate` lists problems, the others print one error line
            outcome = "ok" if proc.returncode == 0 else "refused"
        note = check(proc) if check else ""
        if note:
            outcome = "INTERNAL"
        shown = note or next((l for l in reversed(output.splitlines()) if l.startswith("error:")), output.strip()[-150:])
        self.record(name, outcome, shown, time.monotonic() - started, expect)
        return proc


# --- the hostile protocol and its model ------------------------------------------------------------------------
def hostile_model_file(root: Path) -> Path:
    """The Cheshire Cat example with colliding instruction names and a numeric final up to 10^30."""
    from model_train_protocol import NumToken
    from model_train_protocol.examples.cheshire_cat import build_protocol

    protocol = build_protocol()
    protocol.instructions[0].name = "cat talk"
    protocol.instructions[1].name = "cat_talk"
    for instruction in protocol.instructions:
        for final in instruction.finals:
            if isinstance(final, NumToken):
                final.max_value = 10**30
    return protocol.save(path=root, version="2.0.1")  # a layout that keeps instruction names


def relist(directory: Path) -> None:
    """Recompute a model directory's manifest checksums, as an attacker can (a checksum list, no signature)."""
    from model_train_protocol.model_dir import MANIFEST, sha256_file

    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                   if p.is_file() and not p.is_symlink() and p.name != MANIFEST)
    manifest["files"] = [{"path": rel, "checksum": "sha256:" + sha256_file(directory / rel)} for rel in files]
    (directory / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def tampered(attack: Attack, model: Path, name: str, change: Callable[[Path], None]) -> Path:
    copy = attack.root / name
    shutil.copytree(model, copy)
    change(copy)
    relist(copy)
    return copy


# --- files and commands ----------------------------------------------------------------------------------------
def file_attacks(attack: Attack, model_file: Path, model: Path) -> None:
    root = attack.root
    bundle = root / "bundle"
    proc = attack.mtp("export-model: colliding names, final up to 1e30", "export-model", model, "--format", "gguf",
                      "--out", bundle, "--json", expect="ok",
                      check=lambda p: "" if p.returncode or len(set(json.loads(p.stdout)["grammars"].values())) ==
                      len(list((bundle / "grammars").iterdir())) == 4 else "grammar files collide")
    if proc is not None and proc.returncode == 0:
        size = sum(p.stat().st_size for p in (bundle / "grammars").iterdir())
        attack.results[-1]["detail"] = f"4 grammar files, {size:,} bytes in all"
    mine = root / "mine"
    mine.mkdir()
    (mine / "README.md").write_text("my notes")
    attack.mtp("export-model --out a folder of the user's files", "export-model", model, "--format", "gguf",
               "--out", mine, check=lambda p: "" if (mine / "README.md").read_text() == "my notes"
               and sorted(os.listdir(mine)) == ["README.md"] else "the user's folder was changed")

    text = model_file.read_text(encoding="utf-8")
    (root / "wide_model.json").write_text(text.replace(str(10**30), "1" + "0" * 400), encoding="utf-8")
    attack.mtp("validate: a number bound of 401 digits", "validate", root / "wide_model.json")

    bomb = "lr:\n" + "".join(f"  {n}: &{n} [{', '.join([f'*{p}' if p else 'lol'] * 9)}]\n"
                             for p, n in zip([None, *"abcdefgh"], "abcdefghi"))
    (root / "bomb.yaml").write_text(bomb, encoding="utf-8")
    attack.mtp(f"train --config: a {len(bomb)}-byte YAML alias bomb", "train", model_file, "--config",
               root / "bomb.yaml", "--out", root / "bomb-out", *TINY)
    for lr in ("inf", "1e308", "nan"):
        attack.mtp(f"train --lr {lr}", "train", model_file, "--out", root / f"lr-{lr}", *TINY, "--lr", lr,
                   check=lambda p, lr=lr: "" if not (root / f"lr-{lr}").exists() else "an --out folder was left")

    broken = root / "broken-run"
    shutil.copytree(model, broken)
    attack.mtp("train --checkpoint-every (for the resume attack)", "train", model_file, "--out", broken, *TINY, "--force",
               "--checkpoint-every", "10", "--keep-checkpoints", expect="ok")
    state = broken / "checkpoints" / "last" / "state.json"
    if state.is_file():
        state.write_text('{"step": "three"}', encoding="utf-8")
    attack.mtp("train --resume on a damaged state.json", "train", model_file, "--out", broken, *TINY, "--resume",
               "--force")

    os.chmod(model_file, 0o600)
    attack.mtp("convert over a chmod 600 model file", "convert", model_file, "--to", "2.0.1", "--out", root,
               "--force", expect="ok",
               check=lambda p: "" if p.returncode or (os.stat(model_file).st_mode & 0o777) == 0o600 else
               f"mode became {oct(os.stat(model_file).st_mode & 0o777)}")

    huge = root / "huge_model.json"
    huge.write_text('{"name": "' + "x" * (64 * 1024**2) + '"}', encoding="utf-8")

    def cap_memory() -> None:
        vm = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (vm + 400 * 1024**2, resource.RLIM_INFINITY))

    attack.mtp("validate: a 64 MiB line under a 400 MiB memory cap", "validate", huge, preexec=cap_memory)
    huge.unlink()


def directory_attacks(attack: Attack, model: Path) -> None:
    def panic(directory: Path) -> None:
        path = directory / "tokenizer.json"
        document = json.loads(path.read_text(encoding="utf-8"))
        pre = document["pre_tokenizer"]
        steps = pre["pretokenizers"] if pre.get("type") == "Sequence" else [pre]
        split = {"type": "Split", "pattern": {"Regex": "(a|a?)+$"}, "behavior": "Isolated", "invert": False}
        document["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [split, *steps]}
        path.write_text(json.dumps(document), encoding="utf-8")

    def layers(directory: Path) -> None:
        path = directory / "config.json"
        config = json.loads(path.read_text(encoding="utf-8"))
        config["num_hidden_layers"] = 2000
        path.write_text(json.dumps(config), encoding="utf-8")

    panicking = tampered(attack, model, "panic-model", panic)
    attack.mtp("run: tokenizer.json with a backtracking Split regex", "run", panicking, "-i", "cat talk",
               "-l", "hi", "-l", "a" * 60 + "b")
    deep = tampered(attack, model, "deep-model", layers)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    attack.mtp("run: config.json claiming 2,000 layers", "run", deep, "-i", "cat talk", "-l", "a", "-l", "b")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    attack.results[-1]["detail"] += f" (peak RSS of any command so far {max(peak, before) / 1024:,.0f} MiB)"
    attack.mtp("run: '<RUN>' typed inside a line", "run", model, "-i", "cat talk", "-l", "hi", "-l", "a <RUN> b")


# --- the server --------------------------------------------------------------------------------------------------
def _request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             timeout: float = 60) -> tuple[int, str]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def server_attacks(attack: Attack, model: Path) -> None:
    log = open(attack.root / "serve.log", "w")
    proc = subprocess.Popen([*RUN, "serve", str(model), "--port", "0", "--host", HOST, "--request-timeout", "2",
                             "--max-connections", "64", "--queue-limit", "4", "--max-text-tokens", "4"],
                            cwd=attack.root, env=attack.env, stdout=subprocess.PIPE, stderr=log, text=True)
    try:
        first = proc.stdout.readline()  # "serving NAME at http://127.0.0.1:PORT ..."
        port = int(first.split(f"http://{HOST}:", 1)[1].split(" ", 1)[0].split("/")[0])
        _server_cases(attack, port)
        alive = proc.poll() is None and _request(port, "GET", "/health")[0] == 200
        attack.record("serve: still answers /health after every attack", "ok" if alive else "INTERNAL", expect="ok")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    text = (attack.root / "serve.log").read_text(encoding="utf-8", errors="replace")
    attack.record("serve: no traceback in the server's log", "INTERNAL" if "Traceback" in text else "ok",
                  expect="ok")


def _server_cases(attack: Attack, port: int) -> None:
    def case(name: str, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             want: tuple[int, ...] = (413, 421, 422), expect: str = "refused") -> None:
        started = time.monotonic()
        try:
            status, text = _request(port, method, path, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            attack.record(name, "INTERNAL", f"{type(exc).__name__}: {exc}", time.monotonic() - started, expect)
            return
        json_error = text.startswith('{"error"')
        outcome = ("ok" if status < 300 else "refused" if status in want and json_error else "INTERNAL")
        attack.record(name, outcome, f"{status} {text[:120]}", time.monotonic() - started, expect)

    numeric = json.dumps({"instruction": "alice_cat_alice_instruction_numeric", "lines": ["a", "b"],
                          "numbers": [[1, 2, 3], 5]})
    case("serve /run: a valid request", "POST", "/run", numeric.encode(), expect="ok")
    case("serve /run: a 5,000-digit number", "POST", "/run", numeric.replace("5]", "9" * 5000 + "]").encode())
    prompt = ""
    status, models = _request(port, "GET", "/models")
    if status == 200:
        for instruction in json.loads(models)["models"][0]["instructions"]:
            if instruction["name"] == "alice_cat_alice_instruction_numeric":
                prompt = "".join(instruction["input_lines"])
    huge_prompt = (prompt.replace("<string>", "a").replace("<num_-1000_1000_3>", "[1, 2, 3]")
                   .replace("<num_0_10>", "9" * 5000, 1))
    case("serve /v1/completions: a 5,000-digit number in the prompt", "POST", "/v1/completions",
         json.dumps({"prompt": huge_prompt}).encode())

    def chunks():
        for _ in range(5):
            yield b"[" + b"1," * (512 * 1024)

    case("serve /run: a 5 MiB chunked body", "POST", "/run", chunks())
    case("serve /run: a body nested 100,000 deep", "POST", "/run", b"[" * 100_000)
    case("serve: Host rebind.evil.example (DNS rebinding)", "GET", "/health", headers={"Host": "rebind.evil.example"})
    case("serve /run: '<EOS>' typed inside a line", "POST", "/run",
         json.dumps({"instruction": "cat talk", "lines": ["hi", "x <EOS> y"]}).encode())

    started = time.monotonic()
    slow = []
    for _ in range(300):
        try:
            sock = socket.create_connection((HOST, port), timeout=10)
            sock.sendall(b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            slow.append(sock)
        except OSError:
            break
    deadline, answered = time.monotonic() + 60, False
    while time.monotonic() < deadline and not answered:
        try:
            answered = _request(port, "GET", "/health", timeout=5)[0] == 200
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)
    closed = 0
    for sock in slow:
        sock.settimeout(10)
        try:
            closed += sock.recv(1) == b""
        except OSError:
            closed += 1
        sock.close()
    attack.record(f"serve: 300 half-sent requests (cap 64, 2 s deadline): {closed} closed by the server",
                  "refused" if answered and closed == len(slow) else "HANG",
                  "/health answered while they were open" if answered else "/health never answered",
                  time.monotonic() - started)

    started = time.monotonic()
    body = json.dumps({"instruction": "cat talk", "lines": ["gone", "away"]}).encode()
    head = (f"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    for _ in range(16):
        sock = socket.create_connection((HOST, port), timeout=10)
        sock.sendall(head + body)
        sock.close()
    deadline, pending = time.monotonic() + 60, None
    while time.monotonic() < deadline:
        status, text = _request(port, "GET", "/health")
        pending = sum(m["pending"] for m in json.loads(text)["models"].values())
        if pending == 0:
            break
        time.sleep(0.1)
    attack.record("serve: 16 /run calls whose clients hung up", "refused" if pending == 0 else "HANG",
                  f"queue empty after {time.monotonic() - started:.1f} s", time.monotonic() - started)
    case("serve /run: a request after them", "POST", "/run", numeric.encode(), expect="ok")


# --- the run -----------------------------------------------------------------------------------------------------
def git_status() -> str | None:
    try:
        return subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=REPO, capture_output=True,
                              text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None


def main(argv: "list[str] | None" = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="Also write the results as JSON to this file.")
    args = parser.parse_args(argv)
    sys.dont_write_bytecode = True  # the repository stays as it was: no __pycache__ written into it
    sys.path.insert(0, str(REPO))
    repo_before = git_status()
    parent = Path(tempfile.mkdtemp(prefix="mtp-attack-"))
    root = parent / "target"
    root.mkdir()
    began = time.monotonic()
    attack = Attack(root)
    try:
        model_file = hostile_model_file(root)
        model = root / "model"
        attack.mtp("train the hostile protocol (tiny scratch model)", "train", model_file, "--out", model, *TINY,
                   expect="ok")
        file_attacks(attack, model_file, model)
        directory_attacks(attack, model)
        server_attacks(attack, model)
        outside = sorted(p.name for p in parent.iterdir() if p.name != "target")
        if git_status() != repo_before:
            outside.append("the repository's git status changed")
        attack.record("no file written outside the target", "INTERNAL" if outside else "ok", ", ".join(outside),
                      expect="ok")
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    bad = [r for r in attack.results if r["bad"]]
    summary = {"cases": len(attack.results), "seconds": round(time.monotonic() - began, 1),
               "internal_errors": sum(r["outcome"] == "INTERNAL" for r in attack.results),
               "hangs": sum(r["outcome"] == "HANG" for r in attack.results),
               "writes_outside": sum(r["case"].startswith("no file written") and r["bad"] for r in attack.results),
               "unexpected": len(bad)}
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "results": attack.results}, indent=1), encoding="utf-8")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
