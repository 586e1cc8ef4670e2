"""The reference's ``ext`` protocol: one ExtendedInstruction whose last input line is the user's prompt."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="ext", inputs=2, encrypt=False)
for letter in "ABCDEFGHIJ":
    protocol.add_context(f"Background line {letter}.")

cat = mtp.Token("Cat")
alice = mtp.Token("Alice")
talk = mtp.Token("Talk")
mood = mtp.NumToken("Mood", min_value=1, max_value=3)
leave = mtp.FinalToken("Leave")

cat_talk = mtp.TokenSet(tokens=(cat, talk))
alice_talk_mood = mtp.TokenSet(tokens=(alice, talk, mood))

ext_leave = mtp.ExtendedInstruction(
    input=mtp.InstructionInput(tokensets=[cat_talk, alice_talk_mood, alice_talk_mood]),
    output=mtp.ExtendedResponse(final=leave),
    context=["Ext ctx."],
    name="ext_leave",
)
for i in range(3):
    ext_leave.add_sample(
        inputs=[
            cat_talk.create_snippet(string=f"cat{i}"),
            alice_talk_mood.create_snippet(string=f"alice{i}", numbers=[1]),
            alice_talk_mood.create_snippet(string=f"prompt{i}", numbers=[2]),
        ],
        response_string=f"resp{i}",
    )

guardrail = mtp.Guardrail(good_prompt="good", bad_prompt="bad", bad_output="Nope.")
for example in ("a b", "c d", "e f"):
    guardrail.add_sample(example)
ext_leave.add_guardrail(guardrail, tokenset_index=2)

protocol.add_instruction(ext_leave)

if __name__ == "__main__":
    protocol.save(name="extended_only")
    protocol.template()
