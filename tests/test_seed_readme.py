"""The seed README (MTP 0.3.2, the API contract) runs verbatim.

Its python code blocks are copied below exactly as written in
shared/seed/mtp-0.3.2-readme.md. They use two names the README never defines,
``character`` and ``context``; a user defines them as Tokens, and so do we.
"""

from __future__ import annotations

import json

import pytest

import model_train_protocol as mtp
from core_helpers import assert_files_valid

README_BLOCKS = [
    '''import model_train_protocol as mtp

# Initialize the protocol
protocol = mtp.Protocol(name="my_model", inputs=2)
''',
    '''# Create a basic token
cat = mtp.Token("Cat", desc="The Cheshire Cat")
tree = mtp.Token("Tree", desc="Perched in a tree, surrounded by a dense fog where nothing can be seen past a few feet, the Cheshire Cat sits smiling on a branch.")
talk = mtp.Token("Talk")
ponder = mtp.Token("Ponder")
grin = mtp.Token("Grin")
add = mtp.Token("Add")
disappear = mtp.Token("Disappear", key="🫥")
''',
    '''# Create a user token
alice = mtp.UserToken("Alice")
''',
    '''# Create a number token for sentence length
sentence_length = mtp.NumToken(value="SentenceLength", min_value=5, max_value=20)
''',
    '''# Create a TokenSet combining multiple tokens
tree_alice_talk = mtp.TokenSet(tokens=(tree, alice, talk))

# Create a TokenSet with sentence length
character_context_sentence = mtp.TokenSet(tokens=(character, context, sentence_length))
''',
    '''# Create a snippet with just text
snippet = tree_alice_talk.create_snippet(string="Where am I?")

# Create a snippet with text and sentence length
snippet_with_length = character_context_sentence.create_snippet(string="The enemy must be here somewhere.", numbers=[11])
''',
    '''# Create TokenSets
cat_pondering = mtp.TokenSet(tokens=(tree, cat, ponder))
cat_grinning = mtp.TokenSet(tokens=(tree, cat, grin))

# Create a simple instruction for the Cat's internal thoughts
cat_pondering_instruction_disappear = mtp.Instruction(
    context=[cat_pondering],
    response=cat_grinning,
    final=disappear,
    name="cat_pondering_instruction_disappear"
)
''',
    '''# Samples must be made on their associated TokenSets
sample_context = cat_pondering.create_snippet(
    string="Why do I keep vanishing and reappearing so suddenly?"
)
sample_output = cat_grinning.create_snippet(
    string="Because it amuses me, and it keeps everyone wondering whether I'm truly here at all."
)

cat_pondering_instruction_disappear.add_sample(
    input_snippets=[sample_context],
    output_snippet=sample_output
)
''',
    '''# Create TokenSets for Alice and Cat interaction
alice_talk = mtp.TokenSet(tokens=(tree, alice, talk))
cat_talk = mtp.TokenSet(tokens=(tree, cat, talk))

# Create a user instruction for Alice asking the Cat questions
alice_cat_instruction_leave = mtp.ExtendedInstruction(
    context=[alice_talk, cat_talk, alice_talk],  # Last TokenSet must contain at least one UserToken
    final=disappear,
    name="alice_cat_instruction_leave"
)
''',
    '''# Samples must be made on their associated TokenSets
sample_context_1 = alice_talk.create_snippet(
    string="I don't much care where—"
)
sample_context_2 = cat_talk.create_snippet(
    string="Then it doesn't matter which way you go."
)
sample_context_3 = alice_talk.create_snippet(
    string="Can you tell me which way I ought to go?"
)

alice_cat_instruction_leave.add_sample(
    input_snippets=[sample_context_1, sample_context_2, sample_context_3],
    response_string="Then I'll do it twice as much, since nervousness is such a curious flavor."
)
''',
    '''# Create a guardrails
guardrail = mtp.Guardrail(
    good_prompt="Quote being spoken with 1-20 words",
    bad_prompt="Quote being spoken that is irrelevant and off topic with 1-20 words",
    bad_output="Are you as mad as me?"
)

# Add examples of bad prompts
guardrail.add_sample("explain quantum mechanics.")
guardrail.add_sample("who will win the next american election?")
guardrail.add_sample("what is the capital of Spain?")
''',
    '''# Apply guardrails to a user TokenSet
tree_alice_talk.set_guardrail(guardrail)
''',
]

