"""Export: every format renders the canonical text, columns have one type, the split is stratified and seeded."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.export import (FORMATS, ExportError, example_record, export_protocol, read_jsonl,
    split_assignment, strata_counts)
from model_train_protocol.runtime import is_refusal_key
from model_train_protocol.rules import render_protocol


def skewed_protocol(per_final: dict[str, int] = {"Yes": 40, "No": 20, "Maybe": 10}) -> mtp.Protocol:
    """One guarded instruction with finals of different sizes, and a second small instruction."""
    protocol = mtp.Protocol(name="skewed", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Background line {i}.")
    sys_tok, user_tok, bot_tok = mtp.Token("System"), mtp.UserToken("Person"), mtp.Token("Bot")
    system, user, bot = mtp.TokenSet(sys_tok), mtp.TokenSet(user_tok), mtp.TokenSet(bot_tok)
    guardrail = mtp.Guardrail("questions", "anything else", "I only answer questions.")
    for text in ("tell a joke", "sing a song", "write a poem", "what is love"):
        guardrail.add_sample(text)
    user.set_guardrail(guardrail)
    finals = {name: mtp.Token(name) for name in per_final}
    ask = mtp.Instruction(context=[system, user], response=bot, final=list(finals.values()), name="ask")
    for name, count in per_final.items():
        for n in range(count):
            ask.add_sample([f"Be brief {n}.", f"question {name} {n}"], f"answer {name} {n}", final=finals[name])
    protocol.add_instruction(ask)
    done = mtp.Token("Done")
    other = mtp.Instruction(context=[system, mtp.TokenSet((sys_tok, bot_tok))], response=bot, final=done, name="other")
    for n in range(5):
        other.add_sample([f"a{n}", f"b{n}"], f"c{n}")
    protocol.add_instruction(other)
    return protocol


def column_types(records: list[dict]) -> dict[str, set[str]]:
    """Type signature of every column (nested lists of objects included) over all records."""
    def sig(value) -> str:
        if isinstance(value, list):
            return "list[" + "|".join(sorted({sig(v) for v in value})) + "]"
        if isinstance(value, dict):
            return "{" + ",".join(f"{k}:{sig(v)}" for k, v in sorted(value.items())) + "}"
        return type(value).__name__

    types: dict[str, set[str]] = {}
    for record in records:
        for key, value in record.items():
            types.setdefault(key, set()).add(sig(value))
    return types


def prompt_completion(record: dict, fmt: str) -> tuple[str, str]:
    if fmt == "openai-chat":
        user, assistant = record["messages"][-2:]
        return user["content"], assistant["content"]
    if fmt == "prompt-completion":
        return record["prompt"], record["completion"]
    if fmt == "alpaca":
        return record["instruction"] + record["input"], record["output"]
    if fmt == "sharegpt":
        human, gpt = record["conversations"][-2:]
        return human["value"], gpt["value"]
    raise AssertionError(fmt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_line_is_the_renderers_text(tmp_path: Path, fmt: str) -> None:
    protocol = build_protocol()
    result = export_protocol(protocol, tmp_path, fmt)
    lines = (tmp_path / "train.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    expected = list(render_protocol(protocol))
    assert len(records) == len(expected) == result.counts["train"]
    for record, example in zip(records, expected):
        if fmt == "text":
            assert record == {"text": example.prompt + example.completion}
        else:
            assert prompt_completion(record, fmt) == (example.prompt, example.completion)
    assert not (tmp_path / "val.jsonl").exists()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("context", [False, True])
def test_columns_have_one_type(tmp_path: Path, fmt: str, context: bool) -> None:
    export_protocol(build_protocol(), tmp_path, fmt, val_split=0.2, seed=3, context=context)
    for name in ("train.jsonl", "val.jsonl"):
        records = read_jsonl(tmp_path / name)
        assert records
        types = column_types(records)
        assert all(len(t) == 1 for t in types.values()), types
        assert "NoneType" not in json.dumps(sorted(map(sorted, types.values())))
        assert all(set(r) == set(records[0]) for r in records)


def test_context_becomes_a_system_turn() -> None:
    protocol = build_protocol()
    example = next(iter(render_protocol(protocol)))
    chat = example_record(example, "openai-chat", system="ctx")
    assert chat["messages"][0] == {"role": "system", "content": "ctx"}
    assert example_record(example, "sharegpt", system="ctx")["conversations"][0] == {"from": "system", "value": "ctx"}
    assert example_record(example, "alpaca", system="ctx")["system"] == "ctx"
    assert [m["role"] for m in example_record(example, "openai-chat")["messages"]] == ["user", "assistant"]


def test_guardrail_refusals_are_included(tmp_path: Path) -> None:
    protocol = build_protocol()
    result = export_protocol(protocol, tmp_path, "prompt-completion")
    records = read_jsonl(tmp_path / "train.jsonl")
    refusals = [r for r in records if r["completion"].endswith("\n<UNK>\n<EOS>")]
    guardrails = protocol.guardrail_map().values()
    bad_outputs = {g.bad_output for g in guardrails}
    assert refusals and len(refusals) == result.guardrail_examples
    assert {r["completion"].split("\n")[0] for r in refusals} == bad_outputs
    bad_prompts = {s for g in guardrails for s in g.samples}
    assert all(any(b in r["prompt"] for b in bad_prompts) for r in refusals)


def test_no_guardrails_option(tmp_path: Path) -> None:
    result = export_protocol(build_protocol(), tmp_path, "text", guardrails=False)
    assert result.guardrail_examples == 0
    assert all("<UNK>" not in r["text"] for r in read_jsonl(tmp_path / "train.jsonl"))


def test_split_is_stratified_and_proportional(tmp_path: Path) -> None:
    protocol = skewed_protocol()
    result = export_protocol(protocol, tmp_path, "text", val_split=0.2, seed=7)
    total = sum(strata_counts(protocol).values())
    assert result.counts["val"] == round(total * 0.2)
    assert result.counts["train"] + result.counts["val"] == total
    val = result.strata["val"]
    assert val[("ask", "Yes_")] == 8 and val[("ask", "No_")] == 4 and val[("ask", "Maybe_")] == 2
    assert val[("other", "Done_")] == 1  # 5 * 0.2
    assert val[("ask", "<UNK>")] + val[("other", "Done_")] >= 1
    # the files hold what the result says, and no example is in both
    train, valid = read_jsonl(tmp_path / "train.jsonl"), read_jsonl(tmp_path / "val.jsonl")
    assert (len(train), len(valid)) == (result.counts["train"], result.counts["val"])
    assert not {r["text"] for r in train} & {r["text"] for r in valid}


def test_split_is_deterministic_per_seed(tmp_path: Path) -> None:
    protocol = skewed_protocol()
    texts = {}
    for run, seed in (("a", 1), ("b", 1), ("c", 2)):
        export_protocol(protocol, tmp_path / run, "text", val_split=0.25, seed=seed)
        texts[run] = (tmp_path / run / "val.jsonl").read_bytes()
    assert texts["a"] == texts["b"]
    assert texts["a"] != texts["c"]


def test_every_class_keeps_a_training_example() -> None:
    counts = Counter({("i", "A"): 1, ("i", "B"): 2, ("i", "C"): 50})
    chosen = split_assignment(counts, 0.9, seed=0)
    for stratum, n in counts.items():
        assert len(chosen[stratum]) <= n - 1


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=8),
    split=st.floats(min_value=0.01, max_value=0.9),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_split_properties(sizes: list[int], split: float, seed: int) -> None:
    counts = Counter({("i", f"F{k}"): n for k, n in enumerate(sizes)})
    chosen = split_assignment(counts, split, seed)
    total = sum(sizes)
    taken = sum(len(v) for v in chosen.values())
    room = total - len(sizes)
    assert taken == min(max(1, round(total * split)), room) if total >= 2 else taken == 0
    capped = any(len(chosen[s]) == counts[s] - 1 and counts[s] * split > counts[s] - 1 for s in counts)
    for stratum, picked in chosen.items():
        n = counts[stratum]
        assert picked <= set(range(n)) and len(picked) <= n - 1
        assert len(picked) >= min(math.floor(n * split), n - 1)  # never below its share
        if not capped:  # largest remainder: at most one above its share
            assert len(picked) <= math.ceil(n * split)
    assert chosen == split_assignment(counts, split, seed)


def test_bad_settings_raise_mtp_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="choose one of"):
        export_protocol(build_protocol(), tmp_path, "csv")
    with pytest.raises(ExportError, match="val_split"):
        export_protocol(build_protocol(), tmp_path, "text", val_split=1.0)
    assert issubclass(ExportError, mtp.MTPError)


def test_invalid_protocol_is_refused(tmp_path: Path) -> None:
    protocol = mtp.Protocol(name="empty", inputs=2)
    with pytest.raises(mtp.MTPValidationError):
        export_protocol(protocol, tmp_path, "text")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("fmt", FORMATS)
def test_pyarrow_reads_one_schema(tmp_path: Path, fmt: str) -> None:
    """What ``datasets`` does with JSONL: pyarrow infers one schema for the whole file (skips without pyarrow)."""
    pj = pytest.importorskip("pyarrow.json")
    export_protocol(build_protocol(), tmp_path, fmt, val_split=0.2, seed=1, context=True)
    for name in ("train.jsonl", "val.jsonl"):
        table = pj.read_json(tmp_path / name)
        assert table.num_rows == len(read_jsonl(tmp_path / name))
        assert "null" not in table.schema.to_string()


def test_every_loadable_reference_file_exports(data_dir: Path, tmp_path: Path) -> None:
    """Reference files of every release: each sample and refusal becomes exactly one canonical line."""
    exported = 0
    for path in sorted((data_dir / "reference").rglob("*_model.json")):
        try:
            protocol = mtp.Protocol.load(path)
        except mtp.MTPFileError:
            continue  # state machines, multi-classifiers, pre-0.3 layouts
        out = tmp_path / path.parent.name / path.stem
        result = export_protocol(protocol, out, "text")
        texts = [r["text"] for r in read_jsonl(out / "train.jsonl")]
        assert texts == [example.text for example in render_protocol(protocol)], path
        # a refusal ends in the refusal line of the file's layout: <UNK> (0.3.x), Done_<UNK>_ (1.x, 2.x)
        assert result.guardrail_examples == sum(is_refusal_key(t.split("\n")[-2]) for t in texts)
        exported += 1
    assert exported >= 10


# --- the fast line writer ------------------------------------------------------------------------------------

def _stdlib_line(record: dict) -> str:
    """How export lines were written before the fast writer: the definition of the bytes."""
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


@settings(max_examples=200, deadline=None)
@given(prompt=st.text(), completion=st.text(), system=st.none() | st.text(), fmt=st.sampled_from(FORMATS))
def test_fast_lines_equal_the_stdlib_encoding(prompt: str, completion: str, system, fmt: str) -> None:
    from model_train_protocol.export import _export as export

    example = mtp.RenderedExample(instruction="i", prompt=prompt, completion=completion, final="F_")
    expected = _stdlib_line(example_record(example, fmt, system))
    assert export.example_line(example, fmt, system) == expected
    fallback, export._orjson = export._orjson, None  # the stdlib encoder, used when orjson is missing
    try:
        assert export.example_line(example, fmt, system) == expected
    finally:
        export._orjson = fallback


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("context", [False, True])
def test_exported_files_are_byte_identical_to_the_stdlib_encoding(tmp_path: Path, fmt: str, context: bool) -> None:
    from model_train_protocol.export import export_records

    protocol = build_protocol()
    export_protocol(protocol, tmp_path, fmt, context=context)
    expected = "".join(_stdlib_line(record) + "\n" for _, record in export_records(protocol, fmt, context))
    assert (tmp_path / "train.jsonl").read_bytes() == expected.encode("utf-8")


@pytest.mark.parametrize("fmt", FORMATS)
def test_state_machines_and_multi_classifiers_export_their_canonical_lines(tmp_path: Path, fmt: str) -> None:
    """Every format's completion is the state (the label line in the state map's order, Python quoting) then <NON>, or the
    guardrail's refusal; the prompt ends with the response-set line and <RUN>."""
    from model_train_protocol.examples.game_states import MESSAGES, TRANSITIONS, build_classifier, build_state_machine

    machine = build_state_machine()
    tagger = build_classifier()
    quoted = tagger.instructions[0]
    quoted.add_sample(["field", "It's late."], '{"intent": "statement", "emotion": "calm"}')
    expected = {
        "npc_states": ([f"{after}\n<NON>\n<EOS>" for _, _, after in TRANSITIONS]
                       + ["Idle\n<NON>_<UNK>_\n<EOS>"] * 3,  # the refusal line of template 2.1.0
                       "State_\n<RUN>\n"),
        "message_tags": ([f"{{'intent': '{intent}', 'emotion': '{emotion}'}}\n<NON>\n<EOS>"
                          for _, _, emotion, intent in MESSAGES]
                         + ["{'intent': 'statement', 'emotion': 'calm'}\n<NON>\n<EOS>"], "States_\n<RUN>\n"),
    }
    for protocol in (machine, tagger):
        out = tmp_path / protocol.name
        export_protocol(protocol, out, fmt)
        records = read_jsonl(out / "train.jsonl")
        completions, ending = expected[protocol.name]
        if fmt == "text":
            texts = [r["text"] for r in records]
            assert sorted(t[t.index("<RUN>\n") + 6:] for t in texts) == sorted(completions)
            assert all(ending in t for t in texts)
            continue
        pairs = [prompt_completion(r, fmt) for r in records]
        assert sorted(c for _, c in pairs) == sorted(completions)
        assert all(p.endswith(ending) for p, _ in pairs)


def test_a_state_machine_is_split_by_state(tmp_path: Path) -> None:
    """Every sample's final is <NON>, so the split's classes are the states: each keeps a training example, and
    export, training and evaluation hold out the same examples."""
    from model_train_protocol.export import stratified_split, stratum
    from model_train_protocol.examples.game_states import TRANSITIONS, build_state_machine

    protocol = build_state_machine()
    result = export_protocol(protocol, tmp_path, "prompt-completion", val_split=0.5, seed=1)
    states = Counter(after for _, _, after in TRANSITIONS)
    assert strata_counts(protocol) == Counter({**{("npc_state", f"<NON> {s}"): n for s, n in states.items()},
                                               ("npc_state", "<UNK>"): 3})
    assert all(result.strata["train"][("npc_state", f"<NON> {s}")] >= 1 for s in states)
    for s, n in states.items():  # half of each state, by largest remainder
        assert result.strata["val"][("npc_state", f"<NON> {s}")] in (n // 2, (n + 1) // 2)
    train, val = stratified_split(list(render_protocol(protocol)), 0.5, 1)
    assert [r["completion"] for r in read_jsonl(tmp_path / "val.jsonl")] == [e.completion for e in val]
    assert Counter(map(stratum, train)) == result.strata["train"]
