"""The model file (``{name}_model.json``, "bloom" 0.3.2, 1.1.0, 1.2.x or 2.0.x): the protocol's training data.

Layout as the reference writes it (FORMAT.md 2): fixed top-level order, every
nested object with sorted keys, samples stably sorted by result, instruction
sets in insertion order (the reference's order is random; ours is stable).
The versions differ only in their top level (2.7: ``numbers``/``batches`` in
0.3.2, the model-type marker) and the set ``name`` (1.2.0+). A state machine or
multi-classifier is written as the reference writes it (FORMAT.md 5.1, 5.2):
its generated ``State_``/``States_`` token closes the set, every result is
``<NON>``, and the marker says what it is (``state_machine: true`` in bloom
1.2.x, ``model_type`` in 2.x; bloom 1.1.0 has no marker, as reference 0.5.x).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from ..constants import BOS_STRING, EOS_STRING, token_type as type_of
from ..authoring import (SPECIAL_TOKENS, UNK, KeyMap, NumListToken, NumToken, SpecialToken, Token, UserToken,
                         guardrail_map, instruction_guardrails)
from ..rules import BLOOM_0_3_2 as _V0, DEFAULT_VERSION, FormatVersion, collect_tokens, schema_url, tokenset_keys
from ..jsonio import LazyList

if TYPE_CHECKING:
    from ..authoring import BaseInstruction, Protocol

__all__ = ["model_document", "BLOOM_0_3_2", "schema_url"]  # schema_url re-exported from versions

BLOOM_0_3_2 = _V0.bloom


def token_type(token: Token, is_final: bool) -> str:
    """The ``type`` field: the reference's class name for the token's role."""
    if isinstance(token, SpecialToken):
        return token.file_type
    return type_of(number=isinstance(token, NumToken), number_list=isinstance(token, NumListToken), final=is_final)


def token_info(token: Token, key: str, is_final: bool) -> dict[str, Any]:
    """One ``tokens`` entry, keys sorted; UserTokens add ``"user": true``."""
    info: dict[str, Any] = {
        "desc": token.desc,
        "key": key,
        "length": token.length,
        "max_value": token.max_value,
        "min_value": token.min_value,
        "num": isinstance(token, NumToken),
        "num_list": token.length or 0,
        "special": token.special if isinstance(token, SpecialToken) else None,
        "type": token_type(token, is_final),
    }
    if isinstance(token, UserToken) and token.marked:
        info["user"] = True
    return info


def tokens_section(protocol: "Protocol", keys: KeyMap, guarded: bool) -> dict[str, Any]:
    """Every token used by an instruction plus the special tokens, by value, sorted."""
    tokens, finals = collect_tokens(protocol)
    entries: dict[str, dict[str, Any]] = {}
    for special in SPECIAL_TOKENS.values():
        if special is not UNK or guarded:
            entries[special.value] = token_info(special, special.key, False)
    for t in tokens:
        entries.setdefault(t.value, token_info(t, keys(t), id(t) in finals))
    return {k: entries[k] for k in sorted(entries)}


def special_tokens_section(protocol: "Protocol", keys: KeyMap, guarded: bool) -> list[str]:
    """Special keys, every TokenSet key sequence and every final key: ``<BOS>``, ``<EOS>``, then sorted."""
    found = {t.key for t in SPECIAL_TOKENS.values() if t is not UNK}
    if guarded:
        found.add(UNK.key)
    for instruction in protocol.instructions:
        found.update(tokenset_keys(ts, keys) for ts in instruction.rows)
        found.update(keys(s.final) for s in instruction.samples)
    rest = sorted(found - {BOS_STRING, EOS_STRING})
    return [BOS_STRING, EOS_STRING, *rest]


def _sample_dict(instruction: "BaseInstruction", sample) -> dict[str, Any]:
    inputs = sample.inputs
    if instruction.prompt_index is not None:
        numbers = [list(sn.numbers) for sn in inputs]
        lists = [[list(v) for v in sn.number_lists] for sn in inputs]
        strings = [sn.string for sn in inputs[:-1]]
        prompt = inputs[-1].string
    else:
        numbers = [list(sn.numbers) for sn in inputs] + [[]]
        lists = [[list(v) for v in sn.number_lists] for sn in inputs] + [[]]
        strings = [sn.string for sn in inputs]
        prompt = None
    strings.append(sample.output)
    return {
        "number_lists": lists,
        "numbers": numbers,
        "prompt": prompt,
        "result": sample.final.value,
        "strings": strings,
        "value": sample.value,
    }


def _sample_maker(instruction: "BaseInstruction") -> Callable[[Any], dict[str, Any]]:
    """:func:`_sample_dict` for ``instruction``, with a shortcut for basic instructions without number tokens."""
    if instruction.prompt_index is not None or any(t.is_number for ts in instruction.rows for t in ts.tokens):
        return partial(_sample_dict, instruction)
    lines = range(len(instruction.tokensets) + 1)

    def plain(sample: Any) -> dict[str, Any]:
        strings = []
        for sn in sample.inputs:
            if sn.numbers or sn.number_lists:  # a Snippet built by hand, bypassing create_snippet
                return _sample_dict(instruction, sample)
            strings.append(sn.string)
        strings.append(sample.output)
        return {
            "number_lists": [[] for _ in lines],
            "numbers": [[] for _ in lines],
            "prompt": None,
            "result": sample.final.value,
            "strings": strings,
            "value": sample.value,
        }

    return plain


def set_dict(instruction: "BaseInstruction", gmap: dict, with_name: bool = False, lazy: bool = False) -> dict[str, Any]:
    """One ``instruction.sets`` entry (keys sorted; bloom 1.2.1+ adds ``name``).

    ``lazy`` makes ``samples`` a LazyList, so a writer streams the sample dicts
    one by one instead of holding a million of them (about 1 KB each) at once.
    """
    samples = sorted(instruction.samples, key=lambda s: s.final.value)
    out: dict[str, Any] = {
        "context": list(instruction.background),
        "guardrails": [
            {
                "bad_examples": list(g.samples),
                "bad_output": g.bad_output,
                "bad_prompt": g.bad_prompt,
                "good_prompt": g.good_prompt,
                "index": index,
            }
            for index, g in instruction_guardrails(instruction, gmap)
        ],
    }
    if with_name:
        out["name"] = instruction.name
    out["ppo"] = []
    if lazy:
        out["samples"] = LazyList(lambda: map(_sample_maker(instruction), samples), len(samples))
    else:
        out["samples"] = list(map(_sample_maker(instruction), samples))
    out["set"] = [[t.value for t in ts.tokens] for ts in instruction.rows]
    return out


def model_document(protocol: "Protocol", version: FormatVersion = DEFAULT_VERSION, lazy: bool = False) -> dict[str, Any]:
    """The model file of ``version`` (bloom 0.3.2 by default) as a JSON-ready dict, in file order.

    ``lazy``: samples as LazyLists, for :func:`~..jsonio.write_json_atomic` (see :func:`set_dict`).
    """
    keys = protocol.key_map()
    gmap = guardrail_map(protocol.instructions)
    major = version.major
    doc: dict[str, Any] = {"$schema": schema_url("bloom", version.bloom), "name": protocol.name, "inputs": protocol.inputs}
    if version.marker == "state_machine":
        doc["state_machine"] = protocol.model_type == "state_machine"
    elif version.marker == "model_type":
        doc["model_type"] = protocol.model_type
    doc.update({
        "encrypted": protocol.encrypt,
        "valid": True,
        "context": list(protocol.context),
        "tokens": tokens_section(protocol, keys, bool(gmap)),
        "special_tokens": special_tokens_section(protocol, keys, bool(gmap)),
        "instruction": {
            "memory": protocol.inputs + 1,
            "sets": [set_dict(i, gmap, with_name=version.set_names, lazy=lazy) for i in protocol.instructions],
        },
    })
    if major == 0:
        doc["numbers"] = {}
        doc["batches"] = {"instruct": [], "judge": [], "ppo": [], "pretrain": []}
    return doc
