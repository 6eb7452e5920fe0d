"""Broken and hostile plugins never take jepa down; each is reported, strict mode raises."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jepa
import pytest
from jepa_core.registry import get_registry

HOSTILE = ["broken_import", "broken_register", "not_a_component", "clash_a", "clash_b", "future_api", "good", "good#1"]
EXPECTED = {
    "broken_import": ("failed", "import failed: RuntimeError: this plugin is broken on purpose"),
    "broken_register": ("failed", "registration failed: ValueError: registration fails on purpose"),
    "not_a_component": ("failed", "the factory must be a class or function, got 42"),
    "future_api": ("incompatible", "plugin 'future_api' (jepa-fixture-future-api 1.2.3) needs jepa plugin API "
                                   ">=2,<3, but jepa-core"),
    "clash_a": ("loaded", None),
    "clash_b": ("loaded", None),
    "good": ("loaded", None),
}


def jepa_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "jepa", *args], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)


def test_every_hostile_plugin_is_reported_and_the_rest_works(installed_plugins) -> None:
    installed_plugins(*HOSTILE)
    model = jepa.build("good:tiny", "mlp", loss="jepa:mse")
    assert model.spec.encoder.name == "good:tiny"
    records = {p.name: p for p in get_registry().plugins}
    for name, (status, error) in EXPECTED.items():
        assert records[name].status == status, f"{name}: {records[name].error}"
        if error is not None:
            assert error in records[name].error, records[name].error
    assert [p.name for p in get_registry().plugins].count("good") == 1, "two copies of one distribution load once"
    assert len(jepa.list_components("encoder", "good:tiny")) == 1


def test_every_cli_command_keeps_working_beside_hostile_plugins(installed_plugins, tmp_path) -> None:
    installed_plugins(*HOSTILE)
    records = {r["name"]: r for r in json.loads(jepa_cli("plugins", "--json").stdout)}
    assert records["future_api"]["status"] == "incompatible"
    assert records["broken_import"]["error"].startswith("import failed")
    for args in (["plugins"], ["list"], ["list", "encoder", "*twin*"], ["describe", "encoder", "good:tiny"],
                 ["--version"], ["init"], ["init", "sequences", "--output", str(tmp_path / "s.yaml")]):
        result = jepa_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert "[incompatible]" in jepa_cli("plugins").stdout


@pytest.mark.parametrize("name", ["broken_import", "broken_register", "not_a_component", "future_api"])
def test_strict_mode_raises_for_each_broken_plugin(installed_plugins, monkeypatch, name) -> None:
    installed_plugins(name, "good")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    with pytest.raises(jepa.PluginError, match=name):
        jepa.list_components()


def test_strict_mode_raises_in_the_cli_with_one_line(installed_plugins, monkeypatch) -> None:
    installed_plugins("future_api")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    result = jepa_cli("list")
    assert result.returncode == 2
    assert result.stderr.startswith("jepa: error: plugin 'future_api' (jepa-fixture-future-api 1.2.3) needs")


def test_block_list_silences_a_broken_plugin_and_allow_list_picks_one(installed_plugins, monkeypatch) -> None:
    installed_plugins(*HOSTILE)
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "broken_import,jepa-fixture-not-a-component")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    monkeypatch.setenv("JEPA_PLUGINS", "good,broken_import,not_a_component")
    assert {c.scope for c in jepa.list_components()} == {"jepa", "good"}, "strict mode is happy: the rest is off"
    statuses = {p.name: p.status for p in get_registry().plugins}
    assert statuses["broken_import"] == statuses["not_a_component"] == "blocked"
    assert statuses["clash_a"] == "not allowed"
