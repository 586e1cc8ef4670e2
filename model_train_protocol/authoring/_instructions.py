"""Instructions: the patterns a model is trained on, each with its samples.

An ``Instruction`` answers with a line of a response TokenSet; an
``ExtendedInstruction`` answers a user's prompt (its last context line) in free
text. Both close every answer with a *final* token chosen per sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence, Union

from ..errors import InstructionError, InstructionTypeError
from ..errors import DuplicateGuardrailError, GuardrailError, GuardrailIndexError, GuardrailTypeError
from ..runtime import format_labels, read_labels
from ..constants import (MIN_GUARDRAIL_SAMPLES, STATE_TOKEN_NAME, STATES_TOKEN_NAME, state_map_description,
    states_description)
from ._guardrail import Guardrail
from ._labels import parse_labels
from ._tokens import NON, NumListToken, NumToken, SpecialToken, Token
from ._tokenset import Snippet, TokenSet, line_guardrails

__all__ = ["Instruction", "ExtendedInstruction", "StateMachineInstruction", "MultiClassifierInstruction", "Sample",
           "sample_labels", "BaseInstruction", "guardrail_map", "guardrail_conflicts",
           "instruction_guardrails"]

FinalSpec = Union[Token, Sequence[Token]]


@dataclass(frozen=True, slots=True)
class Sample:
    """One training example: a snippet per context line, the answer text, its final and value."""

    inputs: tuple[Snippet, ...]
    output: str
    final: Token
    value: int | float | None = None

    @property
    def prompt(self) -> Snippet | None:
        """The user's prompt line (ExtendedInstruction samples only)."""
        return None

    # --- the reference's views of a sample, as the model file writes it (FORMAT.md 2.5) ---
    @property
    def input(self) -> list[str]:
        """The input lines' texts."""
        return [sn.string for sn in self.inputs]

    @property
    def result(self) -> Token:
        """The final that closes this sample's answer."""
        return self.final

    @property
    def strings(self) -> list[str]:
        """One string per input line, then the answer."""
        return [sn.string for sn in self.inputs] + [self.output]

    @property
    def numbers(self) -> list[list[int]]:
        """One list of NumToken numbers per row of the instruction's set (the answer row has none)."""
        return [list(sn.numbers) for sn in self.inputs] + [[]]

    @property
    def number_lists(self) -> list[list[list[int]]]:
        """Like :attr:`numbers`, one list per NumListToken."""
        return [[list(v) for v in sn.number_lists] for sn in self.inputs] + [[]]

    def to_dict(self) -> dict[str, Any]:
        """The sample as the model file writes it (``result`` is the final's value)."""
        prompt = self.prompt
        return {"strings": self.strings, "prompt": None if prompt is None else prompt.string, "numbers": self.numbers,
                "number_lists": self.number_lists, "result": self.final.value, "value": self.value}


