"""``mtp serve DIR...``: answer over HTTP on this machine (loopback unless told otherwise)."""

from __future__ import annotations

import ipaddress
import signal
import socket
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import MTPError
from ._app import app, consoles, verbose_asked
from ._common import existing, threads_option
from ._run import similarity_option, threshold_option

__all__ = ["is_loopback", "listen", "allowed_hosts"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to any interface
        return False


def allowed_hosts(host: str, given: "list[str] | None") -> "list[str] | None":
    """The Host names to answer: those given ('*': any), else loopback names on a loopback address, else any."""
    if given:
        return None if "*" in given else list(given)
    if is_loopback(host):
        from ..serve import loopback_hosts

        return list(loopback_hosts())
    return None


def listen(host: str, port: int) -> socket.socket:
    """A bound, listening socket (port 0: any free port); one clear error when the address cannot be used."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except (OSError, IndexError) as exc:
        raise MTPError(f"cannot listen on {host}:{port} ({exc}); pass an address of this machine to --host.") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        hint = "choose another --port" if exc.errno in (98, 48, 10048) else "check --host and --port"
        raise MTPError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); {hint}.") from None
    return sock


@app.command()
def serve(
    ctx: typer.Context,
    directories: List[Path] = typer.Argument(..., callback=existing(directory=True),
                                             help="Model directories written by `mtp train`; each is served under "
                                             "its protocol's name."),
    host: str = typer.Option(DEFAULT_HOST, "--host", help="Address to listen on. The default answers only this "
                             "machine; any other address lets the network in (no authentication)."),
    port: int = typer.Option(DEFAULT_PORT, "--port", "-p", min=0, max=65535, help="TCP port (0: any free port)."),
    threshold: Optional[float] = threshold_option(),
    min_similarity: Optional[float] = similarity_option(),
    max_text_tokens: Optional[int] = typer.Option(None, "--max-text-tokens", min=1, help="Longest answer text, "
                                                  "in tokens [default: twice the protocol's longest answer]."),
    queue_limit: int = typer.Option(16, "--queue-limit", min=1, help="Requests each model holds, running and "
                                    "waiting; the next is answered 503 with Retry-After."),
    threads: Optional[int] = threads_option(),
    allow_host: Optional[List[str]] = typer.Option(None, "--allow-host", show_default=False,
                                                   help="A Host header name to answer (repeat for more; '*': any) "
                                                   "[default: 127.0.0.1, localhost and ::1 on a loopback --host, "
                                                   "any otherwise]. Other names get 421: no DNS rebinding."),
    request_timeout: float = typer.Option(30.0, "--request-timeout", min=0.1, max=3600,
                                          help="Seconds a request's headers and body may take to arrive."),
    max_connections: int = typer.Option(256, "--max-connections", min=1, max=100_000,
                                         help="Connections open at once; one more is closed at once."),
) -> None:
    """Serve trained models over HTTP: POST /run, GET /models, GET /health, POST /v1/completions,
    POST /v1/chat/completions, docs at /docs."""
    from ..serve import ServeLimits, create_app, guarded_protocol, require_serve_extra
    from .._env import require_train_extra

    require_serve_extra()
    require_train_extra()
    import uvicorn

    from ..extras import use_threads

    io = consoles(ctx)
    sock = listen(host, port)  # before loading: a taken port is told at once
    try:
        with io.err.status("Loading the models…", spinner="dots"):
            application = create_app(list(directories), queue_limit=queue_limit, threshold=threshold,
                                     max_text_tokens=max_text_tokens, min_similarity=min_similarity,
                                     allowed_hosts=allowed_hosts(host, allow_host))
        use_threads(threads)  # after loading: Model.load applies the default
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown}:{bound_port}"
        if not is_loopback(host):
            io.err.print(f"warning: listening on {escape(host)}: anyone who can reach this machine can use the "
                         "models (no authentication); use the default --host 127.0.0.1 to serve only this "
                         "machine.", highlight=False, soft_wrap=True)
        names = ", ".join(application.state.mtp.models)
        io.out.print(f"serving {escape(names)} at {url} (API docs: {url}/docs); Ctrl+C stops", highlight=False,
                     soft_wrap=True)
        verbose = verbose_asked(ctx)
        limits = ServeLimits(request_timeout_s=request_timeout, max_connections=max_connections)
        config = uvicorn.Config(application, log_level="info" if verbose else "warning", access_log=verbose,
                                timeout_graceful_shutdown=5, http=guarded_protocol(limits),
                                timeout_keep_alive=limits.idle_timeout_s)
        _run_until_stopped(uvicorn.Server(config), sock, io.err)
    finally:
        sock.close()


class _Stopped(Exception):
    """SIGTERM, re-raised by uvicorn once it has shut down gracefully."""


def _stopped(_signum: int, _frame: object) -> None:
    raise _Stopped


def _run_until_stopped(server: "object", sock: socket.socket, err: Console) -> None:
    """Serve until Ctrl+C or SIGTERM; uvicorn shuts down gracefully, then re-raises the signal: a normal exit here."""
    previous = signal.signal(signal.SIGTERM, _stopped)
    try:
        server.run(sockets=[sock])  # type: ignore[attr-defined]
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    err.print("stopped", highlight=False)
