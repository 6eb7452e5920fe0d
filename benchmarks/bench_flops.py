"""Achieved FLOP/s of training steps as a fraction of this machine's fp32 matmul peak.

FLOPs are counted with ``torch.utils.flop_counter.FlopCounterMode`` on one step
(forward + backward); the peak is the best of several large fp32 matmuls. A
short profile lists where the step's time goes.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode


def matmul_peak(size: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def vit_tiny_masked():
    import jepa

    torch.manual_seed(0)
    model = jepa.build(
        "vit", "attention", masker="multiblock", loss="smooth_l1", normalize_targets=True,
        encoder={"image_size": 64, "patch_size": 8, "input_channels": 3, "size": "tiny"},
        predictor={"depth": 4, "heads": 4, "isolate_context": True, "packed": True},
    )
    return model, torch.randn(32, 3, 64, 64)


def cnn_paired():
    import jepa

    torch.manual_seed(0)
    model = jepa.build("cnn", "mlp", encoder={"input_channels": 3, "widths": [32, 64, 128], "hidden_dim": 128})
    x = torch.randn(64, 3, 32, 32)
    return model, (x, x.flip(-1))


def measure(name: str, make, goal: str = "") -> list[dict]:
    model, batch = make()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    masks = model.masker(32, generator=torch.Generator().manual_seed(0)) if model.masker is not None else None

    def step() -> None:
        out = model.step(batch, masks=masks, collapse_metrics=False)
        optimizer.zero_grad(set_to_none=True)
        out.loss.backward()
        optimizer.step()
        model.update_target(0.996)

    step()
    counter = FlopCounterMode(display=False)
    with counter:
        out = model.step(batch, masks=masks, collapse_metrics=False)
        out.loss.backward()
    optimizer.zero_grad(set_to_none=True)
    flops = counter.get_total_flops()
    samples = []
    for _ in range(10):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    seconds = statistics.median(samples)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        step()
    top = profile.key_averages().table(sort_by="self_cpu_time_total", row_limit=4).splitlines()
    ops = [line.split()[0] for line in top[3:7] if line.strip() and not line.startswith("-")]
    return [{"benchmark": f"{name} step", "value": round(seconds * 1e3, 1), "unit": "ms",
             "note": f"{flops / seconds / 1e9:.1f} GFLOP/s achieved ({flops / 1e9:.2f} GFLOP per step); "
                     f"top self-time ops: {', '.join(ops)}"},
            {"benchmark": f"{name} FLOP/s fraction of peak", "value": round(flops / seconds / PEAK, 3), "unit": "",
             "note": goal}]


PEAK = 0.0


def run() -> list[dict]:
    global PEAK
    PEAK = matmul_peak()
    rows = [{"benchmark": "fp32 matmul peak (2048^3)", "value": round(PEAK / 1e9, 1), "unit": "GFLOP/s",
             "note": f"{torch.get_num_threads()} threads"}]
    rows += measure("masked ViT-tiny (64x64, patch 8, batch 32, packed predictor)", vit_tiny_masked,
                    goal="goal: >= 0.70")
    rows += measure("paired CNN (32x32, batch 64)", cnn_paired)
    return rows
