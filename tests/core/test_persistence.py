"""Saved models: config.json + model.safetensors, rebuilt by name, atomic writes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import jepa
import pytest
import torch
from jepa_core.persistence import atomic_write_bytes, atomic_write_dir

# where the fixture plugin is pip-installed from (on no index): the install command names it
GOOD_FOLDER = Path(__file__).parents[1] / "fixtures" / "plugins" / "good"


def trained_masked_model() -> jepa.JEPA:
    torch.manual_seed(0)
    model = jepa.build(
        "transformer",
        "attention",
        masker="random",
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"input_dim": 3, "hidden_dim": 16, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 10},
        predictor={"depth": 1, "heads": 2},
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        out = model.step(torch.randn(4, 10, 3))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        model.update_target(0.9)
    return model


def test_save_and_load_give_identical_outputs(tmp_path) -> None:
    model = trained_masked_model().eval()
    path = model.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["jepa_version"] == jepa.__version__
    assert config["spec"]["encoder"]["name"] == "jepa:transformer"
    assert config["components"]["encoder"] == {
        "name": "jepa:transformer",
        "distribution": "jepa-core",
        "version": jepa.__version__,
    }
    loaded = jepa.load(path)
    assert isinstance(loaded, jepa.JEPA) and not loaded.training
    x = torch.randn(2, 10, 3)
    masks = model.masker(2, generator=torch.Generator().manual_seed(0))
    for a, b in zip(model.views(x, masks=masks), loaded.views(x, masks=masks), strict=True):
        assert torch.equal(a, b)
    assert torch.equal(model.embed(x), loaded.embed(x))
    assert torch.equal(jepa.JEPA.from_pretrained(path).embed(x, encoder="online"), model.embed(x, encoder="online"))


def test_directly_constructed_registered_components_can_be_saved(tmp_path) -> None:
    model = jepa.JEPA(jepa.Encoder(input_dim=4, hidden_dim=8, depth=1), jepa.Predictor(hidden_dim=8), loss="l1")
    loaded = jepa.load(model.save_pretrained(tmp_path / "seed"))
    assert loaded.spec.to_dict() == model.spec.to_dict()
    assert loaded.spec.loss.name == "jepa:l1"


def test_loading_needs_no_unpickling(tmp_path) -> None:
    path = trained_masked_model().save_pretrained(tmp_path / "model")
    code = (
        "import pickle, sys, torch\n"
        "def refuse(*a, **k): raise AssertionError('unpickling attempted')\n"
        "pickle.load = pickle.loads = pickle.Unpickler = refuse\n"
        "torch.load = refuse\n"
        "import jepa\n"
        f"jepa.load({str(path)!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_directory_that_is_not_a_checkpoint_gets_a_clear_error(tmp_path) -> None:
    with pytest.raises(jepa.CheckpointError, match="does not exist"):
        jepa.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(jepa.CheckpointError, match="not a jepa model directory: it has no config.json"):
        jepa.load(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "config.json").write_text('{"architectures": ["Bert"]}')
    with pytest.raises(jepa.CheckpointError, match="not a jepa config"):
        jepa.load(tmp_path / "other")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(jepa.CheckpointError, match="is a file"):
        jepa.load(tmp_path / "file.txt")


def test_weights_that_do_not_fit_the_config_are_refused(tmp_path) -> None:
    path = trained_masked_model().save_pretrained(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    config["spec"]["encoder"]["params"]["depth"] = 2
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(jepa.CheckpointError, match="do not fit"):
        jepa.load(path)


def test_weights_cut_short_are_called_damaged_not_a_misfit(tmp_path) -> None:
    path = trained_masked_model().save_pretrained(tmp_path / "model")
    weights = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(weights[: len(weights) // 2])
    with pytest.raises(jepa.CheckpointError) as info:
        jepa.load(path)
    assert str(info.value).startswith(f"{str(path / 'model.safetensors')!r} is damaged (")
    assert "save the model again" in str(info.value) and "do not fit" not in str(info.value)


def saved_good_model(installed_plugins, tmp_path) -> tuple:
    """A model saved with the fixture plugin ``good`` installed: (its path, the plugin's site)."""
    sites = installed_plugins("good")
    model = jepa.build("good:tiny", "mlp", loss="jepa:mse", encoder={"input_dim": 3, "hidden_dim": 5})
    return model.save_pretrained(tmp_path / "model"), sites


def test_a_checkpoint_from_a_missing_plugin_names_the_distribution(installed_plugins, tmp_path, monkeypatch) -> None:
    path, sites = saved_good_model(installed_plugins, tmp_path)
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in sites])  # uninstalled
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.raises(
        jepa.CheckpointError,
        match=r"jepa-fixture-good 1\.2\.3 \(for encoder 'good:tiny'\), not "
        rf"installed here: pip install {re.escape(str(GOOD_FOLDER))}",
    ):
        jepa.load(path)


