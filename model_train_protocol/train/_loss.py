"""The training loss, computed where it counts: only the positions that carry a label reach the output layer.

A completion is a few tokens after a longer prompt, and the output layer of a
pretrained base is large (SmolLM2: 49k rows), so projecting every prompt
position onto the vocabulary would cost as much as several transformer
blocks, for logits the loss ignores. :class:`CompletionLoss` runs the decoder,
keeps the hidden states of labelled positions and projects only those: the
same cross-entropy as the model's own ``labels=`` loss, a fraction of the work.
It is one module, so DistributedDataParallel can wrap it whole.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from ._batching import IGNORE

__all__ = ["CompletionLoss"]


class CompletionLoss(torch.nn.Module):
    """Mean next-token cross-entropy over labelled positions; ``forward(input_ids, attention_mask, labels)``."""

    def __init__(self, model: Any) -> None:
        super().__init__()
        self.model = model
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        self.decoder = base.get_decoder()
        self.head = base.get_output_embeddings()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor,
                reduction: str = "mean") -> torch.Tensor:
        hidden = self.decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
        targets = labels[:, 1:]
        keep = targets != IGNORE
        logits = self.head(hidden[:, :-1][keep])
        return F.cross_entropy(logits.float(), targets[keep], reduction=reduction)
