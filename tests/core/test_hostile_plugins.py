"""Broken and hostile plugins never take jepa down; each is reported, strict mode raises."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import jepa
import pytest
import torch
from jepa_core.cli import main
from jepa_core.registry import get_registry

HOSTILE = [
    "broken_import",
    "broken_register",
    "not_a_component",
    "clash_a",
    "clash_b",
    "future_api",
    "good",
    "good#1",
    "exits",
    "grabber",
]
EXPECTED = {
    "exit_import": ("failed", "import failed: SystemExit: the plugin called sys.exit(3)"),
    "exit_register": ("failed", "registration failed: SystemExit: the plugin called sys.exit(4)"),
    "interrupt_import": ("failed", "import failed: KeyboardInterrupt raised by the plugin"),
    "interrupt_register": ("failed", "registration failed: KeyboardInterrupt raised by the plugin"),
    "grabber_uncaught": (
        "failed",
        "registration failed: PluginError: plugin 'grabber_uncaught' "
        "(jepa-fixture-grabber) asked for a registrar of scope 'jepa'",
    ),
    "grabber_import": (
        "failed",
        "import failed: PluginError: plugin 'grabber_import' (jepa-fixture-grabber) "
        "used @jepa.register (scope 'local'); a plugin adds components only through the registrar",
    ),
    "grabber": ("loaded", None),
    "broken_import": ("failed", "import failed: RuntimeError: this plugin is broken on purpose"),
    "broken_register": ("failed", "registration failed: ValueError: registration fails on purpose"),
    "not_a_component": ("loaded", None),  # its one component is refused (below), not the plugin
    "future_api": (
        "incompatible",
        "plugin 'future_api' (jepa-fixture-future-api 1.2.3) needs jepa plugin API >=2,<3, but jepa-core",
    ),
    "clash_a": ("loaded", None),
    "clash_b": ("loaded", None),
    "good": ("loaded", None),
}


def jepa_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "jepa", *args], capture_output=True, text=True, env=dict(os.environ), timeout=120
    )


def test_every_hostile_plugin_is_reported_and_the_rest_works(installed_plugins) -> None:
    installed_plugins(*HOSTILE)
    model = jepa.build("good:tiny", "mlp", loss="jepa:mse")
    assert model.spec.encoder.name == "good:tiny"
    records = {p.name: p for p in get_registry().plugins}
    for name, (status, error) in EXPECTED.items():
        assert records[name].status == status, f"{name}: {records[name].error}"
        if error is not None:
            assert error in records[name].error, records[name].error
    assert "the factory must be a class or function, got 42" in records["not_a_component"].refused[0]
    assert [p.name for p in get_registry().plugins].count("good") == 1, "two copies of one distribution load once"
    assert len(jepa.list_components("encoder", "good:tiny")) == 1


def test_every_cli_command_keeps_working_beside_hostile_plugins(installed_plugins, tmp_path) -> None:
    installed_plugins(*HOSTILE)
    records = {r["name"]: r for r in json.loads(jepa_cli("plugins", "--json").stdout)}
    assert records["future_api"]["status"] == "incompatible"
    assert records["broken_import"]["error"].startswith("import failed")
    for args in (
        ["plugins"],
        ["list"],
        ["list", "encoder", "*twin*"],
        ["describe", "encoder", "good:tiny"],
        ["--version"],
        ["init"],
        ["init", "sequences", "--output", str(tmp_path / "s.yaml")],
    ):
        result = jepa_cli(*args)
        assert result.returncode == 0, (args, result.stderr)
    assert "[incompatible]" in jepa_cli("plugins").stdout


def test_a_listing_of_one_plugin_imports_no_other(installed_plugins, monkeypatch) -> None:
    # the docs' promise: `jepa list encoder 'vision:*'` costs nothing for a broken unrelated plugin
    installed_plugins("broken_import", "good")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")  # importing broken_import would be an error
    for pattern in ("good:*", "good:tiny"):
        result = jepa_cli("list", "encoder", pattern)
        assert result.returncode == 0 and result.stderr == "", result.stderr
        assert "good:tiny" in result.stdout
    assert jepa_cli("list", "encoder").returncode == 2, "listing everything does import it"


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
    # how to get past it: the listing that would diagnose it stops at the error too
    assert "skip this plugin with JEPA_DISABLE_PLUGINS=future_api, or unset JEPA_STRICT_PLUGINS" in result.stderr
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "text")  # plugins skipped already stay in the advice
    assert "skip this plugin with JEPA_DISABLE_PLUGINS=text,future_api," in jepa_cli("list").stderr


def test_block_list_silences_a_broken_plugin_and_allow_list_picks_one(installed_plugins, monkeypatch) -> None:
    installed_plugins(*HOSTILE)
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "broken_import,jepa-fixture-not-a-component")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    monkeypatch.setenv("JEPA_PLUGINS", "good,broken_import,not_a_component")
    assert {c.scope for c in jepa.list_components()} == {"jepa", "good"}, "strict mode is happy: the rest is off"
    statuses = {p.name: p.status for p in get_registry().plugins}
    assert statuses["broken_import"] == statuses["not_a_component"] == "blocked"
    assert statuses["clash_a"] == "not allowed"


# -- a plugin cannot end the host --------------------------------------------------------------


def test_sys_exit_and_keyboard_interrupt_in_a_plugin_fail_that_plugin_only(installed_plugins) -> None:
    installed_plugins("exits", "good")
    assert jepa.build("tiny", "mlp", loss="jepa:mse").spec.encoder.name == "good:tiny", "a bare name builds"
    records = {p.name: p for p in get_registry().plugins}
    for name in ("exit_import", "exit_register", "interrupt_import", "interrupt_register"):
        assert records[name].status == "failed" and records[name].error.startswith(EXPECTED[name][1])
    assert not [c for c in jepa.list_components() if c.scope.startswith(("exit", "interrupt"))]
    result = jepa_cli("plugins")
    assert result.returncode == 0, result.stderr
    assert "exit_import  jepa-fixture-exits 1.2.3  [failed]" in result.stdout
    assert "    error: import failed: SystemExit: the plugin called sys.exit(3)" in result.stdout
    described = jepa_cli("describe", "encoder", "tiny")  # a bare name loads every plugin
    assert described.returncode == 0 and described.stdout.startswith("encoder good:tiny"), described.stderr


def test_strict_mode_turns_a_plugin_exit_into_one_error_line(installed_plugins, monkeypatch) -> None:
    installed_plugins("exits")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    monkeypatch.setenv("JEPA_PLUGINS", "exit_register")
    with pytest.raises(jepa.PluginError, match=r"exit_register.*sys.exit\(4\)"):
        jepa.list_components()
    result = jepa_cli("list")
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith("jepa: error: plugin 'exit_register' (jepa-fixture-exits): registration failed")


def test_a_real_ctrl_c_while_plugins_load_still_stops_the_command(installed_plugins) -> None:
    installed_plugins("slow")
    process = subprocess.Popen(
        [sys.executable, "-m", "jepa", "plugins"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "JEPA_FIXTURE_SLOW_SAY": "1"},
    )
    assert process.stderr.readline().strip() == "slow fixture: importing", "the plugin's import has begun"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip() == "jepa: interrupted" and out == ""


def test_a_slow_plugin_is_named_with_its_load_time(installed_plugins, capsys) -> None:
    installed_plugins("slow", "good")
    assert main(["plugins", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["slow"]["slow"] is True and records["slow"]["load_seconds"] >= 1.2
    assert records["good"]["slow"] is False and records["good"]["load_seconds"] < 1.0
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "\n    slow: 1." in text and "JEPA_DISABLE_PLUGINS=slow skips it" in text
    assert text.count("\n    slow: ") == 1, "only the slow plugin is flagged"


# -- a plugin cannot take names it does not own ----------------------------------------------------


def test_another_distribution_cannot_load_under_a_first_party_or_disputed_plugin_name(
    installed_plugins, capsys
) -> None:
    installed_plugins("impostor", "clash_a")  # on sys.path first: its entry points are read first
    registry = get_registry()
    assert registry.resolve("encoder", "vision:cnn").distribution == "jepa-plugins-vision"
    by_owner = {(p.name, p.distribution): p for p in registry.plugins}
    impostor = by_owner["vision", "jepa-fixture-impostor"]
    assert impostor.status == "refused"
    assert impostor.error.startswith(
        "the plugin name 'vision' belongs to jepa-plugins-vision; jepa-fixture-impostor may not load under it"
    )
    assert by_owner["vision", "jepa-plugins-vision"].status == "loaded"
    for distribution, other in (
        ("jepa-fixture-impostor", "jepa-fixture-clash-a"),
        ("jepa-fixture-clash-a", "jepa-fixture-impostor"),
    ):
        record = by_owner["clash_a", distribution]
        assert record.status == "refused" and f"'clash_a' is also used by {other}; neither loads" in record.error
    assert not jepa.list_components("encoder", "clash_a:*")
    with pytest.raises(jepa.PluginError, match="scope 'clash_a' belongs to jepa-fixture-clash-a and"):
        registry.registrar("clash_a")
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "vision  jepa-fixture-impostor 1.2.3  [refused]" in text
    assert text.count("[refused]") == 3
    assert registry.plugin_record("vision") is by_owner["vision", "jepa-plugins-vision"]  # the one that loaded
    assert main(["init"]) == 0  # the starters are listed as the loaded plugin's, not the impostor's
    assert re.search(r"\n  vision +jepa-plugins-vision ", capsys.readouterr().out)


def test_switching_one_claimant_of_a_name_off_lets_the_other_load_even_in_strict_mode(
    installed_plugins, monkeypatch
) -> None:
    installed_plugins("impostor", "clash_a")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    with pytest.raises(jepa.PluginError, match="skip this plugin with JEPA_DISABLE_PLUGINS=jepa-fixture-"):
        jepa.list_components()  # refused: the error names the distribution, which skips it alone
    # the impostor shares 'vision' with the vision plugin and 'clash_a' with clash-a: switching it
    # off by its distribution name settles both, as the strict error says
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "jepa-fixture-impostor")
    get_registry().reset()
    assert jepa.list_components("encoder", "clash_a:*"), "clash-a now owns its name alone"
    assert get_registry().resolve("encoder", "vision:cnn").distribution == "jepa-plugins-vision"
    by_owner = {(p.name, p.distribution): p.status for p in get_registry().plugins}
    assert by_owner["clash_a", "jepa-fixture-impostor"] == by_owner["vision", "jepa-fixture-impostor"] == "blocked"
    assert by_owner["clash_a", "jepa-fixture-clash-a"] == "loaded"


def test_a_name_a_refused_plugin_might_have_provided_says_it_was_refused(installed_plugins) -> None:
    installed_plugins("impostor", "clash_a")
    with pytest.raises(jepa.SpecError) as bare:
        jepa.build_component("encoder", "no_such_encoder")
    assert "note: plugin 'clash_a' (jepa-fixture-clash-a) was refused its name: the plugin name 'clash_a'" in str(
        bare.value
    )
    with pytest.raises(jepa.SpecError) as qualified:
        jepa.build_component("encoder", "clash_a:anything")
    assert "its plugin 'clash_a' was refused its name: the plugin name 'clash_a' is also used by" in str(
        qualified.value
    )
    assert "is loaded" not in str(qualified.value)


def test_a_plugin_cannot_register_outside_its_own_scope(installed_plugins, capsys) -> None:
    installed_plugins("grabber", "good")
    registry = get_registry()
    assert registry.resolve("encoder", "mlp").scope == "jepa", "the core's mlp is untouched"
    assert registry.resolve("encoder", "good:tiny").distribution == "jepa-fixture-good"
    assert not jepa.list_components("encoder", "local:*")
    assert registry.templates["sequences"][0] == "jepa"
    assert registry.resolve("encoder", "grabber:own").distribution == "jepa-fixture-grabber"
    records = {p.name: p for p in registry.plugins}
    refused = records["grabber"].refused
    assert records["grabber"].status == "loaded" and len(refused) == 8, refused
    assert refused[0].startswith(
        "asked for a registrar of scope 'jepa' (replace=True); a plugin adds components "
        "only through the registrar its jepa_register hook receives"
    )
    assert refused[1].startswith("asked for a registrar of scope 'good'")
    assert refused[2].startswith("tried to set its registrar's 'scope' to 'jepa'")
    assert refused[3].startswith("used @jepa.register (scope 'local'); a plugin adds")  # what its author wrote
    assert refused[4].startswith("tried to add starter config 'sequences', which 'jepa' already provides")
    assert refused[5] == (
        "tried to add starter config 'vision', the name of jepa-plugins-vision's starter; give it another name"
    )
    assert registry.templates["vision"][0] == "vision"
    # a starter that is not YAML is refused when registered (`jepa init` met it as a raw traceback)
    assert refused[6].startswith("tried to add starter config 'broken_starter', but its YAML does not parse")
    assert "broken_starter" not in registry.templates
    # a loss function registered where its class belongs: refused alone, at the plugin's own line;
    # the component it adds next loads (above)
    assert refused[7].startswith("loss 'bare_l1': l1(pred, target) is the loss itself; register a class")
    assert refused[7].endswith("jepa_fixture_grabber/plugin.py:41)"), refused[7]
    assert not jepa.list_components("loss", "grabber:*")
    failed = records["grabber_uncaught"]
    assert failed.status == "failed" and failed.refused and not jepa.list_components("encoder", "grabber_uncaught:*")
    kept = sys.modules["jepa_fixture_grabber.plugin"].kept[0]
    with pytest.raises(jepa.PluginError, match="this registrar is closed"):
        kept.add("encoder", "later", torch.nn.Identity)
    assert main(["plugins"]) == 0
    text = capsys.readouterr().out
    assert "    refused: asked for a registrar of scope 'jepa' (replace=True)" in text
    assert text.count("    refused: ") == 10  # grabber's eight, grabber_uncaught's and grabber_import's
    assert main(["list", "loss"]) == 0  # a listing that lacks the refused loss says where to look
    err = capsys.readouterr().err
    assert "plugin 'grabber' (jepa-fixture-grabber) was refused 8 thing(s) it tried to add" in err
    assert "plugin 'grabber_uncaught' (jepa-fixture-grabber) did not load" in err
    assert err.rstrip().endswith("`jepa plugins` says why")


def test_a_starter_that_does_not_load_here_names_its_plugin(fresh_registry, tmp_path) -> None:
    from jepa_core.runs import write_template

    registrar = fresh_registry.registrar("mine")
    registrar.add_template("mine", "model: {encoder: nosuch_encoder}\ndata: {name: sinusoids}\n")
    with pytest.raises(jepa.SpecError, match=r"the starter config 'mine' \(from plugin 'mine'\) does not load here: "):
        write_template("mine", tmp_path / "mine.yaml")
    assert not (tmp_path / "mine.yaml").exists()
    with pytest.raises(jepa.PluginError, match="but its YAML does not parse"):
        registrar.add_template("broken", "model: [\n")


def test_strict_mode_raises_for_a_refused_attempt(installed_plugins, monkeypatch) -> None:
    installed_plugins("grabber")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    monkeypatch.setenv("JEPA_PLUGINS", "grabber")
    with pytest.raises(jepa.PluginError, match="plugin 'grabber' .*asked for a registrar of scope 'jepa'"):
        jepa.list_components()