def test_a_checkpoint_whose_installed_plugin_failed_says_why_not_to_install_it(
    installed_plugins, tmp_path, monkeypatch
) -> None:
    path, _ = saved_good_model(installed_plugins, tmp_path)
    monkeypatch.setitem(sys.modules, "jepa_fixture_good.plugin", None)  # importing the plugin now fails
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.raises(jepa.CheckpointError) as info:
        jepa.load(path)
    message = str(info.value)
    assert (
        "encoder 'tiny' comes with jepa-fixture-good 1.2.3, which is installed but its plugin 'good' failed "
        "to load: import failed: ModuleNotFoundError: import of jepa_fixture_good.plugin halted" in message
    )
    assert "pip install" not in message


def test_a_checkpoint_whose_plugin_is_blocked_names_the_switch(installed_plugins, tmp_path, monkeypatch) -> None:
    path, _ = saved_good_model(installed_plugins, tmp_path)
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "good")
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.raises(
        jepa.CheckpointError, match="its plugin 'good', installed here, is blocked: listed in JEPA_DISABLE_PLUGINS"
    ):
        jepa.load(path)


def test_saving_is_atomic(tmp_path) -> None:
    model = trained_masked_model()
    path = model.save_pretrained(tmp_path / "model")
    before = {p.name: p.read_bytes() for p in path.iterdir()}

    def crash(directory):
        (directory / "config.json").write_text("{half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_dir(path, crash)
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before, "the old checkpoint is intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"], "no temporary directory is left"
    model.save_pretrained(path)  # overwriting a checkpoint works
    assert jepa.load(path).spec.to_dict() == model.spec.to_dict()


def test_a_save_never_deletes_what_else_a_directory_holds(tmp_path) -> None:
    model = trained_masked_model()
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    (project / "train.py").write_text("print('mine')")
    with pytest.raises(jepa.CheckpointError) as info:
        model.save_pretrained(project)
    assert str(info.value) == (
        f"cannot save the model to {str(project)!r}: the directory holds 'data', 'train.py', and a save replaces "
        "the whole directory; give a new or empty directory, or one that holds only a saved model"
    )
    assert sorted(p.name for p in project.iterdir()) == ["data", "train.py"], "nothing was touched"
    # an empty directory, and a saved model, are replaced as before
    (tmp_path / "empty").mkdir()
    saved = model.save_pretrained(tmp_path / "empty")
    assert jepa.load(model.save_pretrained(saved)).spec.to_dict() == model.spec.to_dict()


