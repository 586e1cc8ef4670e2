"""What other fine-tuning tools need beside the JSONL, so they train the MTP line format and nothing else.

A pretrained tokenizer wraps chat messages in its own chat format (ChatML,
default system prompts) and spells ``<BOS>`` or ``Tree_English_Cat_Talk_`` in
several text pieces. An export therefore ships, next to ``train.jsonl``:

- ``chat_template.jinja``: the raw MTP chat template. It writes each message's
  text exactly as rendered (a system text, then a newline; the user's prompt;
  the assistant's completion) and marks the completion with ``{% generation %}``
  so TRL (``assistant_only_loss=True``) and axolotl (``roles_to_train``) put the
  loss on the completion tokens alone.
- ``added_tokens.json``: the special tokens and every structural key, to add to
  the tokenizer as special tokens (atomic, never split).
- ``dataset_info.json``: the LLaMA-Factory dataset entry (columns and roles mapped,
  the system column included).
- ``axolotl.yaml``: an axolotl ``datasets`` snippet with the template and the tokens.

Training calls :func:`chat_template` too, so a trained directory's tokenizer
renders chat messages the way it was trained.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from ..jsonio import write_atomic
from ..rules import structural_strings
from ..authoring import BOS, EOS, PAD, UNK

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = [
    "CHAT_TEMPLATE",
    "CHAT_TEMPLATE_FILE",
    "ADDED_TOKENS_FILE",
    "DATASET_INFO_FILE",
    "AXOLOTL_FILE",
    "CHAT_FORMATS",
    "chat_template",
    "with_system",
    "added_tokens",
    "dataset_info",
    "axolotl_config",
    "write_tool_files",
]

#: The raw MTP chat template: message texts as rendered, the assistant's inside generation markers and
#: ending in ``<EOS>`` (added when a message lacks it, so a model always learns to stop). It reads
#: OpenAI messages (role/content) and ShareGPT turns (from/value, human/gpt). No generation prompt is
#: needed: a rendered prompt already ends with ``<RUN>`` and a newline.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- set role = message['role'] if 'role' in message else message['from'] -%}"
    "{%- set content = message['content'] if 'content' in message else message['value'] -%}"
    "{%- if role in ('assistant', 'gpt') -%}"
    "{% generation %}{{ content }}"
    "{%- if not content.endswith('" + EOS.key + "') -%}{{ '" + EOS.key + "' }}{%- endif -%}"
    "{% endgeneration %}"
    "{%- elif role == 'system' -%}"
    "{{ content + '\\n' }}"
    "{%- else -%}"
    "{{ content }}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

CHAT_TEMPLATE_FILE = "chat_template.jinja"
ADDED_TOKENS_FILE = "added_tokens.json"
DATASET_INFO_FILE = "dataset_info.json"
AXOLOTL_FILE = "axolotl.yaml"

#: Export formats whose records are lists of messages (rendered by a chat template).
CHAT_FORMATS = ("openai-chat", "sharegpt")


def chat_template() -> str:
    """The raw MTP chat template (Jinja), for a tokenizer's ``chat_template``."""
    return CHAT_TEMPLATE


def with_system(system: str | None, prompt: str) -> str:
    """``prompt`` preceded by a system text and a newline: what the chat template renders for a system turn."""
    return prompt if system is None else system + "\n" + prompt


def added_tokens(protocol: "Protocol") -> dict[str, Any]:
    """The tokens to add to a pretrained tokenizer, with the roles of the special ones."""
    return {
        "bos_token": BOS.key,
        "eos_token": EOS.key,
        "pad_token": PAD.key,
        "unk_token": UNK.key,
        "additional_special_tokens": [s for s in structural_strings(protocol)
                                      if s not in (BOS.key, EOS.key, PAD.key, UNK.key)],
    }


