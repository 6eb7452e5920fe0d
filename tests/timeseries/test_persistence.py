"""Save/load round trips of models built from the time-series components."""

from __future__ import annotations

import json

import jepa
import pytest
import torch

from jepa_plugins_timeseries import TemporalEncoder

NAN = float("nan")


@pytest.mark.parametrize(
    ("encoder", "params", "predictor", "masker"),
    [
        (
            "tcn",
            {"depth": 2, "causal": True, "num_tokens": 24},
            "recurrent",
            {"name": "forecast", "params": {"horizon": 6}},
        ),
        ("temporal", {"cell": "lstm", "num_tokens": 24}, "attention", "time_block"),
        (
            "patch_transformer",
            {"seq_len": 24, "patch_len": 4, "depth": 1, "heads": 2, "channel_independent": True},
            "attention",
            {"name": "time_block", "params": {"num_targets": 2}},
        ),
    ],
)
def test_saved_model_reloads_by_name_with_the_same_embeddings(
    fresh_registry, tmp_path, encoder, params, predictor, masker
):
    torch.manual_seed(0)
    model = jepa.build(
        encoder, predictor, masker=masker, encoder={"input_dim": 2, "hidden_dim": 16, "pool": "none", **params}
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    x = torch.randn(4, 24, 2)
    x[1, 18:] = NAN
    out = model.step(x)
    out.loss.backward()
    optimizer.step()
    model.update_target(0.5)  # the target encoder now differs from the online one
    path = model.save_pretrained(tmp_path / "model")
    config = json.loads((path / "config.json").read_text())
    assert config["spec"]["encoder"]["name"] == f"timeseries:{encoder}"
    assert config["components"]["encoder"]["distribution"] == "jepa-plugins-timeseries"
    assert config["spec"]["masker"]["name"] in ("timeseries:forecast", "timeseries:time_block")
    loaded = jepa.load(path)
    model.eval()
    for which in ("online", "target"):
        torch.testing.assert_close(loaded.embed(x, encoder=which), model.embed(x, encoder=which))
    assert loaded.spec.to_dict() == model.spec.to_dict()


def test_directly_constructed_seed_model_round_trips(fresh_registry, tmp_path):
    model = jepa.JEPA(TemporalEncoder(input_dim=10, hidden_dim=32), jepa.Predictor(hidden_dim=32))
    path = model.save_pretrained(tmp_path / "seed")
    loaded = jepa.load(path)
    x = torch.randn(3, 20, 10)
    assert loaded.spec.encoder.name == "timeseries:temporal"
    torch.testing.assert_close(loaded.embed(x), model.eval().embed(x))
