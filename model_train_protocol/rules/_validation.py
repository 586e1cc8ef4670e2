"""Protocol validation: every rule checked at once, each problem with a rule id and a fix.

Rules are the MTP platform rules (FORMAT.md 1.6, 8). Checks are linear in the
number of samples; the token substring rule is linear in the number of tokens
times the distinct name lengths, never pairwise.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Callable, Iterable

import emoji

from ..constants import (MIN_CONTEXT_LINES, MIN_GUARDRAIL_SAMPLES, MIN_SAMPLES,
    MIN_STATE_MACHINE_SAMPLES, STATE_TOKEN_NAME, token_value)
from ..errors import Problem, ProblemPath
from ._versions import DEFAULT_VERSION, MAIN_VERSIONS, FormatVersion, layouts_holding
from ..authoring import (NON, BaseInstruction, MultiClassifierInstruction, NumListToken, NumToken, Sample, SpecialToken,
                         StateMachineInstruction, Token, guardrail_conflicts, guardrail_map, instruction_guardrails,
                         labels_problem)
from ..runtime import read_labels
from ._render import structural_strings
from ..text import file_name_problem, text_problem

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["Problem", "validate_protocol", "collect_tokens", "substring_pairs", "MIN_CONTEXT_LINES"]



def collect_tokens(protocol: "Protocol") -> tuple[list[Token], set[int]]:
    """Distinct token objects used by the protocol (TokenSet rows, then finals) and the ids used as finals."""
    seen: dict[int, Token] = {}
    finals: set[int] = set()
    for instruction in protocol.instructions:
        for ts in instruction.rows:
            for t in ts.tokens:
                seen.setdefault(id(t), t)
        for t in instruction.finals:
            if not isinstance(t, SpecialToken):
                seen.setdefault(id(t), t)
                finals.add(id(t))
    return list(seen.values()), finals


def validate_protocol(protocol: "Protocol", version: FormatVersion = DEFAULT_VERSION) -> list[Problem]:
    """Every problem of the protocol for the file ``version``, in a stable order; empty means it can be saved.

    Versions differ only in limits (FORMAT.md 2.7): minimum ``inputs``, string
    length, instruction context lines, digits in guardrail examples.
    """
    problems: list[Problem] = []
    describe = _describer(protocol)

    def add(rule: str, path: ProblemPath, message: str, hint: str) -> None:
        problems.append(Problem(rule, describe(path), message, hint, path))

    limit = version.max_string_length
    if not _validate_structure(add, protocol):
        return problems  # lists holding foreign objects: nothing else can be checked safely

    model_type = _model_type(protocol)
    _validate_layout(add, protocol, model_type, version)
    if protocol.inputs < version.min_inputs:
        newer = " or ".join(repr(v.bloom) for v in MAIN_VERSIONS
                            if model_type in v.model_types and v.min_inputs <= protocol.inputs)
        add("protocol.inputs", ("inputs",),
            f"inputs is {protocol.inputs}; the bloom {version.bloom} format needs at least {version.min_inputs}.",
            f"Create the protocol with inputs={version.min_inputs} or more, or save as version={newer}.")
    if not protocol.instructions:
        add("protocol.no-instructions", ("instructions",), "No instructions have been added.",
            "Call protocol.add_instruction(...) for each Instruction or ExtendedInstruction.")
    total = len(protocol.context) + sum(len(i.background) for i in protocol.instructions)
    if total < MIN_CONTEXT_LINES:
        add("protocol.context-lines", ("context",),
            f"{total} context line{'' if total == 1 else 's'} in total, less than the minimum required of "
            f"{MIN_CONTEXT_LINES}.",
            f"Add {MIN_CONTEXT_LINES - total} more with protocol.add_context(...) or instruction.add_context(...).")
    for i, line in enumerate(protocol.context):
        _check_length(add, "context.too-long", ("context", i), line, "context line", limit)
        _check_chars(add, ("context", i), line)

    for index, instruction in enumerate(protocol.instructions):
        _validate_instruction(add, ("instructions", index), instruction, version)

    _validate_model_type(add, protocol, version)
    _validate_tokens(add, protocol, version)
    _validate_guardrails(add, protocol, version)
    _validate_structural_text(add, protocol)
    return problems


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


#: Add one problem: ``add(rule, path, message, hint)``; the where text is written from the path.
_Add = Callable[[str, ProblemPath, str, str], None]


def _describer(protocol: "Protocol") -> Callable[[ProblemPath], str]:
    """The where text of a :data:`ProblemPath` in ``protocol`` (names looked up by index)."""
    head = f"protocol {_short(protocol.name)!r}"

    def describe(path: ProblemPath) -> str:
        kind, rest = (path[0], path[1:]) if path else ("", ())
        if kind == "context" and rest:
            return f"{head} context line {rest[0]}"
        if kind == "instructions" and rest:
            instruction = protocol.instructions[rest[0]]
            if not isinstance(instruction, BaseInstruction):
                return f"{head} instruction {rest[0]}"
            text = f"instruction {_short(instruction.name)!r}"
            detail = rest[1:]
            if detail[:1] == ("context",):
                return f"{text} context line {detail[1]}"
            if detail[:1] == ("samples",):
                return " ".join([text, "sample", str(detail[1]), *map(str, detail[2:])])
            if detail[:1] == ("finals",):
                return f"{text} final {detail[1]!r}"
            return text
        if kind == "tokens" and rest:
            return f"token {_short(str(rest[0])[:-1])!r}"
        if kind == "keys":
            return f"key {rest[0]!r}"
        if kind == "guardrails":
            return f"guardrail {_short(str(rest[0]))!r}"
        if kind == "tokensets":
            return f"TokenSet {rest[0]!r}"
        return head

    return describe


def _validate_structure(add: _Add, protocol: "Protocol") -> bool:
    """What a user can break by editing the protocol's lists and names after adding things; False when the
    lists hold objects of the wrong type (then nothing else is checked)."""
    sound = True
    problem = file_name_problem(protocol.name)
    if problem is not None:
        add("protocol.name", ("name",), f"the name {problem}; it names the saved files ({{name}}_model.json).",
            "Give the protocol a short plain name (letters, digits, spaces, '-' and '_').")
    for i, line in enumerate(protocol.context):
        if not isinstance(line, str):
            sound = False
            add("context.type", ("context", i), f"is a {type(line).__name__}, not a string.",
                "Add context lines with protocol.add_context(text).")
    seen: dict[str, int] = {}
    for index, instruction in enumerate(protocol.instructions):
        if not isinstance(instruction, BaseInstruction):
            sound = False
            add("protocol.instruction-type", ("instructions", index),
                f"is a {type(instruction).__name__}, not an Instruction or ExtendedInstruction.",
                "Add instructions with protocol.add_instruction(...) only.")
            continue
        where = ("instructions", index)
        if instruction.name in seen:
            add("instruction.duplicate-name", where,
                f"instructions {seen[instruction.name]} and {index} have the same name; the template "
                "would keep only one.", "Give every instruction a unique name.")
        seen.setdefault(instruction.name, index)
        problem = text_problem(instruction.name)
        if problem is not None:
            add("instruction.name", where, f"the name {problem}.", "Rename the instruction.")
        have = len(instruction.input_sets)
        if have != protocol.inputs:
            add("instruction.inputs", where,
                f"has {have} input line(s) but the protocol has inputs={protocol.inputs}.",
                "Set protocol.inputs back, or build the instruction with matching TokenSets.")
        for i, line in enumerate(instruction.background):
            if not isinstance(line, str):
                sound = False
                add("context.type", (*where, "context", i), f"is a {type(line).__name__}, not a "
                    "string.", "Add context lines with instruction.add_context(text).")
        for i, sample in enumerate(instruction.samples):
            if not isinstance(sample, Sample):
                sound = False
                add("instruction.sample-type", (*where, "samples", i),
                    f"is a {type(sample).__name__}, not a Sample.", "Add samples with add_sample(...) only.")
    for guardrail in dict.fromkeys(guardrail_map(i for i in protocol.instructions
                                                 if isinstance(i, BaseInstruction)).values()):
        for text in guardrail.samples:
            if not isinstance(text, str):
                sound = False
                add("guardrail.sample-type", ("guardrails", guardrail.bad_output),
                    f"a sample is a {type(text).__name__}, not a string.",
                    "Add samples with guardrail.add_sample(text) only.")
    return sound


def _validate_numbers(add: _Add, instruction: BaseInstruction, where: ProblemPath) -> None:
    """Numbers of the samples against their tokens' bounds as they are now (tokens may change after add)."""
    sets = [(li, ts, [t for t in ts.tokens if isinstance(t, NumToken)],
             [t for t in ts.tokens if isinstance(t, NumListToken)]) for li, ts in enumerate(instruction.tokensets)]
    sets = [entry for entry in sets if entry[2] or entry[3]]
    finals = [t for t in instruction.finals if isinstance(t, NumToken)]
    if not sets and not finals:
        return
    for si, sample in enumerate(instruction.samples):
        bad = None
        for li, _ts, nums, lists in sets:
            snippet = sample.inputs[li]
            if len(snippet.numbers) != len(nums) or len(snippet.number_lists) != len(lists):
                bad = f"input {li} has {len(snippet.numbers)} number(s) and {len(snippet.number_lists)} list(s)"
                break
            for n, t in zip(snippet.numbers, nums):
                if not t.min_value <= n <= t.max_value:
                    bad = f"input {li} number {n} is outside [{t.min_value}, {t.max_value}] of {t.name!r}"
            for values, t in zip(snippet.number_lists, lists):
                if len(values) != t.length:
                    bad = f"input {li} list has {len(values)} numbers; {t.name!r} has length {t.length}"
                elif not all(t.min_value <= n <= t.max_value for n in values):
                    bad = f"input {li} list {list(values)} leaves [{t.min_value}, {t.max_value}] of {t.name!r}"
        final = sample.final
        if isinstance(final, NumToken) and sample.value is not None and not final.min_value <= sample.value <= final.max_value:
            bad = f"value {sample.value} is outside [{final.min_value}, {final.max_value}] of final {final.name!r}"
        if bad is not None:
            add("sample.numbers", (*where, "samples", si), f"{bad} (a token changed after the sample was "
                "added).", "Change the token back, or remove and re-add the sample.")


