"""The core's own components pass the conformance suite every plugin runs."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TestCoreConformance = conformance_suite(
    "jepa",
    params={"jepa:transformer": {"input_dim": 6, "pool": "none", "num_tokens": 5}},
    inputs={
        "jepa:mlp": lambda batch: torch.randn(batch, 256),
        "jepa:transformer": lambda batch: torch.randn(batch, 5, 6),
    },
)


class LeakyConv(torch.nn.Module):
    """A conv encoder on a 4x4 token grid that gathers the kept tokens only after
    convolving the whole image: every kept token has seen its dropped neighbours."""

    num_tokens, grid = 16, (4, 4)

    def __init__(self, hidden_dim: int = 8) -> None:
        super().__init__()
        self.embed_dim = hidden_dim
        self.conv = torch.nn.Conv2d(1, hidden_dim, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        if mask is None:
            return tokens
        return torch.gather(tokens, 1, mask.unsqueeze(-1).expand(-1, -1, self.embed_dim))

    def example_input(self, batch_size: int) -> torch.Tensor:
        return torch.randn(batch_size, 1, 8, 8)


def test_the_suite_catches_an_encoder_whose_kept_tokens_see_the_dropped_ones(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("encoder", "leaky_conv")(LeakyConv)
    component = get_registry().resolve("encoder", "leaky_conv")
    suite = conformance_suite("local")()
    suite.test_encoder_masked_encoding_keeps_only_kept_tokens(component)  # right shapes: the old rules pass
    with pytest.raises(pytest.fail.Exception, match="dropped tokens' inputs changes the kept tokens' encoding"):
        suite.test_encoder_dropped_tokens_do_not_reach_kept_ones(component)


def test_the_suite_fails_a_third_party_component_whose_bare_name_the_core_or_a_first_party_plugin_takes(
    installed_plugins,
) -> None:
    import pytest
    from jepa_core.registry import get_registry

    installed_plugins("shadow")
    registry = get_registry()
    suite = conformance_suite("shadow")()
    with pytest.raises(
        pytest.fail.Exception,
        match=r"encoder shadow:mlp breaks rule 'its bare name is not a core or "
        r"first-party name'.*the bare name 'mlp' means jepa:mlp \(from jepa-core\).*users would "
        r"have to type shadow:mlp.*pick another name",
    ):
        suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow:mlp"))
    with pytest.raises(pytest.fail.Exception, match=r"'cnn' means vision:cnn \(from jepa-plugins-vision\)"):
        suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow:cnn"))
    suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow_own"))
    for name in ("jepa:mlp", "vision:cnn"):  # the core's and first-party names never fail it
        conformance_suite(name.split(":")[0])().test_bare_name_is_its_own(registry.resolve("encoder", name))


def test_the_suite_fails_a_first_party_name_even_where_that_plugin_is_not_installed(
    installed_plugins, monkeypatch
) -> None:
    import pytest
    from jepa_core.registry import get_registry

    installed_plugins("shadow")
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "vision")
    component = get_registry().resolve("encoder", "shadow:cnn")
    assert get_registry().shadowed_by(component) is None
    with pytest.raises(
        pytest.fail.Exception,
        match=r"'cnn' means the encoder of jepa-plugins-vision wherever that "
        r"is installed",
    ):
        conformance_suite("shadow")().test_bare_name_is_its_own(component)
