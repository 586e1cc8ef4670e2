"""Constrained decoding: every answer has the template's shape by construction.

The grammar of one instruction's answer is

    text   := 1..max_text tokens, none holding a newline or a structural key
    answer := text "\\n" FINAL "\\n<EOS>"
    FINAL  := KEY | NUMKEY INTEGER

where KEY is one of the instruction's final keys or, for a guarded
instruction, ``<UNK>``, and NUMKEY a numeric final's key (its output line
shows ``<num_MIN_MAX>``), followed by an integer in [MIN, MAX] as the renderer
writes it (``Madness_5``). The model chooses at every step, but only among
tokens the grammar allows: in the integer, tokens of digits (and a leading
``-``) that keep it extendable to an in-range integer, and the newline only
once it is complete and in range. Once nothing is left to choose the rest is
fixed, so it is appended without running the model.
"""

from __future__ import annotations

import inspect
import re
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ..errors import MTPValueError
from ..tokens import EOS
from .spec import Final, InstructionSpec
from .vocab import Vocab

__all__ = ["Grammar", "Generation", "generate"]


@dataclass
class Generation:
    """Raw result of one decoding run."""

    completion: str
    new_tokens: int
    forward_passes: int
    seconds: float
    final_probs: dict[str, float] = field(default_factory=dict)


class _Trie:
    """Token sequences of the choices, walked one token at a time."""

    def __init__(self, sequences: dict[Any, list[int]]) -> None:
        self.sequences = sequences

    def next_ids(self, prefix: list[int]) -> dict[int, list[Any]]:
        n = len(prefix)
        found: dict[int, list[Any]] = {}
        for choice, seq in self.sequences.items():
            if len(seq) > n and seq[:n] == prefix:
                found.setdefault(seq[n], []).append(choice)
        return found


class Grammar:
    """The allowed answers of one instruction, compiled against a vocabulary."""

    def __init__(self, spec: InstructionSpec, vocab: Vocab, max_text_tokens: int = 96) -> None:
        self.spec = spec
        self.vocab = vocab
        self.max_text_tokens = max(1, max_text_tokens)
        self.finals = _Trie({f: vocab.encode(f.key) for f in spec.outputs})
        self.tail = vocab.encode("\n" + EOS.key)
        self.eos = vocab.encode(EOS.key)
        # Tokens that may appear in a numeric final's integer: digits, with or without a leading '-'.
        self.number_pieces: dict[int, str] = {}
        if any(f.numeric for f in spec.finals):
            self.number_pieces = {i: p for i, p in enumerate(vocab.pieces) if _NUMBER_PIECE.fullmatch(p)}
        # Masks of the tokens *blocked* in the text line, computed once: the first token, then any later one.
        self.blocked_first = ~vocab.text_mask
        self.blocked_text = self.blocked_first.clone()
        self.blocked_text[vocab.newline] = False

    @property
    def longest_final(self) -> int:
        """Most tokens a final can take: its key, plus a numeric final's integer (at most one token a character)."""
        return max(len(seq) + (_number_width(f) if f.numeric else 0) for f, seq in self.finals.sequences.items())


_NUMBER_PIECE = re.compile(r"-?[0-9]+|-")
_INTEGER_PREFIX = re.compile(r"-?[0-9]*")
_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")


def _extendable(prefix: str, lo: int, hi: int) -> bool:
    """Whether some integer in [lo, hi], written without leading zeros, starts with ``prefix``."""
    if lo > hi or not _INTEGER_PREFIX.fullmatch(prefix):
        return False
    negative = prefix.startswith("-")
    digits = prefix[1:] if negative else prefix
    if digits == "":
        return lo <= -1 if negative else True
    if digits[0] == "0":
        return digits == "0" and not negative and lo <= 0 <= hi
    width = max(len(str(abs(lo))), len(str(abs(hi))))
    base = int(digits)
    for extra in range(width - len(digits) + 1):
        low, high = base * 10**extra, base * 10**extra + 10**extra - 1
        if negative:
            low, high = -high, -low
        if low <= hi and high >= lo:
            return True
    return False


def _number_width(final: Final) -> int:
    """Characters of the longest integer a numeric final may take, sign included."""
    lo, hi = final.int_range()
    return max(len(str(lo)), len(str(hi)))


def _complete(number: str, lo: int, hi: int) -> bool:
    return bool(_INTEGER.fullmatch(number)) and lo <= int(number) <= hi


def _pick(logits: torch.Tensor, sample: bool, temperature: float, generator: torch.Generator | None) -> int:
    if not sample:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / max(temperature, 1e-6), dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))


def _restrict(logits: torch.Tensor, ids: Sequence[int]) -> torch.Tensor:
    out = torch.full_like(logits, float("-inf"))
    index = torch.tensor(list(ids), dtype=torch.long)
    out[index] = logits[index]
    return out


