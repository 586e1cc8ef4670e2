"""One benchmark workload on the *reference* implementation (model-train-protocol 0.6.1).

Run by bench/run.py with bench/.ref-venv/bin/python, in a fresh process:

    work_ref.py build N OUTDIR RESULT.json
    work_ref.py load N OUTDIR RESULT.json
    work_ref.py substring N OUTDIR RESULT.json   (N tokens)

The protocol is the one of work_ours.py written in the 0.6.1 API (FORMAT.md 1.1):
finals are FinalTokens, the user's line is a plain Token (0.6.1 has no UserToken)
and the one guardrail is attached with add_guardrail(guardrail, 1) on every
instruction, which is where ours serializes it too. Samples are added before
add_instruction because 0.6.1 checks the sample minimum there.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gen  # noqa: E402

import model_train_protocol as ref  # noqa: E402


def build_protocol(n: int) -> "ref.Protocol":
    protocol = ref.Protocol(name=gen.PROTOCOL_NAME, inputs=2, encrypt=True)
    for line in gen.CONTEXT:
        protocol.add_context(line)
    guardrail = ref.Guardrail(*gen.GUARDRAIL)
    for text in gen.GUARDRAIL_SAMPLES:
        guardrail.add_sample(text)
    narrator = ref.Token(gen.NARRATOR)
    user_line = ref.TokenSet([ref.Token(gen.VISITOR)])
    instructions, scene_sets, finals = [], [], []
    for i, name in enumerate(gen.INSTRUCTIONS):
        scene = ref.TokenSet([ref.Token(gen.SCENES[i]), narrator])
        response = ref.TokenSet([ref.Token(gen.SPEAKERS[i])])
        pair = tuple(ref.FinalToken(f) for f in gen.FINALS[i])
        instruction = ref.Instruction(
            input=ref.InstructionInput([scene, user_line]),
            output=ref.InstructionOutput(response, final=list(pair)),
            name=name,
        )
        instructions.append(instruction)
        scene_sets.append(scene)
        finals.append(pair)
    for i, f, scene_text, user_text, response_text in gen.samples(n):
        instructions[i].add_sample(
            input_snippets=[scene_sets[i].create_snippet(scene_text), user_line.create_snippet(user_text)],
            output_snippet=response_text,
            final=finals[i][f],
        )
    for instruction in instructions:
        instruction.add_guardrail(guardrail, 1)
        protocol.add_instruction(instruction)
    return protocol


def substring_protocol(n_tokens: int) -> "ref.Protocol":
    protocol = ref.Protocol(name="substring", inputs=2, encrypt=False)
    for line in gen.CONTEXT:
        protocol.add_context(line)
    tokens = [ref.Token("T" + gen.sentence(k).replace(" ", "")[:24] + f"x{k}") for k in range(n_tokens)]
    sets = [ref.TokenSet(tokens[j:j + 10]) for j in range(0, n_tokens, 10)]
    final = ref.FinalToken("Done")
    for j in range(0, len(sets) - 2, 3):
        instruction = ref.Instruction(
            input=ref.InstructionInput([sets[j], sets[j + 1]]),
            output=ref.InstructionOutput(sets[j + 2], final=final),
            name=f"i{j}",
        )
        for _ in range(3):
            instruction.add_sample(["a b c", "d e f"], "g h i")
        protocol.add_instruction(instruction)
    return protocol


def main() -> None:
    mode, n, outdir, result_path = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    run = gen.Phases()
    info = run.info
    quiet = contextlib.redirect_stdout(io.StringIO())  # 0.6.1 prints "Saving ..." lines
    if mode == "build":
        with run.timed("gen_only"):
            for _ in gen.samples(n):
                pass
        with run.timed("build"):
            protocol = build_protocol(n)
        outdir.mkdir(parents=True, exist_ok=True)
        with quiet:
            with run.timed("save"):
                protocol.save(path=str(outdir))
            with run.timed("template"):
                protocol.template(path=str(outdir))
        files = [outdir / f"{gen.PROTOCOL_NAME}_model.json", outdir / f"{gen.PROTOCOL_NAME}_template.json"]
        info["files"] = {str(p): p.stat().st_size for p in files}
    elif mode == "load":
        path = outdir / f"{gen.PROTOCOL_NAME}_model.json"
        with quiet:
            with run.timed("load"):
                with open(path, encoding="utf-8") as handle:
                    protocol = ref.Protocol.from_json(json.load(handle))
            with run.timed("validate"):
                ok, message = protocol.validate_protocol()
        info["valid"] = ok
        info["message"] = message
        info["samples"] = sum(len(i.samples) for i in protocol.instructions)
    elif mode == "substring":
        with run.timed("build"):
            protocol = substring_protocol(n)
        with quiet:
            with run.timed("validate"):
                ok, message = protocol.validate_protocol()
        info["valid"] = ok
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    run.write(result_path)


if __name__ == "__main__":
    main()
