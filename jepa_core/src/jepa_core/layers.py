"""Building blocks shared by the core components (and free for plugins to use)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Fixed sine-cosine embeddings (Transformer, Vaswani et al.) of float ``positions``.

    Returns ``positions.shape + (dim,)``; ``dim`` must be even.
    """
    if dim % 2:
        raise ValueError(f"sin-cos embeddings need an even width, got {dim}")
    omega = torch.arange(dim // 2, dtype=torch.float64, device=positions.device) / (dim / 2.0)
    omega = 1.0 / 10000**omega
    angles = positions.to(torch.float64).unsqueeze(-1) * omega
    return torch.cat([angles.sin(), angles.cos()], dim=-1).float()


def sincos_table(num_tokens: int, dim: int, grid: tuple[int, ...] | None = None) -> torch.Tensor:
    """``(num_tokens, dim)`` fixed positions: 1-D, or factorised over a grid (as
    I-JEPA's 2-D sin-cos: each grid axis gets an equal share of the width)."""
    if not grid or len(grid) == 1:
        return sincos_1d(torch.arange(num_tokens), dim)
    if math.prod(grid) != num_tokens:
        raise ValueError(f"grid {tuple(grid)} has {math.prod(grid)} cells, not num_tokens={num_tokens}")
    share = dim // len(grid)
    share -= share % 2
    axes = torch.meshgrid(*[torch.arange(n) for n in grid], indexing="ij")
    parts = [sincos_1d(axis.reshape(-1), share) for axis in axes]
    table = torch.cat(parts, dim=-1)
    if table.shape[-1] < dim:  # width not divisible: pad the remainder with zeros
        table = F.pad(table, (0, dim - table.shape[-1]))
    return table


def gather_tokens(tokens: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``tokens[b, index[b]]`` for ``tokens (B, N, D)`` and ``index (B, K)``."""
    return torch.gather(tokens, 1, index.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))


class Attention(nn.Module):
    """Multi-head self-attention on ``F.scaled_dot_product_attention`` (fused kernels)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by heads={heads}")
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        return self.proj(out.transpose(1, 2).reshape(batch, length, dim))


class Block(nn.Module):
    """Pre-norm transformer block."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads, dropout)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), attn_mask)
        return x + self.mlp(self.norm2(x))


def masked_mean(tokens: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    """Mean over the token axis of ``(B, N, D)``, leaving out the positions where
    ``padding_mask`` ``(B, N)`` is true; a row with every position padded gives zeros."""
    if padding_mask is None:
        return tokens.mean(dim=1)
    keep = (~padding_mask.bool()).unsqueeze(-1).to(tokens.dtype)
    return (tokens * keep).sum(dim=1) / keep.sum(dim=1).clamp_min(1.0)


def key_padding_to_attn_mask(padding_mask: torch.Tensor | None) -> torch.Tensor | None:
    """``(B, N)`` True-means-padding -> boolean SDPA mask ``(B, 1, 1, N)``, True = attend."""
    if padding_mask is None:
        return None
    return (~padding_mask.bool())[:, None, None, :]


def init_weights(module: nn.Module) -> None:
    """Truncated-normal linear weights, zero biases, unit norms (ViT/I-JEPA practice)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
