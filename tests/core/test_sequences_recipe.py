"""The core's `sequences` starter: it validates, and a tiny run of it trains and
evaluates end to end through `train_run` with its own eval section."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from jepa_core.components.datasets import Sinusoids
from jepa_core.registry import get_registry
from jepa_core.runs import load_run_spec, train_run


def starter() -> dict:
    registry = get_registry()
    registry.ensure_loaded()
    return yaml.safe_load(registry.templates["sequences"][1])


def test_starter_validates_and_its_eval_protocol_is_consistent() -> None:
    spec = load_run_spec(starter())
    assert spec.eval is not None
    assert set(spec.eval.baselines) == {"random_init", "raw"}
    data, probe_train, probe_test = spec.data.params, spec.eval.train.params, spec.eval.test.params
    # the probes read data laid out as the model was trained on, from disjoint splits
    for key in ("steps", "channels", "num_classes"):
        assert probe_train.get(key) == probe_test.get(key) == data.get(key), key
    assert probe_test.get("split") == "test" and probe_train.get("split", "train") != "test"


def test_a_tiny_run_of_the_starter_trains_and_evaluates(tmp_path) -> None:
    overrides = [
        "train.steps=3",
        "train.batch_size=8",
        "train.warmup_steps=1",
        "train.checkpoint_every=0",
        "train.progress=false",
        "train.plot=false",
        "data.params.size=32",
        "eval.train.params.size=24",
        "eval.test.params.size=24",
        "eval.shots=2",
        "eval.seeds=[0]",
    ]
    spec = load_run_spec(starter(), overrides)
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert "errors" not in results, results.get("errors")
    for name in ("jepa", "random_init", "raw"):
        for probe in spec.eval.probes:
            assert 0.0 <= results[name][probe] <= 1.0, (name, probe)
    steps = [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3]  # one metrics line per optimiser step
    assert (run_dir / "final" / "model.safetensors").is_file()


@pytest.mark.parametrize("split", ["train", "validation", "test"])
def test_sinusoid_splits_are_disjoint_and_deterministic(split) -> None:
    again = Sinusoids(size=16, split=split)
    assert torch.equal(Sinusoids(size=16, split=split).series, again.series)
    for other in {"train", "validation", "test"} - {split}:
        assert not torch.allclose(Sinusoids(size=16, split=other).series, again.series)
    # seeds give other series within a split
    assert not torch.allclose(Sinusoids(size=16, split=split, seed=1).series, again.series)


def test_sinusoid_labels_follow_the_frequency_band() -> None:
    data = Sinusoids(size=256, steps=64, channels=1, noise=0.0)
    spectrum = torch.fft.rfft(data.series[..., 0], dim=1).abs()
    peak = spectrum[:, 1:].argmax(dim=1) + 1  # cycles per window; bands of 1.5 cycles from 1 to 7
    predicted = ((peak.float() - 1.0) / 1.5).floor().clamp(0, 3).long()
    assert (predicted == data.labels).float().mean() > 0.6  # the bands' edges are blurred by the FFT bins


def test_paired_windows_start_after_a_random_gap() -> None:
    contiguous = Sinusoids(size=32, steps=8, channels=2, paired=True, noise=0.0)
    item = contiguous[0]
    assert torch.equal(torch.cat([item["state_t"], item["state_t1"]]), contiguous.series[0])
    gapped = Sinusoids(size=32, steps=8, channels=2, paired=True, noise=0.0, max_gap=8)
    assert torch.equal(gapped.series[:, :16], contiguous.series), "the gap changes no other draw"
    starts = set()
    for index in range(32):
        item, gap = gapped[index], int(gapped.gaps[index])
        assert item["state_t1"].shape == (8, 2)
        assert torch.equal(item["state_t1"], gapped.series[index, 8 + gap : 16 + gap])
        starts.add(gap)
    assert len(starts) > 1 and starts <= set(range(9))
