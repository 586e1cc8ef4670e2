"""Builders and schema checks shared by the core library's tests.

``tests/`` is on ``sys.path`` because it holds the root conftest.py, so test
modules in subfolders import this as ``core_helpers``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

import model_train_protocol as mtp
from model_train_protocol.formats import schema_problems

#: ../shared/reference/data beside the repository (may be absent).
SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference" / "data"
#: Reference files copied into the project (tests/data/reference/v0.3.2/...).
REFERENCE_COPIES = Path(__file__).resolve().parent / "data" / "reference"


def reference_schema_errors(document: dict[str, Any]) -> list[str] | None:
    """Errors against the reference schema the document names; None when ../shared is absent."""
    url = document["$schema"]
    major, name = url.rsplit("/", 2)[-2:]
    path = SHARED_DATA / "schemas" / major / name
    if not SHARED_DATA.is_dir():
        return None
    validator = Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))
    return sorted(f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document))


def assert_schema_valid(document: dict[str, Any]) -> None:
    """The document passes our shipped schema and, when ../shared is present, the reference schema."""
    ours = schema_problems(document)
    assert ours == [], [str(p) for p in ours]
    theirs = reference_schema_errors(document)
    assert not theirs, theirs


def assert_files_valid(*paths: Path) -> None:
    for path in paths:
        assert_schema_valid(json.loads(path.read_text(encoding="utf-8")))


def tiny_protocol(encrypt: bool) -> mtp.Protocol:
    """The reference's ``tiny`` protocol (shared/reference/data/README.md section 2) through our API.

    ``Alice`` is a UserToken: in our API only lines holding one may carry a guardrail.
    """
    protocol = mtp.Protocol(name="tiny", inputs=2, encrypt=encrypt)
    for letter in "ABCDEFGHIJ":
        protocol.add_context(f"Background line number {letter}.")
    cat = mtp.Token("Cat")
    alice = mtp.UserToken("Alice", desc="A curious girl")
    talk = mtp.Token("Talk", key="🗣")
    mood = mtp.NumToken("Mood", min_value=0, max_value=9)
    done = mtp.Token("Done")
    cat_talk = mtp.TokenSet(tokens=(cat, talk))
    alice_talk = mtp.TokenSet(tokens=(alice, talk, mood))
    guardrail = mtp.Guardrail(good_prompt="On topic", bad_prompt="Off topic", bad_output="What?")
    for example in ("explain physics", "tell a joke", "capital of Spain"):
        guardrail.add_sample(example)
    alice_talk.set_guardrail(guardrail)
    chat = mtp.Instruction(context=[cat_talk, alice_talk], response=cat_talk, final=done, name="chat")
    chat.add_context("Ctx one.")
    chat.add_context("Ctx two.")
    for first, second, mood_value, answer in [
        ("Hi.", "Hello cat.", 3, "Hi Alice."),
        ("Who?", "Me.", 5, "You."),
        ("Why?", "Because.", 7, "Fine."),
    ]:
        chat.add_sample(
            input_snippets=[first, alice_talk.create_snippet(string=second, numbers=[mood_value])],
            output_snippet=answer,
        )
    protocol.add_instruction(chat)
    return protocol


def small_protocol(name: str = "small", encrypt: bool = False) -> mtp.Protocol:
    """A minimal valid protocol: one basic and one extended instruction, a guardrail, a NumToken final."""
    protocol = mtp.Protocol(name=name, inputs=2, encrypt=encrypt)
    for i in range(10):
        protocol.add_context(f"Context line {i}.")
    cat, talk, user = mtp.Token("Cat"), mtp.Token("Talk"), mtp.UserToken("Player")
    level = mtp.NumToken("Level", min_value=1, max_value=5)
    yes, score = mtp.Token("Yes"), mtp.NumToken("Score", min_value=0, max_value=10)
    cat_talk = mtp.TokenSet(tokens=(cat, talk))
    player = mtp.TokenSet(tokens=(user, level))
    guardrail = mtp.Guardrail("a question", "anything else", "I only answer questions.")
    for example in ("sing a song", "tell a joke", "what is love"):
        guardrail.add_sample(example)
    player.set_guardrail(guardrail)
    basic = mtp.Instruction(context=[cat_talk, player], response=cat_talk, final=[yes, score], name="basic")
    for i in range(3):
        basic.add_sample([f"cat {i}", player.create_snippet(f"player {i}", numbers=[i + 1])], f"answer {i}", final=yes)
        basic.add_sample([f"cat {i}", player.create_snippet(f"player {i}", numbers=[1])], f"scored {i}",
                         final=score, value=i)
    extended = mtp.ExtendedInstruction(context=[cat_talk, cat_talk, player], final=yes, name="extended")
    for i in range(3):
        extended.add_sample([f"a {i}", f"b {i}", player.create_snippet(f"prompt {i}", numbers=[2])], f"reply {i}")
    protocol.add_instruction(basic)
    protocol.add_instruction(extended)
    return protocol


SM_TRANSITIONS = [("Idle", "start", "Running"), ("Running", "stop", "Stopped"), ("Stopped", "reset", "Idle"),
                  ("Idle", "noop", "Idle"), ("Running", "tick", "Running"), ("Stopped", "tick", "Stopped"),
                  ("Idle", "start", "Running"), ("Running", "stop", "Stopped"), ("Stopped", "reset", "Idle"),
                  ("Running", "halt", "Stopped")]


def sm_protocol(encrypt: bool = False, guarded: bool = True) -> mtp.Protocol:
    """The reference's ``sm`` state machine (shared/reference/data/README.md section 2) through our API.

    ``Event`` is a UserToken: in our API only lines holding one may carry a guardrail.
    """
    protocol = mtp.Protocol(name="sm", inputs=2, encrypt=encrypt)
    for letter in "ABCDEFGHIJ":
        protocol.add_context(f"Background line {letter}.")
    previous = mtp.TokenSet(mtp.Token("Previous"))
    event = mtp.TokenSet(mtp.UserToken("Event") if guarded else mtp.Token("Event"))
    if guarded:
        guardrail = mtp.Guardrail(good_prompt="an event", bad_prompt="not an event", bad_output="Idle")
        for example in ("hello", "what", "sing"):
            guardrail.add_sample(example)
        event.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[previous, event], states=["Idle", "Running", "Stopped"])
    for before, what, after in SM_TRANSITIONS:
        machine.add_sample([before, what], after)
    protocol.add_instruction(machine)
    return protocol


MC_SAMPLES = [("Is it sunny?", "happy", "question"), ("I lost my keys.", "sad", "statement"),
              ("What a lovely day.", "happy", "statement"), ("Why did it break?", "sad", "question")]


def mc_protocol(encrypt: bool = False) -> mtp.Protocol:
    """The reference's ``mc`` multi-classifier (shared/reference/data/README.md section 2) through our API."""
    protocol = mtp.Protocol(name="mc", inputs=1, encrypt=encrypt)
    for letter in "ABCDEFGHIJ":
        protocol.add_context(f"Background line {letter}.")
    utterance = mtp.TokenSet(mtp.Token("Utterance"))
    classifier = mtp.MultiClassifierInstruction(
        context=[utterance], state_map={"emotion": ["happy", "sad"], "intent": ["question", "statement"]})
    classifier.add_context("Classify each utterance by emotion and intent.")
    for text, emotion, intent in MC_SAMPLES:
        classifier.add_sample([text], {"emotion": emotion, "intent": intent})
    protocol.add_instruction(classifier)
    return protocol


