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

from ..render import tokenset_keys
from ..tokens import BOS, EOS, NON, PAD, RUN, UNK

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerBase

    from ..protocol import Protocol

__all__ = ["SPECIALS", "structural_strings", "scratch_tokenizer", "wrap_tokenizer", "extend_tokenizer", "encode"]

#: The six special tokens, in a fixed order (their ids in a scratch tokenizer are 0..5).
SPECIALS: tuple[str, ...] = (BOS.key, EOS.key, RUN.key, PAD.key, UNK.key, NON.key)


def structural_strings(protocol: "Protocol") -> list[str]:
    """Every key the model reads or writes as a unit: token keys, TokenSet key sequences, final keys.

    The special tokens come first; order is stable (first use), duplicates dropped.
    """
    keys = protocol.key_map()
    found: dict[str, None] = dict.fromkeys(SPECIALS)
    for instruction in protocol.instructions:
        sets = list(instruction.context)
        if instruction.kind == "basic":
            sets.append(instruction.response)  # type: ignore[attr-defined]
        for ts in sets:
            found.setdefault(tokenset_keys(ts, keys))
            for token in ts.tokens:
                found.setdefault(keys(token))
        for final in instruction.finals:
            found.setdefault(keys(final))
    return list(found)


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
    """A ``tokenizers`` object as a transformers tokenizer with the MTP special-token roles."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, clean_up_tokenization_spaces=False, **_special_kwargs())


def extend_tokenizer(tokenizer: "PreTrainedTokenizerBase", structural: list[str]) -> int:
    """Add the MTP special tokens and keys to a pretrained tokenizer; returns how many were new.

    The MTP tokens replace the base's bos/eos/pad/unk roles, so generation stops
    at ``<EOS>``; the caller resizes the model's embeddings.
    """
    from tokenizers import AddedToken

    before = len(tokenizer)
    tokenizer.add_special_tokens(_special_kwargs())
    tokenizer.add_tokens([AddedToken(s, normalized=False) for s in structural if s not in SPECIALS])
    tokenizer.clean_up_tokenization_spaces = False
    return len(tokenizer) - before


def encode(tokenizer: "PreTrainedTokenizerBase", text: str) -> list[int]:
    """Token ids of ``text`` exactly as written: the rendered text already holds ``<BOS>``."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])
