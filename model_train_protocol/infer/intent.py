"""The intent head: which final (or state) a prompt's user line asks for, decided by a fine-tuned sentence encoder.

Training (:mod:`..train.intent`) fine-tunes the sentence encoder on the
protocol's lines and fits one logistic-regression head per instruction; this
module holds what both sides share (which instructions get a head, which line
it reads, the pooling) and the runtime half: :class:`IntentHeads` loads
``intent/`` from a model directory and :meth:`IntentHeads.decide` answers with
the final's name and every class's probability.

How :class:`~.model.Model` uses the decision: the answer is the head's final
with the answer text of the training sample whose line is nearest to the
prompt's among that final's samples (so text and final always agree), and the
language model is not run (a state machine or multi-classifier answers the
decided state or label line). A guarded line's head refuses (``refused_by="intent"``) when
the class of the guardrail's samples (``<refuse>``) wins, or when the line is
less similar than the head's ``min_similarity`` to every training line in the
fine-tuned space (the rule is in :mod:`..train.intent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

from ..errors import MTPFileError
from ..instructions import instruction_guardrails
from ..tokens import NumToken

if TYPE_CHECKING:
    import torch

    from ..protocol import Protocol
    from .similarity import SentenceEncoder

__all__ = ["INTENT_DIR", "ENCODER_FILE", "HEADS_FILE", "REFUSE_CLASS", "HeadSource", "head_sources", "IntentHeads",
           "Decision", "pooled", "trainable_names", "trainable_state"]

INTENT_DIR = "intent"
ENCODER_FILE = "encoder.safetensors"
HEADS_FILE = "heads.safetensors"
#: The head's class of the guardrail's samples: a prompt it wins is refused.
REFUSE_CLASS = "<refuse>"
#: Longest line the encoder reads, in its tokens (player lines are far shorter).
_MAX_TOKENS = 64


@dataclass(frozen=True)
class HeadSource:
    """One instruction's head: the line it reads, each sample's text and class, descriptions and guardrail lines."""

    instruction: str
    #: the instruction's index in the protocol (0.3.2 model files store no instruction names)
    position: int
    line: int
    texts: tuple[str, ...]
    labels: tuple[str, ...]
    #: (text, class) pairs the protocol's author wrote about the classes: the final tokens' descriptions
    described: tuple[tuple[str, str], ...]
    guard: tuple[str, ...]
    #: each sample's answer text, in sample order (what a decision overriding the model answers with)
    replies: tuple[str, ...]

    @property
    def classes(self) -> list[str]:
        return sorted(set(self.labels))

    def examples(self) -> Iterator[tuple[str, str]]:
        """The head's training lines: every sample's, then the descriptions."""
        yield from zip(self.texts, self.labels)
        yield from self.described


def _read_line(samples: Sequence[Any], guarded: list[int]) -> int | None:
    """The line a head reads: the guarded one (the user's), else the input line with the most distinct texts."""
    if guarded:
        return guarded[-1]
    widths = [len({s.inputs[i].string for s in samples}) for i in range(len(samples[0].inputs))] if samples else []
    best = max(range(len(widths)), key=lambda i: (widths[i], i), default=None)
    return best if best is not None and widths[best] > 1 else None


def head_sources(protocol: "Protocol") -> list[HeadSource]:
    """Every instruction that chooses among two or more named finals, states or label lines, with what its head
    learns from.

    Numeric finals (the model writes a number) get no head: their answers are
    the language model's alone. A multi-classifier's classes are the label
    lines its samples answer (one value per label each), so its head answers
    only combinations the protocol shows.
    """
    gmap = protocol.guardrail_map()
    found = []
    for position, instruction in enumerate(protocol.instructions):
        samples = list(instruction.samples)
        if not samples or getattr(instruction, "prompt", None):
            continue
        choice = instruction.model_type in ("state_machine", "multi_classifier")
        if not choice and any(isinstance(s.final, NumToken) for s in samples):
            continue
        guards = instruction_guardrails(instruction, gmap)
        line = _read_line(samples, [i for i, _ in guards])
        if line is None:
            continue
        answers = tuple(instruction.answer(s) for s in samples)  # the lines the model learns (labels in map order)
        labels = answers if choice else tuple(s.final.name for s in samples)
        if len(set(labels)) < 2:
            continue
        described = () if choice else tuple(dict.fromkeys(
            (s.final.desc, s.final.name) for s in samples if s.final.desc and s.final.desc.strip()))
        guard = tuple(dict.fromkeys(t for i, g in guards if i == line for t in g.samples))
        found.append(HeadSource(instruction.name, position, line, tuple(s.inputs[line].string for s in samples), labels,
                                described, guard, answers))
    return found


def trainable_names(model: Any) -> set[str]:
    """The encoder's parameters the fine-tuning changes: every one but the embeddings (kept as shipped)."""
    return {name for name, _ in model.named_parameters() if not name.startswith("embeddings.")}


def trainable_state(model: Any) -> dict[str, "torch.Tensor"]:
    names = trainable_names(model)
    return {name: p.detach() for name, p in model.named_parameters() if name in names}


def pooled(encoder: "SentenceEncoder", texts: Sequence[str]) -> "torch.Tensor":
    """Mean-pooled unit vectors of ``texts`` (with gradients when the encoder trains)."""
    import torch

    if not texts:
        return torch.zeros(0, encoder.model.config.hidden_size)
    batch = encoder.tokenizer(list(texts), padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
    hidden = encoder.model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1).clamp(min=1), dim=-1)


