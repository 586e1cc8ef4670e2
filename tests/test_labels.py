"""The multi-classifier answer line: the order given (or named), both input forms, round trip."""

from hypothesis import given, strategies as st

from model_train_protocol.runtime import format_labels, read_labels
from model_train_protocol.authoring import labels_problem

texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), min_size=1, max_size=12)


def test_labels_are_written_in_the_order_given_with_python_quoting():
    """As reference 1.2.8 re-renders a sample: its own label order, not sorted."""
    assert format_labels({"intent": "question", "emotion": "happy"}) == "{'intent': 'question', 'emotion': 'happy'}"
    assert format_labels({"intent": "question", "emotion": "happy"}, ["emotion", "intent"]) == \
        "{'emotion': 'happy', 'intent': 'question'}"
    assert format_labels({"a": "it's"}) == "{'a': \"it's\"}"


def test_json_and_python_literals_are_both_read():
    assert read_labels('{"a": "x", "b": "y"}') == {"a": "x", "b": "y"}
    assert read_labels("{'a': 'x'}") == {"a": "x"}
    assert read_labels("{'a': 1}") is None
    assert read_labels("['a']") is None
    assert read_labels("{'a': 'x'") is None
    assert read_labels("__import__('os')") is None


def test_a_problem_names_missing_and_unknown_labels():
    problem = labels_problem({"a": "x", "c": "z"}, {"a": [], "b": []})
    assert "missing 'b'" in problem and "unknown 'c'" in problem
    assert labels_problem({"a": "x"}, {"a": []}) is None


@given(st.dictionaries(texts, texts, min_size=1, max_size=5))
def test_format_then_read_gives_the_labels_back(labels):
    line = format_labels(labels)
    assert read_labels(line) == labels
    assert "\n" not in line
    assert format_labels(dict(reversed(list(labels.items()))), order=list(labels)) == line
