"""How the similarity refusal's threshold rule was chosen: candidate rules on CLINC150 tuning queries only.

For each of the eight domains of ``../shared/data/clinc150``: the training
lines are the first 10 ``train`` queries per intent (as in bench/quality.py),
the guardrail the same 10 digit-free ``oos_train`` queries. Every candidate
rule picks a threshold from those alone; it is then scored on tuning data that
neither training nor the benchmark's test uses: the domain's ``val`` queries
(in scope, 20 per intent) and ``oos_train`` queries 40-99 (off-topic). No
``test`` or ``oos_val`` query is read. Needs no training (only the sentence
encoder), a minute or two on a CPU::

    python bench/similarity_rule.py
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

from model_train_protocol.infer import SentenceEncoder
from model_train_protocol.runtime import choose_similarity_threshold, quantile as _quantile

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_dev.json"

#: Candidate rules: (leave-one-out similarities of the training lines, guardrail similarities) -> threshold.
RULES = {
    "midpoint of LOO 5th percentile and guardrail median (chosen)": choose_similarity_threshold,
    "midpoint of LOO 1st percentile and guardrail median": lambda loo, g: (_quantile(loo, .01) + _quantile(g, .5)) / 2,
    "midpoint of LOO 5th percentile and guardrail maximum": lambda loo, g: (_quantile(loo, .05) + max(g)) / 2,
    "midpoint of LOO 5th percentile and guardrail 75th percentile":
        lambda loo, g: (_quantile(loo, .05) + _quantile(g, .75)) / 2,
    "LOO 1st percentile": lambda loo, g: _quantile(loo, .01),
    "0.8 x LOO 5th percentile": lambda loo, g: 0.8 * _quantile(loo, .05),
}


def _first(pairs: list, intents: list[str], per_intent: int) -> list[str]:
    taken: dict[str, int] = {}
    chosen = []
    for query, intent in pairs:
        if intent in intents and taken.get(intent, 0) < per_intent:
            taken[intent] = taken.get(intent, 0) + 1
            chosen.append(query)
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    encoder = SentenceEncoder.load()
    guard = encoder.encode([q for q, _ in data["oos_train"] if not re.search(r"\d", q)][:10])
    off_topic = encoder.encode([q for q, _ in data["oos_train"][40:100]])
    results: dict[str, list[dict]] = {name: [] for name in RULES}
    for domain, intents in data["domains"].items():
        train = encoder.encode(_first(data["train"], intents, 10))
        in_scope = encoder.encode(_first(data["val"], intents, 20))
        sims = train @ train.T
        sims.fill_diagonal_(-1.0)
        loo = sims.max(dim=1).values.tolist()
        guardrail = (guard @ train.T).max(dim=1).values.tolist()
        near_in = (in_scope @ train.T).max(dim=1).values
        near_out = (off_topic @ train.T).max(dim=1).values
        for name, rule in RULES.items():
            t = rule(loo, guardrail)
            results[name].append({"domain": domain, "threshold": round(t, 3),
                                  "false_refusals": round(float((near_in < t).float().mean()), 4),
                                  "off_topic_recall": round(float((near_out < t).float().mean()), 4)})
    print("| rule | false refusals (mean / worst domain) | off-topic recall (mean / worst domain) |")
    print("|---|---|---|")
    for name, rows in results.items():
        fr = [r["false_refusals"] for r in rows]
        rec = [r["off_topic_recall"] for r in rows]
        print(f"| {name} | {100 * statistics.fmean(fr):.1f} % / {100 * max(fr):.1f} % "
              f"| {100 * statistics.fmean(rec):.1f} % / {100 * min(rec):.1f} % |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
