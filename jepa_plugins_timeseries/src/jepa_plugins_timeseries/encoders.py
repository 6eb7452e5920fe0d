"""Time-series encoders: ``temporal`` (GRU/LSTM), ``tcn`` (dilated convolutions) and
``patch_transformer`` (PatchTST-style patches as tokens).

All take batch-first series ``(B, T, C)`` (``(B, T)`` when ``input_dim=1``) and follow
the jepa encoder contract: ``forward(x, mask=None, padding_mask=None, pool=None)``
returns pooled ``(B, D)`` embeddings or tokens ``(B, N, D)`` (``pool="none"``);
``mask`` ``(B, K)`` holds the indices of the tokens to keep, and only those are
encoded. Missing values (NaN) and padding (``padding_mask`` True, or NaN steps) are
handled explicitly (see :mod:`jepa_plugins_timeseries.inputs`): they enter the
networks as 0 with an "unobserved" flag, and are left out of attention and pooling.
``pool=`` in ``forward`` overrides the configured pooling for one call (evaluation
of a token encoder: ``encoder(x, pool="max")``).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from jepa import capture_arguments
from jepa.layers import Block, gather_tokens, init_weights, sincos_1d
from jepa.limits import MAX_TOKENS, Depth, Features, Heads, MLPRatio, Tokens, Width
from pydantic import Field
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from jepa_plugins_timeseries.inputs import as_series_batch, masked_pool

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
Pool = Literal["mean", "max", "last", "none"]


def _keep_flags(mask: torch.Tensor, length: int) -> torch.Tensor:
    """``(B, K)`` kept indices -> ``(B, length)`` bool flags."""
    flags = torch.zeros(mask.shape[0], length, dtype=torch.bool, device=mask.device)
    return flags.scatter(1, mask, True)


def _check_mask(mask: torch.Tensor, num_tokens: int, who: str) -> None:
    if mask.dim() != 2:
        raise ValueError(f"{who}: mask must be (batch, kept tokens) indices, got shape {tuple(mask.shape)}")
    if mask.numel() and (int(mask.min()) < 0 or int(mask.max()) >= num_tokens):
        raise ValueError(f"{who}: mask indices must lie in [0, {num_tokens}), the input has {num_tokens} tokens")


class _StepTokens:
    """``example_input`` of an encoder with one token per time step."""

    input_dim: int
    num_tokens: int | None

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random series ``(batch_size, steps, input_dim)``, ``num_tokens`` steps (16 when
        the length is free): the shape this encoder takes."""
        return torch.randn(batch_size, self.num_tokens or 16, self.input_dim)


