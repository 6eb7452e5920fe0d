"""Core losses.

Loss contract: ``loss(pred, target, context=None)`` on predicted and target
embeddings of the same shape (``(B, D)`` or ``(B, T, D)``); ``context`` is the
online encoder's embeddings, which regularisers (VICReg, SIGReg) use. Returns a
scalar, or a dict with ``"loss"`` and named parts that are logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from jepa_core.limits import Count
from jepa_core.metrics import pooled
from jepa_core.registry import capture_arguments

NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]


def _check_shapes(pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.shape == target.shape:
        return
    if pred.dim() == target.dim() == 3 and pred.shape[-1] == target.shape[-1] and pred.shape[0] == target.shape[0]:
        need = (  # the widths agree: it is the number of predicted embeddings that does not
            f"the predictor gives {pred.shape[1]} embedding(s) per item where the target has {target.shape[1]} "
            "tokens: a predictor that predicts a number of steps (recurrent's steps) must predict one per target "
            "token, or the encoder must pool (pool='mean') to one embedding"
        )
    else:
        need = "the predictor must output the encoder's width"
    raise ValueError(f"prediction shape {tuple(pred.shape)} does not match target shape {tuple(target.shape)}; {need}")


def _rows(x: torch.Tensor) -> torch.Tensor:
    """Every embedding as a row: ``(B, D)`` or ``(B*T, D)``."""
    return x.reshape(-1, x.shape[-1])


@capture_arguments
class MSELoss(nn.Module):
    """Mean squared error between predicted and target embeddings."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return F.mse_loss(pred, target)


