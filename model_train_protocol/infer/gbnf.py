"""GBNF grammars (llama.cpp's grammar format) of one instruction's answers, for engines that run a GGUF export.

The grammar is the same answer shape the Python constrained decoder
(:mod:`.decode`) enforces, read from the same :class:`InstructionSpec`::

    root   ::= text "\\n" final "\\n"          one text line, then one allowed final (a guarded
                                               instruction's refusal finals among them: ``<UNK>``,
                                               or ``Done_<UNK>_``... as its template lists them)
             | refusal "\\n" unk "\\n"           or, strict: a refusal final only after the refusal line

A state machine's or multi-classifier's text is its closed set instead
(``answer ::= "Idle" | "Running"``, or the label line with one allowed value
per label), its refusal the guardrail's answer line(s) the decoder allows.

A numeric final's key is followed by an integer in its range, written as the
renderer writes it (no leading zeros, ``-`` for negatives). The grammar stops
before ``<EOS>``: llama.cpp lets the end-of-generation token through only once
the grammar is complete, so ``<EOS>`` (marked end-of-generation in the GGUF)
ends the answer, and the completion is ``text\\nFINAL\\n<EOS>`` as
:func:`.answer.parse_completion` reads it.
"""

from __future__ import annotations

from ..errors import MTPValueError
from .spec import Final, InstructionSpec

__all__ = ["instruction_grammar", "integer_range", "gbnf_literal"]


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def gbnf_literal(text: str) -> str:
    """A GBNF string literal of ``text``: UTF-8 as is (emoji keys included), quotes, backslashes and controls escaped."""
    return '"' + "".join(_ESCAPES.get(c, c if c >= " " else f"\\x{ord(c):02X}") for c in text) + '"'


def _class(low: int, high: int) -> str:
    """The digits ``low`` to ``high`` (low <= high)."""
    return gbnf_literal(str(low)) if low == high else f"[{low}-{high}]"


def _digits(width: int) -> str:
    """Any ``width`` digits (leading zeros allowed: the caller has fixed the digits before them)."""
    return "[0-9]" if width == 1 else f"[0-9]{{{width}}}"


def _bounded(digits: str, above: bool) -> str:
    """Digit strings as long as ``digits`` and at least (``above``) or at most it, leading zeros allowed.

    Built from the last digit back, one alternative per digit: the text grows
    linearly with the digits (a 300-digit bound is a few kilobytes).
    """
    expression = ""
    for index in range(len(digits) - 1, -1, -1):
        digit, rest = int(digits[index]), len(digits) - 1 - index
        if digits[index:] == ("0" if above else "9") * (rest + 1):
            expression = _digits(rest + 1)
            continue
        same = f"{gbnf_literal(digits[index])} {expression}".rstrip()
        if digit == (9 if above else 0):
            expression = same
            continue
        other = _class(digit + 1, 9) if above else _class(0, digit - 1)
        tail = f" {_digits(rest)}" if rest else ""
        expression = f"({same} | {other}{tail})"
    return expression


def _same_length(lo: str, hi: str) -> str:
    """Digits strings of equal length from ``lo`` to ``hi`` (lo <= hi): a shared prefix, then three branches."""
    common = next((i for i, (a, b) in enumerate(zip(lo, hi)) if a != b), len(lo))
    prefix = [gbnf_literal(lo[:common])] if common else []
    if common == len(lo):
        return prefix[0]
    rest = len(lo) - common - 1
    low, high = int(lo[common]), int(hi[common])
    if rest == 0 or (lo[common + 1:] == "0" * rest and hi[common + 1:] == "9" * rest):
        return " ".join(prefix + [_class(low, high)] + ([_digits(rest)] if rest else []))
    parts = [f"{gbnf_literal(lo[common])} {_bounded(lo[common + 1:], above=True)}"]
    if high - low > 1:
        parts.append(f"{_class(low + 1, high - 1)} {_digits(rest)}")
    parts.append(f"{gbnf_literal(hi[common])} {_bounded(hi[common + 1:], above=False)}")
    return " ".join(prefix + ["(" + " | ".join(parts) + ")"])


