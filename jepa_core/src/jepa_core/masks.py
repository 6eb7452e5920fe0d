"""Context/target index sets that maskers draw and the engine consumes."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Masks:
    """Indices into a token sequence of length N.

    ``context``: ``(B, Nc)`` indices the context encoder sees.
    ``targets``: one ``(B, T_k)`` tensor per target block; the predictor predicts
    each block from the context. Within a tensor every row has the same length.
    """

    context: torch.Tensor
    targets: tuple[torch.Tensor, ...]

    def __post_init__(self) -> None:
        if self.context.dim() != 2:
            raise ValueError(f"Masks.context must be (B, Nc), got shape {tuple(self.context.shape)}")
        if not self.targets:
            raise ValueError("Masks.targets needs at least one target block")
        batch = self.context.shape[0]
        for i, block in enumerate(self.targets):
            if block.dim() != 2 or block.shape[0] != batch:
                raise ValueError(f"Masks.targets[{i}] must be ({batch}, T), got shape {tuple(block.shape)}")
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def batch_size(self) -> int:
        return self.context.shape[0]

    def to(self, device: torch.device | str) -> Masks:
        return Masks(
            self.context.to(device, non_blocking=True),
            tuple(t.to(device, non_blocking=True) for t in self.targets),
        )

    def overlap(self) -> int:
        """How many (sample, token) pairs are in both the context and some target."""
        total = 0
        for block in self.targets:
            total += int((self.context.unsqueeze(2) == block.unsqueeze(1)).any(2).sum())
        return total
