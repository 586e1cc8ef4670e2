"""Run trained MTP models: prompts from the template, constrained decoding, typed answers, chat.

    from model_train_protocol.infer import Model
    model = Model.load("out/cheshire")
    answer = model.run("alice_cat_alice_continue", lines=["Hello.", "Which way?"])
    answer.text, answer.final, answer.guardrail

Prompt building, answers, chat history and the answer grammar need no PyTorch; ``Model``, the decoder and its
vocabulary import it on first use and say how to install it when it is missing. One job per private module:
``_prompt`` (the prompt of an instruction), ``_answer`` (a completion read back), ``_chat`` (history),
``_grammar`` (the answer grammar, built once from the runtime spec) with its writers ``_gbnf`` (llama.cpp) and
``_decode`` (token masks), ``_vocab``, ``_similarity`` and ``_intent`` (the sentence encoder and the intent head),
``_spec`` (specs from a template) and ``_model`` (:class:`Model`). Import from here, never from them.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from .._env import require_train_extra
from ..runtime import Final, InstructionSpec
from ._answer import Answer, MalformedOutput, parse_completion
from ._chat import ChatSession, fill_history
from ._gbnf import instruction_grammar, integer_range, write_gbnf
from ._grammar import (AnswerGrammar, AnyDigits, Branch, DigitRange, FreeLine, LabelLine, Line, LineChoice, Pattern,
                       Sequence, Text, answer_grammar, integer_pattern)
from ._intent import (ENCODER_FILE, ENCODER_FOLDER, HEADS_FILE, INTENT_DIR, IntentHeads, pooled, trainable_names,
                      trainable_state)
from ._prompt import build_prompt, check_sampling, read_lines, read_prompt, with_response_line
from ._similarity import (PromptSimilarity, SentenceEncoder, SentenceEncoderError, check_min_similarity, encoder_dir,
                          stored_similarity)
from ._spec import instruction_specs

#: Names whose modules import PyTorch: imported on first use, so this package imports without it.
_NEEDS_TORCH = {"Model": "_model", "Drafts": "_decode", "Grammar": "_decode", "GrammarState": "_decode",
                "generate": "_decode", "Vocab": "_vocab"}

__all__ = [
    "Answer", "MalformedOutput", "parse_completion",
    "ChatSession", "fill_history",
    "Final", "InstructionSpec", "instruction_specs",
    "instruction_grammar", "integer_range", "write_gbnf",
    "AnswerGrammar", "AnyDigits", "Branch", "DigitRange", "FreeLine", "LabelLine", "Line", "LineChoice", "Pattern",
    "Sequence", "Text", "answer_grammar", "integer_pattern",
    "ENCODER_FILE", "ENCODER_FOLDER", "HEADS_FILE", "INTENT_DIR", "IntentHeads", "pooled", "trainable_names",
    "trainable_state",
    "build_prompt", "check_sampling", "read_lines", "read_prompt", "with_response_line",
    "PromptSimilarity", "SentenceEncoder", "SentenceEncoderError", "check_min_similarity", "encoder_dir",
    "stored_similarity",
    *_NEEDS_TORCH,
]


def __getattr__(name: str) -> Any:
    """``Model`` and the decoder are imported on first use, so this package imports without PyTorch."""
    if name in _NEEDS_TORCH:
        require_train_extra()
        return getattr(import_module(f"{__name__}.{_NEEDS_TORCH[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
