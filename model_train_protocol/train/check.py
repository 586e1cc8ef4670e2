"""A quick greedy-decoding check after training: does the model end each prompt with the right final?

This is not the inference engine (that is ``mtp run``): it decodes without
constraints and compares the generated text with the canonical renderer's
completion, so it measures what the weights alone have learned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from ..render import RenderedExample, render_completion
from .tokenizer import encode

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = ["greedy_completion", "greedy_check", "spread"]


def greedy_completion(
    model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", prompt: str, max_new_tokens: int
) -> str:
    """The model's greedy continuation of a rendered prompt, up to and including ``<EOS>``."""
    import torch

    device = next(model.parameters()).device
    ids = torch.tensor([encode(tokenizer, prompt)], device=device)
    with torch.no_grad():
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        )
    return tokenizer.decode(out[0, ids.shape[1]:].tolist(), skip_special_tokens=False)


def spread(examples: Sequence[RenderedExample], limit: int) -> list[RenderedExample]:
    """At most ``limit`` examples, evenly spaced, so every instruction is represented."""
    if len(examples) <= limit:
        return list(examples)
    return [examples[i * len(examples) // limit] for i in range(limit)]


def greedy_check(
    model: "PreTrainedModel", tokenizer: "PreTrainedTokenizerBase", examples: Sequence[RenderedExample]
) -> dict[str, Any]:
    """Final accuracy on samples, refusal rate on guardrail examples, exact completions, and misses."""
    finals = refusals = exact = samples = guards = 0
    misses: list[dict[str, str]] = []
    for ex in examples:
        budget = 2 * len(encode(tokenizer, ex.completion)) + 16
        got = greedy_completion(model, tokenizer, ex.prompt, budget)
        right_final = got.endswith(render_completion("", ex.final_line))  # a numeric final's value too
        exact += got == ex.completion
        if ex.guardrail:
            guards += 1
            refusals += right_final
        else:
            samples += 1
            finals += right_final
        if not right_final:
            misses.append({"instruction": ex.instruction, "expected": ex.final_line, "got": got[-80:]})
    return {
        "examples": len(examples),
        "final_accuracy": finals / samples if samples else None,
        "refusal_rate": refusals / guards if guards else None,
        "exact_match": exact / len(examples) if examples else None,
        "misses": misses[:20],
    }
