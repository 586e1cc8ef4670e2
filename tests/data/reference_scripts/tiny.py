"""The reference's ``tiny`` protocol, written for its later API (0.8-1.2.8), unencrypted."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="tiny", inputs=2, encrypt=False)
for letter in "ABCDEFGHIJ":
    protocol.add_context(f"Background line number {letter}.")

cat = mtp.Token("Cat")
alice = mtp.Token("Alice", desc="A curious girl")
talk = mtp.Token("Talk", key="🗣")
mood = mtp.NumToken("Mood", min_value=0, max_value=9)
done = mtp.FinalToken("Done")

cat_talk = mtp.TokenSet(tokens=(cat, talk))
alice_talk_mood = mtp.TokenSet(tokens=(alice, talk, mood))

chat = mtp.Instruction(
    name="chat",
    input=mtp.InstructionInput(tokensets=[cat_talk, alice_talk_mood]),
    output=mtp.InstructionOutput(tokenset=cat_talk, final=done),
    context=["Ctx one.", "Ctx two."],
)
for first, second, number, answer in (("Hi.", "Hello cat.", 3, "Hi Alice."), ("Who?", "Me.", 5, "You."),
                                      ("Why?", "Because.", 7, "Fine.")):
    chat.add_sample(
        input_snippets=[first, alice_talk_mood.create_snippet(string=second, numbers=[number])],
        output_snippet=answer,
    )

guardrail = mtp.Guardrail(good_prompt="On topic", bad_prompt="Off topic", bad_output="What?")
for example in ("explain physics", "tell a joke", "capital of Spain"):
    guardrail.add_sample(example)
chat.add_guardrail(guardrail=guardrail, tokenset_index=1)

protocol.add_instruction(chat)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
