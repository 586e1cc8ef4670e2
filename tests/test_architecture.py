"""The package's layers point one way: no import circle, and every import goes to its own layer or one below;
a package's private ``_modules`` are imported from inside it only; tests, bench/ and the examples import the
names the package offers its users.

Every import counts, as Python would run it or not: module level, inside functions, and type-only ones under
``if TYPE_CHECKING:``. The graph is built with ``ast`` from the source, so nothing is imported to check it.
docs/architecture.md describes the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "model_train_protocol"
ROOT = "model_train_protocol"

#: Bottom to top, one package (or module) per layer in the order of docs/architecture.md; a module belongs to the
#: longest name that is it or its package ("" is the package facade).
LAYERS: list[tuple[str, ...]] = [
    ("constants",),  # the format's vocabulary: imports nothing of the package
    ("errors", "text", "_env", "_version"),
    ("jsonio",),  # byte-stable JSON, strict reading, atomic writes, size limits
    # What inference reads: the compiled runtime spec (no authoring module; those import its strings).
    ("runtime",),
    ("authoring",),  # tokens, token sets, guardrails, instructions, the protocol
    ("rules",),  # format versions, validation, the one renderer, the compiler, statistics
    ("formats",),  # model and template files, schemas, CSV tables
    ("export",),  # dataset rows and fine-tuning exports
    ("model_dir", "extras"),
    # The compatibility layer: the reference's import paths and call styles, on top of the core.
    ("compat", "reference_api", "common", "v1", "v2", "csv", "utils", "errors.protocol", "errors.conversion",
     "errors.instruction", "errors.token", "errors.guardrail"),
    ("infer",),  # reads a model directory's runtime spec
    ("train", "eval"),  # train calibrates with infer; eval asks it (neither imports the other)
    ("export_gguf", "serve"),  # read the runtime spec through infer
    ("",),  # the facade
    ("examples",),  # written against the facade, as users write
    ("cli",),
]

#: The compatibility layer (``LAYERS`` above): only the package facade may import it.
COMPAT = next(names for names in LAYERS if "compat" in names)

#: The upward imports: the protocol's file methods reach the formats on first use (authoring._protocol._files), and
#: its runtime_spec the compiler in the rules.
ALLOWED_UPWARD = {(f"{ROOT}.authoring._protocol", f"{ROOT}.formats"),
                  # Protocol.runtime_spec compiles the protocol on first use, so inference never imports the compiler
                  (f"{ROOT}.authoring._protocol", f"{ROOT}.rules")}


def modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if package else parts)] = (path, package)
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports, anywhere in its source."""
    known = modules()
    graph: dict[str, set[str]] = {name: set() for name in known}
    for name, (path, package) in known.items():
        here = name if package else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                candidates = [target, *(f"{target}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            graph[name].update(c for c in candidates if c in known and c != name)
    return graph


def layer(module: str) -> int | None:
    rel = module[len(ROOT):].lstrip(".")
    best: tuple[int, int] | None = None
    for index, names in enumerate(LAYERS):
        for prefix in names:
            if rel == prefix or (prefix and rel.startswith(prefix + ".")) or (prefix == "" and rel == ""):
                if best is None or len(prefix) > best[1]:
                    best = (index, len(prefix))
    return None if best is None else best[0]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph()


def test_the_graph_sees_every_kind_of_import(graph):
    """Type-only and in-function imports are edges too (the checks below would be hollow otherwise)."""
    assert f"{ROOT}.authoring" in graph[f"{ROOT}.rules._validation"]  # under TYPE_CHECKING only
    assert f"{ROOT}.formats" in graph[f"{ROOT}.authoring._protocol"]  # inside _protocol._files()
    assert f"{ROOT}.train" in graph[ROOT]  # the lazy re-export of the facade


def test_no_import_circle(graph):
    without_allowed = {m: {t for t in targets if (m, t) not in ALLOWED_UPWARD} for m, targets in graph.items()}
    assert cycles(without_allowed) == []


def test_every_module_has_a_layer(graph):
    assert sorted(m for m in graph if layer(m) is None) == []


def test_imports_point_down_the_layers(graph):
    upward = sorted((m, t) for m, targets in graph.items() for t in targets
                    if layer(t) > layer(m) and (m, t) not in ALLOWED_UPWARD)
    assert upward == []


def is_compat(module: str) -> bool:
    rel = module[len(ROOT):].lstrip(".")
    return any(rel == prefix or rel.startswith(prefix + ".") for prefix in COMPAT)


def core_imports_of_compat(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(core module, compat module) edges: everything but the compat layer and the facade is core."""
    return sorted((m, t) for m, targets in graph.items() for t in targets
                  if is_compat(t) and not is_compat(m) and m != ROOT)


def test_the_core_never_imports_the_compatibility_layer(graph):
    assert core_imports_of_compat(graph) == []


def test_a_core_import_of_the_compatibility_layer_would_be_found(graph):
    """The check above is not hollow: one such edge added to the real graph is reported."""
    edited = {m: set(t) for m, t in graph.items()}
    edited[f"{ROOT}.authoring._instructions"].add(f"{ROOT}.reference_api.io")
    edited[f"{ROOT}.authoring._tokens"].add(f"{ROOT}.common.constants")
    assert core_imports_of_compat(edited) == [(f"{ROOT}.authoring._instructions", f"{ROOT}.reference_api.io"),
                                              (f"{ROOT}.authoring._tokens", f"{ROOT}.common.constants")]
    assert is_compat(f"{ROOT}.errors.protocol") and not is_compat(f"{ROOT}.errors")


def test_inference_and_evaluation_do_not_import_training(graph):
    bad = sorted((m, t) for m, targets in graph.items() for t in targets
                 if m.startswith((f"{ROOT}.infer", f"{ROOT}.eval")) and t.startswith(f"{ROOT}.train"))
    assert bad == []


def test_a_circle_would_be_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_answer_grammar_reads_specs_only(graph):
    """The answer grammar and its writers take the runtime's specs and plain data, never the protocol's authoring
    objects: a runtime that holds only a compiled spec builds the same grammar."""
    authoring = tuple(f"{ROOT}.{name}" for name in AUTHORING)
    assert graph[f"{ROOT}.infer._grammar"] <= {f"{ROOT}.errors", f"{ROOT}.runtime"}
    for writer in (f"{ROOT}.infer._grammar", f"{ROOT}.infer._gbnf", f"{ROOT}.serve._describe"):
        assert not [t for t in graph[writer] if t.startswith(authoring)], writer


#: The authoring side: what inference, serving and the GGUF export never import (they read the runtime spec).
#: The compiler (in the rules) reads the authoring objects too: the readers get a compiled spec, or ask
#: ``Protocol.runtime_spec``.
AUTHORING = ("authoring", "rules", "formats", "export")
#: The parts that read only the runtime spec.
RUNTIME_READERS = ("infer", "serve", "export_gguf")


def _under(module: str, prefixes: tuple[str, ...]) -> bool:
    rel = module[len(ROOT):].lstrip(".")
    return any(rel == p or rel.startswith(p + ".") for p in prefixes)


def authoring_imports_of_readers(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(reader, authoring module) edges: none may exist, not even inside a function."""
    return sorted((m, t) for m, targets in graph.items() if _under(m, RUNTIME_READERS) for t in targets
                  if _under(t, AUTHORING))


def test_inference_serving_and_export_read_only_the_runtime_spec(graph):
    assert authoring_imports_of_readers(graph) == []


def test_a_reader_importing_the_authoring_side_would_be_found(graph):
    edited = {m: set(t) for m, t in graph.items()}
    edited[f"{ROOT}.serve._app"].add(f"{ROOT}.authoring")
    edited[f"{ROOT}.infer._decode"].add(f"{ROOT}.rules")
    assert authoring_imports_of_readers(edited) == [(f"{ROOT}.infer._decode", f"{ROOT}.rules"),
                                                    (f"{ROOT}.serve._app", f"{ROOT}.authoring")]


def test_the_runtime_imports_only_constants_errors_and_text(graph):
    runtime = {m: targets for m, targets in graph.items() if _under(m, ("runtime",))}
    assert runtime and sorted((m, t) for m, targets in runtime.items() for t in targets
                              if not _under(t, ("runtime", "constants", "errors", "text"))) == []


def private_imports_from_outside(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """(importer, private module) edges whose importer is outside the private module's package.

    A module named ``_x`` is its package's inside (``model_dir/_checks.py``, ``jsonio/_atomic.py``,
    ``runtime/_spec.py``, ...): the rest of the package imports the names its package re-exports, so the modules
    behind them can be split or merged without touching their callers.
    """
    bad = []
    for m, targets in graph.items():
        for t in targets:
            package, _, name = t.rpartition(".")
            if name.startswith("_") and not name.startswith("__") and m != package and not m.startswith(package + "."):
                bad.append((m, t))
    return sorted(bad)


def test_private_modules_are_imported_only_inside_their_package(graph):
    private = {t.rpartition(".")[0] for t in graph if t.rpartition(".")[2].startswith("_")}
    assert {f"{ROOT}.model_dir", f"{ROOT}.formats", f"{ROOT}.runtime", f"{ROOT}.authoring", f"{ROOT}.rules",
            f"{ROOT}.export", f"{ROOT}.jsonio"} <= private  # not hollow
    assert private_imports_from_outside(graph) == []


def test_a_private_import_from_outside_would_be_found(graph):
    edited = {m: set(t) for m, t in graph.items()}
    edited[f"{ROOT}.train._train"].add(f"{ROOT}.model_dir._staged")
    edited[f"{ROOT}.export._export"].add(f"{ROOT}.jsonio._atomic")
    edited[f"{ROOT}.jsonio"].add(f"{ROOT}.runtime._spec")
    edited[f"{ROOT}.model_dir._upgrade"].add(f"{ROOT}.model_dir._loading")  # inside its package: allowed
    assert private_imports_from_outside(edited) == [(f"{ROOT}.export._export", f"{ROOT}.jsonio._atomic"),
                                                    (f"{ROOT}.jsonio", f"{ROOT}.runtime._spec"),
                                                    (f"{ROOT}.train._train", f"{ROOT}.model_dir._staged")]


def test_the_split_modules_keep_the_layer_of_their_package(graph):
    """A package's private modules sit in their package's layer, so the layers above reach them through the
    package only."""
    for package in ("jsonio", "runtime", "authoring", "rules", "formats", "export", "model_dir"):
        inside = [m for m in graph if m.startswith(f"{ROOT}.{package}._")]
        assert inside and {layer(m) for m in inside} == {layer(f"{ROOT}.{package}")}, package


#: Where the package's users live in this repository: what they import is what a user may import.
USERS = ("tests", "bench", "examples")


def user_imports(folder: str) -> list[tuple[str, int, str, list[str]]]:
    """(file, line, module path, names) of every ``from model_train_protocol... import`` and ``import
    model_train_protocol...`` under ``folder``."""
    found = []
    for path in sorted((PACKAGE.parent / folder).rglob("*.py")):
        if "results" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith(ROOT):
                found.append((str(path.relative_to(PACKAGE.parent)), node.lineno, node.module,
                              [a.name for a in node.names]))
            elif isinstance(node, ast.Import):
                found += [(str(path.relative_to(PACKAGE.parent)), node.lineno, a.name, [])
                          for a in node.names if a.name.startswith(ROOT)]
    return found


def non_public_imports(imports: list[tuple[str, int, str, list[str]]], white_box: bool) -> list[str]:
    """Imports that name a module the package does not offer its users.

    Public: the facade, a layer package (``model_train_protocol.infer``), and the reference's import paths
    (the compatibility layer, whose deep paths are its point) and the example modules. A white-box test may
    also take a private helper (a ``_name``) from the private module that holds it, or a private module
    itself to patch it; ``bench/`` and the examples may not.
    """
    bad = []
    for where, line, module, names in imports:
        parts = module.split(".")
        deep = len(parts) > 2 and not is_compat(module) and parts[1] != "examples"
        private_module = any(p.startswith("_") for p in parts[1:])
        if white_box and private_module and all(n.startswith("_") for n in names) and names:
            continue
        if white_box and not private_module and len(parts) <= 2 and names and all(
                n.startswith("_") and f"{module}.{n}" in modules() for n in names):
            continue  # a private module object, to patch it
        if deep or private_module or any(n.startswith("_") and not n.startswith("__") for n in names):
            bad.append(f"{where}:{line}: from {module} import {', '.join(names)}")
    return bad


@pytest.mark.parametrize("folder", USERS)
def test_tests_bench_and_examples_import_public_names(folder):
    """A module can move inside its package without breaking them (the redesign moved 60 and rewrote 400
    imports)."""
    assert non_public_imports(user_imports(folder), white_box=folder == "tests") == []


def test_a_deep_or_private_import_would_be_found():
    imports = [("t.py", 1, f"{ROOT}.infer._decode", ["Grammar"]), ("t.py", 2, f"{ROOT}.infer.decode", ["Grammar"]),
               ("t.py", 3, f"{ROOT}.infer", ["_helper"]), ("t.py", 4, f"{ROOT}.infer._decode", ["_extendable"]),
               ("t.py", 5, f"{ROOT}.jsonio", ["_atomic"]), ("t.py", 6, f"{ROOT}.common.tokens.Token", ["Token"]),
               ("t.py", 7, f"{ROOT}.infer", ["Model"])]
    assert non_public_imports(imports, white_box=True) == [
        f"t.py:1: from {ROOT}.infer._decode import Grammar", f"t.py:2: from {ROOT}.infer.decode import Grammar",
        f"t.py:3: from {ROOT}.infer import _helper"]
    assert len(non_public_imports(imports, white_box=False)) == 5
