"""The component contract, written down once: what the engine, the factory, the
composites and the conformance suite (:mod:`jepa_core.testing`) expect of each kind.

These are :class:`typing.Protocol` classes: a component satisfies one by having the
attributes and call signature, not by inheriting from it, so a plugin's
``torch.nn.Module`` needs nothing from jepa to be one. The conformance suite checks
the behaviour the types cannot say (shapes, masks, gradients, seeds).

Inputs are batch-first. A *state* is a tensor or a mapping of the encoder's keyword
inputs (``{"x": x, "padding_mask": m}``); :func:`encode_state` calls an encoder on
either.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeAlias

import torch

from jepa_core.masks import Masks

State: TypeAlias = torch.Tensor | Mapping[str, Any]


class Encoder(Protocol):
    """Maps a state to embeddings: pooled ``(B, embed_dim)`` or tokens
    ``(B, num_tokens, embed_dim)``.

    ``mask`` (masked training) is an ``int64`` ``(B, K)`` tensor of the indices of
    the tokens to keep; the encoder returns only those ``K`` tokens, and their
    encoding must not depend on the dropped tokens' inputs. ``num_tokens`` is None
    for an encoder whose token count follows its input (it cannot be used with a
    masker); ``grid`` is the tokens' layout, row-major (``(H, W)`` for an image's
    patches, ``(T, H, W)`` for video; None for a 1-D sequence, token ``i`` being
    step ``i``), which maskers draw blocks on.
    """

    embed_dim: int
    num_tokens: int | None
    grid: tuple[int, ...] | None

    def forward(self, x: Any, mask: torch.Tensor | None = None) -> torch.Tensor: ...


class Predictor(Protocol):
    """Maps context embeddings ``(B, N, D)`` to predictions ``(B, T, D)`` for the ``T``
    target positions given as the keyword ``target_idx`` (or ``(B, D)`` to ``(B, D)``
    in paired mode). The keywords ``target_idx`` (masked training), ``context_idx``
    (the positions of the context tokens) and ``action`` are passed only to a
    predictor whose forward takes them."""

    def forward(self, context: torch.Tensor, **keywords: Any) -> torch.Tensor: ...


class Masker(Protocol):
    """Draws context and target token indices for a batch: disjoint, in range, of equal
    length within the batch, and the same for the same ``generator`` seed.
    ``padding_mask`` ``(B, N)`` is passed only to a masker whose call takes it."""

    num_tokens: int

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks: ...


class Loss(Protocol):
    """Scores predictions against targets: a finite scalar (or a dict holding one
    under ``"loss"``, plus metrics) whose gradient reaches ``pred``. ``context`` (the
    context embeddings, for regularisers) is passed only to a loss whose call takes it."""

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]: ...


class Dataset(Protocol):
    """Has a length, and yields ``x``, ``(x, label)`` or a mapping of the encoder's
    keyword inputs (labels under ``"y"``, ``"label"`` or ``"labels"``)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


def accepted_keywords(function: Callable[..., Any]) -> set[str] | None:
    """The keyword names ``function`` accepts (None: any, it takes ``**kwargs``): which
    of the contract's optional keywords (``mask``, ``target_idx``, ``context``,
    ``padding_mask``, ...) a component is given."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def encode_state(encoder: Any, state: State, mask: torch.Tensor | None = None, **extra: Any) -> torch.Tensor:
    """``encoder`` applied to ``state``: a tensor as its input, a mapping as its keyword
    inputs; ``mask`` (when given) and ``extra`` are passed by keyword."""
    if mask is not None:
        extra["mask"] = mask
    if isinstance(state, Mapping):
        return encoder(**state, **extra)
    return encoder(state, **extra)


__all__ = ["Dataset", "Encoder", "Loss", "Masker", "Predictor", "State", "encode_state"]
