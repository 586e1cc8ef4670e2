"""Model quality on wording the model never saw: CLINC150 few-shot intents, the NPC benchmark, support_intents.

For each CLINC150 domain (``../shared/data/clinc150``, all eight): a protocol with
10 training queries per intent (15 finals, one instruction, a greeting line and
the customer's line) and a guardrail of 10 ``oos_train`` queries; the trained
model is then asked the domain's ``test`` queries and every ``oos_val`` query,
none of which it has seen. The NPC benchmark (``bench/npc``: a shop, a quest
giver and a companion, each built from six sentence patterns per final filled
with items, and a guardrail of ten lines) is asked its held-out prompts, written
apart by someone who never saw the training patterns. The support_intents
example is trained on its own training protocol and asked its held-out
paraphrases. Reported per protocol: final accuracy (and that of the language
model alone), off-topic recall, false refusals, AUROC, training time, p50 answer
latency, peak memory. Runs one at a time (training runs compete for the cores)::

    python bench/quality.py --out bench/results/quality --per-intent 10 --threads 1   # the default recipe
    python bench/quality.py --no-intent --domains --no-support --out bench/results/q-lm  # NPCs, language model alone
    python bench/quality.py --split tune --out bench/results/q-tune                   # the tuning prompts
    python bench/quality.py --markdown bench/results/quality/summary.json ...          # the docs table

Nothing is tuned on the test prompts: recipes are chosen on ``--split tune``
(CLINC150's ``val`` queries and ``oos_train`` queries past the first 40; the NPC
tuning sets) and with ``bench/intent_recipe.py``.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import sys
import time
from pathlib import Path

import model_train_protocol as mtp
from model_train_protocol.infer import Model, stored_similarity
from model_train_protocol.eval import EvalSet, evaluate
from model_train_protocol.rules import RenderedExample
from model_train_protocol.train import TrainConfig, train

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "clinc150" / "clinc150_dev.json"
DOMAINS = ("banking", "credit_cards", "kitchen_and_dining", "home", "auto_and_commute", "work", "small_talk", "meta")
NPC_DIR = Path(__file__).resolve().parent / "npc"
GREETING = "Hello, how can I help you with {topic} today?"


def _topic(domain: str) -> str:
    return domain.replace("_", " ")


def _final_name(intent: str) -> str:
    """A token name per intent; 'Ask...Q' keeps names like Balance and BillBalance from containing each other."""
    return "Ask" + intent.title().replace("_", "") + "Q"


def reply(intent: str) -> str:
    return f"Okay, {intent.replace('_', ' ')}."


def build_protocol(data: dict, domain: str, per_intent: int = 10, guardrail_queries: int = 10) -> mtp.Protocol:
    """The few-shot protocol of one domain: the first ``per_intent`` training queries of each intent."""
    intents = data["domains"][domain]
    protocol = mtp.Protocol(name=f"clinc_{domain}", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The assistant answers {_topic(domain)} questions, line {i + 1} of its brief.")
    customer = mtp.TokenSet(tokens=(mtp.UserToken("Customer"),))
    assistant = mtp.TokenSet(tokens=(mtp.Token("Assistant"),))
    finals = {intent: mtp.Token(_final_name(intent)) for intent in intents}
    guardrail = mtp.Guardrail(good_prompt=f"A {_topic(domain)} request", bad_prompt="Anything else",
                              bad_output=f"Sorry, I can only help with {_topic(domain)}.")
    for query in [q for q, _ in data["oos_train"] if not re.search(r"\d", q)][:guardrail_queries]:
        guardrail.add_sample(query)  # guardrail samples may hold no digits
    customer.set_guardrail(guardrail)
    instruction = mtp.Instruction(context=[assistant, customer], response=assistant, final=list(finals.values()),
                                  name="intent")
    taken = {intent: 0 for intent in intents}
    for query, intent in data["train"]:
        if taken.get(intent, per_intent) < per_intent:
            taken[intent] += 1
            instruction.add_sample(
                input_snippets=[assistant.create_snippet(GREETING.format(topic=_topic(domain))),
                                customer.create_snippet(query)],
                output_snippet=assistant.create_snippet(reply(intent)), final=finals[intent])
    protocol.add_instruction(instruction)
    return protocol


def clinc_cases(model: Model, data: dict, domain: str, per_intent: int | None, split: str = "test") -> EvalSet:
    """The domain's test queries and every oos_val query, as prompts of the trained instruction (``split``
    ``tune``: its val queries and oos_train queries 40-99, the data recipes are chosen on)."""
    spec = model.spec("intent")
    keys = {f.name: f.key for f in spec.finals}
    greeting = GREETING.format(topic=_topic(domain))
    examples, seen = [], {}
    for query, intent in data["test" if split == "test" else "val"]:
        if intent in data["domains"][domain] and seen.get(intent, 0) < (per_intent or 10**9):
            seen[intent] = seen.get(intent, 0) + 1
            key = keys[_final_name(intent)]
            examples.append(RenderedExample("intent", model.prompt("intent", [greeting, query]),
                                            f"{reply(intent)}\n{key}\n<EOS>", key, False, len(examples)))
    refusal = f"Sorry, I can only help with {_topic(domain)}."
    for query, _ in (data["oos_val"] if split == "test" else data["oos_train"][40:]):
        examples.append(RenderedExample("intent", model.prompt("intent", [greeting, query]),
                                        f"{refusal}\n<UNK>\n<EOS>", "<UNK>", True, len(examples)))
    what = "test + oos_val" if split == "test" else "val + oos_train[40:] (tuning)"
    return EvalSet(examples, f"CLINC150 {what} (never seen in training)")


def npc_protocols(split: str) -> list[tuple[str, mtp.Protocol, mtp.Protocol]]:
    """The NPC benchmark: each NPC's training protocol and its held-out protocol (``split``: test or tune), whose
    prompts were written apart from the training patterns (bench/npc/heldout/, by someone who never saw them)."""
    sys.path.insert(0, str(NPC_DIR.parent.parent))
    from bench.npc import protocols as npc

    found = []
    for name in npc.NPCS:
        heldout = npc.build(name, *npc.heldout(name, split))
        heldout.version = "2.0.1"  # held-out off-topic prompts may hold digits ("whats 2+2"); bloom 0.3.2 forbids them
        found.append((f"npc_{name}", npc.build(name), heldout))
    return found


def _row(name: str, base: str, report: dict, train_seconds: float, peak_mb: float, model: Model) -> dict:
    s = report["summary"]
    near = s.get("similarity_refusal") or {}
    thresholds = stored_similarity(model.manifest)
    return {
        "protocol": name, "base": base, "final_accuracy": s["final_accuracy"], "macro_f1": s.get("macro_f1"),
        "off_topic_recall": s["guardrail_recall"], "false_refusals": s["false_refusals"],
        "auroc": s["refusal"]["auroc"], "threshold": model.threshold,
        "similarity_auroc": near.get("auroc"), "refused_by": near.get("refused_by"),
        "similarity_thresholds": [v for lines in thresholds.values() for v in lines.values()],
        "language_model_accuracy": s.get("language_model_accuracy"), "intent_head_accuracy": s.get("intent_head_accuracy"),
        "train_seconds": round(train_seconds, 1),
        "latency_p50_s": s["latency_p50_s"], "peak_rss_mb": round(peak_mb), "cases": s["cases"],
        "duplicates_of_training": report["held_out"].get("duplicate_rate"),
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(name: str, protocol: mtp.Protocol, cases_for, out: Path, config: TrainConfig,
            ask_model: bool = False) -> dict:
    began = time.perf_counter()
    train(protocol, out / name / "model", config, force=True)
    seconds = time.perf_counter() - began
    model = Model.load(out / name / "model", ask_model=ask_model)
    report = evaluate(model, protocol, out / name / "eval", cases=cases_for(model))
    row = _row(name, config.base, report, seconds, _peak_mb(), model)
    print(json.dumps(row), flush=True)
    return row


def support_intents(out: Path, config: TrainConfig, ask_model: bool = False) -> dict:
    """The support_intents example: its training protocol, evaluated on its held-out paraphrase protocol."""
    from model_train_protocol.eval import select_cases
    from model_train_protocol.examples import support_intents as example

    protocol, heldout = example.build_protocol(), example.build_heldout()
    return run_one("support_intents", protocol,
                   lambda model: select_cases(heldout, model.manifest, model.specs, "all"), out, config, ask_model)


def markdown(rows: list[dict]) -> str:
    """The docs table of result rows."""
    def pct(v: float | None) -> str:
        return "-" if v is None else f"{100 * v:.1f} %"

    def num(v: float | None) -> str:
        return "-" if v is None else f"{v:.3f}"

    lines = ["| protocol | base | final accuracy | language model alone | off-topic recall | false refusals | "
             "AUROC (confidence / similarity) | similarity threshold | training | p50 answer | peak memory |",
             "|" + "---|" * 11]
    for r in rows:
        near = ", ".join(f"{v:.3f}" for v in r.get("similarity_thresholds") or []) or "-"
        cells = [r["protocol"], r["base"], pct(r["final_accuracy"]), pct(r.get("language_model_accuracy")),
                 pct(r["off_topic_recall"]),
                 pct(r["false_refusals"]), f"{num(r['auroc'])} / {num(r.get('similarity_auroc'))}", near,
                 f"{r['train_seconds']:.0f} s",
                 f"{1000 * r['latency_p50_s']:.0f} ms", f"{r['peak_rss_mb']} MB"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/quality"))
    parser.add_argument("--base", default="smollm2", help="smollm2 (default recipe) or scratch")
    parser.add_argument("--domains", nargs="*", default=list(DOMAINS), help="CLINC150 domains (none: --domains alone)")
    parser.add_argument("--per-intent", type=int, default=None, help="test queries per intent (default: all 30)")
    parser.add_argument("--no-support", action="store_true", help="skip the support_intents example")
    parser.add_argument("--npc", nargs="*", default=None, help="NPC protocols to run (default: all three; none: "
                        "--npc with no name)")
    parser.add_argument("--split", choices=("test", "tune"), default="test",
                        help="held-out prompts: test (the figures) or tune (what recipes are chosen on)")
    parser.add_argument("--no-intent", action="store_true", help="train without the intent head (the previous "
                        "recipe: the language model alone decides)")
    parser.add_argument("--ask-model", action="store_true", help="run the language model where the head decides "
                        "too, for its own column (same answers; the latency then includes it)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: PyTorch's)")
    parser.add_argument("--val-split", type=float, default=None, help="validation share (default: the recipe's)")
    parser.add_argument("--no-similarity", action="store_true", help="train without the similarity refusal")
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto",
                        help="the language model's training arithmetic (default: auto, as mtp train)")
    parser.add_argument("--encoder", default=None, help="the intent head's sentence encoder folder (mtp train "
                        "--encoder; default: the shipped all-MiniLM-L6-v2)")
    parser.add_argument("--intent-steps", type=int, default=None, help="the head's fine-tuning steps (default: "
                        "the recipe's)")
    parser.add_argument("--markdown", type=Path, nargs="+", help="print the table of summary.json files and exit")
    args = parser.parse_args(argv)
    if args.markdown:
        rows = [r for path in args.markdown for r in json.loads(path.read_text())["rows"]]
        print(markdown(rows))
        return 0
    data = json.loads(DATA.read_text(encoding="utf-8"))
    config = TrainConfig(base=args.base, progress=False, threads=args.threads, precision=args.precision,
                         **({"similarity_refusal": False} if args.no_similarity else {}),
                         **({"intent_head": False} if args.no_intent else {}),
                         **({} if args.val_split is None else {"val_split": args.val_split}),
                         **({} if args.encoder is None else {"encoder": args.encoder}),
                         **({} if args.intent_steps is None else {"intent_steps": args.intent_steps}))
    if args.threads:  # answering too (training sets its own threads and restores them)
        import torch

        torch.set_num_threads(args.threads)
    rows = []
    for domain in args.domains:
        rows.append(run_one(domain, build_protocol(data, domain),
                            lambda model, d=domain: clinc_cases(model, data, d, args.per_intent, args.split),
                            args.out, config, args.ask_model))
    from model_train_protocol.eval import select_cases

    for name, protocol, heldout in npc_protocols(args.split):
        if args.npc is None or name.removeprefix("npc_") in args.npc:
            rows.append(run_one(name, protocol,
                                lambda model, h=heldout: select_cases(h, model.manifest, model.specs, "all"),
                                args.out, config, args.ask_model))
    if not args.no_support:
        rows.append(support_intents(args.out, config, args.ask_model))
    clinc = [r for r in rows if r["protocol"] in args.domains] or rows
    mean = {k: round(sum(r[k] for r in clinc) / len(clinc), 4) for k in
            ("final_accuracy", "macro_f1", "off_topic_recall", "false_refusals", "train_seconds", "latency_p50_s")}
    summary = {"base": args.base, "split": args.split, "rows": rows, "clinc_mean": mean, "threads": args.threads,
               "settings": {k: v for k, v in config.to_dict().items()
                            if k in ("val_split", "similarity_refusal", "intent_head", "intent_steps", "encoder")},
               "test_queries_per_intent": args.per_intent or "all"}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(markdown(rows))
    print("CLINC150 mean:", json.dumps(mean))
    return 0


if __name__ == "__main__":
    sys.exit(main())
