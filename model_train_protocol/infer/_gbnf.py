"""GBNF grammars (llama.cpp's grammar format) of one instruction's answers, for engines that run a GGUF export.

The grammar is the same answer shape the Python constrained decoder
(:mod:`._decode`) enforces: both write the one :class:`._grammar.AnswerGrammar` of the instruction::

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

from ._grammar import (AnswerGrammar, AnyDigits, DigitRange, FreeLine, Line, LineChoice, Pattern, Sequence, Text,
    answer_grammar, integer_pattern)
from ..runtime import Final, InstructionSpec

__all__ = ["instruction_grammar", "integer_range", "gbnf_literal", "write_gbnf"]


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def gbnf_literal(text: str) -> str:
    """A GBNF string literal of ``text``: UTF-8 as is (emoji keys included), quotes, backslashes and controls escaped."""
    return '"' + "".join(_ESCAPES.get(c, c if c >= " " else f"\\x{ord(c):02X}") for c in text) + '"'


def _pattern(pattern: Pattern) -> str:
    """A digit pattern of the grammar in GBNF: literals, ``[a-b]``, ``[0-9]{n}``, sequences, groups."""
    if isinstance(pattern, Text):
        return gbnf_literal(pattern.text)
    if isinstance(pattern, DigitRange):
        return f"[{pattern.low}-{pattern.high}]"
    if isinstance(pattern, AnyDigits):
        return "[0-9]" if pattern.count == 1 else f"[0-9]{{{pattern.count}}}"
    if isinstance(pattern, Sequence):
        return " ".join(map(_pattern, pattern.parts))
    return "(" + " | ".join(map(_pattern, pattern.options)) + ")"


def integer_range(lo: int, hi: int) -> str:
    """A GBNF expression matching exactly the integers in [lo, hi] as the renderer writes them."""
    return _pattern(integer_pattern(lo, hi))


def _final(final: Final) -> str:
    if not final.numeric:
        return gbnf_literal(final.key)
    return f"{gbnf_literal(final.key)} {integer_range(*final.int_range())}"


def _line(line: Line) -> str:
    if isinstance(line, FreeLine):
        return "[^\\n]+"
    if isinstance(line, LineChoice):
        return " | ".join(map(gbnf_literal, line.lines))
    parts = [gbnf_literal("{")]
    for n, (label, values) in enumerate(line.labels):
        parts.append(gbnf_literal((", " if n else "") + f"{label!r}: "))
        parts.append("(" + " | ".join(gbnf_literal(repr(v)) for v in values) + ")")
    return " ".join(parts + [gbnf_literal("}")])


def write_gbnf(grammar: AnswerGrammar) -> str:
    """The GBNF text of an answer grammar: rule ``root`` over ``text`` (or ``answer``), ``final``, and for a
    refusal branch of its own ``refusal`` and ``unk``; it stops before ``<EOS>`` (see the module's docstring)."""
    main, *others = grammar.branches
    line = "text" if isinstance(main.line, FreeLine) else "answer"
    lines = [f"# answers of instruction {grammar.instruction!r}: one {grammar.line_kind()}, "
             f"{'one' if line == 'text' else 'its'} final, then the <EOS> token",
             f'root ::= {line} "\\n" final "\\n"' + "".join(' | refusal "\\n" unk "\\n"' for _ in others),
             f"{line} ::= {_line(main.line)}",
             "final ::= " + " | ".join(_final(f) for f in main.finals)]
    for branch in others:
        # the very same line (no refusal lines known: any answer line) is named, not written out twice
        lines += ["refusal ::= " + (line if branch.line is main.line else _line(branch.line)),
                  "unk ::= " + " | ".join(_final(f) for f in branch.finals)]
    return "\n".join(lines) + "\n"


def instruction_grammar(spec: InstructionSpec, refusal: str | None = None) -> str:
    """The GBNF grammar of ``spec``'s answers (text, newline, final, newline; ``<EOS>`` then ends generation).

    ``refusal`` is the guardrail's answer line of a guarded instruction: the
    only text a refusal final may follow. Without it (no protocol at hand)
    a refusal final may follow any text line, as in the Python decoder. A state
    machine or multi-classifier allows exactly what the Python decoder allows
    (:func:`._grammar.answer_grammar`).
    """
    return write_gbnf(answer_grammar(spec, refusal))
