"""What ``mtp serve`` refuses before a request reaches a model: slow or idle connections, too many of them,
foreign ``Host`` headers, request bodies that do not parse, and work for clients that hung up.

The parts, each where it acts:

- :func:`guarded_protocol`: uvicorn's HTTP/1.1 protocol with a deadline for a
  whole request (headers and body) to arrive, and a cap on open connections
  (one over the cap is closed at once, so file descriptors never run out).
  The idle time between keep-alive requests is uvicorn's ``timeout_keep_alive``.
- :class:`HostAllowList`: a request whose ``Host`` is not an allowed name gets
  ``421``; on a loopback address the CLI allows only loopback names, so a web
  page that rebinds its own DNS name to 127.0.0.1 cannot reach the models.
- :class:`CancelOnDisconnect`: a client that hangs up before its answer
  cancels its request; a call still waiting for its model is dropped.
- :class:`BoundedJSONRoute`: a body whose integers are too long for Python
  (over 4,300 digits) or that nests too deeply is a ``422`` naming the field,
  not a ``400`` without one.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from fastapi import Request
from fastapi.routing import APIRoute

__all__ = ["ServeLimits", "guarded_protocol", "HostAllowList", "CancelOnDisconnect", "BoundedJSONRoute",
           "loopback_hosts"]

log = logging.getLogger("model_train_protocol.serve")

#: Digits an integer of a request body may have; a longer one becomes a value no field accepts.
MAX_INT_DIGITS = 400


@dataclass(frozen=True)
class ServeLimits:
    """The connection limits of ``mtp serve``.

    ``request_timeout_s``: a request's headers and body must have arrived this
    long after its first byte (or after the connection opened), else the
    connection is closed. ``idle_timeout_s``: a keep-alive connection without
    a new request is closed after this. ``max_connections``: connections open
    at once; one more is closed as soon as it is accepted.
    """

    request_timeout_s: float = 30.0
    idle_timeout_s: float = 5.0
    max_connections: int = 256


def loopback_hosts() -> tuple[str, ...]:
    """``Host`` names a loopback server answers: what a client on this machine sends, never a DNS name."""
    return ("127.0.0.1", "localhost", "::1")


def guarded_protocol(limits: ServeLimits) -> type:
    """uvicorn's h11 protocol with ``limits``' request deadline and connection cap (pass as ``Config(http=...)``)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class _Guarded(H11Protocol):  # type: ignore[misc]
        _deadline: "asyncio.TimerHandle | None" = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                log.warning("refused a connection: %d are open (the cap)", limits.max_connections)
                transport.close()
                return
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state in (h11.IDLE, h11.SEND_BODY):  # a request is still arriving
                self._arm()
            else:
                self._disarm()

        def connection_lost(self, exc: "Exception | None") -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._deadline is None and not self.transport.is_closing():
                self._deadline = self.loop.call_later(limits.request_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

    return _Guarded


def _problem(status: int, message: str, param: str | None) -> Any:
    """The server's error body (``app.Problem``'s shape; that module imports this one)."""
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "param": param,
                                   "code": status}}, status_code=status)


class HostAllowList:
    """ASGI middleware: a request whose ``Host`` header (port aside) is not in ``hosts`` is answered ``421``."""

    def __init__(self, app: Any, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {h.lower().strip("[]") for h in hosts}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = dict(scope.get("headers") or ()).get(b"host", b"").decode("latin-1").lower()
            name = raw[1:].split("]", 1)[0] if raw.startswith("[") else raw.rsplit(":", 1)[0] if raw.count(":") == 1 \
                else raw
            if name not in self.hosts:
                shown = raw[:60] + ("..." if len(raw) > 60 else "")
                await _problem(421, f"this server does not answer for the host {shown!r}; it answers "
                               f"{', '.join(sorted(self.hosts))} (see mtp serve --allow-host).", "Host")(
                    scope, receive, send)
                return
        await self.app(scope, receive, send)


class CancelOnDisconnect:
    """ASGI middleware: when the client hangs up before the response starts, the request's work is cancelled.

    Once the app has read the whole body, a watcher waits on the connection;
    a disconnect then cancels the app (a model call still queued is dropped
    by :class:`~._worker.ModelWorker`), and later reads of the app get it.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watcher: "asyncio.Future[Any] | None" = None
        started = hung = False

        async def read() -> Any:
            nonlocal watcher
            if watcher is not None:
                return await asyncio.shield(watcher)
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body", False):
                watcher = asyncio.ensure_future(receive())
                watcher.add_done_callback(hung_up)
            return message

        async def write(message: Any) -> None:
            nonlocal started
            started = True
            await send(message)

        task = asyncio.ensure_future(self.app(scope, read, write))

        def hung_up(future: "asyncio.Future[Any]") -> None:
            nonlocal hung
            if (not future.cancelled() and future.exception() is None
                    and future.result().get("type") == "http.disconnect" and not started and not task.done()):
                hung = True
                task.cancel()

        try:
            await task
        except asyncio.CancelledError:
            if not hung:  # the server itself is stopping
                raise
        finally:
            if watcher is not None and not watcher.done():
                watcher.cancel()


def _json_int(text: str) -> Any:
    """An integer of a request body, or a value no field accepts when it is too long to convert."""
    if len(text) > MAX_INT_DIGITS:
        return _TooLong(len(text))
    return int(text)


class _TooLong:
    """An integer too long for any field: its repr says so, in bounded length."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


class _BoundedJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = json.loads(body, parse_int=_json_int)
            except RecursionError:
                raise json.JSONDecodeError("nested too deeply", body.decode("utf-8", "replace")[:80], 0) from None
        return self._json


class BoundedJSONRoute(APIRoute):
    """A route whose JSON body is parsed with integers bounded and nesting errors reported as invalid JSON."""

    def get_route_handler(self) -> Callable[..., Any]:
        handler = super().get_route_handler()

        async def bounded(request: Request) -> Any:
            return await handler(_BoundedJSONRequest(request.scope, request.receive))

        return bounded
