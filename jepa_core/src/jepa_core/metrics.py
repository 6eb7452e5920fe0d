"""Collapse signals computed on embeddings during training."""

from __future__ import annotations

import torch


def pooled(embeddings: torch.Tensor) -> torch.Tensor:
    """``(B, D)`` from pooled ``(B, D)`` or token ``(B, N, D)`` embeddings (token mean)."""
    return embeddings.mean(dim=1) if embeddings.dim() == 3 else embeddings.reshape(embeddings.shape[0], -1)


def _batch(embeddings: torch.Tensor) -> torch.Tensor:
    """A tensor (a NumPy array is taken as one) of at least two dimensions: a batch."""
    embeddings = torch.as_tensor(embeddings)
    if embeddings.dim() < 2 or embeddings.shape[0] == 0:
        raise ValueError(
            f"embeddings of shape {tuple(embeddings.shape)} are not a batch: give (batch, dim) or tokens "
            "(batch, tokens, dim), with one item or more"
        )
    return embeddings


@torch.no_grad()
def embedding_std(embeddings: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the per-dimension std of L2-normalised embeddings.

    A healthy representation spread over the sphere sits near ``1/sqrt(D)``;
    complete collapse gives 0 (the signal BYOL/SimSiam papers plot). The std is
    taken across the batch, so it is centred already: an offset every sample
    shares is no spread. Such an offset does make the normalised embeddings
    point alike, so a freshly initialised transformer reads far below ``1/sqrt(D)``
    (the README's quick-start model about 0.006 of 0.18). A single sample has no
    spread: NaN (a run's ``metrics.jsonl`` writes it as ``null``).
    """
    z = torch.nn.functional.normalize(pooled(_batch(embeddings)).float(), dim=-1)
    if z.shape[0] < 2:  # torch would warn of no degrees of freedom at every step
        return z.new_full((), float("nan"))
    return z.std(dim=0).mean()


@torch.no_grad()
def rankme(embeddings: torch.Tensor, eps: float = 1e-7, min_energy: float = 1e-6) -> torch.Tensor:
    """Effective rank (RankMe, Garrido et al. 2023): ``exp`` of the entropy of the
    normalised singular values of the ``(B, D)`` embedding matrix, centred over
    the batch.

    Ranges from 1 (collapsed to a line or a point) to ``min(B - 1, D)``.

    Unlike the paper, which takes the singular values of the raw matrix, the
    batch mean is subtracted first: an offset that every sample shares says
    nothing about which sample it is, yet uncentred it is a direction of its own,
    and the largest. A freshly initialised transformer puts most of its output in
    such an offset: uncentred, the README's quick-start model (a batch of 4) read 1.3 and the
    timeseries starter 1.6 before any training, as if collapsed (centred: 2.8 of
    at most 3, and 6.3). When the centred embeddings hold less than
    ``min_energy`` of the uncentred ones' energy (squared norm), the batch is one
    point up to noise and this returns 1 rather than the rank of that noise. How
    far apart the samples are is :func:`jepa.embedding_std`'s to say.
    """
    z = pooled(_batch(embeddings)).float()
    finite = torch.isfinite(z)
    # SVD fails on NaN/Inf; compute on zeros instead and let the NaN through the
    # result (0 * sum), which avoids a host sync to check first
    clean = torch.where(finite, z, torch.zeros_like(z))
    centred = clean - clean.mean(dim=0, keepdim=True)
    singular = torch.linalg.svdvals(centred)
    p = singular / (singular.sum() + eps) + eps
    rank = torch.exp(-(p * p.log()).sum())
    # one point (every sample the same, or a single sample): rank 1, chosen on the
    # device (torch.where) rather than with a host-side if
    spread = centred.square().sum() > min_energy * clean.square().sum()
    return torch.where(spread, rank, torch.ones_like(rank)) + 0.0 * z.sum()
