"""The JSON bodies of the server's endpoints, as pydantic models: requests are checked field by field.

Request models forbid unknown fields (a misspelt ``line`` is an error, not an
empty request) and take values as JSON gives them: strings stay strings,
numbers must be finite JSON numbers, no conversion between the two. The
OpenAI-compatible request ignores the fields of that API it has no use for,
as OpenAI clients send many.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, Strict, StrictStr

__all__ = [
    "RunRequest", "RunAnswer", "ErrorBody", "ErrorResponse", "CompletionRequest", "CompletionResponse",
    "MAX_LINE_CHARS", "MAX_LINES", "MAX_PROMPTS",
]

#: Longest input line, in characters: far above any model's context, low enough to tokenize in milliseconds.
MAX_LINE_CHARS = 20_000
#: Most input lines (and numbers) in one request: templates have a handful.
MAX_LINES = 64
#: Most prompts in one OpenAI-compatible request.
MAX_PROMPTS = 16


def _usable(text: str) -> str:
    """A text the tokenizer can take: valid UTF-8 (no lone surrogate, which JSON escapes allow), no NUL."""
    if "\0" in text:
        raise ValueError("the text holds a NUL character; remove it")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"the text holds {text[exc.start:exc.end]!r}, an unpaired surrogate that UTF-8 cannot "
                         "encode; remove it") from None
    return text


Text = Annotated[str, Strict(), Field(max_length=MAX_LINE_CHARS), AfterValidator(_usable)]


def _is_number(value: Any) -> bool:
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and math.isfinite(value))


def _number_value(value: Any) -> Any:
    """A placeholder's value: a JSON number, or a list of them (for ``<num_MIN_MAX_LEN>``); ranges are checked later."""
    if _is_number(value) or (isinstance(value, list) and len(value) <= 4096 and all(map(_is_number, value))):
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise ValueError(f"must be a number or a list of numbers, got {shown}")


NumberValue = Annotated[Any, PlainValidator(_number_value, json_schema_input_type=Union[
    int, float, list[Union[int, float]]])]


def _prompt_value(value: Any) -> Any:
    """One prompt text, or a list of 1 to MAX_PROMPTS of them."""
    texts = value if isinstance(value, list) else [value]
    if not texts or len(texts) > MAX_PROMPTS or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"must be a string or a list of 1 to {MAX_PROMPTS} strings")
    for text in texts:
        if len(text) > 4 * MAX_LINE_CHARS:
            raise ValueError(f"a prompt may hold at most {4 * MAX_LINE_CHARS} characters")
        _usable(text)
    return value


PromptValue = Annotated[Any, PlainValidator(_prompt_value, json_schema_input_type=Union[str, list[str]])]
Threshold = Annotated[float, Strict(), Field(ge=0, le=1)]


class RunRequest(BaseModel):
    """One prompt for ``POST /run``: the instruction's input lines in template order, its numbers in order."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"instruction": "alice_cat_alice_continue", "lines": ["Then it doesnt matter which way you go.",
                                                              "Can you tell me a way?"]}]})

    model: Optional[StrictStr] = Field(None, description="The model's name (its protocol's); optional when the "
                                       "server has one model.")
    instruction: Optional[StrictStr] = Field(None, description="Instruction name; optional when the model has one.")
    lines: list[Text] = Field(default_factory=list, max_length=MAX_LINES,
                              description="One text per <string> slot of the instruction's input lines, in order "
                              "(the last is the newest).")
    numbers: list[NumberValue] = Field(
        default_factory=list, max_length=MAX_LINES,
        description="One value per number placeholder, in order: an integer, or a list for <num_MIN_MAX_LEN>.")
    threshold: Optional[Threshold] = Field(None, description="Refuse when the answer's confidence is below this "
                                           "(0: off); default: the server's.")


class RunAnswer(BaseModel):
    """A typed answer: the text line, the final by name (with a numeric final's value), refusal and confidence."""

    model: str
    instruction: str
    text: str = Field(description="The answer's text line.")
    final: str = Field(description="The final token's name ('<UNK>' for a refusal).")
    final_key: str = Field(description="The final as the model wrote it (a hash when the protocol is encrypted).")
    value: Optional[Union[int, float]] = Field(description="The integer after a numeric final; null otherwise.")
    refused: bool = Field(description="True when the answer is the guardrail's refusal.")
    confidence: Optional[float] = Field(description="Probability of the answer's tokens under constrained decoding.")
    candidate: str = Field(description="The final the model chose before any refusal rule (differs from 'final' "
                           "when the confidence or similarity threshold refused).")
    refused_by: Optional[str] = Field(description="Why the answer is a refusal: 'model' (it wrote the guardrail's "
                                      "answer), 'similarity' or 'confidence'; null when it is not one.")
    prompt_similarity: Optional[float] = Field(description="Similarity of the guarded line to the training lines "
                                               "(null when the similarity refusal is off).")
    threshold: Optional[float] = Field(description="The refusal threshold applied (null: none).")
    final_probs: dict[str, float] = Field(description="Probability of each allowed final where the model chose it.")
    tokens: int = Field(description="Tokens the model generated.")
    latency_ms: float = Field(description="Time in the server: waiting for the model and running it.")
    state: Optional[str] = Field(None, description="A state machine's answer: one of its states (null for a refusal "
                                 "and for other kinds of instruction).")
    labels: Optional[dict[str, str]] = Field(None, description="A multi-classifier's answer: label -> value, one "
                                             "allowed value per label (null for other kinds of instruction).")


class ErrorBody(BaseModel):
    message: str
    type: str
    param: Optional[str] = Field(None, description="The request field at fault, when one is.")
    code: Optional[int] = None


class ErrorResponse(BaseModel):
    """Every error: ``{"error": {"message", "type", "param", "code"}}`` (the OpenAI API's shape)."""

    error: ErrorBody


class CompletionRequest(BaseModel):
    """OpenAI ``POST /v1/completions``: the prompt is the model prompt itself, the template's input lines filled."""

    model_config = ConfigDict(extra="ignore")

    model: Optional[StrictStr] = None
    prompt: PromptValue = Field(description="The model prompt: the instruction's input lines filled, ending with "
                                "'<RUN>' and a newline; or a list of up to 16 such prompts.")
    max_tokens: Optional[Annotated[int, Strict(), Field(ge=1)]] = Field(
        None, description="Accepted and not used: the answer's text is bounded by the model's budget.")
    temperature: Optional[Annotated[float, Strict(), Field(ge=0, le=2)]] = Field(
        None, description="Accepted and not used: answers are decoded greedily.")
    n: Annotated[int, Strict(), Field(ge=1, le=1)] = 1
    stream: Literal[False] = Field(False, description="Streaming is not supported.")
    instruction: Optional[StrictStr] = Field(None, description="(extension) The instruction, when two instructions' "
                                             "prompts look alike.")
    threshold: Optional[Threshold] = Field(None, description="(extension) The refusal threshold.")


class CompletionChoice(BaseModel):
    text: str
    index: int
    logprobs: None = None
    finish_reason: str = "stop"


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage
    mtp: list[RunAnswer] = Field(description="(extension) The typed answer of each prompt.")
