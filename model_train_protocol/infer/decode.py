"""Constrained decoding: every answer has the template's shape by construction.

The grammar of one instruction's answer is

    text   := 1..max_text tokens, none holding a newline or a structural key
    answer := text "\\n" FINAL "\\n<EOS>"

where FINAL is one of the instruction's final keys or, for a guarded
instruction, ``<UNK>``. The model chooses at every step, but only among tokens
the grammar allows; once the final is chosen the rest is fixed, so it is
appended without running the model. A numeric final's number is not part of
the answer: the renderer (like the template, FORMAT.md 3.4) writes only the
key, so the model is never taught a value to write.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ..tokens import EOS
from .spec import InstructionSpec
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
        # Masks of the tokens *blocked* in the text line, computed once: the first token, then any later one.
        self.blocked_first = ~vocab.text_mask
        self.blocked_text = self.blocked_first.clone()
        self.blocked_text[vocab.newline] = False


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

    def allowed(self) -> "torch.Tensor | Sequence[int]":
        """A mask of the blocked tokens (text line), or the few allowed ids (newline at the bound, finals)."""
        g = self.g
        if self.phase == "text":
            if self.text_tokens == 0:
                return g.blocked_first
            if self.text_tokens >= g.max_text_tokens:
                return [g.vocab.newline]
            return g.blocked_text
        return list(g.finals.next_ids(self.final_prefix))

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
        self.final_prefix.append(token)
        if any(seq == self.final_prefix for seq in g.finals.sequences.values()):
            return list(g.tail)
        return None
