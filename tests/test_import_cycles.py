"""No module of the package imports, directly or through others, a module that imports it.

Every import counts: at the top, inside a function, and under ``if TYPE_CHECKING:`` -- a
cycle means two modules cannot be read, or changed, on their own.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import workos_orgs

PACKAGE = Path(workos_orgs.__file__).parent
ROOT = PACKAGE.name


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, modules: set[str]) -> Iterator[str]:
    """Every module of the package that the file at `path` imports."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            # `from . import x` imports the submodule x when there is one, else a name of the package.
            targets = [
                f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source for alias in node.names
            ]
        else:
            continue
        for target in targets:
            if target in modules and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): set(imported(path, modules)) for path in paths}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_graph_sees_every_kind_of_import() -> None:
    graph = import_graph()
    assert f"{ROOT}._client" in graph[ROOT]  # `from ._client import AsyncWorkOS`
    assert f"{ROOT}._organizations" in graph[f"{ROOT}._client"]
    assert f"{ROOT}._errors" in graph[f"{ROOT}._response"]
    assert f"{ROOT}.emulator._routes" in graph[f"{ROOT}.emulator._api"]  # `from . import _routes as routes`
    assert f"{ROOT}.emulator" not in graph[f"{ROOT}.emulator._api"]


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_package_has_no_import_cycle() -> None:
    found = sorted(cycles(import_graph()))
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(group) for group in found)