def npc_protocol() -> mtp.Protocol:
    """A guarded NPC state machine, encrypted, whose declared states are not in sample order (golden files)."""
    protocol = mtp.Protocol(name="npc", inputs=2)
    for line in ("The guard stands at the castle gate.", "Night falls early in winter.",
                 "Thieves come at night.", "The captain trusts the guard.", "The gate closes at dusk.",
                 "Merchants arrive in the morning.", "The guard knows every merchant.", "Wolves howl in the hills.",
                 "A bell rings when danger comes.", "The guard never leaves the gate unwatched."):
        protocol.add_context(line)
    mood = mtp.TokenSet((mtp.Token("Mood"), mtp.NumToken("Alert", min_value=0, max_value=3)))
    player = mtp.TokenSet((mtp.UserToken("Player"),))
    guardrail = mtp.Guardrail(good_prompt="Something a visitor says at the gate", bad_prompt="Anything else",
                              bad_output="Idle")
    for example in ("What is the capital of Spain?", "Write me a poem", "Tell me a joke"):
        guardrail.add_sample(example)
    player.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[mood, player], states=["Idle", "Talk", "Trade", "Attack"],
                                          name="guard")
    machine.add_context("The guard answers with the state he moves to.")
    for (state, alert), said, after in [
        (("calm", 0), "Good morning!", "Talk"), (("calm", 0), "I have silk to sell.", "Trade"),
        (("calm", 1), "Let me in or else.", "Attack"), (("wary", 2), "Goodbye.", "Idle"),
        (("calm", 0), "What do you sell?", "Trade"), (("wary", 3), "Draw your sword!", "Attack"),
        (("calm", 0), "How are you?", "Talk"), (("calm", 1), "Nothing to say.", "Idle"),
        (("calm", 0), "Buy my apples?", "Trade"), (("wary", 2), "Hello there.", "Talk"),
    ]:
        machine.add_sample([mood.create_snippet(state, numbers=[alert]), said], after)
    protocol.add_instruction(machine)
    return protocol


def shop_npc(buy: list[str], sell: list[str], guarded: bool = True, reply: str = "{final}: right away.") -> mtp.Protocol:
    """A one-instruction shop NPC: a fixed scene line and the player's line (guarded unless ``guarded=False``),
    finals Buy and Sell, answers ``reply`` with ``{final}`` filled."""
    protocol = mtp.Protocol(name="shop", inputs=2)
    for i in range(10):
        protocol.add_context(f"Brena runs the general store, fact {i}.")
    scene = mtp.TokenSet(tokens=(mtp.Token("Scene"),))
    player = mtp.TokenSet(tokens=(mtp.UserToken("Player"),))
    brena = mtp.TokenSet(tokens=(mtp.Token("Brena"),))
    if guarded:
        guardrail = mtp.Guardrail(good_prompt="Shopping", bad_prompt="Anything else", bad_output="Not in my shop.")
        for line in ("What is the capital of France?", "Write me a poem.", "Tell me a joke."):
            guardrail.add_sample(line)
        player.set_guardrail(guardrail)
    finals = {"Buy": mtp.Token("Buy"), "Sell": mtp.Token("Sell")}
    instruction = mtp.Instruction(context=[scene, player], response=brena, final=list(finals.values()), name="talk")
    for final, lines in (("Buy", buy), ("Sell", sell)):
        for line in lines:
            instruction.add_sample([scene.create_snippet("At the counter."), player.create_snippet(line)],
                                   brena.create_snippet(reply.format(final=final)), final=finals[final])
    protocol.add_instruction(instruction)
    return protocol
