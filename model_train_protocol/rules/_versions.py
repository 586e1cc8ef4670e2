"""File format versions: which layouts we read, which we write, and the rules each one imposes.

A model file names its layout in ``$schema``
(``https://mtp.schemas.databiomes.com/v1/bloom_1_2_1.json``); reference 0.3.0
wrote a top-level ``"version"`` instead. We write six layouts, each a pair of
model ("bloom") and template versions whose JSON Schemas differ in their limits
and in the model types they can hold (FORMAT.md 0, 2.7, 3.1, 5.1, 5.2), so
validation takes the target version into account. Three are the main layouts
(0.3.2, 1.2.1, 2.0.1); 1.1.0, 1.2.0 and 2.0.0 are the labels older reference
releases wrote, kept so their files convert back to what those releases read.

The default layout (``version=None``) depends on what the protocol trains, and
is decided here only (:func:`default_version`): bloom 0.3.2 for generative
protocols (the contract format), the newest reference's default, bloom 2.0.1
with template 2.1.0, for state machines and multi-classifiers, which 0.3.2
cannot hold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..constants import DEFAULT_LAYOUT
from ..errors import MTPFileError, MTPValueError

__all__ = [
    "FormatVersion",
    "BLOOM_0_3_2",
    "BLOOM_1_1_0",
    "BLOOM_1_2_0",
    "BLOOM_1_2_1",
    "BLOOM_2_0_0",
    "BLOOM_2_0_1",
    "DEFAULT_VERSION",
    "MAIN_VERSIONS",
    "default_version",
    "layouts_holding",
    "WRITABLE_VERSIONS",
    "READABLE_BLOOM_VERSIONS",
    "SCHEMA_BASE",
    "schema_url",
    "parse_schema_url",
    "format_version",
    "version_key",
    "rules_of",
]

SCHEMA_BASE = "https://mtp.schemas.databiomes.com"


@dataclass(frozen=True)
class FormatVersion:
    """One writable layout: the model and template versions and the limits of their schemas.

    ``None`` means "no limit". ``guardrail_digits`` says whether bad-prompt
    examples may contain digits (MTP 0.3 forbids them; 0.4+ allow them).
    ``model_types`` are the kinds of protocol the layout can hold; ``set_names``
    whether each instruction set carries its ``name`` (bloom 1.2.0 as 0.8.x and
    1.2.8's ``ProtocolV1`` write it, 1.2.1 and later).
    """

    bloom: str
    template: str
    min_inputs: int
    max_string_length: int | None
    max_instruction_context: int | None
    guardrail_digits: bool
    model_types: tuple[str, ...] = ("generative",)
    set_names: bool = True

    @property
    def major(self) -> int:
        return int(self.bloom.split(".")[0])

    @property
    def marker(self) -> str | None:
        """The top-level field naming the model type: ``state_machine`` (bloom 1.2.x), ``model_type`` (2.x), or
        none (0.3.2, and 1.1.0, where reference 0.5.x wrote state machines without any marker)."""
        if self.major >= 2:
            return "model_type"
        return "state_machine" if version_key(self.bloom) >= (1, 2, 0) else None

    def __str__(self) -> str:
        return self.bloom


_GENERATIVE_AND_SM = ("generative", "state_machine")
_EVERY_TYPE = ("generative", "state_machine", "multi_classifier")

BLOOM_0_3_2 = FormatVersion("0.3.2", "0.3.2", min_inputs=2, max_string_length=300, max_instruction_context=10,
                            guardrail_digits=False, set_names=False)
#: Reference 0.4.2-0.5.x (0.5.x: template 1.2.0, state machines without a marker).
BLOOM_1_1_0 = FormatVersion("1.1.0", "1.2.0", min_inputs=1, max_string_length=300, max_instruction_context=100_000,
                            guardrail_digits=True, model_types=_GENERATIVE_AND_SM, set_names=False)
#: Reference 0.6.x-0.8.x and 1.2.8's ProtocolV1 (``state_machine``; set names as 0.8.x writes them).
BLOOM_1_2_0 = FormatVersion("1.2.0", "1.2.0", min_inputs=1, max_string_length=300, max_instruction_context=100_000,
                            guardrail_digits=True, model_types=_GENERATIVE_AND_SM)
BLOOM_1_2_1 = FormatVersion("1.2.1", "1.2.0", min_inputs=1, max_string_length=300, max_instruction_context=100_000,
                            guardrail_digits=True, model_types=_GENERATIVE_AND_SM)
#: Reference 1.2.8 with version="2.0.0" (its template stays 2.1.0).
BLOOM_2_0_0 = FormatVersion("2.0.0", "2.1.0", min_inputs=1, max_string_length=300, max_instruction_context=100_000,
                            guardrail_digits=True, model_types=_EVERY_TYPE)
BLOOM_2_0_1 = FormatVersion("2.0.1", "2.1.0", min_inputs=1, max_string_length=None, max_instruction_context=None,
                            guardrail_digits=True, model_types=_EVERY_TYPE)

#: The one table of layouts we write, oldest first.
WRITABLE_VERSIONS: dict[str, FormatVersion] = {
    v.bloom: v for v in (BLOOM_0_3_2, BLOOM_1_1_0, BLOOM_1_2_0, BLOOM_1_2_1, BLOOM_2_0_0, BLOOM_2_0_1)
}
DEFAULT_VERSION = WRITABLE_VERSIONS[DEFAULT_LAYOUT]
#: The newest layout of each major: what a template version names, and whose rules files of that major meet.
MAIN_VERSIONS: tuple[FormatVersion, ...] = (BLOOM_0_3_2, BLOOM_1_2_1, BLOOM_2_0_1)

_BY_TEMPLATE: dict[str, FormatVersion] = {v.template: v for v in MAIN_VERSIONS}


def default_version(model_type: str = "generative") -> FormatVersion:
    """The layout written when no version is given: bloom 0.3.2 (the contract) for generative protocols, bloom
    2.0.1 (the newest reference's default) for state machines and multi-classifiers."""
    return DEFAULT_VERSION if model_type in DEFAULT_VERSION.model_types else BLOOM_2_0_1


def layouts_holding(model_type: str) -> list[str]:
    """The bloom versions that can hold a protocol of ``model_type``, oldest first."""
    return [v.bloom for v in WRITABLE_VERSIONS.values() if model_type in v.model_types]


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
    """The writable layout whose rules a file of model ``version`` is held to: that layout when we write it, else
    the main one of the same major (the default layout for an unknown or missing version)."""
    if version in WRITABLE_VERSIONS:
        return WRITABLE_VERSIONS[version]
    major = (version or "").split(".")[0]
    return next((v for v in MAIN_VERSIONS if str(v.major) == major), DEFAULT_VERSION)


def format_version(version: "str | FormatVersion | None", *, template: bool = False,
                   model_type: str = "generative") -> FormatVersion:
    """The writable layout named by ``version``: ``"0.3.2"``, ``"1.1.0"``, ``"1.2.0"``, ``"1.2.1"``, ``"2.0.0"``,
    ``"2.0.1"`` (also ``"bloom-1.2.1"``).

    None means the default for ``model_type`` (:func:`default_version`). With
    ``template=True`` the template versions ``"1.2.0"`` and ``"2.1.0"`` name
    the main layouts 1.2.1 and 2.0.1.
    """
    if version is None:
        return default_version(model_type)
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
    found = (_BY_TEMPLATE.get(number) if template else None) or WRITABLE_VERSIONS.get(number)
    if found is None:
        raise MTPValueError(
            f"Unknown file format version {version!r}; supported model file versions are {supported} "
            "(templates 0.3.2, 1.2.0 and 2.1.0 go with them)."
        )
    return found
