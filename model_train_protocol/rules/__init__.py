"""The rules over a whole protocol: format versions, validation, the one renderer, the runtime compiler, statistics.

- ``_versions``: the table of format versions (what each layout holds, its schema URLs);
- ``_render``: the one renderer: a sample's prompt and answer lines, the template's names, the structural strings;
  the template, exports, training, inference and grammars all come from it;
- ``_validation``: every problem of a protocol at once (:class:`~model_train_protocol.errors.Problem`);
- ``_uniformity``: the "too uniform to generalise" warning (samples per sentence pattern);
- ``_compiler``: the runtime spec that training writes and inference reads;
- ``_info``: the figures of ``mtp info``.

Import from here, never from them.
"""

from ._versions import (BLOOM_0_3_2, BLOOM_1_2_1, BLOOM_2_0_1, DEFAULT_VERSION, READABLE_BLOOM_VERSIONS,
                        WRITABLE_VERSIONS, FormatVersion, format_version, layouts_holding, parse_schema_url, rules_of,
                        schema_url, version_key)
from ._render import (SPECIALS, RenderedExample, final_filled, final_pattern, input_lines, output_line, refusal_lines,
                      render_completion, render_guardrail_examples, render_prompt, render_protocol, render_sample,
                      structural_strings, template_names, tokenset_filled, tokenset_keys, tokenset_pattern)
from ._validation import collect_tokens, substring_pairs, validate_protocol
from ._uniformity import MAX_FILLER_WORDS, SAMPLES_PER_PATTERN, count_patterns, uniformity_warnings, varying_lines
from ._compiler import (HeadSource, compile_runtime, head_sources, instruction_names, instruction_specs, intent_heads,
                        line_references, write_runtime)
from ._info import IMBALANCE_RATIO, THIN_FINAL_SAMPLES, LengthStats, ProtocolStats, length_stats, protocol_stats

__all__ = [
    "BLOOM_0_3_2", "BLOOM_1_2_1", "BLOOM_2_0_1", "DEFAULT_VERSION", "READABLE_BLOOM_VERSIONS", "WRITABLE_VERSIONS",
    "FormatVersion", "format_version", "layouts_holding", "parse_schema_url", "rules_of", "schema_url", "version_key",
    "SPECIALS", "RenderedExample", "final_filled", "final_pattern", "input_lines", "output_line", "refusal_lines",
    "render_completion", "render_guardrail_examples", "render_prompt", "render_protocol", "render_sample",
    "structural_strings", "template_names", "tokenset_filled", "tokenset_keys", "tokenset_pattern",
    "collect_tokens", "substring_pairs", "validate_protocol",
    "MAX_FILLER_WORDS", "SAMPLES_PER_PATTERN", "count_patterns", "uniformity_warnings", "varying_lines",
    "HeadSource", "compile_runtime", "head_sources", "instruction_names", "instruction_specs", "intent_heads",
    "line_references", "write_runtime",
    "IMBALANCE_RATIO", "THIN_FINAL_SAMPLES", "LengthStats", "ProtocolStats", "length_stats", "protocol_stats",
]
