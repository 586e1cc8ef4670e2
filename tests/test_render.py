"""The canonical renderer: sample text lines, template lines and guardrail refusals agree."""

from __future__ import annotations

import model_train_protocol as mtp
from model_train_protocol.rules import (BLOOM_0_3_2, final_filled, final_pattern, input_lines, output_line,
                                        render_completion, render_guardrail_examples, render_prompt, render_protocol,
                                        render_sample, tokenset_filled, tokenset_keys, tokenset_pattern)
from core_helpers import small_protocol, tiny_protocol
from model_train_protocol.authoring import KeyMap
from model_train_protocol.runtime import fill_input_lines


def test_tokenset_key_forms():
    keys = KeyMap(encrypt=False)
    alice, talk, mood = mtp.Token("Alice"), mtp.Token("Talk", key="🗣"), mtp.NumToken("Mood", 0, 9)
    coords = mtp.NumListToken("Coords", -9, 9, 2)
    ts = mtp.TokenSet((alice, talk, mood, coords))
    snippet = ts.create_snippet("hi", numbers=[3], number_lists=[[1, -2]])
    assert tokenset_keys(ts, keys) == "Alice_🗣Mood_Coords_"
    assert tokenset_pattern(ts, keys) == "Alice_🗣Mood_<num_0_9>Coords_<num_-9_9_2>"
    assert tokenset_filled(ts, keys, snippet) == "Alice_🗣Mood_3Coords_[1, -2]"
    assert tokenset_filled(ts, KeyMap(encrypt=True), snippet).startswith("ac50a4🗣f952163")


def test_basic_sample_text():
    protocol = tiny_protocol(encrypt=False)
    chat = protocol.instructions[0]
    example = render_sample(chat, chat.samples[0], protocol.key_map(), index=0)
    assert example.prompt == "<BOS>\nCat_🗣\nHi.\nAlice_🗣Mood_3\nHello cat.\nCat_🗣\n<RUN>\n"
    assert example.completion == "Hi Alice.\nDone_\n<EOS>"
    assert example.text == example.prompt + example.completion
    assert (example.final, example.guardrail, example.instruction) == ("Done_", False, "chat")


def test_extended_sample_text():
    protocol = small_protocol()
    extended = protocol.instructions[1]
    prompt = render_prompt(extended, extended.samples[0].inputs, protocol.key_map())
    assert prompt == "<BOS>\nCat_Talk_\na 0\nCat_Talk_\nb 0\nPlayer_Level_2prompt 0\n\n<RUN>\n"


def test_template_lines_filled_with_a_sample_give_the_sample_prompt():
    for protocol in (small_protocol(encrypt=True), tiny_protocol(encrypt=True)):
        keys = protocol.key_map()
        for instruction in protocol.instructions:
            lines = input_lines(instruction, keys)
            for sample in instruction.samples:
                texts = [sn.string for sn in sample.inputs]
                numbers = [n for sn in sample.inputs for n in sn.numbers]
                assert fill_input_lines(lines, texts, numbers) == render_prompt(instruction, sample.inputs, keys)


def test_output_lines():
    assert output_line("Done_") == "<string>\nDone_\n<EOS>"
    assert render_completion("What?", "<UNK>") == "What?\n<UNK>\n<EOS>"


def test_a_numeric_final_carries_its_value():
    """A NumToken final is written like an input number: key then value; the template shows its placeholder."""
    protocol = small_protocol(encrypt=False)
    basic, keys = protocol.instructions[0], protocol.key_map()
    numeric = [(i, s) for i, s in enumerate(basic.samples) if isinstance(s.final, mtp.NumToken)]
    assert numeric
    for index, sample in numeric:
        example = render_sample(basic, sample, keys, index)
        assert example.completion == f"{sample.output}\nScore_{sample.value}\n<EOS>"
        assert (example.final, example.value, example.final_line) == ("Score_", sample.value, f"Score_{sample.value}")
    plain = render_sample(basic, basic.samples[0], keys)
    assert (plain.value, plain.final_line) == (None, plain.final)
    score = numeric[0][1].final
    assert final_pattern(score, keys) == "Score_<num_0_10>"
    assert output_line(final_pattern(score, keys)) == "<string>\nScore_<num_0_10>\n<EOS>"
    assert final_filled(score, keys, 7) == "Score_7" and final_filled(mtp.Token("Yes"), keys, None) == "Yes_"
    assert "<string>\nScore_<num_0_10>\n<EOS>" in protocol.template_json()["instructions"]["basic"]["output"]


