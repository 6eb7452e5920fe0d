"""The plugin as an installed distribution: entry point, names, building by name."""

from __future__ import annotations

from importlib.metadata import distribution, entry_points

import jepa
import pytest
import torch
from jepa_core.first_party import FIRST_PARTY

import jepa_plugins_timeseries
from jepa_plugins_timeseries import encoders

DISTRIBUTION = "jepa-plugins-timeseries"


def test_entry_point_is_declared_by_the_installed_distribution():
    found = [ep for ep in entry_points(group="jepa.plugins") if ep.name == "timeseries"]
    assert len(found) == 1
    assert found[0].value == "jepa_plugins_timeseries.plugin"
    assert found[0].dist is not None and found[0].dist.name == DISTRIBUTION
    assert distribution(DISTRIBUTION).version == jepa_plugins_timeseries.__version__


def test_registry_discovers_the_plugin(fresh_registry):
    fresh_registry.ensure_loaded()
    record = next(p for p in fresh_registry.plugins if p.name == "timeseries")
    assert record.status == "loaded", record.error
    assert record.distribution == DISTRIBUTION
    component = fresh_registry.resolve("encoder", "tcn")
    assert component.qualname == "timeseries:tcn"
    assert component.factory is encoders.TCNEncoder
    assert component.distribution == DISTRIBUTION


def test_registered_names_are_exactly_the_first_party_list(fresh_registry):
    registered = {(c.kind, c.name) for c in fresh_registry if c.scope == "timeseries"}
    listed = {key for key, dist in FIRST_PARTY.items() if dist == DISTRIBUTION}
    assert registered == listed


def test_no_core_name_is_reused(fresh_registry):
    ours = {(c.kind, c.name) for c in fresh_registry if c.scope == "timeseries"}
    core = {(c.kind, c.name) for c in fresh_registry if c.scope == "jepa"}
    assert not ours & core


def test_seed_temporal_encoder_signature():
    # the seed's `TemporalEncoder(input_dim=10, hidden_dim=256)`, batch first
    encoder = encoders.TemporalEncoder(input_dim=10, hidden_dim=256)
    assert encoder(torch.randn(4, 12, 10)).shape == (4, 256)
    model = jepa.JEPA(encoder, jepa.Predictor(hidden_dim=256))
    pred, target = model(torch.randn(4, 12, 10), torch.randn(4, 12, 10))
    assert pred.shape == target.shape == (4, 256)
    assert model.loss(pred, target).dim() == 0


def test_describe_and_bad_params_are_spec_errors(fresh_registry):
    info = jepa.describe("encoder", "patch_transformer")
    assert info["qualname"] == "timeseries:patch_transformer"
    assert info["defaults"]["patch_len"] == 16
    with pytest.raises(jepa.SpecError, match="kernel_size"):
        jepa.build("tcn", "mlp", encoder={"kernel_size": 1})
    with pytest.raises(jepa.SpecError, match="unknown field"):
        jepa.build("temporal", "mlp", encoder={"hidden": 8})
    with pytest.raises(jepa.SpecError, match="leave no context|leaves no context|cover all"):
        jepa.build(
            "tcn",
            "attention",
            masker={"name": "forecast", "params": {"horizon": 16}},
            encoder={"pool": "none", "num_tokens": 16, "hidden_dim": 8},
        )
