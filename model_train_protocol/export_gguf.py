"""A trained model as a GGUF bundle for llama.cpp and the engine plugins built on it (LLMUnity, NobodyWho, ...).

The bundle (``mtp export-model DIR --format gguf``) holds::

    model-f16.gguf (or model-q8_0.gguf)   weights (LoRA merged) and tokenizer
    grammars/INSTRUCTION.gbnf             the answers each instruction allows
    prompts.json                          how to build each instruction's prompt, and where its grammar is
    runtime.json                          the model's compiled runtime spec, read from its directory and written
                                          in this version's form (what the C library, native/flora, reads of
                                          each instruction)
    README.md                             how an engine runs it

The GGUF is written for llama.cpp's ``llama`` architecture (SmolLM2 and the
scratch base are both ``LlamaForCausalLM``). Facts taken from llama.cpp's
converter: Hugging Face stores q/k projection rows in the rotate-half order,
llama.cpp expects the rows of each head interleaved in pairs, hence
:func:`permute_qk`; the byte-level BPE vocabulary is written as ``gpt2`` with a
pre-tokenizer name llama.cpp knows; added tokens are stored as their text,
special ones as control tokens. Every structural string of the protocol is
checked to be one token, and ``<EOS>`` is the end-of-generation token, so a
grammar that ends before it lets it close the answer.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import MTPFileError, MTPValueError
from .jsonio import dumps, process_alive, write_atomic
from .runtime import RUNTIME_FILE

if TYPE_CHECKING:
    import numpy as np

    from .runtime import InstructionSpec, RuntimeSpec

__all__ = ["QUANTS", "export_gguf", "permute_qk", "gguf_pre_tokenizer", "GGUFExport", "grammar_files"]

#: Weight types offered: f16 (lossless enough to match the Python runtime), q8_0 (half the size, near-lossless).
QUANTS = ("f16", "q8_0")
BUNDLE_FORMAT = "mtp-gguf-bundle/1"
_BYTE_LEVEL = {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}
#: Hugging Face pre-tokenizers and the llama.cpp pre-tokenizer that splits text the same way: GPT-2's byte-level
#: regex (what transformers builds for SmolLM2 from its GGUF), and digits one by one first (the scratch base,
#: and SmolLM2's original tokenizer: llama.cpp's ``smollm``).
_PRE_TOKENIZERS = {
    "gpt-2": [_BYTE_LEVEL],
    "smollm": [{"type": "Digits", "individual_digits": True}, _BYTE_LEVEL],
}


class GGUFExport(dict):  # type: ignore[type-arg]
    """What :func:`export_gguf` wrote: ``gguf``, ``grammars`` (by instruction), ``prompts``, ``runtime``, ``readme``
    paths.

    ``notes`` (an attribute, not a path) lists what ``mtp run`` decides for this model that the GGUF does not
    carry and that changes its answers (an intent head), one sentence each; empty when nothing does.
    """

    notes: list[str]


def intent_head_instructions(manifest: dict[str, Any]) -> list[str]:
    """The instructions whose finals an intent head decides in ``mtp run`` (``mtp.intent`` of the manifest)."""
    section = manifest.get("mtp") if isinstance(manifest, dict) else None
    intent = section.get("intent") if isinstance(section, dict) else None
    heads = intent.get("heads") if isinstance(intent, dict) else None
    return [str(h["instruction"]) for h in heads if isinstance(h, dict) and h.get("instruction")] \
        if isinstance(heads, list) else []


def intent_head_note(instructions: list[str]) -> str:
    """Why llama.cpp's finals can differ from ``mtp run``'s for a model with an intent head."""
    return (f"the intent head that decides the finals of {', '.join(repr(n) for n in instructions)} in `mtp run` is "
            "not part of the GGUF: llama.cpp answers with the language model's own final, which can differ from "
            "`mtp run`'s (train with --no-intent-head for a model whose language model decides).")


def permute_qk(weight: "np.ndarray", n_head: int) -> "np.ndarray":
    """Hugging Face q/k projection rows (rotate-half layout) in llama.cpp's rotary order (pairs interleaved).

    Within each head of ``d`` rows HF keeps the first halves of the rotary
    pairs in rows ``0..d/2`` and the second halves in ``d/2..d``; llama.cpp
    wants row ``2i`` and ``2i+1`` to be the pair ``i``. Pass the number of
    heads of this projection (the key/value heads for k).
    """
    rows = weight.shape[0]
    return (weight.reshape(n_head, 2, rows // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def gguf_pre_tokenizer(tokenizer_json: dict[str, Any]) -> str:
    """The llama.cpp pre-tokenizer name of a byte-level BPE ``tokenizer.json``, or an MTPError saying why none fits."""
    model = tokenizer_json.get("model") or {}
    if model.get("type") != "BPE":
        raise MTPValueError(f"the tokenizer is {model.get('type')!r}, not byte-level BPE; only BPE tokenizers "
                            "(SmolLM2, the scratch base) export to GGUF.")
    pre = tokenizer_json.get("pre_tokenizer") or {}
    steps = (pre.get("pretokenizers") or []) if pre.get("type") == "Sequence" else [pre]
    for name, wanted in _PRE_TOKENIZERS.items():
        seen = [{k: step.get(k) for k in want} for step, want in zip(steps, wanted)]
        if not tokenizer_json.get("normalizer") and len(steps) == len(wanted) and seen == wanted:
            return name
    raise MTPValueError(
        "the tokenizer's pre-tokenizer is neither GPT-2's byte-level split nor digits-then-byte-level (SmolLM2, the "
        "scratch base), the only ones this export maps to a llama.cpp pre-tokenizer ('gpt-2', 'smollm'); llama.cpp "
        "would split text differently from training. Train on --base scratch or smollm2.")


def export_gguf(
    model_dir: "str | os.PathLike[str]",
    out_dir: "str | os.PathLike[str] | None" = None,
    quant: str = "f16",
    strict_refusal: bool = False,
    without_intent_head: bool = False,
) -> GGUFExport:
    """Write the GGUF bundle of a trained model directory (read through its verified loader); return the paths.

    ``out_dir`` defaults to ``DIR-gguf`` beside the model directory (the model
    directory itself stays as its manifest lists it). The grammars allow what
    the Python constrained decoder allows: ``<UNK>`` after any text line. With
    ``strict_refusal`` ``<UNK>`` may only follow the guardrail's own refusal
    line; a model that refuses in other words then has to pick another final
    (measured: 11 of 322 support-intent prompts answered differently).

    A GGUF file holds the language model only. A model whose finals its intent
    head decides (the default on a pretrained base) is refused unless
    ``without_intent_head``: in llama.cpp its language model would decide alone,
    after the one epoch it was trained for the head's sake.
    """
    from .model_dir import load_trained

    if quant not in QUANTS:
        raise MTPValueError(f"unknown quantisation {quant!r}; choose one of {', '.join(QUANTS)}.")
    src = Path(model_dir)
    dst = Path(out_dir) if out_dir is not None else src.parent / f"{src.name}-gguf"
    if src.resolve() in (dst.resolve(), *dst.resolve().parents):
        raise MTPValueError("the GGUF bundle cannot be written into the model directory (its manifest lists every "
                            "file); pass another --out.")
    _check_out(dst)
    trained = load_trained(src, device="cpu")
    heads = intent_head_instructions(trained.manifest)
    if heads and not without_intent_head:
        raise MTPValueError(
            f"{src}: this model's finals are decided by its intent head, which a GGUF file cannot hold: in llama.cpp its "
            "language model would decide alone (it was trained one epoch, for the head's sake); train it with "
            "--no-intent-head for llama.cpp, or pass --without-intent-head to export the language model anyway.")
    runtime = trained.runtime
    assert runtime is not None  # load_trained reads (or compiles) it
    specs = runtime.specs
    model = trained.model
    if hasattr(model, "merge_and_unload"):  # a PEFT model: the adapters folded into the base weights
        model = model.merge_and_unload()
    tokenizer_json = _read_tokenizer_json(src)
    pre = gguf_pre_tokenizer(tokenizer_json)
    refusals = _refusals(runtime)
    from .infer import instruction_grammar

    grammars = {name: instruction_grammar(spec, refusals.get(name) if strict_refusal else None)
                for name, spec in specs.items()}  # before any file: a protocol no grammar fits writes nothing
    files = grammar_files(specs)
    name = f"model-{quant}.gguf"
    staging = _staging(dst)
    try:
        _write_gguf(staging / name, model, trained.tokenizer, tokenizer_json, pre, quant, runtime.structural,
                    trained.manifest.get("name") or src.name)
        (staging / "grammars").mkdir()
        for spec_name, grammar in grammars.items():
            write_atomic(staging / "grammars" / files[spec_name], grammar)
        structural = sorted(trained.tokenizer.get_added_vocab())
        write_atomic(staging / "prompts.json", dumps(_prompts(runtime, refusals, name, trained.manifest, files,
                                                              structural)))
        write_atomic(staging / RUNTIME_FILE, runtime.dumps())
        write_atomic(staging / "README.md", _readme(specs, name, files, heads))
        _check_out(dst)  # again: a directory filled while the model was written is not replaced either
        _move_in(staging, dst)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    written = GGUFExport(gguf=dst / name, grammars={n: dst / "grammars" / f for n, f in files.items()},
                         prompts=dst / "prompts.json", runtime=dst / RUNTIME_FILE, readme=dst / "README.md")
    written.notes = [intent_head_note(heads)] if heads else []
    return written


#: Longest instruction name kept in a grammar file name (ASCII, so the name stays far below any file system's limit).
_NAME_CHARS = 48
_STAGING = ".mtp-staging"


def grammar_files(specs: "dict[str, InstructionSpec]") -> dict[str, str]:
    """One grammar file name per instruction: unique (also on case-insensitive file systems), short, portable.

    A name of ASCII letters, digits, ``-`` and ``_`` of at most 48 characters
    is kept as it is; any other (or one that differs from an earlier one only
    in case) gets its characters replaced, is cut, and ends in 8 hex digits of
    its SHA-256, so ``cat talk`` and ``cat_talk`` differ.
    """
    files: dict[str, str] = {}
    taken: set[str] = set()
    for name in specs:
        safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)[:_NAME_CHARS]
        hashed = f"{safe or 'instruction'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        candidate, number = (safe if safe == name and safe.casefold() not in taken else hashed), 1
        while candidate.casefold() in taken:  # only names built to collide get here
            number += 1
            candidate = f"{hashed}-{number}"
        taken.add(candidate.casefold())
        files[name] = f"{candidate}.gbnf"
    return files


#: What a bundle's directory holds: an earlier bundle is the only thing an export replaces.
_BUNDLE_ENTRIES = {*(f"model-{q}.gguf" for q in QUANTS), "grammars", "prompts.json", RUNTIME_FILE, "README.md"}


def _check_out(dst: Path) -> None:
    """Refuse an output that holds anything but an earlier bundle: an export never replaces a user's files."""
    if not dst.exists() and not dst.is_symlink():
        return
    if dst.is_symlink() or not dst.is_dir():
        raise MTPFileError("the output exists and is not a directory; pass a new or empty directory to --out.",
                           path=str(dst))
    entries = sorted(os.listdir(dst))
    if not entries:
        return
    foreign = [e for e in entries if e not in _BUNDLE_ENTRIES]
    grammars = dst / "grammars"
    if not foreign and grammars.is_dir() and not grammars.is_symlink():
        foreign = [f"grammars/{e}" for e in sorted(os.listdir(grammars)) if not e.endswith(".gbnf")]
    if not foreign and not _is_bundle(dst / "prompts.json"):
        foreign = entries
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise MTPFileError(f"the output directory holds files an earlier GGUF export did not write ({shown}); "
                           "an export replaces only its own bundle. Pass a new or empty directory to --out.",
                           path=str(dst))