def _check_length(add: _Add, rule: str, where: ProblemPath, text: str, what: str, limit: int | None) -> None:
    if limit is not None and len(text) > limit:
        add(rule, where, f"{what} has {len(text)} characters; the limit is {limit}.",
            f"Shorten it to {limit} characters or split it, or save as version='2.0.1' (no limit).")


def _validate_instruction(add: _Add, where: ProblemPath, instruction: BaseInstruction, version: FormatVersion) -> None:
    limit = version.max_string_length
    most = version.max_instruction_context
    if most is not None and len(instruction.background) > most:
        add("instruction.context-lines", where,
            f"{len(instruction.background)} context lines; an instruction holds at most {most} in bloom "
            f"{version.bloom}.",
            "Move general lines to protocol.add_context(...), or save as version='1.2.1' or '2.0.1'.")
    for i, line in enumerate(instruction.background):
        _check_length(add, "context.too-long", (*where, "context", i), line, "context line", limit)
    count = len(instruction.samples)
    minimum = MIN_STATE_MACHINE_SAMPLES if isinstance(instruction, StateMachineInstruction) else MIN_SAMPLES
    if count < minimum:
        needed = f"a state machine needs at least {minimum}" if minimum != MIN_SAMPLES else \
            f"at least {minimum} are required"
        add("instruction.too-few-samples", where, f"has only {count} sample{'' if count == 1 else 's'}; {needed}.",
            f"Add {minimum - count} more with add_sample(...).")
    per_final = Counter(map(_FINAL_VALUE, instruction.samples))
    declared = {t.value for t in instruction.finals} | {NON.value}
    for final in per_final.keys() - declared:
        add("sample.final", (*where, "finals", final[:-1]),
            "samples end with a final the instruction no longer declares.",
            "Put the token back into the instruction's finals, or remove those samples.")
    for final in instruction.finals:
        n = per_final.get(final.value, 0)
        if n < MIN_SAMPLES and count >= MIN_SAMPLES:
            add("final.too-few-samples", (*where, "finals", final.name),
                f"{n} sample(s) end with this final; each final needs at least {MIN_SAMPLES}.",
                f"Add {MIN_SAMPLES - n} sample(s) with final={final.name} or remove it from the finals.")
    prompt_index = -1 if instruction.prompt_index is None else instruction.prompt_index
    _validate_numbers(add, instruction, where)
    for i, line in enumerate(instruction.background):
        _check_chars(add, (*where, "context", i), line)
    if _any_line_break(instruction.samples):
        for si, sample in enumerate(instruction.samples):
            texts = [(("prompt",) if li == prompt_index else ("input", li), sn.string)
                     for li, sn in enumerate(sample.inputs)]
            for part, text in texts + [(("response",), sample.output)]:
                what = " ".join(map(str, part))
                if _NEWLINE(text):
                    add("string.newline", (*where, "samples", si, *part),
                        f"{what} {_preview(text)} contains a line break; each text is one line of the model's "
                        "input or output.", "Replace the line break with a space or split the text.")
                _check_chars(add, (*where, "samples", si, *part), text)
    if limit is None or _longest(instruction.samples) <= limit:
        return
    for si, sample in enumerate(instruction.samples):
        for li, sn in enumerate(sample.inputs):
            if len(sn.string) > limit:
                part = ("prompt",) if li == prompt_index else ("input", li)
                _check_length(add, "string.too-long", (*where, "samples", si, *part), sn.string,
                              " ".join(map(str, part)), limit)
        if len(sample.output) > limit:
            _check_length(add, "string.too-long", (*where, "samples", si, "response"), sample.output, "response", limit)


