"""A served state machine and multi-classifier: /run fills state and labels, /models lists them with a regex that
allows exactly the decoder's answers, /v1/completions takes the game engine's prompt without the response-set line."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("fastapi")

from infer.tiny import choice_model as model_of  # noqa: E402


@pytest.fixture(scope="module")
def client():
    import torch
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    app = create_app({"npc_states": model_of("npc"), "message_tags": model_of("tags")})
    with TestClient(app) as test_client:
        yield test_client
    torch.set_num_threads(threads)


def test_run_fills_the_state_and_the_labels(client):
    body = client.post("/run", json={"model": "npc_states", "lines": ["Idle", "a wolf appears"]}).json()
    direct = model_of("npc").run(None, ["Idle", "a wolf appears"])
    assert body["state"] == direct.state and body["text"] == direct.text and body["labels"] is None
    assert body["state"] in ("Idle", "Walking", "Running", "Hiding") or body["refused"]
    body = client.post("/run", json={"model": "message_tags", "lines": ["town", "Open the gate."]}).json()
    assert body["labels"] == model_of("tags").run(None, ["town", "Open the gate."]).labels
    assert body["state"] is None and set(body["labels"]) == {"emotion", "intent"}


def test_models_list_the_states_labels_and_answer_regex(client):
    models = {m["name"]: m for m in client.get("/models").json()["models"]}
    machine = models["npc_states"]["instructions"][0]
    assert machine["states"] == ["Idle", "Walking", "Running", "Hiding"] and machine["labels"] is None
    assert machine["can_refuse"]
    regex = re.compile(machine["answer_regex"])
    assert regex.fullmatch("Hiding\n<NON>\n<EOS>") and regex.fullmatch("Idle\n<NON>_<UNK>_\n<EOS>")
    assert not regex.fullmatch("Hiding\n<UNK>\n<EOS>") and not regex.fullmatch("GUARDRAIL\n<NON>\n<EOS>")
    tags = models["message_tags"]["instructions"][0]
    assert tags["labels"] == {"emotion": ["happy", "calm", "afraid"], "intent": ["question", "statement", "command"]}


def test_completions_take_the_game_engines_prompt(client):
    model = model_of("npc")
    engine = "<BOS>\nPrevious_\nIdle\nEvent_\nthe player waves\n<RUN>"
    ours = model.prompt(None, ["Idle", "the player waves"])
    assert ours == engine.replace("<RUN>", "State_\n<RUN>\n")
    for prompt in (engine, ours):
        body = client.post("/v1/completions", json={"model": "npc_states", "prompt": prompt})
        assert body.status_code == 200, body.text
        assert body.json()["choices"][0]["text"] == model.run(None, ["Idle", "the player waves"]).raw
