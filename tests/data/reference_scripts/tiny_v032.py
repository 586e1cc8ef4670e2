"""The reference's ``tiny`` protocol, written for its 0.3.2 code API (unnamed order: input, output, context, name)."""

import model_train_protocol as mtp

protocol = mtp.Protocol("tiny", 2, False)
for letter in "ABCDEFGHIJ":
    protocol.add_context(f"Background line number {letter}.")

cat = mtp.Token("Cat")
alice = mtp.Token("Alice", desc="A curious girl")
talk = mtp.Token("Talk", key="🗣")
mood = mtp.NumToken("Mood", 0, 9)
done = mtp.FinalToken("Done")

cat_talk = mtp.TokenSet([cat, talk])
alice_talk_mood = mtp.TokenSet([alice, talk, mood])

chat = mtp.Instruction(
    mtp.InstructionInput([cat_talk, alice_talk_mood]),
    mtp.InstructionOutput(cat_talk, done),
    ["Ctx one.", "Ctx two."],
    "chat",
)
chat.add_sample(["Hi.", alice_talk_mood.create_snippet("Hello cat.", 3)], "Hi Alice.")
chat.add_sample(["Who?", alice_talk_mood.create_snippet("Me.", [5])], cat_talk.create_snippet("You."))
chat.add_sample([cat_talk.create_snippet("Why?"), alice_talk_mood.create_snippet("Because.", numbers=[7])], "Fine.")

guardrail = mtp.Guardrail("On topic", "Off topic", "What?")
guardrail.add_sample("explain physics")
guardrail.add_sample("tell a joke")
guardrail.add_sample("capital of Spain")
chat.add_guardrail(guardrail, 1)

protocol.add_instruction(chat)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
