"""``POST /v1/chat/completions``: chat messages fill the instruction's input lines, as ``mtp chat`` does; the
official ``openai`` client talks to a real server on the loopback interface."""

from __future__ import annotations

import socket
import threading

import pytest

from model_train_protocol.errors import MTPValueError
from model_train_protocol.serve import ChatMessage, chat_lines

from .conftest import NAME, expected, without_latency

CONTINUE = "alice_cat_alice_continue"  # lines: the Cat's (model side), then Alice's (the user's prompt line)
ASKS = "alice_asks_the_cat"            # lines: the Cat's, Alice's, Alice's


def _messages(*pairs):
    return [ChatMessage(role=role, content=text) for role, text in pairs]


def test_messages_fill_the_lines_as_mtp_chat_does(model):
    spec = model.specs[CONTINUE]
    assert chat_lines(spec, _messages(("system", "Then it doesnt matter which way you go."),
                                      ("user", "Can you tell me a way?"))) == [
        "Then it doesnt matter which way you go.", "Can you tell me a way?"]
    assert chat_lines(spec, _messages(("user", "Hello"), ("assistant", "We're all mad here."),
                                      ("user", "How do you know?"))) == ["We're all mad here.", "How do you know?"]
    assert chat_lines(spec, _messages(("user", "Which way?"))) == ["", "Which way?"]
    asks = model.specs[ASKS]
    assert chat_lines(asks, _messages(("system", "Cat"), ("system", "Alice before"), ("user", "first"),
                                      ("assistant", "reply"), ("user", "second"))) == ["reply", "first", "second"]
    parts = [ChatMessage(role="user", content=[{"type": "text", "text": "Can you "}, {"type": "text", "text": "tell me?"}])]
    assert chat_lines(spec, parts) == ["", "Can you tell me?"]


@pytest.mark.parametrize("pairs, message", [
    ((("user", "hi"), ("assistant", "hello")), "the last message must be the user's"),
    ((("system", "a"), ("system", "b"), ("system", "c"), ("user", "hi")), "give 1 system message(s)"),
])
def test_a_conversation_that_does_not_fit_is_a_clear_error(model, pairs, message):
    with pytest.raises(MTPValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        chat_lines(model.specs[CONTINUE], _messages(*pairs))


def test_the_answer_is_the_models_for_those_lines(client, model):
    body = {"model": NAME, "instruction": CONTINUE, "messages": [
        {"role": "system", "content": "Then it doesnt matter which way you go."},
        {"role": "user", "content": "Can you tell me a way?"}], "temperature": 0, "max_tokens": 64}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    data = response.json()
    lines = ["Then it doesnt matter which way you go.", "Can you tell me a way?"]
    assert data["object"] == "chat.completion" and data["model"] == NAME
    assert data["choices"][0]["message"] == {"role": "assistant", "content": model.run(CONTINUE, lines).text}
    assert without_latency(data["mtp"][0]) == expected(model, CONTINUE, lines)
    assert data["usage"]["total_tokens"] == data["usage"]["prompt_tokens"] + data["usage"]["completion_tokens"] > 0


@pytest.mark.parametrize("body, status, param", [
    ({"messages": [{"role": "user", "content": "hi"}]}, 422, "instruction"),  # several instructions
    ({"instruction": CONTINUE, "messages": [{"role": "assistant", "content": "hi"}]}, 422, "messages"),
    ({"instruction": CONTINUE, "messages": []}, 422, "messages"),
    ({"instruction": "nope", "messages": [{"role": "user", "content": "hi"}]}, 404, "instruction"),
    ({"instruction": CONTINUE, "messages": [{"role": "user", "content": "hi"}], "stream": True}, 422, "stream"),
])
def test_requests_that_cannot_be_answered_are_4xx_naming_the_field(client, body, status, param):
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["param"] == param


def test_the_official_openai_client_chats_with_a_real_loopback_server(app, model):
    """Regression: /v1/chat/completions did not exist (404), so chat clients had to hand-build the MTP prompt."""
    openai = pytest.importorskip("openai")
    uvicorn = pytest.importorskip("uvicorn")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    # the session app: lifespan off, so its workers outlive this server for the tests after this one
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}/v1", api_key="unused",
                               max_retries=0, timeout=60)
        reply = client.chat.completions.create(
            model=NAME, messages=[{"role": "system", "content": "Then it doesnt matter which way you go."},
                                  {"role": "user", "content": "Can you tell me a way?"}],
            temperature=0, extra_body={"instruction": CONTINUE})
        lines = ["Then it doesnt matter which way you go.", "Can you tell me a way?"]
        assert reply.choices[0].message.role == "assistant"
        assert reply.choices[0].message.content == model.run(CONTINUE, lines).text
        with pytest.raises(openai.UnprocessableEntityError, match="the last message must be the user's"):
            client.chat.completions.create(model=NAME, messages=[{"role": "assistant", "content": "hi"}],
                                           extra_body={"instruction": CONTINUE})
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def test_numbers_that_do_not_fit_are_blamed_on_numbers(client):
    body = {"instruction": "alice_cat_alice_instruction_numeric", "numbers": [1],
            "messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "How many?"}]}
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 422 and response.json()["error"]["param"] == "numbers", response.text
