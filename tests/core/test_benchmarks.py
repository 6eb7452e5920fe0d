"""The step benchmark compares like with like: its hand-written loop computes the loss JEPA.step does."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

BENCH_STEPS = Path(__file__).parents[2] / "benchmarks" / "bench_steps.py"


def load_bench_steps():
    spec = importlib.util.spec_from_file_location("bench_steps", BENCH_STEPS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case", ["vit", "cnn", "text", "patch"])
def test_the_hand_written_loop_computes_the_same_loss_as_jepa_step(case: str) -> None:
    bench = load_bench_steps()
    torch.manual_seed(0)
    model, data, _ = bench.CASES[case][1]()
    batch = torch.utils.data.default_collate([data[i] for i in range(4)])
    torch.manual_seed(1)  # the same masks (and SIGReg directions) on both sides
    expected = model.step(batch, collapse_metrics=False).loss.detach()
    torch.manual_seed(1)
    got = bench.hand_step(model, torch.device("cpu"), None)(batch)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
