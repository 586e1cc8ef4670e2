"""A hostile model directory, round three (issue 20): a panicking tokenizer, a config that claims more than the
weights hold. Every attack recomputes the manifest, as an attacker can."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from infer.tiny import cheshire, mtp_in_process, write_model_dir  # noqa: E402
from test_model_dir import relist  # noqa: E402

from model_train_protocol.errors import MTPFileError  # noqa: E402

#: A Split pre-tokenizer whose regex backtracks without bound on a run of "a": oniguruma gives up and tokenizers
#: panics (``pyo3_runtime.PanicException``, a BaseException).
BACKTRACKING = {"type": "Split", "pattern": {"Regex": "(a|a?)+$"}, "behavior": "Isolated", "invert": False}
TRIGGER = "a" * 60 + "b"
INSTRUCTION = "alice_cat_alice_appear_disappear"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    return write_model_dir(cheshire(False), tmp_path_factory.mktemp("modeldir") / "model")


@pytest.fixture
def model(pristine, tmp_path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(pristine, target)
    return target


@pytest.fixture
def panicking(model) -> Path:
    path = model / "tokenizer.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    pre = document["pre_tokenizer"]
    steps = pre["pretokenizers"] if pre.get("type") == "Sequence" else [pre]
    document["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [BACKTRACKING, *steps]}
    path.write_text(json.dumps(document), encoding="utf-8")
    relist(model)
    return model


def test_a_tokenizer_panic_is_a_library_error(panicking):
    """Finding 3: the panic went through every handler (a raw Rust and Python traceback)."""
    from model_train_protocol.infer import Model

    loaded = Model.load(panicking)
    assert loaded.run(INSTRUCTION, ["hello", "there"]).final  # ordinary text still works
    with pytest.raises(MTPFileError, match="tokenizer.json is broken or was tampered with"):
        loaded.run(INSTRUCTION, ["hello", TRIGGER])


def test_mtp_run_prints_one_error_line_on_a_tokenizer_panic(panicking):
    code, _, err = mtp_in_process("run", panicking, "-i", INSTRUCTION, "-l", "hi", "-l", TRIGGER)
    assert code == 1 and "Traceback" not in err
    assert [line for line in err.splitlines() if line.startswith("error:")] == [err.splitlines()[-1]]
    assert "tokenizer" in err and "internal error" not in err


def test_serve_answers_json_on_a_tokenizer_panic(panicking):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    with TestClient(create_app([panicking], max_text_tokens=4), raise_server_exceptions=False) as client:
        response = client.post("/run", json={"instruction": INSTRUCTION, "lines": ["hi", TRIGGER]})
        assert response.status_code == 500
        assert response.json()["error"]["type"] == "internal_error"
        assert "tokenizer" in response.json()["error"]["message"]
        assert client.post("/run", json={"instruction": INSTRUCTION, "lines": ["hi", "there"]}).status_code == 200


def _claim(model: Path, **changes) -> None:
    path = model / "config.json"
    config = json.loads(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(json.dumps(config), encoding="utf-8")
    relist(model)


@pytest.mark.parametrize("changes,names", [({"num_hidden_layers": 2000}, "claims 2000 layers"),
                                           ({"hidden_size": 4096, "intermediate_size": 16384}, "gives .* the shape")])
def test_a_config_that_claims_more_than_the_weights_is_refused_before_building(model, monkeypatch, changes, names):
    """Finding 4: a config.json claiming 2,000 layers was built in full (2.4 GB) before it was refused."""
    import transformers

    from model_train_protocol.model_dir import load_trained

    _claim(model, **changes)

    def never(*_args, **_kwargs):
        raise AssertionError("the model was built before the config was checked against the weights")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", never)
    with pytest.raises(MTPFileError, match=names):
        load_trained(model, device="cpu")
