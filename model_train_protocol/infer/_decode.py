"""Constrained decoding: every answer has the template's shape by construction.

The masks are this tokenizer's rendering of the instruction's
:class:`._grammar.AnswerGrammar` (the same value the GBNF and the served regex
are written from). Its answers are

    text   := 1..max_text tokens, none holding a newline or a structural key
    answer := text "\\n" FINAL "\\n<EOS>"
    FINAL  := KEY | NUMKEY INTEGER

where KEY is one of the instruction's final keys or, for a guarded
instruction, one of its refusal finals (``<UNK>``, ``Done_<UNK>_``), and NUMKEY a numeric final's key (its output line
shows ``<num_MIN_MAX>``), followed by an integer in [MIN, MAX] as the renderer
writes it (``Madness_5``). The model chooses at every step, but only among
tokens the grammar allows: in the integer, tokens of digits (and a leading
``-``) that keep it extendable to an in-range integer, and the newline only
once it is complete and in range. Once nothing is left to choose the rest is
fixed, so it is appended without running the model.

A state machine or a multi-classifier (:attr:`InstructionSpec.choice`)
chooses its answer line from a closed set instead of writing free text::

    answer := STATE "\n<NON>\n<EOS>"                    a declared state
            | "{'label': 'value', ...}" "\n<NON>\n<EOS>"  one allowed value per label, in the map's order
            | REFUSAL "\n" GUARD "\n<EOS>"                 a guarded instruction's refusal

There the text tokens are masked byte by byte (:class:`_Choices`): a token is
allowed when the line so far plus its bytes still begins some allowed line,
the newline only once the line is complete, and the final only the one that
line allows (a state that equals the refusal line may take either). A
free-text grammar with a refusal line of its own (``Grammar(..., refusal=)``)
masks its text as free text and reads the finals off the finished line the same way.
"""

from __future__ import annotations

import inspect
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

import torch

from ..errors import MTPValueError
from ..runtime import EOS_KEY, Final, InstructionSpec
from ._grammar import Branch, FreeLine, LabelLine, LineChoice, answer_grammar
from ._vocab import Vocab

__all__ = ["Drafts", "Grammar", "GrammarState", "Generation", "generate"]


@dataclass
class Generation:
    """Raw result of one decoding run."""

    completion: str
    new_tokens: int
    forward_passes: int
    seconds: float
    final_probs: dict[str, float] = field(default_factory=dict)
    #: probability of each chosen token under the distribution it was chosen from (1.0 for fixed tokens)
    token_probs: list[float] = field(default_factory=list)
    #: the generated token ids (``completion`` is their text)
    ids: list[int] = field(default_factory=list)


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
    """The allowed answers of one instruction (its :class:`._grammar.AnswerGrammar`), compiled against a vocabulary.

    ``refusal`` is the guardrail's answer line a refusal final must follow
    (:func:`._grammar.answer_grammar`); the Python runtime passes none.
    """

    def __init__(self, spec: InstructionSpec, vocab: Vocab, max_text_tokens: int = 96,
                 drafts: "Drafts | None" = None, refusal: str | None = None) -> None:
        self.spec = spec
        self.answers = answer_grammar(spec, refusal)
        self.vocab = vocab
        self.max_text_tokens = max(1, max_text_tokens)
        self.drafts = drafts
        self.finals = _Trie({f: vocab.encode(f.key) for f in self.answers.finals})
        self.tail = vocab.encode("\n" + self.answers.end)
        self.eos = vocab.encode(self.answers.end)
        # Tokens that may appear in a numeric final's integer: digits, with or without a leading '-'.
        self.number_pieces: dict[int, str] = {}
        if any(f.numeric for f in self.answers.finals):
            self.number_pieces = {i: p for i, p in enumerate(vocab.pieces) if _NUMBER_PIECE.fullmatch(p)}
        # Masks of the tokens *blocked* in the text line, computed once: the first token, then any later one.
        self.blocked_first = ~vocab.text_mask
        self.blocked_text = self.blocked_first.clone()
        self.blocked_text[vocab.newline] = False
        closed = [b for b in self.answers.branches if not isinstance(b.line, FreeLine)]
        #: the closed-set lines, matched byte by byte (None: every line is free text)
        self.choices = _Choices(closed, vocab) if closed else None

    @property
    def longest_final(self) -> int:
        """Most tokens a final can take: its key, plus a numeric final's integer (at most one token a character)."""
        return max(len(seq) + (_number_width(f) if f.numeric else 0) for f, seq in self.finals.sequences.items())

    def finals_after(self, text: bytes) -> "_Trie":
        """The finals the answer line ``text`` allows (every branch whose line it is), each non-numeric key followed
        by the newline (so that no key's tokens are a prefix of another's): ``<NON>`` after a state or label line,
        the guardrail's final after its refusal."""
        assert self.choices is not None
        allowed = [f for b in self.answers.branches
                   if isinstance(b.line, FreeLine) or self.choices.complete(text, [_segments(b.line)])
                   for f in b.finals]
        return _Trie({f: self.finals.sequences[f] + ([] if f.numeric else [self.vocab.newline])
                      for f in dict.fromkeys(allowed)})


