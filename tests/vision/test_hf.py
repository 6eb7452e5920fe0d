"""Pretrained transformers backbones: hf_vision and vjepa2_predictor on real tiny models.

Every backbone here is a real transformers model built from a tiny config (width 32,
2 layers, 16x16 images in 4x4 patches) and saved to a temporary directory, so
nothing is downloaded.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap

import jepa
import pytest
import torch
from jepa_core.errors import TokenCountError
from jepa_core.layers import gather_tokens

transformers = pytest.importorskip("transformers")

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 16,
    "patch_size": 4,
}
TINY_VJEPA2 = {
    "model_type": "vjepa2",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "mlp_ratio": 2.0,
    "crop_size": 16,
    "patch_size": 4,
    "frames_per_clip": 4,
    "tubelet_size": 2,
    "pred_hidden_size": 16,
    "pred_num_attention_heads": 2,
    "pred_num_hidden_layers": 1,
    "pred_num_mask_tokens": 2,
    "pred_zero_init_mask_tokens": False,
}
#: ViT-family configs by model_type, and how many class/distillation/register tokens they add
PREFIXED = {
    "vit": ({"model_type": "vit", **TINY}, 1),
    "deit": ({"model_type": "deit", **TINY}, 2),
    "dinov2": ({"model_type": "dinov2", **TINY}, 1),
    "dinov2_with_registers": ({"model_type": "dinov2_with_registers", **TINY, "num_register_tokens": 2}, 3),
}


def _save(model: torch.nn.Module, path) -> str:
    model.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="module")
def ijepa_dir(tmp_path_factory) -> str:
    torch.manual_seed(0)
    config = transformers.IJepaConfig(**TINY)
    return _save(transformers.IJepaModel(config), tmp_path_factory.mktemp("hub") / "tiny-ijepa")


@pytest.fixture(scope="module")
def vjepa2_dir(tmp_path_factory) -> str:
    torch.manual_seed(0)
    settings = {k: v for k, v in TINY_VJEPA2.items() if k != "model_type"}
    config = transformers.VJEPA2Config(**settings)
    return _save(transformers.VJEPA2Model(config), tmp_path_factory.mktemp("hub") / "tiny-vjepa2")


def _library(path: str) -> torch.nn.Module:
    return transformers.AutoModel.from_pretrained(path).eval()


def _scramble(x: torch.Tensor, tokens: torch.Tensor, patch: int, tubelet: int = 1) -> torch.Tensor:
    """``x`` with the pixels of the given token indices (per sample) replaced by noise."""
    x = x.clone()
    width = x.shape[-1] // patch
    per_frame = (x.shape[-2] // patch) * width
    for sample, row in enumerate(tokens.tolist()):
        for token in row:
            frame, cell = divmod(token, per_frame)
            r, c = divmod(cell, width)
            box = (sample, slice(None))
            if x.dim() == 5:
                box += (slice(frame * tubelet, (frame + 1) * tubelet),)
            box += (slice(r * patch, (r + 1) * patch), slice(c * patch, (c + 1) * patch))
            x[box] = torch.randn_like(x[box]) * 3
    return x


def _dropped(keep: torch.Tensor, num_tokens: int) -> torch.Tensor:
    return torch.stack([torch.tensor([t for t in range(num_tokens) if t not in set(row.tolist())]) for row in keep])


# -- the library's own forward, and what build wires ------------------------------------------------


def test_an_ijepa_checkpoint_gives_the_librarys_own_tokens(ijepa_dir):
    model = jepa.build(
        "hf_vision", "attention", encoder={"path": ijepa_dir}, masker="multiblock", predictor={"depth": 1}
    )
    encoder = model.encoder.eval()
    assert (encoder.embed_dim, encoder.num_tokens, encoder.grid) == (32, 16, (4, 4))
    assert model.masker.grid == (4, 4) and model.predictor.grid == (4, 4) and model.predictor.embed_dim == 32
    x = torch.randn(3, 3, 16, 16)
    with torch.no_grad():
        expected = _library(ijepa_dir)(pixel_values=x).last_hidden_state
        torch.testing.assert_close(encoder(x), expected, rtol=0, atol=1e-6)
        torch.testing.assert_close(model.embed(x), expected.mean(dim=1), rtol=0, atol=1e-6)


def test_a_vjepa2_checkpoint_gives_the_librarys_own_tokens_for_video(vjepa2_dir):
    model = jepa.build("hf_vision", "attention", encoder={"path": vjepa2_dir}, masker="tube", predictor={"depth": 1})
    encoder = model.encoder.eval()
    assert (encoder.embed_dim, encoder.num_tokens, encoder.grid) == (32, 32, (2, 4, 4))
    assert model.masker.grid == (2, 4, 4) and model.predictor.grid == (2, 4, 4)
    video = torch.randn(2, 3, 4, 16, 16)  # (batch, channels, frames, height, width), as the vit encoder
    with torch.no_grad():
        library = _library(vjepa2_dir)(pixel_values_videos=video.permute(0, 2, 1, 3, 4), skip_predictor=True)
        torch.testing.assert_close(encoder(video), library.last_hidden_state, rtol=0, atol=1e-6)
    longer = jepa.build("hf_vision", "attention", encoder={"path": vjepa2_dir, "num_frames": 8}).encoder
    assert longer.grid == (4, 4, 4) and longer(torch.randn(1, 3, 8, 16, 16)).shape == (1, 64, 32)
    with pytest.raises(ValueError, match=r"hf_vision \(vjepa2\) expects \(batch, channels, frames"):
        encoder(torch.randn(2, 3, 16, 16))


@pytest.mark.parametrize("family", sorted(PREFIXED))
def test_class_and_register_tokens_are_left_out_of_the_tokens(family):
    config, prefix = PREFIXED[family]
    torch.manual_seed(0)
    encoder = jepa.build("hf_vision", "attention", encoder={"config": config}).encoder.eval()
    assert encoder.num_tokens == 16 and encoder.supports_token_drop
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        library = encoder.model(pixel_values=x).last_hidden_state
        assert library.shape[1] == 16 + prefix
        torch.testing.assert_close(encoder(x), library[:, prefix:], rtol=0, atol=1e-6)


# -- masked encoding: only the kept tokens are computed ----------------------------------------------


def _token_drop_cases(ijepa_dir: str, vjepa2_dir: str) -> dict[str, tuple[dict, torch.Tensor, int]]:
    return {
        "ijepa": ({"path": ijepa_dir}, torch.randn(2, 3, 16, 16), 1),
        "vjepa2": ({"path": vjepa2_dir}, torch.randn(2, 3, 4, 16, 16), 2),
        "vit": ({"config": PREFIXED["vit"][0]}, torch.randn(2, 3, 16, 16), 1),
        "dinov2_with_registers": ({"config": PREFIXED["dinov2_with_registers"][0]}, torch.randn(2, 3, 16, 16), 1),
    }


@pytest.mark.parametrize("family", ["ijepa", "vjepa2", "vit", "dinov2_with_registers"])
def test_dropped_patches_never_reach_the_kept_tokens(family, ijepa_dir, vjepa2_dir):
    torch.manual_seed(0)
    params, x, tubelet = _token_drop_cases(ijepa_dir, vjepa2_dir)[family]
    encoder = jepa.build("hf_vision", "attention", encoder=params).encoder.eval()
    keep = torch.stack([torch.randperm(encoder.num_tokens)[:5].sort().values for _ in range(2)])
    changed_dropped = _scramble(x, _dropped(keep, encoder.num_tokens), patch=4, tubelet=tubelet)
    changed_kept = _scramble(x, keep[:, :1], patch=4, tubelet=tubelet)
    with torch.no_grad():
        kept = encoder(x, mask=keep)
        assert kept.shape == (2, 5, 32)
        # the dropped patches' pixels do reach every token of the full encoding...
        assert not torch.allclose(encoder(changed_dropped), encoder(x), atol=1e-3)
        # ...but not the kept tokens' context encoding
        torch.testing.assert_close(encoder(changed_dropped, mask=keep), kept, rtol=0, atol=1e-5)
        assert not torch.allclose(encoder(changed_kept, mask=keep), kept, atol=1e-3)
        every = torch.arange(encoder.num_tokens).expand(2, -1)
        torch.testing.assert_close(encoder(x, mask=every), encoder(x), rtol=0, atol=1e-6)


@pytest.mark.parametrize("family", ["ijepa", "vjepa2", "vit", "deit", "dinov2_with_registers"])
def test_a_masked_step_reaches_every_parameter_of_the_context_encoder(family, ijepa_dir, vjepa2_dir):
    """No parameter is left without a gradient (poolers and unused mask tokens are
    dropped): DistributedDataParallel refuses a model that has one."""
    cases = {
        **_token_drop_cases(ijepa_dir, vjepa2_dir),
        "deit": ({"config": PREFIXED["deit"][0]}, torch.randn(2, 3, 16, 16), 1),
    }
    params, x, _ = cases[family]
    masker = "tube" if x.dim() == 5 else "multiblock"
    model = jepa.build("hf_vision", "attention", encoder=params, masker=masker, predictor={"depth": 1})
    model.step(x).loss.backward()
    missing = [name for name, p in model.encoder.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing


def test_a_backbone_that_cannot_drop_tokens_is_refused_for_masked_training():
    config = {"model_type": "convnext", "num_stages": 2, "hidden_sizes": [8, 16], "depths": [1, 1], "image_size": 16}
    torch.manual_seed(0)
    with pytest.raises(jepa.WiringError, match="(?s)masker.*cannot encode only the kept tokens.*'convnext'"):
        jepa.build("hf_vision", "attention", encoder={"config": config}, masker="multiblock")
    paired = jepa.build("hf_vision", "mlp", encoder={"config": config, "pool": "mean"})
    encoder = paired.encoder.eval()
    assert encoder.supports_token_drop is False and encoder.embed_dim == 16
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        feature_map = encoder.model(pixel_values=x).last_hidden_state  # (B, C, h, w)
        torch.testing.assert_close(encoder(x), feature_map.mean(dim=(2, 3)), rtol=0, atol=1e-6)
    pred, target = paired(x, x)
    assert pred.shape == target.shape == (2, 16)
    with pytest.raises(ValueError, match="cannot encode only kept tokens"):
        encoder(x, mask=torch.tensor([[0, 1], [2, 3]]))
    attention = jepa.list_components("predictor", "jepa:attention")[0].create({"hidden_dim": 16})
    with pytest.raises(jepa.SpecError, match="supports_token_drop is False"):
        jepa.JEPA(encoder, attention, masker={"name": "multiblock", "params": {"grid": [4, 4]}})


# -- persistence ------------------------------------------------------------------------------------------


def test_a_saved_model_holds_the_backbone_config_and_loads_without_its_directory(ijepa_dir, tmp_path):
    source = shutil.copytree(ijepa_dir, tmp_path / "checkpoint")
    torch.manual_seed(0)
    model = jepa.build(
        "hf_vision",
        "attention",
        encoder={"path": str(source)},
        masker="multiblock",
        predictor={"depth": 1},
        loss="smooth_l1",
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    images = torch.randn(4, 3, 16, 16)
    for _ in range(2):  # move the weights away from the checkpoint's
        out = model.step(images)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        model.update_target(0.5)
    assert model.spec.encoder.params["path"] == str(source)  # the run's record: where it started
    path = model.save_pretrained(tmp_path / "saved")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    params = json.loads((path / "config.json").read_text())["spec"]["encoder"]["params"]
    assert params["path"] is None and params["config"]["model_type"] == "ijepa"
    assert params["config"]["hidden_size"] == 32 and params["trust_remote_code"] is False
    shutil.rmtree(source)
    loaded = jepa.load(path)
    model.eval()
    masks = model.masker(4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded(images, masks=masks), model(images, masks=masks), rtol=0, atol=0)
    torch.testing.assert_close(loaded.embed(images), model.embed(images), rtol=0, atol=0)


def test_the_architecture_spec_builds_fresh_weights_not_the_checkpoints(ijepa_dir):
    model = jepa.build("hf_vision", "attention", encoder={"path": ijepa_dir})
    fresh = jepa.build(model.architecture_spec)
    pretrained = dict(model.encoder.named_parameters())
    for name, parameter in fresh.encoder.named_parameters():
        assert parameter.shape == pretrained[name].shape
    weight = "model.layers.0.attention.q_proj.weight"
    assert not torch.equal(dict(fresh.encoder.named_parameters())[weight], pretrained[weight])


def test_a_path_that_holds_no_model_is_named_in_the_error(tmp_path):
    with pytest.raises(jepa.SpecError, match="has no config.json: give a directory a transformers model was saved"):
        jepa.build("hf_vision", "attention", encoder={"path": str(tmp_path)})
    with pytest.raises(jepa.SpecError, match="'/nowhere/tiny-ijepa' is not a directory"):
        jepa.build("hf_vision", "attention", encoder={"path": "/nowhere/tiny-ijepa"})
    # a mistyped relative directory fails at once, not after the hub's network retries
    with pytest.raises(jepa.SpecError, match="no directory 'tiny-ijepaa' here, and it is not a hub id"):
        jepa.build("hf_vision", "attention", encoder={"path": "tiny-ijepaa"})
    with pytest.raises(jepa.SpecError, match="no directory 'models/tiny/ijepa' here, and it is not a hub id"):
        jepa.build("hf_vision", "attention", encoder={"path": "models/tiny/ijepa"})
    with pytest.raises(jepa.SpecError, match="give exactly one of path"):
        jepa.build("hf_vision", "attention", encoder={})


def test_images_of_another_size_name_the_size_to_give_the_data(ijepa_dir):
    """hf_vision has no size setting: the fix is the data's image_size, the backbone's."""
    model = jepa.build("hf_vision", "attention", encoder={"path": ijepa_dir}, masker="multiblock")
    hint = (
        r"hf_vision \(ijepa\) got 32x32 images, but its backbone is built for 16x16 \(its config's image_size\) "
        r"and hf_vision has no setting for another size: give it 16x16 images \(in a run config, set "
        r"data.params.image_size: 16 and the eval datasets' alike"
    )
    with pytest.raises(ValueError, match=hint):  # was transformers' "Input image size (32*32) doesn't match"
        model.step(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=hint):  # the encoder alone, as probing runs it
        model.encoder(torch.randn(2, 3, 32, 32))
    with pytest.raises(ValueError, match=hint):  # kept tokens of a mask drawn on the 4x4 grid
        model.encoder(torch.randn(2, 3, 32, 32), mask=torch.arange(4).expand(2, -1))
    assert model.encoder(torch.randn(2, 3, 16, 16)).shape == (2, 16, 32)


def test_a_backbone_that_takes_any_size_names_the_size_its_masks_are_drawn_for():
    """dinov2 encodes 32x32 images too (64 tokens), but its masker draws for 16 tokens:
    the fix is the data's size, as hf_vision has no setting for another one."""
    model = jepa.build("hf_vision", "attention", encoder={"config": PREFIXED["dinov2"][0]}, masker="multiblock")
    with pytest.raises(TokenCountError, match="has no setting for another size") as refused:
        model.check_token_count(64, torch.randn(2, 3, 32, 32))
    assert r"inputs like shape (1, 3, 16, 16)), e.g. with the data's image_size" in str(refused.value)
    assert "configure encoder" not in str(refused.value)


