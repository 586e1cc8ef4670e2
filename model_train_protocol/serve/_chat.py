"""OpenAI ``POST /v1/chat/completions``: a chat conversation mapped onto one instruction's input lines.

Chat clients and chat UIs send messages, not MTP prompts. The mapping is the one of ``mtp chat``
(:func:`~model_train_protocol.infer.fill_history`):

- the last message is the user's newest, and fills the instruction's prompt line (its last user line);
- earlier ``user`` and ``assistant`` messages fill the earlier lines of their side (lines whose TokenSet holds a
  UserToken are the user's, the others the model's), newest first;
- ``system`` (or ``developer``) messages, in order, are the starting text of the lines the conversation has not
  filled: one per line but the prompt line (as ``mtp chat --line``), or one per line;
- the instruction is the model's only one, or the request's ``instruction`` (an extension, as on
  ``/v1/completions``); number placeholders take the extension ``numbers``.

The reply's ``content`` is the answer's text; ``mtp`` holds the typed answer (final, refusal, confidence).
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, List, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from ..errors import MTPValueError
from ..infer import build_prompt, fill_history
from ._schemas import MAX_LINES, NumberValue, RunAnswer, Text, Threshold, Usage

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["ChatRequest", "ChatResponse", "add_chat_completions", "chat_lines"]

#: Roles whose messages give the lines' starting text.
_SYSTEM_ROLES = ("system", "developer")


class TextPart(BaseModel):
    """One part of a message's content; only text parts carry lines."""

    type: Literal["text"]
    text: Text


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: Union[Text, List[TextPart]]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class ChatRequest(BaseModel):
    """OpenAI ``POST /v1/chat/completions``; how messages become input lines: this module's docstring."""

    model_config = ConfigDict(extra="ignore")

    model: Optional[StrictStr] = None
    messages: List[ChatMessage] = Field(min_length=1, max_length=4 * MAX_LINES, description="The conversation, "
                                        "oldest first; the last message is the user's.")
    max_tokens: Optional[int] = Field(None, ge=1, description="Accepted and not used: the model's answer budget.")
    max_completion_tokens: Optional[int] = Field(None, ge=1, description="Accepted and not used.")
    temperature: Optional[float] = Field(None, ge=0, le=2, description="Accepted and not used: answers are greedy.")
    n: int = Field(1, ge=1, le=1)
    stream: Literal[False] = Field(False, description="Streaming is not supported.")
    instruction: Optional[StrictStr] = Field(None, description="(extension) The instruction to answer with.")
    numbers: list[NumberValue] = Field(default_factory=list, max_length=MAX_LINES,
                                       description="(extension) The number placeholders' values, in order.")
    threshold: Optional[Threshold] = Field(None, description="(extension) The refusal threshold.")


class ChatChoiceMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatChoice(BaseModel):
    index: int
    message: ChatChoiceMessage
    logprobs: None = None
    finish_reason: str = "stop"


class ChatResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage
    mtp: list[RunAnswer] = Field(description="(extension) The typed answer.")


def chat_lines(spec: Any, messages: List[ChatMessage]) -> list[str]:
    """The instruction's input lines for a conversation (the mapping of this module's docstring)."""
    if messages[-1].role != "user":
        raise MTPValueError(f"the last message must be the user's, got {messages[-1].role!r}.")
    system = [m.text() for m in messages if m.role in _SYSTEM_ROLES]
    count = spec.text_lines
    if len(system) not in (0, count - 1, count):
        raise MTPValueError(f"instruction {spec.name!r} takes {count} input line(s): give {count - 1} system "
                            f"message(s) (the starting text of every line but the prompt line, line "
                            f"{spec.prompt_line + 1}), {count}, or none; got {len(system)}.")
    start = system or [""] * count
    if len(start) == count - 1:
        start.insert(spec.prompt_line, "")
    turns = [(m.role == "user", m.text()) for m in messages[:-1] if m.role not in _SYSTEM_ROLES]
    return fill_history(spec, start, turns, messages[-1].text())


def add_chat_completions(app: "FastAPI", served: Any, problem: Callable[..., Exception], errors: dict,
                         typed: Callable[..., RunAnswer]) -> None:
    """Route ``POST /v1/chat/completions`` on ``app``, answering through ``served`` (the server's models)."""

    @app.post("/v1/chat/completions", response_model=ChatResponse, responses=errors,
              summary="OpenAI-compatible chat (greedy; messages fill the instruction's input lines)")
    async def chat_completions(request: ChatRequest) -> ChatResponse:
        """The last user message fills the prompt line, earlier turns the lines before it, system messages the
        starting text; `choices[0].message.content` is the answer's text, `mtp` the typed answer."""
        started = time.perf_counter()
        name, model = served.model(request.model)
        spec = served.spec(model, request.instruction)
        field = "messages"
        try:
            lines = chat_lines(spec, request.messages)
            field = "numbers"  # the lines fit the instruction: what build_prompt refuses is in the numbers (as /run)
            prompt = build_prompt(spec, lines, request.numbers)
        except MTPValueError as exc:
            raise problem(422, str(exc).splitlines()[0], "invalid_request_error", field) from None
        answer, tokens, applied = await served.answer(name, model, spec, prompt, request.threshold, "messages",
                                                      count=True)
        return ChatResponse(id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()), model=name,
                            choices=[ChatChoice(index=0, message=ChatChoiceMessage(content=answer.text))],
                            mtp=[typed(name, answer, applied, started)],
                            usage=Usage(prompt_tokens=tokens, completion_tokens=answer.tokens,
                                        total_tokens=tokens + answer.tokens))
