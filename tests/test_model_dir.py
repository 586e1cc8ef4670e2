"""The trained-model directory contract: nothing in a directory can run code, tampering is an MTPFileError.

Every attack here recomputes the manifest, as an attacker would: it is a
checksum list, not a signature.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import cheshire, mtp_in_process, write_model_dir  # noqa: E402

from model_train_protocol.errors import MTPFileError  # noqa: E402
from model_train_protocol.model_dir import (  # noqa: E402
    MANIFEST, TOKENIZER_CLASS, load_trained, sha256_file, verify_dir,
)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return write_model_dir(cheshire(True), tmp_path_factory.mktemp("modeldir") / "model")


@pytest.fixture
def model(pristine, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(pristine, target)
    return target


def relist(directory: Path, extra: tuple[str, ...] = ()) -> None:
    """Recompute the manifest's checksums over every regular file, as an attacker can."""
    manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    files = sorted(str(p.relative_to(directory).as_posix()) for p in directory.rglob("*")
                   if p.is_file() and not p.is_symlink() and p.name != MANIFEST)
    manifest["files"] = [{"path": rel, "checksum": "sha256:" + sha256_file(directory / rel)} for rel in files]
    manifest["files"] += [{"path": rel, "checksum": "sha256:" + "0" * 64} for rel in extra]
    (directory / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data), encoding="utf-8")


#: Custom code as the issue's attacker wrote it: runs on import, and defines classes transformers can use.
EVIL = ("import pathlib\npathlib.Path({marker!r}).write_text('ran')\n"
        "from transformers import LlamaConfig, LlamaForCausalLM\n"
        "class Evil(LlamaConfig):\n    model_type = 'evil'\n"
        "class EvilModel(LlamaForCausalLM):\n    config_class = Evil\n")


def test_pristine_directory_loads_and_is_portable(model):
    loaded = load_trained(model, device="cpu")
    assert loaded.manifest["name"] == "cheshire_cat"
    config = json.loads((model / "tokenizer_config.json").read_text(encoding="utf-8"))
    # What transformers 4.x reads too (5.x writes TokenizersBackend and a list under extra_special_tokens).
    assert config["tokenizer_class"] == TOKENIZER_CLASS == "PreTrainedTokenizerFast"
    assert not isinstance(config.get("extra_special_tokens"), list)
    assert {"<RUN>", "<NON>"} <= set(config["additional_special_tokens"])
    assert {"<RUN>", "<NON>", "<BOS>", "<EOS>"} <= set(loaded.tokenizer.all_special_tokens)
    mask = os.umask(0)
    os.umask(mask)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in model.iterdir()}
    assert modes["model.safetensors"] == 0o666 & ~mask == modes["config.json"]


@pytest.mark.parametrize("config_name", ["config.json", "tokenizer_config.json"])
def test_auto_map_is_refused_even_with_yes_on_stdin(model, tmp_path, config_name):
    """The issue's repro: `yes` piped into `mtp run` on a directory whose config maps to code beside it."""
    marker = tmp_path / "ran.txt"
    (model / "evil.py").write_text(EVIL.format(marker=str(marker)), encoding="utf-8")
    edit_json(model / config_name, auto_map={"AutoConfig": "evil.Evil", "AutoModelForCausalLM": "evil.EvilModel",
                                             "AutoTokenizer": ["evil.Evil", None]})
    if config_name == "config.json":  # a type transformers does not ship: it would then ask to run evil.py
        edit_json(model / config_name, model_type="evil")
    relist(model)
    yes = subprocess.Popen(["yes"], stdout=subprocess.PIPE)
    try:
        proc = subprocess.run([sys.executable, "-c", "from model_train_protocol.cli import main; main()", "run", str(model), "-i",
                               "alice_asks_the_cat", "-l", "a", "-l", "b"], stdin=yes.stdout, capture_output=True,
                              text=True, timeout=300)
    finally:
        yes.kill()
        yes.wait()
    assert proc.returncode == 1 and not marker.exists()
    assert proc.stderr.startswith("error:") and "code" in proc.stderr and "Traceback" not in proc.stderr
    (model / "evil.py").unlink()
    relist(model)
    with pytest.raises(MTPFileError, match="auto_map"):
        load_trained(model)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["modeling_evil.py", "sub/evil.py", "checkpoints/last/x.py", "lib.so"])
def test_code_files_are_refused_even_when_listed(model, name):
    (model / name).parent.mkdir(parents=True, exist_ok=True)
    (model / name).write_text("raise SystemExit('ran')\n", encoding="utf-8")
    relist(model)
    with pytest.raises(MTPFileError, match="code"):
        verify_dir(model)


@pytest.mark.parametrize("change, match", [
    ({"model_type": "evil_custom"}, "model_type 'evil_custom'"),
    ({"quantization_config": {"quant_method": "bitsandbytes", "load_in_8bit": True}}, "quantization_config"),
    ({"custom_pipelines": {"x": {"impl": "evil.Pipe"}}}, "custom_pipelines"),
])
def test_configs_that_import_code_are_refused(model, change, match):
    edit_json(model / "config.json", **change)
    relist(model)
    with pytest.raises(MTPFileError, match=match) as info:
        load_trained(model)
    assert "config.json" in str(info.value)


def test_a_file_link_to_an_identical_file_outside_is_refused(model, tmp_path):
    outside = tmp_path / "outside_template.json"
    shutil.copy(model / "mtp_template.json", outside)
    (model / "mtp_template.json").unlink()
    (model / "mtp_template.json").symlink_to(outside)
    with pytest.raises(MTPFileError, match="symbolic link"):
        load_trained(model)


