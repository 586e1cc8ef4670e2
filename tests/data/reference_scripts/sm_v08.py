"""The reference's ``sm`` protocol (a state machine), written for its 0.5-0.8 API (``state_machine=True``)."""

import model_train_protocol as mtp

protocol = mtp.Protocol(name="sm", inputs=2, encrypt=False, state_machine=True)
for letter in "ABCDEFGHIJ":
    protocol.add_context(f"Background line {letter}.")

previous = mtp.TokenSet(tokens=mtp.Token("Previous"))
event = mtp.TokenSet(tokens=mtp.Token("Event"))

machine = mtp.StateMachineInstruction(
    input=mtp.StateMachineInput(tokensets=[previous, event]),
    states=["Idle", "Running", "Stopped"],
)
for before, what, after in (("Idle", "start", "Running"), ("Running", "stop", "Stopped"), ("Stopped", "reset", "Idle"),
                            ("Idle", "noop", "Idle"), ("Running", "tick", "Running"), ("Stopped", "tick", "Stopped"),
                            ("Idle", "start", "Running"), ("Running", "stop", "Stopped"), ("Stopped", "reset", "Idle"),
                            ("Running", "halt", "Stopped")):
    machine.add_sample(input_snippets=[before, what], state=after)

guardrail = mtp.Guardrail(good_prompt="an event", bad_prompt="not an event", bad_output="Idle")
for example in ("hello", "what", "sing"):
    guardrail.add_sample(example)
machine.add_guardrail(guardrail=guardrail, tokenset_index=1)

protocol.add_instruction(machine)

if __name__ == "__main__":
    protocol.save()
    protocol.template()
