"""One benchmark workload on *our* package, run in a fresh process by bench/run.py.

    python bench/work_ours.py build N OUTDIR RESULT.json
    python bench/work_ours.py load N OUTDIR RESULT.json
    python bench/work_ours.py substring N OUTDIR RESULT.json   (N tokens)

Writes phase timings (seconds: wall from perf_counter, CPU from process_time) and this process's peak RSS
to RESULT.json.
"""

from __future__ import annotations

import sys
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
    run = gen.Phases()
    info = run.info
    if mode == "build":
        with run.timed("gen_only"):
            for _ in gen.samples(n):
                pass
        with run.timed("build"):
            protocol = build_protocol(n)
        with run.timed("save"):
            model = protocol.save(path=outdir)
        with run.timed("template"):
            template = protocol.template(path=outdir)
        info["files"] = {str(model): model.stat().st_size, str(template): template.stat().st_size}
    elif mode == "load":
        with run.timed("load"):
            protocol = mtp.Protocol.load(outdir / f"{gen.PROTOCOL_NAME}_model.json")
        with run.timed("validate"):
            problems = protocol.validate()
        info["problems"] = len(problems)
        info["samples"] = sum(len(i.samples) for i in protocol.instructions)
    elif mode == "substring":
        with run.timed("build"):
            protocol = substring_protocol(n)
        with run.timed("validate"):
            problems = protocol.validate()
        info["problems"] = len(problems)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    run.write(result_path)


if __name__ == "__main__":
    main()
