"""The documentation is tested: every ```python block runs, and the site builds with -W.

Each page's python blocks run in order in one namespace (as a reader would run
them), in a scratch directory. A page whose examples need plugins says so in a
MyST comment, invisible in the rendered page::

    % docs-test: requires vision:cnn text:text_transformer

and is skipped, naming what is missing, when those components are not installed.

A page that shows what its examples print says so too::

    % docs-test: check-output

Then its blocks run in page order: a ```text block right after a ```python block
is that block's printed output, and a ```console block whose commands are all
``jepa ...`` runs them through the CLI, each followed by its output. What they
print must match what the page shows (numbers within 0.01, as the last digit of
a probe score can move with the BLAS library); other console blocks (``pip
install``) are shown, not run.

The site shows what every other page's examples print: the docs build runs the
same blocks the same way (docs/_ext/jepa_docs.py) and puts the output under each.
No line of a code block is wider than the page (88 characters); ```text blocks,
outputs recorded from a command, are exempt.
"""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import jepa
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PYTHON_BLOCK = re.compile(r"^```python[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
REQUIRES = re.compile(r"^%[ \t]*docs-test:[ \t]*requires[ \t]+(.+)$", re.MULTILINE)
CHECK_OUTPUT = re.compile(r"^%[ \t]*docs-test:[ \t]*check-output[ \t]*$", re.MULTILINE)
ANY_BLOCK = re.compile(r"^```(python|console|text)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NUMBER = re.compile(r"-?\d+\.\d+")
FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*(.*?)[ \t]*$")
#: What fits the theme's content column without a sideways scroll bar.
CODE_WIDTH = 88


def pages() -> list[Path]:
    return sorted(
        path for path in DOCS.rglob("*.md") if not {"_build", "_generated"} & set(path.relative_to(DOCS).parts)
    )


def python_blocks(text: str) -> list[tuple[int, str]]:
    """``(line number, code)`` of each ```python block."""
    return [(text.count("\n", 0, match.start(1)) + 1, match.group(1)) for match in PYTHON_BLOCK.finditer(text)]


def missing_requirements(text: str) -> list[str]:
    wanted = [name for line in REQUIRES.findall(text) for name in line.split()]
    return [name for name in wanted if not jepa.list_components(pattern=name)]


def checked_blocks(text: str) -> list[tuple[int, str, str, str | None]]:
    """``(line, kind, code, expected output)`` of the python and console blocks of a
    check-output page, in page order; a python block's expected output is the text
    block right after it (None when there is none)."""
    found = list(ANY_BLOCK.finditer(text))
    blocks = []
    for index, match in enumerate(found):
        kind, code = match.group(1), match.group(2)
        if kind == "text":
            continue
        expected = None
        following = found[index + 1] if index + 1 < len(found) else None
        if (
            kind == "python"
            and following is not None
            and following.group(1) == "text"
            and not text[match.end() : following.start()].strip()
        ):
            expected = following.group(2)
        blocks.append((text.count("\n", 0, match.start(2)) + 1, kind, code, expected))
    return blocks


def console_commands(block: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for each ``$ command`` line of a console block."""
    commands: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            commands.append((line[2:], []))
        elif commands:
            commands[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in commands]


def same_output(actual: str, expected: str) -> bool:
    """The same lines, numbers within 0.01 of each other."""
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]
    want = [line.rstrip() for line in expected.strip("\n").splitlines()]
    if len(got) != len(want):
        return False
    for line, wanted in zip(got, want, strict=True):
        if NUMBER.sub("#", line) != NUMBER.sub("#", wanted):
            return False
        pairs = zip(NUMBER.findall(line), NUMBER.findall(wanted), strict=True)
        if any(abs(float(a) - float(b)) > 0.01 for a, b in pairs):
            return False
    return True


def test_the_output_checker_reads_pages_and_tolerates_the_last_digit() -> None:
    text = (
        "```python\nprint(1)\n```\n\n```text\n1\n```\n\n```console\n$ pip install x\n```\n"
        "```console\n$ jepa --version\njepa 0.1\n$ jepa list\n```\n"
    )
    blocks = checked_blocks(text)
    assert [(kind, expected) for _, kind, _, expected in blocks] == [
        ("python", "1\n"),
        ("console", None),
        ("console", None),
    ]
    assert console_commands(blocks[2][2]) == [("jepa --version", "jepa 0.1"), ("jepa list", "")]
    assert same_output("jepa   0.483 ± 0.049\n", "jepa   0.480 ± 0.050")
    assert not same_output("jepa   0.483 ± 0.049", "jepa   0.583 ± 0.049")
    assert not same_output("jepa   0.483", "jepa   0.483\nraw    0.890")
    assert not same_output("random 0.483", "jepa   0.483")


def run_checked_page(page: Path, text: str, namespace: dict[str, object]) -> None:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        from jepa_docs import run_cli
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    for line, kind, code, expected in checked_blocks(text):
        where = f"{page.relative_to(ROOT)}:{line}"
        if kind == "python":
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(compile(code, where, "exec"), namespace)  # noqa: S102 (the docs' own code)
            if expected is not None:
                assert same_output(printed.getvalue(), expected), (
                    f"{where} prints\n{printed.getvalue()}\nbut the page shows\n{expected}"
                )
            continue
        commands = console_commands(code)
        if not commands or not all(command.startswith("jepa ") for command, _ in commands):
            continue  # an install line or the like: shown, not run
        for command, shown in commands:
            status, output = run_cli(command)
            assert status == 0, f"{where}: `{command}` failed:\n{output}"
            assert same_output(output, shown), f"{where}: `{command}` prints\n{output}\nbut the page shows\n{shown}"


def wide_code_lines(text: str, limit: int = CODE_WIDTH) -> list[tuple[int, int]]:
    """``(line number, length)`` of each line over ``limit`` inside a fenced code
    block, ```text blocks (recorded outputs) and directives (```{figure}) excepted."""
    wide, fence, checked = [], "", False
    for number, line in enumerate(text.splitlines(), 1):
        match = FENCE.match(line)
        if not fence:
            if match:
                fence, info = match.group(1), match.group(2)
                checked = not info.startswith("{") and info.split()[:1] != ["text"]
            continue
        if match and match.group(1).startswith(fence) and not match.group(2):
            fence = ""
            continue
        if checked and len(line) > limit:
            wide.append((number, len(line)))
    return wide


def test_the_width_check_reads_code_blocks_only() -> None:
    long = "x" * 89
    text = (
        f"{long}\n```python\nok = 1\n{long}\n```\n```text\n{long}\n```\n"
        f"```{{figure}} a.png\n:alt: {long}\n```\n````console\n```\n{long}\n````\n"
    )
    assert wide_code_lines(text) == [(4, 89), (14, 89)]


def test_no_code_line_is_wider_than_the_page() -> None:
    wide = [
        f"{page.relative_to(ROOT)}:{number} ({length} characters)"
        for page in pages()
        for number, length in wide_code_lines(page.read_text(encoding="utf-8"))
    ]
    assert not wide, (
        f"code lines wider than {CODE_WIDTH} characters scroll sideways on the site; wrap them:\n" + "\n".join(wide)
    )


def _extension() -> object:
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        import jepa_docs
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return jepa_docs


def _page(path: Path, *blocks: tuple[str, str]) -> tuple[object, list[object]]:
    """A doctree of ``(language or "comment", text)`` blocks read from ``path``."""
    from docutils import nodes
    from docutils.utils import new_document

    document = new_document(str(path))
    section = nodes.section()
    document += section
    made = []
    for language, text in blocks:
        node = (
            nodes.comment(text, text) if language == "comment" else nodes.literal_block(text, text, language=language)
        )
        node.source, node.line = str(path), len(made) + 1
        section += node
        made.append(node)
    return document, made


def test_the_build_shows_what_each_block_prints(tmp_path: Path) -> None:
    """docs/_ext/jepa_docs.py runs a page's python blocks in order in one namespace
    and puts each one's output (a child process's too) under it, once."""
    extension = _extension()
    page = tmp_path / "page.md"
    page.write_text("a page\n", encoding="utf-8")
    document, (first, second, shown, child, stop, never) = _page(
        page,
        ("python", "x = 21\nprint(x * 2)"),
        ("python", "print(x)"),
        ("text", "21"),
        ("python", "import subprocess, sys\nsubprocess.run([sys.executable, '-c', 'print(7)'], check=True)"),
        ("comment", extension.NO_RUN),
        ("python", "print('the build ran a block marked no-run')"),
    )

    class App:
        srcdir = str(tmp_path)

    extension.insert_outputs(App(), document)
    blocks = list(document.findall(lambda node: getattr(node, "tagname", "") == "literal_block"))
    following = {id(node): blocks[index + 1] for index, node in enumerate(blocks[:-1])}
    assert following[id(first)].astext() == "42" and extension.OUTPUT_CLASS in following[id(first)]["classes"]
    assert following[id(second)] is shown  # the page shows its output: not a second time
    assert following[id(child)].astext() == "7"
    assert following[id(child)] is not never and blocks[-1] is never  # the no-run block did not run
    assert stop.astext() == extension.NO_RUN


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
    if CHECK_OUTPUT.search(text):
        run_checked_page(page, text, namespace)
        return
    for line, code in blocks:
        exec(compile(code, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)  # noqa: S102 (the docs' own code)


PLUGIN_READMES = sorted(ROOT.glob("jepa_plugins_*/README.md"))
#: Modules a plugin README's examples import beyond the plugin itself (its extras).
README_NEEDS = {"jepa_plugins_text": ["tokenizers"]}


@pytest.mark.parametrize("readme", PLUGIN_READMES, ids=lambda path: path.parent.name)
def test_every_python_block_of_a_plugin_readme_runs(
    readme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    from a package index (``pip install jepa-plugins-x`` or ``pip install 'jepa-plugins-x[extra]'``)."""
    from jepa_core.first_party import SCOPES, STARTERS
    from jepa_core.first_party import index_install_command as install_command

    distribution = SCOPES[readme.parent.name.removeprefix("jepa_plugins_")]
    lines = re.findall(r"^(pip install .*?)(?:\s+#.*)?$", readme.read_text(encoding="utf-8"), re.MULTILINE)
    assert install_command(distribution) in lines
    for line in lines:
        extras = re.fullmatch(rf"pip install (?:{distribution}|'{distribution}\[([a-z,]+)\]')", line)
        assert extras is not None and line == install_command(distribution, extras.group(1) or ""), line
    templates = readme.parent / "src" / readme.parent.name / "templates"
    for starter, (owner, extras) in STARTERS.items():  # a starter's "# Needs:" line is the hint's command
        if owner == distribution and extras:
            text = (templates / f"{starter}.yaml").read_text(encoding="utf-8")
            assert f"# Needs: {install_command(owner, extras)}" in text
    for template in templates.glob("*.yaml"):  # jepa init names every starter, its plugin blocked or not
        assert STARTERS.get(template.stem, ("",))[0] == distribution, f"{template.stem} is not in STARTERS"


def test_multimodal_example_script_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    if missing_requirements("% docs-test: requires vision:cnn vision:digits text:text_transformer"):
        pytest.skip("needs jepa-plugins-vision and jepa-plugins-text")
    pytest.importorskip("sklearn")
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    import multimodal_digits

    results = multimodal_digits.main(["--steps", "2", "--batch-size", "16"])
    assert results["steps"] == 2
    assert set(results) >= {"accuracy_before", "accuracy_after"}  # the example reports both probes


def test_the_site_builds_without_warnings(tmp_path: Path) -> None:
    """What `make docs` runs, into a scratch directory; warnings are errors."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    reference = (DOCS / "_generated" / "components.md").read_text(encoding="utf-8")
    for component in jepa.list_components():
        if component.scope == "local":  # registered by a docs page in this process, not installed
            continue
        assert f"`{component.qualname}`" in reference, f"{component.qualname} is missing from the reference"
    for page in ("index", "configuration", "cli", "api", "guides/multimodal"):
        assert (tmp_path / "html" / f"{page}.html").is_file()
    html = {
        page: (tmp_path / "html" / f"{page}.html").read_text(encoding="utf-8")
        for page in ("quickstart", "concepts", "benchmarks", "guides/pretrained")
    }
    # what the examples print, under them: run at build time, or shown by the page itself (once)
    assert html["quickstart"].count('class="jepa-output') >= 5
    assert "['config.json', 'model.safetensors']" in unescape(html["quickstart"])
    if "jepa-output" in html["guides/pretrained"]:  # built with its requirements installed
        assert html["guides/pretrained"].count("32 16 (4, 4) (4, 4)") == 1
    # the pictures, each with alt text: every installed masker's masks, the training plot
    images = tmp_path / "html" / "_images"
    assert (images / "training.png").is_file()
    for component in jepa.list_components("masker"):
        name = re.sub(r"[^a-z0-9]+", "-", component.qualname.lower()).strip("-")
        assert (images / f"masks-{name}.png").is_file(), f"no picture of the {component.qualname} masker"
        assert f"masks-{name}.png" in html["concepts"]
    if (ROOT / "benchmarks" / "results" / "results.json").is_file():
        assert "benchmarks-quality.png" in html["benchmarks"]
    for page in sorted((tmp_path / "html").rglob("*.html")):
        for tag in re.findall(r"<img [^>]*_images/[^>]*>", page.read_text(encoding="utf-8")):
            assert re.search(r'alt="[^"]{10,}"', tag), f"{page.name}: a picture without alt text: {tag}"
