"""Fit the intent head: the sentence encoder, fine-tuned on the protocol's own lines, learns which final each line asks for.

A protocol built from a few sentence patterns per final teaches a language
model its patterns: new wording of the same request lands on whichever final
shares its words (docs/quality.md). A sentence encoder pretrained on a billion
sentence pairs already places paraphrases together; fine-tuned contrastively on
the protocol's lines (SetFit's method: lines of one final pulled together, of
different finals pushed apart; the guardrail's samples are a class of their
own) and read by a logistic-regression head, it decides the final of new
wording far better than the language model does, in seconds on a CPU. The
fine-tuned blocks are then averaged with the pretrained ones (WiSE-FT), which
keeps off-topic lines apart as the pretrained encoder did. The recipe (steps,
learning rate, temperature, batch, the averaging, the refusal rule's constants)
was chosen on tuning data only: CLINC150's ``val`` queries and the NPC
benchmark's tuning sets (bench/quality.py, docs/quality.md).

Only the transformer blocks are trained (the word embeddings stay as shipped),
so a model directory stores those blocks (``intent/encoder.safetensors``) and
the heads (``intent/heads.safetensors``); :mod:`..infer._intent` loads them. An
encoder the user brought (``TrainConfig.encoder``) is not installed where the
model runs, so it is stored whole instead (``intent/encoder/``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import MTPValueError
from ..rules import HeadSource, head_sources, intent_heads
from ..infer import (ENCODER_FILE, ENCODER_FOLDER, HEADS_FILE, INTENT_DIR, IntentHeads, pooled, trainable_names,
                     trainable_state)
from ..runtime import ENCODER_NAME, REFUSE_CLASS

if TYPE_CHECKING:
    import torch

    from ..infer import SentenceEncoder
    from ..authoring import Protocol

__all__ = ["IntentRecipe", "FittedIntent", "fit_intent"]


@dataclass(frozen=True)
class IntentRecipe:
    """How the encoder is fine-tuned (chosen on tuning data, docs/quality.md)."""

    steps: int = 60
    lr: float = 3e-5
    temperature: float = 0.05
    batch: int = 32
    weight_decay: float = 0.01
    #: the blocks kept after fine-tuning: this share of the fine-tuned weights, the rest the pretrained ones
    #: (weight-space ensembling, WiSE-FT, Wortsman et al. 2022): the pretrained space sets off-topic lines apart,
    #: which a fine-tune on a few classes blurs; 1.0 keeps the fine-tune whole
    interpolation: float = 0.75
    #: strength of the head's L2 penalty and the scale of its cosine logits
    head_l2: float = 1e-3
    head_scale: float = 10.0
    #: added to the refusal class's logit: that class is learnt from a guardrail's few lines, and as fitted it
    #: refuses more in-scope lines than the similarity rule below needs to
    refuse_offset: float = -0.5
    #: the similarity refusal in the head's (fine-tuned, averaged) space: the threshold weighs how near each
    #: training line's nearest other line is (``near_quantile`` of them) against how near the guardrail's samples
    #: are (their median); training lines at least ``copy_similarity`` similar to a line count as its copies and
    #: are left out (None: none is; earlier releases used 0.7, without the averaging above, docs/quality.md)
    copy_similarity: float | None = None
    near_quantile: float = 0.05
    near_weight: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.interpolation <= 1.0:
            raise MTPValueError(f"IntentRecipe: interpolation must be between 0 and 1 (the fine-tune's share of the "
                                f"encoder's blocks), not {self.interpolation}.")


def _batches(rng: random.Random, by_class: dict[str, list[str]], batch: int) -> tuple[list[str], list[int]]:
    """One stratified batch: as many classes as fit, ``batch // classes`` (at least two) lines of each."""
    classes = sorted(by_class)
    per_class = max(2, batch // max(1, len(classes)))
    chosen = rng.sample(classes, min(len(classes), max(1, batch // per_class)))
    texts, labels = [], []
    for c in chosen:
        pool = by_class[c]
        for text in rng.sample(pool, min(per_class, len(pool))):
            texts.append(text)
            labels.append(classes.index(c))
    return texts, labels


def _contrastive_loss(z: "torch.Tensor", labels: list[int], temperature: float) -> "torch.Tensor":
    """Supervised contrastive loss (Khosla et al. 2020): each line's neighbours of its own class, against the rest."""
    import torch

    lab = torch.tensor(labels)
    eye = torch.eye(len(labels), dtype=torch.bool)
    logits = (z @ z.T / temperature).masked_fill(eye, -1e9)
    positive = (lab[:, None] == lab[None, :]) & ~eye
    has = positive.sum(1) > 0
    log_p = logits.log_softmax(1)
    per_line = -(log_p * positive).sum(1) / positive.sum(1).clamp(min=1)
    return per_line[has].mean() if bool(has.any()) else z.sum() * 0.0


def _finetune(encoder: "SentenceEncoder", sources: list[HeadSource], recipe: IntentRecipe, seed: int) -> None:
    """Contrastive fine-tuning of the encoder's blocks on every head's lines (classes kept apart per instruction),
    then averaged with their pretrained weights by the recipe's ``interpolation``."""
    import torch

    by_class: dict[str, list[str]] = {}
    for source in sources:
        for text, label in source.examples():
            by_class.setdefault(f"{source.instruction}\x00{label}", []).append(text)
    if len(by_class) < 2:
        return
    rng = random.Random(seed)
    torch.manual_seed(seed)
    trained = trainable_names(encoder.model)
    params = [p for name, p in encoder.model.named_parameters() if name in trained]
    for name, p in encoder.model.named_parameters():
        p.requires_grad_(name in trained)
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    # the pretrained blocks, kept only where the recipe averages with them (a copy of the encoder's size)
    pretrained = [p.detach().clone() for p in params] if recipe.interpolation < 1.0 else []
    encoder.model.train()
    try:
        for _ in range(recipe.steps):
            texts, labels = _batches(rng, by_class, recipe.batch)
            loss = _contrastive_loss(pooled(encoder, texts), labels, recipe.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    finally:
        encoder.model.eval()
        for p in encoder.model.parameters():
            p.requires_grad_(False)
    with torch.no_grad():
        for p, start in zip(params, pretrained):
            p.lerp_(start, 1.0 - recipe.interpolation)


def _fit_head(x: "torch.Tensor", y: "torch.Tensor", classes: int, recipe: IntentRecipe) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Multinomial logistic regression on unit vectors (L-BFGS, deterministic): weight (dim x classes), bias."""
    import torch

    weight = torch.zeros(x.shape[1], classes, requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=300, line_search_fn="strong_wolfe")

    def closure() -> "torch.Tensor":
        optimizer.zero_grad()
        loss = (torch.nn.functional.cross_entropy(x @ weight * recipe.head_scale + bias, y)
                + recipe.head_l2 * (weight ** 2).sum())
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach() * recipe.head_scale, bias.detach()


@dataclass
class FittedIntent:
    """A fitted intent head: the manifest section, the encoder it fine-tuned, the head tensors."""

    section: dict[str, Any]
    encoder: "SentenceEncoder"
    tensors: dict[str, "torch.Tensor"]
    #: the encoder is the user's, not the shipped one: stored whole, tokenizer included
    whole: bool = False

    def write(self, folder: Path) -> None:
        """``folder/intent/``: the encoder's trained blocks (or the whole encoder) and the heads (safetensors)."""
        from safetensors.torch import save_file

        target = folder / INTENT_DIR
        target.mkdir(parents=True, exist_ok=True)
        if self.whole:
            self.encoder.model.save_pretrained(target / ENCODER_FOLDER)
            self.encoder.tokenizer.save_pretrained(target / ENCODER_FOLDER)
        else:
            save_file({k: v.contiguous() for k, v in trainable_state(self.encoder.model).items()},
                      str(target / ENCODER_FILE))
        save_file(self.tensors, str(target / HEADS_FILE))

    def heads(self, protocol: "Protocol") -> IntentHeads:
        """The runtime heads, in memory (what ``Model.load`` builds from the written files)."""
        return IntentHeads.build(self.encoder, intent_heads(self.section, protocol), self.tensors)


def _min_similarity(lines: "torch.Tensor", guard: "torch.Tensor", recipe: IntentRecipe) -> float | None:
    """The similarity below which a guarded line is refused, from the protocol alone.

    What a new in-scope wording looks like: each training line's nearest other
    line (leaving out its copies when the recipe names a copy similarity); what
    off-topic looks like: the guardrail's samples. Chosen on tuning data
    (docs/quality.md).
    """
    import torch

    if not len(guard) or len(lines) < 2:
        return None
    sims = lines @ lines.T
    sims.fill_diagonal_(-1.0)
    if recipe.copy_similarity is not None:
        sims[sims >= recipe.copy_similarity] = -1.0
    nearest = sims.max(dim=1).values
    nearest = nearest[nearest > -1.0]
    if not len(nearest):
        return None
    off_topic = (guard @ lines.T).max(dim=1).values
    value = (recipe.near_weight * torch.quantile(nearest, recipe.near_quantile)
             + (1 - recipe.near_weight) * torch.quantile(off_topic, 0.5))
    return round(float(value), 6)


def fit_intent(protocol: "Protocol", encoder: "SentenceEncoder", recipe: IntentRecipe | None = None,
               seed: int = 0, brought: str | None = None) -> FittedIntent | None:
    """Fine-tune ``encoder`` (in place) on the protocol and fit one head per instruction.

    ``brought`` names an encoder the user gave instead of the shipped one (stored whole). None when no
    instruction has a head (none chooses among two or more named finals or states).
    """
    import torch

    recipe = recipe or IntentRecipe()
    sources = head_sources(protocol)
    if not sources:
        return None
    _finetune(encoder, sources, recipe, seed)
    tensors: dict[str, torch.Tensor] = {}
    heads = []
    with torch.no_grad():
        for index, source in enumerate(sources):
            classes = [*source.classes, REFUSE_CLASS] if source.guard else list(source.classes)
            texts = [t for t, _ in source.examples()] + list(source.guard)
            labels = [classes.index(c) for _, c in source.examples()] + [len(classes) - 1] * len(source.guard)
            vectors = pooled(encoder, texts)
            weight, bias = _fit_head(vectors, torch.tensor(labels), len(classes), recipe)
            if source.guard:
                bias[-1] += recipe.refuse_offset
            tensors[f"{index}.weight"] = weight.contiguous()
            tensors[f"{index}.bias"] = bias.contiguous()
            lines = pooled(encoder, list(source.texts)).contiguous()
            tensors[f"{index}.lines"] = lines
            heads.append({"instruction": source.instruction, "position": source.position, "line": source.line,
                          "classes": classes, "samples": len(source.texts),
                          "min_similarity": _min_similarity(lines, pooled(encoder, list(source.guard)), recipe)})
    section = {"encoder": brought or ENCODER_NAME, "heads": heads,
               "recipe": {"steps": recipe.steps, "lr": recipe.lr, "temperature": recipe.temperature,
                          "batch": recipe.batch, "seed": seed, "interpolation": recipe.interpolation,
                          "refuse_offset": recipe.refuse_offset, "copy_similarity": recipe.copy_similarity,
                          "near_quantile": recipe.near_quantile, "near_weight": recipe.near_weight},
               "refusal": "the refusal class wins, or the line's similarity to the nearest training line is below "
                          "min_similarity"}
    return FittedIntent(section, encoder, tensors, whole=brought is not None)
