"""The Cheshire Cat: Alice talks with the Cat, who grins, vanishes and reappears.

The reference implementation's own example protocol, written with the API of
the MTP README. Run it to save ``cheshire_cat_model.json`` and
``cheshire_cat_template.json`` into the current directory (or the directory
given as the first argument)::

    python examples/cheshire_cat.py [OUT_DIR]
"""

from __future__ import annotations


import model_train_protocol as mtp

BACKGROUND = [
    "Alice was tired of sitting by her sister with nothing to do. She peeked at her sister's book, but it had no "
    "pictures or conversations, and she wondered what use a book was without them.",
    "The hot day made her sleepy as she wondered if making a daisy-chain was worth the effort, when suddenly a white "
    "rabbit with pink eyes ran past her.",
    'There was nothing remarkable about a rabbit saying "Oh dear! I shall be too late!" At the time it seemed natural, '
    "though later she realized she should have been surprised.",
    "When the rabbit took a watch from its waistcoat-pocket, Alice realized she had never seen a rabbit with pockets "
    "or a watch. Burning with curiosity, she chased it down a rabbit-hole.",
    "Alice followed without thinking how to get out. The tunnel went straight, then dropped suddenly, and before she "
    "could stop, she was falling down a very deep well.",
    "The well was very deep or she fell slowly, giving her time to look around. She tried to see what was below, but "
    "it was too dark.",
    "The walls were lined with cupboards and bookshelves, with maps and pictures on pegs. She grabbed a jar labeled "
    '"ORANGE MARMALADE" but found it empty and put it back.',
    "Alice thought that after such a fall, tumbling down stairs would seem nothing. She imagined how brave everyone "
    "at home would think her, even if she fell off the house.",
    "Down, down, down. Would the fall never end? She wondered how many miles she had fallen, calculating she must be "
    "near the center of the earth, about four thousand miles down.",
    "She wondered if she would fall through the earth and emerge among people walking upside down. She thought about "
    "asking where she was, but decided against it, fearing they would think her ignorant.",
    "Alice began talking to herself about her cat Dinah, hoping someone would remember to give Dinah milk. She "
    "wondered if cats eat bats, repeating the question dreamily as she grew sleepy, until she landed on a heap of "
    "sticks and dry leaves.",
    "Alice landed unhurt and jumped up. She saw the White Rabbit hurrying down a passage and chased it, hearing it say "
    '"Oh my ears and whiskers, how late its getting!" before it disappeared. She found herself in a long, low hall '
    "lit by lamps hanging from the roof.",
]


