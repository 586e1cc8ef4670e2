"""A game NPC's state machine and a message tagger: the two closed-answer model types.

- ``npc_states`` (a :class:`~model_train_protocol.StateMachineInstruction`):
  from the previous state and the player's event, the NPC's next state, one
  of ``Idle``, ``Walking``, ``Running``, ``Hiding``; off-topic events are
  refused by a guardrail.
- ``message_tags`` (a :class:`~model_train_protocol.MultiClassifierInstruction`):
  for a player's message, its ``emotion`` and its ``intent``.

    python -m model_train_protocol.examples.game_states [OUT_DIR]
    mtp train OUT_DIR/npc_states_model.json --out npc-model --base scratch
    mtp run npc-model --line Idle --line "the player attacks"
"""

from __future__ import annotations

import model_train_protocol as mtp

STATES = ("Idle", "Walking", "Running", "Hiding")

#: (previous state, event, next state): the NPC walks when called, runs from danger, hides when hurt.
TRANSITIONS = [
    ("Idle", "the player waves", "Walking"),
    ("Idle", "the player calls the npc", "Walking"),
    ("Idle", "a wolf appears", "Running"),
    ("Idle", "the player attacks", "Hiding"),
    ("Walking", "the player stops", "Idle"),
    ("Walking", "night falls", "Idle"),
    ("Walking", "a wolf appears", "Running"),
    ("Walking", "the player attacks", "Hiding"),
    ("Running", "the wolf is gone", "Walking"),
    ("Running", "the npc is safe", "Idle"),
    ("Running", "the player attacks", "Hiding"),
    ("Hiding", "the danger is over", "Idle"),
    ("Hiding", "the player waves", "Walking"),
    ("Hiding", "a wolf appears", "Running"),
]

CONTEXT = [
    "The npc is a villager in a small town at the edge of a forest.",
    "Wolves come out of the forest at night.",
    "The villager is friendly to the player unless attacked.",
    "When the villager is called it walks towards the player.",
    "When a wolf appears the villager runs to the town.",
    "When attacked the villager hides in a house.",
    "Once the danger is over the villager comes back out.",
    "At night the villager stops walking and rests.",
    "The villager never fights.",
    "The villager remembers its previous state.",
]

#: (place, message, emotion, intent)
MESSAGES = [
    ("forest", "Is the forest safe today?", "calm", "question"),
    ("forest", "Where did the wolves go?", "afraid", "question"),
    ("town", "Can you help me, please?", "afraid", "question"),
    ("town", "What a lovely morning!", "happy", "statement"),
    ("field", "I found the lost sheep.", "happy", "statement"),
    ("forest", "The wolves are coming!", "afraid", "statement"),
    ("town", "Open the gate now.", "calm", "command"),
    ("field", "Run to the town, quick!", "afraid", "command"),
    ("town", "Bring me some bread.", "happy", "command"),
    ("field", "Do you like the new bridge?", "happy", "question"),
    ("field", "The river is quiet.", "calm", "statement"),
    ("town", "Close the shutters.", "calm", "command"),
]


def build_state_machine() -> mtp.Protocol:
    """``npc_states``: one state-machine instruction over two input lines, and a guardrail on the event line."""
    protocol = mtp.Protocol(name="npc_states", inputs=2, encrypt=False)
    for line in CONTEXT:
        protocol.add_context(line)
    previous = mtp.TokenSet(mtp.Token("Previous"))
    event = mtp.TokenSet(mtp.UserToken("Event"))
    guardrail = mtp.Guardrail(good_prompt="An event in the game world.", bad_prompt="Anything that is not a game event.",
                              bad_output="Idle")
    guardrail.add_sample("what is the capital of spain")
    guardrail.add_sample("write me a poem about taxes")
    guardrail.add_sample("how do i reset my router")
    event.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[previous, event], states=list(STATES), name="npc_state")
    for before, happening, after in TRANSITIONS:
        machine.add_sample([before, happening], after)
    protocol.add_instruction(machine)
    return protocol


def build_classifier() -> mtp.Protocol:
    """``message_tags``: one multi-classifier over where the player is and what they say, labels ``emotion`` and
    ``intent``."""
    protocol = mtp.Protocol(name="message_tags", inputs=2, encrypt=False)
    for line in CONTEXT:
        protocol.add_context(line)
    place = mtp.TokenSet(mtp.Token("Place"))
    message = mtp.TokenSet(mtp.UserToken("Message"))
    tagger = mtp.MultiClassifierInstruction(
        context=[place, message], name="tags",
        state_map={"intent": ["question", "statement", "command"], "emotion": ["happy", "calm", "afraid"]})
    for where, text, emotion, intent in MESSAGES:
        tagger.add_sample([where, text], {"emotion": emotion, "intent": intent})
    protocol.add_instruction(tagger)
    return protocol


def main(argv: "list[str] | None" = None) -> None:
    """Save both protocols (model and template files) into OUT_DIR (default: the current directory)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m model_train_protocol.examples.game_states",
                                     description="Write the game-state and message-tag example files.")
    parser.add_argument("out_dir", nargs="?", default=None, help="directory to write into (default: current)")
    out = parser.parse_args(argv).out_dir
    for protocol in (build_state_machine(), build_classifier()):
        print(protocol.save(path=out))
        print(protocol.template(path=out))


if __name__ == "__main__":
    main()
