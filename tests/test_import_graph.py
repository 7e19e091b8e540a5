"""Imports point one way (DESIGN.md): no cycles between modules, and the packages depend as drawn.

Read from the source with `ast`, imports inside functions included: a cycle hidden in a function
is a cycle all the same.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("accounts", "verification", "egress", "requests_app", "abuse")
# The project's top-level packages, each with the others it may import (besides itself):
# `common` is the floor and imports nothing of ours (settings come through django.conf);
# the apps import the apps drawn below them and `common`, never `operations` nor `portal`
# (Django reaches those by the strings in the settings); `operations` reads every app;
# `portal`, the configuration, routes to all of them.
MAY_USE = {
    "common": set(),
    "accounts": {"common"},
    "verification": {"common", "accounts"},
    "egress": {"common", "accounts", "nft_ruleset"},
    "requests_app": {"common", "accounts", "verification", "egress"},
    "abuse": {"common", "accounts", "verification", "egress"},
    "operations": {"common", *APPS},
    "portal": {"common", "operations", *APPS},
    # Deployed apart from the portal: the gateway service, and the ruleset it shares with `egress`.
    "nft_ruleset": set(),
    "gateway": {"nft_ruleset"},
}
STANDALONE = ("gateway", "nft_ruleset")
PACKAGES = tuple(MAY_USE)
# Top-level folders that are not packages of the running portal.
NOT_PORTAL = {"tests", "bench", "scripts", "deploy", "docs", "static", "templates", "var", "node_modules"}


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


def wrong_imports(graph: dict[str, set[str]]) -> list[str]:
    """Each import from one top-level package into another that MAY_USE does not allow."""
    return sorted(
        f"{importer} imports {imported}"
        for importer, targets in graph.items()
        for imported in targets
        if (package := importer.split(".")[0]) != (other := imported.split(".")[0])
        and other not in MAY_USE[package]
    )


def test_every_package_of_the_portal_is_held_to_a_rule():
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} - NOT_PORTAL
    assert packages - set(MAY_USE) == set(), "add the new package to MAY_USE, with what it may import"


def test_wrong_imports_are_found():
    graph = {
        "common.single_line": {"accounts.models", "portal.settings", "common.display_time"},
        "common.display_time": set(),
        "accounts.forms": {"common.single_line", "operations.metrics", "portal.celery"},
        "operations.broker": {"portal.celery", "egress.models"},
        "portal.urls": {"operations.readiness", "requests_app.api"},
        "egress.services": {"abuse.policy", "accounts.models"},
    }

    assert wrong_imports(graph) == [
        "accounts.forms imports operations.metrics",
        "accounts.forms imports portal.celery",
        "common.single_line imports accounts.models",
        "common.single_line imports portal.settings",
        "egress.services imports abuse.policy",
        "operations.broker imports portal.celery",
    ]


def test_packages_depend_one_way(graph):
    assert wrong_imports(graph) == []


def test_common_imports_nothing_of_ours_but_itself(graph):
    assert {imported for name, targets in graph.items() if name.startswith("common.") for imported in targets} <= {
        name for name in graph if name.startswith("common.")
    }


def test_no_app_imports_operations_or_portal(graph):
    assert [
        f"{importer} imports {imported}"
        for importer, targets in graph.items()
        for imported in targets
        if importer.split(".")[0] in APPS and imported.split(".")[0] in ("operations", "portal")
    ] == []


def _roots_imported(path: Path) -> set[str]:
    """The top-level names a module imports, ours or not (relative imports stay in the package)."""
    found = set()
    for node in ast.walk(_without_type_checking(ast.parse(path.read_text(), filename=str(path)))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_gateway_and_the_ruleset_stand_apart_from_the_portal():
    """The gateway runs on enforcement nodes with its own small requirements: no Django, no portal
    database or settings, nothing of the apps; the ruleset under it is shared with `egress`."""
    wrong = sorted(
        f"{path.relative_to(ROOT)} imports {root}"
        for package in STANDALONE
        for path in (ROOT / package).rglob("*.py")
        for root in _roots_imported(path)
        if root in {"django", "rest_framework", "celery", "kombu", "environ"}
    )
    assert wrong == []

