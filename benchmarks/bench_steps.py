"""Training steps of each plugin's representative model: ``jepa.Trainer`` vs a hand-written loop.

Both sides do the same math with the same modules on the same data: sample masks,
encode the context and the (EMA or online) targets, predict, loss, backward,
AdamW, EMA update, and fetch the next batch from a ``DataLoader``. The hand loop
is what a user would write with PyTorch alone; the Trainer adds its schedules,
parameter groups, gradient norms, collapse metrics (std and RankMe every step)
and exact-resume data order.

The two share one model in one process and alternate in blocks of a few steps,
each pair of blocks starting from the same random state, so they draw the same
masks and machine noise (this 2-core machine's step times wander by 10-20%) hits
both alike; the overhead is the median of the per-block ratios. Peak memory is
measured in separate processes, one per variant (CPU: growth of the process's
peak RSS from just before the first step; CUDA: ``max_memory_allocated``). FLOPs
of one step (forward and backward) come from ``torch.utils.flop_counter``, and the
achieved rate is compared with the best large matmul measured in the same run.

    python benchmarks/run.py steps                   # CPU
    python benchmarks/run.py steps --device cuda     # adds bf16 and torch.compile rows
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

TITLE = "Training step: jepa.Trainer vs a hand-written PyTorch loop"
NOTES = (
    "*step ms*: median over 24 blocks of 5 steps, batch fetch included, the hand-written loop and the Trainer "
    "alternating on one model with the same masks. *vs hand*: median of the per-block ratios, and the range of "
    "the middle half of them (the machine's noise). *peak MB*: growth of peak memory from just before the first "
    "step (activations, gradients, optimiser state), one process per variant. *of peak*: achieved FLOP/s "
    "(FlopCounterMode, forward + backward, mean over the blocks' masks) over the best of two 2048^3 matmuls "
    "measured just before each block, median over blocks. *time in dense ops*: the share of the Trainer's "
    "profiled time spent in the operators FlopCounterMode counts (matmuls, convolutions, attention); *dense ops of "
    "peak*: their own rate over the peak, so that *of peak* = share x rate: it shows whether the dense kernels or "
    "everything around them (elementwise, normalisation, copies) is what keeps a step from the peak. *where the "
    "time goes*: the top operators by self time in that profile. *trainer compile*: `train.compile: true`, timed "
    "over 20 steps after 3 warm-up steps (a separate process)."
)
BLOCKS = 24  # alternating blocks of hand-written and Trainer steps
STEPS = 5
WARMUP = 3


# -- the representative models ----------------------------------------------------------------


class Pairs(torch.utils.data.Dataset):
    """(view, horizontally flipped view): the paired (two-view) form."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = self.images[index]
        return image, image.flip(-1)


class TokenBlocks(torch.utils.data.Dataset):
    """Full blocks of token ids in the text plugin's item form."""

    def __init__(self, ids: torch.Tensor) -> None:
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.ids[index], "padding_mask": torch.zeros(self.ids.shape[1], dtype=torch.bool)}


def vit_masked():
    import jepa

    model = jepa.build(
        "vision:vit",
        "attention",
        masker="multiblock",
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"image_size": 64, "patch_size": 8, "input_channels": 3, "size": "tiny"},
        predictor={"depth": 4, "heads": 4},  # packed (the default)
    )
    return model, torch.utils.data.TensorDataset(torch.randn(640, 3, 64, 64)), 32


def cnn_paired():
    import jepa

    model = jepa.build("vision:cnn", "mlp", encoder={"input_channels": 3, "widths": [32, 64, 128], "hidden_dim": 128})
    return model, Pairs(torch.randn(1280, 3, 32, 32)), 64


def text_masked():
    import jepa

    model = jepa.build(
        "text:text_transformer",
        "attention",
        masker="text:span",
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"tokenizer": "bytes", "hidden_dim": 192, "depth": 4, "heads": 4, "pool": "none", "num_tokens": 128},
        predictor={"depth": 2, "heads": 4},
    )
    return model, TokenBlocks(torch.randint(3, 259, (1280, 128))), 32


