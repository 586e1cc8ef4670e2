"""The model file (``{name}_model.json``, "bloom" 0.3.2): the protocol's training data.

Layout as the reference writes it (FORMAT.md 2): fixed top-level order, every
nested object with sorted keys, samples stably sorted by result, instruction
sets in insertion order (the reference's order is random; ours is stable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..guardrail import guardrail_map, instruction_guardrails
from ..render import KeyMap, tokenset_keys
from ..tokens import SPECIAL_TOKENS, UNK, NumListToken, NumToken, SpecialToken, Token
from ..validation import collect_tokens

if TYPE_CHECKING:
    from ..instructions import BaseInstruction
    from ..protocol import Protocol

__all__ = ["model_document", "BLOOM_0_3_2", "schema_url"]

SCHEMA_BASE = "https://mtp.schemas.databiomes.com"
BLOOM_0_3_2 = "0.3.2"


def schema_url(kind: str, version: str) -> str:
    """``https://mtp.schemas.databiomes.com/v{major}/{kind}_{x_y_z}.json``."""
    return f"{SCHEMA_BASE}/v{version.split('.')[0]}/{kind}_{version.replace('.', '_')}.json"


def token_type(token: Token, is_final: bool) -> str:
    """The ``type`` field: the reference's class name for the token's role."""
    if isinstance(token, SpecialToken):
        return token.file_type
    if isinstance(token, NumToken):
        return "FinalNumToken" if is_final else "NumToken"
    if isinstance(token, NumListToken):
        return "NumListToken"
    return "FinalToken" if is_final else "Token"


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
    if token.user:
        info["user"] = True
    return info


def has_guardrails(protocol: "Protocol") -> bool:
    return bool(guardrail_map(protocol.instructions))


def tokens_section(protocol: "Protocol", keys: KeyMap) -> dict[str, Any]:
    """Every token used by an instruction plus the special tokens, by value, sorted."""
    tokens, finals = collect_tokens(protocol)
    entries: dict[str, dict[str, Any]] = {}
    guarded = has_guardrails(protocol)
    for special in SPECIAL_TOKENS.values():
        if special is not UNK or guarded:
            entries[special.value] = token_info(special, special.key, False)
    for t in tokens:
        entries.setdefault(t.value, token_info(t, keys(t), id(t) in finals))
    return {k: entries[k] for k in sorted(entries)}


def special_tokens_section(protocol: "Protocol", keys: KeyMap) -> list[str]:
    """Special keys, every TokenSet key sequence and every final key: ``<BOS>``, ``<EOS>``, then sorted."""
    found = {t.key for t in SPECIAL_TOKENS.values() if t is not UNK}
    if has_guardrails(protocol):
        found.add(UNK.key)
    for instruction in protocol.instructions:
        found.update(tokenset_keys(ts, keys) for ts in instruction.rows)
        found.update(keys(s.final) for s in instruction.samples)
    rest = sorted(found - {"<BOS>", "<EOS>"})
    return ["<BOS>", "<EOS>", *rest]


def _sample_dict(instruction: "BaseInstruction", sample) -> dict[str, Any]:
    inputs = sample.inputs
    if instruction.kind == "extended":
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


def set_dict(instruction: "BaseInstruction", gmap: dict, with_name: bool = False) -> dict[str, Any]:
    """One ``instruction.sets`` entry (keys sorted; bloom 1.2.1+ adds ``name``)."""
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
    out["samples"] = [_sample_dict(instruction, s) for s in samples]
    out["set"] = [[t.value for t in ts.tokens] for ts in instruction.rows]
    return out


def model_document(protocol: "Protocol") -> dict[str, Any]:
    """The bloom 0.3.2 model file as a JSON-ready dict, in file order."""
    keys = protocol.key_map()
    gmap = guardrail_map(protocol.instructions)
    return {
        "$schema": schema_url("bloom", BLOOM_0_3_2),
        "name": protocol.name,
        "inputs": protocol.inputs,
        "encrypted": protocol.encrypt,
        "valid": True,
        "context": list(protocol.context),
        "tokens": tokens_section(protocol, keys),
        "special_tokens": special_tokens_section(protocol, keys),
        "instruction": {
            "memory": protocol.inputs + 1,
            "sets": [set_dict(i, gmap) for i in protocol.instructions],
        },
        "numbers": {},
        "batches": {"instruct": [], "judge": [], "ppo": [], "pretrain": []},
    }
