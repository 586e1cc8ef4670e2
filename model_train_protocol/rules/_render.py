"""The one canonical renderer: how a sample becomes the text lines a model reads and writes.

The template file, exports, training and inference all call these functions,
so the format they use can never disagree. The line grammar (FORMAT.md 3.3):

    prompt     = "<BOS>\\n" + line(S_1) + ... + line(S_n) + "<RUN>" + "\\n"
    line(S)    = keys(S) + "\\n" + text + "\\n"    every input line
    line(out)  = keys(out) + "\\n"                 basic: the response TokenSet announces the answer
    line(p)    = keys(p) + text + "\\n" + "\\n"     extended: the user's prompt, on the key line
    completion = text + "\\n" + final(F) + "\\n" + "<EOS>"
    refusal    = bad_output + "\\n" + R + "\\n" + "<EOS>"

``keys(S)`` is each token's key followed, for number tokens, by the sample's
number (``Mood_3``) or list (``Coords_[1, 2, 3]``); in the template the
numbers are placeholders (``<num_0_9>``). ``final(F)`` follows the same rule:
the final's key, then for a NumToken final the sample's value (``Madness_5``;
template ``Madness_<num_0_10>``), so the model learns to write the number. The
template's input lines end in ``<RUN>``; the newline after it separates prompt
from completion.

``R``, the final line of a guardrail refusal, depends on the file layout the
protocol is written in (FORMAT.md 3.4): ``<UNK>`` in 0.3.2; from template 1.1
on the key of the instruction's first declared final followed by ``<UNK>_``
(``Done_<UNK>_``; ``<NON>_<UNK>_`` for a state machine), the line the
reference's templates give a refusal. The template lists one such line per
declared final (:func:`refusal_lines`); training writes the first
(:func:`refusal_final`), the one the template's ``guardrail_model_output``
shows, and every runtime reads any of them as a refusal (:func:`..runtime.is_refusal_key`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping, Sequence

from ._versions import FormatVersion, format_version
from ..authoring import (BOS, EOS, NON, PAD, RUN, UNK, Guardrail, KeyMap, NumListToken, NumToken, Snippet, Token,
                         TokenSet, instruction_guardrails)
from ..runtime import REFUSAL_SUFFIX, STRING

if TYPE_CHECKING:
    from ..authoring import BaseInstruction, Protocol, Sample

__all__ = [
    "SPECIALS",
    "structural_strings",
    "RenderedExample",
    "tokenset_keys",
    "tokenset_pattern",
    "tokenset_filled",
    "input_lines",
    "template_names",
    "output_line",
    "final_pattern",
    "final_filled",
    "render_prompt",
    "render_completion",
    "render_sample",
    "render_guardrail_examples",
    "render_protocol",
    "protocol_layout",
    "refusal_lines",
    "refusal_final",
]


@dataclass(frozen=True)
class RenderedExample:
    """One training example as text: ``prompt + completion`` is the whole sequence.

    ``final`` is the key of the final token (for a guardrail refusal the refusal
    line of the layout: ``<UNK>``, ``Done_<UNK>_``),
    ``value`` the sample's number when that token is a NumToken, ``choice``
    the state (label line) a state-machine (multi-classifier) sample answers,
    whose final is always ``<NON>`` ("" for other examples).
    """

    instruction: str
    prompt: str
    completion: str
    final: str
    guardrail: bool = False
    index: int = 0
    value: int | float | None = None
    choice: str = ""

    @property
    def text(self) -> str:
        return self.prompt + self.completion

    @property
    def final_line(self) -> str:
        """The final as the model writes it: the key, then the value of a numeric final (``Madness_5``)."""
        return self.final if self.value is None else self.final + _format_number(self.value)


def tokenset_keys(ts: TokenSet, keys: KeyMap) -> str:
    """The TokenSet's key sequence (``Cat_🗣``), a structural token of the model."""
    return "".join(map(keys, ts.tokens))


#: The six special tokens, in a fixed order (their ids in a scratch tokenizer are 0..5).
SPECIALS: tuple[str, ...] = (BOS.key, EOS.key, RUN.key, PAD.key, UNK.key, NON.key)


