"""CLINC150 as a state machine or multi-classifier: the protocol to train and the held-out one, as two model files.

The state machine reads a customer's query and answers its intent (one of the domain's 15 states); the
guardrail refuses queries outside the domain. With ``--kind multi`` it is a multi-classifier whose one label,
``intent``, takes the 15 intents (a multi-classifier has no guardrail, so nothing is refused and the held-out
file holds no off-topic queries). Training takes the first ``--per-intent`` training queries of
each intent and ``--guardrail`` out-of-scope queries of ``oos_train``; the held-out file holds the domain's
``test`` queries and every ``oos_val`` query (as guardrail samples), none seen in training. Then::

    mtp train OUT/clinc_banking_sm_model.json --out OUT/model
    mtp eval OUT/model OUT/clinc_banking_sm_heldout_model.json --json

``--npc NAME`` writes an NPC of the NPC benchmark (bench/npc/) the same way instead: its training patterns, and
its held-out test prompts (written apart from them) as the held-out file, ``OUT/{NAME}_npc_sm_model.json`` and
``OUT/{NAME}_npc_sm_heldout_model.json`` (``_mc_`` for a multi-classifier).

``--summarize REPORT...`` prints one table row per ``eval_report.json`` that ``mtp eval`` wrote: the held-out
accuracy on every in-scope case and on the first ten of each expected state or label (the generative benchmark
asks the first ten ``test`` queries of each intent), the off-topic recall, the false refusals and the p50::

    python bench/state_machine_quality.py --summarize */model-eval/eval_report.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import model_train_protocol as mtp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from npc import protocols as npc  # noqa: E402  (bench/npc/protocols.py)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_dev.json"


def build(data: dict, domain: str, queries: list[tuple[str, str]], refusals: list[str], name: str,
          kind: str = "state") -> mtp.Protocol:
    """A one-instruction state machine of ``domain``: the query line answers its intent, or the refusal (a
    multi-classifier: its ``intent`` label, never a refusal)."""
    topic = domain.replace("_", " ")
    protocol = mtp.Protocol(name=name, inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The assistant sorts {topic} requests, line {i + 1} of its brief.")
    query_line = mtp.TokenSet(tokens=(mtp.UserToken("Customer"),))
    if kind == "multi":
        tagger = mtp.MultiClassifierInstruction(context=[query_line], name="intent",
                                                state_map={"intent": list(data["domains"][domain])})
        for query, intent in queries:
            tagger.add_sample([query], {"intent": intent})
        protocol.add_instruction(tagger)
        return protocol
    guardrail = mtp.Guardrail(good_prompt=f"A {topic} request", bad_prompt="Anything else",
                              bad_output="out_of_scope")
    for text in refusals:
        guardrail.add_sample(text)
    query_line.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[query_line], states=list(data["domains"][domain]), name="intent")
    for query, intent in queries:
        machine.add_sample([query], intent)
    protocol.add_instruction(machine)
    return protocol


def summarize(path: Path) -> str:
    """One markdown row of an ``mtp eval`` report of a state machine or multi-classifier."""
    report = json.loads(path.read_text(encoding="utf-8"))
    good = [c for c in report["cases"] if not c["bad_prompt"]]
    bad = [c for c in report["cases"] if c["bad_prompt"]]
    seen: dict[str, int] = {}
    first = []
    for case in good:
        key = json.dumps(case.get("expected_state") or case.get("expected_labels"), sort_keys=True)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= 10:
            first.append(case)
    summary = report["summary"]

    def pct(part: list, of: list) -> str:
        return f"{100 * len(part) / len(of):.1f} %" if of else "-"

    return " | ".join([
        str(report["protocol"]).removesuffix("_heldout"),
        pct([c for c in good if c["correct"]], good), pct([c for c in first if c["correct"]], first),
        pct([c for c in bad if c["refused"]], bad), pct([c for c in good if c["refused"]], good),
        f"{1000 * summary['latency_p50_s']:.0f} ms"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path)
    parser.add_argument("--domain", default="banking")
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--guardrail", type=int, default=10)
    parser.add_argument("--kind", choices=("state", "multi"), default="state",
                        help="state machine (default) or multi-classifier")
    parser.add_argument("--npc", choices=npc.NPCS, help="an NPC of the NPC benchmark instead of a CLINC150 domain")
    parser.add_argument("--summarize", type=Path, nargs="+", help="print a table row per mtp eval report and exit")
    args = parser.parse_args(argv)
    if args.summarize:
        print("| protocol | accuracy (all) | accuracy (first 10 per class) | off-topic recall | false refusals | p50 |")
        print("|---|---|---|---|---|---|")
        for path in args.summarize:
            print(f"| {summarize(path)} |")
        return 0
    if args.out is None:
        parser.error("--out is required (except with --summarize)")
    if args.npc:
        in_scope, off_topic = npc.heldout(args.npc, "test")
        trained = npc.build_choice(args.npc, kind=args.kind)
        heldout = npc.build_choice(args.npc, in_scope, off_topic, args.kind)
        heldout.name = trained.name + "_heldout"
        trained.save(path=args.out)
        heldout.save(path=args.out)
        print(f"{trained.name}: {len(in_scope)} held-out prompts"
              + ("" if args.kind == "multi" else f" and {len(off_topic)} held-out off-topic prompts")
              + f" in {args.out}")
        return 0
    data = json.loads(DATA.read_text(encoding="utf-8"))
    intents = set(data["domains"][args.domain])
    taken: dict[str, int] = {}
    train = []
    for query, intent in data["train"]:
        if intent in intents and taken.get(intent, 0) < args.per_intent:
            taken[intent] = taken.get(intent, 0) + 1
            train.append((query, intent))
    test = [(q, i) for q, i in data["test"] if i in intents]
    name = f"clinc_{args.domain}_{'mc' if args.kind == 'multi' else 'sm'}"
    build(data, args.domain, train, [q for q, _ in data["oos_train"][: args.guardrail]], name,
          args.kind).save(path=args.out)
    build(data, args.domain, test, [q for q, _ in data["oos_val"]], name + "_heldout", args.kind).save(path=args.out)
    off_topic = "no" if args.kind == "multi" else len(data["oos_val"])
    print(f"{len(train)} training queries, {len(test)} held-out queries and {off_topic} held-out off-topic queries "
          f"in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
