"""One benchmark workload on *our* package, run in a fresh process by bench/run.py.

    python bench/work_ours.py build N OUTDIR RESULT.json
    python bench/work_ours.py load N OUTDIR RESULT.json
    python bench/work_ours.py substring N OUTDIR RESULT.json   (N tokens)

Writes phase timings (seconds: wall from perf_counter, CPU from process_time) and this process's peak RSS
to RESULT.json.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen  # noqa: E402

import model_train_protocol as mtp  # noqa: E402


def build_protocol(n: int) -> "mtp.Protocol":
    """The benchmark protocol with ``n`` samples (see bench/gen.py)."""
    protocol = mtp.Protocol(name=gen.PROTOCOL_NAME, inputs=2)
    for line in gen.CONTEXT:
        protocol.add_context(line)
    guardrail = mtp.Guardrail(*gen.GUARDRAIL)
    for text in gen.GUARDRAIL_SAMPLES:
        guardrail.add_sample(text)
    narrator = mtp.Token(gen.NARRATOR)
    user_line = mtp.TokenSet((mtp.UserToken(gen.VISITOR),))
    user_line.set_guardrail(guardrail)
    instructions, scene_sets, finals = [], [], []
    for i, name in enumerate(gen.INSTRUCTIONS):
        scene = mtp.TokenSet((mtp.Token(gen.SCENES[i]), narrator))
        response = mtp.TokenSet((mtp.Token(gen.SPEAKERS[i]),))
        pair = tuple(mtp.Token(f) for f in gen.FINALS[i])
        instruction = mtp.Instruction(context=[scene, user_line], response=response, final=list(pair), name=name)
        protocol.add_instruction(instruction)
        instructions.append(instruction)
        scene_sets.append(scene)
        finals.append(pair)
    for i, f, scene_text, user_text, response_text in gen.samples(n):
        instructions[i].add_sample(
            input_snippets=[scene_sets[i].create_snippet(scene_text), user_line.create_snippet(user_text)],
            output_snippet=response_text,
            final=finals[i][f],
        )
    return protocol


def substring_protocol(n_tokens: int) -> "mtp.Protocol":
    """A protocol whose TokenSets hold ``n_tokens`` distinct tokens, for the substring rule."""
    protocol = mtp.Protocol(name="substring", inputs=2, encrypt=False)
    for line in gen.CONTEXT:
        protocol.add_context(line)
    tokens = [mtp.Token("T" + gen.sentence(k).replace(" ", "")[:24] + f"x{k}") for k in range(n_tokens)]
    sets = [mtp.TokenSet(tuple(tokens[j:j + 10])) for j in range(0, n_tokens, 10)]
    final = mtp.Token("Done")
    for j in range(0, len(sets) - 2, 3):
        instruction = mtp.Instruction(context=[sets[j], sets[j + 1]], response=sets[j + 2], final=final, name=f"i{j}")
        for s in range(3):
            instruction.add_sample(["a b c", "d e f"], "g h i")
        protocol.add_instruction(instruction)
    return protocol


def main() -> None:
    mode, n, outdir, result_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}
    info: dict[str, object] = {}
    t0 = time.perf_counter()
    if mode == "build":
        t, c = time.perf_counter(), time.process_time()
        for _ in gen.samples(n):
            pass
        phases["gen_only"], cpu["gen_only"] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        protocol = build_protocol(n)
        phases["build"], cpu["build"] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        model = protocol.save(path=outdir)
        phases["save"], cpu["save"] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        template = protocol.template(path=outdir)
        phases["template"], cpu["template"] = time.perf_counter() - t, time.process_time() - c
        info["files"] = {str(model): model.stat().st_size, str(template): template.stat().st_size}
    elif mode == "load":
        path = outdir / f"{gen.PROTOCOL_NAME}_model.json"
        if not hasattr(mtp.Protocol, "load"):
            info["skipped"] = "Protocol.load does not exist yet"
        else:
            t, c = time.perf_counter(), time.process_time()
            protocol = mtp.Protocol.load(path)
            phases["load"], cpu["load"] = time.perf_counter() - t, time.process_time() - c
            t, c = time.perf_counter(), time.process_time()
            problems = protocol.validate()
            phases["validate"], cpu["validate"] = time.perf_counter() - t, time.process_time() - c
            info["problems"] = len(problems)
            info["samples"] = sum(len(i.samples) for i in protocol.instructions)
    elif mode == "substring":
        t, c = time.perf_counter(), time.process_time()
        protocol = substring_protocol(n)
        phases["build"], cpu["build"] = time.perf_counter() - t, time.process_time() - c
        t, c = time.perf_counter(), time.process_time()
        problems = protocol.validate()
        phases["validate"], cpu["validate"] = time.perf_counter() - t, time.process_time() - c
        info["problems"] = len(problems)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    phases["total"] = time.perf_counter() - t0
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result_path.write_text(json.dumps({"phases": phases, "cpu": cpu, "info": info, "self_peak_rss_kib": rss_kib}))


if __name__ == "__main__":
    main()
