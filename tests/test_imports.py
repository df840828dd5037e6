"""The product's import graph: no circle anywhere, and chat's domain apart from its runtime.

Imports are read from the source with `ast`, at module level and inside functions alike (an
import moved into a function still ties the two modules together).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("courses", "students", "chat", "educa")
CHAT_DOMAIN = ("chat.models", "chat.services", "chat.selectors", "chat.events")
CHAT_RUNTIME = "chat.runtime"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PRODUCT_PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name the module imports, relative imports resolved; `from a import b` gives
    both `a` and `a.b` (the caller keeps those that are modules)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module
            names.add(source)
            names.update(f"{source}.{alias.name}" for alias in node.names)
    return names


def import_graph() -> dict[str, set[str]]:
    """Module -> the product modules it imports."""
    modules = product_modules()
    graph = {}
    for module, path in modules.items():
        targets = set()
        for name in imported_names(module, path):
            # `from a import b` imports the module a.b when there is one, else a name of a.
            if name in modules:
                targets.add(name)
        targets.discard(module)
        graph[module] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle of modules per strongly connected group (Tarjan), each as a closed path."""
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
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(circle_in(graph, group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def circle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A path from the group's first module back to itself, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    raise AssertionError(f"no circle through {start}")


def test_the_graph_reader_sees_relative_and_function_level_imports():
    graph = import_graph()
    # chat/consumers.py: `from . import selectors, services` and `from .runtime.socket import`.
    assert {"chat.selectors", "chat.services", "chat.runtime.socket"} <= graph["chat.consumers"]
    # chat/apps.py imports its receivers inside ready().
    assert "chat.receivers" in graph["chat.apps"]


def test_a_circle_is_found_and_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c", "a"]]


def test_product_modules_import_each_other_without_a_circle():
    found = cycles(import_graph())
    assert found == [], "import circles: " + "; ".join(" -> ".join(cycle) for cycle in found)


def test_chats_domain_imports_nothing_of_its_runtime():
    graph = import_graph()
    offending = {
        module: sorted(target for target in graph[module] if target.startswith(CHAT_RUNTIME))
        for module in CHAT_DOMAIN
    }
    assert {module: targets for module, targets in offending.items() if targets} == {}
