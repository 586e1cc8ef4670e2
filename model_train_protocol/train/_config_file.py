"""Training settings from a YAML or TOML file (``mtp train --config run.yaml``), and the file saved with a run.

The keys are the fields of :class:`TrainConfig` (``epochs``, ``lr``,
``n_layer``, ...), read from the dataclass itself, so a field added there is
settable here at once; the command line's spellings, declared in the fields'
metadata (``layers``, ``width``, ``check``, ``context``, dashes for
underscores), are accepted too. ``out`` may
name the output directory. Values are checked against the field's type.
"""

from __future__ import annotations

import os
import sys
import typing
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

from ..errors import short_repr
from ._config import TrainConfig, TrainConfigError, option_name, settings

__all__ = ["CONFIG_FILE", "CLI_NAMES", "read_config_file", "config_values", "dump_config"]

#: Name of the settings file written into every trained directory (reusable with ``--config``).
CONFIG_FILE = "train_config.yaml"

#: Command-line spellings of fields whose option name differs from the field name (from the fields' metadata).
CLI_NAMES = {option_name(setting).replace("-", "_"): setting.name for setting in settings()
             if option_name(setting).replace("-", "_") != setting.name}

#: Keys a config file may hold beside the TrainConfig fields.
EXTRA_KEYS = ("out",)


def _parse(path: Path, text: str) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".toml":
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise TrainConfigError(f"{path}: not valid TOML ({exc}).") from None
    if suffix in (".yaml", ".yml"):
        import yaml

        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise TrainConfigError(f"{path}: not valid YAML ({first}).") from None
    raise TrainConfigError(f"{path}: a config file must end in .yaml, .yml or .toml.")


def _check_type(name: str, value: Any, hint: Any) -> Any:
    """``value`` if it fits the field's type (an int is accepted for a float), else a clear error."""
    allowed = typing.get_args(hint) if typing.get_origin(hint) is typing.Union else (hint,)
    if value is None and type(None) in allowed:
        return None
    for kind in allowed:
        if kind is bool and isinstance(value, bool):
            return value
        if kind is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind is float and isinstance(value, str):  # YAML 1.1 reads `lr: 1e-3` (no dot) as a string
            try:
                return float(value)
            except ValueError:
                pass
        if kind is str and isinstance(value, str):
            return value
    wanted = " or ".join("null" if k is type(None) else k.__name__ for k in allowed)
    raise TrainConfigError(f"config key {name!r} must be {wanted}, got {short_repr(value)}.")


def config_values(data: Any, source: str = "config") -> dict[str, Any]:
    """The settings of a parsed config document: field names as keys, types checked, unknown keys refused."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise TrainConfigError(f"{source}: must hold a mapping of settings (key: value), got {type(data).__name__}.")
    hints = typing.get_type_hints(TrainConfig)
    names = [f.name for f in fields(TrainConfig)]
    values: dict[str, Any] = {}
    for raw_key, value in data.items():
        key = (raw_key if isinstance(raw_key, str) else short_repr(raw_key)).replace("-", "_")
        key = CLI_NAMES.get(key, key)
        if key in EXTRA_KEYS:
            if not isinstance(value, str):
                raise TrainConfigError(f"{source}: key {raw_key!r} must be a path (a string), got {short_repr(value)}.")
            values[key] = value
            continue
        if key not in hints or key not in names:
            raise TrainConfigError(f"{source}: unknown key {short_repr(raw_key)}; the keys are: {', '.join(names + list(EXTRA_KEYS))}.")
        if key in values:
            raise TrainConfigError(f"{source}: {short_repr(raw_key)} is set twice.")
        values[key] = _check_type(key, value, hints[key])
    return values


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The settings of a YAML (``.yaml``/``.yml``) or TOML (``.toml``) file, as :func:`config_values` returns them."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TrainConfigError(f"{file}: config file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TrainConfigError(f"{file}: cannot read the config file ({exc}).") from None
    return config_values(_parse(file, text), str(file))


def dump_config(config: TrainConfig) -> str:
    """Every setting of ``config`` as YAML, in field order: ``mtp train --config`` reads it back."""
    import yaml

    header = "# Settings of this training run; rerun with: mtp train MODEL_FILE --config train_config.yaml --out DIR\n"
    return header + yaml.safe_dump(config.to_dict(), sort_keys=False, allow_unicode=True)
