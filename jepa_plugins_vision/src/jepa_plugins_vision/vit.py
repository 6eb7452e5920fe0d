"""Encoder ``vit``: Vision Transformer (Dosovitskiy et al., 2021) as I-JEPA and
V-JEPA use it.

Patch embedding by a strided conv (or, with ``stem="conv"``, a few 3x3 convs:
see :class:`ConvStem`), fixed 2-D (or, for video, 3-D) sin-cos positions,
pre-norm blocks on ``F.scaled_dot_product_attention`` and a final LayerNorm.
Given ``mask`` (indices of the tokens to keep) it embeds every patch, adds
positions, and runs the blocks on the kept tokens only: the I-JEPA context
encoder, which never sees the target patches.

Video: with ``num_frames`` set, inputs are ``(B, C, T, H, W)`` and each token is
a ``tubelet_size x patch_size x patch_size`` tubelet (V-JEPA); the grid is
``(T / tubelet_size, H / patch_size, W / patch_size)``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from jepa import capture_arguments
from jepa.layers import Block, gather_tokens, init_weights, sincos_table
from jepa.limits import Depth, Heads, ImageSide, MLPRatio, Width
from torch import nn

from jepa_plugins_vision._types import Dropout, ImageSize, pair
from jepa_plugins_vision.cnn import channel_fix, group_norm, keep_map, zero_dropped

#: (width, depth, heads) of the standard sizes (DeiT / ViT papers).
PRESETS: dict[str, tuple[int, int, int]] = {
    "tiny": (192, 12, 3),
    "small": (384, 12, 6),
    "base": (768, 12, 12),
}


class ConvStem(nn.Module):
    """Early convolutions (Xiao et al., 2021) in place of the linear patch embedding.

    A 3x3 conv at full resolution, one stride-2 3x3 conv per halving down to the patch
    grid (widths doubling up to half the token width), each with GroupNorm and GELU,
    then a 1x1 projection to the token width. A linear patch embedding sees each patch
    alone; these convs give tokens local features across patch borders, which a small
    ViT on small images cannot learn from few images. Masked, every dropped patch is
    zeroed in the input and after every conv (as the ``cnn`` encoder does), so no kept
    token sees a dropped patch's pixels.
    """

    def __init__(self, input_channels: int, embed_dim: int, patch_size: int, groups: int = 8) -> None:
        super().__init__()
        halvings = patch_size.bit_length() - 1
        if patch_size != 2**halvings:
            raise ValueError(
                f"stem='conv' halves the image to the patch grid: patch_size must be a power of 2, got {patch_size}"
            )
        widths = [max(groups, embed_dim // 2 ** (halvings + 1 - i)) for i in range(halvings + 1)]
        layers: list[nn.Module] = []
        previous = input_channels
        for index, width in enumerate(widths):
            conv = nn.Conv2d(previous, width, 3, stride=2 if index else 1, padding=1, bias=False)
            layers.append(nn.Sequential(conv, group_norm(width, groups), nn.GELU()))
            previous = width
        self.convs = nn.ModuleList(layers)
        self.project = nn.Conv2d(previous, embed_dim, 1)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, embed_dim, H / patch, W / patch)``; ``keep`` is :func:`keep_map`'s map of kept patches."""
        features = zero_dropped(x, keep)
        for conv in self.convs:
            features = zero_dropped(conv(features), keep)
        return self.project(features)


