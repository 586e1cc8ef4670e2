"""A trained MTP model, ready to answer: load a training output directory, run instructions, chat."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from ..errors import MTPError, MTPFileError, MTPValueError
from ..runtime import (EOS_KEY, REFUSE_CLASS, UNK_KEY, InstructionSpec, Refusal, RuntimeSpec, check_threshold,
    confidence, refusal_completion, refusal_reason)
from ._answer import Answer, parse_completion
from ._decode import Drafts, Generation, Grammar, generate
from ._intent import IntentHeads
from ._prompt import build_prompt, check_sampling, check_user_text, read_lines
from ._similarity import PromptSimilarity
from ._vocab import Vocab

if TYPE_CHECKING:
    from ._chat import ChatSession

__all__ = ["Model", "DEFAULT_MAX_TEXT_TOKENS"]

#: Longest answer text, in tokens, when the model directory does not say.
DEFAULT_MAX_TEXT_TOKENS = 96


class Model:
    """A causal language model with its tokenizer and the runtime spec of what it was trained on.

    ``Model.load(dir)`` opens what ``mtp train`` wrote (its ``runtime.json``);
    the constructor takes the parts directly (any transformers causal LM and
    tokenizer whose structural keys are tokens) with a
    :class:`~model_train_protocol.runtime.RuntimeSpec`, or a template (and the
    protocol it was written from), which it compiles.
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        template: "Mapping[str, Any] | RuntimeSpec",
        protocol: Any = None,
        manifest: Mapping[str, Any] | None = None,
        max_text_tokens: int | None = None,
        threshold: float | None = None,
        similarity: PromptSimilarity | None = None,
        intent: IntentHeads | None = None,
        ask_model: bool = False,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.manifest = dict(manifest or {})
        #: what the model answers from: instruction specs, answer lines, refusal lines and settings
        self.runtime = template if isinstance(template, RuntimeSpec) else _compile(template, protocol, self.manifest)
        #: the template and protocol the constructor was given (None for a runtime spec, as ``load`` passes: the
        #: spec stands for them)
        self.template = None if isinstance(template, RuntimeSpec) else template
        self.protocol = protocol
        #: the model directory ``load`` opened (None when built from parts)
        self.directory: Path | None = None
        self.specs: dict[str, InstructionSpec] = self.runtime.specs
        self.vocab = Vocab.build(tokenizer, getattr(model.config, "vocab_size", None))
        self.max_text_tokens = max_text_tokens or self._answer_budget()
        self.max_positions = _max_positions(model.config)
        self._grammars: dict[str, Grammar] = {}
        #: refuse (answer with the guardrail) when the confidence is below this; None: the model's own choice only
        self.threshold = self.runtime.refusal.threshold if threshold is None else check_threshold(threshold)
        #: refuse (answer with the guardrail) when a guarded line is unlike every training line; None: off
        self.similarity = similarity or None
        #: the fine-tuned sentence encoder's heads, which decide the final of the instructions they cover; None: off
        self.intent = intent or None
        #: run the language model even where the intent head decides, to see its own choice (``model_final``);
        #: slower, and the answer is the same but for its text where the model chose the head's final too
        self.ask_model = ask_model

    @classmethod
    def load(cls, directory: str | os.PathLike[str], max_text_tokens: int | None = None,
             threshold: float | None = None, template: str | os.PathLike[str] | None = None,
             min_similarity: float | None = None, intent: bool = True, threads: int | None = None,
             ask_model: bool = False) -> "Model":
        """Open a directory written by ``mtp train`` (offline; nothing is downloaded; no code from it runs).

        ``threads`` sets PyTorch's CPU threads for this process (None: the cores other work leaves free, at least
        one; :func:`~model_train_protocol.extras.default_threads`).

        ``threshold`` overrides the confidence threshold chosen at training time (0 turns it off);
        ``min_similarity`` the similarity thresholds of the guarded lines (0 turns them off; see
        :mod:`~model_train_protocol.infer._similarity`). ``intent=False`` leaves the intent head out: the
        language model alone then chooses every final (see :mod:`~model_train_protocol.infer._intent`).
        Where the head decides, the language model is not run unless ``ask_model`` (:attr:`ask_model`).

        ``template`` is the template file of a directory trained elsewhere
        (one without ``mtp_manifest.json``); see :mod:`model_train_protocol.model_dir`.
        """
        from ..extras import use_threads
        from ..model_dir import load_trained

        use_threads(threads)
        trained = load_trained(Path(directory), template=template)
        runtime = trained.runtime
        try:
            similarity = _similarity(runtime, min_similarity)
            heads = _intent(Path(directory), runtime) if intent else None
            model = cls(trained.model, trained.tokenizer, runtime, None, trained.manifest,
                        max_text_tokens, threshold, similarity, heads, ask_model)
            model.directory = Path(directory)
            return model
        except MTPError:
            raise
        except Exception as exc:  # a template or tokenizer that passed its checks but not this
            raise MTPFileError(f"the template and tokenizer do not fit together ({type(exc).__name__}: "
                               f"{str(exc)[:200]}).", path=str(directory)) from None

    def _answer_budget(self) -> int:
        """Twice the longest answer text of the protocol, in tokens (a fixed default when the spec has none)."""
        if not self.runtime.budget_texts:
            return DEFAULT_MAX_TEXT_TOKENS
        return max(16, 2 * max((len(self.vocab.encode(t)) for t in self.runtime.budget_texts), default=0))

    # --- instructions ------------------------------------------------------
    @property
    def instructions(self) -> list[str]:
        return list(self.specs)

    def spec(self, instruction: str | None = None) -> InstructionSpec:
        """The named instruction; the name may be left out when there is only one."""
        if instruction is None:
            if len(self.specs) == 1:
                return next(iter(self.specs.values()))
            raise MTPValueError(f"this model has several instructions; choose one of: {', '.join(self.specs)}.")
        try:
            return self.specs[instruction]
        except KeyError:
            raise MTPValueError(f"no instruction named {instruction!r}; choose one of: {', '.join(self.specs)}.") from None

    def grammar(self, spec: InstructionSpec) -> Grammar:
        if spec.name not in self._grammars:
            self._grammars[spec.name] = Grammar(spec, self.vocab, self.max_text_tokens, self._drafts(spec))
        return self._grammars[spec.name]

    def _drafts(self, spec: InstructionSpec) -> Drafts | None:
        """Decoding drafts from the answer lines the model was trained to write for this instruction."""
        item = self.runtime.instruction(spec.name)
        texts = item.answers if item is not None else ()
        return Drafts([self.vocab.encode(t) + [self.vocab.newline] for t in texts if t]) if texts else None

    def prompt(self, instruction: str | None, lines: Sequence[str], numbers: Sequence[Any] = ()) -> str:
        """The model input for these lines, filled into the template's input lines."""
        return build_prompt(self.spec(instruction), lines, numbers)

    # --- running -----------------------------------------------------------
    def run(
        self,
        instruction: str | None = None,
        lines: Sequence[str] = (),
        numbers: Sequence[Any] = (),
        *,
        constrained: bool = True,
        sample: bool = False,
        temperature: float = 1.0,
        seed: int | None = None,
    ) -> Answer:
        """Answer one prompt: ``lines`` fill the instruction's text lines in order (the last is the newest)."""
        spec = self.spec(instruction)
        return self.complete(spec, build_prompt(spec, lines, numbers), constrained=constrained, sample=sample,
                             temperature=temperature, seed=seed)

    def complete(self, spec: InstructionSpec, prompt: str, **options: Any) -> Answer:
        """Answer an already built prompt (what evaluation uses with the renderer's prompts).

        With constrained greedy decoding, the intent head (:attr:`intent`) decides
        the final of the instructions it covers, with the answer text of the
        nearest training sample of that final, and the language model is not
        run (it is where a final is numeric, or with :attr:`ask_model`;
        ``model_final`` then keeps the model's own choice). A guarded
        instruction refuses, with its guardrail's answer, when a guarded line is
        less similar to the training lines than its threshold
        (:attr:`similarity`), the head's refusal class wins, or the confidence
        (the head's where it decides, else the model's) is below
        :attr:`threshold`. The answer is decided first, so ``candidate`` says
        what would have been answered.
        """
        constrained = options.get("constrained", True)
        lines = read_lines(spec, prompt) if self.similarity is not None or self.intent is not None else None
        near = None
        if self.similarity is not None and spec.guardrail is not None and lines is not None:
            near = self.similarity.score(spec.name, lines)
        decision = self.intent.decide(spec.name, lines) if self.intent is not None and lines is not None else None
        if near is None and decision is not None and decision.min_similarity is not None:
            near = (decision.similarity, decision.min_similarity)
        if decision is not None and constrained and not options.get("sample") and not self.ask_model:
            check_user_text(spec, prompt, self.vocab.structural)
            decided = self._head_answer(spec, decision, near)
            if decided is not None:
                return decided
        gen = self.generate(spec, prompt, **options)
        answer = parse_completion(gen.completion, spec)
        score = _in_scope(decision) if decision is not None else confidence(gen.token_probs) if constrained else None
        answer = replace(answer, final_probs=gen.final_probs, tokens=gen.new_tokens, confidence=score,
                         candidate=answer.final, prompt_similarity=near[0] if near else None,
                         refused_by="model" if answer.guardrail else None, model_final=_chosen(answer),
                         intent=decision.final if decision else None,
                         intent_probability=decision.probability if decision else None)
        if not constrained:
            return answer
        if decision is not None and not decision.refuses and _chosen(answer) != decision.final:
            answer = self._decided(answer, spec, decision)
        refusal = self._refusal_text(spec)
        reason = None
        if refusal is not None and spec.guardrail is not None and not answer.guardrail:
            reason = self._refusal_reason(decision, near, score)
        if reason:
            return self._rewrite(answer, spec, refusal_completion(refusal, spec.guardrail.key), refused_by=reason)
        return answer

    def _head_answer(self, spec: InstructionSpec, decision: Any, near: tuple[float, float] | None) -> Answer | None:
        """The answer the intent head gives on its own, without running the language model (None where the
        model is needed: a numeric final, an answer text that is not one line, a refusal with no guardrail).

        Where the head decides, the model's own final only ever changed ``model_final``: its text was kept
        only when it chose the head's final too, and the head's text (the nearest sample's) is as good."""
        refusal = self._refusal_text(spec)
        score = _in_scope(decision)
        reason = self._refusal_reason(decision, near, score)
        if reason:
            if refusal is None or spec.guardrail is None:
                return None
            lines = refusal_completion(refusal, spec.guardrail.key)
        else:
            lines = self._decided_lines(spec, decision)
            if lines is None:
                return None
        answer = parse_completion(f"{lines}\n{EOS_KEY}", spec)
        chosen = spec.finals[0].name if spec.choice else decision.final  # what was answered, or would have been
        probs = {} if spec.choice else {
            UNK_KEY if c == REFUSE_CLASS else c: p for c, p in decision.probs.items()}
        return replace(answer, final_probs=probs, tokens=len(self.vocab.encode(answer.raw)),
                       confidence=score, candidate=UNK_KEY if decision.refuses else chosen,
                       prompt_similarity=near[0] if near else None, refused_by=reason, intent=decision.final,
                       intent_probability=decision.probability)

    def _refusal_reason(self, decision: Any, near: tuple[float, float] | None, score: float | None) -> str | None:
        """Why a guarded answer is refused, in the order the refusals apply: the head's decision, the line's
        similarity, the confidence threshold (:func:`~model_train_protocol.runtime.refusal_reason`); None when none
        applies."""
        return refusal_reason(decision is not None and decision.refuses, near, score, self.threshold)

    def _decided(self, answer: Answer, spec: InstructionSpec, decision: Any) -> Answer:
        """The model's answer rewritten to the head's decision (unchanged where the head cannot write it)."""
        lines = self._decided_lines(spec, decision)
        if lines is None:
            return answer
        rewritten = self._rewrite(answer, spec, lines, refused_by=None)
        return replace(rewritten, candidate=rewritten.final)

    def _decided_lines(self, spec: InstructionSpec, decision: Any) -> str | None:
        """The answer and final lines of the head's decision: its state or label line, else the nearest training
        sample's text of its final; None for a numeric final or a text of several lines (the model writes those)."""
        if spec.choice:
            return f"{decision.final}\n{spec.finals[0].key}"
        final = next((f for f in spec.finals if f.name == decision.final and not f.numeric), None)
        text = self.intent.reply(spec.name, decision) if self.intent is not None else None
        if final is None or text is None or "\n" in text:
            return None
        return f"{text}\n{final.key}"

    @staticmethod
    def _rewrite(answer: Answer, spec: InstructionSpec, lines: str, refused_by: str | None) -> Answer:
        """``answer`` with another answer line and final (what the model wrote stays in ``candidate``)."""
        rewritten = parse_completion(f"{lines}\n{EOS_KEY}", spec)
        return replace(rewritten, final_probs=answer.final_probs, tokens=answer.tokens, confidence=answer.confidence,
                       candidate=answer.candidate, prompt_similarity=answer.prompt_similarity, refused_by=refused_by,
                       model_final=answer.model_final, intent=answer.intent,
                       intent_probability=answer.intent_probability)

    def _refusal_text(self, spec: InstructionSpec) -> str | None:
        """The guardrail answer of the instruction's user line (the one a refusal is about), as compiled."""
        item = self.runtime.instruction(spec.name)
        return item.refusal_line if item is not None else None

    def generate(self, spec: InstructionSpec, prompt: str, *, constrained: bool = True, sample: bool = False,
                 temperature: float = 1.0, seed: int | None = None) -> Generation:
        """The raw decoding of one prompt; unconstrained output may not parse."""
        check_sampling(temperature, seed)
        check_user_text(spec, prompt, self.vocab.structural)
        ids = self.vocab.encode(prompt)
        grammar = self.grammar(spec)
        longest_final = grammar.longest_final
        room = self.max_positions - len(ids) - 1 - longest_final - len(grammar.tail)  # text, newline, final, tail
        if room < 1:
            raise MTPValueError(
                f"the prompt is {len(ids)} tokens long and leaves no room for an answer in the model's "
                f"{self.max_positions} positions; shorten the input lines."
            )
        if room < grammar.max_text_tokens:
            grammar = Grammar(spec, self.vocab, room, grammar.drafts)
        longest_answer = grammar.max_text_tokens + 1 + longest_final + len(grammar.tail)
        return generate(self.model, ids, grammar, constrained=constrained, max_new_tokens=longest_answer,
                        sample=sample, temperature=temperature, seed=seed)

    def chat(self, instruction: str | None = None, lines: Sequence[str] | None = None,
             numbers: Sequence[Any] = ()) -> "ChatSession":
        """A conversation: each message is answered with the history filling the earlier input lines."""
        from ._chat import ChatSession

        return ChatSession(self, self.spec(instruction), lines, numbers)