def _non_negative(lo: int, hi: int) -> list[str]:
    """Alternatives matching the integers lo..hi (0 <= lo <= hi) without leading zeros."""
    parts = []
    width = len(str(lo))
    while lo <= hi:
        top = min(hi, 10**width - 1)
        parts.append(_same_length(str(lo), str(top)))
        lo, width = top + 1, width + 1
    return parts


def integer_range(lo: int, hi: int) -> str:
    """A GBNF expression matching exactly the integers in [lo, hi] as the renderer writes them."""
    if lo > hi:
        raise MTPValueError(f"the integer range [{lo}, {hi}] is empty: no answer can close with this final.")
    parts = []
    if lo < 0:
        parts += [f'"-" {p}' for p in _non_negative(max(1, -hi) if hi < 0 else 1, -lo)]
    if hi >= 0:
        parts += _non_negative(max(lo, 0), hi)
    return "(" + " | ".join(parts) + ")"


def _final(final: Final) -> str:
    if not final.numeric:
        return gbnf_literal(final.key)
    return f"{gbnf_literal(final.key)} {integer_range(*final.int_range())}"


def _refusal_finals(spec: InstructionSpec) -> str:
    """The refusal finals the template lists (``"<UNK>"``, or ``"Yes_<UNK>_" | "No_<UNK>_"``)."""
    return " | ".join(gbnf_literal(g.key) for g in spec.guardrails)


def _choice_grammar(spec: InstructionSpec, refusal: str | None) -> str:
    """A state machine's or multi-classifier's answers: the decoder's closed set, then its final; the refusal."""
    if spec.states is not None:
        answer = " | ".join(gbnf_literal(s) for s in spec.states)
    else:
        assert spec.labels is not None
        parts = [gbnf_literal("{")]
        for n, (label, values) in enumerate(spec.labels):
            parts.append(gbnf_literal((", " if n else "") + f"{label!r}: "))
            parts.append("(" + " | ".join(gbnf_literal(repr(v)) for v in values) + ")")
        answer = " ".join(parts + [gbnf_literal("}")])
    refusals = list(dict.fromkeys(([refusal] if refusal else []) + list(spec.refusals)))
    kind = "state" if spec.states is not None else "label line"
    lines = [f"# answers of instruction {spec.name!r}: one {kind}, its final, then the <EOS> token",
             "root ::= answer \"\\n\" final \"\\n\"" + (' | refusal "\\n" unk "\\n"' if spec.guardrail else ""),
             f"answer ::= {answer}",
             "final ::= " + " | ".join(_final(f) for f in spec.finals)]
    if spec.guardrail:
        if any("\n" in r or not r for r in refusals):
            raise MTPValueError(f"instruction {spec.name!r}: a guardrail answer must be one non-empty line.")
        lines += ["refusal ::= " + (" | ".join(map(gbnf_literal, refusals)) if refusals else "answer"),
                  f"unk ::= {_refusal_finals(spec)}"]
    return "\n".join(lines) + "\n"


def instruction_grammar(spec: InstructionSpec, refusal: str | None = None) -> str:
    """The GBNF grammar of ``spec``'s answers (text, newline, final, newline; ``<EOS>`` then ends generation).

    ``refusal`` is the guardrail's answer line of a guarded instruction: the
    only text a refusal final may follow. Without it (no protocol at hand)
    a refusal final may follow any text line, as in the Python decoder. A state
    machine or multi-classifier allows exactly what the Python decoder allows.
    """
    if spec.choice:
        return _choice_grammar(spec, refusal)
    finals = [_final(f) for f in spec.finals]
    lines = [f"# answers of instruction {spec.name!r}: one text line, one final, then the <EOS> token",
             'root ::= text "\\n" final "\\n"' + (' | refusal "\\n" unk "\\n"' if spec.guardrail and refusal else ""),
             "text ::= [^\\n]+",
             "final ::= " + " | ".join(finals + ([gbnf_literal(g.key) for g in spec.guardrails] if not refusal
                                                 else []))]
    if spec.guardrail and refusal:
        if "\n" in refusal or not refusal:
            raise MTPValueError(f"instruction {spec.name!r}: the guardrail answer must be one non-empty line, "
                                f"got {refusal!r}.")
        lines += [f"refusal ::= {gbnf_literal(refusal)}", f"unk ::= {_refusal_finals(spec)}"]
    return "\n".join(lines) + "\n"
