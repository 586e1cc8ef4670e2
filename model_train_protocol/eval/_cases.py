"""Which examples a model is evaluated on.

A model directory records the protocol it was trained on (its sha256) and the
split settings; the split is reproducible, so when the model file given to
``mtp eval`` is that protocol the held-out (validation) examples are used.
Any other model file (say, held-out paraphrases written as a protocol of their
own) is used whole: every sample and every guardrail refusal. Prompts come from
the canonical renderer, exactly as in training.

:func:`heldout_check` then asks whether the evaluation prompts are new to the
model: it compares the user's text lines of each prompt with those of the
trained protocol's training split (:func:`training_cases`, rebuilt from the
``mtp_model.json`` and manifest settings of the model directory).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..export import stratified_split
from ..errors import MTPValueError
from ..rules import RenderedExample, instruction_names, render_protocol
from ..model_dir import protocol_sha256
from ..runtime import NUM_PLACEHOLDER, STRING

if TYPE_CHECKING:
    from ..infer import InstructionSpec
    from ..authoring import Protocol

__all__ = ["EvalSet", "select_cases", "instruction_names", "training_cases", "heldout_check", "user_text",
           "normalise", "NEAR_JACCARD", "DUPLICATE_WARNING_RATE"]

#: Two user texts are near duplicates when their character 3-gram sets have at least this Jaccard similarity.
NEAR_JACCARD = 0.8
#: Above this share of (near-)duplicate prompts an evaluation set is not held out.
DUPLICATE_WARNING_RATE = 0.2
#: How the held-out check compares texts, as the report states it.
METHOD = (f"user text lines, normalised (case, whitespace and punctuation ignored); exact: equal; near: character "
          f"3-gram Jaccard >= {NEAR_JACCARD}")


@dataclass(frozen=True)
class EvalSet:
    """The examples to score and where they came from (``validation split``, ``training split``, ``all samples``)."""

    examples: list[RenderedExample]
    source: str


def select_cases(protocol: "Protocol", manifest: Mapping[str, Any], specs: Mapping[str, "InstructionSpec"],
                 split: str = "auto") -> EvalSet:
    """The examples of ``protocol`` to evaluate: ``auto`` (held-out split when it is the trained protocol, else
    all), ``val``, ``train`` or ``all``; each names the model's instruction (``specs``) it belongs to."""
    chosen = _select(protocol, manifest, split)
    names = instruction_names(protocol, specs)
    return EvalSet([replace(e, instruction=names[e.instruction]) for e in chosen.examples], chosen.source)


def _select(protocol: "Protocol", manifest: Mapping[str, Any], split: str) -> EvalSet:
    mtp = manifest.get("mtp", {}) if isinstance(manifest, Mapping) else {}
    settings = mtp.get("settings", {}) if isinstance(mtp, Mapping) else {}
    same = protocol_sha256(protocol) == mtp.get("protocol_sha256")
    if split not in ("auto", "val", "train", "all"):
        raise MTPValueError(f"split must be auto, val, train or all, got {split!r}.")
    if split == "all" or (split == "auto" and not same):
        return EvalSet(list(render_protocol(protocol, guardrails=True)), "all samples")
    if not same:
        raise MTPValueError(
            f"the {split} split exists only for the protocol the model was trained on, and this model file is a "
            "different one; use --split all."
        )
    examples = list(render_protocol(protocol, guardrails=bool(settings.get("guardrails", True))))
    train, val = stratified_split(examples, float(settings.get("val_split", 0.0)), int(settings.get("seed", 0)))
    if split == "train":
        return EvalSet(train, "training split")
    if not val:
        if split == "val":
            raise MTPValueError("the model was trained without a validation split (val_split=0); use --split all.")
        return EvalSet(train, "training split (the model has no validation split)")
    return EvalSet(val, "validation split")



def training_cases(protocol: "Protocol", manifest: Mapping[str, Any],
                   specs: Mapping[str, "InstructionSpec"]) -> EvalSet:
    """The examples the model was trained on: the training split of ``protocol`` (the model directory's
    ``mtp_model.json``) rebuilt from the manifest; every example when the split cannot be rebuilt."""
    try:
        return select_cases(protocol, manifest, specs, "train")
    except MTPValueError:
        return select_cases(protocol, manifest, specs, "all")


