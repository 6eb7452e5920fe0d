"""A saved vision model loads back through the registry with identical outputs."""

from __future__ import annotations

import json

import jepa
import torch

from jepa_plugins_vision import CNNEncoder


def test_vit_multiblock_model_round_trip(tmp_path):
    model = jepa.build(
        "vit",
        "attention",
        masker="multiblock",
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"image_size": 16, "patch_size": 4, "input_channels": 1, "hidden_dim": 32, "depth": 2, "heads": 2},
        predictor={"depth": 1},
    )
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    images = torch.randn(4, 1, 16, 16)
    for _ in range(2):  # move the weights and the EMA target away from their initial values
        out = model.step(images)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        model.update_target(0.5)
    path = model.save_pretrained(tmp_path / "vit")
    config = json.loads((path / "config.json").read_text())
    assert config["components"]["encoder"]["distribution"] == "jepa-plugins-vision"
    assert config["spec"]["masker"]["name"] == "vision:multiblock"
    loaded = jepa.load(path)
    model.eval()
    masks = model.masker(4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(loaded(images, masks=masks), model(images, masks=masks), rtol=0, atol=0)
    torch.testing.assert_close(loaded.embed(images), model.embed(images), rtol=0, atol=0)


def test_directly_constructed_cnn_model_round_trip(tmp_path):
    encoder = CNNEncoder(input_channels=1, hidden_dim=16, widths=(8, 16))
    model = jepa.JEPA(encoder, jepa.Predictor(hidden_dim=16))
    images = torch.randn(3, 1, 12, 12)
    loaded = jepa.load(model.save_pretrained(tmp_path / "cnn"))
    assert loaded.spec.encoder.name == "vision:cnn"
    model.eval()
    torch.testing.assert_close(loaded(images, images), model(images, images), rtol=0, atol=0)