def _llama_factory_entry(fmt: str, file_name: str, system: bool) -> dict[str, Any]:
    if fmt == "openai-chat":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "messages"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"}}
    if fmt == "sharegpt":
        return {"file_name": file_name, "formatting": "sharegpt", "columns": {"messages": "conversations"},
                "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                         "assistant_tag": "gpt", "system_tag": "system"}}
    if fmt == "alpaca":
        columns = {"prompt": "instruction", "query": "input", "response": "output"}
        return {"file_name": file_name, "formatting": "alpaca",
                "columns": {**columns, **({"system": "system"} if system else {})}}
    if fmt == "prompt-completion":
        return {"file_name": file_name, "formatting": "alpaca", "columns": {"prompt": "prompt", "response": "completion"}}
    return {"file_name": file_name, "columns": {"prompt": "text"}}  # text: LLaMA-Factory's pre-training stage


def dataset_info(name: str, fmt: str, files: Mapping[str, str], system: bool = False) -> dict[str, Any]:
    """LLaMA-Factory's ``dataset_info.json``: one entry per split file, named ``{name}_{split}``."""
    return {f"{name}_{split}": _llama_factory_entry(fmt, file_name, system) for split, file_name in files.items()}


def _axolotl_type(fmt: str) -> dict[str, Any]:
    if fmt == "openai-chat":
        return {"type": "chat_template", "field_messages": "messages", "roles_to_train": ["assistant"]}
    if fmt == "sharegpt":
        return {"type": "chat_template", "field_messages": "conversations",
                "message_property_mappings": {"role": "from", "content": "value"},
                "roles": {"user": ["human"], "assistant": ["gpt"], "system": ["system"]},
                "roles_to_train": ["assistant"]}
    if fmt == "prompt-completion":
        return {"type": {"field_instruction": "prompt", "field_output": "completion",
                         "format": "{instruction}", "no_input_format": "{instruction}"}}
    if fmt == "alpaca":
        return {"type": {"field_system": "system", "field_instruction": "instruction", "field_input": "input",
                         "field_output": "output", "system_format": "{system}\n",
                         "format": "{instruction}", "no_input_format": "{instruction}"}}
    return {"type": "completion", "field": "text"}


def axolotl_config(protocol: "Protocol", fmt: str, files: Mapping[str, str]) -> dict[str, Any]:
    """The axolotl settings that train the export as MTP lines: datasets, template, tokens, loss on outputs."""
    tokens = added_tokens(protocol)
    config: dict[str, Any] = {}
    if fmt in CHAT_FORMATS:
        config["chat_template"] = "jinja"
        config["chat_template_jinja"] = CHAT_TEMPLATE
    config["datasets"] = [{"path": file_name, "ds_type": "json", **_axolotl_type(fmt)}
                          for split, file_name in files.items() if split == "train"]
    if "val" in files:
        config["test_datasets"] = [{"path": files["val"], "ds_type": "json", "split": "train", **_axolotl_type(fmt)}]
    config["train_on_inputs"] = False
    config["special_tokens"] = {k: tokens[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token")}
    config["tokens"] = tokens["additional_special_tokens"]
    return config


def _yaml(value: Any, indent: int = 0) -> list[str]:
    """Block YAML for dicts, lists and JSON scalars (a JSON scalar is a valid YAML flow scalar)."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{key}:")
                lines += _yaml(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {json.dumps(item, ensure_ascii=False)}")
    else:
        for item in value:
            if isinstance(item, dict) and item:
                inner = _yaml(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {json.dumps(item, ensure_ascii=False)}")
    return lines


def write_tool_files(
    protocol: "Protocol", directory: str | os.PathLike[str], fmt: str, files: Mapping[str, str], system: bool = False
) -> dict[str, Path]:
    """Write the files above into ``directory`` (the chat template only for chat formats); return their paths.

    ``files`` maps split names (``train``, ``val``) to the JSONL file names in ``directory``.
    """
    out = Path(directory)
    written = {
        ADDED_TOKENS_FILE: json.dumps(added_tokens(protocol), indent=2, ensure_ascii=False) + "\n",
        DATASET_INFO_FILE: json.dumps(dataset_info(protocol.name, fmt, files, system), indent=2, ensure_ascii=False) + "\n",
        AXOLOTL_FILE: "# axolotl settings for this export (merge into your config with base_model etc.)\n"
                      + "\n".join(_yaml(axolotl_config(protocol, fmt, files))) + "\n",
    }
    if fmt in CHAT_FORMATS:
        written[CHAT_TEMPLATE_FILE] = CHAT_TEMPLATE
    paths = {}
    for name, text in written.items():
        write_atomic(out / name, text)
        paths[name] = out / name
    return paths
