"""Turning raw series batches into what the encoders compute on, with the gaps explicit.

A batch is ``(B, T, C)`` (or ``(B, T)`` for one channel), batch first. Two kinds of
gap exist and are handled the same way:

* missing values: NaN (or inf) entries, e.g. a sensor that dropped out;
* padding: steps beyond a series' length, given as ``padding_mask`` ``(B, T)``
  (True = padded) or, as the datasets of this plugin produce, NaN steps.

Gaps are never fed to a network as numbers: the value becomes 0 and a separate
``observed`` flag says it was not seen, so that the encoders can tell "zero" from
"unknown" and leave unobserved steps out of attention and pooling.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jepa.layers import masked_mean


@dataclass
class SeriesBatch:
    """A batch with its gaps spelled out.

    ``values``: ``(B, T, C)``, 0 wherever unobserved. ``observed``: ``(B, T, C)``
    bool, True where a real value was seen. ``valid``: ``(B, T)`` bool, True for
    steps with at least one observed channel (and not padding).
    """

    values: torch.Tensor
    observed: torch.Tensor

    @property
    def valid(self) -> torch.Tensor:
        return self.observed.any(dim=-1)

    def features(self, missing_indicator: bool) -> torch.Tensor:
        """``(B, T, C)`` values, or ``(B, T, 2C)`` values followed by observed flags."""
        if not missing_indicator:
            return self.values
        return torch.cat([self.values, self.observed.to(self.values.dtype)], dim=-1)

    def gather_steps(self, index: torch.Tensor) -> SeriesBatch:
        """The steps ``index`` ``(B, K)`` of every row."""
        expand = index.unsqueeze(-1).expand(-1, -1, self.values.shape[-1])
        return SeriesBatch(torch.gather(self.values, 1, expand), torch.gather(self.observed, 1, expand))


def as_series_batch(
    x: torch.Tensor,
    input_dim: int,
    padding_mask: torch.Tensor | None = None,
    who: str = "encoder",
) -> SeriesBatch:
    """Check the shape of ``x`` and split it into values and observed flags."""
    if type(x).__module__ == "numpy":
        raise TypeError(
            f"{who} takes a (batch, time, {input_dim}) tensor, got a numpy.{type(x).__name__}: convert it, "
            "torch.as_tensor(array, dtype=torch.float32)"
        )
    if not isinstance(x, torch.Tensor):  # a list of series, say: they need stacking, NaN-padded to one length
        raise TypeError(
            f"{who} takes a (batch, time, {input_dim}) tensor, got a {type(x).__name__}: stack the series into "
            "one tensor, NaN-padding shorter ones at the end (torch.nn.utils.rnn.pad_sequence([torch.as_tensor(s, "
            "dtype=torch.float32) for s in series], batch_first=True, padding_value=float('nan')))"
        )
    if x.dim() == 2 and input_dim == 1 and x.shape[-1] == 1:  # (batch, time) of one-step series, or one series?
        raise ValueError(
            f"{who} got shape {tuple(x.shape)}, which reads as {x.shape[0]} series of one step each: give one "
            f"series of {x.shape[0]} steps as (1, {x.shape[0]}, 1) (x.T, or x[None]), a batch of univariate "
            "series as (batch, time) or (batch, time, 1)"
        )
    if x.dim() == 2 and input_dim == 1:
        x = x.unsqueeze(-1)
    if x.dim() == 3 and x.shape[-1] != input_dim:
        fix = (
            "it looks like (batch, channels, time): give (batch, time, channels), a dataset's layout "
            "(x.transpose(1, 2))"
            if x.shape[1] == input_dim
            else f"give it {input_dim}-channel series, or, when the data is right, set input_dim to its "
            f"{x.shape[-1]} channels"
        )
        raise ValueError(f"{who} expects (batch, time, {input_dim}) series, got shape {tuple(x.shape)}; {fix}")
    if x.dim() == 2 and x.shape[-1] == input_dim:  # one series of (time, channels): the batch axis is missing
        raise ValueError(
            f"{who} expects (batch, time, {input_dim}) series, got shape {tuple(x.shape)}, one series: add the "
            "batch axis (x.unsqueeze(0), or x[None])"
        )
    if x.dim() != 3:  # images or video, say: no input_dim makes those a series
        raise ValueError(
            f"{who} expects (batch, time, {input_dim}) series, got a {x.dim()}-D tensor of shape "
            f"{tuple(x.shape)}; give it series, or use an encoder made for this data"
        )
    if not x.is_floating_point():
        x = x.float()
    observed = torch.isfinite(x)
    if padding_mask is not None:
        if padding_mask.shape != x.shape[:2]:
            raise ValueError(
                f"padding_mask must be (batch, time) = {tuple(x.shape[:2])}, got {tuple(padding_mask.shape)}"
            )
        observed = observed & ~padding_mask.bool().unsqueeze(-1)
    values = torch.where(observed, x, torch.zeros((), dtype=x.dtype, device=x.device))
    return SeriesBatch(values, observed)


def masked_pool(tokens: torch.Tensor, valid: torch.Tensor, how: str) -> torch.Tensor:
    """Pool ``tokens`` ``(B, N, D)`` over the tokens where ``valid`` ``(B, N)`` holds.

    ``how`` is ``"mean"``, ``"max"`` or ``"last"`` (the last valid token). A row with
    no valid token pools to zeros, a defined value rather than NaN.
    """
    keep = valid.unsqueeze(-1)
    any_valid = valid.any(dim=1, keepdim=True)
    if how == "mean":
        return masked_mean(tokens, ~valid)
    if how == "max":
        lowest = torch.finfo(tokens.dtype).min
        pooled = tokens.masked_fill(~keep, lowest).amax(dim=1)
        return torch.where(any_valid, pooled, torch.zeros_like(pooled))
    if how == "last":
        positions = torch.arange(valid.shape[1], device=valid.device).expand_as(valid)
        last = torch.where(valid, positions, torch.zeros_like(positions)).amax(dim=1)
        pooled = tokens[torch.arange(tokens.shape[0], device=tokens.device), last]
        return torch.where(any_valid, pooled, torch.zeros_like(pooled))
    raise ValueError(f"unknown pooling {how!r}; use 'mean', 'max' or 'last'")
