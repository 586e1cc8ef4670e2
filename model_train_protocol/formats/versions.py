"""File format versions: which layouts we read, which we write, and the rules each one imposes.

A model file names its layout in ``$schema``
(``https://mtp.schemas.databiomes.com/v1/bloom_1_2_1.json``); reference 0.3.0
wrote a top-level ``"version"`` instead. We write three layouts, each a pair of
model ("bloom") and template versions whose JSON Schemas differ in their limits
(FORMAT.md 0, 2.7, 3.1), so validation takes the target version into account.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import MTPFileError, MTPValueError

__all__ = [
    "FormatVersion",
    "BLOOM_0_3_2",
    "BLOOM_1_2_1",
    "BLOOM_2_0_1",
    "DEFAULT_VERSION",
    "WRITABLE_VERSIONS",
    "READABLE_BLOOM_VERSIONS",
    "SCHEMA_BASE",
    "schema_url",
    "parse_schema_url",
    "format_version",
    "version_key",
    "rules_of",
    "GUARDRAIL_DIGITS_FROM",
]

SCHEMA_BASE = "https://mtp.schemas.databiomes.com"


@dataclass(frozen=True)
class FormatVersion:
    """One writable layout: the model and template versions and the limits of their schemas.

    ``None`` means "no limit". ``guardrail_digits`` says whether bad-prompt
    examples may contain digits (MTP 0.3 forbids them; 0.4+ allow them).
    """

    bloom: str
    template: str
    min_inputs: int
    max_string_length: int | None
    max_instruction_context: int | None
    guardrail_digits: bool

    @property
    def major(self) -> int:
        return int(self.bloom.split(".")[0])

    def __str__(self) -> str:
        return self.bloom


BLOOM_0_3_2 = FormatVersion("0.3.2", "0.3.2", min_inputs=2, max_string_length=300, max_instruction_context=10,
                            guardrail_digits=False)
BLOOM_1_2_1 = FormatVersion("1.2.1", "1.2.0", min_inputs=1, max_string_length=300, max_instruction_context=100_000,
                            guardrail_digits=True)
BLOOM_2_0_1 = FormatVersion("2.0.1", "2.1.0", min_inputs=1, max_string_length=None, max_instruction_context=None,
                            guardrail_digits=True)

DEFAULT_VERSION = BLOOM_0_3_2
WRITABLE_VERSIONS: dict[str, FormatVersion] = {v.bloom: v for v in (BLOOM_0_3_2, BLOOM_1_2_1, BLOOM_2_0_1)}

_BY_TEMPLATE: dict[str, FormatVersion] = {v.template: v for v in WRITABLE_VERSIONS.values()}

#: From this model file version on, guardrail bad-prompt examples may contain digits (reference 0.4).
GUARDRAIL_DIGITS_FROM = "0.4.0"

#: Model file versions the reader understands (all share the 0.3 set/sample layout).
READABLE_BLOOM_VERSIONS = (
    "0.3.0", "0.3.1", "0.3.2", "0.3.3", "0.4.0", "1.0.0", "1.1.0", "1.2.0", "1.2.1", "2.0.0", "2.0.1",
)

#: The one shape of a ``$schema`` URL (FORMAT.md 0): our host only, ``v{major}/{kind}_{x_y_z}.json``.
_URL = re.compile(re.escape(SCHEMA_BASE) + r"/v(?P<folder>[0-9]+)/(?P<kind>bloom|template|model)_"
                  r"(?P<version>[0-9]+_[0-9]+_[0-9]+)\.json")
_ALIAS = re.compile(r"^(?:bloom)?[-_ ]?v?(\d+)[._](\d+)[._](\d+)$")


def schema_url(kind: str, version: str) -> str:
    """``https://mtp.schemas.databiomes.com/v{major}/{kind}_{x_y_z}.json``."""
    return f"{SCHEMA_BASE}/v{version.split('.')[0]}/{kind}_{version.replace('.', '_')}.json"


def parse_schema_url(url: object) -> tuple[str, str]:
    """(kind, "x.y.z") of a ``$schema`` URL such as ``https://mtp.schemas.databiomes.com/v1/bloom_1_2_1.json``.

    The one parser of ``$schema``, with one policy: anything but an MTP URL on
    the MTP host (another host, another shape, a version outside its ``v``
    folder) raises :class:`MTPFileError` at ``/$schema``, so a file naming a
    foreign schema is never taken for an MTP file.
    """
    match = _URL.fullmatch(url) if isinstance(url, str) else None
    if match is None:
        raise MTPFileError(
            f"$schema {url!r} is not an MTP schema URL (expected "
            f"{SCHEMA_BASE}/v{{major}}/{{bloom|template}}_{{x_y_z}}.json).",
            pointer="/$schema",
        )
    version = match["version"].replace("_", ".")
    if version.split(".")[0] != match["folder"]:
        raise MTPFileError(f"$schema {url!r}: version {version} does not belong in folder v{match['folder']}.",
                           pointer="/$schema")
    return match["kind"], version


def version_key(version: str) -> tuple[int, ...]:
    """``"1.2.1"`` -> ``(1, 2, 1)`` for ordering versions."""
    return tuple(int(p) for p in version.split("."))


def rules_of(version: str | None) -> FormatVersion:
    """The writable layout whose rules a file of model ``version`` is held to: the one of the same major
    (the default layout for an unknown or missing version)."""
    major = (version or "").split(".")[0]
    return next((v for v in WRITABLE_VERSIONS.values() if str(v.major) == major), DEFAULT_VERSION)


def format_version(version: "str | FormatVersion | None", *, template: bool = False) -> FormatVersion:
    """The writable layout named by ``version``: ``"0.3.2"``, ``"1.2.1"``, ``"2.0.1"`` (also ``"bloom-1.2.1"``).

    None means the default (bloom 0.3.2). With ``template=True`` the template
    versions ``"1.2.0"`` and ``"2.1.0"`` name their layouts too.
    """
    if version is None:
        return DEFAULT_VERSION
    if isinstance(version, FormatVersion):
        return version
    supported = ", ".join(WRITABLE_VERSIONS)
    if not isinstance(version, str):
        raise MTPValueError(f"version must be a string such as '1.2.1', got {type(version).__name__} {version!r}.")
    text = version.strip().lower()
    if template:
        text = text.removeprefix("template").strip("-_ ")
    match = _ALIAS.match(text)
    number = ".".join(match.groups()) if match else ""
    found = WRITABLE_VERSIONS.get(number) or (_BY_TEMPLATE.get(number) if template else None)
    if found is None:
        raise MTPValueError(
            f"Unknown file format version {version!r}; supported model file versions are {supported} "
            "(templates 0.3.2, 1.2.0 and 2.1.0 go with them)."
        )
    return found
