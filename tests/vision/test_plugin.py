"""The installed distribution is found through its real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import distribution

import jepa
import torch
from jepa_core.first_party import FIRST_PARTY

VISION = "jepa-plugins-vision"


def test_entry_point_is_declared_by_the_installed_distribution():
    points = [ep for ep in distribution(VISION).entry_points if ep.group == "jepa.plugins"]
    assert [(ep.name, ep.value) for ep in points] == [("vision", "jepa_plugins_vision.plugin")]


def test_list_shows_encoders_with_distribution_and_version(fresh_registry):
    encoders = {c.qualname: c for c in jepa.list_components("encoder")}
    for name in ("vision:cnn", "vision:vit"):
        assert encoders[name].distribution == VISION
        assert encoders[name].version == distribution(VISION).version
    record = next(p for p in fresh_registry.plugins if p.name == "vision")
    assert record.status == "loaded", record.error


def test_registered_names_are_exactly_the_first_party_list(fresh_registry):
    ours = {(c.kind, c.name) for c in fresh_registry if c.distribution == VISION}
    listed = {key for key, dist in FIRST_PARTY.items() if dist == VISION}
    assert ours == listed


def test_build_cnn_attention_works_with_no_further_code(fresh_registry):
    model = jepa.build("cnn", "attention")
    assert model.spec.encoder.name == "vision:cnn"
    images = torch.randn(2, 3, 16, 16)
    pred, target = model(images, images)
    assert pred.shape == target.shape == (2, 256)


def test_without_the_plugin_the_error_says_what_to_install():
    code = textwrap.dedent(
        """
        import jepa
        try:
            jepa.build("cnn", "attention")
        except jepa.SpecError as exc:
            print(exc)
        else:
            raise SystemExit("built without the plugin")
        """
    )
    env = {**os.environ, "JEPA_DISABLE_PLUGINS": "vision"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "its plugin 'vision', installed here, is blocked: listed in JEPA_DISABLE_PLUGINS" in result.stdout
