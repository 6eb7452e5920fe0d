"""The documentation is tested: every ```python block runs, and the site builds with -W.

Each page's python blocks run in order in one namespace (as a reader would run
them), in a scratch directory. A page whose examples need plugins says so in a
MyST comment, invisible in the rendered page::

    % docs-test: requires vision:cnn text:text_transformer

and is skipped, naming what is missing, when those components are not installed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jepa
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
REQUIRES = re.compile(r"^%[ \t]*docs-test:[ \t]*requires[ \t]+(.+)$", re.MULTILINE)


def pages() -> list[Path]:
    return sorted(
        path for path in DOCS.rglob("*.md")
        if not {"_build", "_generated"} & set(path.relative_to(DOCS).parts)
    )


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each ```python block."""
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(text)]


def missing_requirements(text: str) -> list[str]:
    wanted = [name for line in REQUIRES.findall(text) for name in line.split()]
    return [name for name in wanted if not jepa.list_components(pattern=name)]


def test_the_extractor_reads_blocks_and_requirements() -> None:
    text = "intro\n\n```python\nx = 1\n```\n\n% docs-test: requires jepa:mlp nowhere:thing\n```python\ny = x\n```\n"
    assert python_blocks(text) == [(4, "x = 1\n"), (9, "y = x\n")]
    assert missing_requirements(text) == ["nowhere:thing"]


@pytest.mark.parametrize("page", pages(), ids=lambda path: str(path.relative_to(DOCS)))
def test_every_python_block_runs(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = page.read_text(encoding="utf-8")
    blocks = python_blocks(text)
    if not blocks:
        pytest.skip("no python blocks on this page")
    missing = missing_requirements(text)
    if missing:
        pytest.skip(f"{page.name} needs components that are not installed: {', '.join(missing)}")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT / "examples"))  # guides may import the example scripts
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for line, code in blocks:
        exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)  # noqa: S102 (the docs' own code)


PLUGIN_READMES = sorted(ROOT.glob("jepa_plugins_*/README.md"))
#: Modules a plugin README's examples import beyond the plugin itself (its extras).
README_NEEDS = {"jepa_plugins_text": ["tokenizers"]}


@pytest.mark.parametrize("readme", PLUGIN_READMES, ids=lambda path: path.parent.name)
def test_every_python_block_of_a_plugin_readme_runs(readme: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's README runs as written, its blocks in order in one namespace (as a
    reader would paste them), in a scratch directory."""
    scope = readme.parent.name.removeprefix("jepa_plugins_")
    if not jepa.list_components(pattern=f"{scope}:*"):
        pytest.skip(f"the {scope} plugin is not installed")
    for module in README_NEEDS.get(readme.parent.name, []):
        pytest.importorskip(module)
    blocks = python_blocks(readme.read_text(encoding="utf-8"))
    assert blocks, f"{readme.relative_to(ROOT)} shows no python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"readme_{scope}"}
    for line, code in blocks:
        exec(compile(code, f"{readme.relative_to(ROOT)}:{line}", "exec"), namespace)  # noqa: S102 (the README's code)


@pytest.mark.parametrize("readme", PLUGIN_READMES, ids=lambda path: path.parent.name)
def test_plugin_readmes_install_in_the_form_the_hints_use(readme: Path) -> None:
    """Every install line of a plugin README is the command jepa's own hints print
    (``pip install jepa-plugins-x`` or ``pip install 'jepa-plugins-x[extra]'``)."""
    from jepa_core.first_party import SCOPES, STARTERS, install_command

    distribution = SCOPES[readme.parent.name.removeprefix("jepa_plugins_")]
    lines = re.findall(r"^(pip install .*?)(?:\s+#.*)?$", readme.read_text(encoding="utf-8"), re.MULTILINE)
    assert install_command(distribution) in lines
    for line in lines:
        extras = re.fullmatch(rf"pip install (?:{distribution}|'{distribution}\[([a-z,]+)\]')", line)
        assert extras is not None and line == install_command(distribution, extras.group(1) or ""), line
    for starter, (owner, extras) in STARTERS.items():  # a starter's "# Needs:" line is the hint's command
        template = readme.parent / "src" / readme.parent.name / "templates" / f"{starter}.yaml"
        if owner == distribution and extras:
            assert f"# Needs: {install_command(owner, extras)}" in template.read_text(encoding="utf-8")


def test_multimodal_example_script_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    if missing_requirements("% docs-test: requires vision:cnn vision:digits text:text_transformer"):
        pytest.skip("needs jepa-plugins-vision and jepa-plugins-text")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import multimodal_digits

    results = multimodal_digits.main(["--steps", "2", "--batch-size", "16"])
    assert 0.0 <= results["accuracy_after"] <= 1.0


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    """What `make docs` runs, into a scratch directory; warnings are errors."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (DOCS / "_generated" / "components.md").read_text(encoding="utf-8")
    for component in jepa.list_components():
        if component.scope == "local":  # registered by a docs page in this process, not installed
            continue
        assert f"`{component.qualname}`" in reference, f"{component.qualname} is missing from the reference"
    for page in ("index", "configuration", "cli", "api", "guides/multimodal"):
        assert (tmp_path / "html" / f"{page}.html").is_file()
