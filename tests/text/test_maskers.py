"""The span masker: targets never leak into the context, padding is never a target."""

from __future__ import annotations

import jepa
import pytest
import torch

from jepa_plugins_text import SpanMasker


def padding_for(lengths: list[int], width: int) -> torch.Tensor:
    return torch.arange(width)[None, :] >= torch.tensor(lengths)[:, None]


def check(masks: jepa.Masks, padding: torch.Tensor) -> None:
    real = ~padding
    for row in range(masks.batch_size):
        context = set(masks.context[row].tolist())
        targets = set()
        for block in masks.targets:
            members = block[row].tolist()
            assert all(real[row, i] for i in members), "a target is a padded position"
            targets |= set(members)
        assert not context & targets, "a target token leaked into the context"
        real_tokens = set(real[row].nonzero().flatten().tolist())
        assert real_tokens - targets <= context, "a real non-target token is missing from the context"
    assert masks.overlap() == 0


@pytest.mark.parametrize("span_length", [None, 1, 3])
def test_no_leak_with_and_without_padding(span_length):
    masker = SpanMasker(num_tokens=40, target_ratio=0.5, num_targets=3, span_length=span_length)
    generator = torch.Generator().manual_seed(0)
    for lengths in ([40, 40, 40], [40, 17, 9, 33], [12, 12]):
        padding = padding_for(lengths, 40)
        for _ in range(20):
            check(masker(len(lengths), generator, padding_mask=padding), padding)
    for _ in range(20):
        check(masker(4, generator), torch.zeros(4, 40, dtype=torch.bool))


def test_a_block_is_one_contiguous_span():
    masker = SpanMasker(num_tokens=64, target_ratio=0.5, num_targets=2)
    masks = masker(8, torch.Generator().manual_seed(1))
    for block in masks.targets:
        assert block.shape == (8, 16)
        assert (block.diff(dim=1) == 1).all()


def test_target_size_follows_the_ratio_of_the_shortest_text():
    masker = SpanMasker(num_tokens=100, target_ratio=0.4, num_targets=4)
    masks = masker(2, padding_mask=padding_for([100, 50], 100))
    assert sum(block.shape[1] for block in masks.targets) == 20
    assert masks.context.shape == (2, 80)  # longest real length minus the targets


def test_span_length_one_is_random_token_masking():
    masker = SpanMasker(num_tokens=50, target_ratio=0.3, num_targets=1, span_length=1)
    masks = masker(64, torch.Generator().manual_seed(2))
    block = masks.targets[0]
    assert block.shape == (64, 15)
    assert (block.diff(dim=1) > 1).any(), "single-token spans should not all be adjacent"


def test_a_generator_makes_draws_reproducible():
    masker = SpanMasker(num_tokens=30)
    a = masker(3, torch.Generator().manual_seed(5))
    b = masker(3, torch.Generator().manual_seed(5))
    assert torch.equal(a.context, b.context) and all(map(torch.equal, a.targets, b.targets))


def test_too_short_texts_are_an_error_that_says_so():
    masker = SpanMasker(num_tokens=20, num_targets=4)
    with pytest.raises(ValueError, match="fewer than"):
        masker(2, padding_mask=padding_for([20, 3], 20))
    with pytest.raises(ValueError, match="num_tokens"):
        SpanMasker()


def test_the_engine_passes_the_padding_mask(fresh_registry):
    seen = []

    class Recording(SpanMasker):
        def __call__(self, batch_size, generator=None, padding_mask=None):
            seen.append(padding_mask)
            return super().__call__(batch_size, generator, padding_mask=padding_mask)

    model = jepa.build(
        "text_transformer",
        "attention",
        masker="span",
        encoder={"tokenizer": "bytes", "hidden_dim": 32, "depth": 1, "pool": "none", "num_tokens": 16},
        predictor={"depth": 1},
    )
    model.masker = Recording(num_tokens=16, num_targets=2)
    batch = model.encoder.tokenizer(["0123456789abcdef", "0123456"], max_length=16, padding="max_length")
    model.step(batch)
    assert seen and torch.equal(seen[0].cpu(), batch["padding_mask"])