def _segments(line: "LineChoice | LabelLine") -> list[tuple[bytes, ...]]:
    """A closed-set line as consecutive segments, each one of a few byte strings."""
    parts = line.segments() if isinstance(line, LabelLine) else (line.lines,)
    return [tuple(option.encode() for option in part) for part in parts]


class _Choices:
    """The closed-set answer lines of a grammar (states, label lines, refusal lines), matched byte by byte.

    A line is a sequence of segments, each one of a few byte strings: a
    state machine's line is one segment (its states); a multi-classifier's
    is ``{``, then per label (the state map's order) ``'label': `` and one of its values in
    Python ``repr`` quoting, separated by ``, ``, then ``}``, so the lines are
    never enumerated.
    """

    def __init__(self, branches: "Sequence[Branch]", vocab: Vocab) -> None:
        self.patterns = [_segments(b.line) for b in branches if not isinstance(b.line, FreeLine)]
        self.token_bytes = _token_bytes(vocab)
        self.by_first_byte: dict[int, list[tuple[int, bytes]]] = defaultdict(list)
        for i, data in self.token_bytes.items():
            self.by_first_byte[data[0]].append((i, data))

    def allowed(self, text: bytes, newline: int) -> list[int]:
        """Token ids that keep ``text`` the beginning of an allowed line; the newline once it is one."""
        _, complete, nexts = _walk_all(self.patterns, text)
        ids = [i for b in sorted(nexts) for i, data in self.by_first_byte.get(b, ())
               if _walk_all(self.patterns, text + data)[0]]
        if complete:
            ids.append(newline)
        if not ids:
            raise MTPValueError(f"the tokenizer cannot continue the answer line {text.decode(errors='replace')!r}: "
                                "no token writes the next character of any allowed state or label line.")
        return ids

    def complete(self, text: bytes, patterns: list[list[tuple[bytes, ...]]]) -> bool:
        return _walk_all(patterns, text)[1]


def _walk_all(patterns: list[list[tuple[bytes, ...]]], text: bytes) -> tuple[bool, bool, set[int]]:
    """(``text`` begins an allowed line, ``text`` is one, the bytes that may come next)."""
    viable = complete = False
    nexts: set[int] = set()
    for segments in patterns:
        v, c = _walk(segments, 0, text, 0, nexts)
        viable, complete = viable or v, complete or c
    return viable, complete, nexts


def _walk(segments: list[tuple[bytes, ...]], k: int, text: bytes, pos: int, nexts: set[int]) -> tuple[bool, bool]:
    if pos == len(text):
        if k == len(segments):
            return True, True
        nexts.update(option[0] for option in segments[k])
        return True, False
    if k == len(segments):
        return False, False
    viable = complete = False
    rest = text[pos:]
    for option in segments[k]:
        if rest.startswith(option):
            v, c = _walk(segments, k + 1, text, pos + len(option), nexts)
            viable, complete = viable or v, complete or c
        elif option.startswith(rest):
            nexts.add(option[len(rest)])
            viable = True
    return viable, complete


def _token_bytes(vocab: Vocab) -> dict[int, bytes]:
    """The bytes each text token writes; a byte-level token that is part of a character (its text is U+FFFD)
    through the byte-level alphabet, and left out when that cannot be read."""
    alphabet = {c: b for b, c in _byte_alphabet().items()}
    found: dict[int, bytes] = {}
    for i in torch.nonzero(vocab.text_mask).flatten().tolist():
        piece = vocab.pieces[i]
        if "\ufffd" not in piece:
            found[i] = piece.encode()
            continue
        raw = vocab.tokenizer.convert_ids_to_tokens(i)
        if isinstance(raw, str) and raw and all(c in alphabet for c in raw):
            found[i] = bytes(alphabet[c] for c in raw)
    return found


