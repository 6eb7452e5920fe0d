"""Time maskers: ``time_block`` (contiguous blocks of time as targets) and ``forecast``
(context = the past, target = the future that follows it).

Both index a token sequence of ``num_tokens`` tokens along time. When the encoder
reports a ``grid`` ``(C, N)`` (channel-independent patch tokens, channel-major), the
time axis is the last one and a block covers the same time span in every channel,
so the context never sees a target moment through another channel.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
from jepa import Masks, capture_arguments
from jepa.limits import MAX_TOKENS, Grid, TargetCount, Tokens
from pydantic import Field

Ratio = Annotated[float, Field(gt=0.0, lt=1.0)]


def _time_axis(num_tokens: int | None, grid: tuple[int, ...] | None, who: str) -> tuple[int, int]:
    """``(steps, channels)``: tokens along time, and how many parallel rows of them."""
    if num_tokens is None:
        raise ValueError(f"{who} masker needs num_tokens (jepa.build takes it from a token encoder)")
    if not grid:
        return num_tokens, 1
    if math.prod(grid) != num_tokens:
        raise ValueError(f"{who} masker: grid {tuple(grid)} has {math.prod(grid)} cells, not num_tokens={num_tokens}")
    return grid[-1], math.prod(grid[:-1])


def _across_channels(time_index: torch.Tensor, steps: int, channels: int) -> torch.Tensor:
    """Time indices ``(B, K)`` -> token indices ``(B, channels * K)`` of every channel."""
    if channels == 1:
        return time_index
    offsets = torch.arange(channels, device=time_index.device).view(1, channels, 1) * steps
    return (offsets + time_index.unsqueeze(1)).reshape(time_index.shape[0], -1)


@capture_arguments
class TimeBlockMasker:
    """``num_targets`` contiguous blocks of time become targets; the rest is the context.

    One block length per batch is drawn from ``block_ratio`` (fractions of the time
    axis), each block's start per sample; blocks may overlap one another. The context
    is every step no block covers, cut to the same length across the batch (as
    I-JEPA does) by dropping random steps of the longer rows.
    """

    def __init__(
        self,
        num_tokens: Annotated[int, Field(ge=2, le=MAX_TOKENS)] | None = None,
        grid: Grid | None = None,
        num_targets: TargetCount = 4,
        block_ratio: tuple[Ratio, Ratio] = (0.1, 0.2),
    ) -> None:
        self.steps, self.channels = _time_axis(num_tokens, grid, "time_block")
        self.num_tokens = num_tokens
        self.num_targets = num_targets
        low, high = block_ratio
        if low > high:
            raise ValueError(
                f"time_block masker: block_ratio {tuple(block_ratio)} must be (low, high) with low <= high"
            )
        self.min_length = max(1, round(low * self.steps))
        self.max_length = max(self.min_length, round(high * self.steps))
        if num_targets * self.max_length > self.steps - 1:
            raise ValueError(
                f"time_block masker: {num_targets} blocks of up to {self.max_length} steps could cover all "
                f"{self.steps} time steps and leave no context; lower num_targets or block_ratio"
            )

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks:
        length = int(torch.randint(self.min_length, self.max_length + 1, (1,), generator=generator))
        starts = torch.randint(0, self.steps - length + 1, (batch_size, self.num_targets), generator=generator)
        blocks = starts.unsqueeze(-1) + torch.arange(length)  # (B, num_targets, length)
        covered = torch.zeros(batch_size, self.steps, dtype=torch.bool)
        covered.scatter_(1, blocks.flatten(1), True)
        free = ~covered
        context_length = int(free.sum(dim=1).min())  # >= 1: checked in __init__
        # a random subset of each row's free steps, the same size in every row
        scores = torch.rand(batch_size, self.steps, generator=generator).masked_fill(covered, 2.0)
        context = scores.argsort(dim=1)[:, :context_length].sort(dim=1).values
        targets = tuple(_across_channels(blocks[:, k], self.steps, self.channels) for k in range(self.num_targets))
        return Masks(context=_across_channels(context, self.steps, self.channels), targets=targets)


@capture_arguments
class ForecastMasker:
    """Context = the past window, target = the ``horizon`` steps right after it.

    ``state_t -> state_t1`` for one series: the encoder sees the past and
    the predictor (the core ``recurrent`` predictor rolls forward one token per target
    step) predicts the embeddings of the future. ``horizon`` steps (or
    ``horizon_ratio`` of the time axis) are predicted; the split sits at the end,
    or, with ``min_context``, at a random step (one per batch) from ``min_context``
    on, so that every context length is trained.
    """

    def __init__(
        self,
        num_tokens: Annotated[int, Field(ge=2, le=MAX_TOKENS)] | None = None,
        grid: Grid | None = None,
        horizon: Tokens | None = None,
        horizon_ratio: Ratio = 0.25,
        min_context: Tokens | None = None,
    ) -> None:
        self.steps, self.channels = _time_axis(num_tokens, grid, "forecast")
        self.num_tokens = num_tokens
        self.horizon = horizon if horizon is not None else max(1, round(horizon_ratio * self.steps))
        if self.horizon > self.steps - 1:
            raise ValueError(f"forecast masker: horizon {self.horizon} leaves no context in {self.steps} time steps")
        latest_split = self.steps - self.horizon
        if min_context is not None and min_context > latest_split:
            raise ValueError(
                f"forecast masker: min_context={min_context} with horizon {self.horizon} does not fit in "
                f"{self.steps} time steps"
            )
        self.min_context = min_context

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks:
        split = self.steps - self.horizon
        if self.min_context is not None:
            split = int(torch.randint(self.min_context, split + 1, (1,), generator=generator))
        past = torch.arange(split).expand(batch_size, -1)
        future = torch.arange(split, split + self.horizon).expand(batch_size, -1)
        return Masks(
            context=_across_channels(past, self.steps, self.channels),
            targets=(_across_channels(future, self.steps, self.channels),),
        )
