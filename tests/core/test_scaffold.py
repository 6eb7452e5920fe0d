"""`jepa new-plugin`: scaffold, pip install, list, its own tests, build — for real."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from jepa_core.cli import main
from jepa_core.errors import SpecError
from jepa_core.first_party import FIRST_PARTY_SCOPES, PACKAGES


def test_scaffolded_plugin_installs_lists_tests_and_builds(tmp_path) -> None:
    jepa = [sys.executable, "-m", "jepa"]
    created = subprocess.run(
        [*jepa, "new-plugin", "jepa-acme", "--directory", str(tmp_path / "acme")],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote plugin distribution" in created.stdout
    root = tmp_path / "acme"
    # the hint installs the test extra, which brings the pytest it then runs
    assert created.stdout.strip().endswith(f'next: pip install -e "{root}[test]" && pytest {root}/tests')
    assert 'test = ["pytest>=8"]' in (root / "pyproject.toml").read_text()
    site = tmp_path / "site"
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
            str(site),
            str(tmp_path / "acme"),
        ],
        check=True,
    )
    assert (site / "jepa_acme" / "py.typed").is_file()  # typed, and the wheel carries the marker
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    listed = subprocess.run([*jepa, "list", "encoder", "acme:*"], capture_output=True, text=True, env=env, check=True)
    assert listed.stdout.split()[:3] == ["encoder", "acme:acme_encoder", "jepa-acme"]
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", str(tmp_path / "acme")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert tests.returncode == 0, tests.stdout[-3000:]
    assert " passed" in tests.stdout and "failed" not in tests.stdout
    # the rules for kinds it does not provide are skipped, saying so in plain words
    assert "plugin 'acme' registers no predictor" in tests.stdout
    assert "empty parameter set" not in tests.stdout
    built = subprocess.run(
        [sys.executable, "-c", "import jepa; print(jepa.build('acme_encoder', 'attention').spec.encoder.name)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert built.stdout.strip() == "acme:acme_encoder"
    # the example encoder remembers its arguments: a model built from it directly saves and loads
    direct = (
        "import jepa; from jepa_acme.plugin import ExampleEncoder as E; "
        "m = jepa.JEPA(E(input_dim=8, hidden_dim=32), jepa.MLPPredictor(hidden_dim=32)); "
        f"m.save_pretrained({str(tmp_path / 'saved')!r}); "
        f"print(jepa.load({str(tmp_path / 'saved')!r}).spec.encoder.params['input_dim'])"
    )
    saved = subprocess.run([sys.executable, "-c", direct], capture_output=True, text=True, env=env)
    assert saved.returncode == 0, saved.stderr[-2000:]
    assert saved.stdout.strip() == "8"
    version = subprocess.run(
        [
            sys.executable,
            "-c",
            "import jepa_acme, jepa_acme.plugin as p; print(jepa_acme.__version__, p.JEPA_PLUGIN_API)",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert version.stdout.split() == ["0.1.0", ">=1,<2"]
    refused = subprocess.run(
        [*jepa, "new-plugin", "jepa-acme", "--directory", str(tmp_path / "acme")], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "is not empty" in refused.stderr
    # the same distribution, installed, scaffolded afresh elsewhere: installing it replaces the old one
    again = subprocess.run(
        [*jepa, "new-plugin", "jepa-acme", "--directory", str(tmp_path / "again")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert again.returncode == 0 and (tmp_path / "again" / "pyproject.toml").is_file(), again.stderr
    assert again.stderr == "note: jepa-acme 0.1.0 is installed here; installing this scaffold replaces it\n"


@pytest.mark.parametrize(
    ("name", "says"),
    [
        # a first-party plugin's name, whatever the prefix or case: discovery would refuse it
        ("vision", "plugin name 'vision' (its entry point and scope) is reserved for jepa-plugins-vision"),
        (
            "jepa-text",
            "plugin name 'text' (from 'jepa-text': its entry point and scope) is reserved for jepa-plugins-text",
        ),
        ("Plugins-Timeseries", "plugin name 'timeseries' (from 'Plugins-Timeseries': its entry point and scope)"),
        # the core's reserved scopes
        (
            "jepa-local",
            "plugin name 'local' (from 'jepa-local': its entry point and scope) is reserved for jepa itself",
        ),
        ("jepa-jepa", "plugin name 'jepa' (from 'jepa-jepa': its entry point and scope) is reserved for jepa itself"),
        # a package that would shadow one of ours
        ("jepa", "import package 'jepa' (from 'jepa') would shadow jepa-core's: import jepa would load the plugin"),
        ("jepa-core", "import package 'jepa_core' (from 'jepa-core') would shadow jepa-core's"),
        ("jepa-plugins-vision", "import package 'jepa_plugins_vision' (from 'jepa-plugins-vision') would shadow "),
    ],
)
def test_new_plugin_refuses_a_name_that_is_jepas_own_and_writes_nothing(name, says, tmp_path, capsys) -> None:
    target = tmp_path / "plugin"
    assert main(["new-plugin", name, "--directory", str(target)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err  # one line, on stderr
    assert err.startswith(f"jepa: error: {says}") and "; choose another name, e.g. jepa-my" in err, err
    assert not target.exists() and list(tmp_path.iterdir()) == []
    suggested = err.strip().rsplit("e.g. ", 1)[1]  # the name it suggests is free
    assert main(["new-plugin", suggested, "--directory", str(tmp_path / "suggested")]) == 0
    capsys.readouterr()


def test_new_plugin_refuses_every_name_jepa_owns(tmp_path) -> None:
    # from the same tables discovery and the registry use: a new first-party plugin is covered
    from jepa_core.registry import RESERVED_SCOPES
    from jepa_core.scaffold import scaffold_plugin

    names = [*RESERVED_SCOPES, *FIRST_PARTY_SCOPES, *(package.replace("_", "-") for package in PACKAGES)]
    for name in names:
        with pytest.raises(SpecError, match="choose another name"):
            scaffold_plugin(name, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["jepa-", "acme_", "1acme", "my plugin"])
def test_new_plugin_refuses_a_name_pip_would_not_install(name, tmp_path, capsys) -> None:
    assert main(["new-plugin", name, "--directory", str(tmp_path / "plugin")]) == 2
    assert f"distribution name {name!r} must start with a letter, end with a letter or digit" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_new_plugin_into_a_file_is_a_usage_error(tmp_path, capsys) -> None:
    (tmp_path / "taken").write_text("")
    assert main(["new-plugin", "jepa-acme", "--directory", str(tmp_path / "taken")]) == 2
    assert "/taken' is a file, not a directory; choose another directory (--directory DIR)" in capsys.readouterr().err


def test_new_plugin_takes_a_name_that_only_starts_like_ours(tmp_path, capsys) -> None:
    for name in ("jepa-vision-extra", "jepa-plugins-audio", "jepa-localized"):
        assert main(["new-plugin", name, "--directory", str(tmp_path / name)]) == 0
    assert "wrote plugin distribution" in capsys.readouterr().out


def test_new_plugin_refuses_a_name_an_installed_plugin_uses(installed_plugins, tmp_path, capsys) -> None:
    """Two installed plugins of one name are both refused (and every model saved with either
    stops loading): a trial found that only after installing its scaffold."""
    installed_plugins("good")
    assert main(["new-plugin", "jepa-good", "--directory", str(tmp_path / "mine")]) == 2
    assert "plugin name 'good' is already used by jepa-fixture-good, installed here" in capsys.readouterr().err
    assert not (tmp_path / "mine").exists()


def test_the_packages_it_guards_are_the_ones_jepa_ships() -> None:
    try:
        import tomllib
    except ImportError:  # Python 3.10: pyproject.toml is read with tomli where it is installed
        tomllib = pytest.importorskip("tomli")
    root = Path(__file__).resolve().parents[2]
    shipped = {}
    for pyproject in [root / "jepa_core" / "pyproject.toml", *sorted(root.glob("jepa_plugins_*/pyproject.toml"))]:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        for package in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]:
            shipped[Path(package).name] = project["project"]["name"]
    assert shipped == PACKAGES
