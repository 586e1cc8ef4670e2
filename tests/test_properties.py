"""Property tests: random valid protocols always save schema-valid, deterministic files;
random misuse always raises an MTPError, never another exception."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from core_helpers import assert_schema_valid, small_protocol
from model_train_protocol.runtime import fill_input_lines
from model_train_protocol.rules import input_lines, render_prompt, render_protocol
from model_train_protocol.rules._validation import _reduce

NAME_EMOJI = "🐱🗣🌳🍄🫖👑🎩🐇"
KEY_EMOJI = "🫥🔑⭐🌙🔥💧🦋🎲"  # custom keys: never inside a name, so no key contains another


def _name_char(ch: str) -> bool:
    """Letters whose lower case is one letter: names of equal length then never contain each other."""
    low = ch.lower()
    return ch.isalnum() and len(low) == 1 and low.isalnum() and not ch.isdigit()


NAME_CHARS = st.one_of(
    st.characters(categories=["Lu", "Ll", "Lo"]).filter(_name_char),
    st.sampled_from(NAME_EMOJI),
)
#: Token names of exactly four reduced characters: distinct ones can never be substrings of each other.
NAMES = st.lists(NAME_CHARS, min_size=4, max_size=4).map("".join)
#: Texts hold no structural string (rule string.structural): no "<" (special tokens), no key or name emoji.
_NOT_STRUCTURAL = "<" + NAME_EMOJI + KEY_EMOJI
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"], exclude_characters="\0" + _NOT_STRUCTURAL),
               max_size=40)
#: Sample texts are single lines of the model's input or output (rule string.newline).
LINE = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"],
                             exclude_characters="\r\n\0" + _NOT_STRUCTURAL), max_size=40)
GUARD_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Nd", "No", "Nl"], exclude_characters="\r\n\0"), min_size=1, max_size=30).filter(
    lambda s: s.strip() and not any(ch.isdigit() for ch in s))

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bounds(draw) -> tuple[int | float, int | float]:
    low = draw(st.integers(-1000, 1000))
    high = low + draw(st.integers(0, 50))
    if draw(st.booleans()):
        return low - 0.5, high + 0.25  # float bounds with integers inside
    return low, high


def _int_in(draw, token) -> int:
    return draw(st.integers(math.ceil(token.min_value), math.floor(token.max_value)))


def _snippet(draw, ts: mtp.TokenSet) -> mtp.Snippet:
    numbers = [_int_in(draw, t) for t in ts.num_tokens]
    lists = [[_int_in(draw, t) for _ in range(t.length)] for t in ts.num_list_tokens]
    return ts.create_snippet(string=draw(LINE), numbers=numbers, number_lists=lists)


@st.composite
def valid_protocols(draw) -> mtp.Protocol:
    inputs = draw(st.integers(2, 3))
    protocol = mtp.Protocol(name=draw(NAMES), inputs=inputs, encrypt=draw(st.booleans()))
    names = iter(draw(st.lists(NAMES, min_size=14, max_size=18, unique_by=_reduce)))
    keys = iter(draw(st.permutations(KEY_EMOJI)))

    def key():
        return next(keys, None) if draw(st.integers(0, 3)) == 0 else None  # as many custom keys as emoji

    def desc():
        return draw(st.one_of(st.none(), TEXT))

    plain = [mtp.Token(next(names), key=key(), desc=desc()) for _ in range(draw(st.integers(2, 4)))]
    users = [mtp.UserToken(next(names), key=key(), desc=desc()) for _ in range(draw(st.integers(1, 2)))]
    numeric = []
    if draw(st.booleans()):
        numeric.append(mtp.NumToken(next(names), *_bounds(draw), key=key()))
    if draw(st.booleans()):
        numeric.append(mtp.NumListToken(next(names), *_bounds(draw), length=draw(st.integers(1, 3)), key=key()))
    finals = [mtp.Token(next(names), key=key(), desc=desc()) for _ in range(draw(st.integers(1, 3)))]
    if draw(st.booleans()):
        finals.append(mtp.NumToken(next(names), *_bounds(draw), key=key()))

    line_tokens = plain + users + numeric
    pool: dict[tuple[int, ...], mtp.TokenSet] = {}
    for _ in range(draw(st.integers(2, 5))):
        chosen = draw(st.lists(st.sampled_from(line_tokens), min_size=1, max_size=4, unique_by=id))
        pool.setdefault(tuple(map(id, chosen)), mtp.TokenSet(tokens=chosen))
    user_sets = []
    for user in users:
        extra = draw(st.lists(st.sampled_from(plain + numeric), max_size=2, unique_by=id))
        chosen = [user, *extra] if draw(st.booleans()) else [*extra, user]
        user_sets.append(pool.setdefault(tuple(map(id, chosen)), mtp.TokenSet(tokens=chosen)))
    responses = [mtp.TokenSet(tokens=draw(st.lists(st.sampled_from(plain), min_size=1, max_size=2, unique_by=id)))]
    sets = list(pool.values())

    for g in range(draw(st.integers(0, 2))):
        guardrail = mtp.Guardrail(draw(GUARD_TEXT), draw(GUARD_TEXT), draw(GUARD_TEXT))
        for text in draw(st.lists(GUARD_TEXT, min_size=3, max_size=4)):
            guardrail.add_sample(text)
        target = draw(st.sampled_from(user_sets))
        if target.effective_guardrail is None:
            target.set_guardrail(guardrail)

    context_total = 0
    for index in range(draw(st.integers(1, 3))):
        chosen_finals = draw(st.lists(st.sampled_from(finals), min_size=1, max_size=len(finals), unique_by=id))
        context = [draw(st.sampled_from(sets)) for _ in range(inputs)]
        if draw(st.booleans()):
            instruction = mtp.Instruction(context=context, response=draw(st.sampled_from(responses)),
                                          final=chosen_finals, name=f"basic_{index}")
        else:
            instruction = mtp.ExtendedInstruction(context=context + [draw(st.sampled_from(user_sets))],
                                                  final=chosen_finals, name=f"extended_{index}")
        for line in draw(st.lists(TEXT, max_size=3, unique=True)):  # add_context adds a line once
            instruction.add_context(line)
            context_total += 1
        for final in chosen_finals:
            for _ in range(draw(st.integers(3, 4))):
                snippets = [_snippet(draw, ts) for ts in instruction.context]
                value = _int_in(draw, final) if isinstance(final, mtp.NumToken) else None
                if isinstance(instruction, mtp.Instruction):
                    output = _snippet(draw, instruction.response)
                    instruction.add_sample(input_snippets=snippets, output_snippet=output, value=value, final=final)
                else:
                    instruction.add_sample(input_snippets=snippets, response_string=draw(LINE), value=value, final=final)
        protocol.add_instruction(instruction)
    for line in draw(st.lists(TEXT, min_size=max(0, 10 - context_total), max_size=12)):
        protocol.add_context(line)
    return protocol


@SETTINGS
@given(valid_protocols())
def test_random_valid_protocols_save_schema_valid_deterministic_files(protocol):
    assert protocol.validate() == []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        model = protocol.save(path=out / "a")
        template = protocol.template(path=out / "a")
        for path in (model, template):
            assert_schema_valid(json.loads(path.read_text(encoding="utf-8")))
        assert protocol.save(path=out / "b").read_bytes() == model.read_bytes()
        assert protocol.template(path=out / "b").read_bytes() == template.read_bytes()
    first = [e.text for e in render_protocol(protocol)]
    assert first == [e.text for e in render_protocol(protocol)]
    keys = protocol.key_map()
    for instruction in protocol.instructions:
        lines = input_lines(instruction, keys)
        for sample in instruction.samples:
            flat = []  # numbers and number lists fill the <num_..> placeholders in token order
            for sn, ts in zip(sample.inputs, instruction.context):
                nums, lists = iter(sn.numbers), iter(sn.number_lists)
                flat += [next(nums) if isinstance(t, mtp.NumToken) else list(next(lists))
                         for t in ts.tokens if t.is_number]
            assert fill_input_lines(lines, [sn.string for sn in sample.inputs], flat) == \
                render_prompt(instruction, sample.inputs, keys)


# --- misuse ---------------------------------------------------------------

ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=10), st.binary(max_size=5), st.lists(st.integers(-5, 5), max_size=3),
    st.lists(st.lists(st.one_of(st.integers(-5, 5), st.floats(-5, 5)), max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.tuples(st.text(max_size=3)),
    st.just(object()), st.just(mtp.RUN), st.just(mtp.Token("Stray")),
)


def _fixture_objects():
    cat, talk, user = mtp.Token("Cat"), mtp.Token("Talk"), mtp.UserToken("Usr")
    level, coords = mtp.NumToken("Level", 0, 5), mtp.NumListToken("Coords", -3, 3, 2)
    done, score = mtp.Token("Done"), mtp.NumToken("Score", 0, 10)
    numbers = mtp.TokenSet((cat, level, coords))
    user_set = mtp.TokenSet((user, talk))
    response = mtp.TokenSet((cat, talk))
    instruction = mtp.Instruction(context=[numbers, user_set], response=response, final=[done, score], name="i")
    extended = mtp.ExtendedInstruction(context=[response, numbers, user_set], final=done, name="e")
    return locals()


def _call(data, target, *names):
    return target(**{name: data.draw(ANYTHING, label=name) for name in names})


GARBAGE_CALLS = {
    "Token": lambda d, o: _call(d, mtp.Token, "value", "key", "desc"),
    "UserToken": lambda d, o: _call(d, mtp.UserToken, "value", "key", "desc"),
    "NumToken": lambda d, o: _call(d, mtp.NumToken, "value", "min_value", "max_value"),
    "NumListToken": lambda d, o: _call(d, mtp.NumListToken, "value", "min_value", "max_value", "length"),
    "TokenSet": lambda d, o: _call(d, mtp.TokenSet, "tokens"),
    "create_snippet": lambda d, o: _call(d, o["numbers"].create_snippet, "string", "numbers", "number_lists"),
    "set_guardrail": lambda d, o: _call(d, o["user_set"].set_guardrail, "guardrail"),
    "Instruction": lambda d, o: _call(d, mtp.Instruction, "context", "response", "final", "name"),
    "ExtendedInstruction": lambda d, o: _call(d, mtp.ExtendedInstruction, "context", "final", "name"),
    "add_sample": lambda d, o: _call(d, o["instruction"].add_sample, "input_snippets", "output_snippet", "value", "final"),
    "add_sample_extended": lambda d, o: _call(d, o["extended"].add_sample, "input_snippets", "response_string", "value", "final"),
    "instruction_context": lambda d, o: _call(d, o["instruction"].add_context, "line"),
    "hand_made_snippet": lambda d, o: o["instruction"].add_sample(
        [mtp.Snippet(d.draw(ANYTHING), o["numbers"], d.draw(ANYTHING), d.draw(ANYTHING)), "u"], "r", final=o["done"]),
    "Guardrail": lambda d, o: _call(d, mtp.Guardrail, "good_prompt", "bad_prompt", "bad_output"),
    "guardrail_sample": lambda d, o: _call(d, mtp.Guardrail("a", "b", "c").add_sample, "prompt"),
    "Protocol": lambda d, o: _call(d, mtp.Protocol, "name", "inputs", "encrypt"),
    "add_context": lambda d, o: _call(d, mtp.Protocol("p", 2).add_context, "line"),
    "add_instruction": lambda d, o: _call(d, mtp.Protocol("p", 2).add_instruction, "instruction"),
}


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(GARBAGE_CALLS)), st.data())
def test_arbitrary_arguments_raise_nothing_but_mtp_errors(call, data):
    objects = _fixture_objects()
    try:
        GARBAGE_CALLS[call](data, objects)
    except mtp.MTPError:
        pass


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_random_file_names_are_saved_inside_the_directory_or_refused(data):
    name = data.draw(st.one_of(st.text(max_size=12), st.sampled_from(["..", ".", "../x", "a/b", "", " "])))
    protocol = small_protocol()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = protocol.save(name=name, path=tmp)
        except mtp.MTPError:
            return
        except OSError:  # a name the file system refuses (too long, ...) is the OS's call
            return
        assert path.parent == Path(tmp) and path.name == f"{name}_model.json"


def _misuse(draw, o):
    """One call that is certainly wrong, with the expected error class."""
    kind = draw(st.sampled_from([
        "out_of_range", "float_number", "float_list", "wrong_count", "wrong_list_length", "bad_character",
        "bad_bounds", "value_out_of_range", "missing_value", "snippet_count", "wrong_final",
        "inputs_mismatch", "wrong_types",
    ]))
    numbers = o["numbers"]
    if kind == "out_of_range":
        n = draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=6)))
        return lambda: numbers.create_snippet("x", numbers=[n], number_lists=[[0, 0]])
    if kind == "float_number":
        f = draw(st.floats(0, 5).filter(lambda v: v != int(v)))
        return lambda: numbers.create_snippet("x", numbers=[f], number_lists=[[0, 0]])
    if kind == "float_list":
        f = draw(st.floats(-3, 3, allow_nan=False))
        return lambda: numbers.create_snippet("x", numbers=[1], number_lists=[[0, f]])
    if kind == "wrong_count":
        nums = draw(st.lists(st.integers(0, 5), max_size=4).filter(lambda v: len(v) != 1))
        return lambda: numbers.create_snippet("x", numbers=nums, number_lists=[[0, 0]])
    if kind == "wrong_list_length":
        values = draw(st.lists(st.integers(-3, 3), min_size=1, max_size=5).filter(lambda v: len(v) != 2))
        return lambda: numbers.create_snippet("x", numbers=[1], number_lists=[values])
    if kind == "bad_character":
        bad = draw(st.sampled_from(list(" -<>.,;:!?/\\\t\n'\"()[]{}")))
        text = draw(NAMES)
        at = draw(st.integers(0, len(text)))
        return lambda: mtp.Token(text[:at] + bad + text[at:])
    if kind == "bad_bounds":
        low = draw(st.integers(-100, 100))
        return lambda: mtp.NumToken("N", low, low - draw(st.integers(1, 10)))
    if kind == "value_out_of_range":
        value = draw(st.one_of(st.integers(max_value=-1), st.integers(min_value=11), st.just(float("nan"))))
        snippets = [numbers.create_snippet("x", numbers=[1], number_lists=[[0, 0]]), "u"]
        return lambda: o["instruction"].add_sample(snippets, "r", final=o["score"], value=value)
    if kind == "missing_value":
        snippets = [numbers.create_snippet("x", numbers=[1], number_lists=[[0, 0]]), "u"]
        return lambda: o["instruction"].add_sample(snippets, "r", final=o["score"])
    if kind == "snippet_count":
        count = draw(st.integers(0, 4).filter(lambda v: v != 2))
        return lambda: o["instruction"].add_sample(["u"] * count, "r", final=o["done"])
    if kind == "wrong_final":
        return lambda: o["extended"].add_sample(["r", numbers.create_snippet("x", numbers=[1], number_lists=[[0, 0]]), "u"],
                                               "resp", final=mtp.Token("Elsewhere"))
    if kind == "inputs_mismatch":
        inputs = draw(st.integers(1, 5).filter(lambda v: v != 2))
        return lambda: mtp.Protocol("p", inputs).add_instruction(o["instruction"])
    target = draw(st.sampled_from([
        lambda: mtp.Token(draw(st.one_of(st.integers(), st.none(), st.binary()))),
        lambda: mtp.TokenSet(draw(st.one_of(st.text(max_size=3), st.integers()))),
        lambda: mtp.Instruction(context=o["numbers"], response=o["response"], final=o["done"], name="x"),
        lambda: mtp.Protocol(draw(st.one_of(st.integers(), st.none())), 2),
        lambda: numbers.create_snippet(draw(st.one_of(st.integers(), st.none(), st.binary())), numbers=[1],
                                       number_lists=[[0, 0]]),
    ]))
    return target


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_designed_misuse_always_raises_an_mtp_error(data):
    objects = _fixture_objects()
    action = _misuse(data.draw, objects)
    with pytest.raises(mtp.MTPError):
        action()
