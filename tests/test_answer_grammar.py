"""The writers of one answer grammar accept exactly the same answers.

For generated instruction specs (free-text finals, numeric finals, state machines, multi-classifiers, guarded
instructions with their refusal lines, with and without a refusal line of their own) and generated candidate
answers (drawn from the grammar, then mutated), three runtimes must agree on every candidate: the served regex
(``re.fullmatch``), the GBNF of a GGUF export (read by the small GBNF matcher below, an interpreter of the GBNF the
writer uses, not a translation to a regex) and the Python decoder's token masks, walked over a tiny vocabulary of
one token per character plus one per structural key (as MTP tokenizers hold them), every tokenization tried.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any, Union

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model_train_protocol.errors import MTPValueError
from model_train_protocol.infer import (AnswerGrammar, FreeLine, LabelLine, LineChoice, answer_grammar,
                                        instruction_grammar, write_gbnf)
from model_train_protocol.runtime import MULTI_CLASSIFIER, STATE_MACHINE, Final, InstructionSpec
from model_train_protocol.serve import answer_regex, write_regex

torch = pytest.importorskip("torch")
from model_train_protocol.infer import Grammar, GrammarState, Vocab  # noqa: E402  (needs PyTorch)


# --- a small GBNF interpreter: rules of alternatives, sequences, literals, classes, groups, repetitions ----------
@dataclass(frozen=True)
class _Lit:
    text: str


@dataclass(frozen=True)
class _Class:
    negated: bool
    ranges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class _Ref:
    name: str


@dataclass(frozen=True)
class _Repeat:
    item: "_Node"
    low: int
    high: "int | None"  # None: no bound


@dataclass(frozen=True)
class _Seq:
    items: tuple["_Node", ...]


@dataclass(frozen=True)
class _Alt:
    options: tuple[_Seq, ...]


_Node = Union[_Lit, _Class, _Ref, _Repeat, _Seq, _Alt]
_TOKEN = re.compile(r'\s*("(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|\{\d+\}|[+?*]|[A-Za-z][A-Za-z0-9_-]*|[|()])')
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)")


def _unescape(body: str) -> list[str]:
    """The characters of a literal's or class's body, escapes read."""
    out, pos = [], 0
    while pos < len(body):
        m = _ESCAPE.match(body, pos)
        if m:
            code = m.group(1)
            out.append(chr(int(code[1:], 16)) if code[0] == "x" else {"n": "\n", "r": "\r", "t": "\t"}.get(code, code))
            pos = m.end()
        else:
            out.append(body[pos])
            pos += 1
    return out


def _class(body: str) -> _Class:
    negated = body.startswith("^")
    chars = _unescape(body[1:] if negated else body)
    ranges, i = [], 0
    while i < len(chars):
        if i + 2 < len(chars) and chars[i + 1] == "-":
            ranges.append((chars[i], chars[i + 2]))
            i += 3
        else:
            ranges.append((chars[i], chars[i]))
            i += 1
    return _Class(negated, tuple(ranges))


def parse_gbnf(text: str) -> dict[str, _Alt]:
    """Rule name -> its expression; comments and blank lines skipped, one rule a line (as the writer puts them)."""
    rules = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, body = line.split("::=", 1)
        tokens = []
        pos = 0
        while body[pos:].strip():
            m = _TOKEN.match(body, pos)
            assert m, f"not GBNF: {body[pos:]!r}"
            tokens.append(m.group(1))
            pos = m.end()
        alt, rest = _parse_alt(tokens)
        assert not rest, f"unbalanced: {body!r}"
        rules[name.strip()] = alt
    return rules


def _parse_alt(tokens: list[str]) -> tuple[_Alt, list[str]]:
    options, items = [], []
    while tokens and tokens[0] != ")":
        tok, tokens = tokens[0], tokens[1:]
        if tok == "|":
            options.append(_Seq(tuple(items)))
            items = []
            continue
        if tok == "(":
            node, tokens = _parse_alt(tokens)
            assert tokens and tokens[0] == ")"
            tokens = tokens[1:]
        elif tok.startswith('"'):
            node = _Lit("".join(_unescape(tok[1:-1])))
        elif tok.startswith("["):
            node = _class(tok[1:-1])
        else:
            assert tok[0].isalpha(), tok
            node = _Ref(tok)
        while tokens and (tokens[0] in ("+", "*", "?") or tokens[0].startswith("{")):
            op, tokens = tokens[0], tokens[1:]
            if op.startswith("{"):
                low = high = int(op[1:-1])
            else:
                low, high = {"+": (1, None), "*": (0, None), "?": (0, 1)}[op]
            node = _Repeat(node, low, high)
        items.append(node)
    options.append(_Seq(tuple(items)))
    return _Alt(tuple(options)), tokens


def _ends(node: _Node, rules: dict[str, _Alt], text: str, starts: frozenset[int]) -> frozenset[int]:
    """Where ``node`` can end, starting at any of ``starts``."""
    if isinstance(node, _Lit):
        return frozenset(i + len(node.text) for i in starts if text.startswith(node.text, i))
    if isinstance(node, _Class):
        return frozenset(i + 1 for i in starts if i < len(text)
                         and any(a <= text[i] <= b for a, b in node.ranges) != node.negated)
    if isinstance(node, _Ref):
        return _ends(rules[node.name], rules, text, starts)
    if isinstance(node, _Seq):
        for item in node.items:
            starts = _ends(item, rules, text, starts)
        return starts
    if isinstance(node, _Alt):
        return frozenset().union(*(_ends(o, rules, text, starts) for o in node.options))
    found = starts if node.low == 0 else frozenset()
    count = 0
    while starts and (node.high is None or count < node.high):
        starts = _ends(node.item, rules, text, starts)
        count += 1
        if count >= node.low:
            grown = found | starts
            if grown == found and count > node.low:
                break
            found = grown
    return found


def gbnf_accepts(grammar: str, answer: str) -> bool:
    """llama.cpp's view: the grammar matches the answer up to ``<EOS>``, which it lets through once complete."""
    if not answer.endswith("<EOS>"):
        return False
    rules = parse_gbnf(grammar)
    body = answer[: -len("<EOS>")]
    return len(body) in _ends(rules["root"], rules, body, frozenset({0}))


