"""The text plugin as an installed distribution: entry point, names, build by name."""

from __future__ import annotations

from importlib.metadata import distribution, entry_points

import jepa
from jepa_core.first_party import FIRST_PARTY

DISTRIBUTION = "jepa-plugins-text"


def test_entry_point_comes_from_the_installed_distribution():
    points = [ep for ep in entry_points(group="jepa.plugins") if ep.name == "text"]
    assert len(points) == 1
    assert points[0].value == "jepa_plugins_text.plugin"
    assert points[0].dist is not None and points[0].dist.name == DISTRIBUTION
    assert distribution(DISTRIBUTION).version == "0.1.0"


def test_registry_discovers_the_plugin(fresh_registry):
    fresh_registry.ensure_loaded()
    records = {record.name: record for record in fresh_registry.plugins}
    assert records["text"].status == "loaded", records["text"].error
    assert records["text"].distribution == DISTRIBUTION
    components = [c for c in fresh_registry if c.scope == "text"]
    assert components and all(c.distribution == DISTRIBUTION for c in components)


def test_registered_names_are_exactly_the_first_party_list(fresh_registry):
    registered = {(c.kind, c.name) for c in fresh_registry if c.scope == "text"}
    listed = {key for key, owner in FIRST_PARTY.items() if owner == DISTRIBUTION}
    assert registered == listed


def test_text_transformer_does_not_shadow_the_core_transformer(fresh_registry):
    assert fresh_registry.resolve("encoder", "transformer").qualname == "jepa:transformer"
    assert fresh_registry.resolve("encoder", "text_transformer").qualname == "text:text_transformer"


def test_describe_shows_the_tokenizer_parameter(fresh_registry):
    info = jepa.describe("encoder", "text_transformer")
    assert info["distribution"] == DISTRIBUTION
    assert "tokenizer" in info["schema"]["properties"]
    assert info["defaults"]["pool"] == "mean"
