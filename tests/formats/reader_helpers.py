"""Fixture files and comparison helpers shared by the reader, version, round-trip and fuzz tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import model_train_protocol as mtp
from model_train_protocol.formats import model_document
from model_train_protocol.rules import BLOOM_2_0_1

#: Reference files copied from ../shared/reference/data/{generated,examples} (same layout below the release).
REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"

#: Model files of supported versions, relative to REFERENCE.
LOADABLE = sorted(
    [
        "schemas-3.2.3/bloom_1_2_0.json",
        "schemas-3.2.3/bloom_1_2_1.json",
        "schemas-3.2.3/bloom_2_0_0.json",
        "schemas-3.2.3/bloom_2_0_1.json",
        "v0.3.2/example_model.json",
        "v0.3.2/example_model.rerun.json",
        "v0.3.2/extended_only_model.json",
        "v0.3.2/extended_plus_basic_model.json",
        "v0.3.2/tiny_encrypted_model.json",
        "v0.3.2/tiny_model.json",
        "v0.4.7/tiny_model.json",
        "v0.5.6/tiny_model.json",
        "v0.6.1/extended_only_model.json",
        "v0.6.1/tiny_model.json",
        "v0.8.8/tiny_model.json",
        "v1.2.8/extended_only_model.json",
        "v1.2.8/extended_plus_basic_model.json",
        "v1.2.8/numeric_model.json",
        "v1.2.8/tiny_encrypted_model.json",
        "v1.2.8/tiny_model.json",
        "v1.2.8/tiny_protocolv1_model.json",
        "v1.2.8/tiny_version_1_2_1_model.json",
        "v1.2.8/tiny_version_2_0_0_model.json",
    ]
)

#: State machines and multi-classifiers: loadable, but not in every layout (never 0.3.2; multi-classifiers only 2.x).
CHOICE = sorted([
    "v0.5.6/sm_model.json",
    "v0.6.1/csvdemo_model.json",
    "v0.6.1/sm_model.json",
    "v0.8.8/sm_model.json",
    "v1.2.8/mc_model.json",
    "v1.2.8/sm_model.json",
])

#: Files that are refused, with a word the error message must contain.
REFUSED = {
    "v0.1.8/example_model.json": "pre-0.3",
    "v0.2.0/readme_model.json": "pre-0.3",
    "v1.2.8/tiny_template.json": "template file",
    "schemas-3.2.3/model_1_0_0.json": "manifest",
}

VERSIONS = ("0.3.2", "1.2.1", "2.0.1")


def read(rel: str) -> dict[str, Any]:
    return json.loads((REFERENCE / rel).read_text(encoding="utf-8"))


def load(rel: str) -> mtp.Protocol:
    return mtp.Protocol.load(REFERENCE / rel)


def snapshot(protocol: mtp.Protocol, names: bool = True) -> dict[str, Any]:
    """Everything a protocol holds, as data: the bloom 2.0.1 document (names, user flags, keys) plus kinds.

    ``names=False`` drops instruction names, which bloom 0.3.2 does not store.
    """
    doc = copy.deepcopy(model_document(protocol, BLOOM_2_0_1))
    doc.pop("$schema")
    for i, (s, instruction) in enumerate(zip(doc["instruction"]["sets"], protocol.instructions)):
        s["kind"] = instruction.kind
        if not names:
            s.pop("name")
    return doc


def normalized(document: dict[str, Any]) -> dict[str, Any]:
    """A model document without what necessarily differs between writers: labels, set order, names, user flags."""
    doc = copy.deepcopy(document)
    for key in ("$schema", "version", "state_machine", "model_type", "numbers", "batches"):
        doc.pop(key, None)
    for info in doc["tokens"].values():
        info.pop("user", None)
    for s in doc["instruction"]["sets"]:
        s.pop("name", None)
    doc["instruction"]["sets"].sort(key=lambda s: json.dumps(s, sort_keys=True))
    return doc
