"""Fixtures of the server tests: one tiny model trained from scratch on the example, served in process."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("fastapi")

from model_train_protocol.examples.cheshire_cat import build_protocol  # noqa: E402

#: A short answer budget keeps every request at a few milliseconds.
MAX_TEXT_TOKENS = 8
NAME = "cheshire_cat"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The Cheshire Cat example trained for 120 steps from scratch (seconds): a real `mtp train` directory."""
    import torch

    from model_train_protocol.train import train
    from train.conftest import tiny

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("serve") / "model"
        train(build_protocol(), out, tiny(max_steps=120, n_embd=48))
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="session")
def app(model_dir):
    """The server of that directory, loaded as `mtp serve` loads it."""
    from model_train_protocol.serve import create_app

    return create_app([model_dir], max_text_tokens=MAX_TEXT_TOKENS)


@pytest.fixture(scope="session")
def model(app):
    """The served Model itself, to compare the server's answers with direct calls."""
    return app.state.mtp.models[NAME]


@pytest.fixture(scope="session")
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


def expected(model, instruction, lines, numbers=(), threshold=None):
    """What ``POST /run`` must answer, from ``Model.run`` called directly (latency left out)."""
    import copy

    if threshold is not None:
        model = copy.copy(model)
        model.threshold = threshold
    answer = model.run(instruction, lines, numbers)
    return {"model": NAME, "instruction": answer.instruction, "text": answer.text, "final": answer.final,
            "final_key": answer.final_key, "value": answer.value, "refused": answer.guardrail,
            "confidence": answer.confidence, "candidate": answer.candidate, "refused_by": answer.refused_by,
            "prompt_similarity": answer.prompt_similarity, "threshold": model.threshold,
            "final_probs": answer.final_probs, "tokens": answer.tokens, "state": None, "labels": None}


def without_latency(body: dict) -> dict:
    assert isinstance(body.get("latency_ms"), float) and body["latency_ms"] >= 0
    return {k: v for k, v in body.items() if k != "latency_ms"}
