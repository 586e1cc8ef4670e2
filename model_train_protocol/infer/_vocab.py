"""What each token of a tokenizer may be used for in an answer.

Computed once per model: the text of every token id, which ids may appear in
the free-text line (no newline, no structural token), and the ids of the
newline and of each structural key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import torch

from ..errors import MTPValueError
from ..model_dir import encode_text, tokenizer_call

__all__ = ["Vocab"]


@dataclass
class Vocab:
    """Token-level facts of one tokenizer, sized to the model's output layer."""

    tokenizer: Any
    size: int
    pieces: list[str]
    text_mask: torch.Tensor  # bool[size]: allowed inside the text line
    newline: int
    #: Finds a structural string (special token or key: an added token) in a text; user text may hold none.
    structural: "re.Pattern[str] | None" = None

    @classmethod
    def build(cls, tokenizer: Any, model_vocab_size: int | None = None) -> "Vocab":
        size = max(len(tokenizer), model_vocab_size or 0)
        pieces = tokenizer_call("decoding its vocabulary", lambda: tokenizer.batch_decode(
            [[i] for i in range(len(tokenizer))], skip_special_tokens=False, clean_up_tokenization_spaces=False))
        pieces += [""] * (size - len(pieces))
        structural = set(getattr(tokenizer, "all_special_ids", ())) | set(tokenizer.get_added_vocab().values())
        allowed = [
            i < len(tokenizer) and i not in structural and piece != "" and "\n" not in piece
            for i, piece in enumerate(pieces)
        ]
        newline = encode_text(tokenizer, "\n")
        if len(newline) != 1:
            raise MTPValueError("the tokenizer has no single token for a newline; it cannot write MTP answers.")
        texts = sorted(set(tokenizer.get_added_vocab()) | set(getattr(tokenizer, "all_special_tokens", ())),
                       key=len, reverse=True)
        structural = re.compile("|".join(map(re.escape, texts))) if texts else None
        return cls(tokenizer, size, pieces, torch.tensor(allowed, dtype=torch.bool), newline[0], structural)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without any special token added around it, as training encoded it."""
        return encode_text(self.tokenizer, text)

    def decode(self, ids: list[int]) -> str:
        return tokenizer_call("decoding an answer", lambda: self.tokenizer.decode(
            ids, skip_special_tokens=False, clean_up_tokenization_spaces=False))
