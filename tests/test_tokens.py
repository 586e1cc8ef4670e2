"""Tokens: values, characters, number bounds, special tokens and keys."""

from __future__ import annotations

import pytest

import model_train_protocol as mtp
from model_train_protocol.authoring import SPECIAL_TOKENS, token_key


def test_value_is_the_name_plus_underscore():
    cat = mtp.Token("Cat", desc="The Cheshire Cat")
    assert (cat.name, cat.value, cat.key, cat.desc) == ("Cat", "Cat_", None, "The Cheshire Cat")
    assert mtp.Token("A_").value == "A__"
    assert repr(mtp.Token("Talk", key="🗣")) == "Token('Talk', key='🗣')"


@pytest.mark.parametrize("value", ["é", "中文", "Ⅻ", "x²", "👍🏽", "🗣", "snake_case", "_"])
def test_allowed_characters(value):
    assert mtp.Token(value).value == value + "_"


@pytest.mark.parametrize("value", ["Hello World", "a-b", "<X>", "🗣️", "🇨🇦", "a.b", "tab\t"])
def test_refused_characters(value):
    with pytest.raises(mtp.TokenError, match="Invalid character"):
        mtp.Token(value)


def test_empty_and_non_string_values():
    with pytest.raises(mtp.TokenError, match="empty"):
        mtp.Token("")
    with pytest.raises(mtp.TokenTypeError):
        mtp.Token(5)
    with pytest.raises(TypeError):  # TokenTypeError is also a TypeError
        mtp.Token(None)


def test_keys_and_descriptions():
    assert mtp.Token("Disappear", key="🫥").key == "🫥"
    with pytest.raises(mtp.TokenError):
        mtp.Token("A", key="")
    with pytest.raises(mtp.TokenError):
        mtp.Token("A", key="<A>")
    with pytest.raises(mtp.TokenTypeError):
        mtp.Token("A", key=1)
    with pytest.raises(mtp.TokenTypeError):
        mtp.Token("A", desc=1)


def test_user_token():
    alice = mtp.UserToken("Alice", desc="the player")
    assert alice.user and not mtp.Token("Cat").user
    assert isinstance(alice, mtp.Token) and alice.value == "Alice_"


def test_num_token():
    mood = mtp.NumToken("Mood", min_value=0, max_value=9)
    assert (mood.min_value, mood.max_value, mood.is_number) == (0, 9, True)
    assert mood.placeholder() == "<num_0_9>"
    assert mtp.NumToken("R", 0.5, 1.5).placeholder() == "<num_0.5_1.5>"
    assert mtp.NumToken("Same", 3, 3).placeholder() == "<num_3_3>"


@pytest.mark.parametrize("low, high, error", [
    (5, 1, mtp.TokenError),
    ("0", 9, mtp.TokenTypeError),
    (0, None, mtp.TokenTypeError),
    (True, 9, mtp.TokenTypeError),
    (float("nan"), 9, mtp.TokenError),
    (0, float("inf"), mtp.TokenError),
])
def test_num_token_bounds(low, high, error):
    with pytest.raises(error):
        mtp.NumToken("N", low, high)


def test_num_list_token():
    coords = mtp.NumListToken("Coords", min_value=-1000, max_value=1000, length=3)
    assert coords.placeholder() == "<num_-1000_1000_3>" and coords.length == 3
    for bad in (0, -1):
        with pytest.raises(mtp.TokenError, match="positive"):
            mtp.NumListToken("C", 0, 1, bad)
    for bad in (2.0, "3", True):
        with pytest.raises(mtp.TokenTypeError):
            mtp.NumListToken("C", 0, 1, bad)
    with pytest.raises(mtp.TokenError):
        mtp.NumListToken("C", 2, 1, 3)


def test_special_tokens():
    assert [t.value for t in SPECIAL_TOKENS.values()] == ["<BOS>", "<EOS>", "<NON>", "<PAD>", "<RUN>", "<UNK>"]
    for literal, token in SPECIAL_TOKENS.items():
        assert token.key == token.value == literal
    assert (mtp.BOS.special, mtp.EOS.file_type, mtp.NON.file_type) == ("start", "SpecialFinalToken", "SpecialFinalToken")
    assert repr(mtp.RUN) == "mtp.RUN"


def test_token_key_hashing_matches_the_reference():
    expected = {"Cat": "50f7dd", "Alice": "ac50a4", "Mood": "f95216", "Done": "f3c67c", "Talk": "b6ecfb", "Tree": "852964"}
    for name, key in expected.items():
        assert token_key(mtp.Token(name), encrypt=True) == key
        assert token_key(mtp.Token(name), encrypt=False) == name + "_"
    assert token_key(mtp.Token("Talk", key="🗣"), encrypt=True) == "🗣"
    assert token_key(mtp.PAD, encrypt=True) == "<PAD>"


def test_signature_tells_equal_tokens_apart():
    assert mtp.Token("A").signature() == mtp.Token("A").signature()
    assert mtp.Token("A").signature() != mtp.Token("A", desc="x").signature()
    assert mtp.Token("A").signature() != mtp.UserToken("A").signature()