class BaseInstruction:
    """What every instruction kind shares: name, context TokenSets, finals, background lines, samples."""

    kind = ""
    #: The kind of model a protocol of this instruction trains (FORMAT.md 5.2); instructions of one protocol agree.
    model_type = "generative"

    def __init__(self, context: Sequence[TokenSet], final: FinalSpec, name: str | None) -> None:
        owner = type(self).__name__
        if name is None:
            raise InstructionTypeError(f"{owner} needs a unique name, e.g. {owner}(..., name=\"greet\").")
        if not isinstance(name, str):
            raise InstructionTypeError(f"{owner} name must be a string, got {type(name).__name__} {name!r}.")
        if not name.strip():
            raise InstructionError(f"{owner} name cannot be empty.")
        self.name = name
        if isinstance(context, TokenSet) or not isinstance(context, Iterable) or isinstance(context, (str, bytes)):
            raise InstructionTypeError(
                f"{owner} {name!r}: context must be a list of TokenSets, e.g. context=[alice_talk]."
            )
        sets = tuple(context)
        if not sets:
            raise InstructionError(f"{owner} {name!r}: context needs at least one TokenSet.")
        for i, ts in enumerate(sets):
            if not isinstance(ts, TokenSet):
                raise InstructionTypeError(
                    f"{owner} {name!r}: context item {i} is {type(ts).__name__}, not a TokenSet."
                )
        self.tokensets: tuple[TokenSet, ...] = sets
        self.finals: tuple[Token, ...] = _finals(final, owner, name)
        self.background: list[str] = []
        self.samples: list[Sample] = []
        #: Guardrails of this instruction alone, by input index (:meth:`add_guardrail`, the reference's way).
        self.input_guardrails: dict[int, Guardrail] = {}

    def answer(self, sample: Sample) -> str:
        """The answer line the model learns for ``sample`` (its text; a multi-classifier orders its labels)."""
        return sample.output

    # --- shape -----------------------------------------------------------
    @property
    def context(self) -> tuple[TokenSet, ...]:
        """The seed API's name for :attr:`tokensets`: the TokenSets of the input lines, in order."""
        return self.tokensets

    @property
    def input_sets(self) -> tuple[TokenSet, ...]:
        """The TokenSets that count toward the protocol's ``inputs``."""
        raise NotImplementedError

    @property
    def rows(self) -> tuple[TokenSet, ...]:
        """The TokenSets written as the model file's ``set`` rows, in order."""
        raise NotImplementedError

    @property
    def prompt_index(self) -> int | None:
        """Index in ``context`` of the user's free-text prompt line (None: no prompt line).

        The one place that tells the two kinds apart; ``kind`` is only the name
        written to files.
        """
        return None

    @property
    def guarded_sets(self) -> tuple[TokenSet, ...]:
        """The TokenSets a user prompt can reach (where guardrails apply), by input index."""
        return self.tokensets

    # --- building ----------------------------------------------------------
    def add_context(self, line: str) -> None:
        """Add a background line that describes the situation of this instruction (once: a line already
        there is not added again, as reference 0.4+ does)."""
        if line not in self.background:
            self._append_context(line)

    def _append_context(self, line: str) -> None:
        """Append a background line as given (constructor lists and files keep their repeats)."""
        if not isinstance(line, str):
            raise InstructionTypeError(
                f"{type(self).__name__} {self.name!r}: context lines must be strings, got {type(line).__name__}."
            )
        self.background.append(line)

    def add_guardrail(self, guardrail: Guardrail, tokenset_index: int) -> None:
        """Guard input line ``tokenset_index`` of this instruction only (the reference API's way).

        Unlike ``TokenSet.set_guardrail``, another instruction with an equal
        TokenSet stays unguarded. As in the reference: the guardrail needs its
        3 bad-prompt samples already, and each line takes one guardrail.
        """
        owner = f"{type(self).__name__} {self.name!r}"
        if not isinstance(guardrail, Guardrail):
            raise GuardrailTypeError(f"{owner}: add_guardrail needs an mtp.Guardrail, got {type(guardrail).__name__}.")
        if self.model_type == "multi_classifier":
            raise GuardrailError(f"{owner}: a multi-classifier has no guardrail (its answer is one value per label); "
                                 "use a StateMachineInstruction or an Instruction to refuse off-topic prompts.")
        if len(guardrail.samples) < MIN_GUARDRAIL_SAMPLES:
            raise GuardrailError(
                f"{owner}: Guardrail must have at least {MIN_GUARDRAIL_SAMPLES} samples, it has "
                f"{len(guardrail.samples)}; add them with guardrail.add_sample(...) before add_guardrail."
            )
        lines = self.guarded_sets
        if isinstance(tokenset_index, bool) or not isinstance(tokenset_index, int):
            raise GuardrailIndexError(f"{owner}: tokenset_index must be an int, got {type(tokenset_index).__name__}.")
        if not 0 <= tokenset_index < len(lines):
            raise GuardrailIndexError(
                f"{owner}: tokenset_index {tokenset_index} is out of range; this instruction has {len(lines)} input "
                f"line(s), indexes 0 to {len(lines) - 1}."
            )
        held = self.input_guardrails.get(tokenset_index) or lines[tokenset_index].guardrail
        if held is not None:
            raise DuplicateGuardrailError(
                f"{owner}: A guardrail is already defined for tokenset_index {tokenset_index} "
                f"({lines[tokenset_index]!r}: {held!r}); a line takes one guardrail."
            )
        self.input_guardrails[tokenset_index] = guardrail

    def _snippets(self, input_snippets: Sequence[Snippet | str]) -> tuple[Snippet, ...]:
        kind = type(input_snippets)
        if (kind is list or kind is tuple) and len(input_snippets) == len(self.tokensets):
            # Fast path: Snippets made on these very TokenSets need no further check.
            for snippet, ts in zip(input_snippets, self.tokensets):
                if type(snippet) is not Snippet or snippet.tokenset is not ts or not snippet.checked:
                    break
            else:
                return tuple(input_snippets)
        owner = f"{type(self).__name__} {self.name!r}"
        if isinstance(input_snippets, (str, Snippet)) or not isinstance(input_snippets, Iterable):
            raise InstructionTypeError(f"{owner}: input_snippets must be a list with one Snippet per context TokenSet.")
        items = list(input_snippets)
        if len(items) != len(self.tokensets):
            raise InstructionError(
                f"{owner}: Number of context snippets ({len(items)}) must match number of context token sets "
                f"({len(self.tokensets)}); pass one snippet per context TokenSet, in order."
            )
        return tuple(_snippet_for(s, ts, f"{owner}: input {i}") for i, (s, ts) in enumerate(zip(items, self.tokensets)))

    def _choose_final(self, final: Token | None, value: int | float | None) -> tuple[Token, int | float | None]:
        finals = self.finals
        if value is None:  # fast path: one of the finals itself (or the only one), not a NumToken
            if final is None:
                if len(finals) == 1 and not isinstance(finals[0], NumToken):
                    return finals[0], None
            else:
                for t in finals:
                    if t is final and not isinstance(t, NumToken):
                        return t, None
        owner = f"{type(self).__name__} {self.name!r}"
        if final is None:
            if len(self.finals) > 1:
                names = ", ".join(t.name for t in self.finals)
                raise InstructionError(f"{owner} has several finals ({names}); pass final=... to add_sample.")
            chosen = self.finals[0]
        else:
            if not isinstance(final, Token):
                raise InstructionTypeError(f"{owner}: final must be a Token, got {type(final).__name__}.")
            matches = [t for t in self.finals if t is final or t.signature() == final.signature()]
            if not matches:
                names = ", ".join(t.name for t in self.finals)
                raise InstructionError(f"{owner}: final {final.name!r} is not one of its finals ({names}).")
            chosen = matches[0]
        if isinstance(chosen, NumToken):
            if value is None:
                raise InstructionError(
                    f"{owner}: final {chosen.name!r} is a NumToken and requires a numeric value: the sample needs "
                    f"value=<number between {chosen.min_value} and {chosen.max_value}>."
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InstructionTypeError(f"{owner}: Value must be an int or float, got {type(value).__name__} {value!r}.")
            if not chosen.min_value <= value <= chosen.max_value:
                raise InstructionError(
                    f"{owner}: value {value} is out of range for final {chosen.name!r}: must be between "
                    f"{chosen.min_value} and {chosen.max_value}."
                )
        elif value is not None:
            raise InstructionError(
                f"{owner}: value={value!r} was given but final {chosen.name!r} is not a NumToken; drop value= "
                "or make the final an mtp.NumToken."
            )
        return chosen, value

    def __setattr__(self, attribute: str, value: Any) -> None:
        """A name may change (checked here; uniqueness by ``Protocol.validate``); the lines' shape may not.

        Samples were made on these TokenSets and finals, so replacing them would
        leave samples the file could not hold.
        """
        owner = type(self).__name__
        if attribute == "name":
            if not isinstance(value, str):
                raise InstructionTypeError(f"{owner} name must be a string, got {type(value).__name__} {value!r}.")
            if not value.strip():
                raise InstructionError(f"{owner} name cannot be empty.")
        elif attribute == "finals" and "finals" in self.__dict__:
            value = _finals(value, owner, self.name)  # more finals may be declared; samples are checked by validate
        elif attribute == "context" or (attribute in ("tokensets", "response") and attribute in self.__dict__):
            raise InstructionError(f"{owner} {self.name!r}: {attribute} cannot change once the instruction is "
                                   "created (its samples are made on it); create a new instruction.")
        object.__setattr__(self, attribute, value)

    # --- the reference's public views (0.8+) -------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The instruction as the reference's ``to_dict()`` gives it: its name, its rows' tokens, its first
        final and its samples (the Sample objects themselves, each with its own ``to_dict()``)."""
        return {"name": self.name, "tokens": [[t.to_dict() for t in ts.tokens] for ts in self.rows],
                "result": self.finals[0].to_dict(), "samples": list(self.samples)}

    def get_guardrails(self) -> list[Guardrail]:
        """The guardrails of this instruction's input lines, in line order (one per guarded line)."""
        return [self.input_guardrails[i] if i in self.input_guardrails else ts.guardrail
                for i, ts in enumerate(self.guarded_sets)
                if i in self.input_guardrails or ts.guardrail is not None]

    @property
    def has_guardrails(self) -> bool:
        """True when a guardrail guards one of this instruction's input lines."""
        return bool(self.input_guardrails) or any(ts.guardrail is not None for ts in self.guarded_sets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, samples={len(self.samples)})"


class _ResponseLineInstruction(BaseInstruction):
    """An instruction whose context lines are all inputs and whose answer follows its ``response`` line."""

    response: TokenSet

    @property
    def input_sets(self) -> tuple[TokenSet, ...]:
        return self.tokensets

    @property
    def rows(self) -> tuple[TokenSet, ...]:
        return self.tokensets + (self.response,)


class Instruction(_ResponseLineInstruction):
    """The model reads the context lines and answers with a line of ``response``, then a final."""

    kind = "basic"

    def __init__(
        self,
        context: Sequence[TokenSet],
        response: TokenSet,
        final: FinalSpec,
        name: str | None = None,
    ) -> None:
        super().__init__(context, final, name)
        if not isinstance(response, TokenSet):
            raise InstructionTypeError(
                f"Instruction {self.name!r}: response must be a TokenSet, got {type(response).__name__}."
            )
        if response.has_user:
            raise InstructionError(
                f"Instruction {self.name!r}: the response {response!r} holds a UserToken; the model's answer "
                "cannot be a user line. Use a TokenSet without UserTokens."
            )
        if response.num_tokens or response.num_list_tokens:
            raise InstructionError(
                f"Instruction {self.name!r}: the response {response!r} holds a number token; to answer with a "
                "number use an mtp.NumToken as the final instead."
            )
        self.response = response

    def add_sample(
        self,
        input_snippets: Sequence[Snippet | str],
        output_snippet: Snippet | str,
        value: int | float | None = None,
        final: Token | None = None,
    ) -> Sample:
        """Add one example: a snippet per context TokenSet and the response snippet."""
        snippets = self._snippets(input_snippets)
        if type(output_snippet) is str:  # the response TokenSet never holds number tokens
            output = output_snippet
        else:
            output = _snippet_for(output_snippet, self.response, f"Instruction {self.name!r}: output_snippet").string
        chosen, value = self._choose_final(final, value)
        sample = Sample(snippets, output, chosen, value)
        self.samples.append(sample)
        return sample


@dataclass(frozen=True, slots=True)
class ExtendedSample(Sample):
    """A sample of an ExtendedInstruction: its last input snippet is the user's prompt."""

    @property
    def prompt(self) -> Snippet | None:
        return self.inputs[-1]

    @property
    def strings(self) -> list[str]:
        """The input strings except the prompt, then the response."""
        return [sn.string for sn in self.inputs[:-1]] + [self.output]

    @property
    def numbers(self) -> list[list[int]]:
        """One list per input row, the prompt's included (the response row has none)."""
        return [list(sn.numbers) for sn in self.inputs]

    @property
    def number_lists(self) -> list[list[list[int]]]:
        return [[list(v) for v in sn.number_lists] for sn in self.inputs]


class ExtendedInstruction(BaseInstruction):
    """The model answers the user's prompt (the last context line) in free text, then a final."""

    kind = "extended"

    def __init__(self, context: Sequence[TokenSet], final: FinalSpec, name: str | None = None) -> None:
        super().__init__(context, final, name)
        if not self.tokensets[-1].has_user:
            raise InstructionError(
                f"ExtendedInstruction {self.name!r}: the last context TokenSet {self.tokensets[-1]!r} is the user's "
                "prompt and must include an mtp.UserToken."
            )

    @property
    def input_sets(self) -> tuple[TokenSet, ...]:
        return self.tokensets[:-1]

    @property
    def prompt_set(self) -> TokenSet:
        return self.tokensets[-1]

    @property
    def rows(self) -> tuple[TokenSet, ...]:
        return self.tokensets

    @property
    def prompt_index(self) -> int:
        return len(self.tokensets) - 1

    def add_sample(
        self,
        input_snippets: Sequence[Snippet | str],
        response_string: str,
        value: int | float | None = None,
        final: Token | None = None,
    ) -> Sample:
        """Add one example: a snippet per context TokenSet (the last is the prompt) and the response."""
        snippets = self._snippets(input_snippets)
        if not isinstance(response_string, str):
            raise InstructionTypeError(
                f"ExtendedInstruction {self.name!r}: response_string must be a str, got {type(response_string).__name__}."
            )
        chosen, value = self._choose_final(final, value)
        sample = ExtendedSample(snippets, response_string, chosen, value)
        self.samples.append(sample)
        return sample


class _ChoiceInstruction(_ResponseLineInstruction):
    """An instruction whose answer is chosen from a closed set (a state, or one value per label).

    Its response line is one generated token (``State`` or ``States``) whose
    description lists what may be answered, and its final is always ``<NON>``.
    """

    _response_value = ""

    def __init__(self, context: Sequence[TokenSet], name: str) -> None:
        super().__init__(context, NON, name)

    def _make_response(self, desc: str) -> None:
        object.__setattr__(self, "response", TokenSet((Token(self._response_value, desc=desc),)))

    def __setattr__(self, attribute: str, value: Any) -> None:
        """What may be answered is fixed: the response line's description lists it."""
        if attribute in ("states", "state_map"):
            raise InstructionError(f"{type(self).__name__} {self.name!r}: {attribute} cannot change once the "
                                   "instruction is created (its response line lists it); create a new instruction.")
        super().__setattr__(attribute, value)


class StateMachineInstruction(_ChoiceInstruction):
    """The model reads its input lines and answers with one of ``states`` (a game state, a route, an intent).

    A state-machine protocol has exactly this one instruction and at least ten
    samples; every answer is one of the declared states, or the guardrail's
    refusal.
    """

    kind = "state_machine"
    model_type = "state_machine"
    _response_value = STATE_TOKEN_NAME

    def __init__(self, context: Sequence[TokenSet], states: Sequence[str],
                 name: str = "StateMachineInstruction") -> None:
        super().__init__(context, name)
        object.__setattr__(self, "states", _states(states, self.name))
        self._make_response(states_description(self.states))

    def get_states(self) -> list[str]:
        """The states the model may answer, in the order declared."""
        return list(self.states)

    def add_sample(self, input_snippets: Sequence[Snippet | str], state: str) -> Sample:
        """Add one example: a snippet per input TokenSet and the state it leads to."""
        snippets = self._snippets(input_snippets)
        where = f"StateMachineInstruction {self.name!r}"
        if not isinstance(state, str):
            raise InstructionTypeError(f"{where}: state must be a string, got {type(state).__name__} {state!r}.")
        if "\n" in state or not state.strip():
            raise InstructionError(f"{where}: state {state!r} must be one non-empty line.")
        sample = Sample(snippets, state, NON, None)
        self.samples.append(sample)
        return sample


class MultiClassifierInstruction(_ChoiceInstruction):
    """The model reads its input lines and answers with one value for every label of ``state_map``.

    The answer line is the labels as a Python dict literal
    (``{'emotion': 'happy', 'intent': 'question'}``), see :mod:`labels`: a
    sample keeps the order it was given in (the reference's model file), and
    the model learns the state map's order (:meth:`answer`).
    """

    kind = "multi_classification_machine"
    model_type = "multi_classifier"
    _response_value = STATES_TOKEN_NAME

    def __init__(self, context: Sequence[TokenSet], state_map: Mapping[str, Sequence[str]],
                 name: str = "MultiClassifierInstruction") -> None:
        super().__init__(context, name)
        object.__setattr__(self, "state_map", _state_map(state_map, self.name))
        self._make_response(state_map_description(self.state_map))

    def add_sample(
        self,
        input_snippets: Sequence[Snippet | str],
        output_snippet: Mapping[str, str] | str | Snippet,
        output_value: None = None,
        final: Token | None = None,
    ) -> Sample:
        """Add one example: a snippet per input TokenSet and its labels (a dict, JSON or a Python dict literal)."""
        snippets = self._snippets(input_snippets)
        where = f"MultiClassifierInstruction {self.name!r}"
        if output_value is not None or (final is not None and final is not NON):
            raise InstructionError(f"{where}: a multi-classifier answers with labels only; drop output_value= "
                                   "and final=.")
        if isinstance(output_snippet, Snippet):
            output_snippet = output_snippet.string
        labels = parse_labels(output_snippet, self.state_map, where)
        sample = Sample(snippets, format_labels(labels), NON, None)
        self.samples.append(sample)
        return sample

    def answer(self, sample: Sample) -> str:
        """The sample's labels in the state map's order: the one line the template's ``states`` lets every
        runtime expect, whatever order the sample gave them in."""
        labels = read_labels(sample.output)
        if labels is None or set(labels) != set(self.state_map):
            return sample.output  # a broken sample: validate() reports it
        return format_labels(labels, self.state_map)


def sample_labels(sample: Sample) -> dict[str, str]:
    """The labels of a multi-classifier sample (its answer line parsed back)."""
    labels = read_labels(sample.output)
    if labels is None:
        raise InstructionError(f"sample answer {sample.output[:80]!r} is not a label dict.")
    return labels


def _line(text: Any, what: str, owner: str) -> str:
    if not isinstance(text, str):
        raise InstructionTypeError(f"{owner}: {what} {text!r} must be a string, got {type(text).__name__}.")
    if "\n" in text or not text.strip():
        raise InstructionError(f"{owner}: {what} {text!r} must be one non-empty line.")
    return text


def _states(states: Any, name: str) -> tuple[str, ...]:
    owner = f"StateMachineInstruction {name!r}"
    if states is None or isinstance(states, (str, bytes)) or not isinstance(states, Iterable):
        raise InstructionTypeError(f"{owner} needs its states as a list of strings, e.g. states=['Idle', 'Running'].")
    items = tuple(_line(s, "state", owner) for s in states)  # none yet is a validate() problem, as the reference
    twice = sorted({s for s in items if items.count(s) > 1})
    if twice:
        raise InstructionError(f"{owner}: state(s) {', '.join(map(repr, twice))} listed twice.")
    return items


def _state_map(state_map: Any, name: str) -> dict[str, tuple[str, ...]]:
    owner = f"MultiClassifierInstruction {name!r}"
    if not isinstance(state_map, Mapping):
        raise InstructionTypeError(f"{owner} needs state_map={{label: [values...]}}, e.g. "
                                   "state_map={'emotion': ['happy', 'sad']}, got " + type(state_map).__name__ + ".")
    if not state_map:
        raise InstructionError(f"{owner}: state_map needs at least one label.")
    result: dict[str, tuple[str, ...]] = {}
    for label, values in state_map.items():
        _line(label, "label", owner)
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise InstructionTypeError(f"{owner}: the values of label {label!r} must be a list of strings.")
        items = tuple(_line(v, f"value of label {label!r}", owner) for v in values)
        if not items:
            raise InstructionError(f"{owner}: label {label!r} has no values; list the values it may take.")
        twice = sorted({v for v in items if items.count(v) > 1})
        if twice:
            raise InstructionError(f"{owner}: label {label!r} lists {', '.join(map(repr, twice))} twice.")
        result[label] = items
    return result


def _finals(final: FinalSpec, owner: str, name: str) -> tuple[Token, ...]:
    items = (final,) if isinstance(final, Token) else final
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise InstructionTypeError(f"{owner} {name!r}: final must be a Token or a list of Tokens, got {type(final).__name__}.")
    finals = tuple(items)
    if not finals:
        raise InstructionError(f"{owner} {name!r}: final needs at least one Token.")
    seen: set[str] = set()
    for t in finals:
        if not isinstance(t, Token):
            raise InstructionTypeError(f"{owner} {name!r}: final {t!r} is not a Token.")
        if isinstance(t, SpecialToken) and t is not NON:
            raise InstructionError(f"{owner} {name!r}: {t.value} cannot be a final; only mtp.NON among special tokens.")
        if isinstance(t, NumListToken):
            raise InstructionError(
                f"{owner} {name!r}: final {t.name!r} is a NumListToken; a final carries at most one number (NumToken)."
            )
        if t.user:
            raise InstructionError(f"{owner} {name!r}: final {t.name!r} is a UserToken; the model's final cannot be a user token.")
        if t.value in seen:
            raise InstructionError(f"{owner} {name!r}: final {t.name!r} is listed twice.")
        seen.add(t.value)
    return finals


def _snippet_for(item: Snippet | str, ts: TokenSet, where: str) -> Snippet:
    """Accept a Snippet made on ``ts`` (or an equal TokenSet), or a plain string for a set without numbers."""
    if isinstance(item, str):
        if ts.num_tokens or ts.num_list_tokens:
            raise InstructionError(
                f"{where}: a plain string was given but {ts!r} needs numbers; use {ts!r}.create_snippet(string=..., numbers=[...])."
            )
        return ts.create_snippet(item)
    if not isinstance(item, Snippet):
        raise InstructionTypeError(f"{where}: expected a Snippet or a string, got {type(item).__name__}.")
    if item.tokenset is not ts and item.token_set_key != ts.value_key:
        raise InstructionError(
            f"{where}: the snippet {item.string!r} was made on {item.tokenset!r}, which does not match expected token set {ts!r}; "
            f"create it with that TokenSet's create_snippet()."
        )
    if not item.checked:  # made by hand: check its string and numbers as create_snippet would
        return ts.create_snippet(item.string, numbers=item.numbers, number_lists=item.number_lists)
    return item


# --- guardrails of instructions ------------------------------------------------
def guardrail_map(instructions: Iterable["BaseInstruction"]) -> dict[str, Guardrail]:
    """Guardrail of each guarded TokenSet, by value-key, and of each line guarded by ``add_guardrail``.

    TokenSets with the same tokens in the same order are the same line to the
    model, so a guardrail set on one of them guards all of them (the first one
    found wins; :func:`guardrail_conflicts` reports disagreements). A guardrail
    added to an instruction guards that instruction's line only; it is listed
    as ``"{instruction name}#{index}"`` (``#`` is in no value-key).
    """
    return _resolve(instructions)[0]


def guardrail_conflicts(instructions: Iterable["BaseInstruction"]) -> list[tuple[str, Guardrail, Guardrail]]:
    """(value-key, first, other) for equal TokenSets that carry different guardrails."""
    return _resolve(instructions)[1]


def _resolve(instructions: Iterable["BaseInstruction"]) -> tuple[dict[str, Guardrail], list[tuple[str, Guardrail, Guardrail]]]:
    """The guardrail of each guarded line of these instructions, and the lines guarded twice.

    A line's guardrail is the one set on a TokenSet of these instructions; a line
    none of them guards takes the guardrails set on TokenSets of the very same
    token objects elsewhere (the README guards a set it never uses). Guardrails
    a TokenSet of *another* protocol carries therefore never leak in here.
    """
    instructions = list(instructions)
    sets = [ts for instruction in instructions for i, ts in enumerate(instruction.guarded_sets)
            if i not in instruction.input_guardrails]
    own: dict[str, Guardrail] = {}
    for ts in sets:
        if ts.guardrail is not None:
            own.setdefault(ts.value_key, ts.guardrail)
    found: dict[str, Guardrail] = {}
    conflicts: list[tuple[str, Guardrail, Guardrail]] = []
    for ts in sets:
        key = ts.value_key
        candidates = (ts.guardrail,) if ts.guardrail is not None else (
            (own[key],) if key in own else line_guardrails(ts))
        for g in candidates:
            seen = found.setdefault(key, g)
            if seen is not g and not any(c[0] == key and c[2] is g for c in conflicts):
                conflicts.append((key, seen, g))
    for instruction in instructions:
        for index, g in sorted(instruction.input_guardrails.items()):
            found[f"{instruction.name}#{index}"] = g
    return found, conflicts


def instruction_guardrails(instruction: "BaseInstruction", gmap: dict[str, Guardrail]) -> list[tuple[int, Guardrail]]:
    """(input index, guardrail) for every guarded line of an instruction, in index order; a guardrail added
    to the instruction (``add_guardrail``) wins over one its line's TokenSet carries."""
    own = instruction.input_guardrails
    return [(i, own[i] if i in own else gmap[ts.value_key]) for i, ts in enumerate(instruction.guarded_sets)
            if i in own or ts.value_key in gmap]