def _is_bundle(prompts: Path) -> bool:
    """Whether ``prompts`` is the prompts.json of a bundle this export wrote (its format tag)."""
    try:
        if prompts.is_symlink() or prompts.stat().st_size > 64 * 1024 * 1024:
            return False
        return json.loads(prompts.read_text(encoding="utf-8")).get("format") == BUNDLE_FORMAT
    except (OSError, ValueError, AttributeError):
        return False


def _staging(dst: Path) -> Path:
    """A new hidden folder beside ``dst`` that the bundle is written into (stale ones of dead exports removed)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{dst.name}."
    for entry in os.scandir(dst.parent):
        pid = entry.name[len(prefix):].split(".", 1)[0]
        if (entry.name.startswith(prefix) and entry.name.endswith(_STAGING) and pid.isdigit()
                and not process_alive(int(pid)) and entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid()):
            shutil.rmtree(entry.path, ignore_errors=True)
    while True:
        staging = dst.parent / f"{prefix}{os.getpid()}.{secrets.token_hex(6)}{_STAGING}"
        try:
            staging.mkdir(0o777)  # the umask applies, as to a plain mkdir
            return staging
        except FileExistsError:
            continue


def _move_in(staging: Path, dst: Path) -> None:
    """Put the finished bundle at ``dst`` with renames; an earlier bundle there goes only once the new one is in.

    The earlier bundle's GGUF of the other weight type stays (f16 and q8_0 may share a folder).
    """
    if not dst.exists():
        os.rename(staging, dst)
        return
    for other in (f"model-{q}.gguf" for q in QUANTS):
        if (dst / other).is_file() and not (dst / other).is_symlink() and not (staging / other).exists():
            try:
                os.link(dst / other, staging / other)
            except OSError:  # a file system without hard links
                shutil.copy2(dst / other, staging / other)
    old = staging.with_name(staging.name.removesuffix(_STAGING) + ".old" + _STAGING)
    os.rename(dst, old)
    try:
        os.rename(staging, dst)
    except BaseException:
        os.rename(old, dst)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _read_tokenizer_json(src: Path) -> dict[str, Any]:
    path = src / "tokenizer.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MTPFileError(f"cannot read the tokenizer: {exc}", path=str(path)) from None
    if not isinstance(document, dict):
        raise MTPFileError("tokenizer.json is not a JSON object", path=str(path))
    return document


def _refusals(runtime: "RuntimeSpec") -> dict[str, str]:
    """The guardrail's answer line of each guarded instruction (the runtime spec's refusal line), by name."""
    return {item.spec.name: item.refusal_line for item in runtime.instructions
            if item.spec.guardrail is not None and item.refusal_line is not None}


# --- the GGUF file ---------------------------------------------------------------
def _vocabulary(tokenizer: Any, tokenizer_json: dict[str, Any], vocab_size: int,
                structural: "tuple[str, ...]") -> tuple[list[str], list[int], list[str]]:
    """(tokens, token types, merges) as llama.cpp's ``gpt2`` tokenizer reads them."""
    import gguf

    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {a["id"]: a for a in tokenizer_json.get("added_tokens", [])}
    if max(by_id) >= vocab_size:
        raise MTPFileError(f"the tokenizer has ids up to {max(by_id)} but the model only {vocab_size} embeddings")
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(added[i]["content"])
            types.append(gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED)
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    if structural:
        single = {t for t, kind in zip(tokens, types) if kind in (gguf.TokenType.CONTROL, gguf.TokenType.USER_DEFINED)}
        missing = [s for s in structural if s not in single]
        if missing:
            raise MTPFileError(f"structural strings {missing[:5]} are not single added tokens of the tokenizer; "
                               "llama.cpp would split them. Was the model trained with `mtp train`?")
    merges = [m if isinstance(m, str) else " ".join(m) for m in tokenizer_json.get("model", {}).get("merges", [])]
    return tokens, [int(t) for t in types], merges


