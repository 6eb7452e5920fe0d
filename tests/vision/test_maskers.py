"""Mask statistics over many draws: counts, scales, disjointness, coverage, and
no positional bias from cutting every sample to the batch's shortest context."""

from __future__ import annotations

import math

import jepa
import pytest
import torch
from jepa_plugins_vision.maskers import block_size

from jepa_plugins_vision import MultiBlockMasker, TubeMasker


def _draws(masker, batches: int, batch_size: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return [masker(batch_size, generator=generator) for _ in range(batches)]


def test_multiblock_defaults_are_the_papers():
    masker = MultiBlockMasker(grid=(14, 14))
    assert masker.num_targets == 4
    assert masker.target_scale == (0.15, 0.2) and masker.aspect_ratio == (0.75, 1.5)
    assert masker.context_scale == (0.85, 1.0) and masker.context_aspect_ratio == (1.0, 1.0)
    assert masker.min_keep == 10


def test_multiblock_blocks_counts_scales_and_disjointness():
    masker = MultiBlockMasker(grid=(14, 14))
    cells = 14 * 14
    for masks in _draws(masker, batches=40, batch_size=16):
        assert len(masks.targets) == 4
        assert masks.overlap() == 0  # no target cell is in the context
        block = masks.targets[0].shape[1]
        # block area is the drawn scale's area up to rounding of the sides
        assert 0.15 * cells - 7 <= block <= 0.2 * cells + 7
        for target in masks.targets:
            assert target.shape == (16, block)
            rows, cols = target // 14, target % 14
            for r, c in zip(rows, cols, strict=True):  # each target is one filled rectangle
                height = int(r.max() - r.min()) + 1
                width = int(c.max() - c.min()) + 1
                assert height * width == block and 0.75 - 0.3 <= height / width <= 1.5 + 0.6
        assert masks.context.shape[1] >= masker.min_keep
        assert bool((masks.context.diff(dim=1) > 0).all())  # sorted, no repeats


def test_block_size_hits_the_drawn_area():
    generator = torch.Generator().manual_seed(1)
    for _ in range(200):
        h, w = block_size(14, 14, (0.15, 0.2), (0.75, 1.5), generator)
        assert 0.15 * 196 - h / 2 - 0.5 <= h * w <= 0.2 * 196 + h / 2 + 0.5


def _frequency(masks_list, attribute: str, grid: tuple[int, int]) -> torch.Tensor:
    counts = torch.zeros(math.prod(grid))
    total = 0
    for masks in masks_list:
        index = masks.context if attribute == "context" else torch.cat(masks.targets, dim=1)
        counts += torch.bincount(index.flatten(), minlength=counts.numel()).float()
        total += index.shape[0]
    return (counts / total).view(grid)


def test_multiblock_context_has_no_raster_order_bias():
    """I-JEPA's reference keeps the first min-length context indices in raster
    order, so bottom-right cells reach the context less often than top-left ones.
    Placement is symmetric, so every cell's frequency must match its point
    reflection's."""
    grid = (8, 8)
    draws = _draws(MultiBlockMasker(grid=grid), batches=150, batch_size=32)
    context = _frequency(draws, "context", grid)
    assert (context - context.flip(0, 1)).abs().max() < 0.04
    # the halves of the grid are reached equally often (a raster cut fails this by far)
    assert abs(float(context[:4].mean() - context[4:].mean())) < 0.015
    targets = _frequency(draws, "targets", grid)
    assert (targets - targets.flip(0, 1)).abs().max() < 0.05


def test_multiblock_covers_every_cell_across_draws():
    grid = (6, 10)
    draws = _draws(MultiBlockMasker(grid=grid), batches=50, batch_size=16)
    assert bool((_frequency(draws, "context", grid) > 0).all())
    assert bool((_frequency(draws, "targets", grid) > 0).all())


def test_multiblock_is_deterministic_under_a_generator():
    masker = MultiBlockMasker(grid=(8, 8))
    first, second = _draws(masker, 3, 4, seed=7), _draws(masker, 3, 4, seed=7)
    for a, b in zip(first, second, strict=True):
        assert torch.equal(a.context, b.context)
        assert all(torch.equal(x, y) for x, y in zip(a.targets, b.targets, strict=True))


def test_multiblock_keeps_a_minimum_on_a_crowded_grid():
    masker = MultiBlockMasker(grid=(6, 6), target_scale=(0.2, 0.25), min_keep=4)
    for masks in _draws(masker, batches=50, batch_size=8):
        assert masks.context.shape[1] >= 4 and masks.overlap() == 0
    # I-JEPA's default of 10 cannot fit a 4x4 grid: the default becomes an eighth of it
    assert MultiBlockMasker(grid=(4, 4)).min_keep == 2 and MultiBlockMasker(grid=(14, 14)).min_keep == 10


def test_multiblock_needs_a_grid():
    with pytest.raises(ValueError, match="needs grid"):
        MultiBlockMasker()
    assert MultiBlockMasker(num_tokens=49).grid == (7, 7)
    with pytest.raises(ValueError, match="not a square"):
        MultiBlockMasker(num_tokens=50)


def test_multiblock_spec_errors_name_the_field():
    with pytest.raises(jepa.SpecError) as info:
        jepa.build(
            "vit",
            "attention",
            masker={"name": "multiblock", "params": {"target_scale": [0.2, 1.5]}},
            encoder={"image_size": 32, "patch_size": 8, "hidden_dim": 32, "depth": 1, "heads": 2},
        )
    assert "target_scale" in str(info.value)


def test_a_pooled_cnn_with_multiblock_is_told_the_cnn_settings():
    with pytest.raises(jepa.WiringError) as info:
        jepa.build("cnn", "attention", masker="multiblock")
    message = str(info.value)
    assert "set pool='none' and image_size in its params (`jepa describe encoder vision:cnn`" in message
    assert "num_tokens" not in message.partition("; set")[2], "the cnn has no num_tokens parameter"
    with pytest.raises(jepa.WiringError, match="set image_size in its params"):
        jepa.build("cnn", "attention", masker="multiblock", encoder={"pool": "none"})


def test_tube_masks_extend_through_time():
    grid = (4, 8, 8)
    masker = TubeMasker(grid=grid)
    for masks in _draws(masker, batches=20, batch_size=8):
        assert len(masks.targets) == 1 and masks.overlap() == 0
        assert masks.context.shape[1] >= masker.min_keep
    for masks in _draws(masker, batches=20, batch_size=1):  # one sample: no equal-length cut
        target = masks.targets[0][0]
        assert masks.context.shape[1] + target.numel() == math.prod(grid)
        # whole-clip tubes: a masked spatial cell is masked in every frame
        counts = torch.bincount(target % 64, minlength=64)
        assert set(counts.tolist()) <= {0, 4}
        assert 0.15 * 64 - 4 <= int((counts > 0).sum())  # at least one block's area


def test_tube_target_frequency_is_symmetric():
    grid = (2, 8, 8)
    draws = _draws(TubeMasker(grid=grid), batches=80, batch_size=32)
    counts = torch.zeros(math.prod(grid))
    for masks in draws:
        counts += torch.bincount(masks.targets[0].flatten(), minlength=counts.numel()).float()
    frequency = (counts / counts.sum()).view(grid)
    assert (frequency - frequency.flip(1, 2)).abs().max() < 0.004
    assert torch.allclose(frequency[0], frequency[1], atol=0.004)  # no frame is favoured
