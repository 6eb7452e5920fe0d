"""Encoder shapes, the masked-forward contract, and how build wires them."""

from __future__ import annotations

import json

import jepa
import pytest
import torch
from jepa_plugins_vision.vit import ConvStem

from jepa_plugins_vision import CNNEncoder, VisionTransformer

TINY_VIT = {"hidden_dim": 32, "depth": 2, "heads": 2}


def test_seed_cnn_encoder_signature_gives_pooled_embeddings():
    encoder = CNNEncoder(input_channels=3, hidden_dim=48)
    out = encoder(torch.randn(2, 3, 20, 20))
    assert out.shape == (2, 48)
    assert encoder.embed_dim == 48 and encoder.num_tokens is None


def test_cnn_tokens_lie_on_the_downsampled_grid():
    encoder = CNNEncoder(input_channels=1, hidden_dim=24, widths=(8, 16, 16), pool="none", image_size=16)
    assert encoder.grid == (4, 4) and encoder.num_tokens == 16
    assert encoder(torch.randn(3, 1, 16, 16)).shape == (3, 16, 24)
    keep = torch.tensor([[0, 5, 6], [1, 2, 15], [3, 4, 7]])
    assert encoder(torch.randn(3, 1, 16, 16), mask=keep).shape == (3, 3, 24)


def test_cnn_given_other_inputs_than_images_says_what_to_change():
    encoder = CNNEncoder(input_channels=1, hidden_dim=8, widths=(8,))
    with pytest.raises(
        ValueError, match=r"got shape \(2, 3, 8, 8\); give it 1-channel input, or set encoder input_channels to 3"
    ):
        encoder(torch.randn(2, 3, 8, 8))
    for layout, given, fix in [
        ("channels-last", (2, 8, 8, 1), r"channels-last \(batch, height, width, channels\): x.permute\(0, 3, 1, 2\)"),
        ("channels-last clips", (2, 4, 8, 8, 1), r"x.permute\(0, 4, 1, 2, 3\)"),
        ("frames first", (2, 4, 1, 8, 8), r"\(batch, frames, channels, height, width\): x.permute\(0, 2, 1, 3, 4\)"),
    ]:
        vit = VisionTransformer(
            image_size=8,
            patch_size=2,
            input_channels=1,
            size="tiny",
            depth=1,
            num_frames=4 if len(given) == 5 else None,
        )
        for name, model in (("cnn", encoder), ("vit", vit)):
            if name == "cnn" and len(given) == 5:
                continue  # the cnn takes no clips: it says so (below)
            with pytest.raises(ValueError, match=fix) as info:
                model(torch.randn(*given))
            assert "input_channels to" not in str(info.value), f"{name}, {layout}: only the layout is wrong"
    with pytest.raises(
        ValueError, match=r"\(2, 1, 4, 8, 8\); clips \(batch, channels, frames, height, width\) need a video"
    ):
        encoder(torch.randn(2, 1, 4, 8, 8))  # its channel count is right: the frames are what it cannot take


def test_cnn_rejects_a_size_its_stride_cannot_divide():
    with pytest.raises(jepa.SpecError, match="divisible by 4"):
        jepa.build("cnn", "attention", encoder={"image_size": 18, "widths": [8, 8, 8], "pool": "none"})


@pytest.mark.parametrize("size,grid", [(32, (4, 4)), ((24, 40), (3, 5))])
def test_vit_token_and_pooled_shapes(size, grid):
    tokens = VisionTransformer(image_size=size, patch_size=8, **TINY_VIT)
    assert tokens.grid == grid and tokens.num_tokens == grid[0] * grid[1]
    height, width = (size, size) if isinstance(size, int) else size
    x = torch.randn(2, 3, height, width)
    assert tokens(x).shape == (2, tokens.num_tokens, 32)
    pooled = VisionTransformer(image_size=size, patch_size=8, pool="mean", **TINY_VIT)
    assert pooled(x).shape == (2, 32) and pooled.num_tokens is None


def test_vit_presets_and_free_sizes():
    small = VisionTransformer(image_size=32, patch_size=16, size="small", depth=1)
    assert small.embed_dim == 384 and len(small.blocks) == 1
    assert VisionTransformer(image_size=32, patch_size=16, depth=1).embed_dim == 192  # tiny
    assert VisionTransformer(image_size=32, patch_size=16, hidden_dim=96, depth=1).embed_dim == 96


def test_vit_other_image_size_divisible_by_the_patch():
    encoder = VisionTransformer(image_size=32, patch_size=8, **TINY_VIT)
    assert encoder(torch.randn(1, 3, 48, 16)).shape == (1, 12, 32)
    with pytest.raises(ValueError, match="divisible by patch_size=8"):
        encoder(torch.randn(1, 3, 30, 32))


def test_vit_video_tubelets():
    encoder = VisionTransformer(image_size=16, patch_size=8, num_frames=4, tubelet_size=2, **TINY_VIT)
    assert encoder.grid == (2, 2, 2) and encoder.num_tokens == 8
    assert encoder(torch.randn(2, 3, 4, 16, 16)).shape == (2, 8, 32)
    with pytest.raises(ValueError, match="frames"):
        encoder(torch.randn(2, 3, 16, 16))


