"""The server's limits (issue 20): oversized and unparsable bodies, slow and idle connections, a connection cap,
foreign Host headers, work for clients that hung up. Real sockets on 127.0.0.1 where the transport matters."""

from __future__ import annotations

import copy
import http.client
import json
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import pytest

from model_train_protocol.serve import ServeLimits, guarded_protocol

from .conftest import NAME

INSTRUCTION = "alice_cat_alice_appear_disappear"
NUMERIC = "alice_cat_alice_instruction_numeric"
#: How long a test waits for something the server must do soon (never a measured threshold).
PATIENCE_S = 60


@contextmanager
def running(app, limits: ServeLimits = ServeLimits()) -> Iterator[int]:
    """``app`` served by uvicorn with ``limits`` on a free loopback port, in a thread; yields the port."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", http=guarded_protocol(limits),
                                           timeout_keep_alive=limits.idle_timeout_s, lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + PATIENCE_S
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(PATIENCE_S)
        sock.close()


def _get(port: int, path: str = "/health", timeout: float = PATIENCE_S) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    finally:
        connection.close()


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server closes ``sock`` (whatever it still sends first is read and dropped)."""
    sock.settimeout(PATIENCE_S)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# --- bodies ----------------------------------------------------------------------------------------------------
def test_a_chunked_body_over_the_limit_is_413(client):
    """Finding 10: a body without Content-Length was counted, then reported as a 400."""
    def chunks():
        for _ in range(5):
            yield b"[" + b"1," * (512 * 1024)

    response = client.post("/run", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["param"] == "body" and "4 MiB" in response.json()["error"]["message"]


def test_a_huge_number_in_a_request_is_422_naming_the_field(client):
    """Finding 9: 5,000 digits gave /run a 400 with param null, /v1/completions a 500 with a traceback."""
    body = '{"instruction": "%s", "lines": ["a", "b"], "numbers": [%s]}' % (NUMERIC, "9" * 5000)
    response = client.post("/run", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "numbers[0]"
    assert len(response.text) < 1000
    response = client.post("/run", content='{"threshold": %s}' % ("1" * 5000), headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "threshold"


def test_a_huge_number_in_a_completion_prompt_is_422(client, model):
    prompt = model.prompt(NUMERIC, ["a", "b"], [[1, 2, 3], 7])
    for huge in (prompt.replace("7", "9" * 5000, 1), prompt.replace("[1, 2, 3]", f"[1, 2, {'3' * 5000}]")):
        response = client.post("/v1/completions", json={"model": NAME, "prompt": huge})
        assert response.status_code == 422 and response.json()["error"]["param"] == "prompt"
        assert "characters long" in response.text and len(response.text) < 1000


def test_a_body_nested_too_deeply_is_422(client):
    response = client.post("/run", content="[" * 100_000, headers={"Content-Type": "application/json"})
    assert response.status_code == 422 and response.json()["error"]["param"] == "body"


# --- Host ------------------------------------------------------------------------------------------------------
def test_a_foreign_host_is_refused_on_loopback(app):
    """Finding 13: `Host: rebind.evil.example` got 200, so DNS rebinding reached the loopback server."""
    from fastapi.testclient import TestClient

    from model_train_protocol.cli import allowed_hosts
    from model_train_protocol.serve import create_app

    hosts = allowed_hosts("127.0.0.1", None)
    assert allowed_hosts("0.0.0.0", None) is None and allowed_hosts("127.0.0.1", ["*"]) is None
    guarded = create_app(dict(app.state.mtp.models), allowed_hosts=hosts)
    with TestClient(guarded, base_url="http://127.0.0.1:8000") as local:
        for host in ("rebind.evil.example", "rebind.evil.example:8000", "127.0.0.1.evil.example", ""):
            response = local.get("/health", headers={"Host": host})
            assert response.status_code == 421 and response.json()["error"]["param"] == "Host", host
        for host in ("127.0.0.1:8000", "localhost", "[::1]:8000", "LOCALHOST:1"):
            assert local.get("/health", headers={"Host": host}).status_code == 200, host


# --- connections -----------------------------------------------------------------------------------------------
def test_half_sent_requests_are_closed_and_connections_are_capped(app):
    """Finding 11: 300 half-sent requests stayed open; 1,100 exhausted the descriptors and /health timed out."""
    limits = ServeLimits(request_timeout_s=1.0, idle_timeout_s=1.0, max_connections=4)
    with running(app, limits) as port:
        slow = []
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le")
            slow.append(sock)
        over = socket.create_connection(("127.0.0.1", port))
        assert _closed_by_server(over)  # the fifth is closed at once
        assert all(_closed_by_server(sock) for sock in slow)  # the half-sent ones at their deadline
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            try:
                assert _get(port) == 200
                break
            except (ConnectionError, http.client.RemoteDisconnected):
                time.sleep(0.05)
        else:
            raise AssertionError("/health never answered once the slow connections were gone")
        idle = socket.create_connection(("127.0.0.1", port))
        idle.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        idle.settimeout(PATIENCE_S)
        assert idle.recv(4096).startswith(b"HTTP/1.1 200")
        assert _closed_by_server(idle)  # kept alive, then closed when idle
        for sock in (*slow, over, idle):
            sock.close()


def test_requests_of_clients_that_hung_up_are_dropped(app, model):
    """Finding 12: 16 abandoned /run calls kept the queue busy while others got 503."""
    from model_train_protocol.serve import create_app

    release, calls = threading.Event(), []
    slow = copy.copy(model)

    def complete(spec, prompt, **options):
        calls.append(prompt)
        if len(calls) == 1:
            release.wait(PATIENCE_S)
        return model.complete(spec, prompt, **options)

    slow.complete = complete
    served = create_app({NAME: slow}, queue_limit=16)
    body = json.dumps({"instruction": INSTRUCTION, "lines": ["first", "one"]}).encode()
    request = (b"POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n")
    with running(served) as port:
        first = socket.create_connection(("127.0.0.1", port))
        first.sendall(request + body)
        abandoned = []
        for n in range(5):
            sock = socket.create_connection(("127.0.0.1", port))
            other = json.dumps({"instruction": INSTRUCTION, "lines": ["gone", str(n)]}).encode()
            sock.sendall(request.replace(str(len(body)).encode(), str(len(other)).encode()) + other)
            abandoned.append(sock)

        def pending() -> int:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PATIENCE_S)
            connection.request("GET", "/health")
            value = json.loads(connection.getresponse().read())["models"][NAME]["pending"]
            connection.close()
            return value

        deadline = time.monotonic() + PATIENCE_S
        while pending() < 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        for sock in abandoned:
            sock.close()
        while pending() > 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert pending() == 1  # only the first call is left: the others were dropped before they ran
        release.set()
        first.settimeout(PATIENCE_S)
        assert first.recv(4096).startswith(b"HTTP/1.1 200")
        first.close()
        assert len(calls) == 1


# --- structural tokens in user text ------------------------------------------------------------------------------
@pytest.mark.parametrize("line", ["the <RUN> token", "then <EOS>", "Vanish_ now", "<BOS>"])
def test_a_line_holding_a_structural_token_is_refused_everywhere(client, model, line):
    """Finding 17: `<RUN>`, `<EOS>` or a final's key typed in a line became the structural token itself."""
    from model_train_protocol.errors import MTPValueError

    with pytest.raises(MTPValueError, match="structural token"):
        model.run(INSTRUCTION, ["hello", line])
    response = client.post("/run", json={"instruction": INSTRUCTION, "lines": ["hello", line]})
    assert response.status_code == 422 and response.json()["error"]["param"] == "lines"
    assert "structural token" in response.json()["error"]["message"]
    prompt = model.prompt(INSTRUCTION, ["hello", line])
    response = client.post("/v1/completions", json={"model": NAME, "prompt": prompt})
    assert response.status_code == 422 and "Traceback" not in response.text
    assert client.post("/run", json={"instruction": INSTRUCTION, "lines": ["hello", "run eos vanish"]}).status_code == 200
