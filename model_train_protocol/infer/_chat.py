"""A conversation with one instruction: the history becomes the instruction's earlier input lines.

An MTP prompt has a fixed number of lines, each labelled with a TokenSet;
lines whose TokenSet holds a UserToken are the user's, the others the model's
side. Each new message goes in the prompt line (the last user line); every
earlier line is filled, newest first, with the latest turn of its side that
is not used yet, and keeps its starting text while the history is too short.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from ..errors import MTPValueError
from ._answer import Answer
from ..runtime import InstructionSpec

__all__ = ["ChatSession", "fill_history"]


def fill_history(spec: InstructionSpec, start: Sequence[str], history: Sequence[tuple[bool, str]], message: str) -> list[str]:
    """The input lines for ``message`` given ``history`` of (is_user, text) turns, oldest first."""
    lines = list(start)
    prompt = spec.prompt_line
    lines[prompt] = message
    user = list(spec.user_lines) or _alternating(spec.text_lines, prompt)
    remaining = {True: [t for u, t in history if u], False: [t for u, t in history if not u]}
    for i in range(spec.text_lines - 1, -1, -1):
        if i != prompt and remaining[user[i]]:
            lines[i] = remaining[user[i]].pop()
    return lines


def _alternating(count: int, prompt: int) -> list[bool]:
    """Without the protocol, guess that sides alternate backwards from the prompt line."""
    return [(prompt - i) % 2 == 0 for i in range(count)]


class _Runs(Protocol):
    """What a chat needs of a :class:`~model_train_protocol.infer.Model` (which creates the sessions)."""

    def run(self, instruction: str | None, lines: Sequence[str], numbers: Sequence[Any] = (),
            **options: Any) -> Answer: ...


class ChatSession:
    """Send messages, get answers; refused messages stay out of the history."""

    def __init__(self, model: _Runs, spec: InstructionSpec, lines: Sequence[str] | None = None,
                 numbers: Sequence[Any] = ()) -> None:
        start = list(lines) if lines else [""] * spec.text_lines
        if len(start) == spec.text_lines - 1:  # every line but the prompt line, which the messages fill
            start.insert(spec.prompt_line, "")
        if len(start) != spec.text_lines:
            raise MTPValueError(
                f"instruction {spec.name!r} takes {spec.text_lines} input line(s): give {spec.text_lines - 1} starting "
                f"line(s) (every line but the prompt line, line {spec.prompt_line + 1}), {spec.text_lines}, or none."
            )
        self.model = model
        self.spec = spec
        self.start = start
        self.numbers = list(numbers)
        self.history: list[tuple[bool, str]] = []

    def lines(self, message: str) -> list[str]:
        """The input lines the next ``message`` would be sent with."""
        return fill_history(self.spec, self.start, self.history, message)

    def send(self, message: str, **options: Any) -> Answer:
        answer = self.model.run(self.spec.name, self.lines(message), self.numbers, **options)
        if not answer.guardrail:
            self.history += [(True, message), (False, answer.text)]
        return answer
