"""How the intent head's recipe was chosen: its variants measured on tuning data, the language model left out.

The intent head (model_train_protocol/infer/_intent.py) decides the final from
the user's line alone, so its variants can be compared without training a
language model. For each CLINC150 domain (10 queries per intent, tuning
prompts: ``val`` and ``oos_train`` 40-99) and each NPC protocol (its tuning set,
written apart from the training patterns), this prints the final accuracy of:

- ``frozen-nn``: the sentence encoder as shipped, nearest training line (the anchor of the issue);
- ``frozen-lr``: the encoder as shipped with the logistic-regression head (``--intent-steps 0``);
- ``tuned-S``: the encoder fine-tuned contrastively for S steps, then the head (the default is 60);

and, for the default head, the off-topic recall and false refusals of its refusal
rule, and ``answered_right`` (the in-scope prompts given the right final and not
refused), beside the earlier rule (the shipped encoder's similarity, threshold
halfway between the 5th percentile of leave-one-out similarity and the
guardrail's median)::

    python bench/intent_recipe.py --split tune --threads 1
    python bench/intent_recipe.py --split test --threads 1     # the same on the test prompts (report only)
    python bench/intent_recipe.py --split tune --steps 60 --set lr=6e-5 --threads 1   # another recipe value
    python bench/intent_recipe.py --split tune --steps 60 --seed 1 --threads 1         # another seed

``--encoder-dir DIR`` measures another sentence encoder instead of the shipped one (a
sentence-transformers folder with mean pooling; docs/quality.md measures all-mpnet-base-v2 so)::

    python bench/intent_recipe.py --split tune --steps 0 20 60 --encoder-dir encoders/all-mpnet-base-v2 --threads 1

``--augmented DIR`` trains each protocol run on ``DIR/{protocol name}_augmented_model.json`` instead, as
``mtp augment`` writes it (paraphrase augmentation, measured in docs/quality.md)::

    python bench/npc/protocols.py npc && for n in shop quest companion; do
        mtp augment npc/${n}_npc_model.json --out augmented --threads 1; done
    python bench/intent_recipe.py --split tune --steps 60 --only npc_shop npc_quest npc_companion \
        --augmented augmented --threads 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality  # noqa: E402  (bench/quality.py: the protocols and prompts)
from model_train_protocol import Protocol  # noqa: E402
from model_train_protocol.rules import head_sources  # noqa: E402
from model_train_protocol.runtime import REFUSE_CLASS, choose_similarity_threshold  # noqa: E402
from model_train_protocol.infer import SentenceEncoder, pooled  # noqa: E402
from model_train_protocol.train import IntentRecipe, fit_intent  # noqa: E402


def prompts(split: str) -> list[tuple[str, object, list[tuple[str, str]], list[str]]]:
    """(name, training protocol, in-scope (line, final name) pairs, off-topic lines) of every benchmark protocol."""
    data = json.loads(quality.DATA.read_text(encoding="utf-8"))
    found = []
    for domain in quality.DOMAINS:
        protocol = quality.build_protocol(data, domain)
        source = data["test" if split == "test" else "val"]
        seen: dict[str, int] = {}
        pairs = []
        for query, intent in source:
            if intent in data["domains"][domain] and seen.get(intent, 0) < (10 if split == "test" else 10**9):
                seen[intent] = seen.get(intent, 0) + 1
                pairs.append((query, quality._final_name(intent)))
        off = [q for q, _ in (data["oos_val"] if split == "test" else data["oos_train"][40:])]
        found.append((domain, protocol, pairs, off))
    from bench.npc import protocols as npc  # the repository root is on the path (above)

    for name, protocol, _ in quality.npc_protocols(split):
        found.append((name, protocol, *npc.heldout(name.removeprefix("npc_"), split)))
    return found


def _accuracy(predicted: list[str], pairs: list[tuple[str, str]]) -> float:
    return round(sum(p == g for p, (_, g) in zip(predicted, pairs)) / len(pairs), 4)


def load_encoder(folder: Path | None) -> SentenceEncoder:
    """The shipped encoder, or a sentence-transformers folder (mean pooling) given with ``--encoder-dir``."""
    return SentenceEncoder.load() if folder is None else SentenceEncoder(folder)


def measure(name: str, protocol, pairs, off, steps_list: list[int], recipe: dict | None = None,
            seed: int = 0, encoder_dir: Path | None = None) -> dict:
    row: dict = {"protocol": name}
    source, = head_sources(protocol)
    frozen = load_encoder(encoder_dir)
    with torch.no_grad():
        train = pooled(frozen, list(source.texts))
        good = pooled(frozen, [t for t, _ in pairs])
        bad = pooled(frozen, off)
        guard = pooled(frozen, list(source.guard))
    nearest = (good @ train.T).argmax(1).tolist()
    row["frozen-nn"] = _accuracy([source.labels[i] for i in nearest], pairs)
    # the earlier refusal rule: the shipped encoder's similarity
    sims = train @ train.T
    sims.fill_diagonal_(-1.0)
    old = choose_similarity_threshold(sims.max(1).values.tolist(), (guard @ train.T).max(1).values.tolist())
    row["old-rule"] = {"false_refusals": round(float(((good @ train.T).max(1).values < old).float().mean()), 4),
                       "recall": round(float(((bad @ train.T).max(1).values < old).float().mean()), 4)}
    for steps in steps_list:
        started = time.perf_counter()
        fitted = fit_intent(protocol, load_encoder(encoder_dir), IntentRecipe(steps=steps, **(recipe or {})), seed=seed)
        seconds = time.perf_counter() - started
        heads = fitted.heads(protocol)
        decide = [heads.decide(source.instruction, ["", t] if source.line == 1 else [t]) for t, _ in pairs]
        label = "frozen-lr" if steps == 0 else f"tuned-{steps}"
        classes = [d.probs for d in decide]
        in_scope = [max((c for c in p if c != REFUSE_CLASS), key=p.get) for p in classes]
        row[label] = _accuracy(in_scope, pairs)
        row[f"{label}-seconds"] = round(seconds, 1)
        if steps == IntentRecipe().steps or len(steps_list) == 1:
            refused_bad = [heads.decide(source.instruction, ["", t] if source.line == 1 else [t]).refuses for t in off]
            answered = [p if not d.refuses else REFUSE_CLASS for p, d in zip(in_scope, decide)]
            row["head-rule"] = {"false_refusals": round(sum(d.refuses for d in decide) / len(decide), 4),
                                "recall": round(sum(refused_bad) / len(refused_bad), 4),
                                "answered_right": _accuracy(answered, pairs)}
    print(json.dumps(row), flush=True)
    return row


def _trained_on(protocol, augmented: Path | None):
    """The protocol to train: ``protocol``, or its augmented file from ``augmented`` (which must exist)."""
    if augmented is None:
        return protocol
    return Protocol.load(augmented / f"{protocol.name}_augmented_model.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "test"), default="tune")
    parser.add_argument("--steps", type=int, nargs="+", default=[0, 60, 120])
    parser.add_argument("--only", nargs="*", help="protocol names to run (default: all)")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--augmented", type=Path, default=None,
                        help="train on DIR/{protocol name}_augmented_model.json (mtp augment's files) instead")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fine-tuning's batches and weights")
    parser.add_argument("--encoder-dir", type=Path, default=None,
                        help="measure another sentence encoder: a sentence-transformers folder with mean pooling "
                             "(default: the shipped all-MiniLM-L6-v2)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="other IntentRecipe values to measure (numbers: lr=6e-5 temperature=0.1 batch=64; "
                             "copy_similarity=none)")
    args = parser.parse_args(argv)
    if args.encoder_dir is not None and not (args.encoder_dir / "config.json").is_file():
        parser.error(f"--encoder-dir {args.encoder_dir}: not a model folder (no config.json in it)")
    recipe = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if key not in IntentRecipe.__dataclass_fields__ or key == "steps" or not value:
            parser.error(f"--set {item}: expected FIELD=VALUE with FIELD an IntentRecipe field other than steps")
        default = getattr(IntentRecipe(), key)
        try:
            if default is None:  # an optional number: none, or a value
                recipe[key] = None if value.lower() == "none" else float(value)
            else:
                recipe[key] = type(default)(value)
            IntentRecipe(**recipe)
        except ValueError as exc:  # not a number, or out of range (the recipe says which)
            parser.error(f"--set {item}: {exc}")
    if args.threads:
        torch.set_num_threads(args.threads)
    found = prompts(args.split)
    unknown = sorted(set(args.only or ()) - {name for name, *_ in found})
    if unknown:
        parser.error(f"--only: no protocol named {', '.join(unknown)} (see --help for the benchmark's protocols)")
    rows = [measure(name, _trained_on(protocol, args.augmented), pairs, off, args.steps, recipe, args.seed,
                    args.encoder_dir)
            for name, protocol, pairs, off in found if not args.only or name in args.only]
    mean = {k: round(sum(r[k] for r in rows) / len(rows), 4) for k in rows[0]
            if isinstance(rows[0][k], float) and not k.endswith("seconds")}
    for rule in ("old-rule", "head-rule"):
        if all(rule in r for r in rows):
            mean[rule] = {k: round(sum(r[rule][k] for r in rows) / len(rows), 4) for k in rows[0][rule]}
    print("mean:", json.dumps(mean))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"split": args.split, "rows": rows, "mean": mean}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
