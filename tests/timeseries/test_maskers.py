"""The time_block and forecast maskers."""

from __future__ import annotations

import jepa
import pytest
import torch
from jepa_plugins_timeseries.maskers import ForecastMasker, TimeBlockMasker


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("seed", range(5))
def test_time_blocks_are_contiguous_and_disjoint_from_the_context(seed):
    masker = TimeBlockMasker(num_tokens=50, num_targets=3, block_ratio=(0.1, 0.2))
    masks = masker(8, generator(seed))
    assert len(masks.targets) == 3
    assert masks.overlap() == 0
    length = masks.targets[0].shape[1]
    assert 5 <= length <= 10
    for block in masks.targets:
        assert block.shape == (8, length)
        assert torch.equal(block[:, 1:] - block[:, :-1], torch.ones(8, length - 1, dtype=torch.long))
        assert int(block.min()) >= 0 and int(block.max()) < 50
    context = masks.context
    assert context.shape[0] == 8 and context.shape[1] >= 1
    assert (context[:, 1:] > context[:, :-1]).all()  # sorted, no repeats


def test_time_block_context_is_as_large_as_the_worst_row_allows():
    masks = TimeBlockMasker(num_tokens=20, num_targets=1, block_ratio=(0.25, 0.25))(4, generator())
    assert masks.targets[0].shape == (4, 5)
    assert masks.context.shape == (4, 15)  # one block never overlaps itself


def test_time_blocks_span_every_channel_of_a_grid():
    masker = TimeBlockMasker(num_tokens=3 * 10, grid=(3, 10), num_targets=2, block_ratio=(0.2, 0.3))
    masks = masker(4, generator())
    assert masks.overlap() == 0
    for block in masks.targets:
        channel, step = block // 10, block % 10
        per_channel = block.shape[1] // 3
        for c in range(3):
            assert (channel[:, c * per_channel : (c + 1) * per_channel] == c).all()
        # the same time steps in each channel
        assert torch.equal(step[:, :per_channel], step[:, per_channel : 2 * per_channel])
    context_steps = masks.context % 10
    third = masks.context.shape[1] // 3
    assert torch.equal(context_steps[:, :third], context_steps[:, -third:])


def test_time_block_refuses_settings_that_leave_no_context():
    with pytest.raises(ValueError, match="no context"):
        TimeBlockMasker(num_tokens=10, num_targets=4, block_ratio=(0.2, 0.3))
    with pytest.raises(ValueError, match="num_tokens"):
        TimeBlockMasker()
    with pytest.raises(ValueError, match="grid"):
        TimeBlockMasker(num_tokens=10, grid=(3, 4))
    with pytest.raises(ValueError, match="low <= high"):
        TimeBlockMasker(num_tokens=50, block_ratio=(0.3, 0.1))


def test_time_block_is_reproducible_with_a_generator():
    masker = TimeBlockMasker(num_tokens=40, num_targets=2)
    a, b = masker(3, generator(7)), masker(3, generator(7))
    assert torch.equal(a.context, b.context)
    assert all(torch.equal(x, y) for x, y in zip(a.targets, b.targets, strict=True))


def test_forecast_context_is_the_past_and_target_the_following_future():
    masks = ForecastMasker(num_tokens=20, horizon=5)(3, generator())
    assert masks.context.tolist() == [list(range(15))] * 3
    assert len(masks.targets) == 1
    assert masks.targets[0].tolist() == [list(range(15, 20))] * 3


def test_forecast_horizon_ratio_and_random_split():
    assert ForecastMasker(num_tokens=40, horizon_ratio=0.25).horizon == 10
    masker = ForecastMasker(num_tokens=20, horizon=4, min_context=6)
    splits = set()
    for seed in range(20):
        masks = masker(2, generator(seed))
        split = masks.context.shape[1]
        assert 6 <= split <= 16
        assert masks.targets[0][0].tolist() == list(range(split, split + 4))
        splits.add(split)
    assert len(splits) > 3


def test_forecast_on_a_channel_grid_covers_every_channel():
    masks = ForecastMasker(num_tokens=2 * 8, grid=(2, 8), horizon=2)(1, generator())
    assert masks.context.tolist() == [[0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13]]
    assert masks.targets[0].tolist() == [[6, 7, 14, 15]]


def test_forecast_refuses_impossible_horizons():
    with pytest.raises(ValueError, match="no context"):
        ForecastMasker(num_tokens=8, horizon=8)
    with pytest.raises(ValueError, match="min_context"):
        ForecastMasker(num_tokens=8, horizon=4, min_context=5)


def test_build_wires_the_token_count_and_grid_into_the_maskers(fresh_registry):
    model = jepa.build(
        "patch_transformer",
        "attention",
        masker="time_block",
        encoder={
            "input_dim": 2,
            "hidden_dim": 16,
            "heads": 2,
            "depth": 1,
            "pool": "none",
            "seq_len": 64,
            "patch_len": 4,
            "channel_independent": True,
        },
    )
    assert model.masker.num_tokens == 32 and (model.masker.channels, model.masker.steps) == (2, 16)
    assert model.predictor.grid == (2, 16)
    model = jepa.build(
        "tcn",
        "recurrent",
        masker={"name": "forecast", "params": {"horizon": 8}},
        encoder={"hidden_dim": 16, "depth": 2, "pool": "none", "num_tokens": 32, "causal": True},
    )
    assert model.spec.masker.name == "timeseries:forecast"
    masks = model.masker(2)
    pred, target = model(torch.randn(2, 32), masks=masks)
    assert pred.shape == target.shape == (2, 8, 16)
