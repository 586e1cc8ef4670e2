"""The one text encoding training and inference share, and the tokenizer's Rust panics made file errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, TypeVar

from ..errors import MTPFileError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

T = TypeVar("T")


def native_panic(exc: BaseException) -> bool:
    """Whether ``exc`` is a Rust panic raised through pyo3 (tokenizers, safetensors): a ``BaseException``, so
    ``except Exception`` misses it. A tampered ``tokenizer.json`` (a backtracking ``Split`` regex) raises one."""
    return type(exc).__name__ == "PanicException"


def tokenizer_call(what: str, call: Callable[[], T]) -> T:
    """``call()`` on a tokenizer, its Rust panic turned into an :class:`MTPFileError` saying ``what`` failed."""
    try:
        return call()
    except BaseException as exc:
        if not native_panic(exc):
            raise
        detail = (str(exc).splitlines() or [""])[0][:200]
        raise MTPFileError(f"the tokenizer failed while {what} (tokenizers panicked: {detail}); tokenizer.json is "
                           "broken or was tampered with: train the model again or restore the file.") from None


def encode_text(tokenizer: "PreTrainedTokenizerBase", text: str) -> list[int]:
    """Token ids of rendered ``text`` exactly as written, no special token added (the text already holds
    ``<BOS>``): the one encoding that training learns from and inference prompts and drafts with."""
    return tokenizer_call(f"encoding a text of {len(text)} characters",
                          lambda: list(tokenizer(text, add_special_tokens=False)["input_ids"]))
