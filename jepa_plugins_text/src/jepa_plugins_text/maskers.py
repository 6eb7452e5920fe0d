"""Masker ``span``: contiguous target spans over the real (unpadded) tokens of text.

Masker contract: ``masker(batch_size, generator=None, padding_mask=None) -> Masks``.
The engine passes ``padding_mask`` (True at padding) when the batch state holds
one, so targets are drawn only among real tokens and padding is never a target.
"""

from __future__ import annotations

from typing import Annotated

import torch
from jepa import Masks, capture_arguments
from jepa.limits import MAX_TOKENS, TargetCount, Tokens
from pydantic import Field


@capture_arguments
class SpanMasker:
    """Text spans as prediction targets (the text analogue of I-JEPA's blocks).

    About ``target_ratio`` of each batch's real tokens become targets, split into
    ``num_targets`` blocks of equal size (one predictor pass each). A block is one
    contiguous span, or with ``span_length`` set several spans of that length
    (``span_length=1`` is random token masking that respects padding). Spans
    never overlap; everything not in a target is the context, so the context never
    sees a target token. With padding, the block size follows the shortest
    sequence of the batch (rows of one ``Masks`` tensor share their length), and
    context rows of shorter sequences are filled up with padded positions, which
    the encoder does not attend to.
    """

    def __init__(
        self,
        num_tokens: Annotated[int, Field(ge=2, le=MAX_TOKENS)] | None = None,
        target_ratio: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.4,
        num_targets: TargetCount = 4,
        span_length: Tokens | None = None,
        min_context: Tokens = 1,
    ) -> None:
        if num_tokens is None:
            raise ValueError("span masker needs num_tokens (jepa.build takes it from a token encoder)")
        if num_tokens < num_targets + min_context:
            raise ValueError(
                f"{num_tokens} tokens cannot hold {num_targets} target blocks and {min_context} context tokens"
            )
        self.num_tokens = num_tokens
        self.target_ratio = target_ratio
        self.num_targets = num_targets
        self.span_length = span_length
        self.min_context = min_context

    def block_size(self, shortest: int) -> int:
        """Tokens per target block for a batch whose shortest sequence has ``shortest`` real tokens."""
        total = round(self.target_ratio * shortest)
        total = min(max(total, self.num_targets), shortest - self.min_context)
        return total // self.num_targets

    def __call__(
        self,
        batch_size: int,
        generator: torch.Generator | None = None,
        padding_mask: torch.Tensor | None = None,
    ) -> Masks:
        if padding_mask is None:
            real = torch.ones(batch_size, self.num_tokens, dtype=torch.bool)
        else:
            real = ~padding_mask.detach().to("cpu", torch.bool)
            if real.shape[0] != batch_size:
                raise ValueError(f"padding_mask has {real.shape[0]} rows for a batch of {batch_size}")
        lengths = real.sum(dim=1)
        shortest = int(lengths.min())
        if shortest < self.num_targets + self.min_context:
            raise ValueError(
                f"span masker: a sequence in the batch has {shortest} real tokens, fewer than the "
                f"{self.num_targets} target blocks plus {self.min_context} context tokens need; "
                "drop very short texts or lower num_targets"
            )
        per_block = self.block_size(shortest)
        spans = self._span_lengths(per_block)
        covered = per_block * self.num_targets
        context_width = int(lengths.max()) - covered
        targets = torch.empty(self.num_targets, batch_size, per_block, dtype=torch.long)
        context = torch.empty(batch_size, context_width, dtype=torch.long)
        for row in range(batch_size):
            positions = real[row].nonzero().flatten()  # real token positions, in order
            starts = self._place(spans, len(positions), generator)
            in_target = torch.zeros(len(positions), dtype=torch.bool)
            span_iter = iter(zip(spans, starts, strict=True))
            for block in range(self.num_targets):
                members = []
                taken = 0
                while taken < per_block:
                    length, start = next(span_iter)
                    members.append(torch.arange(start, start + length))
                    taken += length
                chosen = torch.cat(members)
                in_target[chosen] = True
                targets[block, row] = positions[chosen].sort().values
            kept = positions[~in_target]
            filler = (~real[row]).nonzero().flatten()[: context_width - len(kept)]
            context[row] = torch.cat([kept, filler])
        return Masks(context=context, targets=tuple(targets))

    def _span_lengths(self, per_block: int) -> list[int]:
        """Span lengths, block after block (each block's spans sum to ``per_block``)."""
        if self.span_length is None or self.span_length >= per_block:
            block = [per_block]
        else:
            full, rest = divmod(per_block, self.span_length)
            block = [self.span_length] * full + ([rest] if rest else [])
        return block * self.num_targets

    @staticmethod
    def _place(spans: list[int], length: int, generator: torch.Generator | None) -> list[int]:
        """Random non-overlapping start offsets for ``spans`` within ``length`` tokens.

        The free tokens are split into ``len(spans) + 1`` gaps by sorted uniform cut
        points, and the spans are laid out between them in a random order.
        """
        free = length - sum(spans)
        cuts = torch.randint(0, free + 1, (len(spans),), generator=generator).sort().values
        gaps = torch.diff(cuts, prepend=torch.zeros(1, dtype=torch.long)).tolist()
        order = torch.randperm(len(spans), generator=generator).tolist()
        starts = [0] * len(spans)
        cursor = 0
        for gap, index in zip(gaps, order, strict=True):
            cursor += gap
            starts[index] = cursor
            cursor += spans[index]
        return starts
