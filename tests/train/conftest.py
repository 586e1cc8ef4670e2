"""Fixtures of the training tests: the example protocol, tiny settings, one tiny trained directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol


@pytest.fixture(autouse=True, scope="session")
def _one_thread():
    """Tiny models train as fast on one thread, and far faster when the machine is busy."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def protocol():
    """The Cheshire Cat example: 4 instructions, numbers, a guardrail, an extended instruction."""
    return build_protocol()


def tiny(**overrides):
    """Settings that train in a second or two on a CPU (no intent head, even on a local pretrained base: the
    tests that need one ask for it)."""
    from model_train_protocol.train import TrainConfig

    settings = dict(base="scratch", n_layer=1, n_embd=32, n_head=2, vocab_size=300, max_steps=3, progress=False,
                    check_examples=0, intent_head=False)
    settings.update(overrides)
    return TrainConfig(**settings)


@pytest.fixture(scope="session")
def trained_dir(tmp_path_factory) -> Path:
    """One tiny model trained on the example, shared by the tests that only read it."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from model_train_protocol.train import train

    out = tmp_path_factory.mktemp("trained") / "model"
    train(build_protocol(), out, tiny())
    return out