def _context_is_blind_to_targets(encoder: torch.nn.Module, x: torch.Tensor, patch: int) -> None:
    """Changing the pixels of dropped tokens must not change the kept tokens' output."""
    encoder.eval()
    columns = x.shape[-1] // patch
    keep = torch.tensor([[0, 1, 4, 5], [2, 3, 6, 7]])  # token indices, row-major over the grid
    dropped = x.clone()
    for row, kept in enumerate(keep.tolist()):
        for token in range(encoder.num_tokens):
            if token not in kept:
                r, c = divmod(token, columns)
                dropped[row, :, r * patch : (r + 1) * patch, c * patch : (c + 1) * patch] = (
                    torch.randn(x.shape[1], patch, patch) * 10
                )
    with torch.no_grad():
        before, after = encoder(x, mask=keep), encoder(dropped, mask=keep)
    assert before.shape == (2, 4, encoder.embed_dim)
    torch.testing.assert_close(before, after)
    # and the kept pixels do matter
    with torch.no_grad():
        assert not torch.allclose(encoder(x + 1, mask=keep), before)


def test_masked_vit_never_uses_target_tokens():
    encoder = VisionTransformer(image_size=16, patch_size=4, input_channels=1, **TINY_VIT)
    _context_is_blind_to_targets(encoder, torch.randn(2, 1, 16, 16), patch=4)


def test_masked_conv_stem_vit_never_uses_target_tokens():
    # the stem's 3x3 convs cross patch borders: dropped patches must be blanked before each one
    encoder = VisionTransformer(image_size=16, patch_size=4, input_channels=1, stem="conv", **TINY_VIT)
    _context_is_blind_to_targets(encoder, torch.randn(2, 1, 16, 16), patch=4)


def test_conv_stem_vit_tokens_and_its_limits():
    encoder = VisionTransformer(image_size=8, patch_size=2, input_channels=1, stem="conv", **TINY_VIT)
    assert encoder(torch.randn(3, 1, 8, 8)).shape == (3, 16, 32)
    assert isinstance(encoder.patch_embed, ConvStem)
    with pytest.raises(ValueError, match="patch_size must be a power of 2"):
        VisionTransformer(image_size=12, patch_size=6, stem="conv", **TINY_VIT)
    with pytest.raises(ValueError, match="video .* uses stem='patch'"):
        VisionTransformer(image_size=16, patch_size=4, num_frames=4, stem="conv", **TINY_VIT)


def test_masked_cnn_never_uses_target_tokens():
    encoder = CNNEncoder(input_channels=1, hidden_dim=16, widths=(8, 8, 16), pool="none", image_size=16)
    _context_is_blind_to_targets(encoder, torch.randn(2, 1, 16, 16), patch=4)


def test_build_wires_vit_grid_into_predictor_and_masker():
    model = jepa.build("vit", "attention", masker="multiblock", encoder={"image_size": 32, "patch_size": 4, **TINY_VIT})
    assert model.predictor.grid == (8, 8) and model.predictor.embed_dim == 32
    assert model.masker.grid == (8, 8)


def test_core_random_masker_trains_a_vit():
    model = jepa.build(
        "vit",
        "attention",
        masker={"name": "random", "params": {"num_targets": 2}},
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"image_size": 16, "patch_size": 4, **TINY_VIT},
        predictor={"depth": 1},
    )
    masks = model.masker(3, generator=torch.Generator().manual_seed(0))
    assert masks.overlap() == 0 and masks.context.shape[1] == 4  # 25% of 16 tokens kept
    out = model.step(torch.randn(3, 3, 16, 16))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert model.encoder.patch_embed.weight.grad is not None


def test_masked_cnn_and_video_vit_train_a_step():
    cnn = jepa.build(
        "cnn",
        "attention",
        masker="multiblock",
        loss="smooth_l1",
        encoder={"input_channels": 1, "hidden_dim": 16, "widths": [8, 16], "pool": "none", "image_size": 16},
        predictor={"depth": 1},
    )
    cnn.step(torch.randn(2, 1, 16, 16)).loss.backward()
    video = jepa.build(
        "vit",
        "attention",
        masker="tube",
        encoder={"image_size": 16, "patch_size": 4, "num_frames": 4, **TINY_VIT},
        predictor={"depth": 1},
    )
    assert video.masker.grid == (2, 4, 4) and video.predictor.grid == (2, 4, 4)
    out = video.step(torch.randn(2, 3, 4, 16, 16))
    out.loss.backward()
    assert torch.isfinite(out.loss)


@pytest.mark.parametrize("starter", ["vision", "vision-vit"])
def test_digits_recipe_config_smoke_run(tmp_path, starter):
    """`jepa init vision` (and `vision-vit`) write the digits recipe; it trains and
    evaluates end to end (a few steps here; the full run is the proof)."""
    pytest.importorskip("sklearn")
    import yaml
    from jepa_core.registry import get_registry
    from jepa_core.runs import load_run_spec, train_run

    registry = get_registry()
    registry.ensure_loaded()
    config = yaml.safe_load(registry.templates[starter][1])
    spec = load_run_spec(
        config,
        [
            "train.steps=3",
            "train.batch_size=32",
            "train.warmup_steps=1",
            "train.progress=false",
            "train.plot=false",
            "eval.seeds=[0]",
        ],
    )
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert set(results) >= {"jepa", "random_init", "raw"}
    assert 0.0 <= results["raw"]["linear"] <= 1.0 and results["protocol"]["features"] == "flatten"
