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
