"""Choose the default training recipe on tuning data only: CLINC150 ``val`` queries and unused ``oos_train`` ones.

Trains the few-shot protocol of one domain (bench/quality.py) with one recipe
and reports, on 10 ``val`` queries per intent and ``oos_train`` queries 40-99
(neither the training queries, nor the guardrail's, nor any test or oos_val
query), the final accuracy, the off-topic recall of the model's own
refusals, and for three confidence signals the AUROC and the recall at 5 %
false refusals (threshold chosen on these same tuning prompts)::

    python bench/recipe.py --layers 20 --epochs 4 --lr 6e-4

Runs one recipe per call; docs/quality.md lists the recipes tried.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from quality import DATA, GREETING, _final_name, _topic, build_protocol  # noqa: E402

from model_train_protocol.infer import Model, parse_completion  # noqa: E402
from model_train_protocol.train import TrainConfig, train  # noqa: E402


def tuning_prompts(data: dict, domain: str, per_intent: int = 10) -> tuple[list[tuple[str, str]], list[str]]:
    good, seen = [], {}
    for query, intent in data["val"]:
        if intent in data["domains"][domain] and seen.get(intent, 0) < per_intent:
            seen[intent] = seen.get(intent, 0) + 1
            good.append((query, intent))
    return good, [q for q, _ in data["oos_train"][40:100]]


def signals(token_probs: list[float], final_probs: dict[str, float]) -> dict[str, float]:
    return {"answer probability": math.prod(token_probs), "least probable token": min(token_probs),
            "final probability": max(final_probs.values()) if final_probs else 1.0}


def score(good: list[tuple[str, dict]], bad: list[dict], signal: str) -> dict[str, float]:
    """AUROC (a model refusal ranks as least confident) and recall at 5 % false refusals."""
    def conf(r: dict) -> float:
        return 0.0 if r["refused"] else r["signals"][signal]

    g, b = [conf(r) for _, r in good], [conf(r) for r in bad]
    auroc = sum((x < y) + 0.5 * (x == y) for x in b for y in g) / (len(g) * len(b))
    t = sorted(g)[int(len(g) * 0.05)]
    return {"auroc": round(auroc, 3), "recall_at_5pct": round(sum(x < t for x in b) / len(b), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--domain", default="banking")
    parser.add_argument("--layers", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=None)
    parser.add_argument("--lora", action="store_true")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("bench/results/recipe"))
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    tag = f"{args.domain}-L{args.layers}-e{args.epochs}-lr{args.lr}{'-lora' if args.lora else ''}"
    config = TrainConfig(base_layers=args.layers, epochs=args.epochs, lr=args.lr, lora=args.lora, val_split=0.0,
                         patience=0, check_examples=0, progress=False, threads=args.threads, context_text=False)
    began = time.perf_counter()
    train(build_protocol(data, args.domain), args.out / tag, config)
    seconds = time.perf_counter() - began
    model = Model.load(args.out / tag)
    greeting = GREETING.format(topic=_topic(args.domain))
    good_q, bad_q = tuning_prompts(data, args.domain)

    def ask(query: str) -> dict:
        spec = model.spec("intent")
        gen = model.generate(spec, model.prompt("intent", [greeting, query]))
        answer = parse_completion(gen.completion, spec)
        return {"final": answer.final, "refused": answer.guardrail, "seconds": gen.seconds,
                "signals": signals(gen.token_probs, gen.final_probs)}

    good = [(intent, ask(q)) for q, intent in good_q]
    bad = [ask(q) for q in bad_q]
    row = {
        "recipe": tag, "train_seconds": round(seconds, 1),
        "accuracy": round(sum(r["final"] == _final_name(i) for i, r in good) / len(good), 3),
        "own_refusal_recall": round(sum(r["refused"] for r in bad) / len(bad), 3),
        "false_refusals": round(sum(r["refused"] for _, r in good) / len(good), 3),
        **{name: score(good, bad, name) for name in ("answer probability", "least probable token",
                                                     "final probability")},
    }
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
