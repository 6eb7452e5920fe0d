"""Shared fixtures: a fresh registry, and real fixture plugin distributions.

Fixture plugins under ``tests/fixtures/plugins/`` are real distributions: the
``installed_plugins`` fixture pip-installs them (once per session, each into its
own target directory) and puts the chosen ones on ``sys.path``, so that
``importlib.metadata`` finds their entry points exactly as for any installed package.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from jepa_core.registry import get_registry

FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"

# A suite started in the background (`make test &`) inherits an ignored SIGINT, which Python
# then never turns into KeyboardInterrupt, here or in the commands the tests start (they
# inherit it too): the Ctrl-C tests need Ctrl-C to be what it is at a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def fresh_registry() -> Iterator:
    """The process registry, emptied before and after the test (rediscovered lazily)."""
    registry = get_registry()
    registry.reset()
    yield registry
    registry.reset()


@pytest.fixture(scope="session")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``plugin_site(name, copy=0)`` -> a directory where fixture plugin ``name`` is
    installed (``copy`` > 0 gives further, separate installations of it)."""
    built: dict[tuple[str, int], Path] = {}

    def install(name: str, copy: int = 0) -> Path:
        if (name, copy) not in built:
            target = tmp_path_factory.mktemp(f"site-{name}-{copy}")
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-deps",
                    "--no-build-isolation",
                    "--no-index",
                    "--target",
                    str(target),
                    str(FIXTURE_PLUGINS / name),
                ],
                check=True,
                env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
            )
            built[name, copy] = target
        return built[name, copy]

    return install


@pytest.fixture
def installed_plugins(plugin_site, fresh_registry, monkeypatch) -> Callable[..., list[str]]:
    """``installed_plugins("good", "clash_a")`` makes those fixture distributions
    importable and discoverable for this test; returns the site directories."""

    def install(*names: str) -> list[str]:
        # "good#1" is a second installation of the fixture "good"
        sites = [str(plugin_site(*((n.split("#")[0], int(n.split("#")[1])) if "#" in n else (n,)))) for n in names]
        for site in sites:
            monkeypatch.syspath_prepend(site)
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*sites, os.environ.get("PYTHONPATH", "")]))
        fresh_registry.reset()
        return sites

    return install


@pytest.fixture
def remote_code_dir(tmp_path: Path) -> tuple[Path, Path]:
    """``(directory, marker)``: a model directory whose config.json maps its classes
    (``auto_map``) to a local .py payload that, if anything ever imports it, writes
    ``marker``. Its model_type is none transformers knows, so only that code could load it."""
    directory = tmp_path / "remote-model"
    directory.mkdir()
    marker = tmp_path / "payload-ran"
    (directory / "config.json").write_text(
        '{"model_type": "jepa-test-remote", "hidden_size": 8, '
        '"auto_map": {"AutoConfig": "payload.Config", "AutoModel": "payload.Model"}}\n'
    )
    (directory / "payload.py").write_text(f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n")
    return directory, marker


@pytest.fixture
def run_answering_yes(tmp_path: Path) -> Callable[[str], subprocess.CompletedProcess[str]]:
    """``run(code)``: ``code`` in a fresh interpreter whose stdin is a pipe answering
    ``y`` to any prompt, with transformers' module cache and hub kept in ``tmp_path``."""
    env = {
        **os.environ,
        "HF_MODULES_CACHE": str(tmp_path / "hf-modules"),
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf-home"),
    }

    def run(code: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", code], input="y\ny\ny\n", env=env, capture_output=True, text=True, timeout=300
        )

    return run