def test_a_directory_link_out_of_the_model_directory_is_refused(model):
    (model / "etc").symlink_to("/etc")
    relist(model, extra=("etc/hostname",))
    with pytest.raises(MTPFileError, match="symbolic link"):
        verify_dir(model)


def test_a_fifo_in_the_directory_is_refused(model):
    os.mkfifo(model / "README.md")
    with pytest.raises(MTPFileError, match="not a regular file"):
        verify_dir(model)


@pytest.mark.parametrize("name, content, where", [
    ("model.safetensors", b"\x10\x00\x00\x00\x00\x00\x00\x00{}", "model.safetensors"),
    ("model.safetensors", b"\xff" * 64, "model.safetensors"),
    ("model.safetensors", b"\x08\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}", "model.safetensors"),
    ("tokenizer.json", b'{"version": "1.0", "model": {"type": "Nope"}}', "tokenizer"),
    ("tokenizer.json", b"\xff\xfe not utf-8", "tokenizer"),
    ("config.json", b'{"model_type": "llama", "hidden_size": "big"}', "model"),
    ("config.json", b"\xc3\x28", "config.json"),
    ("tokenizer.json", b"[]", "tokenizer"),
    ("mtp_template.json", b'{"a": 1, "a": 2}', "mtp_template.json"),
])
def test_tampered_files_give_an_mtp_error_naming_the_file(model, name, content, where):
    (model / name).write_bytes(content)
    relist(model)
    with pytest.raises(MTPFileError) as info:
        load_trained(model)
    assert where in str(info.value)


def test_a_deeply_nested_manifest_is_an_mtp_error(model):
    (model / MANIFEST).write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    with pytest.raises(MTPFileError, match="mtp_manifest.json"):
        verify_dir(model)


def test_hub_files_are_tolerated_but_unlisted_weights_are_not(model):
    (model / "README.md").write_text("---\nlicense: mit\n---\n# model\n", encoding="utf-8")
    (model / ".gitattributes").write_text("*.safetensors filter=lfs\n", encoding="utf-8")
    (model / ".cache" / "huggingface").mkdir(parents=True)
    (model / ".cache" / "huggingface" / "download.metadata").write_text("x", encoding="utf-8")
    verify_dir(model)
    (model / "model-00002-of-00002.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    with pytest.raises(MTPFileError, match="unexpected file"):
        verify_dir(model)


def test_a_directory_trained_elsewhere_loads_with_its_template(model, tmp_path):
    template = tmp_path / "cheshire_cat_template.json"
    shutil.copy(model / "mtp_template.json", template)
    for name in (MANIFEST, "mtp_model.json", "mtp_template.json"):
        (model / name).unlink()
    with pytest.raises(MTPFileError, match="--template"):
        load_trained(model)
    loaded = load_trained(model, device="cpu", template=template)
    assert loaded.manifest == {} and loaded.model_file == {} and "instructions" in loaded.template
    code, out, err = mtp_in_process("run", model, "--template", template, "-i", "alice_cat_alice_appear_disappear",
                                    "-l", "a", "-l", "b", "--max-tokens", "3", "--json")
    assert code == 0, err
    assert json.loads(out)["instruction"] == "alice_cat_alice_appear_disappear"
    # The same refusals apply without a manifest.
    edit_json(model / "config.json", auto_map={"AutoModelForCausalLM": "evil.Evil"})
    code, out, err = mtp_in_process("run", model, "--template", template, "-l", "a")
    assert code == 1 and err.startswith("error:") and "auto_map" in err


def test_train_base_directory_gets_the_same_refusals(model):
    from model_train_protocol.train import load_base

    edit_json(model / "config.json", auto_map={"AutoModelForCausalLM": "evil.Evil"})
    with pytest.raises(MTPFileError, match="auto_map"):
        load_base(str(model))


@pytest.mark.parametrize("change", [{"hidden_size": 64}, {"num_hidden_layers": 3}, {"vocab_size": 9}])
def test_a_config_that_does_not_fit_the_weights_is_refused(model, change):
    """transformers would re-initialise the weights it cannot place and answer with a random model."""
    edit_json(model / "config.json", **change)
    relist(model)
    with pytest.raises(MTPFileError, match="do not match|cannot load"):
        load_trained(model)


def test_a_tokenizer_larger_than_the_embeddings_is_refused(model):
    edit_json(model / "tokenizer_config.json", unk_token="<U/")
    relist(model)
    with pytest.raises(MTPFileError, match="tokenizer"):
        load_trained(model)


@pytest.mark.parametrize("mtp_section", ["x", {"settings": "x"}, {"settings": {"val_split": "0.1"}},
                                         {"settings": {"seed": 2**70}}, {"protocol_sha256": 5}])
def test_manifest_fields_evaluation_reads_are_checked(model, mtp_section):
    manifest = json.loads((model / MANIFEST).read_text(encoding="utf-8"))
    manifest["mtp"] = mtp_section
    (model / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(MTPFileError, match="mtp_manifest.json"):
        verify_dir(model)


def test_a_model_file_that_does_not_load_is_an_error_not_ignored(model):
    """mtp_model.json that parses but is no protocol (checksums rewritten to match): `mtp upgrade`, the one reader
    of it, refuses it; Model.load reads the runtime spec, and refuses one out of shape."""
    from model_train_protocol.infer import Model
    from model_train_protocol.model_dir import upgrade_dir

    edit_json(model / "mtp_model.json", inputs="two")
    relist(model)
    with pytest.raises(MTPFileError, match="mtp_model.json"):
        upgrade_dir(model)
    edit_json(model / "runtime.json", instructions="none")
    relist(model)
    with pytest.raises(MTPFileError, match="runtime.json.*/instructions"):
        Model.load(model)
