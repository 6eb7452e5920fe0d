"""Maskers ``multiblock`` (I-JEPA) and ``tube`` (V-JEPA) over a token grid.

Both return :class:`jepa.Masks` with rows of equal length within a batch, as
the engine batches them. Where samples' sets differ in size, each is cut to the
batch minimum by dropping a *uniformly random* subset of its indices. I-JEPA's
reference collator keeps the first ``min_keep`` indices in raster order
instead, which drops bottom-right patches more often than top-left ones, so
that the context never sees some regions as often as others; tests check that
our context and target frequencies are symmetric over many draws.

Everything is drawn with torch on the CPU from the given generator (I-JEPA
draws masks in the data-loader workers), vectorised over the batch.
"""

from __future__ import annotations

import math

import torch
from jepa import Masks, capture_arguments
from jepa.limits import Count, TargetCount, Tokens

from jepa_plugins_vision._types import FractionRange, Grid, PositiveRange, check_range


def _grid_from(name: str, num_tokens: int | None, grid: tuple[int, ...] | None, dims: int) -> tuple[int, ...]:
    if grid is None:
        if num_tokens is None:
            raise ValueError(f"{name} masker needs grid (or num_tokens); jepa.build takes both from a token encoder")
        side = math.isqrt(num_tokens)
        if dims != 2 or side * side != num_tokens:
            raise ValueError(f"{name} masker needs grid: {num_tokens} tokens are not a square {dims}-D grid")
        grid = (side, side)
    grid = tuple(int(n) for n in grid)
    if len(grid) != dims:
        raise ValueError(f"{name} masker needs a {dims}-D grid, got {grid}")
    if num_tokens is not None and math.prod(grid) != num_tokens:
        raise ValueError(f"grid {grid} has {math.prod(grid)} cells but num_tokens={num_tokens}")
    return grid


