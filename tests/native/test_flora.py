"""native/flora: the reference runtime's C interface on llama.cpp, loaded with ctypes as a game engine loads it.

Marked ``llama_cpp``: they need a llama.cpp build (``MTP_LLAMA_CPP``, see docs/gguf.md) and a C++ compiler, and
skip saying why without them. The library is compiled once per source version into a cache outside the
repository (``$MTP_FLORA_CACHE``, else the system's temporary directory).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infer.tiny import cheshire, mtp_in_process

pytestmark = pytest.mark.llama_cpp

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "native" / "flora"
FUNCTIONS = ("InitNLM", "Inference", "OutputNLM", "Delete", "LogAddFilePointer")


class NLMOutput(ctypes.Structure):
    _fields_ = [("TokenSpeed", ctypes.c_float), ("Size", ctypes.c_int), ("Buffer", ctypes.POINTER(ctypes.c_ubyte))]


def _llama_build() -> tuple[Path, Path]:
    """(llama.cpp build directory, its source tree), or skip saying what is missing."""
    build = os.environ.get("MTP_LLAMA_CPP")
    if not build:
        pytest.skip("llama.cpp not available: set MTP_LLAMA_CPP to a llama.cpp build directory (see docs/gguf.md)")
    if not list((Path(build) / "bin").glob("libllama.so*")):
        pytest.skip(f"no libllama.so in {build}/bin: build llama.cpp there first (see docs/gguf.md)")
    cache = Path(build) / "CMakeCache.txt"
    found = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", cache.read_text(encoding="utf-8"), flags=re.M) \
        if cache.is_file() else None
    if not found or not (Path(found.group(1)) / "include" / "llama.h").is_file():
        pytest.skip(f"cannot find llama.cpp's source tree (include/llama.h) from {cache}")
    return Path(build), Path(found.group(1))


def compile_command(build: Path, source: Path, out: Path) -> list[str]:
    """The one-line build of docs/deploy.md."""
    lib = build / "bin"
    return ["g++", "-O2", "-std=c++17", "-shared", "-fPIC", "-fvisibility=hidden", str(SOURCE / "flora.cpp"),
            "-I", str(source / "include"), "-I", str(source / "ggml" / "include"), "-I", str(source / "vendor"),
            "-L", str(lib), "-lllama", "-lggml", "-lggml-base", f"-Wl,-rpath,{lib}",
            f"-Wl,--version-script={SOURCE / 'flora.map'}", "-o", str(out)]


@pytest.fixture(scope="module")
def library_path() -> Path:
    """libflora.so built against MTP_LLAMA_CPP, cached under a key of its sources and the llama.cpp build."""
    build, source = _llama_build()
    if sys.platform != "linux":
        pytest.skip("the test build of libflora is for Linux (elsewhere build with native/flora/CMakeLists.txt)")
    if shutil.which("g++") is None:
        pytest.skip("no C++ compiler (g++) to build native/flora")
    key = hashlib.sha256()
    for name in ("flora.cpp", "mtp_flora.h", "flora.map"):
        key.update((SOURCE / name).read_bytes())
    libllama = build / "bin" / "libllama.so"
    key.update(f"{build.resolve()}|{source.resolve()}|{libllama.stat().st_size}|{libllama.stat().st_mtime_ns}".encode())
    cache = Path(os.environ.get("MTP_FLORA_CACHE") or Path(tempfile.gettempdir()) / "mtp-flora-build")
    target = cache / key.hexdigest()[:16] / "libflora.so"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"libflora.so.{os.getpid()}.tmp")
        done = subprocess.run(compile_command(build, source, partial), capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        os.replace(partial, target)  # whole or not at all, for a concurrent run
    return target


@pytest.fixture(scope="module")
def flora(library_path, tmp_path_factory):
    """The library through ctypes, its log attached to a file (read by the tests of bad input)."""
    log = tmp_path_factory.mktemp("log") / "flora.log"
    os.environ["MTP_FLORA_LOG"] = str(log)
    lib = ctypes.CDLL(str(library_path))
    lib.InitNLM.argtypes, lib.InitNLM.restype = [ctypes.c_char_p, ctypes.c_bool], ctypes.c_void_p
    lib.Inference.argtypes, lib.Inference.restype = [ctypes.c_void_p, ctypes.c_char_p], None
    lib.OutputNLM.argtypes, lib.OutputNLM.restype = [ctypes.c_void_p], ctypes.POINTER(NLMOutput)
    lib.Delete.argtypes, lib.Delete.restype = [ctypes.c_void_p], None
    lib.LogAddFilePointer.argtypes, lib.LogAddFilePointer.restype = [], ctypes.c_int
    assert lib.LogAddFilePointer() == 0
    assert lib.LogAddFilePointer() == 0  # already attached
    lib.log_path = log
    yield lib
    os.environ.pop("MTP_FLORA_LOG", None)


@pytest.fixture(scope="module")
def cat(tmp_path_factory):
    """A scratch-trained Cheshire Cat model, its GGUF export (f16) and the Python runtime on it."""
    pytest.importorskip("gguf")
    return _trained_export(tmp_path_factory.mktemp("cat"), cheshire(False))


def _trained_export(root: Path, protocol) -> dict:
    from model_train_protocol import export_gguf
    from model_train_protocol.infer import Model

    model_file = protocol.save(path=root)
    code, _, err = mtp_in_process("-q", "train", model_file, "--out", root / "model", "--base", "scratch")
    assert code == 0, err
    export_gguf(root / "model", root / "gguf", quant="f16")
    return {"model": Model.load(root / "model"), "export": root / "gguf"}


@pytest.fixture(scope="module")
def npc(tmp_path_factory):
    """A scratch-trained state machine (game_states' NPC) and its GGUF export: prompts that may leave out their
    response-set line."""
    pytest.importorskip("gguf")
    from model_train_protocol.examples.game_states import build_state_machine

    return _trained_export(tmp_path_factory.mktemp("npc"), build_state_machine())


@pytest.fixture(scope="module")
def nlm(flora, cat):
    handle = flora.InitNLM(str(cat["export"]).encode(), False)
    assert handle
    yield handle
    flora.Delete(handle)


def answer_of(flora, handle, prompt: str) -> tuple[str, NLMOutput]:
    flora.Inference(handle, prompt.encode())
    out = flora.OutputNLM(handle).contents
    text = ctypes.string_at(out.Buffer)  # up to the NUL
    assert out.Size == len(text) + 1 and out.Buffer[out.Size - 1] == 0  # Size counts the NUL the plugin rewrites
    return text.decode("utf-8"), out


def protocol_prompts(model) -> dict[str, str]:
    from model_train_protocol.rules import instruction_names, render_protocol
    from model_train_protocol.model_dir import stored_protocol

    protocol = stored_protocol(model.directory)  # the runtime spec holds no samples: the directory's protocol
    names = instruction_names(protocol, model.specs)
    return {e.prompt: names[e.instruction] for e in render_protocol(protocol)}


def without_response_line(prompt: str) -> str:
    """The prompt a state-machine game sends: the line before <RUN> left out, and no final newline."""
    lines = prompt.rstrip("\n").split("\n")
    assert lines[-1] == "<RUN>"
    return "\n".join(lines[:-2] + lines[-1:])


def _template_regex(lines: list[str]) -> "re.Pattern[str]":
    """A regex of the prompts these input lines make (as model_train_protocol.infer.read_lines reads them)."""
    from model_train_protocol.runtime import NUM_PLACEHOLDER, STRING

    slot, pattern = re.compile(re.escape(STRING) + "|" + NUM_PLACEHOLDER.pattern), ""
    for line in lines:
        end = 0
        for m in slot.finditer(line):
            pattern += re.escape(line[end:m.start()]) + "[^\n]*"
            end = m.end()
        pattern += re.escape(line[end:])
    return re.compile(pattern + "\n")


def runtime_instructions(export: Path) -> dict[str, dict]:
    """The instructions of the bundle's runtime spec (what the library reads), by name."""
    return {i["name"]: i for i in json.loads((export / "runtime.json").read_text())["instructions"]}


def expected_instructions(export: Path, prompt: str) -> list[str]:
    """The instructions the library takes a prompt for: those it fits, else those it fits once their omissible
    line (the spec's ``omissible_line``) is left out."""
    instructions = runtime_instructions(export)
    prompt = prompt if prompt.endswith("\n") else prompt + "\n"
    full = [n for n, e in instructions.items() if _template_regex(e["input_lines"]).fullmatch(prompt)]
    return full or [n for n, e in instructions.items() if e["omissible_line"]
                    and _template_regex(e["input_lines"][:-2] + e["input_lines"][-1:]).fullmatch(prompt)]


# --- the interface --------------------------------------------------------------------------------------------
def test_exports_exactly_the_five_functions(library_path):
    header = (SOURCE / "mtp_flora.h").read_text()
    declared = re.findall(r"FLORA_API \w+\*? FLORA_CALL (\w+)\(", header)
    assert declared == list(FUNCTIONS)
    assert "float TokenSpeed;" in header and "int Size;" in header and "unsigned char* Buffer;" in header
    if shutil.which("nm") is None:
        pytest.skip("no nm to list the library's exported symbols")
    listing = subprocess.run(["nm", "-D", "--defined-only", str(library_path)], capture_output=True, text=True,
                             check=True).stdout
    exported = {line.split()[-1] for line in listing.splitlines() if line.split()[1:2] in (["T"], ["W"], ["D"], ["B"])}
    assert exported == set(FUNCTIONS)


def test_struct_layout_matches_the_plugin():
    """{float; int; unsigned char*}: 4 + 4 bytes, then the pointer, on 64-bit targets as the plugin expects."""
    assert NLMOutput.TokenSpeed.offset == 0 and NLMOutput.Size.offset == 4
    assert NLMOutput.Buffer.offset == 8 and ctypes.sizeof(NLMOutput) == 8 + ctypes.sizeof(ctypes.c_void_p)


# --- answers --------------------------------------------------------------------------------------------------
def test_answers_parse_and_agree_with_the_python_runtime(flora, nlm, cat):
    from model_train_protocol.infer import parse_completion

    model = cat["model"]
    prompts = protocol_prompts(model)
    assert len(prompts) > 20
    for i, (prompt, name) in enumerate(prompts.items()):
        spec = model.spec(name)
        sent = prompt if i % 2 else prompt.rstrip("\n")  # with and without the newline after <RUN>
        text, out = answer_of(flora, nlm, sent)
        theirs = parse_completion(text, spec)  # raises unless it is 'TEXT\nFINAL\n<EOS>' with an allowed final
        ours = model.complete(spec, prompt)
        assert (theirs.final, theirs.value) == (ours.candidate or ours.final, ours.value), (prompt, text, ours)
        assert out.TokenSpeed > 0


def test_a_prompt_without_its_response_set_line(flora, npc):
    """A state machine's line before <RUN> is put back when exactly one instruction fits the rest: the line the
    runtime spec names (``omissible_line``), as ``mtp run --prompt`` puts it back."""
    from model_train_protocol.infer import read_prompt

    instructions = runtime_instructions(npc["export"])
    handle = flora.InitNLM(str(npc["export"]).encode(), False)
    assert handle
    checked = 0
    try:
        for prompt, name in protocol_prompts(npc["model"]).items():
            assert instructions[name]["omissible_line"] == prompt.split("\n")[-3] + "\n"
            short = without_response_line(prompt)
            assert expected_instructions(npc["export"], short) == [name]
            assert read_prompt(npc["model"].specs.values(), short)[0].name == name  # as the Python runtime reads it
            full, _ = answer_of(flora, handle, prompt)
            text, out = answer_of(flora, handle, short)
            assert text == full and out.TokenSpeed > 0
            checked += 1
    finally:
        flora.Delete(handle)
    assert checked >= 5


def test_a_free_text_prompt_keeps_its_lines(flora, nlm, cat):
    """Only state machines and multi-classifiers may leave a line out: a generative instruction's prompt without
    its line before <RUN> fits no instruction, in the library as in ``mtp run --prompt``."""
    from model_train_protocol import MTPError
    from model_train_protocol.infer import read_prompt

    assert not any(i["omissible_line"] for i in runtime_instructions(cat["export"]).values())
    prompt = next(iter(protocol_prompts(cat["model"])))
    short = without_response_line(prompt)
    assert expected_instructions(cat["export"], short) == []
    with pytest.raises(MTPError):
        read_prompt(cat["model"].specs.values(), short)
    text, out = answer_of(flora, nlm, short)
    assert (text, out.TokenSpeed) == ("", 0.0)
    assert "matches the input lines of no instruction" in flora.log_path.read_text()


def test_ambiguous_prompts_are_refused(flora, npc, tmp_path):
    """An export whose instructions a prompt cannot tell apart: a copy of one under another name, and a copy that
    differs only in its response-set line."""
    export = tmp_path / "export"
    shutil.copytree(npc["export"], export)
    runtime = json.loads((export / "runtime.json").read_text())
    prompts = json.loads((export / "prompts.json").read_text())
    prompt, name = next(iter(protocol_prompts(npc["model"]).items()))
    [entry] = [i for i in runtime["instructions"] if i["name"] == name]
    response = entry["omissible_line"]
    runtime["instructions"] += [dict(entry, name="same_lines"),
                                dict(entry, name="other_response", omissible_line="Other_\n",
                                     input_lines=entry["input_lines"][:-2] + ["Other_\n", "<RUN>"])]
    for copy in ("same_lines", "other_response"):
        prompts["instructions"][copy] = prompts["instructions"][name]  # the same grammar file
    (export / "runtime.json").write_text(json.dumps(runtime))
    (export / "prompts.json").write_text(json.dumps(prompts))
    handle = flora.InitNLM(str(export).encode(), False)
    assert handle
    try:
        for sent, message in ((prompt, f"matches 2 instructions ({name}, same_lines)"),
                              (without_response_line(prompt), f"matches 3 instructions ({name}, same_lines, "
                               "other_response) once their response-set lines are left out")):
            assert len(expected_instructions(export, sent)) > 1
            text, out = answer_of(flora, handle, sent)
            assert (text, out.TokenSpeed) == ("", 0.0)
            assert message in flora.log_path.read_text(), message
        other = prompt.replace(response + "<RUN>", "Other_\n<RUN>")
        assert expected_instructions(export, other) == ["other_response"]
        from model_train_protocol.infer import parse_completion

        parse_completion(answer_of(flora, handle, other)[0], npc["model"].spec(name))
    finally:
        flora.Delete(handle)


def test_the_spec_is_read_from_runtime_json(flora, cat, tmp_path):
    """The library takes each instruction's lines from the runtime spec, not prompts.json (which may be any
    engine's guide): with prompts.json's copies of the lines gone it answers the same; without runtime.json (an
    export of an earlier version) it refuses the directory, saying to export again."""
    lean = tmp_path / "lean"
    shutil.copytree(cat["export"], lean)
    prompts = json.loads((lean / "prompts.json").read_text())
    prompts["instructions"] = {n: {"grammar": e["grammar"]} for n, e in prompts["instructions"].items()}
    (lean / "prompts.json").write_text(json.dumps(prompts))
    prompt = next(iter(protocol_prompts(cat["model"])))
    handles = [flora.InitNLM(str(folder).encode(), False) for folder in (cat["export"], lean)]
    assert all(handles)
    try:
        assert answer_of(flora, handles[0], prompt)[0] == answer_of(flora, handles[1], prompt)[0] != ""
    finally:
        for handle in handles:
            flora.Delete(handle)
    old = tmp_path / "old"
    shutil.copytree(cat["export"], old)
    (old / "runtime.json").unlink()
    assert flora.InitNLM(str(old).encode(), False) is None
    assert "old/runtime.json: an export of an earlier version" in flora.log_path.read_text()


def test_the_buffer_belongs_to_the_library_until_the_next_call(flora, nlm, cat):
    prompt = next(iter(protocol_prompts(cat["model"])))
    first, _ = answer_of(flora, nlm, prompt)
    out = flora.OutputNLM(nlm).contents
    out.Buffer[out.Size - 1] = 0  # what the Unreal plugin does
    assert ctypes.string_at(out.Buffer).decode() == first
    assert ctypes.addressof(flora.OutputNLM(nlm).contents) == ctypes.addressof(out)


def test_two_handles_answer_in_parallel(flora, cat):
    """As the plugin calls it, Inference on worker threads: two handles side by side answer as one alone does."""
    from concurrent.futures import ThreadPoolExecutor

    prompts = list(protocol_prompts(cat["model"]))[:8]
    handles = [flora.InitNLM(str(cat["export"]).encode(), False) for _ in range(2)]
    assert all(handles)
    try:
        alone = [answer_of(flora, handles[0], p)[0] for p in prompts]

        def answer_all(handle):  # ctypes lets go of the GIL while the library runs
            return [answer_of(flora, handle, p)[0] for p in prompts]

        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(answer_all, handles)) == [alone, alone]
    finally:
        for handle in handles:
            flora.Delete(handle)