@capture_arguments
class L1Loss(nn.Module):
    """Mean absolute error (V-JEPA's regression loss)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return F.l1_loss(pred, target)


@capture_arguments
class SmoothL1Loss(nn.Module):
    """Smooth L1 (Huber) loss (I-JEPA's loss on layer-normed targets)."""

    def __init__(self, beta: Positive = 1.0) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return F.smooth_l1_loss(pred, target, beta=self.beta)


@capture_arguments
class CosineLoss(nn.Module):
    """``1 - cos(pred, target)`` averaged over embeddings (BYOL-style)."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(pred, target)
        return (1.0 - F.cosine_similarity(pred, target, dim=-1)).mean()


def vicreg_variance(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Hinge on the per-dimension std: zero once every dimension has std >= 1."""
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(1.0 - std).mean()


def vicreg_covariance(z: torch.Tensor) -> torch.Tensor:
    """Sum of squared off-diagonal covariances, divided by the width."""
    n, d = z.shape
    z = z - z.mean(dim=0)
    cov = (z.T @ z) / max(n - 1, 1)
    off_diagonal = cov - torch.diag(torch.diagonal(cov))
    return off_diagonal.pow(2).sum() / d


@capture_arguments
class VICRegLoss(nn.Module):
    """VICReg (Bardes et al. 2022): invariance + variance + covariance, weights 25/25/1.

    Invariance is the MSE between prediction and target; variance and covariance
    are computed on both the prediction and the target embeddings.
    """

    def __init__(
        self,
        sim_weight: NonNegative = 25.0,
        var_weight: NonNegative = 25.0,
        cov_weight: NonNegative = 1.0,
        eps: Positive = 1e-4,
    ) -> None:
        super().__init__()
        self.sim_weight, self.var_weight, self.cov_weight, self.eps = sim_weight, var_weight, cov_weight, eps

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        _check_shapes(pred, target)
        a, b = _rows(pred), _rows(target)
        invariance = F.mse_loss(a, b)
        variance = (vicreg_variance(a, self.eps) + vicreg_variance(b, self.eps)) / 2
        covariance = (vicreg_covariance(a) + vicreg_covariance(b)) / 2
        loss = self.sim_weight * invariance + self.var_weight * variance + self.cov_weight * covariance
        return {"loss": loss, "invariance": invariance, "variance": variance, "covariance": covariance}


class _CharacteristicFunction(torch.autograd.Function):
    """Empirical characteristic function of each column of ``x (N, M)`` at the evenly
    spaced ``t_k = k * step``, ``k < knots``: ``(mean cos(x t_k), mean sin(x t_k))``,
    each ``(M, knots)``.

    Written out because autograd's version is the cost of SIGReg: it materialises
    ``(N, M, knots)`` and evaluates cos and sin on all of it twice (forward, and
    again in backward). Here ``e^{i x t_k}`` is ``e^{i x step}`` raised to ``k`` by the
    angle-addition recurrence, so each pass evaluates one cos and one sin per
    ``(N, M)`` element and does multiply-adds for the knots; memory stays ``O(N M)``.
    The recurrence is a rotation, so its rounding error grows only linearly in ``k``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, step: float, knots: int) -> tuple[torch.Tensor, torch.Tensor]:
        angle = x * step
        c1, s1 = torch.cos(angle), torch.sin(angle)
        real = x.new_zeros(knots, x.shape[1])
        imaginary = x.new_zeros(knots, x.shape[1])
        real[0] = 1.0  # t_0 = 0: e^0
        for k, c, s in _rotations(c1, s1, knots):
            real[k], imaginary[k] = c.mean(0), s.mean(0)
        ctx.save_for_backward(c1, s1)
        ctx.step, ctx.knots = step, knots
        return real.T, imaginary.T

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_real: torch.Tensor, grad_imaginary: torch.Tensor):
        # d/dx mean cos(x t) = -t sin(x t) / N;  d/dx mean sin(x t) = t cos(x t) / N
        c1, s1 = ctx.saved_tensors
        grad = torch.zeros_like(c1)
        for k, c, s in _rotations(c1, s1, ctx.knots):
            t = k * ctx.step
            grad.addcmul_(c, grad_imaginary[:, k] * t).addcmul_(s, grad_real[:, k] * -t)
        return grad / c1.shape[0], None, None


def _rotations(c1: torch.Tensor, s1: torch.Tensor, knots: int) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """``(k, cos(k a), sin(k a))`` for ``k = 1 .. knots - 1``, from ``cos a`` and ``sin a``
    by angle addition: ``e^{i k a} = e^{i (k-1) a} e^{i a}``."""
    c, s = c1, s1
    for k in range(1, knots):
        if k > 1:
            c, s = c * c1 - s * s1, s * c1 + c * s1
        yield k, c, s


def epps_pulley(projections: torch.Tensor, knots: int = 17, t_max: float = 3.0) -> torch.Tensor:
    """Epps-Pulley statistic of each column of ``projections (N, M)`` against N(0, 1).

    It integrates the squared gap between the empirical characteristic function
    and the standard normal one, ``exp(-t^2/2)``, weighted by that same Gaussian,
    over ``t`` in ``[-t_max, t_max]`` (symmetric, so ``[0, t_max]`` doubled), by
    the trapezoid rule. Scaled by N so it is a test statistic (O(1) under the
    null, growing with N otherwise). Returns ``(M,)``.
    """
    n = projections.shape[0]
    t = torch.linspace(0.0, t_max, knots, device=projections.device, dtype=projections.dtype)
    phi = torch.exp(-0.5 * t**2)
    real, imaginary = _CharacteristicFunction.apply(projections, t_max / (knots - 1), knots)
    gap = (real - phi) ** 2 + imaginary**2
    integral = 2.0 * torch.trapezoid(gap * phi, t, dim=-1)
    return n * integral


@capture_arguments
class SIGRegLoss(nn.Module):
    """LeJEPA (Balestriero & LeCun 2025): prediction loss plus SIGReg.

    SIGReg pushes the online embeddings towards an isotropic Gaussian: project
    them on ``num_slices`` random unit directions (fresh each call, the sketched
    Cramer-Wold device) and average the Epps-Pulley statistic of each 1-D
    projection. Total: ``(1 - lam) * prediction(pred, target) + lam * sigreg``,
    the prediction term the mean squared error (LeJEPA's) or, with
    ``prediction="l1"``, V-JEPA's L1. LeJEPA uses it with ``target="none"``
    (no EMA, no stop-gradient); beside an EMA target it keeps the online
    embeddings from shrinking towards a common point.
    """

    def __init__(
        self,
        lam: Annotated[float, Field(ge=0.0, le=1.0)] = 0.05,
        num_slices: Count = 256,
        knots: Annotated[int, Field(ge=3, le=1024)] = 17,
        t_max: Positive = 3.0,
        prediction: Literal["mse", "l1"] = "mse",
    ) -> None:
        super().__init__()
        self.lam, self.num_slices, self.knots, self.t_max = lam, num_slices, knots, t_max
        self.prediction = prediction

    def sigreg(self, embeddings: torch.Tensor) -> torch.Tensor:
        z = _rows(embeddings).float()
        if z.shape[0] < 2:  # one point has no distribution to test: the statistic would be noise
            raise ValueError(
                "SIGReg tests the distribution of a micro-batch's embeddings and got one: give it micro-batches "
                "of two or more items (or token embeddings)"
            )
        directions = torch.randn(z.shape[1], self.num_slices, device=z.device, dtype=z.dtype)
        directions = directions / directions.norm(dim=0, keepdim=True)
        return epps_pulley(z @ directions, self.knots, self.t_max).mean()

    def forward(
        self, pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        _check_shapes(pred, target)
        prediction = F.l1_loss(pred, target) if self.prediction == "l1" else F.mse_loss(pred, target)
        regulariser = self.sigreg(context if context is not None else pred)
        loss = (1.0 - self.lam) * prediction + self.lam * regulariser
        return {"loss": loss, "prediction": prediction, "sigreg": regulariser}


@capture_arguments
class InfoNCELoss(nn.Module):
    """Contrastive InfoNCE: each prediction must pick its own target among the batch's.

    Embeddings are pooled over tokens, L2-normalised, compared by dot product
    divided by ``temperature``; cross-entropy against the matching index.
    """

    def __init__(self, temperature: Positive = 0.1) -> None:
        super().__init__()
        self.temperature = temperature

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        _check_shapes(pred, target)
        a = F.normalize(pooled(pred), dim=-1)
        b = F.normalize(pooled(target), dim=-1)
        logits = a @ b.T / self.temperature
        labels = torch.arange(a.shape[0], device=a.device)
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(dim=1) == labels).float().mean()
        return {"loss": loss, "accuracy": accuracy}
