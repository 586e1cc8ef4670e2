"""Every structural string is one token; text and numbers round-trip."""

from __future__ import annotations

import pytest

pytest.importorskip("tokenizers")
pytest.importorskip("transformers")

import model_train_protocol as mtp
from model_train_protocol.train import build_training_data, scratch_tokenizer
from model_train_protocol.model_dir import encode_text as encode
from model_train_protocol.rules import SPECIALS, structural_strings


@pytest.fixture
def built(protocol):
    data = build_training_data(protocol, val_split=0.0)
    structural = structural_strings(protocol)
    return data, structural, scratch_tokenizer(data.all_text(), structural, vocab_size=600)


def test_structural_strings_cover_specials_keys_sets_and_finals(protocol):
    strings = structural_strings(protocol)
    assert strings[: len(SPECIALS)] == list(SPECIALS)
    for expected in ("Tree_English_Cat_Talk_", "Tree_English_Alice_Talk_Emotion_", "Cat_", "Emotion_",
                     "Appear_", "Vanish_", "Madness_", "Continue_"):
        assert expected in strings
    assert len(strings) == len(set(strings))


def test_each_structural_string_is_one_id_and_decodes_back(built):
    _, structural, tok = built
    ids = set()
    for s in structural:
        got = encode(tok, s)
        assert len(got) == 1, (s, tok.convert_ids_to_tokens(got))
        assert tok.decode(got, skip_special_tokens=False) == s
        ids.add(got[0])
    assert len(ids) == len(structural)


def test_special_token_roles(built):
    _, _, tok = built
    assert tok.convert_ids_to_tokens([tok.bos_token_id, tok.eos_token_id, tok.pad_token_id, tok.unk_token_id]) == [
        "<BOS>", "<EOS>", "<PAD>", "<UNK>"]


def test_every_training_text_round_trips(built):
    data, _, tok = built
    for text in data.all_text():
        assert tok.decode(encode(tok, text), skip_special_tokens=False) == text


def test_numbers_after_keys_are_key_then_digits(built):
    _, _, tok = built
    pieces = tok.convert_ids_to_tokens(encode(tok, "Tree_English_Alice_Talk_Emotion_7\n"))
    assert pieces[:2] == ["Tree_English_Alice_Talk_Emotion_", "7"]
    pieces = tok.convert_ids_to_tokens(encode(tok, "Tree_English_Cat_Talk_Coordinates_[100, 205, -50]\n"))
    assert pieces[0] == "Tree_English_Cat_Talk_Coordinates_"
    digits = [p for p in pieces if any(ch.isdigit() for ch in p)]
    assert all(len(p) == 1 for p in digits) and "".join(digits) == "10020550"


def test_encrypted_and_custom_keys_are_atomic():
    protocol = mtp.Protocol(name="enc", inputs=1, encrypt=True)
    for i in range(10):
        protocol.add_context(f"Line {i} of the background.")
    user = mtp.UserToken("User", key="🗣")
    mood = mtp.NumToken("Mood", min_value=0, max_value=9)
    ask = mtp.TokenSet(tokens=(user, mood))
    bot = mtp.TokenSet(tokens=(mtp.Token("Bot"),))
    done = mtp.Token("Done")
    instr = mtp.Instruction(context=[ask], response=bot, final=done, name="reply")
    for i in range(3):
        instr.add_sample([ask.create_snippet(f"hello {i}", numbers=[i])], bot.create_snippet(f"hi {i}"))
    protocol.add_instruction(instr)
    structural = structural_strings(protocol)
    assert "🗣" in structural
    data = build_training_data(protocol, val_split=0.0)
    tok = scratch_tokenizer(data.all_text(), structural, vocab_size=400)
    for s in structural:
        assert len(encode(tok, s)) == 1 and tok.decode(encode(tok, s), skip_special_tokens=False) == s
    for text in data.all_text():
        assert tok.decode(encode(tok, text), skip_special_tokens=False) == text
