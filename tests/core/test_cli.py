"""The installed `jepa` console script."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from jepa_core.cli import main

JEPA = shutil.which("jepa", path=str(Path(sys.executable).parent)) or "jepa"


def run(*args: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([JEPA, *args], capture_output=True, text=True, check=check, env={**os.environ, **(env or {})})


def test_version_lists_core_and_plugins(installed_plugins) -> None:
    installed_plugins("good")
    out = run("--version").stdout
    assert out.splitlines()[0].startswith("jepa-core 0.")
    assert "jepa-fixture-good 1.2.3 (good: loaded)" in out


def test_plugins_shows_status_errors_and_components(installed_plugins) -> None:
    installed_plugins("good", "broken_import")
    records = {r["name"]: r for r in json.loads(run("plugins", "--json").stdout)}
    assert records["good"]["status"] == "loaded"
    assert records["good"]["components"] == {"encoder": ["good:tiny"], "loss": ["good:mse"]}
    assert records["broken_import"]["status"] == "failed"
    assert "broken on purpose" in records["broken_import"]["error"]
    text = run("plugins").stdout
    assert "broken_import  jepa-fixture-broken-import 1.2.3  [failed]" in text
    assert (
        "    fix: install what the error names (or reinstall jepa-fixture-broken-import); until then "
        "JEPA_DISABLE_PLUGINS=broken_import skips it"
    ) in text
    assert "    encoder: good:tiny" in text


def test_plugins_warns_about_names_a_core_or_first_party_component_takes(installed_plugins) -> None:
    installed_plugins("shadow", "good")
    records = {r["name"]: r for r in json.loads(run("plugins", "--json").stdout)}
    assert records["shadow"]["shadowed"] == [
        {
            "kind": "encoder",
            "name": "shadow:cnn",
            "bare_name_means": "vision:cnn",
            "warning": "encoder 'cnn' (bare) means vision:cnn from jepa-plugins-vision; this plugin's is reachable "
            "as shadow:cnn only",
        },
        {
            "kind": "encoder",
            "name": "shadow:mlp",
            "bare_name_means": "jepa:mlp",
            "warning": "encoder 'mlp' (bare) means jepa:mlp from jepa-core; this plugin's is reachable as "
            "shadow:mlp only",
        },
    ]
    assert [s["name"] for s in records["good"]["shadowed"]] == ["good:mse"]
    assert records["vision"]["shadowed"] == [], "the first-party plugin's own names are its own"
    text = run("plugins").stdout
    shadow = text[text.index("shadow  jepa-fixture-shadow") :]
    assert (
        "    warning: encoder 'mlp' (bare) means jepa:mlp from jepa-core; this plugin's is reachable as shadow:mlp only"
    ) in shadow
    assert "    encoder: shadow:cnn, shadow:mlp, shadow:shadow_own" in shadow
    assert text.count("    warning: ") == 3


def test_list_says_which_component_a_shared_bare_name_builds(installed_plugins) -> None:
    installed_plugins("shadow", "clash_a", "clash_b")
    lines = run("list", "encoder", "mlp").stdout.splitlines()
    [core] = [line for line in lines if " jepa:mlp " in line]
    [shadow] = [line for line in lines if " shadow:mlp " in line]
    assert "[the bare name" not in core, "the winner needs no note"
    assert "[the bare name 'mlp' means jepa:mlp] " in shadow
    twins = [line for line in run("list", "encoder", "twin").stdout.splitlines() if line]
    assert len(twins) == 2
    for line in twins:
        qualname = line.split()[1]
        assert f"[the bare name 'twin' is ambiguous: write {qualname}] " in line
    listed = {c["name"]: c["bare_name_means"] for c in json.loads(run("list", "--json", "encoder").stdout)}
    assert listed["shadow:mlp"] == listed["jepa:mlp"] == "jepa:mlp"
    assert listed["clash_a:twin"] is None and listed["shadow:shadow_own"] == "shadow:shadow_own"
    without_vision = run("list", "encoder", "cnn", env={"JEPA_DISABLE_PLUGINS": "vision"}).stdout
    assert "[the bare name 'cnn' is jepa-plugins-vision's: write shadow:cnn] " in without_vision


def test_list_by_kind_and_pattern() -> None:
    lines = run("list", "predictor").stdout.splitlines()
    assert all(line.split()[0] == "predictor" for line in lines)
    names = [line.split()[1] for line in lines]
    assert {"jepa:attention", "jepa:mlp", "jepa:recurrent"} <= set(names) and names == sorted(names)
    assert [line.split()[1] for line in run("list", "*l1").stdout.splitlines()] == ["jepa:l1", "jepa:smooth_l1"]
    names = [entry["name"] for entry in json.loads(run("list", "loss", "--json").stdout)]
    assert "jepa:sigreg" in names
    assert "did you mean the kind 'encoder'?" in run("list", "encodr").stdout  # a misspelt kind
    # the summary is the docstring's whole first sentence: "Bardes et al. 2022" does not end it
    (vicreg,) = [line for line in run("list", "loss").stdout.splitlines() if line.split()[1] == "jepa:vicreg"]
    assert vicreg.endswith("VICReg (Bardes et al. 2022): invariance + variance + covariance, weights 25/25/1.")


def test_describe_prints_parameters() -> None:
    out = run("describe", "loss", "vicreg").stdout
    assert out.startswith("loss jepa:vicreg  (jepa-core ")
    assert "  sim_weight: number >=0.0  (default 25.0)" in out


def test_describe_shows_docstring_literals_as_a_terminal_reads_them() -> None:
    out = run("describe", "encoder", "cnn").stdout
    assert "``" not in out
    assert '`pool="none"` returns the tokens' in out


def test_describe_shows_sphinx_roles_as_literals() -> None:
    from jepa_core.cli import _terminal_literals

    assert _terminal_literals("uses :class:`ConvStem` and :func:`~jepa.layers.gather_tokens`, ``x``") == (
        "uses `ConvStem` and `jepa.layers.gather_tokens`, `x`"
    )


def test_describe_finds_the_kind_of_a_name_only_one_kind_has() -> None:
    assert run("describe", "vicreg").stdout.startswith("loss jepa:vicreg  (jepa-core ")
    several = run("describe", "mlp", check=False)
    assert several.returncode == 2
    assert "'jepa describe encoder mlp' or 'jepa describe predictor mlp'" in several.stderr
    missing = run("describe", "nosuch", check=False)
    assert missing.returncode == 2 and "no component named 'nosuch' is installed" in missing.stderr
    misspelt = run("describe", "VICReg_", check=False)  # another case and a typo: still found, with its kind
    assert misspelt.returncode == 2 and "did you mean 'vicreg' (loss), " in misspelt.stderr
    upper = run("describe", "loss", "VICREG", check=False)  # with the kind given, too
    assert upper.returncode == 2 and "(did you mean 'vicreg'" in upper.stderr
    kind_alone = run("describe", "loss", check=False)
    assert kind_alone.returncode == 2 and "give the loss's name too" in kind_alone.stderr
    # a name whose plugin is switched off: why, as with the kind given (not a near miss of another name)
    for name in ("cnn", "vision:cnn"):
        off = run("describe", name, env={"JEPA_DISABLE_PLUGINS": "vision"}, check=False)
        assert off.returncode == 2 and "its plugin 'vision', installed here, is blocked" in off.stderr, off.stderr
        assert "did you mean" not in off.stderr
    typo = run("describe", "masker", "multiblok", env={"JEPA_DISABLE_PLUGINS": "vision"}, check=False)
    assert "(did you mean 'multiblock'" in typo.stderr  # the switched-off plugin's name, whose own message says why


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["list", "encoder", "cnn", "extra"], "usage: jepa list "),
        (["describe", "encoder", "cnn", "--nope"], "usage: jepa describe "),
        (["--nope"], "usage: jepa [-h]"),
        (["init", "vision", "--forc"], "usage: jepa init "),  # not taken for --force
    ],
)
def test_a_stray_argument_is_reported_with_its_commands_usage(argv, usage, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(usage)
    assert err.rstrip().endswith(f"error: unrecognized arguments: {argv[-1]}")


def test_a_name_under_an_unknown_scope_suggests_the_very_name_first() -> None:
    result = run("describe", "encoder", "foo:cnn", check=False)
    assert result.returncode == 2
    assert "(did you mean 'vision:cnn', 'timeseries:tcn'?); no plugin named 'foo' is installed" in result.stderr


def test_a_plugin_switch_naming_no_installed_plugin_says_so() -> None:
    listed = run("plugins", env={"JEPA_PLUGINS": "visoin"})
    assert listed.stderr.strip() == (
        "jepa: warning: JEPA_PLUGINS names 'visoin', which matches no installed plugin (did you mean 'vision'? "
        "installed: text, timeseries, vision; `jepa plugins` lists them)"
    )
    blocked = run("plugins", env={"JEPA_DISABLE_PLUGINS": "jepa-plugins-text"})
    assert blocked.stderr == "", "a distribution name is known"
    core = run("list", "loss", env={"JEPA_DISABLE_PLUGINS": "jepa"})  # the core is no plugin to switch off
    assert "JEPA_DISABLE_PLUGINS names 'jepa', the core, whose components are always available" in core.stderr
    assert "jepa:vicreg" in core.stdout
    # switched off on purpose: listed with why, not as an error
    assert "text  jepa-plugins-text" in blocked.stdout and "[blocked]" in blocked.stdout
    assert "    why: listed in JEPA_DISABLE_PLUGINS (take it out to load it)" in blocked.stdout
    assert "error:" not in blocked.stdout


def test_errors_are_one_line_with_exit_code_2() -> None:
    result = run("describe", "encoder", "cnn", check=False, env={"JEPA_PLUGINS": ""})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line == (
        "jepa: error: no encoder named 'cnn' is available; encoder 'cnn' comes with "
        f"jepa-plugins-vision {version('jepa-plugins-vision')}; its plugin 'vision', installed here, is not "
        "allowed: JEPA_PLUGINS is set but empty, which loads no plugin (unset it to load every one, or list "
        "this one there)"
    )


def test_python_dash_m_jepa_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jepa", "list", "masker"], capture_output=True, text=True, check=True
    )
    assert "jepa:random" in result.stdout


def test_init_train_and_eval_from_the_command_line(tmp_path) -> None:
    assert "sequences" in run("init").stdout
    config = tmp_path / "seq.yaml"
    assert run("init", "sequences", "--output", str(config)).stdout.startswith(f"wrote {config}")
    assert "# A temporal JEPA on multichannel sequences" in config.read_text(), "starter configs are commented"
    refused = run("init", "sequences", "--output", str(config), check=False)
    assert refused.returncode == 2 and "pass --force" in refused.stderr
    small = [
        "--set",
        "train.steps=2",
        "--set",
        "train.batch_size=16",
        "--set",
        "train.checkpoint_every=0",
        "--set",
        "data.params.size=64",
        "--set",
        "eval.train.params.size=48",
        "--set",
        "eval.seeds=[0]",
        "--set",
        "eval.shots=3",
        "--set",
        "eval.test.params.size=48",
        "--set",
        "model.encoder.params.depth=1",
    ]
    trained = run("train", str(config), "--run-dir", str(tmp_path / "run"), *small, env={"OMP_NUM_THREADS": "1"})
    assert f"run directory: {tmp_path / 'run'}" in trained.stdout
    assert f"results written to {tmp_path / 'run' / 'eval.json'}" in trained.stderr
    assert "random_init" in trained.stdout and "raw" in trained.stdout
    evaluated = run("eval", str(tmp_path / "run"), "--json")
    results = json.loads(evaluated.stdout)
    assert set(results) >= {"jepa", "random_init", "raw"} and 0.0 <= results["jepa"]["linear"] <= 1.0
    assert f"results written to {tmp_path / 'run' / 'eval.json'}" in evaluated.stderr
    # probed another way: the run's eval.json is left alone, and the message names --output's file
    other = run("eval", str(tmp_path / "run"), "--set", "eval.features=mean", "-o", str(tmp_path / "mean.json"))
    assert f"results written to {tmp_path / 'mean.json'}" in other.stderr
    assert f"{tmp_path / 'run' / 'eval.json'} left as it was" in other.stderr
    assert json.loads((tmp_path / "mean.json").read_text())["jepa"]["linear"] >= 0.0
    unsaved = run("eval", str(tmp_path / "run"), "--set", "eval.features=mean")
    assert "results written" not in unsaved.stderr, "nothing was written, so nothing is claimed"
    assert f"{tmp_path / 'run' / 'eval.json'} left as it was" in unsaved.stderr, "kept, and said so"
    assert json.loads((tmp_path / "run" / "eval.json").read_text()) == results
    assert "records errors" not in unsaved.stderr
    # a run whose evaluation failed (say, eval sets that could not be read), evaluated again without errors
    failed = {**results, "errors": {"jepa": "eval.train: no such folder"}}
    (tmp_path / "run" / "eval.json").write_text(json.dumps(failed))
    fixed = run("eval", str(tmp_path / "run"), "--set", "eval.features=mean")
    kept = tmp_path / "run" / "eval.json"
    assert f"it records errors that this evaluation has not: -o {kept} replaces it" in fixed.stderr
    (tmp_path / "run" / "eval.json").write_text(json.dumps(results))
    # a results file that cannot be written is refused before the probes run, not after
    for output, why in (
        (str(tmp_path), "it names a directory; give a file"),
        (f"{tmp_path / 'new'}/", "it names a directory; give a file"),
        (str(config / "x.json"), "is a file, not a directory"),
        *([("/proc/eval.json", "'/proc' refuses a new file")] if Path("/proc/self").is_dir() else []),
    ):
        refused = run("eval", str(tmp_path / "run"), "-o", output, check=False)
        assert refused.returncode == 2 and refused.stdout == "" and why in refused.stderr
        assert "probing" not in refused.stderr and refused.stderr.startswith("jepa: error: cannot write the results")
    missing = run("eval", str(tmp_path / "nowhere"), check=False)
    assert missing.returncode == 2 and f"{str(tmp_path / 'nowhere')!r} does not exist" in missing.stderr
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "run.json").write_text((tmp_path / "run" / "run.json").read_text())
    unfinished = run("eval", str(tmp_path / "unfinished"), check=False)
    assert unfinished.returncode == 2 and "has no final model yet" in unfinished.stderr
    assert "checkpoint" not in unfinished.stderr
    resume = f"jepa train {tmp_path / 'unfinished' / 'run.json'} --run-dir {tmp_path / 'unfinished'} --resume"
    assert resume in unfinished.stderr  # a command to run as it is
    shutil.copytree(tmp_path / "run" / "final", tmp_path / "unfinished" / "checkpoints" / "step_0000001" / "model")
    unfinished = run("eval", str(tmp_path / "unfinished"), check=False)
    command = unfinished.stderr.strip().rpartition("probe its latest checkpoint as it is: jepa ")[2]
    assert command.startswith(f"eval {tmp_path / 'unfinished' / 'checkpoints' / 'step_0000001' / 'model'} --config ")
    assert "jepa" in run(*shlex.split(command), "--set", "eval.probes=[knn]").stdout, "the command it gives works"
    # more shots than the 48 labelled series hold: said before any probe runs
    failed = run("eval", str(tmp_path / "run"), "--set", "eval.shots=100", check=False)
    assert failed.returncode == 2 and failed.stdout == "", failed.stderr
    assert failed.stderr.startswith("jepa: error: eval.shots: class 0 has ")
    assert "fewer than shots=100; lower eval.shots or give eval.train more data" in failed.stderr
    bad = run("train", str(config), "--set", "train.lr=oops", check=False)
    assert bad.returncode == 2 and "train.lr: Input should be a valid number" in bad.stderr


def test_an_empty_listing_of_a_plain_word_suggests_names_and_says_how_a_word_is_read() -> None:
    assert run("list", "tcnn").stdout.splitlines() == [
        "no components match 'tcnn'",
        "did you mean 'tcn', 'cnn'?",
        "(a lone word is read as a name; the kinds are encoder, predictor, loss, masker, dataset, tokenizer)",
    ]
    # under a kind only that kind's names are offered, and the word is plainly a name
    assert run("list", "masker", "tcnn").stdout == "no components match 'tcnn'\n"
    assert "did you mean the kind 'encoder'?" in run("list", "encoders").stdout


# -- first-party plugins that are not loaded ----------------------------------------------------------

NO_PLUGINS = {"JEPA_PLUGINS": ""}  # the allow-list switch, set but empty: as if no plugin were installed


def test_listing_a_first_party_scope_or_name_says_which_distribution_to_install() -> None:
    listed = run("list", "timeseries:*", env=NO_PLUGINS)
    assert listed.stdout.splitlines() == [
        "no components match 'timeseries:*'",
        f"plugin 'timeseries' (jepa-plugins-timeseries {version('jepa-plugins-timeseries')}) is installed here but "
        "not allowed: JEPA_PLUGINS is set but empty, which loads no plugin "
        "(unset it to load every one, or list this one there)",
    ]
    assert (
        f"encoder 'cnn' comes with jepa-plugins-vision {version('jepa-plugins-vision')}; its plugin 'vision', "
        "installed here, is not allowed" in run("list", "encoder", "cnn", env=NO_PLUGINS).stdout
    )
    assert "no plugin named 'nowhere' is installed" in run("list", "nowhere:*").stdout
    assert run("list", "jepa:zz*").stdout == "no components match 'jepa:zz*'\n", "no hint for the core's scope"


def test_init_of_a_first_party_starter_says_which_distribution_to_install() -> None:
    refused = run("init", "timeseries", env=NO_PLUGINS, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith(
        f"the 'timeseries' starter comes with jepa-plugins-timeseries {version('jepa-plugins-timeseries')}; "
        "its plugin 'timeseries', installed here, is not allowed: JEPA_PLUGINS is set but empty, which loads no "
        "plugin (unset it to load every one, or list this one there)"
    )  # no pip command: the distribution is installed, the switch is what to change
    listed = run("init", env=NO_PLUGINS).stdout.splitlines()
    assert listed[:2] == [
        "starter configs (jepa init NAME writes NAME.yaml):",
        "  sequences  jepa-core  A temporal JEPA on multichannel sequences, with the core's components only.",
    ]
    assert any(
        "the 'vision' starter comes with jepa-plugins-vision" in line and "JEPA_PLUGINS is set but empty" in line
        for line in listed[2:]
    )
    everything = run("init").stdout
    assert re.search(
        r"^  vision-vit +jepa-plugins-vision +I-JEPA with a ViT on scikit-learn's 8x8 digits", everything, re.M
    )
    assert "did you mean 'sequences'?" in run("init", "sequence", check=False).stderr


# -- help pages ----------------------------------------------------------------------------------------

COMMANDS = ["plugins", "list", "describe", "train", "eval", "init", "new-plugin"]


def help_page(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_a_description_and_examples(command, capsys) -> None:
    page = help_page(command, capsys=capsys)
    usage, description = page.split("\n\n")[:2]
    assert usage.startswith(f"usage: jepa {command}")
    assert not description.startswith(("positional arguments", "options")) and len(description) > 40
    examples = page.split("examples:\n")[1].splitlines()
    assert any(line.startswith(f"  jepa {command}") for line in examples)


def test_init_help_lists_the_installed_starters(capsys) -> None:
    from jepa_core.runs import template_names

    page = help_page("init", capsys=capsys)
    assert f"starter configs installed here: {', '.join(template_names())}" in page


def test_list_help_agrees_with_the_readme(capsys) -> None:
    page = help_page("list", capsys=capsys)
    assert page.startswith("usage: jepa list [-h] [--json] [KIND] [PATTERN]")
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "jepa list [KIND] [PATTERN]" in readme
    examples = re.findall(r"`(jepa list [^`]*\*[^`]*)`", readme)  # the wildcard forms the README shows
    assert {"jepa list '*l1*'", "jepa list encoder 'vision:*'"} <= set(examples)
    for example in examples:
        assert re.search(rf"^  {re.escape(example)} +#", page, re.M), f"`jepa list --help` shows {example}"
        assert main(shlex.split(example)[1:]) == 0
        found = capsys.readouterr().out
        assert found and "no components match" not in found, example
