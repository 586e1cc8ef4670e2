"""The HTTP API in process (FastAPI's TestClient): answers equal to ``Model`` called directly, every error a JSON 4xx."""

from __future__ import annotations

import copy
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import MAX_TEXT_TOKENS, NAME, expected, without_latency

CONTINUE = "alice_cat_alice_continue"
APPEAR = "alice_cat_alice_appear_disappear"
NUMERIC = "alice_cat_alice_instruction_numeric"
ASKS = "alice_asks_the_cat"


def assert_error(response, status, param=None, *fragments):
    """A JSON error in the OpenAI shape, naming the field, with no traceback."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["code"] == status
    assert error["param"] == param, error
    for fragment in fragments:
        assert fragment in error["message"], error
    return error


# --- answers ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("instruction, lines, numbers", [
    (CONTINUE, ["Then it doesnt matter which way you go.", "Can you tell me a way?"], []),
    (APPEAR, ["Hello.", "Where did you go?"], []),
    (NUMERIC, ["a", "b"], [[100, 200, -50], 7]),
    (ASKS, ["a", "b", "c"], []),
])
def test_run_answers_as_the_model_does(client, model, instruction, lines, numbers):
    response = client.post("/run", json={"instruction": instruction, "lines": lines, "numbers": numbers})
    assert response.status_code == 200, response.text
    body = response.json()
    assert without_latency(body) == expected(model, instruction, lines, numbers)
    assert body["state"] is None and body["labels"] is None
    listed = {i["name"]: i for i in client.get("/models").json()["models"][0]["instructions"]}
    raw = model.run(instruction, lines, numbers).raw
    assert re.fullmatch(listed[instruction]["answer_regex"], raw), raw
    if instruction == NUMERIC:
        assert body["final"] == "Madness" and 0 <= body["value"] <= 10


def test_the_model_name_may_be_given_or_left_out(client, model):
    body = {"instruction": CONTINUE, "lines": ["a", "b"]}
    named = client.post("/run", json={**body, "model": NAME}).json()
    assert without_latency(named) == without_latency(client.post("/run", json=body).json())


def test_a_request_threshold_refuses_and_does_not_stay(client, model):
    body = {"instruction": APPEAR, "lines": ["Hello.", "Where did you go?"]}
    plain = expected(model, APPEAR, body["lines"])
    assert plain["confidence"] < 1 and not plain["refused"] or plain["final"] == "<UNK>"
    strict = client.post("/run", json={**body, "threshold": 1}).json()
    assert strict["refused"] and strict["final"] == "<UNK>" and strict["threshold"] == 1.0
    assert strict["candidate"] == plain["candidate"] and strict["confidence"] == plain["confidence"]
    assert strict["refused_by"] == ("model" if plain["refused"] else "confidence")
    assert without_latency(strict) == expected(model, APPEAR, body["lines"], threshold=1.0)
    again = client.post("/run", json=body).json()  # the next request gets the model's own threshold again
    assert without_latency(again) == plain and model.threshold is None


def test_a_server_threshold_applies_to_every_request(model_dir):
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    with TestClient(create_app([model_dir], threshold=1.0, max_text_tokens=MAX_TEXT_TOKENS)) as strict:
        body = strict.post("/run", json={"instruction": APPEAR, "lines": ["Hello.", "Where?"]}).json()
        assert body["refused"] and body["threshold"] == 1.0
        assert strict.get("/models").json()["models"][0]["threshold"] == 1.0


# --- listing -----------------------------------------------------------------------------------------------
def test_models_lists_instructions_and_how_to_fill_them(client, model):
    listed = client.get("/models").json()["models"]
    assert [m["name"] for m in listed] == [NAME]
    entry = listed[0]
    assert entry["base"] == "scratch" and entry["max_text_tokens"] == MAX_TEXT_TOKENS and entry["queue_limit"] == 16
    by_name = {i["name"]: i for i in entry["instructions"]}
    assert list(by_name) == model.instructions
    numeric = by_name[NUMERIC]
    assert numeric["lines"] == 2 and numeric["input_lines"] == list(model.specs[NUMERIC].input_lines)
    assert [(n["min"], n["max"], n["length"]) for n in numeric["numbers"]] == [(-1000, 1000, 3), (0, 10, None)]
    assert numeric["finals"] == [{"name": "Madness", "key": "Madness_", "range": [0, 10]}]
    assert not numeric["can_refuse"] and by_name[APPEAR]["can_refuse"]
    assert [f["name"] for f in by_name[APPEAR]["finals"]] == ["Appear", "Vanish"]
    assert by_name[ASKS]["lines"] == 3 and by_name[ASKS]["kind"] == "extended"
    numeric_regex = re.compile(numeric["answer_regex"])
    assert numeric_regex.fullmatch("Some text.\nMadness_10\n<EOS>") and numeric_regex.fullmatch("x\nMadness_0\n<EOS>")
    for wrong in ("x\nMadness_11\n<EOS>", "x\nMadness_05\n<EOS>", "x\nMadness_\n<EOS>", "x\n<UNK>\n<EOS>",
                  "\nMadness_3\n<EOS>", "a\nb\nMadness_3\n<EOS>", "x\nMadness_3\n"):
        assert not numeric_regex.fullmatch(wrong), wrong
    assert re.fullmatch(by_name[APPEAR]["answer_regex"], "Gone.\n<UNK>\n<EOS>")
    for instruction in entry["instructions"]:  # each example body is a request the server answers
        response = client.post("/run", json=instruction["example"])
        assert response.status_code == 200, response.text
        assert response.json()["instruction"] == instruction["name"]


def test_health_and_openai_model_list(client):
    assert client.get("/health").json() == {"status": "ok", "models": {NAME: {"pending": 0, "queue_limit": 16}}}
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == [NAME]


def test_openapi_docs(client):
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/run", "/models", "/health", "/v1/completions", "/v1/models"} <= set(schema["paths"])
    assert "422" in schema["paths"]["/run"]["post"]["responses"]


# --- errors --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, status, param, fragment", [
    ({"instruction": "nope", "lines": ["a"]}, 404, "instruction", f"no instruction named 'nope'; this model has: {CONTINUE}"),
    ({"model": "dodo", "instruction": CONTINUE, "lines": ["a", "b"]}, 404, "model", "no model named 'dodo'; served: cheshire_cat"),
    ({"lines": ["a", "b"]}, 422, "instruction", "several instructions; name one"),
    ({"instruction": CONTINUE, "lines": ["a"]}, 422, "lines", "takes 2 input line(s), got 1"),
    ({"instruction": CONTINUE}, 422, "lines", "takes 2 input line(s), got 0"),
    ({"instruction": CONTINUE, "lines": ["a", 5]}, 422, "lines[1]", "valid string"),
    ({"instruction": CONTINUE, "lines": "a"}, 422, "lines", "valid list"),
    ({"instruction": CONTINUE, "lines": ["a", "b\u0000"]}, 422, "lines[1]", "NUL"),
    ({"instruction": CONTINUE, "lines": ["a", "b" * 20_001]}, 422, "lines[1]", "at most 20000 characters"),
    ({"instruction": CONTINUE, "lines": ["a", "b"], "line": "c"}, 422, "line", "unknown field 'line'"),
    ({"instruction": 5, "lines": ["a", "b"]}, 422, "instruction", "valid string"),
    ({"instruction": NUMERIC, "lines": ["a", "b"], "numbers": [[1, 2, 3], 99]}, 422, "numbers", "an integer in [0, 10]"),
    ({"instruction": NUMERIC, "lines": ["a", "b"], "numbers": [[1, 2, 3]]}, 422, "numbers", "takes 2 number(s), got 1"),
    ({"instruction": NUMERIC, "lines": ["a", "b"], "numbers": [[1, 2, 3], "4"]}, 422, "numbers[1]", "must be a number"),
    ({"instruction": NUMERIC, "lines": ["a", "b"], "numbers": [[1, 2, 3], True]}, 422, "numbers[1]", "must be a number"),
    ({"instruction": NUMERIC, "lines": ["a", "b"], "numbers": [[1, 2], 4]}, 422, "numbers", "a list of 3 integers"),
    ({"instruction": CONTINUE, "lines": ["a", "b"], "threshold": 2}, 422, "threshold", "less than or equal to 1"),
    ({"instruction": CONTINUE, "lines": ["a", "b"], "threshold": "0.5"}, 422, "threshold", "valid number"),
])
def test_bad_requests_name_the_field(client, body, status, param, fragment):
    assert_error(client.post("/run", json=body), status, param, fragment)


@pytest.mark.parametrize("content, fragment", [
    (b"{", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (b"", "must be a JSON object"),
    (b'{"instruction": "alice_cat_alice_continue", "lines": ["a\\ud800", "b"]}', "lines[0]"),
    (b'{"instruction": "alice_cat_alice_instruction_numeric", "lines": ["a", "b"], "numbers": [[1, 2, 3], NaN]}',
     "numbers"),
])
def test_unreadable_bodies_are_422(client, content, fragment):
    response = client.post("/run", content=content, headers={"Content-Type": "application/json"})
    error = assert_error(response, 422, response.json()["error"]["param"])
    assert fragment in error["message"] + str(error["param"])


def test_a_huge_number_is_a_4xx(client):
    content = b'{"instruction": "alice_cat_alice_instruction_numeric", "numbers": [' + b"9" * 5000 + b"]}"
    response = client.post("/run", content=content, headers={"Content-Type": "application/json"})
    assert 400 <= response.status_code < 500 and "error" in response.json()


def test_a_body_over_the_limit_is_refused_before_it_is_read(client):
    from model_train_protocol.serve import MAX_BODY_BYTES

    big = b'{"lines": ["' + b"a" * MAX_BODY_BYTES + b'"]}'
    error = assert_error(client.post("/run", content=big, headers={"Content-Type": "application/json"}), 413, "body")
    assert "larger than 4 MiB" in error["message"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(5):
            yield b"a" * (1024 * 1024)

    response = client.post("/run", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 413) and "error" in response.json() and "Traceback" not in response.text


def test_a_prompt_too_long_for_the_model_is_422(client, model):
    words = " ".join(f"w{i}" for i in range(3000))  # thousands of tokens: past the model's positions
    error = assert_error(client.post("/run", json={"instruction": CONTINUE, "lines": ["a", words]}), 422, "lines")
    assert "leaves no room for an answer" in error["message"]


def test_a_completion_prompt_too_long_for_the_model_is_422(client, model):
    words = " ".join(f"w{i}" for i in range(3000))
    prompt = model.prompt(CONTINUE, ["a", words])
    error = assert_error(client.post("/v1/completions", json={"prompt": [prompt, prompt]}), 422, "prompt[0]")
    assert "leaves no room for an answer" in error["message"]


def test_unknown_paths_and_methods_are_json(client):
    assert_error(client.get("/nope"), 404, None, "Not Found")
    assert_error(client.get("/run"), 405, None, "Method Not Allowed")


def test_several_models_need_a_name(model):
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    with TestClient(create_app({"one": model, "two": copy.copy(model)})) as both:
        assert_error(both.post("/run", json={"instruction": CONTINUE, "lines": ["a", "b"]}), 422, "model",
                     "several models; name one in 'model': one, two")
        answer = both.post("/run", json={"model": "two", "instruction": CONTINUE, "lines": ["a", "b"]}).json()
        assert answer["model"] == "two" and answer["text"] == expected(model, CONTINUE, ["a", "b"])["text"]
        assert set(both.get("/health").json()["models"]) == {"one", "two"}
        workers = both.app.state.mtp.workers
        assert workers["one"] is workers["two"]  # one network: one worker, whatever the names


def test_a_failing_model_is_a_500_line_without_traceback(model):
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    broken = copy.copy(model)

    def complete(*_args, **_kwargs):
        raise RuntimeError("weights on fire")

    broken.complete = complete
    with TestClient(create_app({NAME: broken})) as failing:
        error = assert_error(failing.post("/run", json={"instruction": CONTINUE, "lines": ["a", "b"]}), 500, None,
                             "internal error while answering (RuntimeError)")
        assert "weights on fire" not in error["message"]
        assert failing.get("/health").json()["models"][NAME]["pending"] == 0


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["model", "instruction", "lines", "numbers", "threshold", "x"]),
                       st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                                    | st.text(max_size=20) | st.sampled_from([CONTINUE, NUMERIC, NAME]),
                                    lambda inner: st.lists(inner, max_size=4), max_leaves=8)))
def test_random_bodies_never_crash_the_server(client, body):
    response = client.post("/run", json=body)
    assert response.status_code in (200, 404, 422), response.text
    assert ("error" in response.json()) == (response.status_code != 200)


# --- concurrency --------------------------------------------------------------------------------------------
def test_concurrent_requests_each_get_their_own_answer(client, model):
    pool = [{"instruction": [CONTINUE, APPEAR, NUMERIC, ASKS][i % 4],
             "lines": [f"line {i}", f"question {i * 7}?"] + (["more"] if i % 4 == 3 else []),
             "numbers": [[i, -i, 2 * i], i % 11] if i % 4 == 2 else []} for i in range(48)]
    distinct: dict[str, tuple[dict, dict]] = {}
    for body in pool:  # 16 prompts whose answers all differ, so that a mix-up would show
        answer = expected(model, body["instruction"], body["lines"], body["numbers"])
        distinct.setdefault(json.dumps(answer, sort_keys=True), (body, answer))
    assert len(distinct) >= 16
    requests, wanted = zip(*list(distinct.values())[:16])
    start = threading.Barrier(len(requests))

    def send(body):
        start.wait(timeout=60)
        return client.post("/run", json=body)

    with ThreadPoolExecutor(len(requests)) as pool:
        responses = list(pool.map(send, requests))
    assert [r.status_code for r in responses] == [200] * len(requests)
    assert [without_latency(r.json()) for r in responses] == list(wanted)


def test_a_model_is_never_called_from_two_requests_at_once(model):
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    counted = copy.copy(model)
    inside, most, lock = [0], [0], threading.Lock()
    real = model.complete

    def complete(*args, **kwargs):
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                inside[0] -= 1

    counted.complete = complete
    body = {"instruction": APPEAR, "lines": ["Hello.", "Where?"]}
    with TestClient(create_app({NAME: counted})) as served, ThreadPoolExecutor(12) as pool:
        statuses = [r.status_code for r in pool.map(lambda _: served.post("/run", json=body), range(12))]
    assert statuses == [200] * 12 and most[0] == 1


def test_a_full_queue_answers_503_with_retry_after(model):
    """The model is held on a gate (no timing): two requests fill a queue of 2, the third is turned away."""
    from fastapi.testclient import TestClient

    from model_train_protocol.serve import create_app

    gate, entered = threading.Event(), threading.Semaphore(0)
    slow = copy.copy(model)
    real = model.complete

    def gated(*args, **kwargs):
        entered.release()
        assert gate.wait(timeout=120)
        return real(*args, **kwargs)

    slow.complete = gated
    body = {"instruction": CONTINUE, "lines": ["a", "b"]}
    with TestClient(create_app({NAME: slow}, queue_limit=2)) as busy, ThreadPoolExecutor(2) as pool:
        held = [pool.submit(busy.post, "/run", json=body) for _ in range(2)]
        assert entered.acquire(timeout=120)  # the first is running; wait for the second to be queued
        for _ in range(1200):
            if busy.get("/health").json()["models"][NAME]["pending"] == 2:
                break
            threading.Event().wait(0.05)
        assert busy.get("/health").json()["models"][NAME]["pending"] == 2
        refused = busy.post("/run", json=body)
        error = assert_error(refused, 503, None, "is busy", "queue limit 2")
        assert error["type"] == "overloaded_error" and refused.headers["Retry-After"] == "1"
        gate.set()
        assert [without_latency(f.result(timeout=120).json()) for f in held] == [expected(model, CONTINUE, ["a", "b"])] * 2
        assert busy.post("/run", json=body).status_code == 200  # the slots came back


# --- OpenAI-compatible ----------------------------------------------------------------------------------------
def test_completions_take_the_template_prompt(client, model):
    prompt = model.prompt(NUMERIC, ["a", "b"], [[100, 200, -50], 7])
    response = client.post("/v1/completions", json={"model": NAME, "prompt": prompt, "max_tokens": 16,
                                                    "temperature": 0, "top_p": 1, "user": "x"})
    assert response.status_code == 200, response.text
    body = response.json()
    direct = model.run(NUMERIC, ["a", "b"], [[100, 200, -50], 7])
    assert body["object"] == "text_completion" and body["model"] == NAME and body["id"].startswith("cmpl-")
    assert body["choices"] == [{"text": direct.raw, "index": 0, "logprobs": None, "finish_reason": "stop"}]
    assert body["usage"]["completion_tokens"] == direct.tokens
    assert body["usage"]["prompt_tokens"] == len(model.vocab.encode(prompt))
    assert without_latency(body["mtp"][0]) == expected(model, NUMERIC, ["a", "b"], [[100, 200, -50], 7])


def test_completions_of_several_prompts_and_without_the_last_newline(client, model):
    prompts = [model.prompt(CONTINUE, ["a", "b"]), model.prompt(ASKS, ["x", "y", "z"]).rstrip("\n")]
    body = client.post("/v1/completions", json={"prompt": prompts}).json()
    assert [c["text"] for c in body["choices"]] == [model.run(CONTINUE, ["a", "b"]).raw,
                                                    model.run(ASKS, ["x", "y", "z"]).raw]
    assert [c["index"] for c in body["choices"]] == [0, 1]


@pytest.mark.parametrize("change, status, param, fragment", [
    ({"prompt": "Hello there"}, 422, "prompt", "not the filled input lines of any instruction"),
    ({"prompt": ["Hello there"]}, 422, "prompt[0]", "not the filled input lines"),
    ({"prompt": "NUMERIC_99"}, 422, "prompt", "an integer in [0, 10] (input line 2), got 99"),
    ({"prompt": []}, 422, "prompt", "a list of 1 to 16 strings"),
    ({"stream": True}, 422, "stream", "False"),
    ({"n": 2}, 422, "n", "less than or equal to 1"),
    ({"model": "dodo"}, 404, "model", "no model named 'dodo'"),
    ({"instruction": CONTINUE}, 422, "prompt", "not the filled input lines of any instruction (alice_cat_alice_continue)"),
])
def test_completion_errors(client, model, change, status, param, fragment):
    request = {"prompt": model.prompt(NUMERIC, ["a", "b"], [[1, 2, 3], 7])}
    if change.get("prompt") == "NUMERIC_99":
        change = {"prompt": request["prompt"].replace("Emotion_7", "Emotion_99")}
    assert_error(client.post("/v1/completions", json={**request, **change}), status, param, fragment)
