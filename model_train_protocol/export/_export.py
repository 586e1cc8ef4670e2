"""Training data for the usual fine-tuning tools, one JSON object per line (JSONL).

Every example comes from the canonical renderer (:func:`..rules.render_protocol`):
``prompt + completion`` is exactly the sequence the template describes, and each
guardrail bad prompt becomes a refusal example. The formats and who reads them:

==================== ======================================================= ==========================================
format               one line                                                read by
==================== ======================================================= ==========================================
``openai-chat``      ``{"messages": [{"role": "user", ...}, {"role":          OpenAI fine-tuning, TRL (conversational),
                     "assistant", ...}]}`` (a ``system`` message first        axolotl ``chat_template``,
                     with ``context=True``)                                   LLaMA-Factory (``formatting: openai``)
``prompt-completion`` ``{"prompt": ..., "completion": ...}``                   TRL ``SFTTrainer`` (prompt-completion),
                                                                              axolotl ``input_output``-style configs
``alpaca``           ``{"instruction": ..., "input": "", "output": ...}``    LLaMA-Factory (alpaca), axolotl ``alpaca``
``sharegpt``         ``{"conversations": [{"from": "human", ...},             LLaMA-Factory (sharegpt), axolotl,
                     {"from": "gpt", ...}]}`` (``system`` turn first with     FastChat
                     ``context=True``)
``text``             ``{"text": prompt + completion}``                        TRL (language modeling), axolotl
                                                                              ``completion``, any causal-LM trainer
==================== ======================================================= ==========================================

With ``context=True`` every format carries the system text: a system turn
(chat formats), a ``system`` column (alpaca), or the text and a newline in
front of the prompt (prompt-completion, text), which is exactly what the raw
MTP chat template renders for a system turn. Beside the JSONL files an export
writes the files of :mod:`._finetune` (chat template, tokens
to add, LLaMA-Factory ``dataset_info.json``, axolotl snippet).

Every column holds one type in every line (strings, lists of objects with
string fields; never ``null``), so Hugging Face ``datasets`` loads the files.

The train/validation split is the one of :func:`._dataset.stratified_split`
(stratified by instruction and final, the same for ``mtp train`` and ``mtp eval``).
"""

from __future__ import annotations

import json
import os
from json.encoder import encode_basestring
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from ._dataset import Stratum, sample_counts, split_assignment, strata_counts
from ._dataset import stratum as example_stratum
from ..errors import MTPValidationError, MTPValueError
from ._finetune import with_system, write_tool_files
from ..jsonio import temp_file
from ..rules import BLOOM_2_0_1, RenderedExample, render_protocol

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "Stratum",
    "example_line",
    "example_record",
    "export_records",
    "split_assignment",
    "strata_counts",
    "export_protocol",
    "read_jsonl",
    "total_examples",
]

#: Export formats, in the order the CLI lists them.
FORMATS = ("openai-chat", "prompt-completion", "alpaca", "sharegpt", "text")

#: The model file layout with the fewest limits (one input line allowed, no length limits).
LENIENT_RULES = BLOOM_2_0_1.bloom

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - the stdlib's C encoder writes the same text, a little slower
    _orjson = None

def _quote(text: str) -> str:
    """``text`` as a JSON string, non-ASCII kept (orjson when installed; the same text as the stdlib's)."""
    return _orjson.dumps(text).decode("utf-8") if _orjson is not None else encode_basestring(text)


class ExportError(MTPValueError):
    """Export settings are wrong (unknown format, split fraction out of range)."""


def example_record(example: RenderedExample, fmt: str, system: str | None = None) -> dict:
    """One JSONL record of ``example`` in format ``fmt``; ``system`` adds a system turn where the format has one."""
    prompt, completion = example.prompt, example.completion
    if fmt == "openai-chat":
        messages = [{"role": "system", "content": system}] if system is not None else []
        messages += [{"role": "user", "content": prompt}, {"role": "assistant", "content": completion}]
        return {"messages": messages}
    if fmt == "prompt-completion":
        return {"prompt": with_system(system, prompt), "completion": completion}
    if fmt == "alpaca":
        record = {"instruction": prompt, "input": "", "output": completion}
        if system is not None:
            record["system"] = system
        return record
    if fmt == "sharegpt":
        turns = [{"from": "system", "value": system}] if system is not None else []
        turns += [{"from": "human", "value": prompt}, {"from": "gpt", "value": completion}]
        return {"conversations": turns}
    if fmt == "text":
        return {"text": with_system(system, prompt) + completion}
    raise ExportError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")


def example_line(example: RenderedExample, fmt: str, system: str | None = None) -> str:
    """:func:`example_record` as its JSONL line, written directly (the same text as ``json.dumps(record,
    ensure_ascii=False, separators=(", ", ": "))``, several times faster): only the strings need encoding."""
    q = _quote
    prompt, completion = q(example.prompt), q(example.completion)
    if fmt == "openai-chat":
        first = f'{{"role": "system", "content": {q(system)}}}, ' if system is not None else ""
        return (f'{{"messages": [{first}{{"role": "user", "content": {prompt}}}, '
                f'{{"role": "assistant", "content": {completion}}}]}}')
    if fmt == "prompt-completion":
        return f'{{"prompt": {q(with_system(system, example.prompt))}, "completion": {completion}}}'
    if fmt == "alpaca":
        last = f', "system": {q(system)}' if system is not None else ""
        return f'{{"instruction": {prompt}, "input": "", "output": {completion}{last}}}'
    if fmt == "sharegpt":
        first = f'{{"from": "system", "value": {q(system)}}}, ' if system is not None else ""
        return f'{{"conversations": [{first}{{"from": "human", "value": {prompt}}}, {{"from": "gpt", "value": {completion}}}]}}'
    if fmt == "text":
        return f'{{"text": {q(with_system(system, example.prompt) + example.completion)}}}'
    raise ExportError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")


