"""TokenSets (the shape of one line) and Snippets (one example line of that shape)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..errors import TokenSetError, TokenSetTypeError, GuardrailError, GuardrailTypeError
from ._tokens import NumListToken, NumToken, SpecialToken, Token

if TYPE_CHECKING:
    from ._guardrail import Guardrail

__all__ = ["TokenSet", "Snippet"]


@dataclass(frozen=True, slots=True)
class Snippet:
    """One example line: the text plus the numbers its TokenSet's number tokens carry.

    ``numbers`` holds one integer per NumToken and ``number_lists`` one list per
    NumListToken, both in token order.
    """

    string: str
    tokenset: "TokenSet"
    numbers: tuple[int, ...] = ()
    number_lists: tuple[tuple[int, ...], ...] = ()
    #: True when made by :meth:`TokenSet.create_snippet`, which checked the numbers; others are checked on use.
    checked: bool = field(default=False, repr=False, compare=False)

    @property
    def token_set_key(self) -> str:
        """The value-key of the TokenSet this snippet was made on."""
        return self.tokenset.value_key


class TokenSet:
    """An ordered group of tokens that labels one line of an instruction.

    Order matters: ``TokenSet((cat, talk))`` and ``TokenSet((talk, cat))`` are
    different lines to the model.
    """

    __slots__ = ("tokens", "guardrail", "value_key", "_plain", "__weakref__")

    def __init__(self, tokens: Token | Iterable[Token]) -> None:
        if isinstance(tokens, Token):
            tokens = (tokens,)
        if isinstance(tokens, (str, bytes)) or not isinstance(tokens, Iterable):
            raise TokenSetTypeError(
                f"TokenSet tokens must be a sequence of Tokens, got {type(tokens).__name__}; "
                "write TokenSet(tokens=(tree, cat, talk))."
            )
        items = tuple(tokens)
        if not items:
            raise TokenSetError("A TokenSet needs at least one token.")
        for i, token in enumerate(items):
            if not isinstance(token, Token):
                raise TokenSetTypeError(
                    f"TokenSet item {i} is {type(token).__name__} {token!r}, not a Token; create it with mtp.Token(...)."
                )
            if isinstance(token, SpecialToken):
                raise TokenSetError(f"TokenSet item {i} is the special token {token.value}; special tokens are added automatically.")
        seen: set[int] = set()
        for token in items:
            if id(token) in seen:
                raise TokenSetError(f"Token {token.value} appears twice in one TokenSet; use each token once per set.")
            seen.add(id(token))
        self.tokens: tuple[Token, ...] = items
        self.guardrail: Guardrail | None = None
        self.value_key = "".join(t.value for t in items)
        self._plain = not any(isinstance(t, (NumToken, NumListToken)) for t in items)  # create_snippet fast path

    @property
    def effective_guardrail(self) -> "Guardrail | None":
        """This set's guardrail, else the one set on another TokenSet of the very same token objects.

        Such sets are one line to the model: the seed README guards
        ``tree_alice_talk`` and builds its instruction with an equal
        ``alice_talk``. When equal sets were given different guardrails, only
        their own guardrails count here (``Protocol.validate`` reports the
        disagreement).
        """
        if self.guardrail is not None:
            return self.guardrail
        line = line_guardrails(self)
        return line[0] if len(line) == 1 else None

    @property
    def has_user(self) -> bool:
        """True when a UserToken marks this line as written by the user."""
        return any(t.user for t in self.tokens)

    @property
    def num_tokens(self) -> tuple[NumToken, ...]:
        return tuple(t for t in self.tokens if isinstance(t, NumToken))

    @property
    def num_list_tokens(self) -> tuple[NumListToken, ...]:
        return tuple(t for t in self.tokens if isinstance(t, NumListToken))

    def create_snippet(
        self,
        string: str,
        numbers: int | Sequence[int] | None = None,
        number_lists: Sequence[int] | Sequence[Sequence[int]] | None = None,
    ) -> Snippet:
        """An example line for this TokenSet; numbers are checked against each number token's range."""
        if (self._plain and type(string) is str and (numbers is None or (type(numbers) is list and not numbers))
                and (number_lists is None or (type(number_lists) is list and not number_lists))):
            return Snippet(string, self, (), (), True)  # the common case, checked in one line (bench/: a million samples)
        if not isinstance(string, str):
            raise TokenSetTypeError(f"Snippet string must be a str, got {type(string).__name__} {string!r}.")
        nums = _as_int_list(numbers, self, "numbers")
        lists = _as_list_of_lists(number_lists, self)
        num_tokens, list_tokens = self.num_tokens, self.num_list_tokens
        if len(nums) != len(num_tokens):
            raise TokenSetError(
                f"{self!r} has {len(num_tokens)} NumToken(s) and needs {len(num_tokens)} number(s), "
                f"but {len(nums)} were given; pass numbers=[...] with one integer per NumToken in token order."
            )
        for i, (n, tok) in enumerate(zip(nums, num_tokens)):
            if not tok.min_value <= n <= tok.max_value:
                raise TokenSetError(
                    f"Number {n} at index {i} is out of range for {tok.value}: must be between "
                    f"{tok.min_value} and {tok.max_value}."
                )
        if len(lists) != len(list_tokens):
            raise TokenSetError(
                f"{self!r} has {len(list_tokens)} NumListToken(s) and needs {len(list_tokens)} number list(s), "
                f"but {len(lists)} were given; pass number_lists=[[...], ...] with one list per NumListToken."
            )
        for i, (values, tok) in enumerate(zip(lists, list_tokens)):
            if len(values) != tok.length:
                raise TokenSetError(
                    f"Number list at index {i} for {tok.value} must hold exactly {tok.length} numbers, not {len(values)}."
                )
            for n in values:
                if not tok.min_value <= n <= tok.max_value:
                    raise TokenSetError(
                        f"Number {n} in number list {i} is out of range for {tok.value}: must be between "
                        f"{tok.min_value} and {tok.max_value}."
                    )
        return Snippet(string, self, tuple(nums), tuple(tuple(v) for v in lists), checked=True)

    def set_guardrail(self, guardrail: "Guardrail") -> None:
        """Guard this user line: off-topic prompts here get the guardrail's ``bad_output``.

        A TokenSet holds at most one guardrail; one guardrail may guard many TokenSets.
        """
        from ._guardrail import Guardrail

        if not isinstance(guardrail, Guardrail):
            raise GuardrailTypeError(f"set_guardrail needs an mtp.Guardrail, got {type(guardrail).__name__}.")
        if not self.has_user:
            raise GuardrailError(
                f"{self!r} holds no UserToken, so no user prompt can reach it; guardrails go on TokenSets "
                "that include an mtp.UserToken."
            )
        if self.guardrail is not None and self.guardrail is not guardrail:
            raise GuardrailError(f"{self!r} already has a guardrail; a TokenSet can have at most one.")
        self.guardrail = guardrail
        first = self.tokens[0]
        if not any(other is self for other in first.guarded_sets):
            first.guarded_sets = (*first.guarded_sets, self)

    @property
    def key(self) -> str:
        """The reference's name for :attr:`value_key`: its tokens' values in order (what a snippet records)."""
        return self.value_key

    def __eq__(self, other: object) -> bool:
        """Equal tokens in the same order are the same line to the model (as in the reference)."""
        if self is other:
            return True
        if not isinstance(other, TokenSet):
            return NotImplemented
        return self.tokens == other.tokens

    def __hash__(self) -> int:
        return hash(self.value_key)

    def __repr__(self) -> str:
        return f"TokenSet([{', '.join(t.name for t in self.tokens)}])"


