"""Tokens: the named building blocks of every input line and every model answer.

A token's *value* is the name given by the user plus ``"_"`` (``Token("Cat")``
has value ``"Cat_"``), exactly as the MTP file format stores it. Its *key* is
the symbol the trained model sees; it is not stored on the token but derived
per protocol (see :func:`token_key`), so one token can serve two protocols with
different ``encrypt`` settings without either changing the other.
"""

from __future__ import annotations

import hashlib
import math
import sys
from typing import Any

import emoji

from ..constants import (BOS_STRING, EOS_STRING, NON_STRING, PAD_STRING, RUN_STRING, UNK_STRING, TokenType,
    number_placeholder, token_value)
from ..errors import TokenError, TokenTypeError

__all__ = [
    "Token",
    "UserToken",
    "NumToken",
    "NumListToken",
    "SpecialToken",
    "BOS",
    "EOS",
    "RUN",
    "PAD",
    "UNK",
    "NON",
    "SPECIAL_TOKENS",
    "token_key",
    "KeyMap",
]


def _bad_character(text: str) -> str | None:
    """The first character MTP does not allow in a value or key, or None."""
    for ch in text:
        if ch == "_" or ch.isalnum() or emoji.is_emoji(ch):
            continue
        return ch
    return None


def _check_key(value: str, key: Any) -> None:
    if not isinstance(key, str):
        raise TokenTypeError(f"Token {value!r}: key must be a string or None, got {type(key).__name__}.")
    if key == "":
        raise TokenError(f"Key cannot be an empty string (token {value!r}); leave key=None for an automatic key.")
    bad = _bad_character(key)
    if bad is not None:
        raise TokenError(
            f"Invalid character {bad!r} in key {key!r} of token {value!r}: only letters, digits, "
            f"underscores and single-character emoji are allowed."
        )


