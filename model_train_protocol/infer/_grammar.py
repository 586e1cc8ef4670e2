"""The answer grammar of one instruction, built once from its spec: what every constrained runtime renders.

An answer is one line, a newline, a final, a newline and ``<EOS>``. Which
lines may come before which finals is a short list of branches::

    branch := LINE "\\n" FINAL "\\n" <EOS>
    LINE   := any text line (one or more characters, no newline)
            | one of a closed set of lines (a state machine's states, a guardrail's answer lines)
            | a label line (``{'label': 'value', ...}``: one allowed value per label, in the map's order)
    FINAL  := KEY | NUMKEY INTEGER         (an integer in the final's range, as the renderer writes it)

The writers are functions of this value, so they cannot disagree: the
constrained decoder's token masks (:mod:`._decode`), the GBNF of a GGUF export
(:mod:`._gbnf`) and the regex ``mtp serve`` lists (:mod:`..serve._describe`).
``tests/test_answer_grammar.py`` checks that they accept exactly the same
answers.

Where a refusal final (``<UNK>``, ``Done_<UNK>_``) may appear is the one
choice a caller makes: after any text line (a free-text instruction whose
guardrail's answer line is not passed), or only after the guardrail's answer
line(s), as a closed-set instruction always has it (its listed refusal lines,
else any of its answer lines).

The grammar is built from :class:`..runtime.InstructionSpec` and plain data only,
never from the protocol's authoring objects, so a runtime that has nothing but
the compiled spec can build it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from ..errors import MTPValueError
from ..runtime import EOS_KEY, Final, InstructionSpec

__all__ = ["AnswerGrammar", "Branch", "FreeLine", "LineChoice", "LabelLine", "Line", "answer_grammar",
           "Text", "DigitRange", "AnyDigits", "Sequence", "Either", "Pattern", "integer_pattern"]


@dataclass(frozen=True)
class FreeLine:
    """Any one line of text: at least one character, no newline."""


@dataclass(frozen=True)
class LineChoice:
    """Exactly one of ``lines`` (each non-empty, without a newline)."""

    lines: tuple[str, ...]


@dataclass(frozen=True)
class LabelLine:
    """A multi-classifier's answer line: ``{'label': 'value', ...}`` with one allowed value per label, in order.

    Labels and values are written in Python ``repr`` quoting, as
    :func:`..runtime.format_labels` writes them; the lines are never listed
    one by one (their number is the product of the value counts).
    """

    labels: tuple[tuple[str, tuple[str, ...]], ...]

    def segments(self) -> tuple[tuple[str, ...], ...]:
        """The line as consecutive pieces, each one of a few strings: ``{``, ``'a': ``, a value of ``a``, ... ``}``."""
        parts: list[tuple[str, ...]] = [("{",)]
        for n, (label, values) in enumerate(self.labels):
            parts.append(((", " if n else "") + f"{label!r}: ",))
            parts.append(tuple(repr(v) for v in values))
        parts.append(("}",))
        return tuple(parts)


Line = Union[FreeLine, LineChoice, LabelLine]


@dataclass(frozen=True)
class Branch:
    """One way an answer may go: a line of this shape, then one of these finals."""

    line: Line
    finals: tuple[Final, ...]
    #: whether these are the refusal finals, after the guardrail's answer line(s)
    refusal: bool = False


@dataclass(frozen=True)
class AnswerGrammar:
    """Every answer one instruction allows: the branches, in order (the refusal branch, if apart, last)."""

    instruction: str
    branches: tuple[Branch, ...]
    #: the structural key that ends every answer, after the final's newline
    end: str = EOS_KEY

    @property
    def finals(self) -> tuple[Final, ...]:
        """Every final an answer may close with, in the branches' order, each once."""
        return tuple(dict.fromkeys(f for b in self.branches for f in b.finals))

    @property
    def closed(self) -> bool:
        """Whether no branch takes free text (a state machine's or multi-classifier's answers)."""
        return not any(isinstance(b.line, FreeLine) for b in self.branches)

    def line_kind(self) -> str:
        """What the answer line is, in words: for the comment at the top of a written grammar."""
        first = self.branches[0].line
        if isinstance(first, FreeLine):
            return "text line"
        return "label line" if isinstance(first, LabelLine) else "state"


