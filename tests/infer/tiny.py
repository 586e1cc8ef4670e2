"""Tiny untrained models for inference tests: seconds to build, and any output they give must still parse."""

from __future__ import annotations

from pathlib import Path

import pytest

from model_train_protocol.examples.cheshire_cat import build_protocol


def cheshire(encrypt: bool):
    protocol = build_protocol()
    protocol.encrypt = encrypt
    return protocol


def tiny_parts(protocol, seed: int = 0):
    """A 2-layer Llama (hidden 32) and a scratch tokenizer of the protocol, randomly initialised."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import LlamaConfig, LlamaForCausalLM

    from model_train_protocol.render import render_protocol
    from model_train_protocol.train.tokenizer import scratch_tokenizer, structural_strings

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
    """Run ``mtp ARGS`` through its real entry point in this process: (exit code, stdout, stderr).

    Loading PyTorch once per test session instead of once per command keeps the
    CLI tests fast; one test per command still runs the installed script.
    """
    import sys

    from click.testing import CliRunner

    from model_train_protocol.cli import main

    runner = CliRunner()
    with runner.isolation(input=stdin, env={"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}) as streams:
        argv, sys.argv = sys.argv, ["mtp", *map(str, args)]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv = argv
        sys.stdout.flush()
        sys.stderr.flush()
        out, err = streams[0].getvalue(), streams[1].getvalue()
    return code, out.decode("utf-8"), err.decode("utf-8")