# --- failures: logged, a safe return, never a crash -----------------------------------------------------------
def test_bad_handles_and_directories(flora, cat, tmp_path):
    assert flora.InitNLM(None, False) is None
    assert flora.InitNLM(str(tmp_path / "missing").encode(), False) is None
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "prompts.json").write_text("{not json")
    assert flora.InitNLM(str(tmp_path / "broken").encode(), False) is None
    no_model = tmp_path / "no-model"
    shutil.copytree(cat["export"], no_model, ignore=shutil.ignore_patterns("*.gguf"))
    assert flora.InitNLM(str(no_model).encode(), False) is None
    no_grammar = tmp_path / "no-grammar"
    shutil.copytree(cat["export"], no_grammar)
    next((no_grammar / "grammars").iterdir()).unlink()
    assert flora.InitNLM(str(no_grammar).encode(), False) is None
    flora.Inference(None, b"<BOS>\n<RUN>")
    assert not flora.OutputNLM(None)
    flora.Delete(None)
    handle = flora.InitNLM(str(cat["export"]).encode(), False)
    assert handle
    flora.Delete(handle)
    flora.Delete(handle)  # twice: logged, ignored
    flora.Inference(handle, b"<BOS>\n<RUN>")
    assert not flora.OutputNLM(handle)
    log = flora.log_path.read_text()
    for message in ("InitNLM: no model directory given", "missing/prompts.json", "broken/prompts.json is not",
                    "the model file", "cannot read the grammar", "Inference: NULL model handle",
                    "OutputNLM: NULL model handle", "Delete: NULL model handle",
                    "Delete: unknown or already deleted model handle", "Inference: unknown or deleted model handle"):
        assert message in log, message


