"""The reference's ``ext + basic`` protocol: the ``ext`` protocol plus a basic instruction ``basic``."""

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

basic = mtp.Instruction(
    name="basic",
    input=mtp.InstructionInput(tokensets=[cat_talk, cat_talk]),
    output=mtp.InstructionOutput(tokenset=cat_talk, final=leave),
)
for _ in range(3):
    basic.add_sample(input_snippets=["x", "y"], output_snippet="z")

protocol.add_instruction(ext_leave)
protocol.add_instruction(basic)

if __name__ == "__main__":
    protocol.save(name="extended_plus_basic")
    protocol.template()
