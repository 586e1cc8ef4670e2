"""GGUF export: the file read back with gguf's own reader, the grammars checked as regular languages, llama.cpp runs.

The llama.cpp tests (marker ``llama_cpp``) need a llama.cpp build: set
``MTP_LLAMA_CPP`` to its build directory (holding ``bin/llama-completion``).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from model_train_protocol.errors import MTPError
from model_train_protocol.infer import Final, InstructionSpec, instruction_grammar, integer_range

from infer.tiny import cheshire, mtp_in_process, tiny_parts


# --- a GBNF subset as Python regular expressions: what the grammars written here use ----------------------------
_GBNF_TOKEN = re.compile(r'\s*("(?:\\.|[^"\\])*"|\[(?:\\.|[^\]\\])*\]|\{\d+\}|[+?*]|[A-Za-z][A-Za-z0-9-]*|[|()])')


def _literal(body: str) -> str:
    return re.escape(re.sub(r"\\(x[0-9A-Fa-f]{2}|.)",
                            lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x"
                            else {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), body))


def gbnf_regex(grammar: str, rule: str = "root") -> "re.Pattern[str]":
    """A regex accepting what ``rule`` of the grammar accepts (literals, classes, groups, alternatives, {n})."""
    rules = {}
    for line in grammar.splitlines():
        if line.strip() and not line.startswith("#"):
            name, body = line.split("::=", 1)
            rules[name.strip()] = body

    def compile_rule(name: str) -> str:
        body, out, pos = rules[name], [], 0
        while pos < len(body.rstrip()):
            m = _GBNF_TOKEN.match(body, pos)
            assert m, f"unexpected GBNF at {body[pos:]!r}"
            tok, pos = m.group(1), m.end()
            if tok.startswith('"'):
                out.append(_literal(tok[1:-1]))
            elif tok.startswith("["):
                out.append(tok.replace("\\n", "\n"))
            elif tok.startswith("{") or tok in "|)+?*":
                out.append(tok)
            elif tok == "(":
                out.append("(?:")
            else:
                out.append(f"(?:{compile_rule(tok)})")
        return "".join(out)

    return re.compile(compile_rule(rule), re.DOTALL)


@pytest.mark.parametrize("lo,hi", [(0, 0), (0, 9), (1, 10), (0, 100), (7, 1234), (-5, 5), (-120, -7), (-3, 0),
                                   (99, 101), (10, 19), (250, 999)])
def test_integer_range_accepts_exactly_the_range(lo, hi):
    pattern = gbnf_regex(f"root ::= {integer_range(lo, hi)}\n")
    for n in range(lo - 150, hi + 150):
        assert bool(pattern.fullmatch(str(n))) == (lo <= n <= hi), n
    for bad in ("", "-", "-0", f"0{max(lo, 0)}", f"{hi} ", "+1"):
        if bad.lstrip("-") and bad == str(int(bad)) and lo <= int(bad) <= hi:
            continue
        assert not pattern.fullmatch(bad), bad


def test_integer_range_refuses_an_empty_range():
    with pytest.raises(MTPError, match="empty"):
        integer_range(3, 2)


def _spec(guarded: bool) -> InstructionSpec:
    return InstructionSpec(
        name="talk", kind="basic", input_lines=("<BOS><RUN>A_<string>\n",),
        finals=(Final("Vanish_", "Vanish_"), Final("Mad\"ness_", "Madness_", 1, 12)),
        guardrails=(Final("<UNK>", "<UNK>"),) if guarded else ())


def test_grammar_allows_exactly_the_template_answers():
    grammar = instruction_grammar(_spec(True), refusal="I cannot say.")
    root = gbnf_regex(grammar)
    assert root.fullmatch("Hello there.\nVanish_\n")
    assert root.fullmatch('x\nMad"ness_12\n') and root.fullmatch('x\nMad"ness_1\n')
    assert root.fullmatch("I cannot say.\n<UNK>\n")
    for bad in ("\nVanish_\n", "two\nlines\nVanish_\n", "x\nVanish_", "x\nVanish_\n<EOS>", 'x\nMad"ness_13\n',
                'x\nMad"ness_0\n', 'x\nMad"ness_\n', "x\nOther_\n", "other text\n<UNK>\n", "x\nVanish_\nx\n"):
        assert not root.fullmatch(bad), bad


def test_grammar_without_a_refusal_line_allows_unk_after_any_text():
    root = gbnf_regex(instruction_grammar(_spec(True)))
    assert root.fullmatch("anything\n<UNK>\n")
    assert not gbnf_regex(instruction_grammar(_spec(False))).fullmatch("anything\n<UNK>\n")


# --- the GGUF file ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_dir(tiny_model_dir):
    return tiny_model_dir(False)


@pytest.fixture(scope="module")
def gqa_dir(tmp_path_factory):
    """A tiny Llama with grouped-query attention (4 query heads, 1 key/value head) and tied embeddings, like SmolLM2."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from model_train_protocol.model_dir import write_manifest, write_protocol_files

    protocol = cheshire(True)
    _, tokenizer = tiny_parts(protocol)
    torch.manual_seed(1)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=96, num_hidden_layers=1,
                         num_attention_heads=4, num_key_value_heads=1, max_position_embeddings=256,
                         tie_word_embeddings=True)
    out = tmp_path_factory.mktemp("gqa") / "model"
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_protocol_files(out, protocol)
    write_manifest(out, protocol, {"base": "scratch", "val_split": 0.0, "seed": 0, "guardrails": True}, {})
    return out