@capture_arguments
class VisionTransformer(nn.Module):
    """ViT over images ``(B, C, H, W)`` or, with ``num_frames``, videos ``(B, C, T, H, W)``.

    ``size`` picks a preset (tiny 192x12, small 384x12, base 768x12: width x
    depth); ``hidden_dim``, ``depth`` and ``heads`` override it for free sizes.
    ``pool="none"`` (default) returns tokens ``(B, N, D)`` as masked training
    needs; ``pool="mean"`` returns ``(B, D)``. ``stem="conv"`` embeds images with a
    few 3x3 convolutions (early convolutions, Xiao et al., 2021) instead of one linear
    map per patch (images only, patch sizes that are powers of 2): on small images and
    few of them it learns far better.
    """

    def __init__(
        self,
        image_size: ImageSize = 224,
        patch_size: ImageSide = 16,
        input_channels: Width = 3,
        size: Literal["tiny", "small", "base"] = "tiny",
        hidden_dim: Width | None = None,
        depth: Depth | None = None,
        heads: Heads | None = None,
        mlp_ratio: MLPRatio = 4.0,
        dropout: Dropout = 0.0,
        pool: Literal["none", "mean"] = "none",
        num_frames: ImageSide | None = None,
        tubelet_size: ImageSide = 2,
        stem: Literal["patch", "conv"] = "patch",
    ) -> None:
        super().__init__()
        preset_dim, preset_depth, preset_heads = PRESETS[size]
        self.embed_dim = hidden_dim or preset_dim
        depth = depth or preset_depth
        heads = heads or (preset_heads if hidden_dim is None else max(1, self.embed_dim // 64))
        if self.embed_dim % heads:
            raise ValueError(f"hidden_dim={self.embed_dim} must be divisible by heads={heads}")
        self.image_size = pair(image_size)
        self.patch_size = patch_size
        self.input_channels = input_channels
        self.pool = pool
        self.num_frames = num_frames
        self.tubelet_size = tubelet_size
        self._spatial = self._spatial_grid(self.image_size)
        if stem == "conv" and num_frames is not None:
            raise ValueError("stem='conv' embeds images; video (num_frames) uses stem='patch' (tubelets)")
        if stem == "conv":
            self.patch_embed: nn.Module = ConvStem(input_channels, self.embed_dim, patch_size)
            grid: tuple[int, ...] = self._spatial
        elif num_frames is None:
            self.patch_embed = nn.Conv2d(input_channels, self.embed_dim, patch_size, stride=patch_size)
            grid = self._spatial
        else:
            if num_frames % tubelet_size:
                raise ValueError(f"num_frames={num_frames} must be divisible by tubelet_size={tubelet_size}")
            kernel = (tubelet_size, patch_size, patch_size)
            self.patch_embed = nn.Conv3d(input_channels, self.embed_dim, kernel, stride=kernel)
            grid = (num_frames // tubelet_size, *self._spatial)
        # build wires grid/num_tokens into maskers and predictors; a pooled encoder has no tokens to mask
        self.token_grid = grid
        self.grid = grid if pool == "none" else None
        self.num_tokens = math.prod(grid) if pool == "none" else None
        self.register_buffer("positions", sincos_table(math.prod(grid), self.embed_dim, grid), persistent=False)
        self.blocks = nn.ModuleList(Block(self.embed_dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(self.embed_dim)
        init_weights(self)
        # I-JEPA rescales each residual branch's output by 1/sqrt(2 * layer) for stable deep stacks
        for layer, block in enumerate(self.blocks, start=1):
            block.attn.proj.weight.data.div_(math.sqrt(2.0 * layer))
            block.mlp[-1].weight.data.div_(math.sqrt(2.0 * layer))

    def _spatial_grid(self, size: tuple[int, int]) -> tuple[int, int]:
        height, width = size
        if height % self.patch_size or width % self.patch_size:
            raise ValueError(f"image size {height}x{width} must be divisible by patch_size={self.patch_size}")
        return (height // self.patch_size, width // self.patch_size)

    def _positions(self, grid: tuple[int, ...], device: torch.device) -> torch.Tensor:
        if tuple(grid) == self.token_grid:
            return self.positions
        # another image size divisible by the patch: positions for its own grid
        return sincos_table(math.prod(grid), self.embed_dim, grid).to(device)

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random images ``(batch_size, input_channels, H, W)`` of ``image_size`` (clips
        ``(batch_size, input_channels, num_frames, H, W)`` with ``num_frames``)."""
        frames = () if self.num_frames is None else (self.num_frames,)
        return torch.randn(batch_size, self.input_channels, *frames, *self.image_size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        expected = 4 if self.num_frames is None else 5
        if x.dim() != expected or x.shape[1] != self.input_channels:
            layout = "(batch, channels, height, width)" if expected == 4 else "(batch, channels, frames, height, width)"
            fix = (
                "; set num_frames for video input"
                if x.dim() == 5 and expected == 4
                else f"; {channel_fix(x, self.input_channels)}"
                if x.dim() == expected
                else ""
            )
            raise ValueError(
                f"vit encoder expects {layout} with channels={self.input_channels}, got shape {tuple(x.shape)}{fix}"
            )
        spatial = self._spatial_grid(tuple(x.shape[-2:]))
        if expected == 5 and x.shape[2] % self.tubelet_size:
            raise ValueError(f"frame count {x.shape[2]} must be divisible by tubelet_size={self.tubelet_size}")
        grid = spatial if expected == 4 else (x.shape[2] // self.tubelet_size, *spatial)
        if isinstance(self.patch_embed, ConvStem):
            keep = None if mask is None else keep_map(mask, *spatial, x.dtype)
            embedded = self.patch_embed(x, keep)
        else:
            embedded = self.patch_embed(x)
        tokens = embedded.flatten(2).transpose(1, 2)  # (B, N, D), row-major over the grid
        tokens = tokens + self._positions(grid, x.device).to(tokens.dtype)
        if mask is not None:
            tokens = gather_tokens(tokens, mask)
        for block in self.blocks:
            tokens = block(tokens)
        tokens = self.norm(tokens)
        return tokens if self.pool == "none" else tokens.mean(dim=1)