def _write_gguf(path: Path, model: Any, tokenizer: Any, tokenizer_json: dict[str, Any], pre: str, quant: str,
                structural: "tuple[str, ...]", name: str) -> None:
    import gguf

    config = model.config
    if getattr(config, "model_type", None) != "llama":
        raise MTPValueError(f"the model is a {getattr(config, 'model_type', None)!r}; only Llama models "
                            "(SmolLM2, the scratch base) export to GGUF.")
    n_head, n_kv = config.num_attention_heads, config.num_key_value_heads or config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // n_head
    n_layer = config.num_hidden_layers
    tokens, types, merges = _vocabulary(tokenizer, tokenizer_json, config.vocab_size, structural)
    ids = {t: i for i, t in enumerate(tokens)}

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        writer = gguf.GGUFWriter(tmp, "llama")
        writer.add_name(name)
        writer.add_context_length(config.max_position_embeddings)
        writer.add_embedding_length(config.hidden_size)
        writer.add_block_count(n_layer)
        writer.add_feed_forward_length(config.intermediate_size)
        writer.add_head_count(n_head)
        writer.add_head_count_kv(n_kv)
        writer.add_key_length(head_dim)
        writer.add_value_length(head_dim)
        writer.add_rope_dimension_count(head_dim)
        writer.add_layer_norm_rms_eps(config.rms_norm_eps)
        writer.add_rope_freq_base(float(_rope_theta(config)))
        writer.add_vocab_size(config.vocab_size)
        writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16 if quant == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0)
        writer.add_tokenizer_model("gpt2")
        writer.add_tokenizer_pre(pre)
        writer.add_token_list(tokens)
        writer.add_token_types(types)
        writer.add_token_merges(merges)
        for role, add in (("bos_token", writer.add_bos_token_id), ("eos_token", writer.add_eos_token_id),
                          ("unk_token", writer.add_unk_token_id), ("pad_token", writer.add_pad_token_id)):
            token = getattr(tokenizer, role, None)
            if token in ids:
                add(ids[token])
        if tokenizer.eos_token not in ids:
            raise MTPFileError("the tokenizer has no <EOS> token: generation could never end")
        writer.add_eot_token_id(ids[tokenizer.eos_token])  # <EOS> ends generation (llama.cpp's end-of-generation set)
        writer.add_add_bos_token(False)  # the prompt already starts with <BOS>
        writer.add_add_eos_token(False)

        names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, n_layer)
        state = {k: v.detach().float().cpu().numpy() for k, v in model.state_dict().items()}
        tied = bool(getattr(config, "tie_word_embeddings", False))
        for hf_name, data in state.items():
            if "rotary_emb" in hf_name or (tied and hf_name == "lm_head.weight"):
                continue
            gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
            if gguf_name is None:
                raise MTPValueError(f"the model holds a tensor {hf_name!r} llama.cpp's llama architecture has no "
                                    "place for.")
            if hf_name.endswith("q_proj.weight"):
                data = permute_qk(data, n_head)
            elif hf_name.endswith("k_proj.weight"):
                data = permute_qk(data, n_kv)
            _add_tensor(writer, gguf_name, data, quant)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _rope_theta(config: Any) -> float:
    """The rotary base; a scaled rotary embedding (llama3, yarn, ...) is refused rather than written unscaled."""
    params = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    kind = params.get("rope_type", params.get("type", "default")) if isinstance(params, dict) else "default"
    if kind not in ("default", None):
        raise MTPValueError(f"the model uses {kind!r} rotary scaling, which this export does not write; only "
                            "unscaled rotary embeddings (SmolLM2, the scratch base) export to GGUF.")
    theta = params.get("rope_theta") if isinstance(params, dict) else None
    return theta if theta is not None else getattr(config, "rope_theta", 10000.0)


