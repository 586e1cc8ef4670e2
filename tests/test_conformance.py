"""The reference's own 0.8.8 test suite, unchanged, against this package (bench/conformance.py).

It is another project's code: it runs from a temporary copy of ``../shared`` and is skipped, saying why,
when that folder is not beside the repository. docs/compatibility.md accounts for every failure by class.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("conformance", ROOT / "bench" / "conformance.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["conformance"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_reference_0_8_8_suite_passes_but_for_the_documented_classes() -> None:
    bench = _bench()
    suite = bench.shared_088()
    if suite is None:
        pytest.skip("the reference's 0.8.8 suite is not in ../shared/reference/conformance")
    outcomes = bench.run_suite(suite)
    _, totals = bench.summarise(outcomes)
    assert totals["passed"] >= 640, totals  # 643 measured (one test depends on the hash seed)
    classes = bench.classify(outcomes)
    assert ("unclassified", "") not in classes, classes.get(("unclassified", ""))