def _default_min_keep(min_keep: int | None, num_tokens: int) -> int:
    """I-JEPA's 10 context cells, or an eighth of a grid too small for that."""
    if min_keep is not None:
        if min_keep >= num_tokens:
            raise ValueError(f"min_keep={min_keep} leaves no room for targets in {num_tokens} tokens")
        return min_keep
    return min(10, max(1, num_tokens // 8))


def _uniform(bounds: tuple[float, float], generator: torch.Generator | None) -> float:
    low, high = bounds
    return low + (high - low) * float(torch.rand((), generator=generator))


def block_size(
    height: int,
    width: int,
    scale: tuple[float, float],
    aspect_ratio: tuple[float, float],
    generator: torch.Generator | None,
) -> tuple[int, int]:
    """``(h, w)`` of a block covering ``s * height * width`` cells with ``h / w = a``,
    ``s ~ U(scale)`` and ``a ~ U(aspect_ratio)`` (I-JEPA's ``_sample_block_size``).

    h = sqrt(s*H*W * a), w = area / h rounded, so the area is within h/2 cells of
    the drawn one unless a side hits the grid's edge.
    """
    area = _uniform(scale, generator) * height * width
    aspect = _uniform(aspect_ratio, generator)
    h = min(height, max(1, round(math.sqrt(area * aspect))))
    w = min(width, max(1, round(area / h)))
    return h, w


def _boxes(
    batch: int, count: int, size: tuple[int, ...], grid: tuple[int, ...], generator: torch.Generator | None
) -> torch.Tensor:
    """``(batch, count, *grid)`` boolean boxes of extent ``size`` at uniform positions."""
    inside = None
    for axis, (extent, cells) in enumerate(zip(size, grid, strict=True)):
        start = torch.randint(0, cells - extent + 1, (batch, count, 1), generator=generator)
        coords = torch.arange(cells)
        along = (coords >= start) & (coords < start + extent)  # (batch, count, cells)
        view = [batch, count] + [1] * len(grid)
        view[2 + axis] = cells
        along = along.view(view)
        inside = along if inside is None else inside & along
    return inside


def cut_to_equal_length(selected: torch.Tensor, length: int, generator: torch.Generator | None) -> torch.Tensor:
    """``(B, length)`` sorted indices: for each row of the boolean ``selected (B, N)``,
    a uniformly random subset of ``length`` of its True positions."""
    scores = torch.rand(selected.shape, generator=generator)
    scores = scores.masked_fill(~selected, -1.0)  # unselected cells rank last
    return scores.topk(length, dim=1).indices.sort(dim=1).values


@capture_arguments
class MultiBlockMasker:
    """I-JEPA multi-block masking (Assran et al., 2023) on a 2-D grid.

    Per batch, one target block size is drawn (scale ``target_scale`` of the
    grid, aspect ``h/w`` in ``aspect_ratio``) and one context size (scale
    ``context_scale``, aspect ``context_aspect_ratio``). Per sample,
    ``num_targets`` target blocks and one context block are placed uniformly; the
    context is the context block minus every target cell. Placements whose
    context keeps fewer than ``min_keep`` cells are drawn again (up to
    ``max_tries`` times; then the largest context drawn is used). Defaults are
    the paper's: 4 targets of scale 0.15-0.2, aspect 0.75-1.5; one context of
    scale 0.85-1.0, aspect 1; min_keep 10 (an eighth of the grid when smaller).
    """

    def __init__(
        self,
        num_tokens: Tokens | None = None,
        grid: Grid | None = None,
        num_targets: TargetCount = 4,
        target_scale: FractionRange = (0.15, 0.2),
        aspect_ratio: PositiveRange = (0.75, 1.5),
        context_scale: FractionRange = (0.85, 1.0),
        context_aspect_ratio: PositiveRange = (1.0, 1.0),
        min_keep: Tokens | None = None,
        max_tries: Count = 20,
    ) -> None:
        self.grid = _grid_from("multiblock", num_tokens, grid, 2)
        self.num_tokens = math.prod(self.grid)
        self.num_targets = num_targets
        self.target_scale = check_range("target_scale", target_scale)
        self.aspect_ratio = check_range("aspect_ratio", aspect_ratio)
        self.context_scale = check_range("context_scale", context_scale)
        self.context_aspect_ratio = check_range("context_aspect_ratio", context_aspect_ratio)
        self.max_tries = max_tries
        self.min_keep = _default_min_keep(min_keep, self.num_tokens)

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks:
        height, width = self.grid
        target_size = block_size(height, width, self.target_scale, self.aspect_ratio, generator)
        context_size = block_size(height, width, self.context_scale, self.context_aspect_ratio, generator)
        targets = torch.zeros(batch_size, self.num_targets, height, width, dtype=torch.bool)
        context = torch.zeros(batch_size, height, width, dtype=torch.bool)
        pending = torch.arange(batch_size)
        for attempt in range(self.max_tries):
            drawn_targets = _boxes(len(pending), self.num_targets, target_size, self.grid, generator)
            drawn_context = _boxes(len(pending), 1, context_size, self.grid, generator)[:, 0]
            drawn_context &= ~drawn_targets.any(dim=1)
            kept = drawn_context.flatten(1).sum(1)
            # keep a redraw only where it improves on what the sample has
            better = kept > context[pending].flatten(1).sum(1)
            better |= attempt == 0
            targets[pending[better]] = drawn_targets[better]
            context[pending[better]] = drawn_context[better]
            pending = pending[context[pending].flatten(1).sum(1) < self.min_keep]
            if len(pending) == 0:
                break
        context_flat = context.flatten(1)
        length = int(context_flat.sum(1).min())
        if length == 0:
            raise ValueError(
                f"multiblock masker on grid {self.grid} left a sample without context after "
                f"{self.max_tries} tries; use fewer or smaller targets"
            )
        block_cells = target_size[0] * target_size[1]
        target_idx = targets.flatten(2).nonzero()[:, 2].view(batch_size, self.num_targets, block_cells)
        return Masks(
            context=cut_to_equal_length(context_flat, length, generator),
            targets=tuple(target_idx[:, k] for k in range(self.num_targets)),
        )


@capture_arguments
class TubeMasker:
    """V-JEPA multi-block "tube" masking (Bardes et al., 2024) on a ``(T, H, W)`` grid.

    ``num_blocks`` spatial blocks (scale ``spatial_scale``, aspect
    ``aspect_ratio``), each spanning a fraction ``temporal_scale`` of the time
    steps (1.0: the whole clip, so a masked region cannot be copied from a
    neighbouring frame). Their union is the target, the rest is the context.
    Defaults are V-JEPA's short-range mask: 8 blocks of spatial scale 0.15.
    """

    def __init__(
        self,
        num_tokens: Tokens | None = None,
        grid: Grid | None = None,
        num_blocks: TargetCount = 8,
        spatial_scale: FractionRange = (0.15, 0.15),
        aspect_ratio: PositiveRange = (0.75, 1.5),
        temporal_scale: FractionRange = (1.0, 1.0),
        min_keep: Tokens | None = None,
        max_tries: Count = 20,
    ) -> None:
        self.grid = _grid_from("tube", num_tokens, grid, 3)
        self.num_tokens = math.prod(self.grid)
        self.num_blocks = num_blocks
        self.spatial_scale = check_range("spatial_scale", spatial_scale)
        self.aspect_ratio = check_range("aspect_ratio", aspect_ratio)
        self.temporal_scale = check_range("temporal_scale", temporal_scale)
        self.max_tries = max_tries
        self.min_keep = _default_min_keep(min_keep, self.num_tokens)

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks:
        frames, height, width = self.grid
        h, w = block_size(height, width, self.spatial_scale, self.aspect_ratio, generator)
        t = min(frames, max(1, round(_uniform(self.temporal_scale, generator) * frames)))
        target = torch.zeros(batch_size, frames, height, width, dtype=torch.bool)
        pending = torch.arange(batch_size)
        for attempt in range(self.max_tries):
            drawn = _boxes(len(pending), self.num_blocks, (t, h, w), self.grid, generator).any(dim=1)
            kept = (~drawn).flatten(1).sum(1)
            better = kept > (~target[pending]).flatten(1).sum(1)
            better |= attempt == 0
            target[pending[better]] = drawn[better]
            pending = pending[(~target[pending]).flatten(1).sum(1) < self.min_keep]
            if len(pending) == 0:
                break
        target_flat = target.flatten(1)
        context_length = int((~target_flat).sum(1).min())
        target_length = int(target_flat.sum(1).min())
        if context_length == 0:
            raise ValueError(f"tube masker on grid {self.grid} left no context; use fewer or smaller blocks")
        return Masks(
            context=cut_to_equal_length(~target_flat, context_length, generator),
            targets=(cut_to_equal_length(target_flat, target_length, generator),),
        )