@pytest.fixture(scope="module")
def bundles(tiny_dir, tmp_path_factory):
    pytest.importorskip("gguf")
    from model_train_protocol import export_gguf

    root = tmp_path_factory.mktemp("gguf")
    return {q: export_gguf(tiny_dir, root / q, quant=q) for q in ("f16", "q8_0")}


def _field(reader, key):
    import gguf

    field = reader.fields[key]
    if field.types[0] == gguf.GGUFValueType.ARRAY:
        if field.types[-1] == gguf.GGUFValueType.STRING:
            return [bytes(field.parts[i]).decode("utf-8") for i in field.data]
        return [field.parts[i].tolist()[0] for i in field.data]
    value = field.parts[field.data[0]]
    return bytes(value).decode("utf-8") if field.types[0] == gguf.GGUFValueType.STRING else value.tolist()[0]


def _hf_state(tiny_dir):
    from model_train_protocol.model_dir import load_trained

    trained = load_trained(tiny_dir, device="cpu")
    return trained, {k: v.float().numpy() for k, v in trained.model.state_dict().items()}


def _llama_rows(weight, n_head):
    """llama.cpp's row order written out row by row: in each head, row 2i is HF row i, row 2i+1 is HF row d/2+i."""
    import numpy as np

    d = weight.shape[0] // n_head
    order = [h * d + (i // 2 if i % 2 == 0 else d // 2 + i // 2) for h in range(n_head) for i in range(d)]
    return weight[np.array(order)]


def test_gguf_metadata_and_tokenizer(tiny_dir, bundles):
    import gguf

    from model_train_protocol.rules import structural_strings

    trained, _ = _hf_state(tiny_dir)
    reader = gguf.GGUFReader(bundles["f16"]["gguf"])
    config = trained.model.config
    assert _field(reader, "general.architecture") == "llama"
    assert _field(reader, "llama.block_count") == config.num_hidden_layers
    assert _field(reader, "llama.embedding_length") == config.hidden_size
    assert _field(reader, "llama.attention.head_count") == config.num_attention_heads
    assert _field(reader, "tokenizer.ggml.model") == "gpt2"
    assert _field(reader, "tokenizer.ggml.pre") == "smollm"
    assert _field(reader, "tokenizer.ggml.add_bos_token") is False
    tokens = _field(reader, "tokenizer.ggml.tokens")
    types = _field(reader, "tokenizer.ggml.token_type")
    assert len(tokens) == config.vocab_size
    vocab = trained.tokenizer.get_vocab()
    assert all(tokens[i] == t for t, i in vocab.items())
    eos = vocab["<EOS>"]
    assert _field(reader, "tokenizer.ggml.eos_token_id") == eos
    assert _field(reader, "tokenizer.ggml.eot_token_id") == eos
    assert _field(reader, "tokenizer.ggml.bos_token_id") == vocab["<BOS>"]
    for s in structural_strings(cheshire(False)):
        assert tokens.count(s) == 1, s
        assert types[tokens.index(s)] in (gguf.TokenType.CONTROL, gguf.TokenType.USER_DEFINED), s
        assert len(trained.tokenizer.encode(s, add_special_tokens=False)) == 1, s
    assert types[eos] == gguf.TokenType.CONTROL
    merges = _field(reader, "tokenizer.ggml.merges")
    assert merges and all(len(m.split(" ")) == 2 for m in merges)


@pytest.mark.parametrize("quant,tolerance", [("f16", 2e-3), ("q8_0", 2e-2)])
@pytest.mark.parametrize("which", ["tiny", "gqa"])
def test_gguf_weights_round_trip(tiny_dir, gqa_dir, bundles, quant, tolerance, which, tmp_path):
    import gguf
    import numpy as np

    from model_train_protocol import export_gguf

    model_dir = tiny_dir if which == "tiny" else gqa_dir
    trained, state = _hf_state(model_dir)
    config = trained.model.config
    path = bundles[quant]["gguf"] if which == "tiny" else export_gguf(model_dir, tmp_path / "b", quant=quant)["gguf"]
    reader = gguf.GGUFReader(path)
    tensors = {t.name: t for t in reader.tensors}
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    quantized = 0
    if config.tie_word_embeddings:
        state.pop("lm_head.weight")  # llama.cpp reuses token_embd.weight
        assert _field(reader, "llama.attention.head_count_kv") == config.num_key_value_heads
    for hf_name, weight in state.items():
        if "rotary" in hf_name:
            continue
        tensor = tensors.pop(names.get_name(hf_name, try_suffixes=(".weight", ".bias")))
        data = gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(weight.shape)
        quantized += tensor.tensor_type == gguf.GGMLQuantizationType.Q8_0
        if hf_name.endswith("q_proj.weight"):
            assert not np.allclose(data, weight, atol=tolerance)  # the permutation is not the identity here
            weight = _llama_rows(weight, config.num_attention_heads)
        elif hf_name.endswith("k_proj.weight"):
            weight = _llama_rows(weight, config.num_key_value_heads)
        np.testing.assert_allclose(data, weight, atol=tolerance * max(1.0, float(np.abs(weight).max())), err_msg=hf_name)
        if weight.ndim == 1:
            assert tensor.tensor_type == gguf.GGMLQuantizationType.F32
    assert not tensors, f"tensors without an HF source: {sorted(tensors)}"
    assert (quantized > 0) == (quant == "q8_0")


def test_bundle_files(tiny_dir, bundles):
    from model_train_protocol.infer import build_prompt, instruction_specs
    from model_train_protocol.rules import render_protocol

    written = bundles["f16"]
    prompts = json.loads(written["prompts"].read_text())
    protocol = cheshire(False)
    specs = instruction_specs(protocol.template_json(), protocol)
    assert set(prompts["instructions"]) == set(specs) == set(written["grammars"])
    assert prompts["add_bos"] is False and prompts["end_of_generation"] == "<EOS>"
    for name, spec in specs.items():
        entry = prompts["instructions"][name]
        assert entry["input_lines"] == list(spec.input_lines)
        grammar = (written["gguf"].parent / entry["grammar"]).read_text()
        assert grammar == written["grammars"][name].read_text()
        for final in spec.finals:
            assert json.dumps(final.key)[1:-1] in grammar
    # Every training answer of the protocol is a sentence of its instruction's grammar (without the <EOS> token).
    grammars = {n: gbnf_regex(p.read_text()) for n, p in written["grammars"].items()}
    checked = 0
    for example in render_protocol(protocol):
        completion = example.completion[: -len("<EOS>")]
        accepted = [n for n, g in grammars.items() if g.fullmatch(completion)]
        assert accepted, example.completion
        checked += 1
    assert checked > 10
    readme = written["readme"].read_text()
    assert "--grammar-file" in readme and written["gguf"].name in readme
    # The bundle carries the model's runtime spec as training wrote it: what the C library reads.
    assert written["runtime"].read_bytes() == (tiny_dir / "runtime.json").read_bytes()
    spec = next(iter(specs.values()))
    assert build_prompt(spec, ["x"] * spec.text_lines).startswith("<BOS>")


def test_cli_export_model(tiny_dir, tmp_path):
    code, out, err = mtp_in_process("export-model", tiny_dir, "--format", "gguf", "--quant", "q8_0",
                                    "--out", tmp_path / "b", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert Path(result["gguf"]).is_file() and Path(result["gguf"]).name == "model-q8_0.gguf"
    assert all(Path(p).is_file() for p in result["grammars"].values())
    guarded = Path(result["grammars"]["alice_asks_the_cat"]).read_text()
    assert "refusal ::=" not in guarded and '"<UNK>"' in guarded
    code, out, err = mtp_in_process("export-model", tiny_dir, "--format", "gguf", "--strict-refusal",
                                    "--out", tmp_path / "s", "--json")
    assert code == 0, err
    strict = Path(json.loads(out)["grammars"]["alice_asks_the_cat"]).read_text()
    assert 'refusal ::= "Are you as mad as me?"' in strict


def test_an_intent_head_is_said_to_be_left_out(tiny_dir, bundles, tmp_path):
    """The intent head decides a model's finals in `mtp run` but is not in the GGUF: the export refuses such a model
    unless asked, then says so (issue 21: a default-recipe SmolLM2 banking model's GGUF named the same final as
    `mtp run` for 31 of 320 prompts)."""
    import shutil

    from model_train_protocol.export_gguf import intent_head_instructions

    assert bundles["f16"].notes == []  # no head, nothing to say
    assert "intent head" not in bundles["f16"]["readme"].read_text()
    headed = tmp_path / "headed"
    shutil.copytree(tiny_dir, headed)
    manifest_path = headed / "mtp_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest.setdefault("mtp", {})["intent"] = {"encoder": "all-MiniLM-L6-v2", "heads": [
        {"instruction": "alice_cat_alice_appear_disappear", "position": 0, "line": 1, "classes": ["Appear", "Vanish"]}]}
    manifest_path.write_text(json.dumps(manifest))
    assert intent_head_instructions(manifest) == ["alice_cat_alice_appear_disappear"]
    assert intent_head_instructions({"mtp": {"intent": {"heads": "junk"}}}) == []
    code, out, err = mtp_in_process("export-model", headed, "--format", "gguf", "--out", tmp_path / "b")
    assert code != 0 and "--without-intent-head" in err and not (tmp_path / "b").exists()  # refused by default
    code, out, err = mtp_in_process("export-model", headed, "--format", "gguf", "--out", tmp_path / "b",
                                    "--without-intent-head")
    assert code == 0, err
    assert "note: the intent head that decides the finals of 'alice_cat_alice_appear_disappear'" in out
    assert "--no-intent-head" in out
    assert "not part of the GGUF" in (tmp_path / "b" / "README.md").read_text()
    code, out, err = mtp_in_process("export-model", headed, "--format", "gguf", "--out", tmp_path / "b", "--json",
                                    "--without-intent-head")
    assert code == 0, err
    [note] = json.loads(out)["notes"]
    assert "llama.cpp answers with the language model's own final" in note


def test_cli_export_model_refuses_bad_input(tiny_dir, tmp_path):
    for inside in (tiny_dir, tiny_dir / "gguf"):
        code, _, err = mtp_in_process("export-model", tiny_dir, "--format", "gguf", "--out", inside)
        assert code == 1 and "model directory" in err and "Traceback" not in err
    assert not (tiny_dir / "gguf").exists()
    (tmp_path / "empty").mkdir()
    code, _, err = mtp_in_process("export-model", tmp_path / "empty", "--format", "gguf", "--out", tmp_path / "x")
    assert code == 1 and "mtp_manifest.json" in err


def test_unknown_pre_tokenizer_is_refused():
    from model_train_protocol.export_gguf import gguf_pre_tokenizer

    document = {"model": {"type": "BPE"}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True}}
    with pytest.raises(MTPError, match="pre-tokenizer"):
        gguf_pre_tokenizer(document)
    with pytest.raises(MTPError, match="pre-tokenizer"):
        gguf_pre_tokenizer(dict(document, pre_tokenizer={"type": "Metaspace"}))
    with pytest.raises(MTPError, match="not byte-level BPE"):
        gguf_pre_tokenizer({"model": {"type": "Unigram"}})
    assert gguf_pre_tokenizer({"model": {"type": "BPE"}, "pre_tokenizer": {
        "type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}}) == "gpt-2"
    assert gguf_pre_tokenizer({"model": {"type": "BPE"}, "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": True},
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}}) == "smollm"


# --- llama.cpp itself ----------------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[1]


def _build_dir() -> Path:
    build = os.environ.get("MTP_LLAMA_CPP")
    if not build:
        pytest.skip("llama.cpp not available: set MTP_LLAMA_CPP to a llama.cpp build directory (see docs/gguf.md)")
    if not list((Path(build) / "bin").glob("libllama.so*")):
        pytest.skip(f"no libllama.so in {build}/bin: build llama.cpp there first (see docs/gguf.md)")
    return Path(build)


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    """bench/gguf_run.cpp compiled against the llama.cpp build: libllama as an engine plugin calls it."""
    build = _build_dir()
    cache = (build / "CMakeCache.txt").read_text(encoding="utf-8")
    source = Path(re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", cache, flags=re.M).group(1))
    binary = tmp_path_factory.mktemp("driver") / "mtp-gguf-run"
    lib = build / "bin"
    subprocess.run(["g++", "-O1", "-std=c++17", str(REPO / "bench" / "gguf_run.cpp"), "-I", str(source / "include"),
                    "-I", str(source / "ggml" / "include"), "-L", str(lib), "-lllama", "-lggml", "-lggml-base",
                    f"-Wl,-rpath,{lib}", "-o", str(binary)], check=True, timeout=600)
    return binary


def run_driver(binary: Path, gguf_path: Path, jobs: list[tuple[str, str]], max_tokens: int = 160) -> list[dict]:
    """(grammar text, prompt) jobs through one driver process: per job its output text and whether <EOS> ended it."""
    stdin = b"".join(f"{len(g.encode())} {len(p.encode())}\n".encode() + g.encode() + p.encode() for g, p in jobs)
    done = subprocess.run([str(binary), str(gguf_path), "1", str(max_tokens)], input=stdin, capture_output=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    results, data = [], done.stdout
    while data:
        header, data = data.split(b"\n", 1)
        fields = header.decode().split()
        size = int(fields[6])
        # An untrained model may pick byte tokens llama.cpp's grammar lets through as text although they are no
        # complete UTF-8 (seen with the random tiny model); shown escaped, they stay inside the text line.
        results.append({"ended": fields[5] == "1", "text": data[:size].decode("utf-8", "backslashreplace")})
        data = data[size + 1 :]
    assert len(results) == len(jobs)
    return results


def _numbers(spec) -> list:
    """In-range values for the instruction's number placeholders (-7 or the nearest bound; lists of them)."""
    values = [int(max(p.min_value, min(p.max_value, -7))) for p in spec.placeholders]
    return [[v] * p.length if p.length else v for v, p in zip(values, spec.placeholders)]


def capped_grammar(grammar: str) -> str:
    """A random untrained model never ends its text line: the same grammar with the text line at most 10 characters."""
    assert "text ::= [^\\n]+" in grammar
    return grammar.replace("text ::= [^\\n]+", "text ::= [^\\n] " + "[^\\n]? " * 9)


@pytest.mark.llama_cpp
@pytest.mark.parametrize("quant", ["f16", "q8_0"])
def test_llama_cpp_loads_and_follows_the_grammar(bundles, driver, quant):
    from model_train_protocol.infer import build_prompt, instruction_specs, parse_completion

    written = bundles[quant]
    specs = instruction_specs(cheshire(False).template_json(), cheshire(False))
    jobs = [(capped_grammar(written["grammars"][name].read_text()), build_prompt(spec, ["Who are you?"] * spec.text_lines,
                                                                                 _numbers(spec)))
            for name, spec in specs.items()]
    for (name, spec), run in zip(specs.items(), run_driver(driver, written["gguf"], jobs)):
        assert run["ended"] and run["text"].endswith("\n<EOS>"), run
        answer = parse_completion(run["text"], spec)  # raises unless it has the template's shape
        assert answer.final in {f.name for f in spec.outputs}


@pytest.mark.llama_cpp
def test_llama_cpp_tokenizes_prompts_as_transformers_does(tiny_dir, bundles, driver):
    from model_train_protocol.infer import build_prompt, instruction_specs

    trained, _ = _hf_state(tiny_dir)
    specs = instruction_specs(trained.template)
    texts = ["It's 12 o'clock,  said   the Cat 2024!", "Madness_5 Vanish_ <RUN> über 🐱 ", "a\tb  \u00a0c 3.14"]
    prompts = [build_prompt(spec, texts[: spec.text_lines] + ["x"] * (spec.text_lines - len(texts)), _numbers(spec))
               for spec in specs.values()]
    runs = run_driver(driver, bundles["f16"]["gguf"], [("", p) for p in prompts], max_tokens=0)
    for prompt, run in zip(prompts, runs):
        assert [int(i) for i in run["text"].split()] == trained.tokenizer.encode(prompt, add_special_tokens=False)


@pytest.mark.llama_cpp
def test_llama_completion_cli_with_grammar_file(bundles, tmp_path):
    """llama.cpp's own command-line tool, as the README of the bundle shows it."""
    binary = _build_dir() / "bin" / "llama-completion"
    if not binary.is_file():
        pytest.skip(f"{binary} is missing: build the llama-completion target (see docs/gguf.md)")
    from model_train_protocol.infer import build_prompt, instruction_specs, parse_completion

    written = bundles["f16"]
    name, spec = next(iter(instruction_specs(cheshire(False).template_json(), cheshire(False)).items()))
    grammar = tmp_path / "capped.gbnf"
    grammar.write_text(capped_grammar(written["grammars"][name].read_text()))
    command = [str(binary), "-m", str(written["gguf"]), "-p", build_prompt(spec, ["Hi"] * spec.text_lines, _numbers(spec)),
               "-n", "64", "--temp", "0", "-no-cnv", "--no-warmup", "-t", "1", "--no-display-prompt",
               "--special", "--grammar-file", str(grammar)]
    # llama-completion prints through an asynchronous logger that is not flushed at exit: a run may lose the end
    # of its output and still exit 0 (docs/gguf.md, step 3; 2 to 3 of 100 runs with one thread). Run it again
    # then, as the docs tell a script to; a complete answer in 5 tries is what is tested.
    for _ in range(5):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        text = done.stdout.rstrip("\n").removesuffix(" [end of text]")  # llama-completion's end marker
        if done.stdout.rstrip("\n").endswith(" [end of text]"):
            break
    assert text.endswith("\n<EOS>"), done.stdout  # ended on the end-of-generation token, printed by --special
    parse_completion(text, spec)


@pytest.mark.llama_cpp
def test_llama_cpp_agrees_with_python_on_a_trained_model(tmp_path, driver):
    """A scratch-trained Cheshire Cat model: every protocol prompt through both runtimes, greedy."""
    from model_train_protocol import export_gguf
    from model_train_protocol.infer import Model, parse_completion
    from model_train_protocol.rules import instruction_names, render_protocol

    protocol = cheshire(False)
    model_file = protocol.save(path=tmp_path)
    code, _, err = mtp_in_process("-q", "train", model_file, "--out", tmp_path / "cat", "--base", "scratch")
    assert code == 0, err
    model = Model.load(tmp_path / "cat")
    names = instruction_names(protocol, model.specs)
    prompts = {e.prompt: names[e.instruction] for e in render_protocol(protocol)}
    for quant in ("f16", "q8_0"):
        bundle = export_gguf(tmp_path / "cat", tmp_path / quant, quant=quant)
        jobs = [(bundle["grammars"][name].read_text(), prompt) for prompt, name in prompts.items()]
        agree = 0
        for (prompt, name), run in zip(prompts.items(), run_driver(driver, bundle["gguf"], jobs)):
            ours = model.complete(model.spec(name), prompt)
            theirs = parse_completion(run["text"], model.spec(name))  # raises unless it has the template's shape
            agree += (theirs.final, theirs.value) == (ours.candidate or ours.final, ours.value)
        assert agree >= 0.99 * len(prompts), f"{quant}: {agree} of {len(prompts)} finals agree"