def structural_strings(protocol: "Protocol") -> list[str]:
    """Every key the model reads or writes as a unit: token keys, TokenSet key sequences, final keys, and the
    refusal lines of guarded instructions in the protocol's layout (``Done_<UNK>_``).

    The special tokens come first; order is stable (first use), duplicates dropped.
    """
    keys = protocol.key_map()
    layout = protocol_layout(protocol)
    gmap = protocol.guardrail_map()
    found: dict[str, None] = dict.fromkeys(SPECIALS)
    for instruction in protocol.instructions:
        for ts in instruction.rows:
            found.setdefault(tokenset_keys(ts, keys))
            for token in ts.tokens:
                found.setdefault(keys(token))
        for final in instruction.finals:
            found.setdefault(keys(final))
        if instruction_guardrails(instruction, gmap):
            for _, key in refusal_lines(instruction, keys, layout):
                found.setdefault(key)
    return list(found)


def protocol_layout(protocol: "Protocol") -> FormatVersion:
    """The file layout the protocol is written in when none is named: its template, and so its training text."""
    return format_version(protocol.layout(), model_type=protocol.model_type)


def refusal_lines(instruction: "BaseInstruction", keys: KeyMap, layout: FormatVersion) -> list[tuple[str, str]]:
    """(value, key) of each final line a refusal of ``instruction`` may end with in ``layout``, the trained first:
    ``<UNK>`` in 0.3.2; later ``{final}<UNK>_`` per declared final, ``<NON>`` taking an underscore first
    (``<NON>_<UNK>_``), as the reference's templates write them."""
    if layout.major == 0:
        return [(UNK.value, UNK.key)]
    return [(_refusal(final.value, final), _refusal(keys(final), final)) for final in instruction.finals]


def _refusal(text: str, final: Token) -> str:
    return text + ("_" if final is NON else "") + REFUSAL_SUFFIX


def refusal_final(instruction: "BaseInstruction", keys: KeyMap, layout: FormatVersion) -> str:
    """The final line training writes after a refusal in ``layout`` (the first of :func:`refusal_lines`)."""
    return refusal_lines(instruction, keys, layout)[0][1]


def tokenset_pattern(ts: TokenSet, keys: KeyMap) -> str:
    """Keys with number placeholders right after their token (``Alice_🗣Mood_<num_0_9>``)."""
    return "".join(keys(t) + t.placeholder() for t in ts.tokens)


def _format_number(n: int | float) -> str:
    return str(n)


def _format_list(values: Sequence[int | float]) -> str:
    return "[" + ", ".join(_format_number(n) for n in values) + "]"


def tokenset_filled(ts: TokenSet, keys: KeyMap, snippet: Snippet) -> str:
    """Keys with the snippet's numbers in place of the placeholders (``Alice_🗣Mood_3``)."""
    if not snippet.numbers and not snippet.number_lists:
        return tokenset_keys(ts, keys)
    nums, lists = iter(snippet.numbers), iter(snippet.number_lists)
    parts = []
    for t in ts.tokens:
        parts.append(keys(t))
        if isinstance(t, NumToken):
            parts.append(_format_number(next(nums)))
        elif isinstance(t, NumListToken):
            parts.append(_format_list(next(lists)))
    return "".join(parts)


def input_lines(instruction: "BaseInstruction", keys: KeyMap) -> list[str]:
    """The template's input lines of an instruction, ``<string>`` marking free text."""
    lines = [BOS.key + "\n"]
    if instruction.prompt_index is not None:
        *inputs, prompt = instruction.tokensets
        lines += [tokenset_pattern(ts, keys) + "\n" + STRING + "\n" for ts in inputs]
        lines.append(tokenset_pattern(prompt, keys) + STRING + "\n\n")
    else:
        lines += [tokenset_pattern(ts, keys) + "\n" + STRING + "\n" for ts in instruction.tokensets]
        lines.append(tokenset_pattern(instruction.response, keys) + "\n")  # type: ignore[attr-defined]
    lines.append(RUN.key)
    return lines


def template_names(instructions: "Iterable[BaseInstruction]", described: "Mapping[str, Sequence[str]]",
                   keys: KeyMap) -> dict[str, str]:
    """For each instruction (by name), the name of the template instruction it is; unmatched ones are left out.

    By name when the template has it, else by identical input lines (``described``: template name -> input
    lines): model files of format 0.3.2 store no instruction names, so a loaded protocol calls them
    ``instruction_0``, ... while its template has the real ones. Instructions with the same input lines take
    the template's names with those lines in order. The one home of this matching (reader, inference, evaluation).
    """
    by_lines: dict[tuple[str, ...], list[str]] = {}
    for name, lines in described.items():
        by_lines.setdefault(tuple(lines), []).append(name)
    found: dict[str, str] = {}
    for instruction in instructions:
        if instruction.name in described:
            found[instruction.name] = instruction.name
            continue
        waiting = by_lines.get(tuple(input_lines(instruction, keys)))
        if waiting:
            found[instruction.name] = waiting.pop(0)
    return found


