"""Collapse signals computed on embeddings during training."""

from __future__ import annotations

import torch


def pooled(embeddings: torch.Tensor) -> torch.Tensor:
    """``(B, D)`` from pooled ``(B, D)`` or token ``(B, N, D)`` embeddings (token mean)."""
    return embeddings.mean(dim=1) if embeddings.dim() == 3 else embeddings.reshape(embeddings.shape[0], -1)


@torch.no_grad()
def embedding_std(embeddings: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the per-dimension std of L2-normalised embeddings.

    A healthy representation spread over the sphere sits near ``1/sqrt(D)``;
    complete collapse gives 0 (the signal BYOL/SimSiam papers plot).
    """
    z = torch.nn.functional.normalize(pooled(embeddings).float(), dim=-1)
    return z.std(dim=0).mean()


@torch.no_grad()
def rankme(embeddings: torch.Tensor, eps: float = 1e-7) -> torch.Tensor:
    """Effective rank (RankMe, Garrido et al. 2023): ``exp`` of the entropy of the
    normalised singular values of the ``(B, D)`` embedding matrix.

    Ranges from 1 (collapsed to a line) to ``min(B, D)``.
    """
    z = pooled(embeddings).float()
    finite = torch.isfinite(z)
    # SVD fails on NaN/Inf; compute on zeros instead and let the NaN through the
    # result (0 * sum), which avoids a host sync to check first
    singular = torch.linalg.svdvals(torch.where(finite, z, torch.zeros_like(z)))
    p = singular / (singular.sum() + eps) + eps
    return torch.exp(-(p * p.log()).sum()) + 0.0 * z.sum()
