"""Constrained decoding: an untrained model's answers still have the template's shape, for any input."""

from __future__ import annotations

import random

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.infer import generate, parse_completion  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from model_train_protocol.infer._decode import _extendable  # noqa: E402


def random_line(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789.,?!'-éü😀<>_\n"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def random_numbers(spec, rng: random.Random):
    out = []
    for p in spec.placeholders:
        one = lambda: rng.randint(int(p.min_value), int(p.max_value))  # noqa: E731
        out.append([one() for _ in range(p.length)] if p.length else one())
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_every_output_of_an_untrained_model_parses(protocol, make_model, seed):
    model = make_model(protocol, seed=seed, max_text_tokens=12)
    rng = random.Random(seed)
    seen_finals = set()
    for _ in range(12):
        name = rng.choice(model.instructions)
        spec = model.spec(name)
        lines = [random_line(rng) for _ in range(spec.text_lines)]
        answer = model.run(name, lines, random_numbers(spec, rng))
        again = parse_completion(answer.raw, spec)  # the raw completion parses on its own
        assert again.final_key == answer.final_key
        assert "\n" not in answer.text and answer.text
        assert answer.final_key in {f.key for f in spec.outputs}
        assert answer.guardrail == (answer.final_key == "<UNK>")
        assert answer.guardrail is False or spec.guardrail is not None
        final = spec.final_for_key(answer.final_key)
        if final.numeric:  # the integer after a numeric final's key, in its range
            lo, hi = final.int_range()
            assert isinstance(answer.value, int) and lo <= answer.value <= hi
        else:
            assert answer.value is None
        assert answer.tokens <= 12 + 4 + (2 if final.numeric else 0)  # text, newline, final, [digits], newline, <EOS>
        assert sum(answer.final_probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert set(answer.final_probs) == {f.name for f in spec.outputs}
        seen_finals.add(answer.final)
    assert seen_finals


def test_encrypted_keys_map_back_to_names(make_model):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    protocol = build_protocol()
    protocol.encrypt = True
    model = make_model(protocol, max_text_tokens=4)
    spec = model.spec("alice_cat_alice_appear_disappear")
    assert {f.name for f in spec.outputs} == {"Appear", "Vanish", "<UNK>"}
    assert all(len(f.key) == 6 for f in spec.finals)  # sha256 prefixes, not names
    answer = model.run(spec.name, ["Hi.", "Hello."])
    assert answer.final in {"Appear", "Vanish", "<UNK>"}
    assert answer.final_key != answer.final + "_"


def _forcing(model, token_id: int):
    """Make the model put all its probability on one token, whatever the input."""
    with torch.no_grad():
        head = model.model.lm_head
        head.weight.zero_()
        head.bias = torch.nn.Parameter(torch.zeros(head.out_features))
        head.bias[token_id] = 100.0


@pytest.mark.parametrize("target", ["\n", "<EOS>", "<RUN>", "key"])
def test_a_model_that_wants_to_break_the_shape_cannot(make_model, target):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = make_model(build_protocol(), max_text_tokens=5)
    spec = model.spec("alice_cat_alice_continue")
    piece = spec.finals[0].key if target == "key" else target
    (token_id,) = model.vocab.encode(piece)
    _forcing(model, token_id)
    answer = model.run(spec.name, ["Hi.", "Hello."])
    assert answer.text and "\n" not in answer.text
    text_tokens = 1 if target == "\n" else 5  # a wanted newline ends the text as early as allowed; else the bound does
    assert answer.tokens == text_tokens + 4  # then newline, final, newline, <EOS>
    assert answer.final_key in {f.key for f in spec.outputs}


def test_unconstrained_decoding_runs_the_same_loop(make_model):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = make_model(build_protocol(), max_text_tokens=6)
    spec = model.spec("alice_asks_the_cat")
    prompt = model.prompt(spec.name, ["a", "b", "c"])
    gen = model.generate(spec, prompt, constrained=False)
    assert gen.new_tokens >= 1 and gen.forward_passes == gen.new_tokens
    constrained = model.generate(spec, prompt)
    assert constrained.forward_passes < constrained.new_tokens  # the fixed tail costs no forward pass


def test_sampling_is_reproducible_with_a_seed(make_model):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = make_model(build_protocol(), max_text_tokens=8)
    runs = [model.run("alice_asks_the_cat", ["a", "b", "c"], sample=True, temperature=1.5, seed=7) for _ in range(2)]
    assert runs[0].raw == runs[1].raw
    parse_completion(runs[0].raw, model.spec("alice_asks_the_cat"))


def test_a_prompt_longer_than_the_model_is_refused(make_model):
    from model_train_protocol.errors import MTPValueError
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = make_model(build_protocol())
    with pytest.raises(MTPValueError, match="leaves no room"):
        model.run("alice_asks_the_cat", ["word " * 300, "b", "c"])


def test_generate_accepts_raw_prompt_ids(make_model):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    model = make_model(build_protocol(), max_text_tokens=3)
    spec = model.spec("alice_cat_alice_continue")
    gen = generate(model.model, model.vocab.encode(model.prompt(spec.name, ["x", "y"])), model.grammar(spec))
    assert parse_completion(gen.completion, spec).instruction == spec.name


def test_a_gpt2_layout_decodes_too():
    from transformers import GPT2Config, GPT2LMHeadModel

    from model_train_protocol.examples.cheshire_cat import build_protocol
    from model_train_protocol.infer import Model

    from .tiny import tiny_parts

    protocol = build_protocol()
    _, tokenizer = tiny_parts(protocol)
    torch.manual_seed(0)
    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=256))
    model = Model(gpt2, tokenizer, protocol.template_json(), protocol, max_text_tokens=6)
    answer = model.run("alice_asks_the_cat", ["a", "b", "c"])
    assert parse_completion(answer.raw, model.spec("alice_asks_the_cat")).final in ("Vanish", "<UNK>")


