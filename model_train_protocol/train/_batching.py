"""Token ids, loss masks and padded batches.

The loss covers only what the model must produce: the completion (response,
final key, ``<EOS>``). Prompt positions are labelled -100, the value PyTorch's
cross-entropy ignores. Prompt and completion are encoded separately, exactly as
inference encodes a prompt and then generates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterator, Sequence

from ..errors import MTPValueError
from ..rules import RenderedExample
from ..model_dir import encode_text as encode

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "IGNORE", "Encoded", "encode_example", "encode_text", "encode_all", "collate",
    "epoch_order", "step_batch", "steps_per_epoch", "shards",
]

#: Label of positions that carry no loss.
IGNORE = -100


@dataclass(frozen=True)
class Encoded:
    """One training sequence: its ids and, aligned with them, its labels (IGNORE on the prompt)."""

    input_ids: tuple[int, ...]
    labels: tuple[int, ...]


def encode_example(tokenizer: "PreTrainedTokenizerBase", example: RenderedExample) -> Encoded:
    """Prompt ids (no loss) followed by completion ids (loss)."""
    prompt = encode(tokenizer, example.prompt)
    completion = encode(tokenizer, example.completion)
    return Encoded(tuple(prompt + completion), tuple([IGNORE] * len(prompt) + completion))


def encode_text(tokenizer: "PreTrainedTokenizerBase", text: str) -> Encoded:
    """Background text: every token carries loss."""
    ids = encode(tokenizer, text)
    return Encoded(tuple(ids), tuple(ids))


def encode_all(
    tokenizer: "PreTrainedTokenizerBase", examples: Sequence[RenderedExample], texts: Sequence[str], max_length: int
) -> list[Encoded]:
    """Encode examples and texts; an example longer than ``max_length`` is an error (never silently cut)."""
    out = [encode_example(tokenizer, ex) for ex in examples] + [encode_text(tokenizer, t) for t in texts]
    for item, source in zip(out, [f"{ex.instruction} example {ex.index}" for ex in examples] + ["a context line"] * len(texts)):
        if len(item.input_ids) > max_length:
            raise MTPValueError(
                f"{source} is {len(item.input_ids)} tokens long, more than max_length={max_length}; "
                "raise --max-length or shorten the sample."
            )
    return out


def collate(items: Sequence[Encoded], pad_id: int) -> dict[str, "torch.Tensor"]:
    """Right-padded tensors: input_ids, attention_mask, labels (IGNORE on padding)."""
    import torch

    width = max(len(it.input_ids) for it in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    for row, it in enumerate(items):
        n = len(it.input_ids)
        ids[row, :n] = torch.tensor(it.input_ids)
        labels[row, :n] = torch.tensor(it.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The example order of one epoch: a shuffle that depends only on (seed, epoch), so resume replays it."""
    order = list(range(n))
    random.Random(f"{seed}:{epoch}").shuffle(order)
    return order


def step_batch(n: int, batch_size: int, world: int, rank: int, seed: int, step: int) -> list[int]:
    """The indices this rank trains on at global ``step``.

    An epoch is ``ceil(n / (batch_size * world))`` steps; the last global batch
    of an epoch wraps to the epoch's start so every rank always gets
    ``batch_size`` examples (DDP needs every rank to take part in every step).
    """
    global_batch = batch_size * world
    per_epoch = steps_per_epoch(n, batch_size, world)
    epoch, index = divmod(step, per_epoch)
    order = epoch_order(n, seed, epoch)
    start = index * global_batch
    chosen = [order[(start + i) % n] for i in range(global_batch)]
    return chosen[rank::world]


def steps_per_epoch(n: int, batch_size: int, world: int) -> int:
    return max(1, -(-n // (batch_size * world)))


def shards(n: int, world: int, rank: int) -> Iterator[int]:
    """This rank's share of ``range(n)`` (for validation)."""
    return iter(range(rank, n, world))
