"""Reading model files of every supported version back into a :class:`~model_train_protocol.Protocol`.

Reads bloom 0.3.x, 1.x and 2.0.x files (reference releases 0.3.0 to 1.2.8)
and our own: this module detects a file's version and model type and builds
the objects. Its neighbours do the other jobs of reading: :mod:`..jsonio`
loads the JSON, :mod:`._checks` checks each field's type where it is read, and
``constants`` reads the generated tokens' descriptions back (beside their
writer). Every problem raises one :class:`MTPFileError` naming the JSON
pointer of the offending value; errors of the object model (a bad key, a number
out of range) are re-raised as ``MTPFileError`` at the place they came from.

Mapping (FORMAT.md 4.5, done right):

- tokens are rebuilt from ``type`` (``FinalToken``/``FinalNumToken`` become a
  Token/NumToken used as a final); a key equal to the automatic key (hash when
  encrypted, else the value) becomes ``key=None``, any other key is kept as a
  custom key; special tokens are recognised and never become user tokens;
- a set whose samples carry a ``prompt`` is an ExtendedInstruction, any other
  a basic Instruction (last row = response);
- a state machine (bloom 1.2.x ``state_machine: true``, 2.x ``model_type``;
  bloom 1.1.0 from reference 0.5.x has no marker and is recognised by its one
  set answering on ``State_`` with every result ``<NON>``) becomes a
  StateMachineInstruction, a multi-classifier (2.x) a MultiClassifierInstruction;
  the declared states / state map come from the ``State_``/``States_`` token's
  description when it has the form ``constants`` writes (the reference's), else from the samples (distinct
  states in order; each label's values sorted, as the reference); label answers
  in JSON or Python-literal form are stored in the canonical form;
- reference files have no UserTokens, but our object model requires one on
  guarded lines and extended prompt lines: for each such line without one, its
  first plain token that appears in no response line becomes a UserToken
  (keys, values and every rendered line stay the same; see README "formats");
- guardrails are attached to their instruction's line at their ``index``
  (``input_guardrails``, what ``add_guardrail`` sets), so a line another
  instruction shares stays as the file has it; equal guardrails share one object;
- names come from set ``name`` or, when absent, ``instruction_{i}``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..constants import (DECLARED_TOKEN_TYPES, NUMBER_TOKEN_TYPES, SPECIAL_TOKEN_TYPES, STATE_TOKEN_NAME,
    STATES_TOKEN_NAME, TokenType, state_map_from_description, states_from_description, token_name, token_value)
from ..errors import MTPError, MTPFileError
from ..authoring import (NON, SPECIAL_TOKENS, BaseInstruction, ExtendedInstruction, Guardrail, ImpliedUserToken,
                         Instruction, MultiClassifierInstruction, NumListToken, NumToken, StateMachineInstruction,
                         Token, TokenSet, UserToken, token_key)
from ..runtime import read_labels
from ..rules import READABLE_BLOOM_VERSIONS, WRITABLE_VERSIONS, parse_schema_url, template_names, version_key
from ._checks import FieldChecks, kind_of, pointer, pointer_join
from ..jsonio import decode, parse_text, paused_gc, read_json_file, read_limited
from ..text import file_name_problem

if TYPE_CHECKING:
    from ..authoring import Protocol

__all__ = ["load_protocol", "protocol_from_json", "file_version"]

#: The instruction class of each non-generative model type, and the value of the token its answer line holds.
_CHOICE = {"state_machine": (StateMachineInstruction, token_value(STATE_TOKEN_NAME)),
           "multi_classifier": (MultiClassifierInstruction, token_value(STATES_TOKEN_NAME))}
_MODEL_TYPES = ("generative", *_CHOICE)


def load_protocol(path: "str | os.PathLike[str]") -> "Protocol":
    """The protocol stored in the model file at ``path``.

    Bloom 0.3.x stores no instruction names; when the template file saved
    beside it describes the same instructions, its names are taken back.
    """
    with paused_gc():  # a million samples are millions of acyclic objects (jsonio.paused_gc)
        document = read_json_file(path)
        protocol = protocol_from_json(document, source=str(path))
    sets = document["instruction"]["sets"]
    if not all(isinstance(raw, dict) and isinstance(raw.get("name"), str) for raw in sets):
        _names_from_template(protocol, Path(path))
    return protocol


def _names_from_template(protocol: "Protocol", model_path: Path) -> None:
    """Name the instructions as the sibling ``{name}_template.json`` does, if its instructions match in order.

    A template matches when it lists as many instructions, each of the same
    type and with exactly the input lines this protocol renders; anything else
    (no template, unreadable, another protocol) leaves the generated names.
    """
    stem = model_path.name[: -len("_model.json")] if model_path.name.endswith("_model.json") else protocol.name
    # A name from the file's content is used only as a plain file name beside the model file: never a path.
    stems = [s for s in (stem, protocol.name) if _plain_file_name(s)]
    candidates = dict.fromkeys(model_path.with_name(f"{s}_template.json") for s in stems)
    for candidate in candidates:
        try:
            template = parse_text(decode(read_limited(candidate), str(candidate)), str(candidate))
            described = list(template["instructions"].items())
        except (MTPFileError, TypeError, KeyError, AttributeError):
            continue
        lines = {name: info.get("input") for name, info in described
                 if name.strip() and isinstance(info, dict) and isinstance(info.get("input"), list)}
        names = template_names(protocol.instructions, lines, protocol.key_map())
        if len(described) == len(protocol.instructions) and all(
            names.get(instruction.name) == name and info.get("type") == instruction.kind
            for (name, info), instruction in zip(described, protocol.instructions)
        ):
            for (name, _), instruction in zip(described, protocol.instructions):
                instruction.name = name
            return


def _plain_file_name(name: str) -> bool:
    return file_name_problem(name) is None


def protocol_from_json(document: Any, *, source: str | None = None) -> "Protocol":
    """The protocol described by a parsed model file (``source`` names it in error messages)."""
    try:
        return _Reader(document, source).protocol()
    except RecursionError:
        raise MTPFileError("not a usable model file: nested too deeply", path=source) from None


def file_version(document: Any, source: str | None = None) -> str:
    """The bloom version of a parsed model file ("0.3.2", "1.2.1", ...); MTPFileError if not a readable one."""
    return _Reader(document, source).version


@dataclass
class _TokenSpec:
    """A ``tokens`` entry, parsed and checked, before it becomes a token object."""

    value: str
    type: str
    key: str
    desc: str | None
    min_value: Any = None
    max_value: Any = None
    length: Any = None
    user: bool = False


@dataclass
class _SetSpec:
    """An ``instruction.sets`` entry, parsed and checked, before it becomes an instruction."""

    index: int
    rows: list[tuple[str, ...]]
    extended: bool
    guard_indices: list[int] = field(default_factory=list)

    choice: str | None = None  # "state_machine" / "multi_classifier"; None for generative sets

    @property
    def user_rows(self) -> list[int]:
        """Indexes of the rows that must hold a UserToken: guarded lines and the extended prompt line."""
        return sorted(set(self.guard_indices) | ({len(self.rows) - 1} if self.extended else set()))


class _Reader(FieldChecks):
    """One pass over one document: its version and model type, then the protocol it describes."""

    def __init__(self, document: Any, source: str | None) -> None:
        super().__init__(source)
        self.doc = document
        if not isinstance(document, dict):
            self.fail(f"not an MTP model file: expected a JSON object, found {kind_of(document)}", "")
        self.version = self._version()

    # --- version and model type ------------------------------------------------
    def _version(self) -> str:
        doc = self.doc
        supported = ", ".join(READABLE_BLOOM_VERSIONS)
        if "$schema" in doc:
            url = doc["$schema"]
            if not isinstance(url, str):
                self.fail(f"'$schema' must be a string, found {kind_of(url)}", "/$schema")
            try:
                kind, version = parse_schema_url(url)
            except MTPFileError as exc:
                self.fail(f"unknown '$schema': {exc.message}", "/$schema")
            if kind != "bloom":
                what = "template file" if kind == "template" else f"{kind} file (a trained-model manifest)" \
                    if kind == "model" else f"{kind} file"
                self.fail(f"this is an MTP {what} ({url}), not a model file; load the {{name}}_model.json file",
                          "/$schema")
        elif "version" in doc:
            version = doc["version"]
            if version != "0.3.0":
                self.fail(f"unknown model file version {version!r}; supported versions are {supported}", "/version")
        elif "instruction" in doc and "tokens" in doc:
            self.fail("an MTP model file of a pre-0.3 layout (no '$schema'); only bloom 0.3.0 and later can be read "
                      "(re-save it with reference release 0.3.x or later)", "")
        else:
            self.fail("not an MTP model file: no '$schema' field", "")
        if version not in READABLE_BLOOM_VERSIONS:
            self.fail(f"model file version {version} is not supported; supported versions are {supported}",
                      "/$schema" if "$schema" in doc else "/version")
        return version

    def _model_type(self) -> str:
        """``generative``, ``state_machine`` or ``multi_classifier`` from bloom 2 ``model_type`` or bloom 1.2
        ``state_machine`` (older files: generative; see :meth:`_old_state_machine`).

        Either field is accepted in either version: reference 1.2.8 writes
        ``model_type`` under a ``bloom_1_2_1`` label when asked for 1.2.1.
        """
        doc, v = self.doc, version_key(self.version)
        if v < (1, 2, 0):
            return "generative"
        field_name = "model_type" if v >= (2, 0, 0) or ("model_type" in doc and "state_machine" not in doc) \
            else "state_machine"
        if field_name == "state_machine":
            return "state_machine" if self.get(doc, "state_machine", bool, "") else "generative"
        model_type = self.get(doc, "model_type", str, "")
        if model_type not in _MODEL_TYPES:
            self.fail(f"unknown model type {model_type!r}; expected one of {', '.join(_MODEL_TYPES)}", "/model_type")
        return model_type

    def _old_state_machine(self, raw_sets: list, specs: list[_SetSpec]) -> bool:
        """Reference 0.5.x wrote state machines as bloom 1.1.0 with no marker: one set answering on ``State_``,
        every result ``<NON>`` (no generative file of the reference has a ``<NON>`` result, FORMAT.md 4.3)."""
        if len(specs) != 1 or specs[0].extended or specs[0].rows[-1] != (_CHOICE["state_machine"][1],):
            return False
        samples = raw_sets[0].get("samples")
        return bool(samples) and all(isinstance(s, dict) and s.get("result") == NON.value for s in samples)

    # --- the document --------------------------------------------------------
    def protocol(self) -> "Protocol":
        from ..authoring import Protocol

        doc = self.doc
        model_type = self._model_type()
        name = self.get(doc, "name", str, "")
        inputs = self.get(doc, "inputs", int, "")
        encrypt = self.encrypt = self.get(doc, "encrypted", bool, "")
        context = self.strings(doc, "context", "", required=False)
        specs = self._token_specs()
        sets_where = "/instruction/sets"
        block = self.get(doc, "instruction", dict, "")
        raw_sets = self.get(block, "sets", list, "/instruction")
        set_specs = [self._set_spec(i, raw, specs) for i, raw in enumerate(raw_sets)]
        if version_key(self.version) < (1, 2, 0) and self._old_state_machine(raw_sets, set_specs):
            model_type = "state_machine"
        if model_type != "generative":
            self._mark_choice(set_specs, model_type)
        users = self._user_tokens(set_specs, specs)
        tokens = {value: self._token(spec, encrypt, value in users) for value, spec in specs.items()}

        with self.at(""):  # saved again, and trained, in its own layout when we write that one
            protocol = Protocol(name, inputs, encrypt=encrypt,
                                version=self.version if self.version in WRITABLE_VERSIONS else None)
        for line in context:
            protocol.add_context(line)
        names = self._names(raw_sets, set_specs)
        tokensets: dict[tuple[str, ...], TokenSet] = {}
        guardrails: dict[tuple, Guardrail] = {}
        for spec, raw, iname in zip(set_specs, raw_sets, names):
            where = pointer_join(sets_where, spec.index)
            if spec.choice is not None:
                instruction = self._choice_instruction(spec, raw, iname, tokens, tokensets, specs, where)
            else:
                instruction = self._instruction(spec, raw, iname, tokens, tokensets, where)
            self._guardrails(spec, raw, instruction, guardrails, where)
            with self.at(where):
                protocol.add_instruction(instruction)
        return protocol

    def _token_specs(self) -> dict[str, _TokenSpec]:
        section = self.get(self.doc, "tokens", dict, "")
        specs: dict[str, _TokenSpec] = {}
        for value, info in section.items():
            where = pointer("tokens", value)
            if not isinstance(value, str):
                self.fail(f"token names must be strings, found {kind_of(value)}", where)
            if not isinstance(info, dict):
                self.fail(f"a token entry must be an object, found {kind_of(info)}", where)
            kind = self.get(info, "type", str, where)
            if value in SPECIAL_TOKENS:
                if kind not in SPECIAL_TOKEN_TYPES:
                    self.fail(f"special token {value} must have type SpecialToken or SpecialFinalToken, not {kind!r}",
                              pointer_join(where, "type"))
                continue
            if kind not in DECLARED_TOKEN_TYPES:
                hint = "special tokens are <BOS> <EOS> <RUN> <PAD> <UNK> <NON>" if kind in SPECIAL_TOKEN_TYPES else \
                    f"expected one of {', '.join(sorted(DECLARED_TOKEN_TYPES))}"
                self.fail(f"unknown token type {kind!r} for {value!r}; {hint}", pointer_join(where, "type"))
            if token_name(value) is None:
                self.fail(f"token value {value!r} must be a name followed by '_' (as Token('Cat') is stored as 'Cat_')",
                          where)
            spec = _TokenSpec(value, kind, self.get(info, "key", str, where),
                              self.get(info, "desc", (str, type(None)), where, required=False))
            user = self.get(info, "user", bool, where, required=False, default=False)
            if kind in NUMBER_TOKEN_TYPES or kind == TokenType.NUM_LIST:
                spec.min_value = self.get(info, "min_value", (int, float), where)
                spec.max_value = self.get(info, "max_value", (int, float), where)
            if kind == TokenType.NUM_LIST:
                spec.length = self.get(info, "length", int, where)
            if user and kind != TokenType.TOKEN:
                self.fail(f"only plain tokens can be user tokens, but {value!r} has type {kind}",
                          pointer_join(where, "user"))
            spec.user = user
            specs[value] = spec
        return specs

    def _token(self, spec: _TokenSpec, encrypt: bool, user: bool) -> Token:
        where = pointer("tokens", spec.value)
        name = token_name(spec.value)
        with self.at(where):
            plain = Token(name)
            key = None if spec.key == token_key(plain, encrypt) else spec.key
            if spec.type in NUMBER_TOKEN_TYPES:
                return NumToken(name, spec.min_value, spec.max_value, key=key, desc=spec.desc)
            if spec.type == TokenType.NUM_LIST:
                return NumListToken(name, spec.min_value, spec.max_value, spec.length, key=key, desc=spec.desc)
            cls = UserToken if spec.user else ImpliedUserToken if user else Token
            return cls(name, key=key, desc=spec.desc)

    def _set_spec(self, index: int, raw: Any, specs: dict[str, _TokenSpec]) -> _SetSpec:
        where = pointer("instruction", "sets", index)
        if not isinstance(raw, dict):
            self.fail(f"an instruction set must be an object, found {kind_of(raw)}", where)
        rows_raw = self.get(raw, "set", list, where)
        if not rows_raw:
            self.fail("'set' needs at least one row of token values", pointer_join(where, "set"))
        rows = []
        for r, row in enumerate(rows_raw):
            row_where = pointer_join(where, "set", r)
            if not isinstance(row, list) or not row:
                self.fail(f"a set row must be a non-empty list of token values, found {kind_of(row)}", row_where)
            for t, value in enumerate(row):
                if not isinstance(value, str):
                    self.fail(f"token values must be strings, found {kind_of(value)}", pointer_join(row_where, t))
                if value not in specs:
                    what = "a special token, which cannot appear in a line" if value in SPECIAL_TOKENS else \
                        "not declared in 'tokens'"
                    self.fail(f"token {value!r} is {what}", pointer_join(row_where, t))
            rows.append(tuple(row))
        samples = self.get(raw, "samples", list, where)
        prompts = []
        for s, sample in enumerate(samples):
            prompt = sample.get("prompt") if type(sample) is dict else 0
            if prompt is not None and type(prompt) is not str:  # the checked path builds the pointer only when needed
                if not isinstance(sample, dict):
                    self.fail(f"a sample must be an object, found {kind_of(sample)}", pointer_join(where, "samples", s))
                prompt = self.get(sample, "prompt", (str, type(None)), pointer_join(where, "samples", s),
                                  required=False)
            prompts.append(prompt is not None)
        extended = any(prompts)
        if extended and not all(prompts):
            s = prompts.index(False)
            self.fail("this set mixes samples with and without a 'prompt'; an extended instruction needs a prompt "
                      "in every sample", pointer_join(where, "samples", s, "prompt"))
        spec = _SetSpec(index, rows, extended)
        guarded_count = len(rows) if extended else len(rows) - 1
        for g, guard in enumerate(self.get(raw, "guardrails", list, where, required=False, default=[])):
            g_where = pointer_join(where, "guardrails", g)
            if not isinstance(guard, dict):
                self.fail(f"a guardrail must be an object, found {kind_of(guard)}", g_where)
            at = self.get(guard, "index", int, g_where)
            if not 0 <= at < guarded_count:
                self.fail(f"guardrail index {at} is out of range: this instruction has {guarded_count} input "
                          f"line(s) (0 to {guarded_count - 1})", pointer_join(g_where, "index"))
            spec.guard_indices.append(at)
        return spec

    def _user_tokens(self, sets: list[_SetSpec], specs: dict[str, _TokenSpec]) -> set[str]:
        """Values of the tokens that become UserTokens so every guarded or prompt line holds one.

        For each such line without a user token yet: its first plain token that
        is in no response line (a response may not hold a UserToken).
        """
        responses = {v for s in sets if not s.extended for v in s.rows[-1]}
        chosen = {v for v, spec in specs.items() if spec.user}
        for s in sets:
            for r in s.user_rows:
                row = s.rows[r]
                if chosen.intersection(row):
                    continue
                pick = next((v for v in row if specs[v].type == TokenType.TOKEN and v not in responses), None)
                if pick is None:
                    what = "the user's prompt line" if s.extended and r == len(s.rows) - 1 else "a guarded line"
                    self.fail(f"line {list(row)} is {what}, so it needs a UserToken, but each of its tokens is a "
                              "number token or also appears in a response line, which cannot hold a UserToken",
                              pointer("instruction", "sets", s.index, "set", r))
                chosen.add(pick)
        return chosen

    def _mark_choice(self, specs: list[_SetSpec], model_type: str) -> None:
        """Every set of a state machine / multi-classifier answers on its generated token, never with a prompt."""
        answer = _CHOICE[model_type][1]
        for spec in specs:
            where = pointer("instruction", "sets", spec.index)
            if spec.extended:
                self.fail(f"a {model_type} protocol has no prompt lines, but this set's samples carry a 'prompt'",
                          pointer_join(where, "samples"))
            if spec.rows[-1] != (answer,) or len(spec.rows) < 2:
                self.fail(f"a {model_type} set ends with the row [{answer!r}] (the line it answers on), found "
                          f"{list(spec.rows[-1])}", pointer_join(where, "set", len(spec.rows) - 1))
            spec.choice = model_type

    def _names(self, raw_sets: list, specs: list[_SetSpec]) -> list[str]:
        given = []
        for i, raw in enumerate(raw_sets):
            given.append(self.get(raw, "name", (str, type(None)), pointer("instruction", "sets", i), required=False))
        taken = {n for n in given if n is not None}
        names = []
        for i, name in enumerate(given):
            if name is None:
                choice = specs[i].choice
                base = _CHOICE[choice][0].__name__ if choice else f"instruction_{i}"  # the reference's default name
                name, n = base, 1
                while name in taken:
                    n += 1
                    name = f"{base}_{n}"
                taken.add(name)
            names.append(name)
        return names

    def _instruction(self, spec: _SetSpec, raw: dict, name: str, tokens: dict[str, Token],
                     tokensets: dict[tuple[str, ...], TokenSet], where: str) -> BaseInstruction:
        sets = []
        for r, row in enumerate(spec.rows):
            ts = tokensets.get(row)
            if ts is None:
                with self.at(pointer_join(where, "set", r)):
                    ts = tokensets[row] = TokenSet(tuple(tokens[v] for v in row))
            sets.append(ts)
        samples = raw["samples"]
        finals: dict[str, Token] = {}
        for s, sample in enumerate(samples):
            result = sample.get("result") if type(sample) is dict else None
            if type(result) is not str:  # the checked path builds the JSON pointer only when needed
                result = self.get(sample, "result", str, pointer_join(where, "samples", s))
            if result not in finals:
                finals[result] = self._final(result, tokens, pointer_join(where, "samples", s, "result"))
        if not finals:
            self.fail("an instruction set needs samples: its final tokens are the samples' results",
                      pointer_join(where, "samples"))
        with self.at(where):
            if spec.extended:
                instruction: BaseInstruction = ExtendedInstruction(sets, list(finals.values()), name=name)
            else:
                instruction = Instruction(sets[:-1], sets[-1], list(finals.values()), name=name)
        instruction.background.extend(self.strings(raw, "context", where, required=False))
        for s, sample in enumerate(samples):
            if not self._fast_sample(instruction, spec, sample, finals):
                self._sample(instruction, spec, sample, finals, pointer_join(where, "samples", s))
        return instruction

    def _choice_instruction(self, spec: _SetSpec, raw: dict, name: str, tokens: dict[str, Token],
                            tokensets: dict[tuple[str, ...], TokenSet], specs: dict[str, _TokenSpec],
                            where: str) -> BaseInstruction:
        """A StateMachineInstruction or MultiClassifierInstruction: input rows, declared answers, samples."""
        assert spec.choice is not None
        cls, answer = _CHOICE[spec.choice]
        sets = []
        for r, row in enumerate(spec.rows[:-1]):
            ts = tokensets.get(row)
            if ts is None:
                with self.at(pointer_join(where, "set", r)):
                    ts = tokensets[row] = TokenSet(tuple(tokens[v] for v in row))
            sets.append(ts)
        answer_spec = specs[answer]
        if answer_spec.type != TokenType.TOKEN or answer_spec.key != token_key(Token(token_name(answer)), self.encrypt):
            self.fail(f"{answer} is the generated line a {spec.choice} answers on: a plain token with the automatic "
                      f"key, found type {answer_spec.type} key {answer_spec.key!r}", pointer("tokens", answer))
        samples = self.get(raw, "samples", list, where)
        if not samples:
            self.fail(f"a {spec.choice} set needs samples", pointer_join(where, "samples"))
        parsed = [self._choice_sample(sets, spec, sample, pointer_join(where, "samples", s))
                  for s, sample in enumerate(samples)]
        outputs = [output for _, output, _ in parsed]
        with self.at(where):
            if cls is StateMachineInstruction:
                states = states_from_description(answer_spec.desc) or list(dict.fromkeys(outputs))
                instruction: BaseInstruction = StateMachineInstruction(sets, states, name=name)
            else:
                state_map = state_map_from_description(answer_spec.desc) or self._seen_map(parsed)
                instruction = MultiClassifierInstruction(sets, state_map, name=name)
        instruction.background.extend(self.strings(raw, "context", where, required=False))
        for snippets, output, s_where in parsed:
            with self.at(pointer_join(s_where, "strings", len(spec.rows) - 1)):
                instruction.add_sample(snippets, output)  # type: ignore[call-arg]
        return instruction

    def _choice_sample(self, sets: list[TokenSet], spec: _SetSpec, sample: Any, where: str) -> tuple[list, str, str]:
        """(input snippets, answer text, pointer) of one state-machine / multi-classifier sample."""
        if not isinstance(sample, dict):
            self.fail(f"a sample must be an object, found {kind_of(sample)}", where)
        result = self.get(sample, "result", str, where)
        if result != NON.value:
            self.fail(f"every sample of a {spec.choice} ends with <NON>, found {result!r}",
                      pointer_join(where, "result"))
        if self.get(sample, "value", (int, float, type(None)), where, required=False) is not None:
            self.fail(f"a {spec.choice} sample has no value", pointer_join(where, "value"))
        rows = len(spec.rows)
        strings = self.strings(sample, "strings", where)
        if len(strings) != rows:
            self.fail(f"'strings' has {len(strings)} item(s) but this set has {rows} row(s); it needs {rows}: input "
                      "strings plus the answer", pointer_join(where, "strings"))
        numbers = self.per_row(sample, "numbers", rows, where)
        lists = self.per_row(sample, "number_lists", rows, where)
        if numbers[-1] or lists[-1]:
            self.fail("the answer line holds no number tokens, so its numbers must be []",
                      pointer_join(where, "numbers", rows - 1))
        snippets = []
        for i, (ts, text) in enumerate(zip(sets, strings)):
            with self.at(pointer_join(where, "numbers", i)):
                snippets.append(ts.create_snippet(text, numbers=numbers[i], number_lists=lists[i]))
        return snippets, strings[-1], where

    def _seen_map(self, parsed: list[tuple[list, str, str]]) -> dict[str, list[str]]:
        """The state map the samples use, as the reference rebuilds it: labels in order of first appearance, each
        label's values sorted."""
        seen: dict[str, set[str]] = {}
        for _, output, where in parsed:
            labels = read_labels(output)
            if labels is None:
                self.fail(f"{output[:80]!r} is not a label dict (JSON or a Python dict literal of strings)",
                          pointer_join(where, "strings"))
            for label, value in labels.items():
                seen.setdefault(label, set()).add(value)
        return {label: sorted(seen[label]) for label in seen}

    def _final(self, result: str, tokens: dict[str, Token], where: str) -> Token:
        if result == NON.value:
            return NON
        if result in SPECIAL_TOKENS:
            self.fail(f"{result} cannot be a sample's result; only <NON> among special tokens", where)
        token = tokens.get(result)
        if token is None:
            self.fail(f"result {result!r} is not declared in 'tokens'", where)
        return token

    def _fast_sample(self, instruction: BaseInstruction, spec: _SetSpec, sample: Any, finals: dict[str, Token]) -> bool:
        """Add a well-formed sample without numbers in one pass, building no JSON pointers (bench/: 1M samples).

        False, with nothing added, for anything else: :meth:`_sample` then
        checks it field by field and reports the problem with its pointer.
        """
        if type(sample) is not dict:
            return False
        strings, result, value = sample.get("strings"), sample.get("result"), sample.get("value")
        empty = [[]] * len(spec.rows)
        if (type(strings) is not list or len(strings) != len(empty) or type(result) is not str
                or sample.get("numbers") != empty or sample.get("number_lists") != empty
                or (value is not None and type(value) is not int and type(value) is not float)
                or set(map(type, strings)) != {str}):
            return False
        final = finals.get(result)
        texts = strings[:-1]
        if spec.extended:
            texts.append(sample.get("prompt"))
            if type(texts[-1]) is not str:
                return False
        if final is None:
            return False
        try:
            snippets = [ts.create_snippet(text) for ts, text in zip(instruction.tokensets, texts)]
            instruction.add_sample(snippets, strings[-1], value=value, final=final)  # type: ignore[call-arg]
        except MTPError:
            return False
        return True

    def _sample(self, instruction: BaseInstruction, spec: _SetSpec, sample: dict, finals: dict[str, Token],
                where: str) -> None:
        rows = len(spec.rows)
        strings = self.strings(sample, "strings", where)
        if len(strings) != rows:
            what = "input strings (the prompt is in 'prompt') plus the response" if spec.extended else \
                "input strings plus the response"
            self.fail(f"'strings' has {len(strings)} item(s) but this set has {rows} row(s); it needs {rows}: {what}",
                      pointer_join(where, "strings"))
        numbers = self.per_row(sample, "numbers", rows, where)
        lists = self.per_row(sample, "number_lists", rows, where)
        inputs = instruction.tokensets
        texts = strings[:-1] + ([sample["prompt"]] if spec.extended else [])
        snippets = []
        for i, (ts, text) in enumerate(zip(inputs, texts)):
            with self.at(pointer_join(where, "numbers", i)):
                snippets.append(ts.create_snippet(text, numbers=numbers[i], number_lists=lists[i]))
        if not spec.extended and (numbers[-1] or lists[-1]):
            self.fail("the response line holds no number tokens, so its numbers must be []",
                      pointer_join(where, "numbers", rows - 1))
        value = self.get(sample, "value", (int, float, type(None)), where, required=False)
        final = finals[sample["result"]]
        with self.at(where):
            instruction.add_sample(snippets, strings[-1], value=value, final=final)  # type: ignore[call-arg]

    def _guardrails(self, spec: _SetSpec, raw: dict, instruction: BaseInstruction,
                    shared: dict[tuple, Guardrail], where: str) -> None:
        for g, guard in enumerate(raw.get("guardrails", [])):
            g_where = pointer_join(where, "guardrails", g)
            texts = [self.get(guard, k, str, g_where) for k in ("good_prompt", "bad_prompt", "bad_output")]
            examples = self.strings(guard, "bad_examples", g_where, required=False)
            key = (*texts, tuple(examples))
            guardrail = shared.get(key)
            if guardrail is None:
                with self.at(g_where):
                    guardrail = Guardrail(*texts)
                for e, text in enumerate(examples):
                    with self.at(pointer_join(g_where, "bad_examples", e)):
                        guardrail.add_sample(text)
                shared[key] = guardrail
            index = guard["index"]
            held = instruction.input_guardrails.get(index)
            if held is not None and held is not guardrail:
                self.fail(f"input line {index} of this instruction is guarded by two different guardrails; a line "
                          "takes one guardrail", pointer_join(g_where, "index"))
            # This instruction's line only, as the file says: an equal line of another instruction that the
            # file leaves unguarded stays unguarded (the reference's add_guardrail).
            instruction.input_guardrails[index] = guardrail
