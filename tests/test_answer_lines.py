"""One truth for the answer lines: in every layout, training renders exactly the lines its saved template
describes, refusals included, and every runtime accepts exactly those.

Each training text of several protocols is rendered in every layout that can hold it, then read back with that
layout's template alone (a runtime with no protocol at hand) and with the protocol: the prompt must be the
template's input lines filled in, and the completion one of the template's output lines, which the Python
parser, the constrained decoder's token masks, the served regex and the GGUF grammar (libflora's) all accept.
A refusal ends in the layout's refusal line: ``<UNK>`` in 0.3.2, ``{finalKey}<UNK>_`` (``<NON>_<UNK>_``) in
templates 1.2.0 and 2.1.0, as the reference writes them (FORMAT.md 3.4).
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

import pytest

import model_train_protocol as mtp
from core_helpers import small_protocol, tiny_protocol
from model_train_protocol.examples.cheshire_cat import build_protocol as cheshire_cat
from model_train_protocol.examples.game_states import build_classifier, build_state_machine
from model_train_protocol.jsonio import dumps
from model_train_protocol.rules import layouts_holding, render_protocol
from model_train_protocol.infer import (InstructionSpec, MalformedOutput, instruction_grammar, instruction_specs,
                                        parse_completion, read_prompt)
from model_train_protocol.runtime import NUM_PLACEHOLDER, STRING, fill_input_lines
from model_train_protocol.serve import answer_regex
from test_export_gguf import gbnf_regex

PROTOCOLS: dict[str, Callable[[], mtp.Protocol]] = {
    "tiny": lambda: tiny_protocol(encrypt=False),
    "tiny-encrypted": lambda: tiny_protocol(encrypt=True),
    "basic-and-extended": small_protocol,
    "cheshire-cat": cheshire_cat,  # several finals (one numeric) under a guardrail
    "state-machine": build_state_machine,
    "multi-classifier": build_classifier,
}


def _cases() -> list[tuple[str, str]]:
    return [(name, layout) for name, build in PROTOCOLS.items() for layout in layouts_holding(build().model_type)
            if not build().validate(layout)]


def _is_refusal(key: str) -> bool:
    """A template's refusal final: ``<UNK>`` or ``{finalKey}<UNK>_`` (no token key holds ``<``)."""
    return key == "<UNK>" or key.endswith("<UNK>_")


def _in_layout(name: str, layout: str) -> tuple[mtp.Protocol, dict[str, Any]]:
    protocol = PROTOCOLS[name]()
    protocol.version = layout
    return protocol, json.loads(dumps(protocol.template_json()))  # as the saved file holds it


def _output_pattern(line: str) -> re.Pattern[str]:
    """A template output line (``<string>\\nKEY[<num_..>]\\n<EOS>``) as a regex of the completions it stands for."""
    out, pos = [], 0
    for m in re.finditer(f"{re.escape(STRING)}|{NUM_PLACEHOLDER.pattern}", line):
        out += [re.escape(line[pos:m.start()]), r"[^\n]+" if m.group(0) == STRING else r"-?(?:0|[1-9][0-9]*)"]
        pos = m.end()
    return re.compile("".join(out) + re.escape(line[pos:]))


def _walks_the_decoder(spec: InstructionSpec, protocol: mtp.Protocol, completion: str) -> None:
    """The constrained decoder's masks let the completion's tokens through, one by one, to its end."""
    from model_train_protocol.infer import Grammar, GrammarState, Vocab
    from model_train_protocol.train import scratch_tokenizer
    from model_train_protocol.rules import structural_strings

    texts = [e.text for e in render_protocol(protocol)]
    vocab = Vocab.build(scratch_tokenizer(texts, structural_strings(protocol), vocab_size=400))
    ids = vocab.encode(completion)
    state = GrammarState(Grammar(spec, vocab))
    for n, token in enumerate(ids):
        allowed = state.allowed()
        ok = not bool(allowed[token]) if hasattr(allowed, "shape") else token in allowed
        assert ok, f"token {vocab.pieces[token]!r} of {completion!r} is masked"
        tail = state.advance(token)
        if tail is not None:
            assert ids[n + 1:] == tail, completion
            return
    raise AssertionError(f"the decoder did not finish {completion!r}")


