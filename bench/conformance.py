"""Run a reference test suite, unchanged, against this package and count passes and failures per test class.

The suites are another project's code (MIT): they are run from a temporary copy, never copied into this
repository. Two suites are known:

    python bench/conformance.py 0.8.8                 # ../shared/reference/conformance/modeltrainprotocol-0.8.8
    python bench/conformance.py 1.x --suite-dir DIR   # a checkout of github.com/databiomes/mtp (its tests/)
    python bench/conformance.py 0.8.8 --failures      # also list every failing test with its one-line reason

The copy goes to a fresh temporary folder (the suites write files into the working directory), pytest runs
there with this checkout's package first on PYTHONPATH, and the JUnit XML it writes is summarised: one row per
test class (or module, for module-level tests) with passed / failed / error / skipped, then the totals.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_SUITE_088 = Path("shared") / "reference" / "conformance" / "modeltrainprotocol-0.8.8"


def shared_088() -> Path | None:
    """The 0.8.8 suite in the ``shared/`` folder next to this checkout (or next to a folder above it, as for a
    git worktree), or None."""
    for folder in ROOT.parents:
        if (folder / _SUITE_088).is_dir():
            return folder / _SUITE_088
    return None


def _suite_dir(suite: str, given: str | None) -> Path:
    if given:
        return Path(given)
    if suite == "0.8.8":
        found = shared_088()
        if found is None:
            raise SystemExit("conformance: no shared/reference/conformance/modeltrainprotocol-0.8.8 next to this "
                             "checkout; give its folder with --suite-dir")
        return found
    raise SystemExit("conformance: the 1.x suite needs --suite-dir (a checkout of databiomes/mtp)")


def run_suite(suite_dir: Path, extra: list[str] | None = None) -> dict[str, str]:
    """Run the suite's tests/ from a temporary copy; return {test id: outcome} with outcome in
    passed / failed / error / skipped, and the one-line reason of each failure under "<id>#reason"."""
    if not (suite_dir / "tests").is_dir():
        raise SystemExit(f"conformance: no tests/ folder in {suite_dir}")
    with tempfile.TemporaryDirectory(prefix="mtp-conformance-") as tmp:
        work = Path(tmp)
        shutil.copytree(suite_dir / "tests", work / "tests")
        report = work / "report.xml"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
        subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
             f"--junitxml={report}", "tests", *(extra or [])],
            cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
        )
        if not report.exists():
            raise SystemExit("conformance: pytest wrote no report (the suite could not be collected)")
        return _outcomes(ET.parse(report).getroot())


def _outcomes(root: ET.Element) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in root.iter("testcase"):
        test_id = f"{case.get('classname')}::{case.get('name')}"
        outcome, reason = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed"}.get(child.tag, child.tag)
                reason = (child.get("message") or "").splitlines()[0][:200] if child.get("message") else ""
                break
        found[test_id] = outcome
        if reason:
            found[test_id + "#reason"] = reason
    return found


#: Why a 0.8.8 test fails here, first match wins: (class, what it is, pattern searched in "test id | reason").
#: docs/compatibility.md explains each class; ``--classify`` prints the counts and one example of each.
CLASSES_088: list[tuple[str, str, str]] = [
    ("defect", "add_sample keeps any output_value (a list, a string, a dict) for a final that carries no number",
     r"value=\[|value='|value=\{|value=True|regular_token_result_non_none|user_token_result_non_none"),
    ("defect", "a NumListToken as a final: the reference crashes (TypeError: object of type 'NumListToken' has no "
     "len()) and its tests assert the crash", r"is a NumListToken; a final carries"),
    ("defect", "Token.__dict__ replaced by a method (breaks vars() and every tool that reads instance attributes)",
     r"__dict__"),
    ("defect", "an empty TokenSet, or one token twice in a TokenSet, is accepted",
     r"TokenSet needs at least one token|appears twice in one TokenSet"),
    ("defect", "InstructionOutput(final='not_a_token') is accepted and fails later, in add_sample",
     r"final must be a FinalToken or a list"),
    ("private", "the reference's private methods (_add_token, _assign_key, _num_list_tokens, "
     "_add_default_special_tokens, CSVConversion._assign_latest) and its bookkeeping state, public by name only "
     "(Protocol.guardrails / numbers / used_keys filled by _prep_protocol)",
     r"has no attribute '_|attribute 'guardrails'"),
    ("wording", "the test asserts the reference's exact message (pytest.raises(match=...), == or 'in' on the text; "
     "once with its exception class: a bad file is our MTPFileError, not ProtocolError)",
     r"Regex pattern did not match|assert '[^']*' in |assert \"[^\"]*\" == '|assert '[^']*' == '|"
     r"invalid_context_items|from_json_missing_required_field"),
    ("limits", "the 300-character limits are checked when the protocol is validated or saved in a layout that has "
     "them (bloom 0.3.2 to 2.0.0; 1.2.8's 2.0.1 only warns above 3000), not when the line is added",
     r"length_exceeds_limit"),
    ("api", "a deliberate difference of this API: snippets are immutable (numbers are tuples), a sample's prompt is "
     "its Snippet (its to_dict() gives the text), a state machine's output is a view of its fixed answer line "
     "(setting its final changes nothing)",
     r"assert \(.*\) == \[|'strings'|to_dict_preserves_all_attributes|rejects_numeric_output_tokens"),
]


def classify(outcomes: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """Failing tests ("id | reason") by (class, what), ``("unclassified", "")`` for those no pattern names."""
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for test_id, outcome in sorted(outcomes.items()):
        if "#" in test_id or outcome not in ("failed", "error"):
            continue
        line = f"{test_id} | {outcomes.get(test_id + '#reason', '')}"
        key = next(((n, what) for n, what, pattern in CLASSES_088 if re.search(pattern, line)), ("unclassified", ""))
        found[key].append(line)
    return found


def summarise(outcomes: dict[str, str]) -> tuple[dict[str, Counter], Counter]:
    per_class: dict[str, Counter] = defaultdict(Counter)
    totals: Counter = Counter()
    for test_id, outcome in outcomes.items():
        if "#" in test_id:
            continue
        per_class[test_id.split("::")[0]][outcome] += 1
        totals[outcome] += 1
    return per_class, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["0.8.8", "1.x"])
    parser.add_argument("--suite-dir", help="folder holding the suite's tests/ (default for 0.8.8: ../shared)")
    parser.add_argument("--failures", action="store_true", help="list each failing test and its reason")
    parser.add_argument("--classify", action="store_true",
                        help="count the failures by why they fail (docs/compatibility.md), one example each")
    args = parser.parse_args(argv)
    suite_dir = _suite_dir(args.suite, args.suite_dir)
    if not suite_dir.is_dir():
        print(f"conformance: {suite_dir} is not there (it lives in ../shared, next to the repository)")
        return 2
    outcomes = run_suite(suite_dir)
    per_class, totals = summarise(outcomes)
    width = max((len(name) for name in per_class), default=10)
    print(f"{'class':<{width}}  passed  failed  error  skipped")
    for name in sorted(per_class):
        c = per_class[name]
        print(f"{name:<{width}}  {c['passed']:>6}  {c['failed']:>6}  {c['error']:>5}  {c['skipped']:>7}")
    total = sum(totals.values())
    print(f"total {total}: {totals['passed']} passed, {totals['failed']} failed, {totals['error']} error, "
          f"{totals['skipped']} skipped")
    if args.classify:
        for (name, what), lines in sorted(classify(outcomes).items(), key=lambda item: (item[0][0], -len(item[1]))):
            print(f"{name}: {len(lines)}: {what}\n    e.g. {lines[0][:200]}")
    if args.failures:
        for test_id, outcome in sorted(outcomes.items()):
            if "#" not in test_id and outcome in ("failed", "error"):
                print(f"{outcome.upper()} {test_id}: {outcomes.get(test_id + '#reason', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