def normalise(text: str) -> str:
    """Lower case, punctuation dropped, whitespace runs made one space: what a paraphrase check ignores."""
    kept = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text.casefold())
    return " ".join(kept.split())


def _grams(text: str) -> frozenset[str]:
    padded = f" {text} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _prompt_pattern(spec: "InstructionSpec") -> "re.Pattern[str]":
    """The template's input lines as a regex: one group per ``<string>`` slot, numbers matched loosely."""
    parts = []
    for line in spec.input_lines:
        for i, piece in enumerate(line.split(STRING)):
            if i:
                parts.append("([^\n]*)")
            last = 0
            for m in NUM_PLACEHOLDER.finditer(piece):
                parts += [re.escape(piece[last : m.start()]), "[^\n]*?"]
                last = m.end()
            parts.append(re.escape(piece[last:]))
    return re.compile("".join(parts) + "\n")


def user_text(example: RenderedExample, spec: "InstructionSpec") -> str:
    """The lines of ``example``'s prompt the user writes (by the protocol's UserTokens; every text line when
    none is marked), joined by newlines; the whole prompt if it does not fit the template."""
    match = _prompt_pattern(spec).fullmatch(example.prompt)
    if match is None:
        return example.prompt
    texts = match.groups()
    users = spec.user_lines if any(spec.user_lines) else (True,) * len(texts)
    return "\n".join(t for t, user in zip(texts, users) if user)


def heldout_check(examples: Sequence[RenderedExample], training: Sequence[RenderedExample],
                  specs: Mapping[str, "InstructionSpec"], source: str) -> dict[str, Any]:
    """How many evaluation prompts (near-)duplicate a training prompt, and whether the set is held out.

    Each prompt's user text (:func:`user_text`, then :func:`normalise`) is an
    exact duplicate when it equals a training prompt's, a near duplicate when
    the Jaccard similarity of their character 3-gram sets is at least
    :data:`NEAR_JACCARD` (a changed letter or word, or reordered clauses; not
    the same sentence pattern about another product). ``warning`` is set when the evaluation set is the training
    split or more than :data:`DUPLICATE_WARNING_RATE` of it duplicates
    training prompts; ``note`` when a validation split shares any phrasing
    with training.
    """
    seen = {normalise(user_text(e, specs[e.instruction])) for e in training}
    by_size = sorted((len(g), g) for g in map(_grams, seen))
    exact, near, duplicates = 0, 0, []
    for index, example in enumerate(examples):
        text = normalise(user_text(example, specs[example.instruction]))
        if text in seen:
            exact += 1
            duplicates.append(index)
        elif _near(_grams(text), by_size):
            near += 1
            duplicates.append(index)
    n = len(examples)
    rate = round((exact + near) / n, 4) if n else None
    warning = note = ""
    if source.startswith("training split"):
        warning = ("the evaluation set is the training split: the model was trained on these very prompts, so the "
                   "scores say nothing about wording it has not seen.")
    elif rate is not None and rate > DUPLICATE_WARNING_RATE:
        warning = (f"the evaluation set is not held out: {exact + near} of {n} prompts ({100 * rate:.0f}%) "
                   "duplicate or nearly duplicate a training prompt; evaluate on new wording.")
    if source.startswith("validation split") and exact + near:
        note = (f"the validation split shares phrasings with training: {exact + near} of {n} prompts duplicate or "
                "nearly duplicate a training prompt.")
    return {
        "cases": n,
        "training_prompts": len(training),
        "exact_duplicates": exact,
        "near_duplicates": near,
        "duplicate_rate": rate,
        "duplicate_cases": duplicates,
        "held_out": not warning,
        "warning": warning,
        "note": note,
        "method": METHOD,
    }


def _near(grams: frozenset[str], by_size: Sequence[tuple[int, frozenset[str]]]) -> bool:
    """Whether any training gram set has Jaccard >= NEAR_JACCARD with ``grams`` (sizes outside
    [0.8 n, n / 0.8] cannot reach it and are skipped)."""
    n = len(grams)
    for size, other in by_size:
        if size < NEAR_JACCARD * n:
            continue
        if size * NEAR_JACCARD > n:
            break
        shared = len(grams & other)
        if shared >= NEAR_JACCARD * (n + size - shared):
            return True
    return False
