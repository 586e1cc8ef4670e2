"""Model.run checks its sampling settings and numbers where they enter (issue 13)."""

from __future__ import annotations

import math

import pytest

from model_train_protocol.errors import MTPValueError
from model_train_protocol.infer import check_sampling

NUMERIC = "alice_cat_alice_instruction_numeric"


@pytest.mark.parametrize("temperature, seed", [(-1, None), (0, None), (math.inf, None), (math.nan, None),
                                               ("1", None), (1.0, -1), (1.0, 2**64), (1.0, 1.5)])
def test_bad_sampling_settings_are_refused(temperature, seed):
    with pytest.raises(MTPValueError):
        check_sampling(temperature, seed)


def test_good_sampling_settings_pass():
    check_sampling(0.7, None)
    check_sampling(2, 2**63 - 1)


def test_model_run_refuses_them_and_non_integer_numbers(make_model):
    from .tiny import cheshire

    model = make_model(cheshire(False), max_text_tokens=3)
    with pytest.raises(MTPValueError, match="temperature"):
        model.run(NUMERIC, ["a", "b"], [[1, 2, 3], 4], sample=True, temperature=-1)
    with pytest.raises(MTPValueError, match="an integer in"):
        model.run(NUMERIC, ["a", "b"], [[1, 2, 3], 1.5])
    with pytest.raises(MTPValueError, match="too large to print"):
        model.run(NUMERIC, ["a", "b"], [[1, 2, 3], 10**5000])
