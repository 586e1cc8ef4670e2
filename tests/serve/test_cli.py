"""``mtp serve``: a real process answering a real HTTP client, loopback by default, errors as one line."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from cli.mtp_runner import MTP
from infer.tiny import mtp_in_process
from model_train_protocol.cli import is_loopback

from .conftest import MAX_TEXT_TOKENS, NAME, expected, without_latency

#: Bounds of the real-process test: start-up (PyTorch import and loading on a busy machine), each request.
START_S, REQUEST_S = 180, 60


def _call(url, body=None):
    """(status, JSON body) of a GET, or of a POST with a JSON body, through urllib (a real HTTP client)."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_real_server_answers_a_real_client(model_dir, model):
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "200", "OMP_NUM_THREADS": "1"}
    env.pop("MTP_DEBUG", None)
    proc = subprocess.Popen([MTP, "serve", str(model_dir), "--port", "0", "--max-text-tokens", str(MAX_TEXT_TOKENS),
                             "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=START_S)
        assert first.startswith(f"serving {NAME} at http://127.0.0.1:"), first
        url = first.split(" at ", 1)[1].split(" ", 1)[0]
        assert _call(f"{url}/health")[1]["status"] == "ok"
        body = {"instruction": "alice_cat_alice_appear_disappear", "lines": ["Hello.", "Where did you go?"]}
        status, answer = _call(f"{url}/run", body)
        assert status == 200 and without_latency(answer) == expected(model, body["instruction"], body["lines"])
        status, error = _call(f"{url}/run", {"instruction": "alice_cat_alice_continue", "lines": ["one"]})
        assert status == 422 and error["error"]["param"] == "lines" and "takes 2 input line(s)" in error["error"]["message"]
        prompt = model.prompt("alice_cat_alice_continue", ["a", "b"])
        status, completion = _call(f"{url}/v1/completions", {"model": NAME, "prompt": prompt, "max_tokens": 32})
        assert status == 200 and completion["choices"][0]["text"] == model.run("alice_cat_alice_continue", ["a", "b"]).raw
        assert [m["id"] for m in _call(f"{url}/v1/models")[1]["data"]] == [NAME]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        err = proc.stderr.read()
    assert code == 0 and "Traceback" not in err, err


def _served_in_process(monkeypatch, *args):
    """``mtp serve ARGS`` in this process up to the point it would serve (uvicorn's loop is not entered)."""
    import uvicorn

    ran = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: ran.append(sockets[0].getsockname()))
    code, out, err = mtp_in_process("serve", *args, "--port", "0")
    return code, out, err, ran


def test_loopback_by_default_and_a_warning_for_anything_else(monkeypatch, model_dir):
    code, out, err, ran = _served_in_process(monkeypatch, model_dir)
    assert code == 0 and ran and ran[0][0] == "127.0.0.1", (out, err)
    assert out.startswith(f"serving {NAME} at http://127.0.0.1:{ran[0][1]} ") and "warning" not in err
    code, out, err, ran = _served_in_process(monkeypatch, model_dir, "--host", "0.0.0.0")
    assert code == 0 and ran[0][0] == "0.0.0.0"
    warning = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "anyone who can reach this machine" in warning[0]


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True),
                                            ("localhost", True), ("0.0.0.0", False), ("::", False),
                                            ("192.168.1.5", False), ("example.org", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def _one_error_line(code, out, err, status=1):
    assert code == status and "Traceback" not in out + err, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_two_directories_of_one_protocol_are_an_error(monkeypatch, model_dir):
    line = _one_error_line(*_served_in_process(monkeypatch, model_dir, model_dir)[:3])
    assert f"both hold a model of protocol '{NAME}'" in line


def test_a_directory_that_is_no_model(monkeypatch, tmp_path):
    line = _one_error_line(*_served_in_process(monkeypatch, tmp_path)[:3])
    assert "mtp_manifest.json is missing" in line


def test_a_missing_directory_is_a_usage_error(monkeypatch, tmp_path):
    code, out, err, _ran = _served_in_process(monkeypatch, tmp_path / "nope")
    assert code == 2 and "does not exist" in err and "Traceback" not in out + err


def test_a_taken_port_is_one_line(model_dir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, out, err = mtp_in_process("serve", model_dir, "--port", port)
    line = _one_error_line(code, out, err)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "choose another --port" in line


@pytest.mark.parametrize("args", [["--queue-limit", "0"], ["--port", "70000"], ["--threshold", "2"]])
def test_bad_options_are_usage_errors(model_dir, args):
    code, out, err = mtp_in_process("serve", model_dir, *args)
    assert code == 2 and "Traceback" not in out + err


def test_without_the_serve_extra_one_line_says_what_to_install(monkeypatch, model_dir):
    monkeypatch.setitem(sys.modules, "fastapi", None)  # import fastapi now raises ImportError
    line = _one_error_line(*mtp_in_process("serve", model_dir))
    assert "needs the [serve] extra" in line and 'pip install ".[serve,train]"' in line
