"""TrainConfig's fields are declared once: ``mtp train``'s options and the config-file keys come from them.

A field without an option or a key, or an option or a key without a field, fails here.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
import typer.main
from hypothesis import given, settings as hypothesis_settings, strategies as st

from model_train_protocol.cli import app
from model_train_protocol.train import EXTRA_KEYS, TrainConfig, TrainConfigError, config_values, option_name, settings

#: ``mtp train``'s own parameters, which are not training settings.
OWN = {"model_file", "out", "config_file", "force", "as_json"}
HINTS = typing.get_type_hints(TrainConfig)


def _train_command() -> typing.Any:
    """The click command of ``mtp train`` (typer may bundle its own click, so it is not typed as click's)."""
    return typer.main.get_command(app).commands["train"]  # type: ignore[attr-defined]


def test_every_field_is_one_train_option_and_every_option_a_field() -> None:
    params = {param.name: param for param in _train_command().params}
    assert set(params) - OWN == {setting.name for setting in settings()}
    for setting in settings():
        param = params[setting.name]
        assert f"--{option_name(setting)}" in param.opts, setting.name
        assert param.help == setting.metadata["help"] and param.help, setting.name
        assert param.default == setting.default, setting.name
        if bool in (HINTS[setting.name], *typing.get_args(HINTS[setting.name])):
            assert param.secondary_opts == [f"--no-{option_name(setting)}"], setting.name


def test_every_field_is_a_config_key_under_its_name_and_its_option_spelling() -> None:
    for setting in settings():
        default = TrainConfig().to_dict()[setting.name]
        assert config_values({setting.name: default}) == {setting.name: default}
        assert config_values({option_name(setting): default}) == {setting.name: default}
    with pytest.raises(TrainConfigError) as raised:
        config_values({"no_such_setting": 1})
    listed = str(raised.value).split("the keys are: ")[1].rstrip(".").split(", ")
    assert listed == [setting.name for setting in settings()] + list(EXTRA_KEYS)


def _value(setting: typing.Any) -> st.SearchStrategy[typing.Any]:
    """Values of a numeric or yes/no setting that the command line accepts (within its declared bounds)."""
    hint = HINTS[setting.name]
    kinds = typing.get_args(hint) or (hint,)
    low, high = setting.metadata["low"], setting.metadata["high"]
    if bool in kinds:
        return st.booleans()
    if int in kinds:
        return st.integers(min_value=0 if low is None else int(low), max_value=10_000 if high is None else int(high))
    return st.floats(min_value=0.0 if low is None else low, max_value=10.0 if high is None else high,
                     allow_nan=False)


NUMERIC = [setting for setting in settings() if not {str}.intersection(typing.get_args(HINTS[setting.name])
                                                                        or (HINTS[setting.name],))]


@hypothesis_settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_an_option_and_its_config_key_give_the_field_the_same_value(data: st.DataObject) -> None:
    setting = data.draw(st.sampled_from(NUMERIC))
    value = data.draw(_value(setting))
    name = option_name(setting)
    flag = ([f"--{name}"] if value else [f"--no-{name}"]) if isinstance(value, bool) else [f"--{name}", repr(value)]
    context = _train_command().make_context("train", [str(Path(__file__)), *flag])
    assert context.params[setting.name] == value
    assert config_values({name: value}) == {setting.name: value}
