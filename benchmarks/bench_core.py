"""jepa-core overheads: import, discovery, build, and the training step vs a hand-written loop."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def _median_subprocess(code: str, repeats: int = 7) -> float:
    """Median seconds printed by ``code`` run in fresh interpreters."""
    samples = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def startup_rows() -> list[dict]:
    timer = "import time\n"
    torch_only = _median_subprocess(timer + "t=time.perf_counter()\nimport torch\nprint(time.perf_counter()-t)")
    torch_and_jepa = _median_subprocess(
        timer + "import torch\nt=time.perf_counter()\nimport jepa\nprint(time.perf_counter()-t)"
    )
    first_list = _median_subprocess(
        timer + "import jepa\nt=time.perf_counter()\njepa.list_components()\nprint(time.perf_counter()-t)"
    )
    build_code = (
        timer
        + "import torch, jepa\n"
        + "jepa.list_components()\n"
        + "from jepa_core.components.encoders import TransformerEncoder\n"
        + "from jepa_core.components.predictors import AttentionPredictor\n"
        + "from jepa_core.components.losses import SmoothL1Loss\n"
        + "import copy\n"
        + "kw = dict(input_dim=8, hidden_dim=64, depth=2, pool='none', num_tokens=16)\n"
        + "t=time.perf_counter()\n"
        + "for _ in range(20):\n"
        + "    e = TransformerEncoder(**kw); p = AttentionPredictor(hidden_dim=64, num_tokens=16); l = SmoothL1Loss()\n"
        + "    c = copy.deepcopy(e)\n"
        + "modules = (time.perf_counter()-t)/20\n"
        + "t=time.perf_counter()\n"
        + "for _ in range(20):\n"
        + "    jepa.build('transformer', 'attention', masker='random', loss='smooth_l1', encoder=kw)\n"
        + "built = (time.perf_counter()-t)/20\n"
        + "print(built - modules)\n"
    )
    build_extra = _median_subprocess(build_code, repeats=5)
    return [
        {"benchmark": "import torch", "value": round(torch_only * 1e3, 1), "unit": "ms", "note": "fresh interpreter"},
        {"benchmark": "import jepa after torch", "value": round(torch_and_jepa * 1e3, 1), "unit": "ms",
         "note": "no plugin discovery at import"},
        {"benchmark": "first list_components()", "value": round(first_list * 1e3, 1), "unit": "ms",
         "note": "entry points read once, plugins loaded"},
        {"benchmark": "build() beyond constructing modules", "value": round(build_extra * 1e3, 2), "unit": "ms",
         "note": "validation, resolution, wiring (small masked transformer)"},
    ]


def _time_steps(step, repeats: int = 30, warmup: int = 5) -> float:
    for _ in range(warmup):
        step()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def step_rows() -> list[dict]:
    import jepa
    from jepa_core.layers import gather_tokens

    torch.manual_seed(0)
    model = jepa.build(
        "transformer", "attention", masker={"name": "random", "params": {"num_targets": 4, "target_ratio": 0.6}},
        loss="smooth_l1", normalize_targets=True,
        encoder={"input_dim": 16, "hidden_dim": 128, "depth": 4, "heads": 4, "pool": "none", "num_tokens": 64},
        predictor={"depth": 2, "heads": 4},
    )
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-4)
    x = torch.randn(64, 64, 16)
    masks = model.masker(64, generator=torch.Generator().manual_seed(0))

    def jepa_step(collapse_metrics: bool):
        def step():
            out = model.step(x, masks=masks, collapse_metrics=collapse_metrics)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            optimizer.step()
            model.update_target(0.996)
        return step

    encoder, target_encoder, predictor = model.encoder, model.target_encoder, model.predictor

    def hand_step():
        with torch.no_grad():
            h = target_encoder(x)
            h = F.layer_norm(h, h.shape[-1:])
        z = encoder(x, mask=masks.context)
        preds, targets = [], []
        for block in masks.targets:
            preds.append(predictor(z, context_idx=masks.context, target_idx=block))
            targets.append(gather_tokens(h, block))
        loss = F.smooth_l1_loss(torch.cat(preds, 1), torch.cat(targets, 1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            t = list(target_encoder.parameters())
            torch._foreach_mul_(t, 0.996)
            torch._foreach_add_(t, list(encoder.parameters()), alpha=0.004)

    # interleave the three so that machine noise hits them alike
    rounds = {"hand": [], "jepa": [], "jepa+metrics": []}
    for _ in range(5):
        rounds["hand"].append(_time_steps(hand_step, repeats=10, warmup=2))
        rounds["jepa"].append(_time_steps(jepa_step(False), repeats=10, warmup=2))
        rounds["jepa+metrics"].append(_time_steps(jepa_step(True), repeats=10, warmup=2))
    hand = statistics.median(rounds["hand"])
    plain = statistics.median(rounds["jepa"])
    metrics = statistics.median(rounds["jepa+metrics"])
    return [
        {"benchmark": "masked step, hand-written loop", "value": round(hand * 1e3, 1), "unit": "ms",
         "note": "transformer d128x4, 64 tokens, batch 64, 4 target blocks"},
        {"benchmark": "masked step, JEPA.step", "value": round(plain * 1e3, 1), "unit": "ms",
         "note": f"overhead {100 * (plain / hand - 1):+.1f}% (target < 3%)"},
        {"benchmark": "masked step, JEPA.step + collapse metrics", "value": round(metrics * 1e3, 1), "unit": "ms",
         "note": f"overhead {100 * (metrics / hand - 1):+.1f}% (std + RankMe SVD each step)"},
    ]


def run() -> list[dict]:
    return startup_rows() + step_rows()