@dataclass
class ExportResult:
    """What :func:`export_protocol` wrote: files and example counts (per split and per stratum)."""

    files: dict[str, Path] = field(default_factory=dict)
    tool_files: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    strata: dict[str, Counter[Stratum]] = field(default_factory=dict)
    guardrail_examples: int = 0


def export_records(
    protocol: "Protocol",
    fmt: str,
    context: bool = False,
    guardrails: bool = True,
) -> Iterator[tuple[Stratum, dict]]:
    """(stratum, record) for every rendered example of ``protocol``, in render order.

    ``context=True`` gives each record a system text made of the protocol's
    context lines followed by the instruction's own context lines.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    for example, system in _examples(protocol, context, guardrails):
        yield example_stratum(example), example_record(example, fmt, system)


def _examples(protocol: "Protocol", context: bool, guardrails: bool) -> Iterator[tuple[RenderedExample, str | None]]:
    """Every rendered example with its system text (None without ``context``)."""
    systems: dict[str, str] = {}
    if context:
        for instruction in protocol.instructions:
            systems[instruction.name] = "\n".join([*protocol.context, *instruction.background])
    for example in render_protocol(protocol, guardrails=guardrails):
        yield example, systems.get(example.instruction) if context else None


def export_protocol(
    protocol: "Protocol",
    out_dir: str | os.PathLike[str],
    fmt: str,
    val_split: float = 0.0,
    seed: int = 0,
    context: bool = False,
    guardrails: bool = True,
    progress: Callable[[int], None] | None = None,
    rules: str = LENIENT_RULES,
) -> ExportResult:
    """Write ``train.jsonl`` (and ``val.jsonl`` when ``val_split > 0``) into ``out_dir``, and the tool files.

    The protocol is validated first against the rules of layout ``rules``
    (default: the most permissive one, since training data does not depend on
    a file layout); an invalid protocol raises ``MTPValidationError``.
    ``progress`` is called with the number of examples written since its last call.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}.")
    if not 0.0 <= val_split < 1.0:
        raise ExportError(f"val_split must be at least 0 and below 1 (e.g. 0.1), got {val_split}.")
    problems = protocol.validate(rules)
    if problems:
        raise MTPValidationError(problems)
    counts = strata_counts(protocol) if guardrails else sample_counts(protocol)
    chosen = split_assignment(counts, val_split, seed)
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    names = ["train", "val"] if val_split > 0 else ["train"]
    result = ExportResult(files={n: directory / f"{n}.jsonl" for n in names})
    result.counts = {n: 0 for n in names}
    result.strata = {n: Counter() for n in names}
    seen: Counter[Stratum] = Counter()
    temps: dict[str, str] = {}
    handles = {}
    try:
        for n in names:  # unique names, created with O_EXCL: a planted link is never followed
            fd, temps[n] = temp_file(result.files[n])
            handles[n] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
    except BaseException:
        _discard(handles, temps)
        raise
    try:
        buffers: dict[str, list[str]] = {n: [] for n in names}
        pending = 0
        for example, system in _examples(protocol, context, guardrails):
            stratum = example_stratum(example)
            ordinal = seen[stratum]
            seen[stratum] += 1
            split = "val" if ordinal in chosen.get(stratum, ()) else "train"
            buffers[split].append(example_line(example, fmt, system))
            result.counts[split] += 1
            result.strata[split][stratum] += 1
            if example.guardrail:
                result.guardrail_examples += 1
            pending += 1
            if pending >= 4096:
                _flush(handles, buffers)
                if progress is not None:
                    progress(pending)
                pending = 0
        _flush(handles, buffers)
        if progress is not None and pending:
            progress(pending)
        if seen != counts:  # the split plan must match exactly what the renderer yields
            raise AssertionError(f"export: rendered {dict(seen)} but planned {dict(counts)}")
    except BaseException:
        _discard(handles, temps)
        raise
    try:
        for n in names:
            handles[n].close()
        _replace_together(directory, {temps[n]: result.files[n] for n in names},
                          [directory / f"{n}.jsonl" for n in ("val",) if n not in names])
    except BaseException:
        _discard(handles, temps)
        raise
    result.tool_files = write_tool_files(protocol, directory, fmt, {n: result.files[n].name for n in names}, context)
    return result


def _discard(handles: dict, temps: dict[str, str]) -> None:
    """Close and remove the temp files of a failed export."""
    for handle in handles.values():
        handle.close()
    for tmp in temps.values():
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass


def _replace_together(directory: Path, moves: dict[str, Path], stale: list[Path]) -> None:
    """Rename the temp files into place (and remove a stale ``val.jsonl``) under a lock on the folder.

    Two exports into one folder then never leave a mix: the folder holds the
    files of one of them, whichever renamed last.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; each rename is still atomic
        fcntl = None  # type: ignore[assignment]
    fd = os.open(directory, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        for tmp, target in moves.items():
            os.replace(tmp, target)
        for path in stale:
            if path.is_file() and not path.is_symlink():
                path.unlink()
    finally:
        os.close(fd)  # closing releases the lock


def _flush(handles: dict, buffers: dict[str, list[str]]) -> None:
    for name, lines in buffers.items():
        if lines:
            handles[name].write("\n".join(lines) + "\n")
            lines.clear()


def read_jsonl(path: str | os.PathLike[str]) -> list[dict]:
    """The records of a JSONL file (for tests and quick checks)."""
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def total_examples(protocol: "Protocol", guardrails: bool = True) -> int:
    """How many examples an export of ``protocol`` holds (for progress bars)."""
    return sum((strata_counts(protocol) if guardrails else sample_counts(protocol)).values())