def answer_grammar(spec: InstructionSpec, refusal: str | None = None) -> AnswerGrammar:
    """The answer grammar of ``spec``.

    ``refusal`` is the guardrail's answer line of a guarded instruction: with
    it, a refusal final may only follow that line (what ``mtp export-model
    --format gguf`` writes by default); without it a free-text instruction's
    refusal final may follow any text line, as in the Python decoder, where
    the model's refusal policy decides. A closed-set instruction's refusal
    final always follows a guardrail's answer line: ``refusal`` and the ones
    the spec knows, else any of its own answer lines. A numeric final whose
    range holds no integer stays in (the GBNF writer refuses it, the regex
    matches nothing after its key, the decoder stops there with an error).
    """
    if not spec.choice:
        if not (spec.guardrails and refusal is not None):
            return AnswerGrammar(spec.name, (Branch(FreeLine(), spec.outputs),))
        if "\n" in refusal or not refusal:
            raise MTPValueError(f"instruction {spec.name!r}: the guardrail answer must be one non-empty line, "
                                f"got {refusal!r}.")
        return AnswerGrammar(spec.name, (Branch(FreeLine(), spec.finals),
                                         Branch(LineChoice((refusal,)), spec.guardrails, refusal=True)))
    answer: Line = LineChoice(spec.states) if spec.states is not None else LabelLine(spec.labels or ())
    branches = [Branch(answer, spec.finals)]
    if spec.guardrails:
        refusals = tuple(dict.fromkeys(([refusal] if refusal else []) + list(spec.refusals)))
        if any("\n" in r or not r for r in refusals):
            raise MTPValueError(f"instruction {spec.name!r}: a guardrail answer must be one non-empty line.")
        branches.append(Branch(LineChoice(refusals) if refusals else answer, spec.guardrails, refusal=True))
    return AnswerGrammar(spec.name, tuple(branches))


# A regular pattern of digit strings: how an integer range is spelled out, rendered by each writer in its syntax.


@dataclass(frozen=True)
class Text:
    """These characters exactly."""

    text: str


@dataclass(frozen=True)
class DigitRange:
    """One digit from ``low`` to ``high`` (low < high)."""

    low: int
    high: int


@dataclass(frozen=True)
class AnyDigits:
    """Exactly ``count`` digits, any."""

    count: int


@dataclass(frozen=True)
class Sequence:
    """The parts one after the other."""

    parts: tuple["Pattern", ...]


@dataclass(frozen=True)
class Either:
    """One of the alternatives (a writer always groups it)."""

    options: tuple["Pattern", ...]


Pattern = Union[Text, DigitRange, AnyDigits, Sequence, Either]


def _digit(low: int, high: int) -> Pattern:
    """The digits ``low`` to ``high`` (low <= high)."""
    return Text(str(low)) if low == high else DigitRange(low, high)


def _join(*parts: "Pattern | None") -> Pattern:
    """The parts in a row (None left out), flat: one part stays itself."""
    flat: list[Pattern] = []
    for part in parts:
        if part is not None:
            flat += part.parts if isinstance(part, Sequence) else [part]
    return flat[0] if len(flat) == 1 else Sequence(tuple(flat))


def _bounded(digits: str, above: bool) -> Pattern:
    """Digit strings as long as ``digits`` and at least (``above``) or at most it, leading zeros allowed.

    Built from the last digit back, one alternative per digit: the pattern
    grows linearly with the digits (a 300-digit bound stays a few kilobytes written out).
    """
    pattern: Pattern | None = None
    for index in range(len(digits) - 1, -1, -1):
        digit, rest = int(digits[index]), len(digits) - 1 - index
        if digits[index:] == ("0" if above else "9") * (rest + 1):
            pattern = AnyDigits(rest + 1)
            continue
        same = _join(Text(digits[index]), pattern)
        if digit == (9 if above else 0):
            pattern = same
            continue
        other = _digit(digit + 1, 9) if above else _digit(0, digit - 1)
        pattern = Either((same, _join(other, AnyDigits(rest) if rest else None)))
    assert pattern is not None
    return pattern


def _same_length(lo: str, hi: str) -> Pattern:
    """Digit strings of equal length from ``lo`` to ``hi`` (lo <= hi): a shared prefix, then three branches."""
    common = next((i for i, (a, b) in enumerate(zip(lo, hi)) if a != b), len(lo))
    prefix = Text(lo[:common]) if common else None
    if common == len(lo):
        return Text(lo)
    rest = len(lo) - common - 1
    low, high = int(lo[common]), int(hi[common])
    if rest == 0 or (lo[common + 1:] == "0" * rest and hi[common + 1:] == "9" * rest):
        return _join(prefix, _digit(low, high), AnyDigits(rest) if rest else None)
    options = [_join(Text(lo[common]), _bounded(lo[common + 1:], above=True))]
    if high - low > 1:
        options.append(_join(_digit(low + 1, high - 1), AnyDigits(rest)))
    options.append(_join(Text(hi[common]), _bounded(hi[common + 1:], above=False)))
    return _join(prefix, Either(tuple(options)))


def _non_negative(lo: int, hi: int) -> list[Pattern]:
    """Alternatives matching the integers lo..hi (0 <= lo <= hi) without leading zeros, one per digit count."""
    options = []
    width = len(str(lo))
    while lo <= hi:
        top = min(hi, 10**width - 1)
        options.append(_same_length(str(lo), str(top)))
        lo, width = top + 1, width + 1
    return options


def integer_pattern(lo: int, hi: int) -> Either:
    """The integers in [lo, hi] as the renderer writes them (no leading zeros, ``-`` for negatives)."""
    if lo > hi:
        raise MTPValueError(f"the integer range [{lo}, {hi}] is empty: no answer can close with this final.")
    options: list[Pattern] = []
    if lo < 0:
        options += [_join(Text("-"), p) for p in _non_negative(max(1, -hi) if hi < 0 else 1, -lo)]
    if hi >= 0:
        options += _non_negative(max(lo, 0), hi)
    return Either(tuple(options))