def line_guardrails(ts: TokenSet) -> tuple["Guardrail", ...]:
    """The distinct guardrails that TokenSets of the very token objects of ``ts`` carry, in the order they were set.

    Computed on each call from the guarded sets of the line's first token,
    compared token by token by identity (equal values of other token objects
    are another protocol's line). A set whose ``guardrail`` was cleared no
    longer counts.
    """
    found: list[Guardrail] = []
    for other in ts.tokens[0].guarded_sets:
        same_line = len(other.tokens) == len(ts.tokens) and all(a is b for a, b in zip(other.tokens, ts.tokens))
        if same_line and other.guardrail is not None and not any(g is other.guardrail for g in found):
            found.append(other.guardrail)
    return tuple(found)


def _as_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and not math.isfinite(value):
            raise TokenSetTypeError(f"{where} must be integers, got the float {value!r}.")
        if isinstance(value, float):
            raise TokenSetTypeError(
                f"{where} must be integers, got the float {value!r}; MTP files store snippet numbers as integers "
                f"(round it, e.g. {round(value)})."
            )
        raise TokenSetTypeError(f"{where} must be integers, got {type(value).__name__} {value!r}.")
    return value


def _as_int_list(numbers: Any, ts: TokenSet, name: str) -> list[int]:
    if numbers is None:
        return []
    if isinstance(numbers, (int, float)) and not isinstance(numbers, bool):
        return [_as_int(numbers, f"{ts!r} {name}")]
    if isinstance(numbers, (str, bytes)) or not isinstance(numbers, Iterable):
        raise TokenSetTypeError(f"{ts!r} {name} must be an int, a list of ints or None, got {type(numbers).__name__}.")
    return [_as_int(n, f"{ts!r} {name}") for n in numbers]


def _as_list_of_lists(number_lists: Any, ts: TokenSet) -> list[list[int]]:
    if number_lists is None:
        return []
    if isinstance(number_lists, (str, bytes)) or not isinstance(number_lists, Iterable):
        raise TokenSetTypeError(
            f"{ts!r} number_lists must be a list of int lists or None, got {type(number_lists).__name__}."
        )
    items = list(number_lists)
    if items and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in items):
        items = [items]  # one flat list is the list for the only NumListToken
    return [_as_int_list(x, ts, "number_lists") if not isinstance(x, (int, float)) else _bad_list(ts) for x in items]


def _bad_list(ts: TokenSet) -> list[int]:
    raise TokenSetTypeError(f"{ts!r} number_lists must be a list of int lists, e.g. number_lists=[[1, 2, 3]].")