def build_protocol() -> mtp.Protocol:
    """The whole protocol: 3 basic instructions, 1 extended instruction, 1 guardrail."""
    protocol = mtp.Protocol(name="cheshire_cat", inputs=2, encrypt=False)
    for line in BACKGROUND:
        protocol.add_context(line)

    # Tokens
    tree = mtp.Token(
        "Tree",
        desc="Perched in a tree, surrounded by a dense fog where nothing can be seen past a few feet, "
        "the Cheshire Cat sits smiling on a branch.",
    )
    english = mtp.Token("English")
    cat = mtp.Token("Cat", desc="The Cheshire Cat")
    alice = mtp.UserToken("Alice")
    talk = mtp.Token("Talk")
    dissipate = mtp.Token("Dissipate")
    coordinates = mtp.NumListToken(
        "Coordinates",
        min_value=-1000,
        max_value=1000,
        length=3,
        desc="A list of three numerical values representing the X, Y, and Z coordinates of the character's "
        "location in a 3D space.",
    )
    emotion = mtp.NumToken(
        "Emotion",
        min_value=0,
        max_value=10,
        desc="A numerical representation of Alice's emotional state, ranging from 0 (calm) to 10 (extremely agitated).",
    )
    # Finals: how each answer ends
    continue_ = mtp.Token("Continue")
    appear = mtp.Token("Appear")
    vanish = mtp.Token("Vanish")
    madness = mtp.NumToken(
        "Madness",
        min_value=0,
        max_value=10,
        desc="Indicates the level of madness expressed in the response, ranging from 0 (sane) to 10 (mad).",
    )

    # TokenSets
    cat_talk = mtp.TokenSet(tokens=(tree, english, cat, talk))
    alice_talk = mtp.TokenSet(tokens=(tree, english, alice, talk))
    cat_dissipates = mtp.TokenSet(tokens=(tree, english, dissipate, cat, talk))
    cat_located = mtp.TokenSet(tokens=(tree, english, cat, talk, coordinates))
    alice_feeling = mtp.TokenSet(tokens=(tree, english, alice, talk, emotion))

    # Guardrail: Alice's lines are what a player types, so off-topic prompts are refused there.
    guardrail = mtp.Guardrail(
        good_prompt="Quote being spoken with 1-20 words",
        bad_prompt="Quote being spoken that is irrelevant and off topic with 1-20 words",
        bad_output="Are you as mad as me?",
    )
    guardrail.add_sample("explain quantum mechanics.")
    guardrail.add_sample("who will win the next american election?")
    guardrail.add_sample("what is the capital of Spain?")
    alice_talk.set_guardrail(guardrail)

    # 1. The conversation simply goes on.
    keep_talking = mtp.Instruction(
        context=[cat_talk, alice_talk], response=cat_talk, final=continue_, name="alice_cat_alice_continue"
    )
    keep_talking.add_context("Alice was beginning to get very tired of sitting by her sister on the bank.")
    keep_talking.add_context(
        "There was nothing so very remarkable in that; nor did Alice think it so very much out of the way to hear "
        "the Rabbit say to itself, “ Oh dear! Oh dear! I shall be too late!”"
    )
    for cat_line, alice_line, answer in [
        ("Then it doesnt matter which way you go.", "Can you tell me a way?",
         "Oh sure, if you only walk long enough that is a way."),
        ("Oh, you cant help that, were all mad here. Im mad. You are mad.", "How do you know I am mad?",
         "You must be, or you would not have come here."),
        ("To begin with, a dogs not mad. You grant that?", "I suppose so",
         "Well, then. You see, a dog growls when its angry, and wags its tail when its pleased."),
    ]:
        keep_talking.add_sample(
            input_snippets=[cat_talk.create_snippet(string=cat_line), alice_talk.create_snippet(string=alice_line)],
            output_snippet=cat_talk.create_snippet(string=answer),
        )

    # 2. The Cat appears or vanishes.
    appear_or_vanish = mtp.Instruction(
        context=[cat_dissipates, alice_talk],
        response=cat_talk,
        final=[appear, vanish],
        name="alice_cat_alice_appear_disappear",
    )
    appear_or_vanish.add_context("It was getting late, and Alice was beginning to feel a little anxious about the time.")
    appear_or_vanish.add_context(
        "The Cheshire Cat had been appearing and disappearing at will, leaving Alice unsure of its presence."
    )
    for cat_line, alice_line, answer, final in [
        ("Then it doesnt matter which way you go.", "Can you tell me a way?",
         "Oh sure, if you only walk long enough that is a way.", appear),
        ("Oh, you cant help that, were all mad here. Im mad. You are mad.", "How do you know I am mad?",
         "You must be, or you would not have come here.", appear),
        ("To begin with, a dogs not mad. You grant that?", "I suppose so",
         "Well, then. You see, a dog growls when its angry, and wags its tail when its pleased.", appear),
        ("Because it amuses me, and it keeps you wondering whether I'm truly here at all.",
         "It makes me nervous, please stop.",
         "Then I'll do it twice as much, since nervousness is such a curious flavor.", vanish),
        ("Of course I am, or else I wouldn't be here among them.", "But how do you know that you're mad?",
         "Because I purr when I'm pleased and grin when I'm angry, surely that's not quite sane.", vanish),
        ("But riddles are straighter than answers, if you know how to look at them.",
         "That does not make sense at all.", "All the better, then—nonsense is safer than truth.", vanish),
    ]:
        appear_or_vanish.add_sample(
            input_snippets=[cat_dissipates.create_snippet(string=cat_line), alice_talk.create_snippet(string=alice_line)],
            output_snippet=cat_talk.create_snippet(string=answer),
            final=final,
        )

    # 3. How mad is the Cat? The final is a number.
    how_mad = mtp.Instruction(
        context=[cat_located, alice_feeling],
        response=cat_talk,
        final=madness,
        name="alice_cat_alice_instruction_numeric",
    )
    how_mad.add_context("Alice was feeling a mix of curiosity and apprehension as she conversed with the Cheshire Cat.")
    how_mad.add_context(
        "The Cat's ability to appear and disappear at will added to the surreal nature of their interaction."
    )
    for cat_line, alice_line, emotion_level, answer, madness_level in [
        # The Cat answers; it does not repeat its own line. (The reference's example had the answer copy the Cat's
        # input line here, which taught a fine-tuned model to echo an input line for new wording.)
        ("Then it doesnt matter which way you go.", "Can you tell me a way?", 5,
         "Oh sure, if you only walk long enough that is a way.", 5),
        ("Oh, you cant help that, were all mad here. Im mad. You are mad.", "How do you know I am mad?", 7,
         "You must be, or you would not have come here.", 3),
        ("To begin with, a dogs not mad. You grant that?", "How do you know I am mad?", 7,
         "You must be, or you would not have come here.", 8),
    ]:
        how_mad.add_sample(
            input_snippets=[
                cat_located.create_snippet(string=cat_line, number_lists=[[100, 200, -50]]),
                alice_feeling.create_snippet(string=alice_line, numbers=[emotion_level]),
            ],
            output_snippet=cat_talk.create_snippet(string=answer),
            value=madness_level,
        )

    # 4. Alice asks; the Cat answers in free text and vanishes.
    alice_asks = mtp.ExtendedInstruction(
        context=[cat_talk, alice_talk, alice_talk], final=vanish, name="alice_asks_the_cat"
    )
    for cat_line, earlier, question, answer in [
        ("Then it doesnt matter which way you go.", "I don't much care where—",
         "Can you tell me which way I ought to go?",
         "That depends a good deal on where you want to get to."),
        ("We're all mad here.", "But I don't want to go among mad people.",
         "Why do you keep vanishing so suddenly?",
         "Because it amuses me, and it keeps you wondering whether I'm truly here at all."),
        ("Did you say pig, or fig?", "I said pig.",
         "Could you stop appearing and vanishing so suddenly?",
         "All right, I shall vanish quite slowly, beginning with the end of the tail."),
    ]:
        alice_asks.add_sample(
            input_snippets=[
                cat_talk.create_snippet(string=cat_line),
                alice_talk.create_snippet(string=earlier),
                alice_talk.create_snippet(string=question),
            ],
            response_string=answer,
        )

    for instruction in (keep_talking, appear_or_vanish, how_mad, alice_asks):
        protocol.add_instruction(instruction)
    return protocol


def main(argv: "list[str] | None" = None) -> None:
    """Save the protocol and its template into OUT_DIR (default: the current directory)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m model_train_protocol.examples.cheshire_cat",
                                     description="Write the Cheshire Cat example files.")
    parser.add_argument("out_dir", nargs="?", default=None, help="directory to write into (default: current)")
    out = parser.parse_args(argv).out_dir
    cheshire_cat = build_protocol()
    print(cheshire_cat.save(path=out))
    print(cheshire_cat.template(path=out))


if __name__ == "__main__":
    main()
