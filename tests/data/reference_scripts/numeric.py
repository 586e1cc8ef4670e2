"""The reference's ``numeric`` protocol (1.2.8): hashed keys, number lists, a bare-int numbers=, two finals."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="numeric", inputs=2)
for letter in "ABCDEFGH":
    protocol.add_context(f"Wonderland fact {letter}.")

tree = mtp.Token("Tree", desc="A tree in the fog")
cat = mtp.Token("Cat", key="🐱")
alice = mtp.Token("Alice")
coordinates = mtp.NumListToken("Coordinates", min_value=-1000, max_value=1000, length=3)
emotion = mtp.NumToken("Emotion", min_value=0, max_value=10)
madness = mtp.FinalNumToken("Madness", min_value=0, max_value=10)
vanish = mtp.FinalToken("Vanish", desc="The cat disappears")

cat_line = mtp.TokenSet(tokens=(tree, cat, coordinates))
alice_line = mtp.TokenSet(tokens=(tree, alice, emotion))
answer = mtp.TokenSet(tokens=(tree, cat))

chat = mtp.Instruction(
    "numeric_chat",
    mtp.InstructionInput(tokensets=[cat_line, alice_line]),
    mtp.InstructionOutput(tokenset=answer, final=[madness, vanish]),
    context=["The Cat grins.", "Alice is puzzled."],
)
rows = (
    ("Here I am.", [1, 2, 3], "Where?", 4, "Up here.", madness, 7),
    ("Look up.", [-5, 0, 5], "I see you.", 6, "Good.", madness, 3),
    ("Still here.", [10, 20, 30], "How?", 2, "Magic.", madness, 10),
    ("Going now.", [0, 0, 0], "Wait!", 9, "Goodbye.", vanish, None),
    ("Fading.", [1, 1, 1], "Come back!", 8, "No.", vanish, None),
    ("Gone soon.", [2, 2, 2], "Please.", 1, "Only a grin.", vanish, None),
)
for cat_text, where, alice_text, feeling, reply, final, value in rows:
    chat.add_sample(
        input_snippets=[
            cat_line.create_snippet(string=cat_text, number_lists=where),
            alice_line.create_snippet(string=alice_text, numbers=feeling),
        ],
        output_snippet=answer.create_snippet(string=reply),
        output_value=value,
        final=final,
    )

protocol.add_instruction(chat)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