def test_a_save_the_file_system_refuses_names_the_path_asked_for(tmp_path) -> None:
    model = trained_masked_model()
    (tmp_path / "notes.txt").write_text("a file where a folder would go")
    for deep in ("model", "models/tiny/model"):  # the file that blocks the path is named, however deep
        with pytest.raises(OSError, match=rf"cannot write '.*notes\.txt/{deep}': '[^']*notes\.txt' is a file, not a"):
            model.save_pretrained(tmp_path / "notes.txt" / deep)
    with pytest.raises(OSError, match=r"cannot write '.*notes\.txt/run\.json': '.*notes\.txt' is a file"):
        atomic_write_bytes(tmp_path / "notes.txt" / "run.json", b"{}")
    (tmp_path / "results").mkdir()
    with pytest.raises(IsADirectoryError, match=r"cannot write '.*results': Is a directory") as info:
        atomic_write_bytes(tmp_path / "results", b"{}")
    assert ".tmp" not in str(info.value), "the temp file is ours, not the user's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "results"], "nothing left behind"


def test_registering_a_class_leaves_it_unchanged_and_saving_a_direct_instance_says_what_to_add(tmp_path) -> None:
    from torch import nn

    class Plain(nn.Module):
        num_tokens = None
        grid = None

        def __init__(self, input_dim: int = 4, hidden_dim: int = 8) -> None:
            super().__init__()
            self.embed_dim = hidden_dim
            self.net = nn.Linear(input_dim, hidden_dim)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    init = Plain.__init__
    jepa.register("encoder", "plain_direct")(Plain)
    assert Plain.__init__ is init  # registration does not wrap the constructor
    built = jepa.build("plain_direct", "mlp")  # by name: it remembers its arguments and saves
    built.save_pretrained(tmp_path / "by_name")
    assert jepa.load(tmp_path / "by_name").spec.encoder.params["hidden_dim"] == 8
    direct = jepa.JEPA(Plain(hidden_dim=6), jepa.MLPPredictor(hidden_dim=6))
    with pytest.raises(jepa.SpecError) as info:
        direct.save_pretrained(tmp_path / "direct")
    assert (
        "encoder Plain (registered as 'local:plain_direct') was constructed directly and does not remember its "
        "arguments, so a saved model could not rebuild it: decorate its class with @jepa.capture_arguments (in "
        "a plugin module, directly above `class`; in a notebook or script that uses @jepa.register, below it)"
    ) in str(info.value)
    jepa.capture_arguments(Plain)  # the opt-in: now a direct instance saves too
    again = jepa.JEPA(Plain(hidden_dim=6), jepa.MLPPredictor(hidden_dim=6))
    again.save_pretrained(tmp_path / "direct")
    assert jepa.load(tmp_path / "direct").spec.encoder.params["hidden_dim"] == 6


def test_loss_classes_that_inherit_their_constructor_save_when_constructed_directly(fresh_registry, tmp_path) -> None:
    # what the advice for a loss function leads to: a class with only a forward
    @jepa.register("loss", "stateless_mse")
    class StatelessMSE(torch.nn.Module):
        def forward(self, pred, target):
            return (pred - target).pow(2).mean()

    # a subclass that changes forward only: its inherited constructor's arguments are remembered
    @jepa.register("loss", "double_smooth_l1")
    @jepa.capture_arguments
    class DoubleSmoothL1(torch.nn.SmoothL1Loss):
        def forward(self, pred, target):
            return 2 * super().forward(pred, target)

    encoder = jepa.TransformerEncoder(**TOKEN_ENCODER)
    for loss, name, params in (
        (StatelessMSE(), "local:stateless_mse", {}),
        (DoubleSmoothL1(beta=0.5), "local:double_smooth_l1", {"beta": 0.5}),
    ):
        model = jepa.JEPA(encoder, jepa.AttentionPredictor(hidden_dim=8, depth=1, heads=2), loss=loss)
        model.save_pretrained(tmp_path / name.split(":")[1])
        saved = jepa.load(tmp_path / name.split(":")[1]).spec.loss
        assert saved.name == name and params.items() <= saved.params.items()


# -- a saved model whose masker or loss cannot be rebuilt here ---------------------------------