@capture_arguments
class TemporalEncoder(_StepTokens, nn.Module):
    """GRU or LSTM over a multivariate series: also known as ``TemporalEncoder(input_dim, hidden_dim)``.

    Variable lengths are packed (a series ends at its last observed step), so padding
    never enters the recurrence; missing steps inside a series are read as 0 with an
    "unobserved" flag (``missing_indicator``). ``pool``: ``"last"`` (final recurrent
    state), ``"mean"``/``"max"`` over observed steps, or ``"none"`` for per-step tokens
    ``(B, T, D)`` (set ``num_tokens`` to the series length for masked training;
    with a mask only the kept steps are read, in order).
    """

    grid = None

    def __init__(
        self,
        input_dim: Features = 1,
        hidden_dim: Width = 256,
        cell: Literal["gru", "lstm"] = "gru",
        layers: Depth = 1,
        bidirectional: bool = False,
        dropout: Dropout = 0.0,
        pool: Pool = "last",
        num_tokens: Tokens | None = None,
        missing_indicator: bool = True,
    ) -> None:
        super().__init__()
        if bidirectional and hidden_dim % 2:
            raise ValueError(f"a bidirectional temporal encoder needs an even hidden_dim, got {hidden_dim}")
        self.input_dim = input_dim
        self.embed_dim = hidden_dim
        self.pool = pool
        self.num_tokens = num_tokens if pool == "none" else None
        self.missing_indicator = missing_indicator
        self.directions = 2 if bidirectional else 1
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(
            input_dim * (2 if missing_indicator else 1),
            hidden_dim // self.directions,
            layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.norm = nn.LayerNorm(hidden_dim)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        pool: Pool | None = None,
    ) -> torch.Tensor:
        series = as_series_batch(x, self.input_dim, padding_mask, "temporal encoder")
        if mask is not None:
            _check_mask(mask, series.values.shape[1], "temporal encoder")
            series = series.gather_steps(mask)
        valid = series.valid
        steps = valid.shape[1]
        # a series ends at its last observed step; a row with nothing observed reads one blank step
        positions = torch.arange(1, steps + 1, device=valid.device)
        lengths = (valid * positions).amax(dim=1).clamp_min(1)
        packed = pack_padded_sequence(
            series.features(self.missing_indicator), lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        output, state = self.rnn(packed)
        tokens, _ = pad_packed_sequence(output, batch_first=True, total_length=steps)
        how = pool or self.pool
        if how == "none":
            return self.norm(tokens)
        if how == "last":
            hidden = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
            final = self.norm(hidden[-self.directions :].transpose(0, 1).reshape(hidden.shape[1], -1))
            # as the other poolings: a series with nothing observed embeds as zeros
            return torch.where(valid.any(dim=1, keepdim=True), final, torch.zeros_like(final))
        return masked_pool(self.norm(tokens), valid, how)


class _DilatedResidualBlock(nn.Module):
    """Two dilated convolutions with a residual path (the TCN/TS2Vec block)."""

    def __init__(
        self, width_in: int, width_out: int, kernel_size: int, dilation: int, causal: bool, dropout: float
    ) -> None:
        super().__init__()
        span = (kernel_size - 1) * dilation
        # causal: all padding on the left, so step t sees only steps <= t
        self.padding = (span, 0) if causal else (span // 2, span - span // 2)
        self.conv1 = nn.Conv1d(width_in, width_out, kernel_size, dilation=dilation)
        self.conv2 = nn.Conv1d(width_out, width_out, kernel_size, dilation=dilation)
        self.dropout = nn.Dropout(dropout)
        self.shortcut = nn.Conv1d(width_in, width_out, 1) if width_in != width_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.shortcut(x)
        x = self.conv1(F.pad(F.gelu(x), self.padding))
        x = self.conv2(F.pad(F.gelu(x), self.padding))
        return self.dropout(x) + residual


@capture_arguments
class TCNEncoder(_StepTokens, nn.Module):
    """Temporal convolutional network: a stack of residual dilated convolutions.

    One token per time step ``(B, T, D)`` (``pool="none"``), or pooled over observed
    steps (``"max"``, as TS2Vec; ``"mean"``; ``"last"``). Block ``i`` dilates by ``2**i``,
    so ``depth`` blocks see about ``2**(depth+1) * (kernel_size-1)`` steps; ``causal``
    pads on the left only, so a step's token depends on the past alone. Given a mask,
    the steps not kept are blanked (value 0, flagged unobserved) before the first
    convolution and only the kept steps' tokens are returned, so nothing of a
    hidden step reaches the output.
    """

    grid = None

    def __init__(
        self,
        input_dim: Features = 1,
        hidden_dim: Width = 128,
        channels: Width | None = None,
        # block i dilates by 2**i: 32 blocks already see 2**33 steps, more than any series has
        depth: Annotated[int, Field(gt=0, le=32)] = 6,
        kernel_size: Annotated[int, Field(ge=2, le=MAX_TOKENS)] = 3,
        causal: bool = False,
        dropout: Dropout = 0.0,
        pool: Pool = "max",
        num_tokens: Tokens | None = None,
        missing_indicator: bool = True,
    ) -> None:
        super().__init__()
        self.input_dim = input_dim
        self.embed_dim = hidden_dim
        self.pool = pool
        self.num_tokens = num_tokens if pool == "none" else None
        self.missing_indicator = missing_indicator
        self.causal = causal
        width = channels or hidden_dim
        self.input_proj = nn.Linear(input_dim * (2 if missing_indicator else 1), width)
        widths = [width] * depth + [hidden_dim]
        self.blocks = nn.ModuleList(
            _DilatedResidualBlock(widths[i], widths[i + 1], kernel_size, 2**i, causal, dropout) for i in range(depth)
        )
        self.receptive_field = 1 + sum(2 * (kernel_size - 1) * 2**i for i in range(depth))

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        pool: Pool | None = None,
    ) -> torch.Tensor:
        series = as_series_batch(x, self.input_dim, padding_mask, "tcn encoder")
        steps = series.values.shape[1]
        if mask is not None:
            _check_mask(mask, steps, "tcn encoder")
            keep = _keep_flags(mask, steps).unsqueeze(-1)
            series.values = series.values * keep
            series.observed = series.observed & keep
        valid = series.valid
        hidden = self.input_proj(series.features(self.missing_indicator))
        # blank steps stay exactly zero at the input, whatever the projection's bias
        hidden = (hidden * valid.unsqueeze(-1)).transpose(1, 2)
        for block in self.blocks:
            hidden = block(hidden)
        tokens = hidden.transpose(1, 2)
        if mask is not None:
            tokens = gather_tokens(tokens, mask)
            valid = torch.gather(valid, 1, mask)
        how = pool or self.pool
        if how == "none":
            return tokens
        return masked_pool(tokens, valid, how)


@capture_arguments
class PatchTransformerEncoder(nn.Module):
    """PatchTST-style transformer: the series is cut into patches, each patch is a token.

    Patches of ``patch_len`` steps every ``stride`` steps (default: not overlapping);
    the end is padded (as unobserved) to a whole patch. ``seq_len`` fixes the longest
    series (shorter ones are padded) and so the token count ``num_tokens`` that masked
    training needs. ``channel_independent``: each channel is its own univariate series
    with shared weights and attention only within a channel (PatchTST-CI); the tokens
    are then ``C * N`` in channel-major order with ``grid = (C, N)``. Tokens whose patch
    holds no observed value are never attended to nor pooled. With a mask only the
    kept patches are encoded.
    """

    def __init__(
        self,
        input_dim: Features = 1,
        hidden_dim: Width = 128,
        patch_len: Tokens = 16,
        stride: Tokens | None = None,
        seq_len: Tokens | None = None,
        depth: Depth = 3,
        heads: Heads = 4,
        mlp_ratio: MLPRatio = 4.0,
        dropout: Dropout = 0.0,
        channel_independent: bool = False,
        pool: Literal["mean", "max", "none"] = "mean",
        missing_indicator: bool = True,
    ) -> None:
        super().__init__()
        if hidden_dim % heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by heads={heads}")
        if hidden_dim % 2:
            raise ValueError(f"hidden_dim={hidden_dim} must be even (sin-cos positions)")
        self.input_dim = input_dim
        self.embed_dim = hidden_dim
        self.patch_len = patch_len
        self.stride = stride or patch_len
        self.seq_len = seq_len
        self.channel_independent = channel_independent
        self.pool = pool
        self.missing_indicator = missing_indicator
        channels_per_token = 1 if channel_independent else input_dim
        self.patch_embed = nn.Linear(patch_len * channels_per_token * (2 if missing_indicator else 1), hidden_dim)
        self.blocks = nn.ModuleList(Block(hidden_dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden_dim)
        self.num_patches = self.patches_for(seq_len) if seq_len is not None else None
        token_channels = input_dim if channel_independent else 1
        fixed = pool == "none" and self.num_patches is not None
        self.num_tokens = self.num_patches * token_channels if fixed else None
        self.grid = (input_dim, self.num_patches) if fixed and token_channels > 1 else None
        init_weights(self)

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random series ``(batch_size, seq_len, input_dim)`` (four patches long when
        ``seq_len`` is free): the shape this encoder takes."""
        return torch.randn(batch_size, self.seq_len or 4 * self.patch_len, self.input_dim)

    def patches_for(self, length: int) -> int:
        """How many patches a series of ``length`` steps is cut into."""
        return 1 + math.ceil(max(length - self.patch_len, 0) / self.stride)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        pool: Literal["mean", "max", "none"] | None = None,
    ) -> torch.Tensor:
        series = as_series_batch(x, self.input_dim, padding_mask, "patch_transformer encoder")
        batch, steps, channels = series.values.shape
        if self.seq_len is not None and steps > self.seq_len:
            raise ValueError(
                f"patch_transformer encoder was built for seq_len={self.seq_len} steps, got {steps}; "
                "raise seq_len or window the series"
            )
        patches = self.num_patches if self.num_patches is not None else self.patches_for(steps)
        padded_length = self.patch_len + self.stride * (patches - 1)
        values = F.pad(series.values, (0, 0, 0, padded_length - steps))
        observed = F.pad(series.observed, (0, 0, 0, padded_length - steps), value=False)
        # (B, N, C, P): patch n of channel c
        values = values.unfold(1, self.patch_len, self.stride)
        observed = observed.unfold(1, self.patch_len, self.stride)
        if self.channel_independent:
            values, observed = values.transpose(1, 2), observed.transpose(1, 2)  # (B, C, N, P)
        parts = [values, observed.to(values.dtype)] if self.missing_indicator else [values]
        if self.channel_independent:
            tokens = self.patch_embed(torch.cat(parts, dim=-1)).reshape(batch, channels * patches, -1)
            valid = observed.any(dim=-1).reshape(batch, channels * patches)
            channel_of = torch.arange(channels, device=x.device).repeat_interleave(patches)
            time_of = torch.arange(patches, device=x.device).repeat(channels)
        else:
            tokens = self.patch_embed(torch.cat([p.flatten(2) for p in parts], dim=-1))
            valid = observed.flatten(2).any(dim=-1)
            channel_of = torch.zeros(patches, dtype=torch.long, device=x.device)
            time_of = torch.arange(patches, device=x.device)
        tokens = tokens + sincos_1d(time_of, self.embed_dim).to(tokens.dtype)
        channel_of = channel_of.expand(batch, -1)
        if mask is not None:
            _check_mask(mask, tokens.shape[1], "patch_transformer encoder")
            tokens = gather_tokens(tokens, mask)
            valid = torch.gather(valid, 1, mask)
            channel_of = torch.gather(channel_of, 1, mask)
        # attend to observed tokens of the same channel; every token sees itself, so no
        # row of the attention is empty (an empty row would give NaN)
        allowed = valid[:, None, :] & (channel_of[:, :, None] == channel_of[:, None, :])
        allowed = allowed | torch.eye(tokens.shape[1], dtype=torch.bool, device=x.device)
        attn_mask = allowed.unsqueeze(1)
        for block in self.blocks:
            tokens = block(tokens, attn_mask)
        tokens = self.norm(tokens)
        how = pool or self.pool
        if how == "none":
            return tokens
        if how not in ("mean", "max"):
            raise ValueError(f"patch_transformer encoder pools by 'mean' or 'max', got {how!r}")
        return masked_pool(tokens, valid, how)
