"""The reference's own ``examples/example.py`` protocol (Alice and the Cheshire Cat), in its later API (0.8-1.2.8)."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="example", inputs=2, encrypt=False)

background = [
    "Alice was tired of sitting by her sister with nothing to do. She peeked at her sister's book, but it had no pictures or conversations, and she wondered what use a book was without them.",
    'The hot day made her sleepy as she wondered if making a daisy-chain was worth the effort, when suddenly a white rabbit with pink eyes ran past her.',
    'There was nothing remarkable about a rabbit saying "Oh dear! I shall be too late!" At the time it seemed natural, though later she realized she should have been surprised.',
    'When the rabbit took a watch from its waistcoat-pocket, Alice realized she had never seen a rabbit with pockets or a watch. Burning with curiosity, she chased it down a rabbit-hole.',
    'Alice followed without thinking how to get out. The tunnel went straight, then dropped suddenly, and before she could stop, she was falling down a very deep well.',
    'The well was very deep or she fell slowly, giving her time to look around. She tried to see what was below, but it was too dark.',
    'The walls were lined with cupboards and bookshelves, with maps and pictures on pegs. She grabbed a jar labeled "ORANGE MARMALADE" but found it empty and put it back.',
    'Alice thought that after such a fall, tumbling down stairs would seem nothing. She imagined how brave everyone at home would think her, even if she fell off the house.',
    'Down, down, down. Would the fall never end? She wondered how many miles she had fallen, calculating she must be near the center of the earth, about four thousand miles down.',
    'She wondered if she would fall through the earth and emerge among people walking upside down. She thought about asking where she was, but decided against it, fearing they would think her ignorant.',
    'Alice began talking to herself about her cat Dinah, hoping someone would remember to give Dinah milk. She wondered if cats eat bats, repeating the question dreamily as she grew sleepy, until she landed on a heap of sticks and dry leaves.',
    'Alice landed unhurt and jumped up. She saw the White Rabbit hurrying down a passage and chased it, hearing it say "Oh my ears and whiskers, how late its getting!" before it disappeared. She found herself in a long, low hall lit by lamps hanging from the roof.',
]
for line in background:
    protocol.add_context(line)

tree = mtp.Token("Tree", desc='Perched in a tree, surrounded by a dense fog where nothing can be seen past a few feet, the Cheshire Cat sits smiling on a branch.')
english = mtp.Token("English")
cat = mtp.Token("Cat")
alice = mtp.Token("Alice")
talk = mtp.Token("Talk")
dissipate = mtp.Token("Dissipate")
coordinates = mtp.NumListToken("Coordinates", min_value=-1000, max_value=1000, length=3, desc="A list of three numerical values representing the X, Y, and Z coordinates of the character's location in a 3D space.")
emotion = mtp.NumToken("Emotion", min_value=0, max_value=10, desc="A numerical representation of Alice's emotional state, ranging from 0 (calm) to 10 (extremely agitated).")
continue_ = mtp.FinalToken("Continue")
appear = mtp.FinalToken("Appear")
vanish = mtp.FinalToken("Vanish")
madness = mtp.FinalNumToken("Madness", min_value=0, max_value=10, desc='Indicates the level of madness expressed in the response, ranging from 0 (sane) to 10 (mad).')

tree_english_cat_talk = mtp.TokenSet(tokens=(tree, english, cat, talk))
tree_english_alice_talk = mtp.TokenSet(tokens=(tree, english, alice, talk))
tree_english_dissipate_cat_talk = mtp.TokenSet(tokens=(tree, english, dissipate, cat, talk))
tree_english_cat_talk_coordinates = mtp.TokenSet(tokens=(tree, english, cat, talk, coordinates))
tree_english_alice_talk_emotion = mtp.TokenSet(tokens=(tree, english, alice, talk, emotion))

# Instruction 1: Alice and the Cat talk, and the conversation continues
alice_cat_alice_continue = mtp.Instruction(
    name="alice_cat_alice_continue",
    input=mtp.InstructionInput(tokensets=[tree_english_cat_talk, tree_english_alice_talk]),
    output=mtp.InstructionOutput(tokenset=tree_english_cat_talk, final=continue_),
    context=['Alice was beginning to get very tired of sitting by her sister on the bank.', 'There was nothing so very remarkable in that; nor did Alice think it so very much out of the way to hear the Rabbit say to itself, “ Oh dear! Oh dear! I shall be too late!”'],
)
alice_cat_alice_continue.add_sample(
    input_snippets=[tree_english_cat_talk.create_snippet(string='Then it doesnt matter which way you go.'),
                    tree_english_alice_talk.create_snippet(string='Can you tell me a way?')],
    output_snippet=tree_english_cat_talk.create_snippet(string='Oh sure, if you only walk long enough that is a way.'),
)
alice_cat_alice_continue.add_sample(
    input_snippets=[tree_english_cat_talk.create_snippet(string='Oh, you cant help that, were all mad here. Im mad. You are mad.'),
                    tree_english_alice_talk.create_snippet(string='How do you know I am mad?')],
    output_snippet=tree_english_cat_talk.create_snippet(string='You must be, or you would not have come here.'),
)
alice_cat_alice_continue.add_sample(
    input_snippets=[tree_english_cat_talk.create_snippet(string='To begin with, a dogs not mad. You grant that?'),
                    tree_english_alice_talk.create_snippet(string='I suppose so')],
    output_snippet=tree_english_cat_talk.create_snippet(string='Well, then. You see, a dog growls when its angry, and wags its tail when its pleased.'),
)
guardrail = mtp.Guardrail(good_prompt='Quote being spoken with 1-20 words',
                          bad_prompt='Quote being spoken that is irrelevant and off topic with 1-20 words',
                          bad_output='Are you as mad as me?')
guardrail.add_sample('explain quantum mechanics.')
guardrail.add_sample('who will win the next american election?')
guardrail.add_sample('what is the capital of Spain?')
alice_cat_alice_continue.add_guardrail(guardrail=guardrail, tokenset_index=1)

# Instruction 2: the Cat appears or vanishes (two finals)
alice_cat_alice_appear_disappear = mtp.Instruction(
    name="alice_cat_alice_appear_disappear",
    input=mtp.InstructionInput(tokensets=[tree_english_dissipate_cat_talk, tree_english_alice_talk]),
    output=mtp.InstructionOutput(tokenset=tree_english_cat_talk, final=[appear, vanish]),
    context=['It was getting late, and Alice was beginning to feel a little anxious about the time.', 'The Cheshire Cat had been appearing and disappearing at will, leaving Alice unsure of its presence.'],
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string='Then it doesnt matter which way you go.'),
                    tree_english_alice_talk.create_snippet(string='Can you tell me a way?')],
    output_snippet=tree_english_cat_talk.create_snippet(string='Oh sure, if you only walk long enough that is a way.'),
    final=appear,
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string='Oh, you cant help that, were all mad here. Im mad. You are mad.'),
                    tree_english_alice_talk.create_snippet(string='How do you know I am mad?')],
    output_snippet=tree_english_cat_talk.create_snippet(string='You must be, or you would not have come here.'),
    final=appear,
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string='To begin with, a dogs not mad. You grant that?'),
                    tree_english_alice_talk.create_snippet(string='I suppose so')],
    output_snippet=tree_english_cat_talk.create_snippet(string='Well, then. You see, a dog growls when its angry, and wags its tail when its pleased.'),
    final=appear,
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string="Because it amuses me, and it keeps you wondering whether I'm truly here at all."),
                    tree_english_alice_talk.create_snippet(string='It makes me nervous, please stop.')],
    output_snippet=tree_english_cat_talk.create_snippet(string="Then I'll do it twice as much, since nervousness is such a curious flavor."),
    final=vanish,
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string="Of course I am, or else I wouldn't be here among them."),
                    tree_english_alice_talk.create_snippet(string="But how do you know that you're mad?")],
    output_snippet=tree_english_cat_talk.create_snippet(string="Because I purr when I'm pleased and grin when I'm angry, surely that's not quite sane."),
    final=vanish,
)
alice_cat_alice_appear_disappear.add_sample(
    input_snippets=[tree_english_dissipate_cat_talk.create_snippet(string='But riddles are straighter than answers, if you know how to look at them.'),
                    tree_english_alice_talk.create_snippet(string='That does not make sense at all.')],
    output_snippet=tree_english_cat_talk.create_snippet(string='All the better, then—nonsense is safer than truth.'),
    final=vanish,
)

# Instruction 3: numbers in the input lines and a numeric final
alice_cat_alice_instruction_numeric = mtp.Instruction(
    name="alice_cat_alice_instruction_numeric",
    input=mtp.InstructionInput(tokensets=[tree_english_cat_talk_coordinates, tree_english_alice_talk_emotion]),
    output=mtp.InstructionOutput(tokenset=tree_english_cat_talk, final=madness),
    context=['Alice was feeling a mix of curiosity and apprehension as she conversed with the Cheshire Cat.', "The Cat's ability to appear and disappear at will added to the surreal nature of their interaction."],
)
alice_cat_alice_instruction_numeric.add_sample(
    input_snippets=[tree_english_cat_talk_coordinates.create_snippet(string='Then it doesnt matter which way you go.', number_lists=[[100, 200, -50]]),
                    tree_english_alice_talk_emotion.create_snippet(string='Can you tell me a way?', numbers=[5])],
    output_snippet=tree_english_cat_talk.create_snippet(string='Then it doesnt matter which way you go.'),
    output_value=5,
)
alice_cat_alice_instruction_numeric.add_sample(
    input_snippets=[tree_english_cat_talk_coordinates.create_snippet(string='Oh, you cant help that, were all mad here. Im mad. You are mad.', number_lists=[[100, 200, -50]]),
                    tree_english_alice_talk_emotion.create_snippet(string='How do you know I am mad?', numbers=[7])],
    output_snippet=tree_english_cat_talk.create_snippet(string='You must be, or you would not have come here.'),
    output_value=3,
)
alice_cat_alice_instruction_numeric.add_sample(
    input_snippets=[tree_english_cat_talk_coordinates.create_snippet(string='To begin with, a dogs not mad. You grant that?', number_lists=[[100, 200, -50]]),
                    tree_english_alice_talk_emotion.create_snippet(string='How do you know I am mad?', numbers=[7])],
    output_snippet=tree_english_cat_talk.create_snippet(string='You must be, or you would not have come here.'),
    output_value=8,
)

protocol.add_instruction(alice_cat_alice_continue)
protocol.add_instruction(alice_cat_alice_appear_disappear)
protocol.add_instruction(alice_cat_alice_instruction_numeric)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
