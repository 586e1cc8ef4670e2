"""The reference's ``model_train_protocol.utils._protected.validate_string_subset`` (compat layer).

The reference's own tests import this private path at module level; it is the substring rule of
:func:`model_train_protocol.rules.substring_pairs`, raising at the first pair found.
"""

from __future__ import annotations

from typing import Iterable

from ..errors import TokenError
from ..rules import substring_pairs

__all__ = ["validate_string_subset"]


def validate_string_subset(strings: Iterable[str]) -> None:
    """Raise :class:`TokenError` if one string is a substring of another (letters, digits and emoji, any case)."""
    pairs = [(inner, outer) for inner, outer in substring_pairs(set(strings)) if inner != outer]
    if pairs:
        inner, outer = pairs[0]
        raise TokenError(f"{inner!r} is a substring of {outer!r}; rename one of them so that neither contains "
                         "the other (letters, digits and emoji are compared, case ignored).")
