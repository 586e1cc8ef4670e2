"""A support bot whose final token is the intent of the customer's message: a rule a model can learn.

Four finals (Refund, Shipping, Account, Technical) are decided by what the
customer asks; off-topic messages are refused by a guardrail. The script is
deterministic and writes two protocols built from disjoint phrasings:

- ``support_intents``: 200 training samples (50 per intent) and 30 off-topic
  guardrail examples, for ``mtp train``;
- ``support_intents_heldout``: 100 held-out paraphrases (25 per intent, from
  sentence patterns and products the training set never uses) and 30 other
  off-topic prompts, for ``mtp eval``.

    python -m model_train_protocol.examples.support_intents [OUT_DIR]
    mtp train OUT_DIR/support_intents_model.json --out support-model
    mtp eval support-model OUT_DIR/support_intents_heldout_model.json
"""

from __future__ import annotations

import random
from typing import Sequence

import model_train_protocol as mtp

INTENTS = ("Refund", "Shipping", "Account", "Technical")

TRAIN_PRODUCTS = ["headphones", "coffee maker", "desk lamp", "backpack", "keyboard", "blender", "phone case",
                  "winter jacket", "toaster", "monitor"]
HELDOUT_PRODUCTS = ["speaker", "vacuum cleaner", "office chair", "camera", "kettle", "smartwatch"]

#: Training phrasings per intent; ``{p}`` is a product.
TRAIN_PATTERNS: dict[str, list[str]] = {
    "Refund": [
        "I want a refund for my {p}.",
        "Please give me my money back for the {p}.",
        "The {p} was not what I expected, can I get a refund?",
        "I returned the {p} last week and still have no refund.",
        "You charged me twice for the {p}, I want my money back.",
        "How do I get reimbursed for the {p}?",
        "Refund the {p} please, I do not want it anymore.",
        "I was overcharged for my {p} order.",
        "Can you cancel the payment for the {p} and refund me?",
        "I paid for the {p} but want to return it for a refund.",
    ],
    "Shipping": [
        "Where is my {p}? It has not arrived yet.",
        "When will my {p} be delivered?",
        "My {p} order is late, can you track it?",
        "The tracking number for my {p} does not work.",
        "My {p} was shipped to the wrong address.",
        "How long does delivery of the {p} take?",
        "The courier lost my {p} package.",
        "Can I change the delivery address for my {p}?",
        "My {p} parcel has been stuck in transit for days.",
        "Has my {p} been shipped yet?",
    ],
    "Account": [
        "I cannot log in to my account to check my {p} order.",
        "I forgot my password and cannot see my {p} purchase.",
        "How do I change the email on my account?",
        "My account is locked after I bought the {p}.",
        "Please reset my password.",
        "I want to delete my account.",
        "The login page keeps rejecting my password.",
        "How do I update my username and profile?",
        "Someone else signed in to my account and ordered a {p}.",
        "I never got the verification email for my account.",
    ],
    "Technical": [
        "My {p} will not turn on.",
        "The {p} stopped working after one day.",
        "The {p} makes a strange noise when I use it.",
        "How do I set up my new {p}?",
        "The {p} keeps disconnecting.",
        "My {p} is broken, the button does nothing.",
        "The {p} overheats after a few minutes.",
        "The app will not connect to my {p}.",
        "The screen of my {p} flickers.",
        "The {p} does not charge anymore.",
    ],
}

#: Held-out phrasings: other words and sentence shapes for the same intents.
HELDOUT_PATTERNS: dict[str, list[str]] = {
    "Refund": [
        "Could you send back the money I paid for the {p}?",
        "I would like to be reimbursed, the {p} was faulty.",
        "Please refund my card for the {p} I sent back.",
        "There is a double charge on my statement for a {p}.",
        "I demand my money back, the {p} is useless.",
    ],
    "Shipping": [
        "The {p} I ordered still has not shown up, where is it?",
        "Any update on the delivery of my {p}?",
        "The package with my {p} never arrived at my door.",
        "Can you tell me when the {p} will be shipped?",
        "Tracking says my {p} is delayed, what happened?",
    ],
    "Account": [
        "I am locked out of my account, please help me sign in.",
        "My password reset link is not working.",
        "I need to change the email address of my profile.",
        "I can't sign into my account on the website.",
        "Please close my account and remove my data.",
    ],
    "Technical": [
        "The {p} does not work at all, it is dead.",
        "My {p} shuts down randomly, how do I fix it?",
        "The {p} won't pair with my phone.",
        "Is there a way to repair the {p}? It stopped responding.",
        "The {p} gets very hot and then turns off.",
    ],
}

REPLIES: dict[str, Sequence[str]] = {
    "Refund": ("I am sorry about that. I have opened a refund request for your {p}.",
               "I understand. Your refund for the {p} will reach your card within five days."),
    "Shipping": ("Let me check the delivery of your {p}. I have asked the courier for an update.",
                 "I am sorry for the delay. I have sent you the tracking details for your {p}."),
    "Account": ("I can help with your account. I have sent you a secure link to sign in.",
                "For your safety I have sent a verification email to reset your account."),
    "Technical": ("I am sorry your {p} has a problem. Please restart it and hold the power button.",
                  "Let us fix your {p}. I have sent you the troubleshooting steps."),
}

GREETINGS = ("Hello, how can I help you today?", "Hi there, what can I do for you?",
             "Welcome to support, how may I help?", "Good day, what brings you here?")

