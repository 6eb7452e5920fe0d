"""jepa_core's modules depend on each other one way.

The module-level imports between jepa_core's modules form no cycle, so each module
can be read (and imported) knowing only the ones below it. An import inside a
function hides a dependency from that picture: the few that stay are listed here,
each with the reason beside it in the code (start-up time: torch, pydantic or the
plugin machinery loaded only when needed). A new one fails until it is listed, and
a listed one that is gone fails until it is struck off.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "jepa_core" / "src" / "jepa_core"

#: ``(module, function, imported module)`` of every import of a jepa_core module made
#: inside a function; each carries a comment on its line or the line above.
ALLOWED_FUNCTION_IMPORTS = {
    # the plugin loader comes in on the first registry query, not at `import jepa`
    ("registry", "_new_loader", "discovery"),
    # torch-free at import: `jepa new-plugin` writes its files through this module
    ("persistence", "load", "devices"),
    # the CLI loads torch and the engine only for the commands that use them
    ("cli", "_plugins", "discovery"),
    ("cli", "_describe", "api"),
    ("cli", "_train", "runs"),
    ("cli", "_train", "training"),
    ("cli", "_eval", "runs"),
    ("cli", "_init", "runs"),
    ("cli", "_missing_starter_hints", "runs"),
    ("cli", "_init_epilog", "runs"),
    ("cli", "_new_plugin", "scaffold"),
    # jepa-core's pytest11 plugin, imported by every pytest session
    ("testing", "_registry", "registry"),
    ("testing", "test_schema_is_json", "api"),
    ("testing", "test_encoder_save_load_round_trip", "api"),
    ("testing", "test_encoder_save_load_round_trip", "model"),
    ("testing", "test_starter_configs_are_run_configs", "runs"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> set[str]:
    """The jepa_core modules (names relative to the package) that ``node`` imports."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: resolve against the importing module's package
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            base = ".".join(["jepa_core", *anchor[: len(anchor) - node.level + 1], *filter(None, [base])])
        # `from a import b`: the module a.b, or the name b of module a
        names = [f"{base}.{alias.name}" if _short(f"{base}.{alias.name}") in MODULES else base for alias in node.names]
    return {_short(name) for name in names if name.split(".")[0] == "jepa_core"} - {module}


def _short(name: str) -> str:
    """``jepa_core.x.y`` as ``x.y``; the package itself is ``""``."""
    return name.removeprefix("jepa_core").removeprefix(".")


def is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def scan() -> tuple[dict[str, set[str]], list[tuple[str, str, str, int]]]:
    """The module-level import graph, and ``(module, function, imported, line)`` of each
    import made inside a function (imports only a type checker runs are left out)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    inner: list[tuple[str, str, str, int]] = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, function in _walk(tree, None):
            for target in imported(node, module, path.name == "__init__.py"):
                if function is None:
                    graph[module].add(target)
                else:
                    inner.append((module, function, target, node.lineno))
    return graph, inner


def _walk(node: ast.AST, function: str | None) -> Iterator[tuple[ast.Import | ast.ImportFrom, str | None]]:
    """Each import under ``node`` with the outermost function it is in (None: module level)."""
    for child in ast.iter_child_nodes(node):
        if is_type_checking(child):
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            yield child, function
        inside = isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and function is None
        yield from _walk(child, child.name if inside else function)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_module_level_imports_have_no_cycle() -> None:
    graph, _ = scan()
    assert graph["model"] and graph["registry"], "the scan found no imports; is PACKAGE right?"
    assert cycles(graph) == [], "these jepa_core modules import each other at module level"


def test_function_level_imports_are_the_listed_ones() -> None:
    _, inner = scan()
    found = {(module, function, target) for module, function, target, _ in inner}
    unlisted = sorted(
        f"jepa_core/{MODULES[m].relative_to(PACKAGE)}:{line}: {f} imports {t}"
        for m, f, t, line in inner
        if (m, f, t) not in ALLOWED_FUNCTION_IMPORTS
    )
    assert not unlisted, (
        "import these at module level (move code so that the dependency runs one way), or, where "
        "it buys start-up time, say so in a comment and list it in ALLOWED_FUNCTION_IMPORTS:\n" + "\n".join(unlisted)
    )
    assert not ALLOWED_FUNCTION_IMPORTS - found, "no longer imported inside a function; strike off the list"


def test_each_function_level_import_says_why() -> None:
    _, inner = scan()
    silent = []
    for module, function, target, line in inner:
        lines = MODULES[module].read_text(encoding="utf-8").splitlines()[:line]
        while len(lines) > 1 and lines[-2].lstrip().startswith(("from ", "import ")):  # one comment per group
            lines.pop(-2)
        if "#" not in lines[-1] and not lines[-2].lstrip().startswith("#"):
            silent.append(f"jepa_core/{MODULES[module].relative_to(PACKAGE)}:{line}: {function} imports {target}")
    assert not silent, "say beside each import inside a function why it is there:\n" + "\n".join(silent)


def test_the_scan_sees_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