def _compile(template: Mapping[str, Any], protocol: Any, manifest: Mapping[str, Any]) -> RuntimeSpec:
    """The runtime spec for the constructor's documented form ``Model(model, tokenizer, template, protocol)``:
    the protocol compiles it (``Protocol.runtime_spec``), a template alone is read by the runtime."""
    refusal = Refusal.from_manifest(manifest).to_section()
    if protocol is None:
        return RuntimeSpec.from_template(template, refusal)
    return protocol.runtime_spec(template, refusal)


def _similarity(runtime: RuntimeSpec, override: float | None) -> PromptSimilarity | None:
    """The similarity refusal a runtime spec asks for (or ``override``: 0 turns it off, a value sets every line's)."""
    from ._similarity import SentenceEncoder, check_min_similarity

    if override is not None and check_min_similarity(override) == 0:
        return None
    thresholds = runtime.refusal.similarity
    if not any(item.references for item in runtime.instructions) or not (thresholds or override):
        return None
    return PromptSimilarity(SentenceEncoder.load(), runtime, thresholds, override) or None


def _in_scope(decision: Any) -> float:
    """The head's confidence that a prompt is in scope (1 - its refusal class's probability), else that of its
    class: the confidence a refusal threshold is chosen on and applied to where the head decides."""
    probs = decision.probs
    return round(1.0 - probs[REFUSE_CLASS], 6) if REFUSE_CLASS in probs else decision.probability


def _chosen(answer: Answer) -> str:
    """What an answer chose, in the intent head's terms: a state machine's state, a multi-classifier's label line,
    else the final's name."""
    if answer.guardrail:
        return answer.final
    return answer.state if answer.state is not None else answer.text if answer.labels is not None else answer.final


def _intent(directory: Path, runtime: RuntimeSpec) -> IntentHeads | None:
    """The intent heads a model directory holds (the runtime spec's), None when it has none."""
    heads = {item.spec.name: item.head for item in runtime.instructions if item.head is not None}
    return IntentHeads.load(directory, heads) or None if heads else None


def _max_positions(config: Any) -> int:
    for name in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 2048