def patch_masked():
    import jepa

    model = jepa.build(
        "timeseries:patch_transformer",
        "attention",
        masker="timeseries:time_block",
        loss={"name": "sigreg", "params": {"lam": 0.05}},
        target="none",
        encoder={"input_dim": 1, "hidden_dim": 128, "patch_len": 16, "seq_len": 512, "depth": 3, "pool": "none"},
        predictor={"depth": 2},
    )
    walks = torch.randn(1280, 512, 1).cumsum(1) / 16
    return model, torch.utils.data.TensorDataset(walks), 64


CASES: dict[str, tuple[str, Callable]] = {
    "vit": ("ViT-tiny masked (vision; 64x64, patch 8, batch 32, multiblock)", vit_masked),
    "cnn": ("CNN paired (vision; 32x32, widths 32-64-128, batch 64)", cnn_paired),
    "text": ("text transformer masked (text; 128 byte tokens, d192x4, batch 32, spans)", text_masked),
    "patch": ("patch transformer masked (timeseries; 512 steps, patch 16, d128x3, batch 64, SIGReg)", patch_masked),
}


# -- the hand-written loop ------------------------------------------------------------------


def hand_step(model, device: torch.device, dtype: torch.dtype | None) -> Callable:
    """One training step written with PyTorch alone, using the model's modules."""
    encoder, target_encoder, predictor = model.encoder, model.target_encoder, model.predictor
    masker, criterion = model.masker, model.criterion
    packed = getattr(predictor, "packed", False)
    takes_context = "context" in inspect.signature(criterion.forward).parameters
    # the fastest AdamW PyTorch has, as the Trainer uses: the comparison is of the bookkeeping around it
    optimizer = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad], lr=1e-4, weight_decay=0.04, fused=True
    )
    autocast = torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)

    def masked_loss(batch):
        inputs = dict(batch) if isinstance(batch, dict) else {"x": batch[0]}
        inputs = {key: value.to(device, non_blocking=True) for key, value in inputs.items()}
        x = inputs.pop("x")
        masks = masker(x.shape[0], **({"padding_mask": inputs["padding_mask"]} if inputs else {})).to(device)
        if target_encoder is not None:
            with torch.no_grad():
                h = target_encoder(x, **inputs)
        else:
            h = encoder(x, **inputs)
        if model.normalize_targets:
            h = F.layer_norm(h, h.shape[-1:])
        z = encoder(x, mask=masks.context, **inputs)
        if packed:
            pred = predictor(z, context_idx=masks.context, target_idx=masks.targets)
        else:
            pred = torch.cat([predictor(z, context_idx=masks.context, target_idx=b) for b in masks.targets], 1)
        target = torch.cat([torch.gather(h, 1, b.unsqueeze(-1).expand(-1, -1, h.shape[-1])) for b in masks.targets], 1)
        out = criterion(pred, target, context=z) if takes_context else criterion(pred, target)
        return out["loss"] if isinstance(out, dict) else out

    def paired_loss(batch):
        first, second = (view.to(device, non_blocking=True) for view in batch)
        pred = predictor(encoder(first))
        with torch.no_grad():
            target = target_encoder(second)
        return criterion(pred, target)

    compute = masked_loss if masker is not None else paired_loss

    def step(batch) -> torch.Tensor:
        with autocast:
            loss = compute(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if target_encoder is not None:
            with torch.no_grad():
                online, target = list(encoder.parameters()), list(target_encoder.parameters())
                torch._foreach_mul_(target, 0.996)
                torch._foreach_add_(target, online, alpha=0.004)
                for t_buffer, o_buffer in zip(target_encoder.buffers(), encoder.buffers(), strict=False):
                    t_buffer.copy_(o_buffer)
        return loss.detach()

    return step


# -- workers: each measurement in its own process -----------------------------------------------


def _peak_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _runners(case: str, device: torch.device, dtype, compile: bool = False):
    """(model, data, batch_size, run_hand(count), run_trainer(count)) sharing one model."""
    import jepa

    torch.manual_seed(0)
    model, data, batch_size = CASES[case][1]()
    model = model.to(device)
    step = hand_step(model, device, dtype)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=batch_size,
        shuffle=True,
        drop_last=True,
        pin_memory=device.type == "cuda",
        generator=torch.Generator().manual_seed(0),
    )
    batches = iter(loader)

    def run_hand(count: int) -> None:
        nonlocal batches
        for _ in range(count):
            try:
                batch = next(batches)
            except StopIteration:
                batches = iter(loader)
                batch = next(batches)
            step(batch)
        _sync(device)

    spec = {
        "steps": 100_000,
        "batch_size": batch_size,
        "lr": 1e-4,
        "device": str(device),
        "progress": False,
        "plot": False,
        "precision": "bf16" if dtype is not None else "fp32",
        "compile": compile,
    }
    trainer = None

    def run_trainer(count: int) -> None:
        nonlocal trainer
        if trainer is None:  # built on first use, so a memory worker measures its construction too
            trainer = jepa.Trainer(model, data, spec)
        trainer.fit(max_steps=trainer.step + count)
        _sync(device)

    return model, data, batch_size, run_hand, run_trainer