@torch.inference_mode()
def generate(
    model: Any,
    prompt_ids: list[int],
    grammar: Grammar,
    *,
    constrained: bool = True,
    max_new_tokens: int | None = None,
    sample: bool = False,
    temperature: float = 1.0,
    seed: int | None = None,
) -> Generation:
    """Decode one answer for ``prompt_ids`` (greedy unless ``sample``).

    Unconstrained (``constrained=False``) runs the same loop without masks and
    stops at ``<EOS>`` or ``max_new_tokens``; it exists to measure what the
    constraints cost and to see what the bare model writes.
    """
    vocab = grammar.vocab
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed) if (sample and seed is not None) else None
    limit = max_new_tokens or grammar.max_text_tokens + 8  # unconstrained only: as long as a constrained answer
    eos_ids = vocab.encode(EOS.key)
    step = _Stepper(model)
    start = time.perf_counter()
    logits = step(torch.tensor([prompt_ids], device=device))
    passes = 1
    generated: list[int] = []
    state = _State(grammar) if constrained else None
    probs: dict[str, float] = {}
    while True:
        if state is not None:
            allowed = state.allowed()
            if isinstance(allowed, torch.Tensor):
                masked = logits.masked_fill_(allowed, float("-inf"))
            else:
                masked = _restrict(logits, allowed)
                if state.phase == "final" and not state.final_prefix:
                    probs = state.final_probs(logits, allowed)
            token = _pick(masked, sample, temperature, generator)
            generated.append(token)
            tail = state.advance(token)
            if tail is not None:
                generated += tail
                break
        else:
            token = _pick(logits, sample, temperature, generator)
            generated.append(token)
            if generated[-len(eos_ids):] == eos_ids or len(generated) >= limit:
                break
        logits = step(torch.tensor([[token]], device=device))
        passes += 1
    seconds = time.perf_counter() - start
    return Generation(vocab.decode(generated), len(generated), passes, seconds, probs)


class _Stepper:
    """One forward pass with the key/value cache: the next token's logits, sized to the vocabulary.

    transformers 5 names the cache argument ``cache`` (``past_key_values`` before).
    """

    def __init__(self, model: Any) -> None:
        params = inspect.signature(model.forward).parameters
        self.model = model
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        self.keep = {"logits_to_keep": 1} if "logits_to_keep" in params else {}
        self.cache: Any = None

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor:
        kwargs = {self.cache_arg: self.cache} if self.cache is not None else {}
        out = self.model(input_ids=input_ids, use_cache=True, **kwargs, **self.keep)
        self.cache = out[self.cache_arg] if self.cache_arg in out else out.past_key_values
        return out.logits[0, -1].float().cpu()


class _State:
    """Where the decoder is in the grammar."""

    def __init__(self, grammar: Grammar) -> None:
        self.g = grammar
        self.phase = "text"
        self.text_tokens = 0
        self.final_prefix: list[int] = []
        self.numeric: Final | None = None
        self.number = ""

    def allowed(self) -> "torch.Tensor | Sequence[int]":
        """A mask of the blocked tokens (text line), or the few allowed ids (newline at the bound, finals)."""
        g = self.g
        if self.phase == "text":
            if self.text_tokens == 0:
                return g.blocked_first
            if self.text_tokens >= g.max_text_tokens:
                return [g.vocab.newline]
            return g.blocked_text
        if self.phase == "number":
            return self._number_ids()
        return list(g.finals.next_ids(self.final_prefix))

    def _number_ids(self) -> list[int]:
        """Digit tokens that keep the integer extendable into range; the newline once it is complete."""
        assert self.numeric is not None
        lo, hi = self.numeric.int_range()
        ids = [i for i, piece in self.g.number_pieces.items() if _extendable(self.number + piece, lo, hi)]
        if _complete(self.number, lo, hi):
            ids.append(self.g.vocab.newline)
        if not ids:
            raise MTPValueError(
                f"final {self.numeric.name!r} needs an integer in [{lo}, {hi}] but the tokenizer cannot write one "
                f"after {self.number!r}; check the NumToken's range or use a tokenizer with single-digit tokens."
            )
        return ids

    def final_probs(self, logits: torch.Tensor, allowed: Sequence[int]) -> dict[str, float]:
        """Probability of each final, from the first token of its key (exact when keys are atomic)."""
        nexts = self.g.finals.next_ids([])
        p = torch.softmax(logits[torch.tensor(list(allowed))], dim=-1)
        return {f.name: round(float(p[i]), 6) for i, tok in enumerate(allowed) for f in nexts[tok]}

    def advance(self, token: int) -> list[int] | None:
        """Take ``token``; return the fixed rest of the answer once nothing is left to choose."""
        g = self.g
        if self.phase == "text":
            if token == g.vocab.newline:
                self.phase = "final"
            else:
                self.text_tokens += 1
            return None
        if self.phase == "number":
            if token == g.vocab.newline:
                return list(g.eos)
            self.number += g.number_pieces[token]
            return None
        self.final_prefix.append(token)
        done = next((f for f, seq in g.finals.sequences.items() if seq == self.final_prefix), None)
        if done is None:
            return None
        if done.numeric:
            self.phase, self.numeric = "number", done
            return None
        return list(g.tail)