def test_template_output_lines_filled_with_a_sample_give_the_sample_completion():
    """A runtime filling the output line's <string> and <num_..> gets exactly what training wrote."""
    for protocol in (small_protocol(encrypt=True), small_protocol(encrypt=False)):
        keys = protocol.key_map()
        for instruction in protocol.instructions:
            for index, sample in enumerate(instruction.samples):
                line = output_line(final_pattern(sample.final, keys))
                numbers = [sample.value] if isinstance(sample.final, mtp.NumToken) else []
                filled = fill_input_lines([line], [sample.output], numbers)[:-1]  # without the prompt's last newline
                assert filled == render_sample(instruction, sample, keys, index).completion


def test_guardrail_refusals_put_each_bad_prompt_in_the_guarded_line():
    protocol = tiny_protocol(encrypt=False)
    chat = protocol.instructions[0]
    refusals = list(render_guardrail_examples(chat, protocol.key_map(), protocol.guardrail_map(), BLOOM_0_3_2))
    assert [r.index for r in refusals] == [0, 1, 2]
    assert all(r.guardrail and r.final == "<UNK>" and r.completion == "What?\n<UNK>\n<EOS>" for r in refusals)
    # the guarded line (index 1) holds the bad prompt; the sample's number stays in place
    assert refusals[0].prompt == "<BOS>\nCat_🗣\nHi.\nAlice_🗣Mood_3\nexplain physics\nCat_🗣\n<RUN>\n"
    assert refusals[1].prompt == "<BOS>\nCat_🗣\nWho?\nAlice_🗣Mood_5\ntell a joke\nCat_🗣\n<RUN>\n"


def test_render_protocol_order():
    protocol = small_protocol()
    examples = list(render_protocol(protocol))
    assert [(e.instruction, e.guardrail) for e in examples] == (
        [("basic", False)] * 6 + [("basic", True)] * 3 + [("extended", False)] * 3 + [("extended", True)] * 3)
    assert len(list(render_protocol(protocol, guardrails=False))) == 9
    # an extended refusal replaces the prompt, which sits on the key line
    assert examples[-1].prompt.endswith("Player_Level_2what is love\n\n<RUN>\n")


def test_template_names_match_by_name_else_by_input_lines_in_order():
    """The one matching of a protocol's instructions to a template's (0.3.2 model files store no names)."""
    from model_train_protocol.rules import input_lines, template_names

    a, user, yes, no = mtp.Token("Ask"), mtp.UserToken("Guest"), mtp.Token("Yes"), mtp.Token("No")
    ask, guest = mtp.TokenSet((a,)), mtp.TokenSet((user,))
    first = mtp.Instruction(context=[ask, guest], response=ask, final=yes, name="instruction_0")
    second = mtp.Instruction(context=[ask, guest], response=ask, final=no, name="instruction_1")
    keys = mtp.Protocol("p", inputs=2).key_map()
    lines = input_lines(first, keys)
    assert lines == input_lines(second, keys)  # the same lines: told apart by order only
    assert template_names([first, second], {"agree": lines, "refuse": lines}, keys) == {
        "instruction_0": "agree", "instruction_1": "refuse"}
    assert template_names([first, second], {"instruction_1": ["other"], "x": lines}, keys) == {
        "instruction_0": "x", "instruction_1": "instruction_1"}
    assert template_names([first], {"x": ["other"]}, keys) == {}