def test_integer_pixels_are_refused_with_what_to_do():
    for family in ("ijepa", "dinov2"):  # dinov2 cast 0..255 to float silently
        encoder = jepa.build("hf_vision", "attention", encoder={"config": {"model_type": family, **TINY}}).encoder
        pixels = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
        expected = rf"hf_vision \({family}\) takes float pixels, got uint8: .*x.float\(\) / 255"
        with pytest.raises(ValueError, match=expected):
            encoder(pixels)


def test_a_text_checkpoint_is_refused_with_the_text_plugins_encoder_named(tmp_path):
    config = transformers.BertConfig(
        hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64, vocab_size=50
    )
    path = _save(transformers.BertModel(config), tmp_path / "tiny-bert")
    message = (
        rf"encoder.params: encoder vision:hf_vision: '{path}' is a text model \(BertModel, model_type 'bert'\), "
        r"not an image backbone: hf_vision feeds it pixels; for text use the text plugin's encoder 'text:hf'"
    )
    with pytest.raises(jepa.SpecError, match=message):  # was built, then failed at the first batch
        jepa.build("hf_vision", "attention", encoder={"path": path, "pool": "mean"})
    with pytest.raises(jepa.SpecError, match=r"is a text model \(BertModel, model_type 'bert'\)"):
        jepa.build("hf_vision", "attention", encoder={"config": {"model_type": "bert", **config.to_diff_dict()}})


