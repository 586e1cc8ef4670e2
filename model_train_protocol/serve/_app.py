"""The FastAPI application of ``mtp serve``: typed answers, model listing, health, OpenAI-compatible completions.

Every response that is not an answer is ``{"error": {"message", "type",
"param", "code"}}`` (the OpenAI API's error shape) with a 4xx status that
says whose fault it is: 422 for a request the models cannot take (naming the
field), 404 for an unknown model or instruction (listing the known ones), 503
with ``Retry-After`` when a model's queue is full. A failure inside a model
call is a 500 with one line and no traceback (the server's log has it).
"""

from __future__ import annotations

import copy
import logging
import os
import time
import uuid
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterable, Mapping, Sequence

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import MTPError, MTPFileError, MTPValueError
from ..infer import Answer, InstructionSpec, build_prompt, read_prompt
from ._chat import add_chat_completions
from ._describe import describe_model
from ._limits import BoundedJSONRoute, CancelOnDisconnect, HostAllowList
from ._loading import check_models, load_models
from ._schemas import (CompletionChoice, CompletionRequest, CompletionResponse, ErrorResponse, RunAnswer, RunRequest,
    Usage)
from ._worker import DEFAULT_QUEUE_LIMIT, ModelWorker, QueueFull

if TYPE_CHECKING:
    from ..infer import Model

__all__ = ["create_app", "Problem"]

log = logging.getLogger("model_train_protocol.serve")
#: Seconds a client is asked to wait after a 503.
RETRY_AFTER_S = 1
#: Largest request body: a request of the most lines of the longest text fits many times over.
MAX_BODY_BYTES = 4 * 1024 * 1024


class Problem(Exception):
    """An error response: HTTP status, message, error type and the request field at fault."""

    def __init__(self, status: int, message: str, kind: str, param: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.param = status, message, kind, param
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.status}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


class _BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes is refused with 413 before it is read into memory."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def limited() -> Any:  # a body without Content-Length (chunked) is counted as it comes
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b"")) if message["type"] == "http.request" else 0
            if seen > self.limit:  # an HTTPException: FastAPI passes it on while it reads the body (it makes others 400)
                raise StarletteHTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"the request body is larger than {self.limit // 1024 // 1024} MiB; send less."

    async def _refuse(self, scope: Any, receive: Any, send: Any) -> None:
        await Problem(413, self._message(), "invalid_request_error", "body").response()(scope, receive, send)


_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": what} for status, what in (
        (404, "Unknown model or instruction"), (422, "A request the model cannot take; `param` names the field"),
        (503, "The model's queue is full; retry after `Retry-After` seconds"))
}


class _Served:
    """The models, their workers and the server's settings."""

    def __init__(self, models: dict[str, "Model"], queue_limit: int) -> None:
        self.models = models
        self.queue_limit = queue_limit
        # One worker per network: names that share one PyTorch module (copies of a Model) share its worker.
        by_module: dict[int, ModelWorker] = {}
        self.workers = {name: by_module.setdefault(id(model.model), ModelWorker(name, queue_limit))
                        for name, model in models.items()}

    def model(self, name: str | None) -> tuple[str, "Model"]:
        if name is None:
            if len(self.models) == 1:
                return next(iter(self.models.items()))
            raise Problem(422, f"this server has several models; name one in 'model': {', '.join(self.models)}.",
                          "invalid_request_error", "model")
        if name not in self.models:
            raise Problem(404, f"no model named {name!r}; served: {', '.join(self.models)}.", "not_found_error",
                          "model")
        return name, self.models[name]

    @staticmethod
    def spec(model: "Model", instruction: str | None) -> InstructionSpec:
        if instruction is None:
            if len(model.specs) == 1:
                return next(iter(model.specs.values()))
            raise Problem(422, f"this model has several instructions; name one in 'instruction': "
                          f"{', '.join(model.specs)}.", "invalid_request_error", "instruction")
        if instruction not in model.specs:
            raise Problem(404, f"no instruction named {instruction!r}; this model has: {', '.join(model.specs)}.",
                          "not_found_error", "instruction")
        return model.specs[instruction]

    async def answer(self, name: str, model: "Model", spec: InstructionSpec, prompt: str,
                     threshold: float | None, field: str, count: bool = False) -> tuple[Answer, int, float | None]:
        """Run the prompt on the model's worker: (answer, prompt tokens if ``count`` else 0, threshold applied).

        ``field`` is the request field a library error is blamed on (the prompt's lines, or the prompt).
        """
        if threshold is not None:  # a copy sharing the weights: the override cannot reach another request
            model = copy.copy(model)
            model.threshold = threshold
        try:
            answer, prompt_tokens = await self.workers[name].run(_complete, model, spec, prompt, count)
        except QueueFull as exc:
            raise Problem(503, str(exc), "overloaded_error", None, {"Retry-After": str(RETRY_AFTER_S)}) from None
        except MTPFileError as exc:  # the model's own files failed (a tampered tokenizer): not the client's fault
            log.error("model %r failed on instruction %r: %s", name, spec.name, exc)
            raise Problem(500, f"the model failed on this prompt: {str(exc).splitlines()[0]}", "internal_error") from None
        except MTPError as exc:  # e.g. a prompt that leaves no room for an answer
            raise Problem(422, str(exc).splitlines()[0], "invalid_request_error", field) from None
        except Exception as exc:  # a bug or a broken model: one line to the client, the traceback to the log
            log.exception("model %r failed on instruction %r", name, spec.name)
            raise Problem(500, f"internal error while answering ({type(exc).__name__}); the server's log has the "
                          "details.", "internal_error") from None
        return answer, prompt_tokens, model.threshold


