"""Training data out of a protocol: the dataset rows, the fine-tuning files, ``export_protocol``'s formats.

- ``_dataset``: the rendered rows and the stratified train/validation split training and exports share;
- ``_finetune``: the added tokens, chat template and trainer configs of a fine-tuning export;
- ``_export``: :func:`export_protocol` (JSONL, chat, Hugging Face datasets, Axolotl, LLaMA-Factory).

Import from here, never from them.
"""

from ._dataset import split_assignment, strata_counts, stratified_split, stratum
from ._finetune import (ADDED_TOKENS_FILE, AXOLOTL_FILE, CHAT_TEMPLATE, CHAT_TEMPLATE_FILE, DATASET_INFO_FILE,
                        added_tokens, chat_template, dataset_info, with_system)
from ._export import (FORMATS, LENIENT_RULES, ExportError, example_record, export_protocol, export_records, read_jsonl,
                      total_examples)

__all__ = [
    "split_assignment", "strata_counts", "stratified_split", "stratum",
    "ADDED_TOKENS_FILE", "AXOLOTL_FILE", "CHAT_TEMPLATE", "CHAT_TEMPLATE_FILE", "DATASET_INFO_FILE", "added_tokens",
    "chat_template", "dataset_info", "with_system",
    "FORMATS", "LENIENT_RULES", "ExportError", "example_record", "export_protocol", "export_records", "read_jsonl",
    "total_examples",
]