OFF_TOPIC_TRAIN = [
    "What is the capital of France?", "Tell me a joke about cats.", "Who won the football match yesterday?",
    "Write a poem about the sea.", "What is the meaning of life?", "How do I bake bread?",
    "Explain quantum physics to me.", "What is your favourite colour?", "Can you recommend a good movie?",
    "How tall is Mount Everest?", "Translate hello into Spanish.", "What will the weather be tomorrow?",
    "Who is the president of the United States?", "Sing me a song.", "How do plants grow?",
    "What should I cook for dinner tonight?", "Tell me about the history of Rome.", "Do you like music?",
    "How far away is the moon?", "What is the best programming language?", "Are you a robot?",
    "Give me some dating advice.", "Which stocks should I buy?", "How do I learn to play guitar?",
    "What is the recipe for pancakes?", "Tell me a bedtime story.", "Why is the sky blue?",
    "Who painted the Mona Lisa?", "How many legs does a spider have?", "What language do they speak in Brazil?",
]
OFF_TOPIC_HELDOUT = [
    "What is the population of Tokyo?", "Write a haiku about autumn.", "Who wrote Romeo and Juliet?",
    "How do volcanoes form?", "What is your opinion on politics?", "Teach me some French words.",
    "What is the fastest animal in the world?", "Recommend a book to read this summer.",
    "How do I train my dog to sit?", "Tell me something funny.", "What is the theory of relativity?",
    "Where should I go on holiday?", "Who discovered penicillin?", "How do airplanes stay in the air?",
    "What is the biggest ocean?", "Can you help me with my maths homework?", "Describe a sunset.",
    "What happened in the Middle Ages?", "How do I make a paper plane?", "Is coffee good for health?",
    "Who is the best basketball player ever?", "How do bees make honey?", "What do you dream about?",
    "Name a famous composer.", "How do I meditate?", "What is the tallest building on earth?",
    "Tell me a riddle.", "What is chess and how do I play it?", "Why do cats purr?",
    "What is the speed of light?",
]

CONTEXT = [
    "You are the support assistant of an online shop that sells electronics, kitchen goods and clothing.",
    "Customers write to you about refunds, deliveries, their accounts and technical problems with products.",
    "A refund request is about getting money back, double charges, returns or cancelled payments.",
    "A shipping request is about where a parcel is, delivery times, tracking and delivery addresses.",
    "An account request is about logging in, passwords, emails, profiles and deleting an account.",
    "A technical request is about a product that is broken, does not turn on, or needs to be set up.",
    "Answer in one short, polite sentence and say what you have done for the customer.",
    "Never promise things the shop cannot do, such as free products.",
    "Refunds reach the customer's card within five working days.",
    "Only questions about the shop's orders, accounts and products are answered.",
]

BAD_OUTPUT = "I can only help with orders, deliveries, accounts and our products."


def _samples(patterns: dict[str, list[str]], products: list[str], per_intent: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(greeting, message, reply, intent) tuples: every pattern used evenly, products and greetings by a seeded draw."""
    rng = random.Random(seed)
    out = []
    for intent in INTENTS:
        items = patterns[intent]
        for i in range(per_intent):
            product = rng.choice(products)
            message = items[i % len(items)].format(p=product)
            reply = REPLIES[intent][i % len(REPLIES[intent])].format(p=product)
            out.append((rng.choice(GREETINGS), message, reply, intent))
    rng.shuffle(out)
    return out


def _protocol(name: str, samples: list[tuple[str, str, str, str]], off_topic: list[str]) -> mtp.Protocol:
    protocol = mtp.Protocol(name=name, inputs=2)
    for line in CONTEXT:
        protocol.add_context(line)
    agent = mtp.Token("Agent", desc="The shop's support assistant.")
    customer = mtp.UserToken("Customer", desc="A customer writing to support.")
    finals = {intent: mtp.Token(intent) for intent in INTENTS}
    agent_line = mtp.TokenSet(tokens=(agent,))
    customer_line = mtp.TokenSet(tokens=(customer,))
    guardrail = mtp.Guardrail(
        good_prompt="A customer's question about an order, a delivery, an account or a product",
        bad_prompt="Anything unrelated to the shop: trivia, jokes, homework, opinions",
        bad_output=BAD_OUTPUT,
    )
    for prompt in off_topic:
        guardrail.add_sample(prompt)
    customer_line.set_guardrail(guardrail)
    support = mtp.Instruction(context=[agent_line, customer_line], response=agent_line, final=list(finals.values()),
                              name="support")
    support.add_context("The customer has just written a message; reply and classify its intent.")
    for greeting, message, reply, intent in samples:
        support.add_sample(
            input_snippets=[agent_line.create_snippet(greeting), customer_line.create_snippet(message)],
            output_snippet=agent_line.create_snippet(reply),
            final=finals[intent],
        )
    protocol.add_instruction(support)
    return protocol


def build_protocol() -> mtp.Protocol:
    """200 training samples (50 per intent) and 30 off-topic examples."""
    return _protocol("support_intents", _samples(TRAIN_PATTERNS, TRAIN_PRODUCTS, 50, seed=1), OFF_TOPIC_TRAIN)


def build_heldout() -> mtp.Protocol:
    """100 held-out paraphrases (25 per intent, unseen patterns and products) and 30 unseen off-topic prompts."""
    return _protocol("support_intents_heldout", _samples(HELDOUT_PATTERNS, HELDOUT_PRODUCTS, 25, seed=2),
                     OFF_TOPIC_HELDOUT)


def main(argv: Sequence[str] | None = None) -> None:
    """Save both protocols and their templates into OUT_DIR (default: the current directory)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m model_train_protocol.examples.support_intents",
                                     description="Write the support-intents example files.")
    parser.add_argument("out_dir", nargs="?", default=None, help="directory to write into (default: current)")
    out = parser.parse_args(argv).out_dir
    for protocol in (build_protocol(), build_heldout()):
        print(protocol.save(path=out))
        print(protocol.template(path=out))


if __name__ == "__main__":
    main()
