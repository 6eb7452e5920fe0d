"""``jepa new-plugin NAME``: a plugin distribution that installs, registers and tests."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from pathlib import Path

from jepa_core import __version__
from jepa_core.errors import SpecError
from jepa_core.first_party import ENTRY_POINT_GROUP, FIRST_PARTY_SCOPES, PACKAGES
from jepa_core.hookspecs import PLUGIN_API_VERSION
from jepa_core.persistence import atomic_write_dir
from jepa_core.registry import RESERVED_SCOPES

PYPROJECT = """\
[build-system]
requires = ["hatchling>=1.21"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.1.0"
description = "A jepa plugin: {package}."
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["jepa-core>={core_floor},<{core_ceiling}", "torch>=2.2"]

[project.optional-dependencies]
test = ["pytest>=8"]

# jepa finds the plugin through this entry point; its name is the plugin's scope
[project.entry-points."jepa.plugins"]
{scope} = "{package}.plugin"

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]
"""

INIT = '''\
"""{dist}: a jepa plugin."""

from importlib.metadata import PackageNotFoundError, version

try:  # one version source: the distribution's metadata (pyproject.toml)
    __version__ = version("{dist}")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"
'''

PLUGIN = '''\
"""jepa plugin {scope!r}: registers its components with jepa."""

from __future__ import annotations

import torch
from torch import nn

import jepa

# the plugin API versions this plugin was written for (checked when jepa loads it)
JEPA_PLUGIN_API = ">={api},<{next_api}"


# instances remember their arguments, so a model holding one built directly saves and loads
@jepa.capture_arguments
class ExampleEncoder(nn.Module):
    """A two-layer MLP encoder over feature vectors (replace with your own)."""

    num_tokens = None  # pooled output; token encoders give their token count here
    grid = None

    def __init__(
        self,
        input_dim: jepa.limits.Features = 16,  # bounded sizes: a huge value is a SpecError, not a MemoryError
        hidden_dim: jepa.limits.Width = 64,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.embed_dim = hidden_dim  # build() wires this width into the predictor
        self.net = nn.Sequential(nn.Linear(input_dim, hidden_dim), nn.GELU(), nn.Linear(hidden_dim, hidden_dim))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:  # masked training passes the indices of the tokens to keep
            raise ValueError("this encoder gives one vector per sample, no tokens to mask: use it without a masker")
        return self.net(x)

    def example_input(self, batch_size: int) -> torch.Tensor:
        """A batch this encoder accepts (the conformance suite uses it)."""
        return torch.randn(batch_size, self.input_dim)


@jepa.hookimpl
def jepa_register(registry) -> None:
    registry.add("encoder", "{scope}_encoder", ExampleEncoder)
'''

TESTS = '''\
"""The jepa conformance suite checks every component this plugin registers."""

import torch

import jepa
from jepa.testing import conformance_suite

TestConformance = conformance_suite("{scope}")


def test_builds_a_model_by_name() -> None:
    model = jepa.build("{scope}:{scope}_encoder", "mlp", loss="jepa:mse")
    pred, target = model(torch.randn(4, 16), torch.randn(4, 16))
    assert pred.shape == target.shape == (4, 64)
'''

README = """\
# {dist}