# --- the decoder, over one token per character and one per structural key ----------------------------------------
class _TinyVocab(Vocab):
    """Single characters plus atomic keys; text is encoded as an MTP tokenizer does, keys as one token each."""

    keys: tuple[str, ...] = ()

    def encode(self, text: str) -> list[int]:
        ids, pos = [], 0
        while pos < len(text):
            key = next((k for k in self.keys if text.startswith(k, pos)), None)
            piece = key or text[pos]
            ids.append(self.pieces.index(piece))
            pos += len(piece)
        return ids

    def decode(self, ids: list[int]) -> str:
        return "".join(self.pieces[i] for i in ids)


def tiny_vocab(chars: set[str], keys: set[str]) -> _TinyVocab:
    pieces = sorted(chars | {"\n"}) + sorted(keys, key=lambda k: (-len(k), k))
    text = [len(p) == 1 and p != "\n" and p not in keys for p in pieces]
    vocab = _TinyVocab(None, len(pieces), pieces, torch.tensor(text), pieces.index("\n"))
    vocab.keys = tuple(sorted(keys, key=len, reverse=True))
    return vocab


def decoder_accepts(grammar: Grammar, answer: str) -> bool:
    """Whether some path of allowed tokens writes exactly ``answer`` (the fixed rest included)."""
    pieces = grammar.vocab.pieces

    def walk(state: GrammarState, rest: str) -> bool:
        try:
            allowed: Any = state.allowed()
        except MTPValueError:  # the decoder cannot go on: no answer continues this way
            return False
        ids = [i for i in range(len(pieces)) if not allowed[i]] if hasattr(allowed, "shape") else allowed
        for token in ids:
            if not rest.startswith(pieces[token]):
                continue
            after = copy.copy(state)
            after.final_prefix = list(state.final_prefix)
            tail = after.advance(token)
            left = rest[len(pieces[token]):]
            if (left == grammar.vocab.decode(tail)) if tail is not None else walk(after, left):
                return True
        return False

    return walk(GrammarState(grammar), answer)


# --- generated specs and answers ------------------------------------------------------------------------------------
_CHARS = "ab <>'\"_{}:,\\\té-"
_LINE = st.text(alphabet=_CHARS, min_size=1, max_size=8)
_KEYS = ["Vanish_", "K_", "Ké_", "Done_", "<NON>"]


