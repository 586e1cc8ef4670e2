"""Drafted greedy decoding: the same answer as token-by-token greedy decoding, in fewer forward passes."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from model_train_protocol.infer import Drafts, Grammar, generate  # noqa: E402


def _decode(model, name: str, lines: list[str], drafts: list[list[int]]):
    grammar = Grammar(model.spec(name), model.vocab, 12)
    grammar.drafts = Drafts(drafts) if drafts else None
    return generate(model.model, model.vocab.encode(model.prompt(name, lines)), grammar)


def _text_ids(model, generation) -> list[int]:
    """The ids of the text line and its newline: what a draft of this answer holds."""
    return generation.ids[: generation.ids.index(model.vocab.newline) + 1]


def test_a_followed_draft_gives_the_same_answer_in_fewer_passes(protocol, make_model):
    model = make_model(protocol, seed=3)
    name, lines = "alice_cat_alice_continue", ["Then it doesnt matter which way you go.", "Which road?"]
    plain = _decode(model, name, lines, [])
    line = _text_ids(model, plain)
    drafted = _decode(model, name, lines, [line, line[:1] + [line[-2]] * 3 + line[-1:]])
    assert drafted.completion == plain.completion and drafted.ids == plain.ids
    assert drafted.forward_passes < plain.forward_passes
    assert drafted.token_probs == pytest.approx(plain.token_probs, abs=1e-4)


def test_a_wrong_draft_changes_nothing(protocol, make_model):
    model = make_model(protocol, seed=4)
    name, lines = "alice_cat_alice_continue", ["Then it doesnt matter which way you go.", "Which road?"]
    plain = _decode(model, name, lines, [])
    line = _text_ids(model, plain)
    wrong = [line[:1] + [t for t in line[1:-1] if t != line[1]][:1] * 4 + line[-1:]]  # diverges at the 2nd token
    drafted = _decode(model, name, lines, wrong)
    assert drafted.completion == plain.completion and drafted.ids == plain.ids
    assert drafted.token_probs == pytest.approx(plain.token_probs, abs=1e-4)


def test_sampling_never_drafts(protocol, make_model):
    model = make_model(protocol, seed=5)
    name = "alice_cat_alice_continue"
    spec = model.spec(name)
    ids = model.vocab.encode(model.prompt(name, ["a", "b"]))
    plain = generate(model.model, ids, Grammar(spec, model.vocab, 12), sample=True, seed=7)
    grammar = Grammar(spec, model.vocab, 12)
    grammar.drafts = Drafts([_text_ids(model, plain)])
    drafted = generate(model.model, ids, grammar, sample=True, seed=7)
    assert (drafted.completion, drafted.forward_passes) == (plain.completion, plain.forward_passes)


def test_drafts_guess_the_most_common_known_continuation():
    drafts = Drafts([[1, 2, 3, 9], [1, 2, 4, 9], [1, 2, 4, 9], [5, 6, 9]])

    class Text:
        phase = "text"

    assert drafts.guess([1], Text()) == [2, 4, 9]
    assert drafts.guess([1, 2, 3], Text()) == [9]
    assert drafts.guess([5], Text()) == [6, 9]
    assert drafts.guess([7], Text()) == []
    assert drafts.guess([], Text()) == []  # the first token is always the model's own choice

    class Final:
        phase = "final"

    assert drafts.guess([1], Final()) == []
