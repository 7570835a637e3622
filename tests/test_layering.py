"""The import rules of ../shared/DESIGN.md ("Dependencies point down the pipeline"), read from the
source with ``ast``: every ``import`` and ``from … import`` of every module, also those inside
functions and under ``if TYPE_CHECKING:``.

The rules this test enforces:

1. ``jobs/``, ``layout/`` and ``gsdf/`` never import ``scp/``, ``scu/``, the composition root
   (``printserver.serve``) or the ``printserver`` command (``printserver.cli``); none of their
   modules imports a CLI module (``cli.py``, ``*_cli.py``) of another part, and a module of theirs
   that is not a CLI module imports no CLI module at all.
2. ``gsdf/`` imports nothing of ours but the vocabulary, as DESIGN says, and the error types:
   ``printserver.vocabulary`` and ``printserver.errors``, both leaves of the graph (``errors``
   imports nothing of ours, ``vocabulary`` only ``errors``), so that neither is a way up.
3. No import cycle between the modules of ``scp/``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "printserver"
LOWER_PARTS = ("printserver.jobs", "printserver.layout", "printserver.gsdf")
HIGHER = ("printserver.scp", "printserver.scu", "printserver.serve", "printserver.cli")
LEAVES = {"printserver.errors": set(), "printserver.vocabulary": {"printserver.errors"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module an imported name lives in: ``printserver.scp.printer`` for ``from
    printserver.scp import printer``, the package for a name defined in its ``__init__``."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def imports_of(module: str) -> set[str]:
    """Every module of ours that ``module`` imports, wherever in the file the import stands."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from .transport import y
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(_resolve(n) for n in names if n.split(".")[0] == "printserver")
    found.discard(module)
    found.discard("")
    return found


GRAPH = {module: imports_of(module) for module in MODULES}


def _in(module: str, part: str) -> bool:
    return module == part or module.startswith(part + ".")


def _is_cli(module: str) -> bool:
    last = module.rpartition(".")[2]
    return last == "cli" or last.endswith("_cli")


def _part(module: str) -> str:
    return module.rpartition(".")[0]


def edges() -> Iterator[tuple[str, str]]:
    for module, targets in GRAPH.items():
        for target in sorted(targets):
            yield module, target


def test_the_graph_is_read():
    # a sample of edges known to exist, so that a broken parser cannot pass every rule
    assert "printserver.jobs.store" in GRAPH["printserver.jobs.worker"]
    assert "printserver.scp.printer" in GRAPH["printserver.scp.handlers"]  # from pkg import mod
    assert "printserver.scp.transport.association" in GRAPH["printserver.scp.notifier"]
    assert len(GRAPH) > 80


@pytest.mark.parametrize("part", LOWER_PARTS)
def test_lower_parts_never_import_higher_ones_or_a_cli(part):
    wrong = [f"{m} -> {t}" for m, t in edges() if _in(m, part) and (
        any(_in(t, higher) for higher in HIGHER)
        or (_is_cli(t) and (_part(t) != _part(m) or not _is_cli(m))))]
    assert wrong == []


def test_gsdf_imports_only_the_vocabulary_and_the_errors():
    wrong = [f"{m} -> {t}" for m, t in edges() if _in(m, "printserver.gsdf")
             and not _in(t, "printserver.gsdf") and t not in LEAVES]
    assert wrong == []
    for leaf, allowed in LEAVES.items():
        assert GRAPH[leaf] <= allowed, leaf


def _cycle(graph: dict[str, set[str]], nodes: set[str]) -> list[str] | None:
    """One import cycle of ``graph`` among ``nodes`` (depth-first search), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node] & nodes):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(nodes):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_scp_modules():
    scp = {m for m in GRAPH if _in(m, "printserver.scp")}
    cycle = _cycle(GRAPH, scp)
    assert cycle is None, " -> ".join(cycle or ())


def test_the_cycle_finder_finds_one():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert _cycle(graph, set(graph)) == ["a", "b", "c", "a"]
    assert _cycle(graph, {"a", "b", "d"}) is None
