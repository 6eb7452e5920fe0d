"""Core encoders: ``jepa:mlp`` and ``jepa:transformer`` (also known as ``Encoder``).

Encoder contract (what the engine and ``build`` rely on):

* ``forward(x, mask=None, **inputs)`` returns pooled ``(B, D)`` or tokens ``(B, N, D)``;
  ``mask`` is a ``(B, K)`` index tensor of the tokens to keep, and a token encoder
  given one encodes only those tokens (the I-JEPA context encoder).
* ``embed_dim`` is ``D``; token encoders with a fixed token count expose
  ``num_tokens`` (and ``grid`` when the tokens lie on a grid), others ``None``.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from jepa_core.layers import Block, gather_tokens, init_weights, key_padding_to_attn_mask, sincos_1d
from jepa_core.limits import Depth, Features, Heads, MLPRatio, Tokens, Width
from jepa_core.registry import capture_arguments

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]


@capture_arguments
class MLPEncoder(nn.Module):
    """Feed-forward encoder: flattens each sample and maps it to ``hidden_dim``."""

    num_tokens = None
    grid = None

    def __init__(
        self,
        input_dim: Features | None = None,
        hidden_dim: Width = 256,
        depth: Depth = 2,
        mlp_dim: Width | None = None,
        dropout: Dropout = 0.0,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim or hidden_dim  # None: inputs already have hidden_dim features
        self.embed_dim = hidden_dim
        width = mlp_dim or hidden_dim * 2
        layers: list[nn.Module] = []
        size = self.input_dim
        for _ in range(depth - 1):
            layers += [nn.Linear(size, width), nn.LayerNorm(width), nn.GELU(), nn.Dropout(dropout)]
            size = width
        layers.append(nn.Linear(size, hidden_dim))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is not None:
            raise ValueError("the mlp encoder has no tokens to mask; use a token encoder for masked training")
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.input_dim:
            raise ValueError(
                f"mlp encoder expects {self.input_dim} features per sample (input_dim), "
                f"got {x.shape[1]}; set encoder input_dim={x.shape[1]}"
            )
        return self.net(x)

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random inputs ``(batch_size, input_dim)``: the shape this encoder takes."""
        return torch.randn(batch_size, self.input_dim)


@capture_arguments
class TransformerEncoder(nn.Module):
    """Transformer over continuous sequences ``(B, T, input_dim)`` (batch first).

    Fixed sin-cos positions, pre-norm blocks on scaled-dot-product attention.
    ``padding_mask`` ``(B, T)`` marks padded steps with True: they are never
    attended to and are left out of the mean pool. ``pool="mean"`` returns
    ``(B, D)``; ``pool="none"`` returns the tokens ``(B, T, D)``. For masked
    training set ``pool="none"`` and ``num_tokens`` to the sequence length.
    """

    grid = None

    def __init__(
        self,
        input_dim: Features | None = None,
        hidden_dim: Width = 256,
        depth: Depth = 4,
        heads: Heads = 4,
        mlp_ratio: MLPRatio = 4.0,
        dropout: Dropout = 0.0,
        pool: Literal["mean", "none"] = "mean",
        num_tokens: Tokens | None = None,
    ) -> None:
        super().__init__()
        if hidden_dim % heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by heads={heads}")
        if hidden_dim % 2:
            raise ValueError(f"hidden_dim={hidden_dim} must be even (sin-cos positions)")
        self.input_dim = input_dim or hidden_dim
        self.embed_dim = hidden_dim
        self.pool = pool
        self.num_tokens = num_tokens if pool == "none" else None
        self.input_proj = nn.Linear(self.input_dim, hidden_dim)
        self.blocks = nn.ModuleList(Block(hidden_dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden_dim)
        init_weights(self)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if x.dim() != 3 or x.shape[-1] != self.input_dim:
            raise ValueError(
                f"transformer encoder expects (batch, time, {self.input_dim}) inputs, got shape "
                f"{tuple(x.shape)}; set encoder input_dim to the feature size"
            )
        tokens = self.input_proj(x) + sincos_1d(torch.arange(x.shape[1], device=x.device), self.embed_dim).to(x.dtype)
        if mask is not None:
            tokens = gather_tokens(tokens, mask)
            if padding_mask is not None:
                padding_mask = torch.gather(padding_mask, 1, mask)
        attn_mask = key_padding_to_attn_mask(padding_mask)
        for block in self.blocks:
            tokens = block(tokens, attn_mask)
        tokens = self.norm(tokens)
        if self.pool == "none":
            return tokens
        if padding_mask is None:
            return tokens.mean(dim=1)
        keep = (~padding_mask.bool()).unsqueeze(-1).to(tokens.dtype)
        return (tokens * keep).sum(1) / keep.sum(1).clamp_min(1.0)

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random sequences ``(batch_size, num_tokens, input_dim)`` (16 steps when the
        length is free): the shape this encoder takes."""
        return torch.randn(batch_size, self.num_tokens or 16, self.input_dim)
