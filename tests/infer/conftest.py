"""Fixtures of the inference tests: the example protocol (clear and hashed keys) and tiny-model factories."""

from __future__ import annotations

import pytest

from .tiny import cheshire, tiny_model, write_model_dir


@pytest.fixture(params=[False, True], ids=["clear", "encrypted"])
def protocol(request):
    """The Cheshire Cat protocol, with clear and with hashed keys."""
    return cheshire(request.param)


@pytest.fixture
def make_model():
    """Factory: tiny_model(protocol, seed=0, **Model options)."""
    return tiny_model


@pytest.fixture
def make_model_dir():
    """Factory: write_model_dir(protocol, out, seed=0)."""
    return write_model_dir