def test_bad_prompts_clear_the_answer(flora, nlm, cat):
    model = cat["model"]
    prompt, name = next(iter(protocol_prompts(model).items()))
    for bad, message in ((None, "the prompt is NULL"), (b"", "matches the input lines of no instruction"),
                         (b"Hello, Cat!", "matches the input lines of no instruction"),
                         (prompt.replace("<BOS>", "<EOS>").encode(), "matches the input lines of no instruction"),
                         (_long(prompt).encode(), "the context holds")):
        assert answer_of(flora, nlm, prompt)[0]  # an answer to lose
        flora.Inference(nlm, bad)
        out = flora.OutputNLM(nlm).contents
        assert (out.Size, out.Buffer[0], out.TokenSpeed) == (1, 0, 0.0), bad
        assert message in flora.log_path.read_text(), message
    from model_train_protocol.infer import parse_completion

    parse_completion(answer_of(flora, nlm, prompt)[0], model.spec(name))  # still answers after them


def _long(prompt: str) -> str:
    """The prompt with its first text line (line 3: <BOS>, a key line, its text) 3000 words longer."""
    lines = prompt.split("\n")
    lines[2] += " word" * 3000
    return "\n".join(lines)


def test_verbose_logs_prompt_and_answer(flora, cat):
    handle = flora.InitNLM(str(cat["export"]).encode(), True)
    try:
        prompt = next(iter(protocol_prompts(cat["model"])))
        text, _ = answer_of(flora, handle, prompt)
        log = flora.log_path.read_text()
        assert "Inference: instruction '" in log and text.replace("\n", "\\n") in log
    finally:
        flora.Delete(handle)


