"""SIGReg's cost: the written-out characteristic function against autograd through cos and sin.

SIGReg (``loss: sigreg``) projects the context tokens on random directions and
compares each projection's empirical characteristic function with the Gaussian's
at 17 knots. Written the obvious way, autograd materialises ``(tokens, slices,
knots)`` and evaluates cos and sin on all of it in the forward pass and again in
the backward one; ``jepa``'s version evaluates them once per ``(token, slice)``
and reaches the other knots by the angle-addition recurrence. One row per
recipe that uses it, at that recipe's shape (context tokens of one batch, width,
slices); forward and backward, one thread.

    python benchmarks/run.py losses
"""

from __future__ import annotations

import statistics
import time

import torch
from jepa_core.components.losses import epps_pulley

TITLE = "SIGReg: forward + backward, written out vs autograd through cos/sin"
NOTES = (
    "*ms*: median of 15 forward + backward passes of the statistic (random directions drawn outside the timing), "
    "one thread; the two alternate, so the machine's noise hits both alike. *max gap*: the largest difference "
    "between their gradients, relative to the largest gradient (float32)."
)
REPEATS = 15
SHAPES = (  # recipe, context tokens in a batch, width, slices
    ("video (jepa init video)", 64 * 48, 64, 64),
    ("time series, 96-step crops (examples/timeseries_ucr.py on GunPoint)", 32 * 53, 128, 256),
    ("time series, 24-step series (jepa init timeseries: ItalyPowerDemand)", 32 * 17, 128, 256),
    ("text, masked spans (examples/text_stdlib.py)", 64 * 32, 128, 256),
)


def by_autograd(projections: torch.Tensor, knots: int = 17, t_max: float = 3.0) -> torch.Tensor:
    """The statistic as autograd sees it when written directly (the reference)."""
    t = torch.linspace(0.0, t_max, knots, dtype=projections.dtype)
    phi = torch.exp(-0.5 * t**2)
    xt = projections.unsqueeze(-1) * t
    gap = (torch.cos(xt).mean(0) - phi) ** 2 + torch.sin(xt).mean(0) ** 2
    return projections.shape[0] * 2.0 * torch.trapezoid(gap * phi, t, dim=-1)


def _timed(statistic, z: torch.Tensor, directions: torch.Tensor) -> tuple[float, torch.Tensor]:
    z = z.clone().requires_grad_()
    started = time.perf_counter()
    statistic(z @ directions).mean().backward()
    return time.perf_counter() - started, z.grad


def run(options=None) -> list[dict]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    rows = []
    try:
        for recipe, tokens, width, slices in SHAPES:
            generator = torch.Generator().manual_seed(0)
            z = torch.randn(tokens, width, generator=generator)
            written, reference, gap = [], [], 0.0
            for _ in range(REPEATS):
                directions = torch.randn(width, slices, generator=generator)
                directions /= directions.norm(dim=0)
                seconds, grad = _timed(epps_pulley, z, directions)
                written.append(seconds)
                seconds, expected = _timed(by_autograd, z, directions)
                reference.append(seconds)
                gap = max(gap, float((grad - expected).abs().max() / expected.abs().max()))
            fast, slow = statistics.median(written), statistics.median(reference)
            rows.append(
                {
                    "recipe": recipe,
                    "tokens x width, slices": f"{tokens} x {width}, {slices}",
                    "written out ms": round(fast * 1e3, 1),
                    "autograd ms": round(slow * 1e3, 1),
                    "speed-up": f"{slow / fast:.1f}x",
                    "max gap": f"{gap:.1e}",
                }
            )
    finally:
        torch.set_num_threads(threads)
    return rows
