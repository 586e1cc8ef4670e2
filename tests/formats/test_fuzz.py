"""Fuzzing the reader with mutated real files: only MTPError (or success) ever comes out.

Each test mutates the reference fixtures (dropped keys, changed types, random
values, structural edits, truncated or corrupted text) and loads the result;
whatever loads must also validate, convert and serialize without anything but
MTPError. The default run covers a few thousand documents; ``-m slow`` adds a
heavier run.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.jsonio import dumps, parse_json
from reader_helpers import CHOICE, LOADABLE, REFERENCE, REFUSED, VERSIONS

FILES = sorted(LOADABLE) + CHOICE + sorted(r for r in REFUSED if r.startswith("v1.2.8/") or r.startswith("v0.8"))
MODEL_FILES = [r for r in FILES if "template" not in r]
FAST = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=4000, deadline=None, suppress_health_check=list(HealthCheck))


@lru_cache(maxsize=None)
def _original(rel: str) -> str:
    return (REFERENCE / rel).read_text(encoding="utf-8")


def document(rel: str) -> Any:
    return json.loads(_original(rel))


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path into a JSON value (the root is ``()``)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, prefix + (index,))
    return found


def at(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


NEAR_MISSES = st.sampled_from(
    ["", "_", "x", "x_", "Cat_", "Alice_", "Talk_", "Mood_", "Done_", "<RUN>", "<UNK>", "<NON>", "Running_", "🗣",
     "a b", "0.3.2", "https://mtp.schemas.databiomes.com/v1/bloom_1_2_1.json", "generative", "state_machine"]
)
SCALARS = (
    st.none() | st.booleans() | st.integers(-3, 12) | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=6) | NEAR_MISSES
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4) | NEAR_MISSES, children,
                                                                        max_size=3),
    max_leaves=6,
)
OPERATIONS = st.sampled_from(["drop", "replace", "replace", "retype", "duplicate", "swap", "wrap", "empty", "add_key"])


def mutate(doc: Any, data: st.DataObject, count: int) -> Any:
    """Apply ``count`` random edits to ``doc`` (in place where possible) and return the result."""
    for _ in range(count):
        all_paths = paths(doc)
        path = data.draw(st.sampled_from(all_paths))
        op = data.draw(OPERATIONS)
        parent = at(doc, path[:-1]) if path else None
        node = at(doc, path)
        if op == "drop" and path:
            del parent[path[-1]]
        elif op in ("replace", "retype"):
            new = data.draw(VALUES) if op == "replace" else _retyped(node)
            if path:
                parent[path[-1]] = new
            else:
                doc = new
        elif op == "duplicate" and isinstance(node, list) and node:
            node.append(copy.deepcopy(node[data.draw(st.integers(0, len(node) - 1))]))
        elif op == "swap" and path:
            other = data.draw(st.sampled_from(all_paths))
            if other and not _prefix(path, other) and not _prefix(other, path):
                other_parent = at(doc, other[:-1])
                parent[path[-1]], other_parent[other[-1]] = copy.deepcopy(other_parent[other[-1]]), node
        elif op == "wrap" and path:
            parent[path[-1]] = [node]
        elif op == "empty" and isinstance(node, (list, dict)):
            node.clear()
        elif op == "add_key" and isinstance(node, dict):
            node[data.draw(NEAR_MISSES | st.text(max_size=5))] = data.draw(VALUES)
    return doc


def _prefix(a: tuple, b: tuple) -> bool:
    return b[: len(a)] == a


def _retyped(node: Any) -> Any:
    """The same content in another JSON type."""
    if isinstance(node, bool):
        return int(node)
    if isinstance(node, (int, float)):
        return str(node) if math.isfinite(node) else None
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return {str(i): v for i, v in enumerate(node)}
    if isinstance(node, dict):
        return list(node.values())
    return False


def exercise(doc: Any) -> None:
    """Load, then validate, convert and serialize in every version: nothing but MTPError may escape."""
    try:
        protocol = mtp.Protocol.from_json(doc, source="fuzz.json")
    except mtp.MTPFileError as error:
        assert str(error)
        assert error.pointer == "" or error.pointer.startswith("/")
        return
    for version in VERSIONS:
        try:
            if protocol.validate(version):
                continue
            dumps(protocol.to_json(version))
            dumps(protocol.template_json(version))
        except mtp.MTPError:
            pass


@FAST
@given(st.sampled_from(FILES), st.data())
def test_single_edits(rel, data):
    exercise(mutate(document(rel), data, 1))


@FAST
@given(st.sampled_from(FILES), st.data())
def test_several_edits(rel, data):
    exercise(mutate(document(rel), data, data.draw(st.integers(2, 6))))


@FAST
@given(st.sampled_from(MODEL_FILES), st.data())
def test_edits_inside_instruction_sets(rel, data):
    """Aim at the sets, where most of the structure is."""
    doc = document(rel)
    sets = doc["instruction"]["sets"]
    index = data.draw(st.integers(0, len(sets) - 1))
    sets[index] = mutate(sets[index], data, data.draw(st.integers(1, 3)))
    exercise(doc)


@FAST
@given(st.sampled_from(FILES), st.data())
def test_truncated_and_corrupted_text(rel, data):
    raw = _original(rel).encode("utf-8")
    cut = data.draw(st.integers(0, len(raw)))
    if data.draw(st.booleans()):
        raw = raw[:cut]
    else:
        raw = raw[:cut] + data.draw(st.binary(max_size=4)) + raw[cut + data.draw(st.integers(0, 4)):]
    try:
        doc = parse_json(raw, "fuzz.json")
    except mtp.MTPFileError as error:
        assert error.path == "fuzz.json"
        return
    exercise(doc)


#: One file per layout and feature set, for the deterministic sweep of the default run.
SWEEP = ["v0.3.2/tiny_model.json", "v0.3.2/extended_plus_basic_model.json", "v0.4.7/tiny_model.json",
         "v0.8.8/tiny_model.json", "v1.2.8/numeric_model.json", "v1.2.8/extended_plus_basic_model.json",
         "schemas-3.2.3/bloom_2_0_1.json", "v1.2.8/mc_model.json"]


def drop_each_key(files: list[str]) -> int:
    """Each key of each file removed in turn; returns the number of documents tried."""
    count = 0
    for rel in files:
        original = document(rel)
        for path in paths(original):
            if not path or not isinstance(path[-1], str):
                continue
            doc = copy.deepcopy(original)
            del at(doc, path[:-1])[path[-1]]
            exercise(doc)
            count += 1
    return count


def test_dropping_each_key():
    assert drop_each_key(SWEEP) > 1000


@pytest.mark.slow
def test_dropping_each_key_of_every_fixture():
    assert drop_each_key(FILES) > 4000


@pytest.mark.slow
@SLOW
@given(st.sampled_from(FILES), st.data())
def test_many_edits_heavy(rel, data):
    exercise(mutate(document(rel), data, data.draw(st.integers(1, 12))))