@st.composite
def specs(draw: st.DrawFn) -> tuple[InstructionSpec, str | None]:
    """An instruction spec of any kind, and the refusal line a caller may pass (None: not passed)."""
    kind = draw(st.sampled_from(["basic", STATE_MACHINE, MULTI_CLASSIFIER]))
    keys = draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3, unique=True))
    finals = []
    for n, key in enumerate(keys):
        if draw(st.booleans()):
            lo = draw(st.integers(-1500, 300))
            hi = lo + draw(st.integers(0, 2000))
            shift = draw(st.sampled_from([0, 0.5]))  # fractional bounds: the integers inside them
            finals.append(Final(key, f"V{n}_", lo - shift, hi + shift))
        else:
            finals.append(Final(key, f"V{n}_"))
    guardrails: tuple[Final, ...] = ()
    if draw(st.booleans()):
        guarded = ["<UNK>"] if draw(st.booleans()) else [f"{key}<UNK>_" for key in keys]
        guardrails = tuple(Final(k, "<UNK>") for k in guarded)
    refusals = tuple(draw(st.lists(_LINE, max_size=2, unique=True))) if guardrails else ()
    states = labels = None
    if kind == STATE_MACHINE:
        states = tuple(draw(st.lists(_LINE, min_size=1, max_size=4, unique=True)))
        if refusals and draw(st.booleans()):
            states += refusals[:1]  # a state that is also the refusal line
    if kind == MULTI_CLASSIFIER:
        names = draw(st.lists(st.sampled_from(["mood", "a'b", "x"]), min_size=1, max_size=3, unique=True))
        labels = tuple((name, tuple(draw(st.lists(_LINE, min_size=1, max_size=3, unique=True)))) for name in names)
    spec = InstructionSpec("i", kind, ("<string>", "<RUN>"), tuple(finals), guardrails, states=states, labels=labels,
                           refusals=refusals)
    refusal = draw(st.one_of(st.none(), _LINE)) if guardrails else None
    return spec, refusal


def _line(draw: st.DrawFn, line: Any) -> str:
    if isinstance(line, FreeLine):
        return draw(_LINE)
    if isinstance(line, LineChoice):
        return draw(st.sampled_from(line.lines))
    assert isinstance(line, LabelLine)
    return "".join(draw(st.sampled_from(part)) for part in line.segments())


def _final(draw: st.DrawFn, final: Final) -> str:
    if not final.numeric:
        return final.key
    lo, hi = final.int_range()
    return final.key + str(draw(st.integers(lo, hi)))


@st.composite
def valid_answers(draw: st.DrawFn, grammar: AnswerGrammar) -> str:
    branch = draw(st.sampled_from(grammar.branches))
    return f"{_line(draw, branch.line)}\n{_final(draw, draw(st.sampled_from(branch.finals)))}\n{grammar.end}"


