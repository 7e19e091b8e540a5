"""Imports point one way (DESIGN.md): no cycles between modules, and the apps depend as drawn.

Read from the source with `ast`, imports inside functions included: a cycle hidden in a function
is a cycle all the same.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "verification", "egress", "requests_app", "abuse")
PACKAGES = ("portal", *APPS)
# The apps each app may import (besides itself and the project package `portal`).
MAY_USE = {
    "accounts": set(),
    "verification": {"accounts"},
    "egress": {"accounts"},
    "requests_app": {"accounts", "verification", "egress"},
    "abuse": {"accounts", "verification", "egress"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def our_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    }


def imports_of(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """Our modules that `path` imports at run time, anywhere in it.

    `from x import y` counts x.y when that is a module (a sibling taken through its package), else x.
    Imports under `if TYPE_CHECKING:` do not run, and do not count.
    """
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(_without_type_checking(ast.parse(path.read_text(), filename=str(path)))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            submodules = {f"{base}.{alias.name}" for alias in node.names} & modules.keys()
            found.update(submodules if len(submodules) == len(node.names) else {base, *submodules})
    return {module for module in found if module in modules and module != name}


def _without_type_checking(tree: ast.Module) -> ast.Module:
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            node.body = []
    return tree


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imports_of(path, name, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_graph_is_read(graph):
    """The reader finds imports of every kind, so that the tests below can fail."""
    assert "egress.services" in graph["abuse.revocations"]  # from egress.services import ...
    assert "accounts.models" in graph["accounts.selectors"]
    assert "abuse.policy" in graph["abuse.backlog"]  # from abuse import policy


def test_a_sibling_through_its_package_counts_the_sibling_and_type_checking_imports_do_not(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nfrom verification.checks import reverse_dns\n"
        "if TYPE_CHECKING:\n    from abuse import policy\n"
    )
    modules = our_modules()

    assert imports_of(source, "verification.checks.probe", modules) == {"verification.checks.reverse_dns"}


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_itself_back(graph):
    assert cycles(graph) == []


def test_apps_depend_one_way(graph):
    wrong = sorted(
        f"{importer} imports {imported}"
        for importer, targets in graph.items()
        for imported in targets
        if (app := importer.split(".")[0]) in MAY_USE
        and (other := imported.split(".")[0]) in MAY_USE
        and other != app
        and other not in MAY_USE[app]
    )
    assert wrong == []