def _byte_alphabet() -> dict[int, str]:
    """The byte-level BPE alphabet (GPT-2's): the printable character that stands for each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    shown = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in shown:
            shown[b] = chr(256 + extra)
            extra += 1
    return shown


class Drafts:
    """Guesses of how a text line goes on, from the answers the model was trained to write.

    A fine-tuned model mostly writes one of its training answers, so once the
    first text token is chosen, the most common known continuation of the
    line so far (newline included) is a good guess. Guesses only cost the
    width of a forward pass: every guessed token is checked against what the
    model itself picks, and the first wrong one ends the guess.
    """

    def __init__(self, sequences: Sequence[list[int]]) -> None:
        counts: dict[tuple[int, ...], Counter[tuple[int, ...]]] = defaultdict(Counter)
        for seq, weight in Counter(tuple(s) for s in sequences).items():
            for n in range(1, len(seq)):
                counts[seq[:n]][seq[n:]] += weight
        self._next = {prefix: list(c.most_common(1)[0][0]) for prefix, c in counts.items()}

    def guess(self, ids: list[int], state: "GrammarState | None") -> list[int]:
        """The guessed rest of the text line after ``ids`` (empty outside the text line or with no match)."""
        if state is None or state.phase != "text" or not ids:
            return []
        return self._next.get(tuple(ids), [])


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

    Greedy constrained decoding drafts ahead from the grammar's known answers
    (see :class:`Drafts`): one forward pass checks a whole guessed rest of the
    line, and the answer is the one token-by-token greedy decoding gives (up
    to floating-point rounding of batched versus single-token passes), in two
    or three passes instead of one per token.

    Unconstrained (``constrained=False``) runs the same loop without masks and
    stops at ``<EOS>`` or ``max_new_tokens``; it exists to measure what the
    constraints cost and to see what the bare model writes.
    """
    vocab = grammar.vocab
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed) if (sample and seed is not None) else None
    limit = max_new_tokens or grammar.max_text_tokens + 8  # unconstrained only: as long as a constrained answer
    eos_ids = vocab.encode(EOS_KEY)
    step = _Stepper(model)
    drafting = constrained and not sample and grammar.drafts is not None and step.can_rewind
    state = GrammarState(grammar) if constrained else None
    out = _Output()
    start = time.perf_counter()
    rows = step(torch.tensor([prompt_ids], device=device))
    passes = 1
    draft: list[int] = []
    while True:
        done = False
        for j, logits in enumerate(rows):
            token, done = _choose(logits, state, out, sample, temperature, generator)
            if not done and state is None:
                done = out.ids[-len(eos_ids):] == eos_ids or len(out.ids) >= limit
            if done or j == len(draft) or token != draft[j]:
                if not done and j < len(draft):
                    step.rewind(len(draft) - j)  # forget the draft tokens after the first wrong guess
                break
        if done:
            break
        draft = grammar.drafts.guess(out.ids, state) if drafting else []  # type: ignore[union-attr]
        rows = step(torch.tensor([[token] + draft], device=device), all_rows=True)
        passes += 1
    seconds = time.perf_counter() - start
    return Generation(vocab.decode(out.ids), len(out.ids), passes, seconds, out.final_probs, out.token_probs, out.ids)