A [jepa](https://pypi.org/project/jepa-core/) plugin. Installing it registers its
components through the `jepa.plugins` entry point (scope `{scope}`); nothing needs
importing.

## Install

```bash
pip install -e .            # or, to run its tests too (the test extra brings pytest):
pip install -e ".[test]"
```

## Components

| kind | name | what it is |
| --- | --- | --- |
| encoder | `{scope}_encoder` | an MLP over feature vectors (replace with your own) |

`jepa list encoder '{scope}:*'` lists them as installed.

## Usage

```python
import jepa

model = jepa.build("{scope}_encoder", "mlp")
```

## Tests

`pytest` runs `tests/test_plugin.py`: the jepa conformance suite on every
component the plugin registers, and a model built by name.
"""


def _taken(name: str, package: str, scope: str) -> str | None:
    """Why a plugin called ``name`` would collide with jepa's own, or None: its import
    package would shadow one of jepa's, or its plugin name (entry point and scope) is
    one that discovery refuses to load a third-party plugin under."""
    instead = f"choose another name, e.g. jepa-my{scope}"
    if package in PACKAGES:
        return (
            f"import package {package!r} (from {name!r}) would shadow {PACKAGES[package]}'s: import {package} "
            f"would load the plugin instead; {instead}"
        )
    owner = "jepa itself" if scope in RESERVED_SCOPES else FIRST_PARTY_SCOPES.get(scope)
    if owner is None:
        used = [point for point in entry_points(group=ENTRY_POINT_GROUP) if point.name.lower() == scope.lower()]
        holders = {re.sub(r"[-_.]+", "-", point.dist.name).lower() for point in used if point.dist is not None}
        if used and holders == {re.sub(r"[-_.]+", "-", name).lower()}:
            return None  # this very distribution, installed before: installing the new scaffold replaces it
        if used:  # two installed plugins of one name both refuse to load, and models saved with either stop
            holder = used[0].dist.name if used[0].dist is not None else "another distribution"
            return (
                f"plugin name {scope!r} is already used by {holder}, installed here: two plugins of one name are "
                f"both refused, and models saved with either stop loading; {instead}"
            )
        return None
    given = "its entry point and scope" if scope == name else f"from {name!r}: its entry point and scope"
    return f"plugin name {scope!r} ({given}) is reserved for {owner}; {instead}"


def scaffold_plugin(name: str, directory: str | Path | None = None) -> Path:
    """Write a plugin distribution named ``name`` into ``directory`` (default ``./name``).
    The name gives the distribution (``jepa-acme``), the import package (``jepa_acme``)
    and the plugin name, which is also its scope (``acme``: without the ``jepa-`` and
    ``plugins-`` prefixes); a name whose package or plugin name is jepa's own is refused."""
    if not re.fullmatch(r"[A-Za-z]([A-Za-z0-9_-]*[A-Za-z0-9])?", name):  # what pip accepts as a project name
        raise SpecError(
            f"distribution name {name!r} must start with a letter, end with a letter or digit and hold only letters, "
            "digits, - and _"
        )
    package = re.sub(r"[-.]+", "_", name).lower()
    dist = package.replace("_", "-")
    scope = package.removeprefix("jepa_").removeprefix("plugins_") or package
    problem = _taken(name, package, scope)
    if problem is not None:
        raise SpecError(problem)
    root = Path(directory) if directory is not None else Path(name)
    if root.exists() and not root.is_dir():
        raise SpecError(f"{str(root)!r} is a file, not a directory; choose another directory (--directory DIR)")
    if root.exists() and any(root.iterdir()):
        raise SpecError(f"{str(root)!r} exists and is not empty; choose another directory (--directory DIR)")
    major, minor = (int(part) for part in __version__.split(".")[:2])
    values = {
        "dist": dist,
        "package": package,
        "scope": scope,
        "core_floor": f"{major}.{minor}",
        "core_ceiling": f"{major}.{minor + 1}" if major == 0 else f"{major + 1}",
        "api": PLUGIN_API_VERSION,
        "next_api": int(PLUGIN_API_VERSION) + 1,
    }
    files = {
        "pyproject.toml": PYPROJECT,
        f"src/{package}/__init__.py": INIT,
        f"src/{package}/py.typed": "",
        f"src/{package}/plugin.py": PLUGIN,
        "tests/test_plugin.py": TESTS,
        "README.md": README,
    }

    def write(directory: Path) -> None:
        for relative, template in files.items():
            path = directory / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(template.format(**values), encoding="utf-8")

    return atomic_write_dir(root, write)  # all files or none