def time_worker(case: str, device_name: str, precision: str) -> dict:
    """Hand-written and Trainer steps alternating in blocks of STEPS on one model; each
    pair of blocks starts from the same RNG state, so both draw the same masks."""
    device = torch.device(device_name)
    dtype = torch.bfloat16 if precision == "bf16" else None
    model, data, batch_size, run_hand, run_trainer = _runners(case, device, dtype)
    run_trainer(WARMUP)
    run_hand(WARMUP)
    samples: dict[str, list[float]] = {"hand": [], "trainer": [], "peak": []}
    for block in range(BLOCKS):
        # the ceiling is measured next to each block: this machine's speed drifts by 10-30%
        samples["peak"].append(matmul_peak(device, dtype or torch.float32, repeats=2))
        for name, run in (("hand", run_hand), ("trainer", run_trainer))[:: 1 if block % 2 else -1]:
            torch.manual_seed(1000 + block)
            started = time.perf_counter()
            run(STEPS)
            samples[name].append((time.perf_counter() - started) / STEPS)
    return {
        "samples": samples,
        "flops": _count_flops(model, data, batch_size, device, dtype),
        "profile": _profile(run_trainer, device),
    }


def memory_worker(case: str, device_name: str, variant: str) -> dict:
    """Growth of peak memory over a few steps of one variant, from just before the first."""
    device = torch.device(device_name)
    dtype = torch.bfloat16 if "bf16" in variant else None
    _, _, _, run_hand, run_trainer = _runners(case, device, dtype, compile="compile" in variant)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    before = _peak_bytes(device)
    run = run_hand if variant.startswith("hand") else run_trainer
    run(WARMUP)
    if "compile" not in variant:
        return {"peak_bytes": _peak_bytes(device) - before}
    started = time.perf_counter()  # a compiled run is timed on its own: it cannot share a model
    run(STEPS * 4)
    return {"peak_bytes": _peak_bytes(device) - before, "step_s": (time.perf_counter() - started) / (STEPS * 4)}


def _count_flops(model, data, batch_size: int, device: torch.device, dtype) -> int:
    """Mean FLOPs of a step (forward + backward) over the masks of the timed blocks."""
    from torch.utils.flop_counter import FlopCounterMode

    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=batch_size)))
    counter = FlopCounterMode(display=False)
    with counter, torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
        for block in range(BLOCKS):
            torch.manual_seed(1000 + block)
            model.step(batch, collapse_metrics=False).loss.backward()
    model.zero_grad(set_to_none=True)
    return counter.get_total_flops() // BLOCKS


def _is_dense(name: str) -> bool:
    """The operators FlopCounterMode counts FLOPs for: matmuls, convolutions, attention."""
    op = name.removeprefix("aten::")
    return name.startswith("aten::") and (
        op in ("mm", "addmm", "bmm", "baddbmm") or "convolution" in op or "scaled_dot_product" in op
    )