_FINAL_VALUE = attrgetter("final.value")
_OUTPUT = attrgetter("output")
_STRING = attrgetter("string")


_NEWLINE = re.compile(r"[\r\n]").search
#: Line breaks, NUL and surrogates: one scan finds any text that needs a closer look.
_LINE_BREAK = re.compile("[\r\n\0\ud800-\udfff]").search


def _check_chars(add: _Add, where: ProblemPath, text: str) -> None:
    """NUL and lone surrogates: a file holding them cannot be written as UTF-8 or is refused when read."""
    problem = text_problem(text)
    if problem is not None:
        add("string.invalid", where, f"the text {_preview(text)} {problem}.", "Remove the character.")


def _any_line_break(samples) -> bool:
    """Whether any input or response string breaks a line: one C-level pass in the common case of none."""
    return any(map(_LINE_BREAK, chain(map(_STRING, chain.from_iterable(map(attrgetter("inputs"), samples))),
                                      map(_OUTPUT, samples))))


def _preview(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _longest(samples) -> int:
    """The length of the longest input or response string: one C-level pass before the per-sample report."""
    inputs = max(map(len, map(_STRING, chain.from_iterable(map(attrgetter("inputs"), samples)))), default=0)
    return max(inputs, max(map(len, map(_OUTPUT, samples)), default=0))


def _reduce(text: str) -> str:
    """The substring rule compares lower-cased letters, digits and emoji only."""
    return "".join(ch for ch in text.lower() if ch.isalnum() or emoji.is_emoji(ch))


def substring_pairs(strings: Iterable[str]) -> list[tuple[str, str]]:
    """(inner, outer) pairs where the reduced ``inner`` occurs inside the reduced ``outer`` (MTP's substring rule).

    Strings that reduce to the same text are a pair too. The one home of the rule: validation and the CSV
    importer's choice of token names both use it.

    For each string only substrings of lengths that some other string has are
    looked up in a hash map, so the cost is O(n * L * distinct lengths).
    """
    by_reduced: dict[str, list[str]] = defaultdict(list)
    for s in strings:
        r = _reduce(s)
        if r:
            by_reduced[r].append(s)
    lengths = sorted({len(r) for r in by_reduced})
    pairs: list[tuple[str, str]] = []
    for r, originals in by_reduced.items():
        for a, b in zip(originals, originals[1:]):
            pairs.append((a, b))
        for length in lengths:
            if length >= len(r):
                break
            found = {r[i:i + length] for i in range(len(r) - length + 1)} & by_reduced.keys()
            for sub in sorted(found):
                pairs += [(inner, originals[0]) for inner in by_reduced[sub]]
    return pairs


_MODEL_TYPE_NAMES = {"generative": "generative", "state_machine": "state-machine",
                     "multi_classifier": "multi-classifier"}


def _model_type(protocol: "Protocol") -> str:
    """What the first instruction trains (``generative`` without instructions); mixing is its own problem."""
    return protocol.instructions[0].model_type if protocol.instructions else "generative"


def _validate_layout(add: _Add, protocol: "Protocol", model_type: str, version: FormatVersion) -> None:
    """The target layout must be able to hold what the protocol trains (FORMAT.md 2.7, 5.1, 5.2)."""
    if model_type not in version.model_types:
        can = ", ".join(repr(v) for v in layouts_holding(model_type))
        add("protocol.layout-model-type", ("instructions",),
            f"the bloom {version.bloom} layout cannot hold a {_MODEL_TYPE_NAMES.get(model_type, model_type)} "
            f"protocol; the layouts that can are {can}.",
            f"Save with version= one of {can} (the default for this protocol is the newest).")
    elif (protocol.instructions and version.marker is None and model_type == "generative"
          and _looks_like_a_state_machine(protocol)):
        add("protocol.layout-model-type", ("instructions",),
            f"the bloom {version.bloom} layout has no model-type marker, and this generative protocol (one instruction "
            "answering on a State line, every final <NON>) would be read back as a state machine, as reference "
            "0.5.x wrote them.", "Save as version='1.2.1' or '2.0.1', or rename the State token.")


def _validate_model_type(add: _Add, protocol: "Protocol", version: FormatVersion) -> None:
    """State machines and multi-classifiers (FORMAT.md 1.6, 5.1, 5.2): one model type per protocol, one
    state-machine instruction, answers from the declared states / state map, no guardrail on a multi-classifier
    (the layout is checked by :func:`_validate_layout`)."""
    instructions = protocol.instructions
    if not instructions:
        return
    first = instructions[0]
    for index, instruction in enumerate(instructions[1:], 1):
        if instruction.model_type != first.model_type:
            add("protocol.mixed-model-types", ("instructions", index),
                f"trains a {instruction.model_type!r} model but {first.name!r} trains a {first.model_type!r} model; "
                "a protocol trains one kind of model.", "Move this instruction into a protocol of its own.")
    machines = [i for i, ins in enumerate(instructions) if isinstance(ins, StateMachineInstruction)]
    if machines and len(instructions) > 1:
        add("state-machine.one-instruction", ("instructions", machines[0]),
            f"a state-machine protocol has exactly one instruction, this one has {len(instructions)}.",
            "Put every transition into the one StateMachineInstruction's samples; move other instructions into "
            "protocols of their own.")
    gmap = guardrail_map(instructions)
    classifiers = [(i, ins) for i, ins in enumerate(instructions) if isinstance(ins, MultiClassifierInstruction)]
    for index, instruction in classifiers:
        for line, _guardrail in instruction_guardrails(instruction, gmap):
            add("multi-classifier.guardrail", ("instructions", index),
                f"input line {line} ({instruction.tokensets[line]!r}) carries a guardrail, but a multi-classifier has "
                "no guardrail: it always answers with one value per label.",
                "Remove the guardrail (use a TokenSet without one), or make this a StateMachineInstruction, "
                "which can refuse.")
        if classifiers[0][1].state_map != instruction.state_map:
            add("multi-classifier.state-map", ("instructions", index),
                f"its state_map differs from that of {classifiers[0][1].name!r}; both answer on the same States line, "
                "whose description lists one map.", "Give every MultiClassifierInstruction of the protocol the same "
                "state_map.")
    for index in machines:
        _validate_states(add, ("instructions", index), instructions[index])
    for index, instruction in classifiers:
        _validate_labels(add, ("instructions", index), instruction)


def _looks_like_a_state_machine(protocol: "Protocol") -> bool:
    """What the reader takes for a bloom 1.1.0 state machine (formats/_reader.py ``_old_state_machine``)."""
    first = protocol.instructions[0]
    *rest, last = first.rows
    return (len(protocol.instructions) == 1 and first.prompt_index is None and bool(rest)
            and [t.value for t in last.tokens] == [token_value(STATE_TOKEN_NAME)]
            and bool(first.samples) and all(s.final is NON for s in first.samples))


def _validate_states(add: _Add, where: ProblemPath, instruction: StateMachineInstruction) -> None:
    if not instruction.states:
        add("state-machine.no-states", where, "declares no states, so its template could list none and no runtime "
            "could tell what it may answer.",
            "Create it with states=[...] listing every state its samples answer.")
        return
    declared = set(instruction.states)
    for si, sample in enumerate(instruction.samples):
        if sample.output not in declared:
            add("sample.state", (*where, "samples", si),
                f"answers state {_preview(sample.output)}, which is not one of the declared states "
                f"({', '.join(map(repr, instruction.states))}).",
                "Correct the sample's state, or create the instruction with that state in states=[...].")


def _validate_labels(add: _Add, where: ProblemPath, instruction: MultiClassifierInstruction) -> None:
    state_map = instruction.state_map
    for si, sample in enumerate(instruction.samples):
        labels = read_labels(sample.output)
        if labels is None:
            add("sample.labels", (*where, "samples", si), f"answer {_preview(sample.output)} is not a label dict.",
                "Add samples with add_sample(input_snippets, {label: value, ...}).")
            continue
        problem = labels_problem(labels, state_map)
        if problem is not None:
            add("sample.labels", (*where, "samples", si), f"{problem}.",
                "Give exactly one value for every label of the state_map.")
        for label, value in labels.items():
            if label in state_map and value not in state_map[label]:
                add("sample.labels-in-map", (*where, "samples", si),
                    f"label {label!r} has value {value!r}, which its state_map does not list "
                    f"({', '.join(map(repr, state_map[label]))}).",
                    "Correct the sample, or create the instruction with that value in state_map.")


def _generated_tokens(protocol: "Protocol") -> dict[int, BaseInstruction]:
    """The State/States tokens that state machines and multi-classifiers generate, by id, with their instruction."""
    return {id(i.response.tokens[0]): i for i in protocol.instructions
            if isinstance(i, (StateMachineInstruction, MultiClassifierInstruction))}


def _validate_tokens(add: _Add, protocol: "Protocol", version: FormatVersion) -> None:
    tokens, finals = collect_tokens(protocol)
    limit = version.max_string_length
    keys = protocol.key_map()
    generated = _generated_tokens(protocol)
    reserved = {instruction.response.tokens[0].value: instruction  # type: ignore[attr-defined]
                for instruction in generated.values()}
    by_value: dict[str, Token] = {}
    for t in tokens:
        if t.value in reserved and id(t) not in generated:
            owner = reserved[t.value]
            what = "state machine" if isinstance(owner, StateMachineInstruction) else "multi-classifier"
            add("token.generated-name", ("tokens", t.value),
                f"{t.name!r} is the name of the token the {what} {owner.name!r} answers on (generated from its "
                f"{'states' if what == 'state machine' else 'state_map'}); a token of yours cannot share it.",
                f"Rename your token to a name that does not contain {t.name!r} (substring rule), e.g. "
                f"mtp.Token({('Phase' if what == 'state machine' else 'Labels')!r}).")
            continue
        other = by_value.setdefault(t.value, t)
        if id(other) in generated and id(t) in generated:
            continue  # two multi-classifiers: their maps are compared by the multi-classifier.state-map rule
        if other is not t and other.signature() != t.signature():
            add("token.duplicate-value", ("tokens", t.value),
                f"two different tokens are named {t.name!r} ({other!r} and {t!r}).",
                "Use one token object for both, or rename one.")
    distinct = list(by_value.values())
    for t in distinct:
        if t.min_value is not None and t.max_value is not None and not t.min_value <= t.max_value:
            add("token.range", ("tokens", t.value), f"min_value {t.min_value} is above max_value "
                f"{t.max_value}.", "Set min_value <= max_value.")
        for text in (t.desc,) if t.desc else ():
            problem = text_problem(text)
            if problem is not None:
                add("string.invalid", ("tokens", t.value), f"its desc {problem}.", "Remove the character.")
    for t in distinct:  # values are written as strings of the set rows, which have the string limit
        if limit is not None and len(t.value) > limit:
            add("token.too-long", ("tokens", t.value),
                f"its value has {len(t.value)} characters; bloom {version.bloom} allows {limit}.",
                f"Use a name of at most {limit - 1} characters (a long description goes in desc=...).")
    by_key: dict[str, Token] = {}
    for t in distinct:
        other = by_key.setdefault(keys(t), t)
        if other is not t:
            add("token.duplicate-key", ("tokens", t.value),
                f"its key {keys(t)!r} is also the key of {other.name!r}.",
                "Give one of them a different key=...")
    for inner, outer in substring_pairs(t.value for t in distinct):
        made = [v for v in (inner, outer) if v in reserved]
        note = f" ({made[0]!r} is generated: the line a state machine or multi-classifier answers on)" if made else ""
        add("token.substring", ("tokens", inner),
            f"value {inner!r} is contained in {outer!r} (letters and digits only, case-insensitive){note}.",
            "Rename your token so neither name contains the other.")
    for inner, outer in substring_pairs(sorted({keys(t) for t in distinct})):
        add("token.key-substring", ("keys", inner),
            f"key {inner!r} is contained in key {outer!r} (letters and digits only, case-insensitive).",
            "Choose custom keys that do not contain each other.")
    # By value, not identity: an equal token object used as a final counts as the same token.
    row_values = {t.value for i in protocol.instructions for ts in i.rows for t in ts.tokens}
    final_values = {t.value for t in tokens if id(t) in finals}
    for t in distinct:
        if t.value in final_values and t.value in row_values:
            add("token.final-in-set", ("tokens", t.value),
                "is used both as a final and inside a TokenSet; a final token only closes answers.",
                f"Create a separate final token, e.g. mtp.Token({(t.name + 'Final')!r}).")


def _validate_structural_text(add: _Add, protocol: "Protocol") -> None:
    """No text may hold a structural string (a special token, a key): the tokenizer would make it that token.

    Training and every runtime treat user text the same way: a prompt line
    holding one is refused too (:meth:`Model.generate <..infer.Model.generate>`).
    """
    try:
        structural = structural_strings(protocol)
    except Exception:  # a protocol too broken to key: its other problems are reported
        return
    search = re.compile("|".join(map(re.escape, sorted(structural, key=len, reverse=True)))).search

    def check(where: ProblemPath, text: object) -> None:
        found = search(text) if isinstance(text, str) else None
        if found:
            add("string.structural", where, f"the text {_preview(text)} holds {found.group(0)!r}, a structural "
                "token of this protocol (a special token or a key): the model would read it as that token.",
                "Reword the text: user text may not contain structural tokens (docs/security.md).")

    for i, line in enumerate(protocol.context):
        check(("context", i), line)
    for index, instruction in enumerate(protocol.instructions):
        where = ("instructions", index)
        for i, line in enumerate(instruction.background):
            check((*where, "context", i), line)
        for si, sample in enumerate(instruction.samples):
            for li, snippet in enumerate(sample.inputs):
                check((*where, "samples", si, "input", li), snippet.string)
            check((*where, "samples", si, "response"), sample.output)
    for guardrail in dict.fromkeys(guardrail_map(protocol.instructions).values()):
        for text in (guardrail.bad_output, *guardrail.samples):
            check(("guardrails", guardrail.bad_output), text)


def _validate_guardrails(add: _Add, protocol: "Protocol", version: FormatVersion) -> None:
    for value_key, first, other in guardrail_conflicts(protocol.instructions):
        add("guardrail.conflict", ("tokensets", value_key),
            f"equal TokenSets carry different guardrails ({first!r} and {other!r}).",
            "Set the same Guardrail on every TokenSet with these tokens.")
    for guardrail in dict.fromkeys(guardrail_map(protocol.instructions).values()):
        n = len(guardrail.samples)
        if n < MIN_GUARDRAIL_SAMPLES:
            add("guardrail.too-few-samples", ("guardrails", guardrail.bad_output),
                f"{n} bad-prompt sample(s); at least {MIN_GUARDRAIL_SAMPLES} are required.",
                f"Add {MIN_GUARDRAIL_SAMPLES - n} more with guardrail.add_sample(...).")
        for text in (guardrail.good_prompt, guardrail.bad_prompt, guardrail.bad_output, *guardrail.samples):
            _check_chars(add, ("guardrails", guardrail.bad_output), text)
        for text in guardrail.samples:
            if isinstance(text, str) and not text.strip():
                add("guardrail.empty-sample", ("guardrails", guardrail.bad_output),
                    f"bad-prompt sample {text!r} is empty (added to guardrail.samples directly).",
                    "Remove it, or add a real off-topic prompt with guardrail.add_sample(...).")
        for text in (guardrail.bad_output, *guardrail.samples):
            if isinstance(text, str) and _NEWLINE(text):
                add("string.newline", ("guardrails", guardrail.bad_output),
                    f"{_preview(text)} contains a line break; bad prompts and the bad output are single lines.",
                    "Replace the line break with a space.")
        if not version.guardrail_digits:
            for text in guardrail.samples:
                if any(ch.isdigit() for ch in text):
                    add("guardrail.digits", ("guardrails", guardrail.bad_output),
                        f"bad-prompt sample {text!r} contains digits, which bloom {version.bloom} forbids.",
                        "Write numbers as words, or save as version='1.2.1' or '2.0.1'.")