def test_a_saved_model_whose_extra_is_missing_says_so_on_load(monkeypatch, tmp_path):
    """The spec is fine: a package is missing (it was reported as an invalid spec)."""
    jepa.build("hf_vision", "attention", encoder={"config": {"model_type": "ijepa", **TINY}}).save_pretrained(tmp_path)
    monkeypatch.setitem(sys.modules, "transformers", None)
    hint = re.escape(jepa.install_command("jepa-plugins-vision", "hf"))
    with pytest.raises(jepa.CheckpointError, match=rf"needs a package missing here: .*ImportError: .*{hint}"):
        jepa.load(tmp_path)


def test_without_transformers_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    # a SpecError at the encoder's params: the command line prints it as one line, no traceback
    hint = re.escape(jepa.install_command("jepa-plugins-vision", "hf"))  # its folder when installed from one
    with pytest.raises(jepa.SpecError, match=rf"encoder.params: .*{hint}"):
        jepa.build("hf_vision", "attention", encoder={"config": {"model_type": "ijepa", **TINY}})


# -- V-JEPA 2's own predictor: a checkpoint keeps training as a whole JEPA ---------------------------------


def test_the_vjepa2_predictor_predicts_as_transformers_does(vjepa2_dir):
    library = _library(vjepa2_dir)
    predictor = jepa.build(
        "hf_vision", "vjepa2_predictor", encoder={"path": vjepa2_dir}, predictor={"path": vjepa2_dir}
    ).predictor.eval()
    video = torch.randn(2, 3, 4, 16, 16).permute(0, 2, 1, 3, 4)
    generator = torch.Generator().manual_seed(0)
    order = torch.stack([torch.randperm(32, generator=generator) for _ in range(2)])
    context_idx, first, second = order[:, :20].sort().values, order[:, 20:26], order[:, 26:]
    with torch.no_grad():
        states = library(pixel_values_videos=video, skip_predictor=True).last_hidden_state
        context = gather_tokens(states, context_idx)
        for block in (first, second):
            expected = library.predictor(states, [context_idx], [block]).last_hidden_state
            ours = predictor(context, context_idx=context_idx, target_idx=block)
            torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)
        packed = predictor(context, context_idx=context_idx, target_idx=(first, second))
        separate = torch.cat([predictor(context, context_idx=context_idx, target_idx=b) for b in (first, second)], 1)
        torch.testing.assert_close(packed, separate, rtol=1e-5, atol=1e-5)