SAVE_BLOCK = '''# Save the protocol
protocol.save()
protocol.template()
'''


@pytest.fixture
def readme(tmp_path, monkeypatch) -> dict:
    """The namespace after running every README block but the last (save) one, in a temporary cwd."""
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"character": mtp.Token("Character"), "context": mtp.Token("Context")}
    for block in README_BLOCKS:
        exec(compile(block, "<seed README>", "exec"), namespace)
    return namespace


def test_blocks_build_the_objects_the_readme_describes(readme):
    assert readme["protocol"].inputs == 2 and readme["protocol"].encrypt is True
    assert readme["alice"].value == "Alice_" and readme["alice"].user
    assert readme["disappear"].key == "🫥"
    assert readme["snippet_with_length"].numbers == (11,)
    assert readme["tree_alice_talk"].guardrail is readme["guardrail"]
    assert len(readme["cat_pondering_instruction_disappear"].samples) == 1
    assert readme["alice_cat_instruction_leave"].samples[0].prompt.string == "Can you tell me which way I ought to go?"


def test_one_context_instruction_is_refused_under_two_inputs(readme):
    with pytest.raises(mtp.InstructionError) as info:
        readme["protocol"].add_instruction(readme["cat_pondering_instruction_disappear"])
    message = str(info.value)
    assert "has 1 input line" in message and "inputs=2" in message
    assert readme["protocol"].instructions == []


def test_final_save_block_lists_every_problem_at_once(readme, tmp_path):
    with pytest.raises(mtp.MTPValidationError) as info:
        exec(compile(SAVE_BLOCK, "<seed README>", "exec"), readme)
    rules = [p.rule for p in info.value.problems]
    assert rules == ["protocol.no-instructions", "protocol.context-lines"]
    assert "2 problems" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_completing_the_readme_flow_saves_schema_valid_files(readme, tmp_path):
    ns = readme
    protocol = ns["protocol"]
    for i in range(10):
        protocol.add_context(f"Alice follows the White Rabbit into Wonderland, part {i}.")
    leave = ns["alice_cat_instruction_leave"]
    for earlier, cat_line, question, answer in [
        ("I only wanted to ask.", "Ask away, child.", "Why do you grin so?", "Because grinning is what cats do here."),
        ("It is a strange place.", "All the best places are.", "Which way to the Queen?", "Both ways, if you walk long enough."),
    ]:
        leave.add_sample(
            input_snippets=[ns["alice_talk"].create_snippet(string=earlier), ns["cat_talk"].create_snippet(string=cat_line),
                            ns["alice_talk"].create_snippet(string=question)],
            response_string=answer,
        )
    protocol.add_instruction(leave)
    # The README's basic instruction, with the second input line the protocol asks for.
    ponder = mtp.Instruction(context=[ns["cat_pondering"], ns["character_context_sentence"]],
                             response=ns["cat_grinning"], final=ns["disappear"], name="cat_ponders")
    for i, length in enumerate((11, 6, 20)):
        ponder.add_sample(
            input_snippets=[ns["sample_context"],
                            ns["character_context_sentence"].create_snippet(string=f"Where is everyone {i}?", numbers=[length])],
            output_snippet=ns["sample_output"],
        )
    protocol.add_instruction(ponder)
    assert protocol.validate() == []

    exec(compile(SAVE_BLOCK, "<seed README>", "exec"), ns)
    model, template = tmp_path / "my_model_model.json", tmp_path / "my_model_template.json"
    assert_files_valid(model, template)
    document = json.loads(model.read_text(encoding="utf-8"))
    assert document["encrypted"] is True
    assert document["tokens"]["Alice_"]["user"] is True
    assert document["tokens"]["Disappear_"]["key"] == "🫥"
    # tree_alice_talk's guardrail guards the equal alice_talk lines (indexes 0 and 2 of the extended instruction).
    sets = document["instruction"]["sets"]
    assert [g["index"] for g in sets[0]["guardrails"]] == [0, 2]
    assert sets[1]["guardrails"] == []