@st.composite
def candidates(draw: st.DrawFn, grammar: AnswerGrammar) -> str:
    """A valid answer, or one mutated: a character changed, a number out of range or with a leading zero, the
    final of another branch after this line, the end cut or doubled."""
    answer = draw(valid_answers(grammar))
    how = draw(st.sampled_from(["keep", "insert", "delete", "replace", "number", "cross", "end"]))
    at = draw(st.integers(0, len(answer)))
    if how == "insert":
        return answer[:at] + draw(st.sampled_from(_CHARS + "\n0")) + answer[at:]
    if how == "delete":
        return answer[:at] + answer[at + 1:]
    if how == "replace":
        return answer[:at] + draw(st.sampled_from(_CHARS + "\n5")) + answer[at + 1:]
    if how == "number":
        numeric = [f for f in grammar.finals if f.numeric]
        if numeric:
            final = draw(st.sampled_from(numeric))
            lo, hi = final.int_range()
            number = draw(st.sampled_from([str(lo - 1), str(hi + 1), "0" + str(abs(lo)), "-0", str(lo), "+" + str(hi)]))
            return answer.split("\n", 1)[0] + f"\n{final.key}{number}\n<EOS>"
    if how == "cross":
        final = draw(st.sampled_from(grammar.finals))
        other = draw(valid_answers(grammar)).split("\n", 1)[0]
        return f"{other}\n{_final(draw, final)}\n<EOS>"
    if how == "end":
        return draw(st.sampled_from([answer.removesuffix("<EOS>"), answer + "<EOS>", answer + "\n"]))
    return answer


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), specs())
def test_every_writer_accepts_the_same_answers(data: st.DataObject, drawn: tuple[InstructionSpec, str | None]) -> None:
    spec, refusal = drawn
    grammar = answer_grammar(spec, refusal)
    answers = data.draw(st.lists(candidates(grammar), min_size=1, max_size=8))
    regex = re.compile(write_regex(grammar))
    gbnf = write_gbnf(grammar)
    keys = {f.key for f in grammar.finals} | {grammar.end}
    chars = set(_CHARS) | set("0123456789+") | {c for a in answers for c in a} | {c for k in keys for c in k}
    decoder = Grammar(spec, tiny_vocab(chars, keys), max_text_tokens=1000, refusal=refusal)
    for answer in answers:
        by_regex = bool(regex.fullmatch(answer))
        assert gbnf_accepts(gbnf, answer) == by_regex, (answer, gbnf)
        assert decoder_accepts(decoder, answer) == by_regex, (answer, regex.pattern)


@settings(max_examples=100, deadline=None)
@given(st.data(), specs())
def test_valid_answers_are_accepted(data: st.DataObject, drawn: tuple[InstructionSpec, str | None]) -> None:
    """The agreement above is not everyone refusing: what the grammar draws, every writer accepts."""
    spec, refusal = drawn
    grammar = answer_grammar(spec, refusal)
    answer = data.draw(valid_answers(grammar))
    assert re.fullmatch(write_regex(grammar), answer)
    assert gbnf_accepts(write_gbnf(grammar), answer)


def test_the_public_writers_are_the_grammars() -> None:
    """``answer_regex`` and ``instruction_grammar`` write the same grammar (the regex: no refusal line passed)."""
    spec = InstructionSpec("i", "basic", ("<string>", "<RUN>"), (Final("K_", "K_", 1, 900),),
                           (Final("<UNK>", "<UNK>"),))
    assert answer_regex(spec) == write_regex(answer_grammar(spec))
    assert instruction_grammar(spec, "No.") == write_gbnf(answer_grammar(spec, "No."))
    assert re.fullmatch(answer_regex(spec), "Hi\nK_900\n<EOS>")
    assert not re.fullmatch(answer_regex(spec), "Hi\nK_901\n<EOS>")


@pytest.mark.parametrize("answer,accepted", [("ab\nK_5\n<EOS>", True), ("ab\nK_05\n<EOS>", False), ("a", False),
                                             ("No.\n<UNK>\n<EOS>", True), ("ab\n<UNK>\n<EOS>", False),
                                             ("a<EOS>b\nK_-3\n<EOS>", True), ("ab\nK_-0\n<EOS>", False)])
def test_the_checkers_themselves(answer: str, accepted: bool) -> None:
    """The GBNF interpreter and the decoder walk are not trivially true or false."""
    spec = InstructionSpec("i", "basic", ("<string>", "<RUN>"), (Final("K_", "K_", -12, 30),),
                           (Final("<UNK>", "<UNK>"),))
    grammar = answer_grammar(spec, "No.")
    assert gbnf_accepts(write_gbnf(grammar), answer) == accepted
    decoder = Grammar(spec, tiny_vocab(set(answer) | set("0123456789-"), {"K_", "<UNK>", "<EOS>"}), refusal="No.")
    assert decoder_accepts(decoder, answer) == accepted


def test_a_final_whose_range_holds_no_integer_closes_no_answer() -> None:
    """The regex used to let such a key close an answer with no number at all (``K_(?:)``)."""
    spec = InstructionSpec("i", "basic", ("<string>", "<RUN>"), (Final("K_", "K_", 0.2, 0.8), Final("A_", "A_")))
    regex = answer_regex(spec)
    assert not re.fullmatch(regex, "x\nK_\n<EOS>") and re.fullmatch(regex, "x\nA_\n<EOS>")
    with pytest.raises(MTPValueError, match="empty"):
        instruction_grammar(spec)