def test_a_vjepa2_checkpoint_keeps_training_as_a_whole_jepa(vjepa2_dir, tmp_path):
    source = shutil.copytree(vjepa2_dir, tmp_path / "checkpoint")
    torch.manual_seed(0)
    model = jepa.build(
        "hf_vision",
        "vjepa2_predictor",
        encoder={"path": str(source)},
        predictor={"path": str(source)},
        masker={"name": "tube", "params": {"num_blocks": 2}},
        loss="l1",
    )
    library = _library(str(source))
    checkpoint = library.state_dict()
    for name, tensor in model.predictor.state_dict().items():  # the checkpoint's own predictor
        torch.testing.assert_close(tensor, checkpoint[name], rtol=0, atol=0)
    for name, tensor in model.target_encoder.state_dict().items():  # the EMA target starts from it too
        torch.testing.assert_close(tensor, checkpoint[name.removeprefix("model.")], rtol=0, atol=0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    videos = torch.utils.data.TensorDataset(torch.randn(8, 3, 4, 16, 16))
    trainer = jepa.Trainer(
        model,
        videos,
        {"steps": 3, "batch_size": 4, "warmup_steps": 1, "device": "cpu", "progress": False, "plot": False},
        run_dir=tmp_path / "run",
    )
    history = trainer.fit()
    assert len(history) == 3 and all(torch.isfinite(torch.tensor(row["loss"])) for row in history)
    moved = {name.split(".")[0] for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert moved == {"encoder", "predictor", "target_encoder"}
    shutil.rmtree(source)
    loaded = jepa.load(tmp_path / "run" / "final")
    clip = torch.randn(2, 3, 4, 16, 16)
    masks = model.masker(2, generator=torch.Generator().manual_seed(1))
    model.eval()
    torch.testing.assert_close(loaded(clip, masks=masks), model(clip, masks=masks), rtol=0, atol=0)


def test_the_vjepa2_predictor_refuses_what_does_not_fit_it(vjepa2_dir, ijepa_dir):
    with pytest.raises(jepa.SpecError, match="hidden_dim=48 .* hidden_size=32"):
        jepa.build(
            "vit",
            "vjepa2_predictor",
            predictor={"path": vjepa2_dir},
            encoder={"image_size": 16, "patch_size": 4, "hidden_dim": 48, "depth": 1, "heads": 2},
        )
    with pytest.raises(jepa.SpecError, match=r"grid=\(8, 8\) does not fit"):
        jepa.build(
            "vit",
            "vjepa2_predictor",
            predictor={"path": vjepa2_dir},
            encoder={"image_size": 32, "patch_size": 4, "hidden_dim": 32, "depth": 1, "heads": 2},
        )
    with pytest.raises(jepa.SpecError, match="needs a V-JEPA 2 checkpoint .* 'ijepa'"):
        jepa.build("hf_vision", "vjepa2_predictor", encoder={"path": ijepa_dir}, predictor={"path": ijepa_dir})


# -- remote code ---------------------------------------------------------------------------------------------


def test_remote_code_never_runs_and_nothing_asks_on_stdin(remote_code_dir, run_answering_yes, tmp_path):
    directory, marker = remote_code_dir
    saved = jepa.build("hf_vision", "mlp", encoder={"config": {"model_type": "ijepa", **TINY}, "pool": "mean"})
    path = saved.save_pretrained(tmp_path / "saved")
    config = json.loads((path / "config.json").read_text())
    config["spec"]["encoder"]["params"].update(path=str(directory), config=None)
    (path / "config.json").write_text(json.dumps(config))
    result = run_answering_yes(
        textwrap.dedent(f"""
        import jepa
        for attempt in (lambda: jepa.build("hf_vision", "mlp", encoder={{"path": {str(directory)!r}}}),
                        lambda: jepa.load({str(path)!r})):
            try:
                attempt()
            except jepa.JEPAError as exc:
                print("refused:", exc)
            else:
                raise SystemExit("loaded a model that needs remote code")
    """)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    refusals = [line for line in result.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 2
    for line in refusals:
        assert str(directory) in line and "trust_remote_code: true" in line
    assert "[y/N]" not in result.stdout + result.stderr
    assert not marker.exists()
