"""Run trained MTP models: prompts from the template, constrained decoding, typed answers, chat.

    from model_train_protocol.infer import Model
    model = Model.load("out/cheshire")
    answer = model.run("alice_cat_alice_continue", lines=["Hello.", "Which way?"])
    answer.text, answer.final, answer.guardrail

Prompt building, answers and chat history need no PyTorch; ``Model`` (and the
decoder) import it on first use and say how to install it when it is missing.
"""

from __future__ import annotations

from typing import Any

from .._env import require_train_extra
from .answer import Answer, MalformedOutput, parse_completion
from .chat import ChatSession, fill_history
from .prompt import build_prompt
from .similarity import SentenceEncoderError
from .spec import Final, InstructionSpec, instruction_specs

__all__ = [
    "Answer",
    "ChatSession",
    "Final",
    "InstructionSpec",
    "MalformedOutput",
    "Model",
    "SentenceEncoderError",
    "build_prompt",
    "fill_history",
    "instruction_specs",
    "parse_completion",
]


def __getattr__(name: str) -> Any:
    """``Model`` is imported on first use, so this package imports without PyTorch."""
    if name == "Model":
        require_train_extra()
        from .model import Model

        return Model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
