"""What an author writes: tokens, token sets and snippets, guardrails, instructions with samples, the protocol.

These objects hold and check what the author typed; the rules above them (:mod:`..rules`) validate, render and
compile a whole protocol. Each kind lives in a private module, in the order they build on each other:
``_tokens`` < ``_labels`` < ``_guardrail`` < ``_tokenset`` < ``_instructions`` < ``_protocol``.
Import from here, never from them.
"""

from ._tokens import (BOS, EOS, NON, PAD, RUN, SPECIAL_TOKENS, UNK, ImpliedUserToken, KeyMap, NumListToken, NumToken,
                      SpecialToken, Token, UserToken, token_key)
from ._labels import labels_problem
from ._guardrail import Guardrail
from ._tokenset import Snippet, TokenSet
from ._instructions import (BaseInstruction, ExtendedInstruction, Instruction, MultiClassifierInstruction, Sample,
                            StateMachineInstruction, guardrail_conflicts, guardrail_map, instruction_guardrails,
                            sample_labels)
from ._protocol import Protocol, Version

__all__ = [
    "BOS", "EOS", "NON", "PAD", "RUN", "UNK", "SPECIAL_TOKENS", "ImpliedUserToken", "KeyMap", "NumListToken", "NumToken",
    "SpecialToken", "Token", "UserToken", "token_key",
    "labels_problem",
    "Guardrail",
    "Snippet", "TokenSet",
    "BaseInstruction", "ExtendedInstruction", "Instruction", "MultiClassifierInstruction", "Sample",
    "StateMachineInstruction", "guardrail_conflicts", "guardrail_map", "instruction_guardrails", "sample_labels",
    "Protocol", "Version",
]