def _profile(run: Callable[[int], None], device: torch.device, count: int = 4) -> dict:
    """The top operators by self time in a few Trainer steps, and the share of that time
    spent in the operators whose FLOPs are counted (CPU only: on CUDA the profile's
    device time is keyed by kernel names, not by operators)."""
    activities = [torch.profiler.ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as profile:
        run(3)
    key = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = [e for e in profile.key_averages() if not e.key.startswith("ProfilerStep")]
    total = sum(getattr(e, key) for e in events) or 1
    top = sorted(events, key=lambda e: getattr(e, key), reverse=True)[:count]
    dense = sum(getattr(e, key) for e in events if _is_dense(e.key))
    return {
        "top": ", ".join(f"{e.key.removeprefix('aten::')} {100 * getattr(e, key) / total:.0f}%" for e in top),
        "dense_share": dense / total if device.type == "cpu" else None,
    }


# -- the parent: rounds, peaks, rows ---------------------------------------------------------------


def matmul_peak(device: torch.device, dtype: torch.dtype, repeats: int = 5) -> float:
    """Best FLOP/s of a large square matmul (this machine's practical ceiling)."""
    size = 4096 if device.type == "cuda" else 2048
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    a @ b
    _sync(device)
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = max(best, 2 * size**3 / (time.perf_counter() - start))
    return best


def _spawn(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _dense_columns(profile: dict, fraction: float) -> dict:
    """Split *of peak* into the share of time in FLOP-counted operators and their own rate."""
    share = profile["dense_share"]
    if share is None:
        return {}
    return {"time in dense ops": f"{100 * share:.0f}%", "dense ops of peak": f"{fraction / share:.2f}"}


def run(options) -> list[dict]:
    device = torch.device(options.device)
    precisions = ["fp32", "bf16"] if device.type == "cuda" else ["fp32"]
    rows = []
    for case, (title, _) in CASES.items():
        for precision in precisions:
            timed = _spawn("time", case, options.device, precision)
            samples = timed["samples"]
            hand, trainer = (statistics.median(samples[name]) for name in ("hand", "trainer"))
            ratios = [t / h for t, h in zip(samples["trainer"], samples["hand"], strict=True)]
            quartiles = statistics.quantiles(ratios, n=4)
            suffix = "" if precision == "fp32" else " bf16"
            memory = {
                name: _spawn("memory", case, options.device, name + suffix)["peak_bytes"]
                for name in ("hand", "trainer")
            }
            # achieved over the ceiling measured next to the same block, median over blocks
            fraction = statistics.median(
                timed["flops"] / t / p for t, p in zip(samples["trainer"], samples["peak"], strict=True)
            )
            achieved = timed["flops"] / trainer
            rows.append(
                {
                    "model": title,
                    "variant": "hand" + suffix,
                    "step ms": round(hand * 1e3, 1),
                    "peak MB": round(memory["hand"] / 2**20),
                }
            )
            rows.append(
                {
                    "model": title,
                    "variant": "trainer" + suffix,
                    "step ms": round(trainer * 1e3, 1),
                    "vs hand": f"{100 * (quartiles[1] - 1):+.1f}%",
                    "middle half of blocks": " to ".join(f"{100 * (q - 1):+.1f}%" for q in quartiles[::2]),
                    "peak MB": round(memory["trainer"] / 2**20),
                    "GFLOP/step": round(timed["flops"] / 1e9, 2),
                    "GFLOP/s": round(achieved / 1e9, 1),
                    "matmul peak GFLOP/s": round(statistics.median(samples["peak"]) / 1e9),
                    "of peak": f"{fraction:.2f}",
                    **_dense_columns(timed["profile"], fraction),
                    "where the time goes": timed["profile"]["top"],
                }
            )
        variant = "trainer bf16 compile" if device.type == "cuda" else "trainer compile"
        compiled = _spawn("memory", case, options.device, variant)
        rows.append(
            {
                "model": title,
                "variant": variant,
                "step ms": round(compiled["step_s"] * 1e3, 1),
                "peak MB": round(compiled["peak_bytes"] / 2**20),
            }
        )
        for row in rows[-3:]:
            print(f"   {row}", flush=True)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["time", "memory"])
    parser.add_argument("case", choices=list(CASES))
    parser.add_argument("device")
    parser.add_argument("variant", help="time: fp32 or bf16; memory: hand, trainer, ... bf16, ... compile")
    args = parser.parse_args()
    worker = time_worker if args.mode == "time" else memory_worker
    print(json.dumps(worker(args.case, args.device, args.variant)))