@pytest.mark.parametrize("name,layout", _cases())
def test_training_text_is_what_the_template_describes(name: str, layout: str) -> None:
    protocol, template = _in_layout(name, layout)
    examples = list(render_protocol(protocol))
    assert any(e.guardrail for e in examples) == (name != "multi-classifier")
    for at_hand in (None, protocol):
        specs = instruction_specs(template, at_hand)
        for example in examples:
            spec, lines, numbers = read_prompt(specs.values(), example.prompt)
            assert spec.name == example.instruction
            assert fill_input_lines(spec.input_lines, lines, numbers) == example.prompt
            outputs = template["instructions"][spec.name]["output"]
            assert any(_output_pattern(line).fullmatch(example.completion) for line in outputs), example.completion
            answer = parse_completion(example.completion, spec)
            assert answer.guardrail == example.guardrail and answer.final_key == example.final
            if example.guardrail:
                assert answer.final == "<UNK>" and example.final == spec.guardrail.key  # the first refusal line
                assert (example.final == "<UNK>") == (layout == "0.3.2")
            assert re.fullmatch(answer_regex(spec), example.completion)
            assert gbnf_regex(instruction_grammar(spec)).fullmatch(example.completion.removesuffix("<EOS>"))


@pytest.mark.parametrize("name,layout", [c for c in _cases() if c[0] in ("cheshire-cat", "state-machine")])
def test_the_decoder_accepts_each_training_completion(name: str, layout: str) -> None:
    pytest.importorskip("tokenizers")
    protocol, template = _in_layout(name, layout)
    specs = instruction_specs(template, protocol)
    for example in render_protocol(protocol):
        _walks_the_decoder(specs[example.instruction], protocol, example.completion)


@pytest.mark.parametrize("name,layout", [c for c in _cases() if c[0] != "multi-classifier"])
def test_runtimes_accept_exactly_the_templates_refusal_lines(name: str, layout: str) -> None:
    """Every refusal line the template lists is a refusal to each runtime; the other layouts' lines are not."""
    protocol, template = _in_layout(name, layout)
    specs = instruction_specs(template)
    guarded = 0
    for iname, body in template["instructions"].items():
        spec = specs[iname]
        refusal = spec.refusals[0] if spec.refusals else "I will not say."
        listed = [line.split("\n")[1] for line in body["output"] if _is_refusal(line.split("\n")[1])]
        assert [g.key for g in spec.guardrails] == listed
        guarded += bool(listed)
        for key in listed:
            completion = f"{refusal}\n{key}\n<EOS>"
            assert parse_completion(completion, spec).guardrail
            assert re.fullmatch(answer_regex(spec), completion)
            assert gbnf_regex(instruction_grammar(spec, refusal)).fullmatch(completion.removesuffix("<EOS>"))
        others = {"<UNK>", "<NON>_<UNK>_", *(f"{f.key}<UNK>_" for f in spec.finals)} - set(listed)
        for key in others:
            with pytest.raises(MalformedOutput):
                parse_completion(f"{refusal}\n{key}\n<EOS>", spec)
            assert not re.fullmatch(answer_regex(spec), f"{refusal}\n{key}\n<EOS>")
    assert guarded


def test_the_reference_generative_template_reads_its_refusal_lines() -> None:
    """Reference 1.2.8 lists ``Done_<UNK>_`` in no ``tokens.output``; the runtime still reads it as the refusal."""
    protocol, template = _in_layout("tiny", "2.0.1")
    del template["tokens"]["output"]["Done_<UNK>_"]
    spec = instruction_specs(template)["chat"]
    assert [g.key for g in spec.guardrails] == ["Done_<UNK>_"]
    answer = parse_completion("What?\nDone_<UNK>_\n<EOS>", spec)
    assert answer.guardrail and answer.final == "<UNK>" and answer.final_key == "Done_<UNK>_"
