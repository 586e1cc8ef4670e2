"""The runtime layer: what a trained model needs to answer, without the authoring model.

A :class:`RuntimeSpec` (``runtime.json`` in a model directory) holds the
instruction specs, the prompt lines to fill, the answer grammar's data, the
refusal settings and lines, the similarity references and the intent heads'
training lines. It is compiled from the protocol by
:mod:`model_train_protocol.rules` when a model directory is written, and
read by inference, ``mtp serve`` and the GGUF export. This package imports
nothing of the authoring side (protocol, tokens, render, ...); those import the
shared line-format strings from here.
"""

from ._lines import (EOS_KEY, NUM_PLACEHOLDER, REFUSAL_SUFFIX, STRING, UNK_KEY, fill_input_lines, format_labels,
                     is_refusal_key, read_labels)
from ._refusal import (REFUSE_CLASS, Refusal, below_threshold, check_threshold, choose_similarity_threshold,
                       choose_threshold, confidence, quantile, refusal_completion, refusal_reason)
from ._runtime import (ENCODER_NAME, RUNTIME_FILE, RUNTIME_FORMAT, InstructionRuntime, IntentHead, LineReference,
                       RuntimeSpec)
from ._spec import (GUARDRAIL_STATE, MULTI_CLASSIFIER, STATE_MACHINE, Final, InstructionFacts, InstructionSpec,
                    Placeholder, final_name, instruction_choices, read_template)

__all__ = [
    # the line format's strings
    "EOS_KEY", "NUM_PLACEHOLDER", "REFUSAL_SUFFIX", "STRING", "UNK_KEY", "fill_input_lines", "format_labels",
    "is_refusal_key", "read_labels",
    # refusal
    "REFUSE_CLASS", "Refusal", "below_threshold", "check_threshold", "choose_similarity_threshold",
    "choose_threshold", "confidence", "quantile", "refusal_completion", "refusal_reason",
    # the spec
    "ENCODER_NAME", "RUNTIME_FILE", "RUNTIME_FORMAT", "InstructionRuntime", "IntentHead", "LineReference",
    "RuntimeSpec", "GUARDRAIL_STATE", "MULTI_CLASSIFIER", "STATE_MACHINE", "Final", "InstructionFacts",
    "InstructionSpec", "Placeholder", "final_name", "instruction_choices", "read_template",
]