def _add_tensor(writer: Any, name: str, data: "np.ndarray", quant: str) -> None:
    """Norms stay f32 (as llama.cpp's converter keeps them); matrices f16, or q8_0 when their rows hold whole blocks."""
    import gguf
    import numpy as np

    if data.ndim == 1:
        writer.add_tensor(name, data.astype(np.float32))
    elif quant == "q8_0" and data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
        qtype = gguf.GGMLQuantizationType.Q8_0
        writer.add_tensor(name, gguf.quants.quantize(data.astype(np.float32), qtype), raw_dtype=qtype)
    else:
        writer.add_tensor(name, data.astype(np.float16))


# --- prompts and README ------------------------------------------------------------
def _prompts(runtime: "RuntimeSpec", refusals: dict[str, str], gguf_name: str,
             manifest: dict[str, Any], files: dict[str, str], structural: list[str]) -> dict[str, Any]:
    """prompts.json: what an engine needs to build each instruction's prompt and read its answer, projected from
    the runtime spec for engines of any language (the C library, ``native/flora``, reads the spec itself,
    ``runtime.json`` beside it, and takes only the grammar files from here)."""
    specs = runtime.specs
    return {
        "format": BUNDLE_FORMAT,
        "model": gguf_name,
        "protocol": manifest.get("name"),
        "protocol_sha256": manifest.get("mtp", {}).get("protocol_sha256"),
        "add_bos": False,
        "end_of_generation": "<EOS>",
        "structural": structural,
        "how_to_fill": ("Replace '<string>' in the input lines, in order, with the text lines (one line each: "
                        "newlines become spaces); replace each '<num_MIN_MAX>' with an integer in [MIN, MAX] and "
                        "'<num_MIN_MAX_LEN>' with LEN integers written as '[a, b, ...]'; concatenate the lines and "
                        "append one '\\n'. Refuse a text line holding any string of 'structural' (special "
                        "tokens and keys: the tokenizer would make it the token itself). Tokenize with special tokens parsed and no BOS added (the prompt starts "
                        "with <BOS>). Generate under the instruction's grammar until <EOS>; the answer is "
                        "'TEXT\\nFINAL\\n'."),
        "instructions": {
            name: {
                "type": spec.kind,
                "input_lines": list(spec.input_lines),
                "text_lines": spec.text_lines,
                "user_lines": list(spec.user_lines),
                "prompt_line": spec.prompt_line,
                "numbers": [{"line": p.line, "min": p.min_value, "max": p.max_value, "length": p.length}
                            for p in spec.placeholders],
                "grammar": f"grammars/{files[name]}",
                "finals": [{"key": f.key, "name": f.name, **({"min": f.int_range()[0], "max": f.int_range()[1]}
                                                             if f.numeric else {})} for f in spec.finals],
                "refusal": ({"key": spec.guardrail.key, "keys": [g.key for g in spec.guardrails],
                             "text": refusals.get(name)} if spec.guardrail else None),
                **({"states": list(spec.states)} if spec.states is not None else {}),
                **({"labels": {label: list(values) for label, values in spec.labels}} if spec.labels is not None
                   else {}),
            }
            for name, spec in specs.items()
        },
    }


