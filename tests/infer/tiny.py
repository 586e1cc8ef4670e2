"""Tiny untrained models for inference tests: seconds to build, and any output they give must still parse."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pytest

import model_train_protocol as mtp
from model_train_protocol.examples.cheshire_cat import build_protocol
from model_train_protocol.examples.game_states import build_classifier, build_state_machine


def cheshire(encrypt: bool):
    protocol = build_protocol()
    protocol.encrypt = encrypt
    return protocol


def tiny_parts(protocol, seed: int = 0):
    """A 2-layer Llama (hidden 32) and a scratch tokenizer of the protocol, randomly initialised."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig, LlamaForCausalLM

    from model_train_protocol.rules import render_protocol, structural_strings
    from model_train_protocol.train import scratch_tokenizer

    texts = [e.text for e in render_protocol(protocol)] + list(protocol.context)
    tokenizer = scratch_tokenizer(texts, structural_strings(protocol), vocab_size=400)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=512,
    )
    return LlamaForCausalLM(config).eval(), tokenizer


def tiny_model(protocol, seed: int = 0, **kwargs):
    from model_train_protocol.infer import Model

    model, tokenizer = tiny_parts(protocol, seed)
    return Model(model, tokenizer, protocol.template_json(), protocol, **kwargs)


def write_model_dir(protocol, out: Path, seed: int = 0) -> Path:
    """A directory laid out as `mtp train` writes it, holding an untrained tiny model."""
    from model_train_protocol.model_dir import write_manifest, write_protocol_files

    model, tokenizer = tiny_parts(protocol, seed)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    write_protocol_files(out, protocol)
    write_manifest(out, protocol, {"base": "scratch", "val_split": 0.0, "seed": 0, "guardrails": True}, {})
    return out


def mtp_in_process(*args: object, stdin: str = "") -> tuple[int, str, str]:
    """``mtp ARGS`` in this process (tests/cli/mtp_runner.py): (exit code, stdout, stderr)."""
    from cli.mtp_runner import mtp

    run = mtp(*args, stdin=stdin)
    return run.returncode, run.stdout, run.stderr


# --- state machines and multi-classifiers ---------------------------------------------------------------------
STATES = ("Run", "Running", "Café ☕", 'say "hi"', "Idle")
STATE_MAP = {"tone": ["it's", "ok", "naïve"], "act": ["a", "ab"], "b": ["x"]}


def odd_machine(encrypt: bool = False) -> mtp.Protocol:
    """States that are prefixes of each other, non-ASCII, quotes; a guardrail whose answer is also a state."""
    protocol = mtp.Protocol(name="odd", inputs=2, encrypt=encrypt)
    for i in range(10):
        protocol.add_context(f"Context line {i}.")
    before, event = mtp.TokenSet(mtp.Token("Before")), mtp.TokenSet(mtp.UserToken("Happening"))
    guardrail = mtp.Guardrail(good_prompt="game events", bad_prompt="anything else", bad_output="Idle")
    for text in ("tell me a joke", "what is the weather", "solve this equation"):
        guardrail.add_sample(text)
    event.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[before, event], states=list(STATES))
    for i in range(12):
        machine.add_sample([STATES[i % 5], f"event number {i}"], STATES[(i + 1) % 5])
    protocol.add_instruction(machine)
    return protocol


def odd_classifier() -> mtp.Protocol:
    protocol = mtp.Protocol(name="oddmc", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"Context line {i}.")
    where, text = mtp.TokenSet(mtp.Token("Where")), mtp.TokenSet(mtp.UserToken("Said"))
    tagger = mtp.MultiClassifierInstruction(context=[where, text], state_map=STATE_MAP, name="tagger")
    for i in range(6):
        tagger.add_sample(["here", f"message {i}"], {"tone": STATE_MAP["tone"][i % 3], "act": "ab", "b": "x"})
    protocol.add_instruction(tagger)
    return protocol


PROTOCOLS = {"npc": build_state_machine, "odd": odd_machine, "odd-encrypted": lambda: odd_machine(True),
             "tags": build_classifier, "oddmc": odd_classifier}


@lru_cache(maxsize=None)
def choice_model(name: str, seed: int = 0):
    """A tiny randomly initialised model of one of :data:`PROTOCOLS`, with a reference-style template (built once
    per test session: a few seconds each)."""
    from model_train_protocol.infer import Model

    protocol = PROTOCOLS[name]()
    model, tokenizer = tiny_parts(protocol, seed)
    return Model(model, tokenizer, protocol.template_json(), protocol)
