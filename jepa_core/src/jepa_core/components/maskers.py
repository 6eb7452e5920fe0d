"""Core masker ``random``: a uniformly random context/target split of N tokens.

Masker contract: ``masker(batch_size, generator=None) -> Masks``, indices into
a token sequence of length ``num_tokens`` (which ``build`` takes from the
encoder). Modality plugins add structured maskers (multi-block, spans, tubes).
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field

from jepa_core.limits import MAX_TOKENS, TargetCount
from jepa_core.masks import Masks
from jepa_core.registry import capture_arguments


@capture_arguments
class RandomMasker:
    """MAE-style random masking: ``target_ratio`` of the tokens become targets
    (split into ``num_targets`` equal blocks), the rest is the context."""

    def __init__(
        self,
        num_tokens: Annotated[int, Field(ge=2, le=MAX_TOKENS)] | None = None,
        target_ratio: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.75,
        num_targets: TargetCount = 1,
    ) -> None:
        if num_tokens is None:
            raise ValueError("random masker needs num_tokens (jepa.build takes it from a token encoder)")
        self.num_tokens = num_tokens
        self.num_target_tokens = min(num_tokens - 1, max(num_targets, round(num_tokens * target_ratio)))
        self.num_targets = num_targets
        if self.num_target_tokens < num_targets:
            raise ValueError(f"{num_tokens} tokens cannot hold {num_targets} target blocks and a context")

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks:
        order = torch.rand(batch_size, self.num_tokens, generator=generator).argsort(dim=1)
        per_block = self.num_target_tokens // self.num_targets
        targets = tuple(
            order[:, i * per_block : (i + 1) * per_block].sort(dim=1).values for i in range(self.num_targets)
        )
        context = order[:, self.num_targets * per_block :].sort(dim=1).values
        return Masks(context=context, targets=targets)
