"""Tokenizers whose structural strings are atomic: one special token, one key, one id.

The model must never have to spell ``<RUN>`` or ``Tree_English_Cat_Talk_``
out of pieces: each special token, token key, TokenSet key sequence and final
key is an added token. Free text and the numbers that follow number-token keys
(``Emotion_5``, ``Coordinates_[100, 200, -50]``) go through byte-level BPE,
digit by digit, so any number can be written and constrained.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable

from ..rules import SPECIALS
from ..export import chat_template
from ..authoring import BOS, EOS, NON, PAD, RUN, UNK

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerBase

__all__ = ["scratch_tokenizer", "wrap_tokenizer", "extend_tokenizer"]


def _split_out(texts: Iterable[str], strings: list[str]) -> Iterable[str]:
    """The texts cut around the structural strings, so BPE merges never span or learn them."""
    pattern = re.compile("|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)))
    for text in texts:
        for piece in pattern.split(text):
            if piece:
                yield piece


def _special_kwargs() -> dict[str, object]:
    return {
        "bos_token": BOS.key,
        "eos_token": EOS.key,
        "unk_token": UNK.key,
        "pad_token": PAD.key,
        "extra_special_tokens": [RUN.key, NON.key],
    }


def scratch_tokenizer(texts: list[str], structural: list[str], vocab_size: int) -> "PreTrainedTokenizerBase":
    """A byte-level BPE trained on the protocol's own text, with every structural string atomic."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIALS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_split_out(texts, structural), trainer)
    tok.add_tokens([AddedToken(s, normalized=False) for s in structural if s not in SPECIALS])
    return wrap_tokenizer(tok)


def wrap_tokenizer(tok: "Tokenizer") -> "PreTrainedTokenizerBase":
    """A ``tokenizers`` object as a transformers tokenizer with the MTP special-token roles and chat template."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False, **_special_kwargs())
    tokenizer.chat_template = chat_template()
    return tokenizer


def extend_tokenizer(tokenizer: "PreTrainedTokenizerBase", structural: list[str]) -> int:
    """Add the MTP special tokens and keys to a pretrained tokenizer; returns how many were new.

    The MTP tokens replace the base's bos/eos/pad/unk roles, so generation stops
    at ``<EOS>``, and the raw MTP chat template replaces the base's (its chat
    format is not what the model is trained on); the caller resizes the model's embeddings.
    """
    from tokenizers import AddedToken

    before = len(tokenizer)
    tokenizer.add_special_tokens(_special_kwargs())
    tokenizer.add_tokens([AddedToken(s, normalized=False) for s in structural if s not in SPECIALS])
    tokenizer.clean_up_tokenization_spaces = False
    tokenizer.chat_template = chat_template()
    return len(tokenizer) - before