# --- the documentation's example ----------------------------------------------------------------------------
def test_the_docs_ctypes_example_runs(library_path, cat, tmp_path):
    """docs/deploy.md's Python block, with ./libflora.so and ./cat-gguf in its directory."""
    document = (REPO / "docs" / "deploy.md").read_text()
    blocks = [b for b in re.findall(r"```python\n(.*?)```", document, flags=re.S) if "InitNLM" in b]
    assert len(blocks) == 1
    (tmp_path / "libflora.so").symlink_to(library_path)
    (tmp_path / "cat-gguf").symlink_to(cat["export"])
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    from model_train_protocol.infer import parse_completion

    model = cat["model"]
    prompt = ("<BOS>\nTree_English_Cat_Talk_\nThen it doesnt matter which way you go.\nTree_English_Alice_Talk_\n"
              "Can you tell me a way?\nTree_English_Cat_Talk_\n<RUN>")
    assert all(line in blocks[0] for line in prompt.split("\n"))  # the block's prompt
    [name] = expected_instructions(cat["export"], prompt)
    ours = model.complete(model.spec(name), prompt + "\n")
    theirs = parse_completion("\n".join(done.stdout.splitlines()[:3]), model.spec(name))
    assert theirs.final == (ours.candidate or ours.final), done.stdout
    assert re.fullmatch(r"\d+ tokens/s", done.stdout.splitlines()[3]), done.stdout