NUMERIC = "alice_cat_alice_instruction_numeric"


def _with_madness_range(lo: int, hi: int):
    """The example protocol with the numeric final's range changed (its samples' values clamped into it)."""
    from dataclasses import replace

    from model_train_protocol.examples.cheshire_cat import build_protocol

    protocol = build_protocol()
    (instruction,) = [i for i in protocol.instructions if i.name == NUMERIC]
    (madness,) = instruction.finals
    madness.min_value, madness.max_value = lo, hi
    instruction.samples[:] = [replace(s, value=min(max(s.value, lo), hi)) for s in instruction.samples]
    return protocol


@pytest.mark.parametrize("lo,hi", [(0, 10), (-37, 1234), (-500, -20), (7, 7), (95, 105), (-3, 3)])
@pytest.mark.parametrize("seed", [0, 1])
def test_random_prompts_always_yield_an_in_range_integer(make_model, lo, hi, seed):
    """Whatever an untrained model prefers, a numeric final is followed by an integer in [lo, hi], written plainly."""
    model = make_model(_with_madness_range(lo, hi), seed=seed, max_text_tokens=4)
    spec = model.spec(NUMERIC)
    assert spec.finals[0].int_range() == (lo, hi)
    rng = random.Random(seed)
    for i in range(8):
        lines = [random_line(rng) for _ in range(spec.text_lines)]
        answer = model.run(NUMERIC, lines, random_numbers(spec, rng), sample=True, temperature=2.0, seed=i)
        assert answer.final == "Madness" and isinstance(answer.value, int) and lo <= answer.value <= hi
        assert answer.raw.endswith(f"\n{answer.final_key}{answer.value}\n<EOS>")
        assert parse_completion(answer.raw, spec).value == answer.value


@pytest.mark.parametrize("piece,lo,hi,expected", [
    ("9", 0, 10, 9),          # a wanted digit is taken...
    ("9", 0, 100, 99),        # ...as often as the range allows, then the newline is forced
    ("-", 0, 10, None),       # no sign where no negative number fits
    ("-", -20, 10, None),     # the sign is allowed, then digits; not "-0"
    ("0", 1, 10, None),       # no leading zero: 0 is out of range, so the number cannot start with it
    ("\n", 3, 10, None),     # a wanted newline waits until the number is complete (then ends it)
])
def test_a_model_that_wants_a_bad_number_cannot_write_one(make_model, piece, lo, hi, expected):
    model = make_model(_with_madness_range(lo, hi), max_text_tokens=3)
    spec = model.spec(NUMERIC)
    (token_id,) = model.vocab.encode(piece)
    _forcing(model, token_id)
    answer = model.run(NUMERIC, ["Hi.", "Hello."], [[1, 2, 3], 4])
    assert lo <= answer.value <= hi
    if expected is not None:
        assert answer.value == expected
    assert answer.raw.endswith(f"{answer.final_key}{answer.value}\n<EOS>")


@settings(max_examples=300, deadline=None)
@given(lo=st.integers(-1200, 1200), span=st.integers(0, 400), prefix=st.text("-0123456789", max_size=6))
def test_extendable_means_some_in_range_integer_starts_so(lo, span, prefix):
    hi = lo + span
    brute = any(str(n).startswith(prefix) for n in range(lo, hi + 1))
    assert _extendable(prefix, lo, hi) == brute
