"""Registry and discovery, with real fixture distributions installed by pip."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version

import jepa
import pytest
import torch
from jepa_core.first_party import EXTRAS, FIRST_PARTY, install_command
from torch import nn


def test_core_components_are_listed_under_the_jepa_scope(fresh_registry) -> None:
    names = {c.qualname for c in jepa.list_components()}
    expected = {
        "jepa:mlp",
        "jepa:transformer",
        "jepa:attention",
        "jepa:recurrent",
        "jepa:mse",
        "jepa:l1",
        "jepa:smooth_l1",
        "jepa:cosine",
        "jepa:vicreg",
        "jepa:sigreg",
        "jepa:infonce",
        "jepa:random",
    }
    assert expected <= names
    core = jepa.list_components("loss")
    assert all(c.distribution == "jepa-core" and c.version == jepa.__version__ for c in core)


def test_list_filters_by_kind_and_wildcard(fresh_registry) -> None:
    assert [c.qualname for c in jepa.list_components("loss", "*l1")] == ["jepa:l1", "jepa:smooth_l1"]
    assert [c.qualname for c in jepa.list_components("predictor", "jepa:att*")] == ["jepa:attention"]
    assert {c.kind for c in jepa.list_components(pattern="mlp")} == {"encoder", "predictor"}
    with pytest.raises(jepa.SpecError, match="unknown component kind 'encoders'.*did you mean 'encoder'"):
        jepa.list_components("encoders")


def test_describe_gives_schema_defaults_doc_and_provenance(fresh_registry) -> None:
    info = jepa.describe("loss", "vicreg")
    assert info["qualname"] == "jepa:vicreg"
    assert info["defaults"] == {"sim_weight": 25.0, "var_weight": 25.0, "cov_weight": 1.0, "eps": 1e-4}
    assert info["schema"]["properties"]["sim_weight"]["minimum"] == 0.0
    assert "VICReg" in info["doc"]
    assert (info["distribution"], info["version"]) == ("jepa-core", jepa.__version__)


def test_import_discovers_nothing_until_the_first_query() -> None:
    code = (
        "import importlib.metadata as m\n"
        "calls = []\n"
        "original = m.entry_points\n"
        "def counting(**kw):\n"
        "    if kw.get('group') == 'jepa.plugins': calls.append(kw)\n"
        "    return original(**kw)\n"
        "m.entry_points = counting\n"
        "import jepa_core.discovery as d\n"
        "d.entry_points = counting\n"
        "import jepa\n"
        "assert calls == [], calls\n"
        "jepa.list_components(); jepa.list_components('loss'); jepa.build('mlp', 'mlp')\n"
        "assert calls == [{'group': 'jepa.plugins'}], calls\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_register_decorator_adds_a_local_component(fresh_registry) -> None:
    @jepa.register("encoder", "notebook_linear")
    class NotebookLinear(nn.Module):
        """A linear encoder defined in a notebook."""

        num_tokens = None

        def __init__(self, input_dim: int = 3, hidden_dim: int = 6) -> None:
            super().__init__()
            self.embed_dim = hidden_dim
            self.linear = nn.Linear(input_dim, hidden_dim)

        def forward(self, x):
            return self.linear(x)

    [component] = jepa.list_components("encoder", "notebook_*")
    assert component.qualname == "local:notebook_linear"
    model = jepa.build("notebook_linear", "mlp")
    assert model.predictor.embed_dim == 6, "the predictor width follows the encoder"
    pred, target = model(torch.randn(2, 3), torch.randn(2, 3))
    assert pred.shape == (2, 6)
    assert model.spec.encoder.name == "local:notebook_linear"


def test_installed_plugin_is_found_through_its_entry_point(installed_plugins) -> None:
    installed_plugins("good")
    [tiny] = jepa.list_components("encoder", "tiny")
    assert (tiny.qualname, tiny.distribution, tiny.version) == ("good:tiny", "jepa-fixture-good", "1.2.3")
    model = jepa.build("tiny", "mlp", encoder={"input_dim": 5, "hidden_dim": 7})
    assert model(torch.randn(3, 5), torch.randn(3, 5))[0].shape == (3, 7)
    record = next(p for p in fresh_registry_plugins() if p.name == "good")
    assert record.status == "loaded" and record.components == ["good:tiny", "good:mse"]


def fresh_registry_plugins():
    from jepa_core.registry import get_registry

    return get_registry().plugins


def test_a_core_name_a_plugin_reuses_still_means_the_core_one(installed_plugins) -> None:
    installed_plugins("good")  # registers loss 'mse', as the core does
    model = jepa.build("mlp", "mlp", loss="mse")
    assert model.spec.loss.name == "jepa:mse" and type(model.criterion).__module__.startswith("jepa_core")
    model = jepa.build("mlp", "mlp", loss="good:mse", encoder={"input_dim": 4, "hidden_dim": 4})
    assert model.spec.loss.name == "good:mse" and model.criterion.factor == 2.0
    assert jepa.describe("loss", "mse")["qualname"] == "jepa:mse"


def test_core_and_first_party_names_win_bare_lookups_over_a_third_party_plugin(installed_plugins, monkeypatch) -> None:
    installed_plugins("shadow")  # registers encoders 'mlp' (the core's name) and 'cnn' (the vision plugin's)
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 6, "hidden_dim": 8})
    assert model.spec.encoder.name == "jepa:mlp" and type(model.encoder).__name__ != "ShadowEncoder"
    assert jepa.build("cnn", "attention").spec.encoder.name == "vision:cnn", "the README's quick start"
    own = jepa.build("shadow:mlp", "mlp", encoder={"input_dim": 5, "hidden_dim": 7})
    assert own.spec.encoder.name == "shadow:mlp" and type(own.encoder).__name__ == "ShadowEncoder"
    assert own(torch.randn(3, 5), torch.randn(3, 5))[0].shape == (3, 7)
    assert jepa.build("shadow:cnn", "mlp").spec.encoder.name == "shadow:cnn"
    assert jepa.build("shadow_own", "mlp").spec.encoder.name == "shadow:shadow_own", "its own names stay bare"
    from jepa_core.registry import get_registry

    registry = get_registry()
    shadowed = {(c.qualname, winner.qualname) for c, winner in registry.shadowed("shadow")}
    assert shadowed == {("shadow:mlp", "jepa:mlp"), ("shadow:cnn", "vision:cnn")}
    assert registry.shadowed("vision") == [] and registry.shadowed("jepa") == []
    # with the vision plugin switched off, the bare 'cnn' still never means the third party's
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "vision")
    registry.reset()
    with pytest.raises(
        jepa.UnknownComponentError,
        match=r"encoder 'cnn' comes with jepa-plugins-vision .*; its plugin 'vision', installed here, is "
        r"blocked: listed in JEPA_DISABLE_PLUGINS \(take it out to load it\); 'shadow:cnn' "
        r"\(from jepa-fixture-shadow\) has the same name: "
        r"write the qualified name",
    ):
        jepa.build("cnn", "attention")
    assert jepa.build("shadow:cnn", "mlp").spec.encoder.name == "shadow:cnn"


def test_a_name_a_switched_off_third_party_plugin_may_hold_says_the_plugin_is_off(
    installed_plugins, monkeypatch
) -> None:
    installed_plugins("good")  # registers encoder 'tiny'
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "good")
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.raises(jepa.UnknownComponentError) as missing:
        jepa.build("tiny", "mlp")
    assert "note: plugin 'good' (jepa-fixture-good) is blocked: listed in JEPA_DISABLE_PLUGINS" in str(missing.value)


def test_a_saved_model_with_a_shadowed_component_loads_it_by_qualified_name(installed_plugins, tmp_path) -> None:
    installed_plugins("shadow")
    model = jepa.build("shadow:mlp", "mlp", encoder={"input_dim": 5, "hidden_dim": 6}).eval()
    path = model.save_pretrained(tmp_path / "model")
    loaded = jepa.load(path).eval()
    assert loaded.spec.encoder.name == "shadow:mlp" and type(loaded.encoder).__name__ == "ShadowEncoder"
    x = torch.randn(2, 5)
    with torch.no_grad():
        assert torch.equal(model.embed(x), loaded.embed(x))
    # and a model saved with the core's mlp while the plugin is installed keeps meaning the core's
    core = jepa.build("mlp", "mlp", encoder={"input_dim": 5, "hidden_dim": 6})
    assert jepa.load(core.save_pretrained(tmp_path / "core")).spec.encoder.name == "jepa:mlp"


def test_a_local_component_reusing_a_core_name_is_reached_by_its_qualified_name(fresh_registry) -> None:
    with pytest.warns(
        UserWarning,
        match=r"encoder 'mlp' is also the core's \(jepa:mlp\), which the bare name "
        r"'mlp' keeps meaning; build yours as 'local:mlp'",
    ):
        jepa.register("encoder", "mlp")(nn.Identity)
    with pytest.warns(UserWarning, match="the encoder of jepa-plugins-vision"):
        jepa.register("encoder", "cnn")(nn.Identity)
    assert jepa.build("mlp", "mlp").spec.encoder.name == "jepa:mlp"
    assert jepa.build("cnn", "mlp").spec.encoder.name == "vision:cnn"
    assert fresh_registry.resolve("encoder", "local:mlp").factory is nn.Identity


def test_a_warning_given_while_building_keeps_its_place_and_its_filters(fresh_registry) -> None:
    import inspect
    import warnings

    def noisy_factory(size: int = 2) -> nn.Module:
        warnings.warn("built with a warning", UserWarning, stacklevel=1)
        return nn.Linear(size, size)

    jepa.register("encoder", "noisy")(noisy_factory)
    warn_line = inspect.getsourcelines(noisy_factory)[1] + 1
    with pytest.warns(UserWarning, match="built with a warning") as seen:
        jepa.build_component("encoder", {"name": "noisy"})
    # not a jepa module: it stays at its own line, as if jepa had not caught it
    assert [(w.filename, w.lineno) for w in seen] == [(__file__, warn_line)]
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="built with")
        with pytest.raises(jepa.SpecError, match="UserWarning: built with"):  # the caller's filters apply
            jepa.build_component("encoder", {"name": "noisy"})
        warnings.filterwarnings("ignore", message="built with")
        jepa.build_component("encoder", {"name": "noisy"})


def test_no_first_party_name_is_a_core_name(fresh_registry) -> None:
    """Core and first-party names both win bare lookups (the core's first, were they
    ever to meet), so they must never meet."""
    core = {(c.kind, c.name) for c in jepa.list_components() if c.scope == "jepa"}
    assert not core & set(FIRST_PARTY)


IMPORTED_PLUGINS = (
    "import sys\n"
    "def plugins_imported():\n"
    "    return sorted(m for m in sys.modules if m.startswith(('jepa_fixture', 'jepa_plugins')))\n"
)


def test_qualified_names_import_only_the_plugin_they_name(installed_plugins, tmp_path) -> None:
    installed_plugins("good", "broken_import")
    code = IMPORTED_PLUGINS + (
        "import jepa, torch\n"
        "model = jepa.build('good:tiny', 'jepa:mlp', loss='jepa:mse', encoder={'input_dim': 3})\n"
        "assert [c.qualname for c in jepa.list_components('encoder', 'good:*')] == ['good:tiny']\n"
        "assert plugins_imported() == ['jepa_fixture_good', 'jepa_fixture_good.plugin'], plugins_imported()\n"
        f"model.save_pretrained({str(tmp_path / 'model')!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    # a saved model names its components qualified, so loading it needs only its own plugins
    code = IMPORTED_PLUGINS + (
        "import jepa\n"
        f"jepa.JEPA.from_pretrained({str(tmp_path / 'model')!r})\n"
        "assert plugins_imported() == ['jepa_fixture_good', 'jepa_fixture_good.plugin'], plugins_imported()\n"
        "jepa.list_components()  # everything: every plugin is imported, the broken one recorded\n"
        "assert 'jepa_plugins_vision' in plugins_imported(), plugins_imported()\n"
        "from jepa_core.registry import get_registry\n"
        "assert {p.name: p.status for p in get_registry().plugins}['broken_import'] == 'failed'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_plugins_clashing_on_a_name_are_both_named(installed_plugins) -> None:
    installed_plugins("clash_a", "clash_b")
    with pytest.raises(
        jepa.AmbiguousComponentError,
        match=r"clash_a:twin .*jepa-fixture-clash-a.* and "
        r"clash_b:twin .*jepa-fixture-clash-b",
    ):
        jepa.build("twin", "mlp")
    assert jepa.build("clash_b:twin", "mlp").spec.encoder.name == "clash_b:twin"


def test_a_plugin_that_fails_to_import_is_recorded_not_fatal(installed_plugins) -> None:
    installed_plugins("broken_import", "good")
    assert jepa.build("tiny", "mlp").spec.encoder.name == "good:tiny"
    broken = next(p for p in fresh_registry_plugins() if p.name == "broken_import")
    assert broken.status == "failed"
    assert "import failed: RuntimeError: this plugin is broken on purpose" in broken.error


def test_a_plugin_that_fails_inside_register_leaves_no_half_registration(installed_plugins) -> None:
    installed_plugins("broken_register")
    assert jepa.list_components("encoder", "half_registered") == []
    broken = next(p for p in fresh_registry_plugins() if p.name == "broken_register")
    assert broken.status == "failed" and "registration fails on purpose" in broken.error
    with pytest.raises(jepa.UnknownComponentError, match="plugin 'broken_register'.*failed to load"):
        jepa.build("half_registered", "mlp")


def test_strict_mode_raises_on_a_broken_plugin(installed_plugins, monkeypatch) -> None:
    installed_plugins("broken_import")
    monkeypatch.setenv("JEPA_STRICT_PLUGINS", "1")
    with pytest.raises(jepa.PluginError, match="broken_import.*this plugin is broken on purpose"):
        jepa.list_components()


def test_allow_list_loads_only_the_named_plugins(installed_plugins, monkeypatch) -> None:
    installed_plugins("good", "clash_a", "broken_import")
    monkeypatch.setenv("JEPA_PLUGINS", "jepa-fixture-clash-a")  # a distribution name works too
    assert {c.scope for c in jepa.list_components()} == {"jepa", "clash_a"}, "nothing else loads"
    records = {p.name: p for p in fresh_registry_plugins()}
    assert records["good"].status == "not allowed" and records["broken_import"].status == "not allowed"
    assert records["good"].error == "not listed in JEPA_PLUGINS (add it there to load it)"


def test_empty_allow_list_keeps_only_the_core(installed_plugins, monkeypatch) -> None:
    installed_plugins("good")
    monkeypatch.setenv("JEPA_PLUGINS", "")
    assert {c.scope for c in jepa.list_components()} == {"jepa"}
    [good] = [p for p in fresh_registry_plugins() if p.name == "good"]
    assert good.error.startswith("JEPA_PLUGINS is set but empty, which loads no plugin (unset it")


def test_block_list_skips_the_named_plugins(installed_plugins, monkeypatch) -> None:
    installed_plugins("good", "broken_import")
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "broken_import, good")
    assert not {"good", "broken_import"} & {c.scope for c in jepa.list_components()}
    statuses = {p.name: p.status for p in fresh_registry_plugins()}
    assert statuses["good"] == statuses["broken_import"] == "blocked"


def test_unknown_names_offer_close_matches(fresh_registry) -> None:
    with pytest.raises(jepa.UnknownComponentError) as info:
        jepa.build("transfomer", "mlp")
    assert info.value.path == "encoder.name"
    assert "no encoder named 'transfomer'" in str(info.value) and "did you mean 'transformer'" in str(info.value)
    assert "'jepa:transformer'" not in str(info.value)  # one spelling per suggestion
    with pytest.raises(jepa.UnknownComponentError, match=r"\(did you mean 'jepa:transformer'\?\)"):
        jepa.build("jepa:transfomer", "mlp")  # a qualified name: the names of that plugin, qualified
    # a plugin not installed here: its own names are no typo of others', so none are offered
    with pytest.raises(jepa.UnknownComponentError, match=r"'seqenc:blocks' is available; no plugin named 'seqenc'"):
        jepa.build("mlp", "mlp", masker="seqenc:blocks")
    with pytest.raises(jepa.UnknownComponentError, match=r"\(did you mean 'jepa:cosine'\?\); no plugin named 'jepq'"):
        jepa.build("mlp", "mlp", loss="jepq:cosine_x")  # a misspelt scope still gets them
    with pytest.raises(jepa.UnknownComponentError, match="no encoder named 'zzz' is available; `jepa list encoder` "):
        jepa.build("zzz", "mlp")  # nothing close: where to look


def test_a_config_naming_several_parts_of_a_blocked_plugin_gives_the_remedy_once(fresh_registry, monkeypatch) -> None:
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "vision")
    config = {"model": {"encoder": "cnn", "predictor": "attention", "masker": "multiblock"}, "data": {"name": "digits"}}
    with pytest.raises(jepa.SpecError) as info:
        jepa.load_run_spec(config)
    remedy = "its plugin 'vision', installed here, is blocked: listed in JEPA_DISABLE_PLUGINS (take it out to load it)"
    assert [path for path, _ in info.value.issues] == ["model.encoder.name", "model.masker.name", "data.name"]
    assert all(remedy in message for _, message in info.value.issues)  # each issue whole, for code that reads them
    said = str(info.value)
    assert said.count(remedy) == 1 and said.count("comes with jepa-plugins-vision") == 3
    assert "data.name: no dataset named 'digits' is available; dataset 'digits' comes with" in said
    with pytest.raises(jepa.UnknownComponentError) as qualified:
        fresh_registry.resolve("encoder", "vision:cnn")
    assert remedy in str(qualified.value) and "did you mean" not in str(qualified.value), "no other plugin's names"


def test_a_config_naming_parts_of_a_missing_distribution_gets_one_command_for_them_all(
    fresh_registry, monkeypatch
) -> None:
    # two names a first-party distribution provides, one needing an extra, and that distribution not installed
    # (the names are added to the table, since every real first-party distribution is installed here)
    ghost = "jepa-plugins-ghost"
    monkeypatch.setitem(FIRST_PARTY, ("encoder", "ghostnet"), ghost)
    monkeypatch.setitem(FIRST_PARTY, ("dataset", "ghost_frames"), ghost)
    monkeypatch.setitem(EXTRAS, ("dataset", "ghost_frames"), "frames")
    config = {"model": {"encoder": "ghostnet", "predictor": "attention"}, "data": {"name": "ghost_frames"}}
    with pytest.raises(jepa.SpecError) as info:
        jepa.load_run_spec(config)
    assert [path for path, _ in info.value.issues] == ["model.encoder.name", "data.name", ""]
    assert f"encoder 'ghostnet' comes with {ghost}: {install_command(ghost)}" in str(info.value)
    assert str(info.value).endswith(
        f"; one command installs every part this config names from {ghost}: {install_command(ghost, 'frames')}"
    )
    # one part (the masker's name is the encoder's, but no masker of it is listed): its own command does it
    with pytest.raises(jepa.SpecError) as single:
        model = {"encoder": "ghostnet", "predictor": "attention", "masker": "ghostnet"}
        jepa.load_run_spec({"model": model, "data": {"name": "digits"}})
    assert "one command" not in str(single.value)


@pytest.mark.parametrize(("kind", "name"), sorted(FIRST_PARTY))
def test_first_party_names_say_which_distribution_to_install(fresh_registry, monkeypatch, kind, name) -> None:
    monkeypatch.setenv("JEPA_PLUGINS", "")  # as if no plugin distribution were installed
    distribution = FIRST_PARTY[kind, name]
    with pytest.raises(
        jepa.UnknownComponentError,
        match=re.escape(f"{kind} {name!r} comes with {distribution} {version(distribution)}; ")
        + r"its plugin '\w+', installed here, is not allowed: JEPA_PLUGINS is set but empty, which loads no plugin",
    ):
        fresh_registry.resolve(kind, name)
    # where it is not installed, the message gives the pip command with the extra the component needs
    hint = fresh_registry.install_hint(f"{kind} {name!r}", "jepa-plugins-nowhere", EXTRAS.get((kind, name), ""))
    assert hint == f"{kind} {name!r} comes with jepa-plugins-nowhere: " + install_command(
        "jepa-plugins-nowhere", EXTRAS.get((kind, name), "")
    )


def test_the_core_and_plugin_scopes_cannot_be_claimed_in_process(fresh_registry) -> None:
    for scope, owner in (("jepa", "jepa-core"), ("vision", "jepa-plugins-vision"), ("text", "jepa-plugins-text")):
        with pytest.raises(jepa.PluginError, match=f"scope '{scope}' belongs to {owner}"):
            fresh_registry.registrar(scope, replace=True)
    assert fresh_registry.resolve("encoder", "jepa:mlp").distribution == "jepa-core"
    registrar = fresh_registry.registrar("mine")
    with pytest.raises(jepa.PluginError, match="own scope 'mine' only"):
        registrar.scope = "jepa"
    registrar.add("encoder", "mlp", nn.Identity)
    assert fresh_registry.resolve("encoder", "mine:mlp").factory is nn.Identity
    with pytest.raises(TypeError):
        fresh_registry.templates["sequences"] = ("mine", "model: {}")  # read-only


def test_a_local_name_missing_in_a_fresh_process_says_where_local_names_live() -> None:
    with pytest.raises(jepa.UnknownComponentError, match=r"exist only in a process that registered them"):
        jepa.build("local:never_registered_here", "mlp")
