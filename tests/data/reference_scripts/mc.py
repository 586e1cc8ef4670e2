"""The reference's ``mc`` protocol (a multi-classifier, reference 1.2.8 only)."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="mc", inputs=1, encrypt=False)
for letter in "ABCDEFGHIJ":
    protocol.add_context(f"Background line {letter}.")

utterance = mtp.TokenSet(tokens=mtp.Token("Utterance"))

classifier = mtp.MultiClassifierInstruction(
    input=mtp.InstructionInput(tokensets=[utterance]),
    state_map={"emotion": ["happy", "sad"], "intent": ["question", "statement"]},
    context=["Classify each utterance by emotion and intent."],
)
classifier.add_sample(input_snippets=["Is it sunny?"], output_snippet='{"emotion": "happy", "intent": "question"}')
classifier.add_sample(input_snippets=["I lost my keys."], output_snippet="{'emotion': 'sad', 'intent': 'statement'}")
classifier.add_sample(input_snippets=["What a lovely day."],
                      output_snippet='{"emotion": "happy", "intent": "statement"}')
classifier.add_sample(input_snippets=[utterance.create_snippet("Why did it break?")],
                      output_snippet=utterance.create_snippet("{'emotion': 'sad', 'intent': 'question'}"))

protocol.add_instruction(classifier)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