@dataclass(frozen=True)
class Decision:
    """The head's answer for one prompt: the class, its probability, all probabilities, the nearest sample."""

    final: str
    probability: float
    probs: dict[str, float]
    #: index (in the instruction's samples) of the sample of ``final`` whose line is nearest the prompt's; -1 if none
    nearest: int
    #: cosine similarity of the line to its nearest training line, and the head's refusal threshold (None: none)
    similarity: float = 1.0
    min_similarity: float | None = None

    @property
    def refuses(self) -> bool:
        """The refusal class won, or the line is unlike every training line (a guarded line's head only)."""
        return self.final == REFUSE_CLASS or (self.min_similarity is not None and self.similarity < self.min_similarity)


@dataclass(frozen=True)
class _Head:
    line: int
    classes: tuple[str, ...]
    weight: "torch.Tensor"
    bias: "torch.Tensor"
    lines: "torch.Tensor"
    labels: tuple[str, ...]
    replies: tuple[str, ...]
    min_similarity: float | None


class IntentHeads:
    """The fine-tuned encoder and each instruction's head, as a training run wrote them."""

    def __init__(self, encoder: "SentenceEncoder", heads: Mapping[str, _Head]) -> None:
        self.encoder = encoder
        self._heads = dict(heads)

    def __bool__(self) -> bool:
        return bool(self._heads)

    def __contains__(self, instruction: object) -> bool:
        return instruction in self._heads

    @classmethod
    def load(cls, directory: Path, section: Mapping[str, Any], protocol: "Protocol",
             names: Mapping[str, str] | None = None) -> "IntentHeads":
        """Read ``intent/`` of a verified model directory; every tensor is checked against what the section says."""
        from safetensors.torch import load_file

        from .similarity import SentenceEncoder

        folder = directory / INTENT_DIR
        try:
            blocks = load_file(str(folder / ENCODER_FILE))
            stored = load_file(str(folder / HEADS_FILE))
        except Exception as exc:  # a damaged file: one clear line
            raise MTPFileError(f"the intent head's weights do not load ({type(exc).__name__}); train the model "
                               "again.", path=str(folder)) from None
        encoder = SentenceEncoder.load()
        expected = trainable_state(encoder.model)
        if set(blocks) != set(expected) or any(blocks[k].shape != expected[k].shape for k in expected):
            raise MTPFileError(f"{ENCODER_FILE} does not fit the installed sentence encoder; train the model again.",
                               path=str(folder))
        encoder.model.load_state_dict(blocks, strict=False)
        return cls.build(encoder, section, stored, protocol, names, str(folder))

    @classmethod
    def build(cls, encoder: "SentenceEncoder", section: Mapping[str, Any], stored: Mapping[str, "torch.Tensor"],
              protocol: "Protocol", names: Mapping[str, str] | None = None, where: str = "") -> "IntentHeads":
        """The heads of a (fine-tuned) encoder from their tensors, each checked against the section and protocol."""
        import torch

        sources = {s.position: s for s in head_sources(protocol)}
        heads: dict[str, _Head] = {}
        dim = encoder.model.config.hidden_size
        entries = section.get("heads") if isinstance(section, Mapping) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else ()):
            entry = entry if isinstance(entry, Mapping) else {}
            position = entry.get("position")
            source = sources.get(position) if isinstance(position, int) else None
            classes = tuple(str(c) for c in entry.get("classes") or ())
            tensors = [stored.get(f"{index}.{part}") for part in ("weight", "bias", "lines")]
            if source is None or any(t is None for t in tensors) or not classes:
                raise MTPFileError(f"the intent head {index} does not match the protocol; train the model again.",
                                   path=where or None)
            weight, bias, lines = tensors
            if (tuple(weight.shape) != (dim, len(classes)) or tuple(bias.shape) != (len(classes),)
                    or tuple(lines.shape) != (len(source.texts), dim) or entry.get("line") != source.line):
                raise MTPFileError(f"the intent head {index} has the wrong shape; train the model again.",
                                   path=where or None)
            threshold = entry.get("min_similarity")
            if threshold is not None and not (isinstance(threshold, (int, float)) and -1.0 <= threshold <= 1.0):
                raise MTPFileError(f"the intent head {index} has a bad min_similarity; train the model again.",
                                   path=where or None)
            name = (names or {}).get(source.instruction, source.instruction)
            heads[name] = _Head(source.line, classes, weight.to(torch.float32), bias.to(torch.float32),
                                lines.to(torch.float32), source.labels, source.replies,
                                None if threshold is None or REFUSE_CLASS not in classes else float(threshold))
        return cls(encoder, heads)

    def decide(self, instruction: str, lines: Sequence[str]) -> Decision | None:
        """The head's decision for a prompt's text lines; None when the instruction has no head."""
        import torch

        head = self._heads.get(instruction)
        if head is None:
            return None
        text = lines[head.line] if head.line < len(lines) else ""
        with torch.no_grad():
            vector = pooled(self.encoder, [text])[0]
        probs = (vector @ head.weight + head.bias).softmax(-1)
        best = int(probs.argmax())
        final = head.classes[best]
        sims = head.lines @ vector
        same = [i for i, label in enumerate(head.labels) if label == final]
        nearest = max(same, key=lambda i: float(sims[i])) if same else -1
        return Decision(final, round(float(probs[best]), 6),
                        {c: round(float(p), 6) for c, p in zip(head.classes, probs)}, nearest,
                        round(float(sims.max()), 6) if len(sims) else 0.0, head.min_similarity)

    def reply(self, instruction: str, decision: Decision) -> str | None:
        """The answer text of the sample nearest the prompt among the decided final's (None: no such sample)."""
        head = self._heads.get(instruction)
        if head is None or decision.nearest < 0:
            return None
        return head.replies[decision.nearest]
