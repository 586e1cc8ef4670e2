"""CLINC150 as a state machine: the protocol to train and the held-out one to evaluate, as two model files.

The state machine reads a customer's query and answers its intent (one of the domain's 15 states); the
guardrail refuses queries outside the domain. Training takes the first ``--per-intent`` training queries of
each intent and ``--guardrail`` out-of-scope queries of ``oos_train``; the held-out file holds the domain's
``test`` queries and every ``oos_val`` query (as guardrail samples), none seen in training. Then::

    mtp train OUT/clinc_banking_sm_model.json --out OUT/model
    mtp eval OUT/model OUT/clinc_banking_sm_heldout_model.json --json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import model_train_protocol as mtp

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_dev.json"


def build(data: dict, domain: str, queries: list[tuple[str, str]], refusals: list[str], name: str) -> mtp.Protocol:
    """A one-instruction state machine of ``domain``: the query line answers its intent, or the refusal."""
    topic = domain.replace("_", " ")
    protocol = mtp.Protocol(name=name, inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The assistant sorts {topic} requests, line {i + 1} of its brief.")
    query_line = mtp.TokenSet(tokens=(mtp.UserToken("Customer"),))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--domain", default="banking")
    parser.add_argument("--per-intent", type=int, default=10)
    parser.add_argument("--guardrail", type=int, default=10)
    args = parser.parse_args(argv)
    data = json.loads(DATA.read_text(encoding="utf-8"))
    intents = set(data["domains"][args.domain])
    taken: dict[str, int] = {}
    train = []
    for query, intent in data["train"]:
        if intent in intents and taken.get(intent, 0) < args.per_intent:
            taken[intent] = taken.get(intent, 0) + 1
            train.append((query, intent))
    test = [(q, i) for q, i in data["test"] if i in intents]
    name = f"clinc_{args.domain}_sm"
    build(data, args.domain, train, [q for q, _ in data["oos_train"][: args.guardrail]], name).save(path=args.out)
    build(data, args.domain, test, [q for q, _ in data["oos_val"]], name + "_heldout").save(path=args.out)
    print(f"{len(train)} training queries, {len(test)} held-out queries and {len(data['oos_val'])} held-out "
          f"off-topic queries in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