def final_pattern(final: Token, keys: KeyMap) -> str:
    """The final as the template shows it: its key, then a NumToken's placeholder (``Madness_<num_0_10>``)."""
    return keys(final) + final.placeholder()


def final_filled(final: Token, keys: KeyMap, value: int | float | None) -> str:
    """The final as the model writes it: its key, then a NumToken's value (``Madness_5``)."""
    return keys(final) + (_format_number(value) if isinstance(final, NumToken) and value is not None else "")


def output_line(final: str) -> str:
    """The template's output line for one final (a :func:`final_pattern` or a guardrail key)."""
    return render_completion(STRING, final)


def render_prompt(instruction: "BaseInstruction", snippets: Sequence[Snippet], keys: KeyMap) -> str:
    """The model input for one example: one snippet per context TokenSet (extended: the last is the prompt)."""
    parts = [BOS.key, "\n"]
    if instruction.prompt_index is not None:
        for ts, sn in zip(instruction.tokensets[:-1], snippets):
            parts += [tokenset_filled(ts, keys, sn), "\n", sn.string, "\n"]
        prompt = snippets[len(instruction.tokensets) - 1]
        parts += [tokenset_filled(instruction.tokensets[-1], keys, prompt), prompt.string, "\n\n"]
    else:
        for ts, sn in zip(instruction.tokensets, snippets):
            parts += [tokenset_filled(ts, keys, sn), "\n", sn.string, "\n"]
        parts += [tokenset_keys(instruction.response, keys), "\n"]  # type: ignore[attr-defined]
    parts += [RUN.key, "\n"]
    return "".join(parts)




def render_completion(text: str, final: str) -> str:
    """What the model writes: the answer text, the final (a :func:`final_filled`), ``<EOS>``."""
    return f"{text}\n{final}\n{EOS.key}"


def render_sample(instruction: "BaseInstruction", sample: "Sample", keys: KeyMap, index: int = 0) -> RenderedExample:
    """A sample as one prompt/completion pair."""
    value = sample.value if isinstance(sample.final, NumToken) else None
    return RenderedExample(
        instruction=instruction.name,
        prompt=render_prompt(instruction, sample.inputs, keys),
        completion=render_completion(instruction.answer(sample), final_filled(sample.final, keys, value)),
        final=keys(sample.final),
        index=index,
        value=value,
        choice=instruction.answer(sample) if instruction.model_type != "generative" else "",
    )


def render_guardrail_examples(
    instruction: "BaseInstruction", keys: KeyMap, gmap: "dict[str, Guardrail]", layout: FormatVersion
) -> Iterator[RenderedExample]:
    """Refusal examples: each bad prompt put into the guarded line of a sample, answered by ``bad_output`` and
    the refusal final of ``layout`` (:func:`refusal_final`).

    The other lines come from the instruction's samples in turn, so the model
    learns to refuse whatever the surrounding conversation is.
    """
    samples = instruction.samples
    if not samples:
        return
    refusal = refusal_final(instruction, keys, layout)
    count = 0
    for index, guardrail in instruction_guardrails(instruction, gmap):
        for bad in guardrail.samples:
            base = samples[count % len(samples)]
            old = base.inputs[index]
            snippets = list(base.inputs)
            snippets[index] = Snippet(bad, old.tokenset, old.numbers, old.number_lists)
            yield RenderedExample(
                instruction=instruction.name,
                prompt=render_prompt(instruction, snippets, keys),
                completion=render_completion(guardrail.bad_output, refusal),
                final=refusal,
                guardrail=True,
                index=count,
            )
            count += 1


def render_protocol(protocol: "Protocol", guardrails: bool = True) -> Iterator[RenderedExample]:
    """Every sample of every instruction (insertion order), then that instruction's guardrail refusals, as the
    template of the protocol's layout (:func:`protocol_layout`) describes them."""
    keys = protocol.key_map()
    gmap = protocol.guardrail_map()
    layout = protocol_layout(protocol)
    for instruction in protocol.instructions:
        for i, sample in enumerate(instruction.samples):
            yield render_sample(instruction, sample, keys, i)
        if guardrails:
            yield from render_guardrail_examples(instruction, keys, gmap, layout)
