"""Encoder ``cnn``: a small residual conv net (also known as ``CNNEncoder``).

Pooled ``(B, D)`` output by default, as usual; with ``pool="none"`` its
last feature map becomes ``(B, H' * W', D)`` tokens on the grid ``(H', W')`` so it
can be trained with maskers.

Masked forward. A conv net has no tokens to drop, so "encode only the kept
tokens" is emulated as in SparK (Tian et al., 2023): every grid cell that is not
kept is zeroed in the input and again after every residual block (the keep map
upsampled to that resolution), so no value computed from a dropped cell ever
reaches a kept one; the kept cells' features are then gathered. Normalisation
is per sample (GroupNorm), never across the batch.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from jepa import capture_arguments
from jepa.layers import gather_tokens
from jepa.limits import Depth, Width
from pydantic import Field
from torch import nn

from jepa_plugins_vision._types import ImageSize, pair


def keep_map(mask: torch.Tensor, rows: int, cols: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, 1, rows, cols)`` with 1 at the kept cells of the token grid (``mask``: kept indices)."""
    keep = torch.zeros(mask.shape[0], rows * cols, device=mask.device, dtype=dtype)
    keep.scatter_(1, mask, 1.0)
    return keep.view(-1, 1, rows, cols)


def zero_dropped(features: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """``features`` with every dropped cell zeroed: the keep map repeated up to their resolution."""
    if keep is None:
        return features
    scale = features.shape[-1] // keep.shape[-1]
    return features * keep.repeat_interleave(scale, -2).repeat_interleave(scale, -1)


def channel_fix(x: torch.Tensor, channels: int) -> str:
    """What to do about images or clips ``x`` whose dimension 1 is not ``channels``:
    permute a channels-last layout, else give that many channels or set the encoder up
    for the data's."""
    if x.dim() == 4 and x.shape[-1] == channels:
        return "it looks like channels-last (batch, height, width, channels): x.permute(0, 3, 1, 2)"
    if x.dim() == 5 and x.shape[-1] == channels:
        return "it looks like channels-last (batch, frames, height, width, channels): x.permute(0, 4, 1, 2, 3)"
    if x.dim() == 5 and x.shape[2] == channels:
        return "it looks like (batch, frames, channels, height, width): x.permute(0, 2, 1, 3, 4)"
    return f"give it {channels}-channel input, or set encoder input_channels to {x.shape[1]} when the data is right"


def group_norm(channels: int, groups: int) -> nn.GroupNorm:
    # the largest group count <= groups that divides the channels
    count = max(g for g in range(1, min(groups, channels) + 1) if channels % g == 0)
    return nn.GroupNorm(count, channels)


class ResidualBlock(nn.Module):
    """``x + conv-norm-act-conv-norm(x)`` then GELU (He et al., 2016, pre-activation free)."""

    def __init__(self, channels: int, groups: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm1 = group_norm(channels, groups)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.norm2 = group_norm(channels, groups)
        nn.init.zeros_(self.norm2.weight)  # each block starts as the identity (Goyal et al., 2017)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.gelu(self.norm1(self.conv1(x)))
        return F.gelu(x + self.norm2(self.conv2(y)))


class Downsample(nn.Module):
    """Stride-2 3x3 conv that changes the width."""

    def __init__(self, in_channels: int, out_channels: int, groups: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1, bias=False)
        self.norm = group_norm(out_channels, groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.norm(self.conv(x)))


@capture_arguments
class CNNEncoder(nn.Module):
    """Residual conv net for images ``(B, C, H, W)``.

    A 3x3 stem to ``widths[0]``, then one stage per width (each after the first
    halves the resolution) of ``blocks_per_stage`` residual blocks, and a 1x1
    projection to ``hidden_dim``. ``pool="mean"`` returns ``(B, hidden_dim)``;
    ``pool="none"`` returns the tokens of the last map, ``2 ** (len(widths) - 1)``
    times smaller than the image on each side; set ``image_size`` to give the
    token count and grid to maskers and predictors.
    """

    def __init__(
        self,
        input_channels: Width = 3,
        hidden_dim: Width = 256,
        # each stage after the first halves the resolution: 16 stages shrink 32768 px to one
        widths: Annotated[tuple[Width, ...], Field(max_length=16)] = (64, 128, 256),
        blocks_per_stage: Depth = 1,
        groups: Width = 8,
        pool: Literal["mean", "none"] = "mean",
        image_size: ImageSize | None = None,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("widths needs at least one stage width")
        self.input_channels = input_channels
        self.embed_dim = hidden_dim
        self.pool = pool
        self.stride = 2 ** (len(widths) - 1)
        self.image_size = pair(image_size) if image_size is not None else None
        self.grid: tuple[int, int] | None = None
        self.num_tokens: int | None = None
        if self.image_size is not None:
            height, width = self.image_size
            if height % self.stride or width % self.stride:
                raise ValueError(
                    f"image_size {self.image_size} must be divisible by {self.stride} "
                    f"(the net halves the resolution {len(widths) - 1} times)"
                )
            if pool == "none":
                self.grid = (height // self.stride, width // self.stride)
                self.num_tokens = self.grid[0] * self.grid[1]
        self.stem = nn.Sequential(
            nn.Conv2d(input_channels, widths[0], 3, padding=1, bias=False), group_norm(widths[0], groups), nn.GELU()
        )
        self.stages = nn.ModuleList()
        previous = widths[0]
        for index, width in enumerate(widths):
            layers: list[nn.Module] = [Downsample(previous, width, groups)] if index else []
            layers += [ResidualBlock(width, groups) for _ in range(blocks_per_stage)]
            self.stages.append(nn.ModuleList(layers))
            previous = width
        self.project = nn.Conv2d(previous, hidden_dim, 1)
        self.norm = nn.LayerNorm(hidden_dim)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random images ``(batch_size, input_channels, H, W)`` of ``image_size`` (which
        must be set: without it the encoder takes any size its stride divides)."""
        if self.image_size is None:
            raise ValueError(f"set image_size for an example input (any side divisible by {self.stride} works)")
        return torch.randn(batch_size, self.input_channels, *self.image_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.input_channels:
            fix = (
                channel_fix(x, self.input_channels)
                if x.dim() == 4
                else "clips (batch, channels, frames, height, width) need a video encoder: vit with num_frames"
                if x.dim() == 5
                else "give it a batch of images, 4 dimensions"
            )
            raise ValueError(
                f"cnn encoder expects images (batch, {self.input_channels}, height, width), got shape "
                f"{tuple(x.shape)}; {fix}"
            )
        height, width = x.shape[-2:]
        if mask is not None and (height % self.stride or width % self.stride):
            raise ValueError(f"masked cnn input sides must be divisible by {self.stride}, got {height}x{width}")
        keep = None if mask is None else keep_map(mask, height // self.stride, width // self.stride, x.dtype)
        x = x.contiguous(memory_format=torch.channels_last)  # oneDNN and cuDNN convolutions are faster on NHWC
        features = zero_dropped(self.stem(zero_dropped(x, keep)), keep)
        for stage in self.stages:
            for layer in stage:
                features = zero_dropped(layer(features), keep)
        tokens = self.norm(self.project(features).flatten(2).transpose(1, 2))  # (B, H'W', D)
        if mask is not None:
            tokens = gather_tokens(tokens, mask)
        if self.pool == "none":
            return tokens
        return tokens.mean(dim=1)