def _complete(model: "Model", spec: InstructionSpec, prompt: str, count: bool) -> tuple[Answer, int]:
    """On the model's thread: the answer, and the prompt's length in tokens when ``count``."""
    return model.complete(spec, prompt), len(model.vocab.encode(prompt)) if count else 0


def _typed(name: str, answer: Answer, threshold: float | None, started: float) -> RunAnswer:
    return RunAnswer(model=name, instruction=answer.instruction, text=answer.text, final=answer.final,
                     final_key=answer.final_key, value=answer.value, refused=answer.guardrail,
                     confidence=answer.confidence, candidate=answer.candidate or answer.final,
                     refused_by=answer.refused_by, prompt_similarity=answer.prompt_similarity, threshold=threshold,
                     final_probs=answer.final_probs, tokens=answer.tokens, state=answer.state, labels=answer.labels,
                     latency_ms=round((time.perf_counter() - started) * 1000, 3))


def _field(location: Sequence[Any]) -> str:
    """``("body", "lines", 0)`` -> ``lines[0]``."""
    parts = [p for p in location if p != "body"]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _validation_problem(exc: RequestValidationError) -> Problem:
    """The first thing wrong with a request body, as one message naming its field."""
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("body",), "type": "", "msg": "invalid request"}
    kind, param = first.get("type", ""), _field(first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if kind == "json_invalid":
        param = "body"
        text = f"the request body is not valid JSON ({first.get('ctx', {}).get('error', 'unreadable')})."
    elif param == "body" and kind in ("missing", "model_attributes_type", "dict_type"):
        text = "the request body must be a JSON object (send Content-Type: application/json)."
    elif kind == "extra_forbidden":
        text = f"unknown field {param!r}; the fields are: model, instruction, lines, numbers, threshold."
    else:
        text = f"{param}: {message}."
    more = len(errors) - 1
    if more > 0:
        text += f" ({more} more problem{'s' if more > 1 else ''} in this request.)"
    return Problem(422, text, "invalid_request_error", param)


def create_app(
    models: "Mapping[str, Model] | Sequence[str | os.PathLike[str]]",
    *,
    queue_limit: int = DEFAULT_QUEUE_LIMIT,
    threshold: float | None = None,
    max_text_tokens: int | None = None,
    min_similarity: float | None = None,
    allowed_hosts: "Iterable[str] | None" = None,
) -> FastAPI:
    """The server for ``models``: ``{name: Model}``, or trained directories (loaded with ``Model.load``).

    Directories are named by their protocol; ``threshold``,
    ``max_text_tokens`` and ``min_similarity`` apply to them as on
    ``mtp run``. ``queue_limit`` bounds the requests each model holds,
    running and waiting. ``allowed_hosts``: the ``Host`` names answered (others
    get 421; None: any, as behind a proxy that checks them).
    """
    if isinstance(models, Mapping):
        if threshold is not None or max_text_tokens is not None or min_similarity is not None:
            raise MTPValueError("threshold, max_text_tokens and min_similarity apply to directories; set them on "
                                "each Model.")
        loaded = check_models(models)
    else:
        loaded = load_models(list(models), threshold=threshold, max_text_tokens=max_text_tokens,
                             min_similarity=min_similarity)
    served = _Served(loaded, queue_limit)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        for worker in set(served.workers.values()):
            worker.close()

    from .._version import __version__

    app = FastAPI(title="mtp serve", version=__version__, lifespan=lifespan,
                  description="Trained MTP models over HTTP: `POST /run` for typed answers, `GET /models` for "
                  "what each instruction takes, `POST /v1/completions` and `POST /v1/chat/completions` for "
                  "OpenAI-compatible clients.")
    app.state.mtp = served
    app.router.route_class = BoundedJSONRoute
    app.add_middleware(_BodyLimit)
    app.add_middleware(CancelOnDisconnect)
    if allowed_hosts is not None:
        app.add_middleware(HostAllowList, hosts=allowed_hosts)

    @app.exception_handler(Problem)
    async def _problem(_request: Request, exc: Problem) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc).response()

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:  # a bug: never a traceback to the client
        return Problem(500, f"internal error ({type(exc).__name__}); the server's log has the details.",
                       "internal_error").response()

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = {404: "not_found_error", 405: "method_not_allowed"}.get(exc.status_code, "invalid_request_error")
        return Problem(exc.status_code, f"{str(exc.detail).rstrip('.')}.", kind, "body" if exc.status_code == 413
                       else None, headers=exc.headers).response()

    @app.post("/run", response_model=RunAnswer, responses=_ERRORS, summary="Answer one prompt")
    async def run(request: RunRequest) -> RunAnswer:
        """Fill the instruction's input lines with `lines` and `numbers` and answer with the template's shape."""
        started = time.perf_counter()
        name, model = served.model(request.model)
        spec = served.spec(model, request.instruction)
        try:
            prompt = build_prompt(spec, request.lines, request.numbers)
        except MTPValueError as exc:
            field = "lines" if len(request.lines) != spec.text_lines else "numbers"
            raise Problem(422, str(exc), "invalid_request_error", field) from None
        answer, _tokens, applied = await served.answer(name, model, spec, prompt, request.threshold, "lines")
        return _typed(name, answer, applied, started)

    @app.get("/models", summary="Models, instructions and how to fill their input lines")
    async def list_models() -> dict[str, Any]:
        return {"models": [describe_model(name, model, queue_limit) for name, model in served.models.items()]}

    @app.get("/health", summary="Liveness and queue lengths")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "models": {name: {"pending": worker.pending, "queue_limit": worker.limit}
                                           for name, worker in served.workers.items()}}

    @app.post("/v1/completions", response_model=CompletionResponse, responses=_ERRORS,
              summary="OpenAI-compatible completions (greedy; the prompt is the filled template)")
    async def completions(request: CompletionRequest) -> CompletionResponse:
        """`prompt` is the model prompt as the template defines it; `choices[i].text` is what the model wrote
        after it (`text\\nFINAL\\n<EOS>`)."""
        started = time.perf_counter()
        name, model = served.model(request.model)
        specs = [served.spec(model, request.instruction)] if request.instruction is not None else model.specs.values()
        prompts = [request.prompt] if isinstance(request.prompt, str) else request.prompt
        choices, answers, prompt_tokens, completion_tokens = [], [], 0, 0
        for index, text in enumerate(prompts):
            field = "prompt" if isinstance(request.prompt, str) else f"prompt[{index}]"
            try:
                spec, lines, numbers = read_prompt(specs, text)
            except MTPValueError as exc:
                raise Problem(422, str(exc), "invalid_request_error", field) from None
            prompt = build_prompt(spec, lines, numbers)  # the text itself, with what read_prompt puts back
            answer, tokens, applied = await served.answer(name, model, spec, prompt, request.threshold, field,
                                                          count=True)
            choices.append(CompletionChoice(text=answer.raw, index=index))
            answers.append(_typed(name, answer, applied, started))
            prompt_tokens += tokens
            completion_tokens += answer.tokens
        return CompletionResponse(id=f"cmpl-{uuid.uuid4().hex}", created=int(time.time()), model=name,
                                  choices=choices, mtp=answers,
                                  usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                                              total_tokens=prompt_tokens + completion_tokens))

    add_chat_completions(app, served, Problem, _ERRORS, _typed)

    @app.get("/v1/models", summary="OpenAI-compatible model list")
    async def openai_models() -> dict[str, Any]:
        created = int(time.time())
        return {"object": "list", "data": [{"id": name, "object": "model", "created": created, "owned_by": "mtp"}
                                           for name in served.models]}

    return app