class _Output:
    """What has been chosen so far: the ids, each one's probability, and the finals' probabilities."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.token_probs: list[float] = []
        self.final_probs: dict[str, float] = {}


def _choose(logits: torch.Tensor, state: "GrammarState | None", out: _Output, sample: bool, temperature: float,
            generator: torch.Generator | None) -> tuple[int, bool]:
    """Pick the next token (masked by the grammar when constrained), record it; True once the answer is complete."""
    if state is None:
        token = _pick(logits, sample, temperature, generator)
        out.ids.append(token)
        out.token_probs.append(_prob(logits, token))
        return token, False
    allowed = state.allowed()
    if isinstance(allowed, torch.Tensor):
        masked = logits.masked_fill(allowed, float("-inf"))
    else:
        masked = _restrict(logits, allowed)
        if state.phase == "final" and not state.final_prefix:
            out.final_probs = state.final_probs(logits, allowed)
    token = _pick(masked, sample, temperature, generator)
    out.ids.append(token)
    out.token_probs.append(_prob(masked, token))
    tail = state.advance(token)
    if tail is None:
        return token, False
    out.ids += tail
    out.token_probs += [1.0] * len(tail)
    return token, True


def _prob(logits: torch.Tensor, token: int) -> float:
    """The probability of ``token`` under the (masked) logits it was picked from."""
    return float(torch.softmax(logits, dim=-1)[token])


class _Stepper:
    """Forward passes with the key/value cache: the logits of the last position (or of every fed position).

    transformers 5 names the cache argument ``cache`` (``past_key_values`` before).
    """

    def __init__(self, model: Any) -> None:
        params = inspect.signature(model.forward).parameters
        self.model = model
        self.cache_arg = "cache" if "cache" in params else "past_key_values"
        self.keep = "logits_to_keep" in params
        self.cache: Any = None

    @property
    def can_rewind(self) -> bool:
        """Whether draft tokens can be taken back out of the cache (needed to draft ahead)."""
        from transformers import DynamicCache

        return hasattr(DynamicCache, "crop") and "tokens_to_remove" in inspect.signature(DynamicCache.crop).parameters

    def __call__(self, input_ids: torch.Tensor, all_rows: bool = False) -> torch.Tensor:
        """Logits rows, sized to the vocabulary: one per fed position with ``all_rows``, else the last one."""
        kwargs = {self.cache_arg: self.cache} if self.cache is not None else {}
        if self.keep:
            kwargs["logits_to_keep"] = 0 if all_rows else 1
        out = self.model(input_ids=input_ids, use_cache=True, **kwargs)
        self.cache = out[self.cache_arg] if self.cache_arg in out else out.past_key_values
        return out.logits[0].float().cpu() if all_rows else out.logits[0, -1:].float().cpu()

    def rewind(self, tokens: int) -> None:
        """Drop the last ``tokens`` positions from the cache (transformers 5 takes a negative count)."""
        self.cache.crop(-tokens)


class GrammarState:
    """Where the decoder is in the grammar."""

    def __init__(self, grammar: Grammar) -> None:
        self.g = grammar
        self.phase = "text"
        self.text_tokens = 0
        self.final_prefix: list[int] = []
        self.numeric: Final | None = None
        self.number = ""
        self.text = b""  # the answer line so far, where a closed-set line decides the finals
        self.finals = grammar.finals

    def allowed(self) -> "torch.Tensor | Sequence[int]":
        """A mask of the blocked tokens (text line), or the few allowed ids (newline at the bound, finals)."""
        g = self.g
        if self.phase == "text" and g.answers.closed:
            assert g.choices is not None
            return g.choices.allowed(self.text, g.vocab.newline)
        if self.phase == "text":
            if self.text_tokens == 0:
                return g.blocked_first
            if self.text_tokens >= g.max_text_tokens:
                return [g.vocab.newline]
            return g.blocked_text
        if self.phase == "number":
            return self._number_ids()
        return list(self.finals.next_ids(self.final_prefix))

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
        """Probability of each final, from the first token of its key (exact when keys are atomic); the refusal
        finals, all named ``<UNK>``, add up."""
        nexts = self.finals.next_ids([])
        p = torch.softmax(logits[torch.tensor(list(allowed))], dim=-1)
        found: dict[str, float] = {}
        for i, tok in enumerate(allowed):
            for f in dict.fromkeys(f.name for f in nexts[tok]):
                found[f] = found.get(f, 0.0) + float(p[i])
        return {name: round(prob, 6) for name, prob in found.items()}

    def advance(self, token: int) -> list[int] | None:
        """Take ``token``; return the fixed rest of the answer once nothing is left to choose."""
        g = self.g
        if self.phase == "text":
            if token == g.vocab.newline:
                self.phase = "final"
                if g.choices is not None:
                    self.finals = g.finals_after(self.text)
            else:
                self.text_tokens += 1
                if g.choices is not None:  # a free-text token the bytes of which are unknown matches no closed line
                    self.text += g.choices.token_bytes.get(token, b"\xff")
            return None
        if self.phase == "number":
            if token == g.vocab.newline:
                return list(g.eos)
            self.number += g.number_pieces[token]
            return None
        self.final_prefix.append(token)
        done = next((f for f, seq in self.finals.sequences.items() if seq == self.final_prefix), None)
        if done is None:
            return None
        if done.numeric:
            self.phase, self.numeric = "number", done
            return None
        if g.choices is not None:
            return list(g.eos)  # the key's sequence ends in the newline here
        return list(g.tail)
