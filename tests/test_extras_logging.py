"""Library calls leave transformers' logging as the caller had it (they quiet it only while they run)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
hf_logging = pytest.importorskip("transformers.utils.logging")

from model_train_protocol.examples.cheshire_cat import build_protocol  # noqa: E402
from model_train_protocol.extras import quiet_transformers  # noqa: E402
from model_train_protocol.infer import Model  # noqa: E402
from model_train_protocol.train import TrainConfig, train  # noqa: E402


@pytest.fixture()
def chatty():
    """transformers as a user may set it: info messages and progress bars on."""
    level, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_info()
    hf_logging.enable_progress_bar()
    yield
    hf_logging.set_verbosity(level)
    (hf_logging.enable_progress_bar if bars else hf_logging.disable_progress_bar)()


def _state() -> tuple[int, bool]:
    return hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()


def test_the_block_is_quiet_and_the_state_comes_back_even_after_an_error(chatty):
    before = _state()
    with pytest.raises(RuntimeError):
        with quiet_transformers(errors_only=True):
            assert _state() == (hf_logging.ERROR, False)
            raise RuntimeError("inside")
    assert _state() == before == (hf_logging.INFO, True)


def test_training_and_loading_leave_the_callers_logging(chatty, tmp_path):
    settings = TrainConfig(base="scratch", n_layer=1, n_embd=32, n_head=2, vocab_size=300, max_steps=2,
                           progress=False, check_examples=0, intent_head=False)
    train(build_protocol(), tmp_path / "m", settings)
    assert _state() == (hf_logging.INFO, True)
    Model.load(tmp_path / "m", threads=1)
    assert _state() == (hf_logging.INFO, True)