def _check_number(name: str, value: Any, owner: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenTypeError(f"{owner}: {name} must be an int or float, got {type(value).__name__} {value!r}.")
    if isinstance(value, float) and not math.isfinite(value):
        raise TokenError(f"{owner}: {name} must be a finite number, got {value!r}.")
    if abs(value) > sys.float_info.max:  # an int past any float: unbounded digits in grammars, keys and messages
        raise TokenError(f"{owner}: {name} must lie within ±{sys.float_info.max:.4g} (what a float holds), got an "
                         f"integer of about {int(abs(value).bit_length() * math.log10(2)) + 1} digits.")
    return value


class Token:
    """A word, concept or action of the model's vocabulary.

    ``key`` is an optional custom symbol (for example an emoji); ``desc`` an
    optional description that explains the token to the model.
    """

    type_name = TokenType.TOKEN

    #: ``guarded_sets``: the TokenSets whose line starts with this token and that were given a guardrail,
    #: in the order they were given it (``TokenSet.set_guardrail`` adds to it). It is the only way an equal
    #: TokenSet of the same token objects finds a guardrail set on a TokenSet that no instruction uses (the
    #: seed README guards ``tree_alice_talk`` and instructs with an equal ``alice_talk``).
    __slots__ = ("name", "value", "key", "desc", "guarded_sets")

    def __init__(self, value: str, key: str | None = None, desc: str | None = None) -> None:
        if not isinstance(value, str):
            raise TokenTypeError(f"Token value must be a string, got {type(value).__name__} {value!r}.")
        if value == "":
            raise TokenError("Token value cannot be an empty string; give the token a name such as Token('Cat').")
        bad = _bad_character(value)
        if bad is not None:
            raise TokenError(
                f"Invalid character {bad!r} in token value {value!r}: only letters, digits, underscores "
                f"and single-character emoji are allowed (try {_suggest(value)!r})."
            )
        if key is not None:
            _check_key(value, key)
        if desc is not None and not isinstance(desc, str):
            raise TokenTypeError(f"Token {value!r}: desc must be a string or None, got {type(desc).__name__}.")
        self.name = value
        self.value = token_value(value)
        self.key = key
        self.desc = desc
        self.guarded_sets: tuple[Any, ...] = ()

    # Numeric attributes of the file format; plain tokens have none.
    min_value: int | float | None = None
    max_value: int | float | None = None
    length: int | None = None
    user = False

    @property
    def is_number(self) -> bool:
        """True for tokens that carry a number or a list of numbers in a snippet."""
        return False

    def placeholder(self) -> str:
        """The template placeholder written right after this token's key ("" for plain tokens)."""
        return ""

    def signature(self) -> tuple[Any, ...]:
        """Everything that defines the token; two tokens with equal signatures are interchangeable."""
        return (type(self).__name__, self.value, self.key, self.desc, self.min_value, self.max_value, self.length)

    def __eq__(self, other: object) -> bool:
        """Tokens are equal when everything that defines them is (the reference compares them so too)."""
        if self is other:
            return True
        if not isinstance(other, Token):
            return NotImplemented
        return self.signature() == other.signature()

    def __hash__(self) -> int:
        # Only what cannot change once created: equal tokens share it, and a token's hash never moves.
        return hash((type(self).__name__, self.value))

    # --- the reference's public views of a token (0.8+) -----------------
    @property
    def num(self) -> int:
        """1 for a token that carries one number (NumToken), else 0."""
        return 0

    @property
    def num_list(self) -> int:
        """The length of a NumListToken's list of numbers, else 0."""
        return 0

    special: str | None = None

    @property
    def template_representation(self) -> str:
        """What the template writes after the token's key (see :meth:`placeholder`)."""
        return self.placeholder()

    def to_dict(self) -> dict[str, Any]:
        """The token as a plain dict, the reference's ``Token.to_dict()`` fields."""
        return {"value": self.value, "key": self.key, "num": self.num, "num_list": self.num_list,
                "desc": self.desc, "special": self.special, "type": self.type_name,
                "min_value": self.min_value, "max_value": self.max_value, "length": self.length}

    def __setattr__(self, attribute: str, value: Any) -> None:
        """Check every change as the constructor checks it: a token in a protocol cannot become unsavable.

        ``name``/``value`` are fixed (a renamed token would no longer match its
        snippets); ``key``, ``desc`` and the number bounds may change, each
        checked here; whether the bounds still fit each other and the samples
        is checked by ``Protocol.validate``.
        """
        owner = f"{type(self).__name__} {getattr(self, 'name', value)!r}"
        if attribute in ("name", "value") and hasattr(self, "value"):
            raise TokenError(f"{owner}: a token's {attribute} cannot change once it is created; create a new token.")
        if attribute == "key" and value is not None and not isinstance(self, SpecialToken):
            _check_key(getattr(self, "name", "?"), value)
        elif attribute == "desc" and value is not None and not isinstance(value, str):
            raise TokenTypeError(f"{owner}: desc must be a string or None, got {type(value).__name__}.")
        elif attribute in ("min_value", "max_value"):
            value = _check_number(attribute, value, owner)
        elif attribute == "length":
            if isinstance(value, bool) or not isinstance(value, int):
                raise TokenTypeError(f"{owner}: length must be an int, got {type(value).__name__} {value!r}.")
            if value <= 0:
                raise TokenError(f"{owner}: length must be a positive integer, got {value}.")
        try:
            object.__setattr__(self, attribute, value)
        except AttributeError:  # not a slot of this kind of token (e.g. min_value of a plain Token)
            raise TokenError(f"{owner} has no {attribute!r} to set; only NumToken and NumListToken carry "
                             "numbers.") from None

    def __str__(self) -> str:
        """The reference's display form: ``Token(Value: 'Cat_', Key: None, Num: False, Desc: ..., Special: None)``."""
        return (f"Token(Value: {self.value!r}, Key: {self.key!r}, Num: {bool(self.num)}, Desc: {self.desc}, "
                f"Special: {self.special})")

    def __repr__(self) -> str:
        extra = "".join(f", {k}={getattr(self, k)!r}" for k in ("key", "desc") if getattr(self, k) is not None)
        return f"{type(self).__name__}({self.name!r}{extra})"


class UserToken(Token):
    """A token that marks a line written by the user at run time (a prompt).

    The prompt line of an ExtendedInstruction must hold one, and only TokenSets
    holding one may carry a guardrail.
    """

    __slots__ = ()
    user = True
    #: Written as ``"user": true`` in model files (see :class:`ImpliedUserToken`).
    marked = True


class ImpliedUserToken(UserToken):
    """A UserToken only because a loaded file guards its line: reference files have no UserTokens, and our
    object model needs one on every guarded line. Model files do not mark it, so the file saves as it was."""

    __slots__ = ()
    marked = False


class NumToken(Token):
    """A token followed by one integer in ``[min_value, max_value]`` in each snippet.

    Used as an instruction's final, it makes the model answer with a number
    (a sample's ``value``).
    """

    type_name = TokenType.NUM
    __slots__ = ("min_value", "max_value")

    def __init__(
        self,
        value: str,
        min_value: int | float,
        max_value: int | float,
        key: str | None = None,
        desc: str | None = None,
    ) -> None:
        super().__init__(value, key=key, desc=desc)
        owner = f"NumToken {value!r}"
        self.min_value = _check_number("min_value", min_value, owner)
        self.max_value = _check_number("max_value", max_value, owner)
        if self.min_value > self.max_value:
            raise TokenError(f"{owner}: min_value ({min_value}) must be less than or equal to max_value ({max_value}).")

    @property
    def is_number(self) -> bool:
        return True

    @property
    def num(self) -> int:
        return 1

    def placeholder(self) -> str:
        return number_placeholder(self.min_value, self.max_value)


class NumListToken(Token):
    """A token followed by a list of exactly ``length`` integers in ``[min_value, max_value]``."""

    type_name = TokenType.NUM_LIST
    __slots__ = ("min_value", "max_value", "length")

    def __init__(
        self,
        value: str,
        min_value: int | float,
        max_value: int | float,
        length: int,
        key: str | None = None,
        desc: str | None = None,
    ) -> None:
        super().__init__(value, key=key, desc=desc)
        owner = f"NumListToken {value!r}"
        self.min_value = _check_number("min_value", min_value, owner)
        self.max_value = _check_number("max_value", max_value, owner)
        if self.min_value > self.max_value:
            raise TokenError(f"{owner}: min_value ({min_value}) must be less than or equal to max_value ({max_value}).")
        if isinstance(length, bool) or not isinstance(length, int):
            raise TokenTypeError(f"{owner}: length must be an int, got {type(length).__name__} {length!r}.")
        if length <= 0:
            raise TokenError(f"{owner}: length must be a positive integer, got {length}.")
        self.length = length

    @property
    def is_number(self) -> bool:
        return True

    @property
    def num_list(self) -> int:
        return self.length

    def placeholder(self) -> str:
        return number_placeholder(self.min_value, self.max_value, self.length)


class SpecialToken(Token):
    """One of the six structural tokens; value and key are the same literal, e.g. ``<BOS>``."""

    type_name = TokenType.SPECIAL
    __slots__ = ("special", "file_type")

    def __init__(self, literal: str, special: str, file_type: str) -> None:
        # Special tokens bypass the character rule: their angle brackets are the point.
        self.name = literal
        self.value = literal
        self.key = literal
        self.desc = None
        self.guarded_sets = ()
        self.special = special
        self.file_type = file_type

    def __repr__(self) -> str:
        return f"mtp.{_SPECIAL_NAMES[self.value]}"


_SPECIAL_NAMES = {BOS_STRING: "BOS", EOS_STRING: "EOS", RUN_STRING: "RUN", PAD_STRING: "PAD", UNK_STRING: "UNK",
                  NON_STRING: "NON"}

BOS = SpecialToken(BOS_STRING, "start", TokenType.SPECIAL)
EOS = SpecialToken(EOS_STRING, "end", TokenType.SPECIAL_FINAL)
RUN = SpecialToken(RUN_STRING, "infer", TokenType.SPECIAL)
PAD = SpecialToken(PAD_STRING, "pad", TokenType.SPECIAL)
UNK = SpecialToken(UNK_STRING, "unknown", TokenType.SPECIAL)
NON = SpecialToken(NON_STRING, "none", TokenType.SPECIAL_FINAL)

#: The special tokens by literal, in the order of the file format's ``tokens`` map.
SPECIAL_TOKENS: dict[str, SpecialToken] = {t.value: t for t in (BOS, EOS, NON, PAD, RUN, UNK)}


def token_key(token: Token, encrypt: bool) -> str:
    """The key a protocol gives ``token``: its custom key, else a 6-hex hash (encrypt), else its value.

    The hash is the first six hex digits of SHA-256 of the UTF-8 value, as the
    reference implementation computes it (``Cat_`` -> ``50f7dd``).
    """
    if token.key is not None:
        return token.key
    if encrypt:
        return hashlib.sha256(token.value.encode("utf-8")).hexdigest()[:6]
    return token.value


def _suggest(value: str) -> str:
    """A cleaned-up value to propose in error messages."""
    cleaned = "".join(ch if (ch == "_" or ch.isalnum() or emoji.is_emoji(ch)) else "_" for ch in value).strip("_")
    return cleaned or "Name"


class KeyMap:
    """Token keys of one protocol (custom key, else hash when encrypting, else the value)."""

    __slots__ = ("encrypt", "_cache")

    def __init__(self, encrypt: bool) -> None:
        self.encrypt = encrypt
        self._cache: dict[int, str] = {}

    def __call__(self, token: Token) -> str:
        key = self._cache.get(id(token))
        if key is None:
            key = self._cache[id(token)] = token_key(token, self.encrypt)
        return key