def _readme(specs: dict[str, "InstructionSpec"], gguf_name: str, files: dict[str, str],
            intent_heads: list[str] | None = None) -> str:
    first = next(iter(specs.values()))
    lines = [
        "# MTP model for llama.cpp",
        "",
        f"`{gguf_name}` is a llama.cpp model (architecture `llama`) exported by `mtp export-model --format gguf`.",
        "It answers one instruction per prompt; `prompts.json` says how to build each prompt and",
        "`grammars/` holds, per instruction, the GBNF grammar of the answers it may give.",
        "",
        "## Running one prompt",
        "",
        "1. Fill the instruction's `input_lines` (see `how_to_fill` in `prompts.json`). The prompt starts with",
        "   `<BOS>`: tokenize it with special tokens parsed and do not add another BOS.",
        "2. Sample with the instruction's grammar (greedy for the answers the model was trained on). The grammar",
        "   stops before `<EOS>`, the end-of-generation token, which then ends the answer.",
        "3. The output is `TEXT\\nFINAL\\n`: the text line, then the final's key (a numeric final's key is followed",
        "   by its integer, e.g. `Madness_5`). `finals` in `prompts.json` maps keys to names; a key of",
        "   `refusal.keys` (`<UNK>`, or `Done_<UNK>_` in templates 1.2 and 2.1) is a refusal (the guardrail),",
        "   normally written with the `refusal.text` line; the model was trained to write `refusal.key`.",
        "",
        "With llama.cpp's command-line tool:",
        "",
        "```sh",
        f"llama-completion -m {gguf_name} --grammar-file grammars/{files[first.name]} \\",
        "    --temp 0 -no-cnv --no-warmup --no-display-prompt --special -p \"$PROMPT\"",
        "```",
        "",
        "`--special` prints `<UNK>` and `<EOS>`; `llama-server` needs `--special` too, or a refusal loses its final.",
        "The prompt ends with a newline: pass it with `-p` (`-f FILE` drops a file's last newline). On a machine",
        "whose cores are busy, `--threads 1` is many times faster than more. `llama-completion` may lose its output",
        "at exit (exit status 0): read answers from a script through `llama-server` or libllama instead.",
        "",
        "Every structural token (`<BOS>`, `<RUN>`, `<EOS>`, the token keys and final keys) is one token of the",
        "vocabulary. Instructions: " + ", ".join(f"`{n}`" for n in specs) + ".",
        "",
    ]
    if intent_heads:
        note = intent_head_note(intent_heads).replace("--no-intent-head", "`mtp train --no-intent-head`")
        lines += [f"Note: {note[0].upper()}{note[1:]}", ""]
    return "\n".join(lines)