TOKENS = 6
TOKEN_ENCODER = {"input_dim": 3, "hidden_dim": 8, "depth": 1, "heads": 2, "pool": "none", "num_tokens": TOKENS}


class WeightedLoss(torch.nn.Module):
    """A loss with a parameter of its own (saved under the model's ``criterion.`` keys)."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale
        self.weight = torch.nn.Parameter(torch.full((1,), scale))

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return (self.weight * (pred - target) ** 2).mean()


class HalvesMasker:
    """The first half of the tokens as context, the second half as one target block."""

    def __init__(self, num_tokens: int | None = None, shift: int = 0) -> None:
        self.num_tokens = num_tokens
        self.shift = shift

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> jepa.Masks:
        half = (self.num_tokens or 2) // 2
        context = torch.arange(half).repeat(batch_size, 1)
        return jepa.Masks(context, (context + half,))


def register_training_parts() -> None:
    jepa.register("loss", "weighted")(WeightedLoss)
    jepa.register("masker", "halves")(HalvesMasker)


def test_a_model_whose_loss_and_masker_are_not_installed_loads_to_embed_but_not_to_train(
    fresh_registry, tmp_path
) -> None:
    register_training_parts()
    torch.manual_seed(0)
    model = jepa.build(
        "transformer",
        "attention",
        masker={"name": "halves", "params": {"shift": 1}},
        loss={"name": "weighted", "params": {"scale": 3.0}},
        encoder=TOKEN_ENCODER,
        predictor={"depth": 1, "heads": 2},
    ).eval()
    with torch.no_grad():
        model.criterion.weight.fill_(5.0)  # a trained weight of the loss, not its initial one
    x = torch.randn(4, TOKENS, 3)
    embeddings = model.embed(x)
    masks = model.masker(4)
    views = model.views(x, masks=masks)
    saved = model.save_pretrained(tmp_path / "model")

    fresh_registry.reset()  # another process: neither component is registered
    with pytest.warns(UserWarning) as caught:
        loaded = jepa.load(saved)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"the model saved in {str(saved)!r} is loaded without its masker 'local:halves' (")
    assert "and its loss 'local:weighted' (no loss named 'local:weighted' is available" in message
    assert "it embeds as saved, and predicts given masks (model(x, masks=jepa.Masks(...)))" in message
    assert "but training it needs the masker and loss" in message
    assert caught[0].filename == __file__  # the user's line, not jepa's
    assert torch.equal(loaded.embed(x), embeddings)
    for a, b in zip(loaded.views(x, masks=masks), views, strict=True):  # the predictor runs, on given masks
        assert torch.equal(a, b)
    with pytest.raises(jepa.CheckpointError) as info:
        loaded.step(x)  # draws masks: the masker is the first part used
    assert (
        f"this model was loaded from {str(saved)!r} without its masker 'local:halves', which cannot be rebuilt "
        "here (no masker named 'local:halves' is available"
    ) in str(info.value)
    assert "training it needs that masker: make its plugin available (install, or unblock" in str(info.value)
    with pytest.raises(jepa.CheckpointError, match="without its loss 'local:weighted'"):
        loaded.step(x, masks=masks)  # masks given: the loss is the part used
    with pytest.raises(jepa.CheckpointError, match="without its masker 'local:halves' and its loss 'local:weighted'"):
        jepa.Trainer(loaded, torch.randn(8, TOKENS, 3), {"steps": 1, "batch_size": 4, "progress": False})
    with pytest.raises(jepa.CheckpointError, match="training it needs the masker and loss"):  # nor resume it
        jepa.Trainer(loaded, torch.randn(8, TOKENS, 3), {"steps": 1, "batch_size": 4}, run_dir=tmp_path, resume=True)

    loaded.save_pretrained(tmp_path / "again")  # the original specs, and the loss's weight, go on
    config = json.loads((tmp_path / "again" / "config.json").read_text())
    assert config["spec"]["loss"] == {"name": "local:weighted", "params": {"scale": 3.0}}
    assert config["spec"]["masker"] == {"name": "local:halves", "params": {"num_tokens": TOKENS, "shift": 1}}
    assert config["components"] == json.loads((saved / "config.json").read_text())["components"]
    register_training_parts()  # a process that has them
    restored = jepa.load(tmp_path / "again")
    assert isinstance(restored.criterion, WeightedLoss) and restored.criterion.scale == 3.0
    assert float(restored.criterion.weight.detach()) == 5.0
    assert isinstance(restored.masker, HalvesMasker) and restored.masker.shift == 1
    assert torch.equal(restored.embed(x), embeddings)
    assert torch.isfinite(restored.step(x).loss)


def test_a_model_whose_loss_plugin_is_not_installed_loads_with_the_install_command(
    installed_plugins, tmp_path, monkeypatch
) -> None:
    sites = installed_plugins("good")
    model = jepa.build("mlp", "mlp", loss="good:mse", encoder={"input_dim": 3, "hidden_dim": 5})
    saved = model.save_pretrained(tmp_path / "model")
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in sites])  # uninstalled
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.warns(UserWarning, match="loaded without its loss 'good:mse'") as caught:
        loaded = jepa.load(saved)
    command = f"pip install {GOOD_FOLDER}"
    assert f"jepa-fixture-good 1.2.3 (for loss 'good:mse'), not installed here: {command}" in str(caught[0].message)
    x = torch.randn(2, 3)
    assert torch.equal(loaded.embed(x), model.embed(x))
    with pytest.raises(jepa.CheckpointError, match=re.escape(command)) as info:
        loaded.step(x, torch.randn(2, 3))
    assert "without its loss 'good:mse'" in str(info.value)


@pytest.mark.parametrize(
    ("direct_url", "command"),
    [
        ({"url": "file://{root}/my%20plugin", "dir_info": {}}, "pip install '{root}/my plugin'"),
        ({"url": "file://{root}/plugin", "dir_info": {"editable": True}}, "pip install -e {root}/plugin"),
        (  # the folder is gone (moved, or another machine): by name, saying where it was
            {"url": "file:///gone/plugin", "dir_info": {"editable": True}},
            "pip install jepa-mine (it was installed from /gone/plugin, which is not here)",
        ),
        (
            {"url": "https://github.com/me/plugin", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
            "pip install git+https://github.com/me/plugin@abc123",
        ),
        (
            {"url": "https://example.org/plugin-1.0-py3-none-any.whl", "archive_info": {}},
            "pip install https://example.org/plugin-1.0-py3-none-any.whl",
        ),
        (None, "pip install jepa-mine"),  # from an index: pip writes no direct_url.json
    ],
)
def test_the_reinstall_command_follows_where_pip_installed_a_distribution_from(
    tmp_path: Path, direct_url: dict | None, command: str
) -> None:
    from importlib.metadata import PathDistribution

    from jepa_core.first_party import installed_from, reinstall_command

    info = tmp_path / "jepa_mine-1.0.dist-info"
    info.mkdir()
    (tmp_path / "my plugin").mkdir()
    (tmp_path / "plugin").mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jepa-mine\nVersion: 1.0\n")
    if direct_url is not None:
        (info / "direct_url.json").write_text(json.dumps(direct_url).replace("{root}", str(tmp_path)))
    expected = command.replace("{root}", str(tmp_path))
    assert reinstall_command("jepa-mine", installed_from(PathDistribution(info))) == expected


def test_the_reinstall_command_keeps_the_extras_a_saved_component_needs(tmp_path: Path) -> None:
    """A saved hf_vision encoder needs transformers: every form of the command installs
    the distribution with its `hf` extra, not the bare distribution."""
    from jepa_core.first_party import reinstall_command
    from jepa_core.persistence import explain_unknown

    (tmp_path / "plugin").mkdir()
    assert reinstall_command("jepa-mine", f"-e {tmp_path}/plugin", "hf") == f"pip install -e '{tmp_path}/plugin[hf]'"
    assert (
        reinstall_command("jepa-mine", "git+https://github.com/me/plugin@abc123", "hf")
        == "pip install 'jepa-mine[hf] @ git+https://github.com/me/plugin@abc123'"
    )
    assert reinstall_command("jepa-mine", None, "hf") == "pip install 'jepa-mine[hf]'"
    saved = {
        "components": {
            "encoder": {"name": "vision:hf_vision", "distribution": "jepa-gone", "version": "1.0"},
            "predictor": {"name": "jepa:mlp", "distribution": "jepa-core", "version": "1.0"},
        }
    }
    said = explain_unknown(saved, "no encoder named 'vision:hf_vision' is available")
    command = "pip install 'jepa-gone[hf]'"
    assert said.endswith(f"jepa-gone 1.0 (for encoder 'vision:hf_vision'), not installed here: {command}")


def test_install_hints_name_the_local_folder_a_distribution_came_from(installed_plugins, tmp_path) -> None:
    """A distribution on no index installs from its folder: the hint for its extras names
    that folder (the bare name made pip answer "no matching distribution")."""
    import shlex

    from jepa_core.first_party import _sibling_folder, install_command

    installed_plugins("good")  # installed with pip from its folder
    assert install_command("jepa-fixture-good", "plot") == f"pip install {shlex.quote(f'{GOOD_FOLDER}[plot]')}"
    assert install_command("jepa-fixture-good") == f"pip install {shlex.quote(str(GOOD_FOLDER))}"
    assert install_command("jepa-not-installed-anywhere", "x") == "pip install 'jepa-not-installed-anywhere[x]'"
    # not installed, but checked out beside jepa-core's folder (this repository's layout)
    (tmp_path / "jepa_core").mkdir()
    (tmp_path / "jepa_plugins_text").mkdir()
    (tmp_path / "jepa_plugins_text" / "pyproject.toml").write_text('[project]\nname = "jepa-plugins-text"\n')
    core = (str(tmp_path / "jepa_core"), True)
    assert _sibling_folder("jepa-plugins-text", core) == (str(tmp_path / "jepa_plugins_text"), True)
    assert _sibling_folder("jepa-plugins-vision", core) is None, "no folder there: by name"
    (tmp_path / "jepa_plugins_vision").mkdir()
    (tmp_path / "jepa_plugins_vision" / "pyproject.toml").write_text('[project]\nname = "someone-else"\n')
    assert _sibling_folder("jepa-plugins-vision", core) is None, "a folder of that name holding another project"


def test_a_model_whose_loss_plugin_is_blocked_loads_and_says_so(installed_plugins, tmp_path, monkeypatch) -> None:
    installed_plugins("good")
    model = jepa.build("mlp", "mlp", loss="good:mse", encoder={"input_dim": 3, "hidden_dim": 5})
    saved = model.save_pretrained(tmp_path / "model")
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "good")
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.warns(UserWarning, match="its plugin 'good', installed here, is blocked: listed in JEPA_DISABLE"):
        loaded = jepa.load(saved)
    x = torch.randn(2, 3)
    assert torch.equal(loaded.embed(x), model.embed(x))


def test_a_model_whose_encoder_is_not_installed_still_does_not_load(fresh_registry, tmp_path) -> None:
    jepa.register("encoder", "plain_missing")(jepa.Encoder)
    register_training_parts()
    model = jepa.build("plain_missing", "mlp", loss="weighted", encoder={"input_dim": 3, "hidden_dim": 8})
    saved = model.save_pretrained(tmp_path / "model")
    fresh_registry.reset()  # the loss is missing too, but the encoder's weights are the model
    with pytest.raises(jepa.CheckpointError, match="cannot rebuild .* no encoder named 'local:plain_missing'"):
        jepa.load(saved)
