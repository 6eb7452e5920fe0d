"""The first-party plugins are written as a third-party plugin is.

They import only the public ``jepa`` package (never ``jepa_core``), declare
``JEPA_PLUGIN_API`` in their entry-point module, take ``__version__`` from their
distribution's metadata and ship ``py.typed``, as ``jepa new-plugin`` writes a
plugin. And the public face depends on the implementation, never the reverse.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import jepa
import pytest
from packaging.specifiers import SpecifierSet

try:
    import tomllib
except ImportError:  # Python 3.10: pyproject.toml is read with tomli where it is installed
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = sorted(path.parent for path in ROOT.glob("jepa_plugins_*/pyproject.toml"))
PUBLIC_MODULES = ("jepa", "jepa.contracts", "jepa.layers", "jepa.limits", "jepa.evaluation", "jepa.testing")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import in the file at ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.extend([(node.lineno, node.module)])
    return found


def imports_of(paths: list[Path], package: str) -> list[str]:
    """``file:line: import`` for each import of ``package`` (or a submodule) in ``paths``."""
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in paths
        for line, module in imported_modules(path)
        if module == package or module.startswith(package + ".")
    ]


def plugin_project(root: Path) -> dict:
    with open(root / "pyproject.toml", "rb") as file:
        return tomllib.load(file)


def plugin_package(root: Path) -> Path:
    return root / "src" / root.name


def test_there_are_first_party_plugins() -> None:
    assert [root.name for root in PLUGINS] == ["jepa_plugins_text", "jepa_plugins_timeseries", "jepa_plugins_vision"]


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_imports_only_the_public_package(root: Path) -> None:
    sources = sorted(plugin_package(root).rglob("*.py"))
    assert sources
    offending = imports_of(sources, "jepa_core")
    assert not offending, "first-party plugins import `jepa` (the public API), not jepa_core:\n" + "\n".join(offending)


def test_the_implementation_never_imports_the_public_face() -> None:
    sources = sorted((ROOT / "jepa_core" / "src" / "jepa_core").rglob("*.py"))
    offending = imports_of(sources, "jepa")
    assert not offending, "jepa imports jepa_core, never the reverse:\n" + "\n".join(offending)


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_declares_the_plugin_api(root: Path) -> None:
    entry_points = plugin_project(root)["project"]["entry-points"]["jepa.plugins"]
    assert len(entry_points) == 1
    module = next(iter(entry_points.values()))
    path = root / "src" / (module.replace(".", "/") + ".py")
    declared = [
        node.value.value
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.Assign)
        and [getattr(target, "id", None) for target in node.targets] == ["JEPA_PLUGIN_API"]
        and isinstance(node.value, ast.Constant)
    ]
    assert declared, f"{path.relative_to(ROOT)} does not declare JEPA_PLUGIN_API = '>=1,<2'"
    assert jepa.PLUGIN_API_VERSION in SpecifierSet(declared[0])
    assert importlib.import_module(module).JEPA_PLUGIN_API == declared[0]


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_ships_py_typed(root: Path, tmp_path: Path) -> None:
    assert (plugin_package(root) / "py.typed").is_file()
    # built for real, as the scaffold test builds a new plugin: the wheel carries the marker
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(root),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert f"{root.name}/py.typed" in archive.namelist()


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_version_comes_from_its_metadata(root: Path) -> None:
    project = plugin_project(root)["project"]
    package = importlib.import_module(root.name)
    assert package.__version__ == importlib.metadata.version(project["name"]) == project["version"]
    source = (plugin_package(root) / "__init__.py").read_text(encoding="utf-8")
    assert f'__version__ = "{project["version"]}"' not in source  # one version source: pyproject.toml


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_modules_export_what_they_list(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__
    missing = [item for item in module.__all__ if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ lists names it does not have: {missing}"
    if name != "jepa":
        assert getattr(jepa, name.split(".")[1]) is module or name == "jepa.testing"


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_tests_are_named_as_the_scaffold_names_them(root: Path) -> None:
    # `jepa new-plugin` writes tests/test_plugin.py running the conformance suite; the
    # first-party plugins' tests live in tests/<scope>/ with the suite in test_conformance.py
    scope = next(iter(plugin_project(root)["project"]["entry-points"]["jepa.plugins"]))
    tests = ROOT / "tests" / scope
    assert (tests / "test_plugin.py").is_file()
    suite = tests / "test_conformance.py"
    assert re.search(rf'conformance_suite\(\s*"{scope}"', suite.read_text(encoding="utf-8"))
    prefixed = sorted(path.name for path in tests.glob(f"test_{scope}_*.py"))
    assert not prefixed, f"tests/{scope}/ already names the plugin; drop the prefix: {prefixed}"


#: The sections of a plugin README, in order: those `jepa new-plugin` writes.
README_SECTIONS = ["Install", "Components", "Usage", "Tests"]


def sections(readme: Path) -> list[str]:
    """The ``##`` headings of ``readme`` that are among :data:`README_SECTIONS`, in order."""
    text = re.sub(r"^```.*?^```", "", readme.read_text(encoding="utf-8"), flags=re.M | re.S)  # not in code
    return [title for title in re.findall(r"^## (.+?)\s*$", text, re.M) if title in README_SECTIONS]


def test_the_scaffold_readme_has_the_plugin_sections(tmp_path: Path) -> None:
    from jepa_core.scaffold import scaffold_plugin

    root = scaffold_plugin("jepa-sections", tmp_path / "jepa-sections")
    assert sections(root / "README.md") == README_SECTIONS
    assert (root / "tests" / "test_plugin.py").is_file()


@pytest.mark.parametrize("root", PLUGINS, ids=lambda root: root.name)
def test_plugin_readme_has_the_scaffold_sections(root: Path) -> None:
    assert sections(root / "README.md") == README_SECTIONS
