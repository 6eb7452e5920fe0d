"""Representation quality per CPU-minute: each plugin's recipe, its baselines, its cost.

Every recipe runs as its own process with ``--seeds`` training seeds (weights,
data order and masks change; the labelled split and the probe protocol do not),
so the table shows the seed spread next to the baselines the same run computed.
CPU time is the children's user + system time from ``getrusage``, so runs with
different thread counts compare fairly.

* digits: ``jepa init vision`` (I-JEPA on scikit-learn's 8x8 digits), 10-shot linear
  probe averaged over 10 draws of the labelled images; run twice, with the
  packed predictor the recipe uses and with I-JEPA's reference predictor (one
  pass per target block, the context attending to that block's mask tokens).
* GunPoint, ItalyPowerDemand: ``examples/timeseries_ucr.py``, the TS2Vec protocol
  (RBF SVM, C by 5-fold grid search).
* stdlib docstrings: ``examples/text_stdlib.py``, linear probe over 10 packages.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TITLE = "Representation quality per CPU-minute"
NOTES = (
    "Accuracy on held-out data, mean ± standard deviation over training seeds (the per-seed values follow). "
    "Baselines use the same protocol on the same split: the same encoder with random weights, and the raw input "
    "(pixels, series, byte histogram). *margin* is JEPA's mean minus the better baseline's mean. Wall and CPU time "
    "are medians per seed of the whole recipe: pretraining, embedding, probes and baselines."
)

ROOT = Path(__file__).resolve().parent.parent
Scores = dict[str, float]  # jepa, random_init, raw, and the measured cost


@dataclass
class Recipe:
    name: str
    protocol: str
    threads: int
    run: Callable[[int, Path], Scores]  # (seed, scratch directory) -> scores


def _call(command: list[str]) -> None:
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")


def digits(*overrides: str) -> Callable[[int, Path], Scores]:
    def run(seed: int, scratch: Path) -> Scores:
        config = scratch / "vision.yaml"
        _call([sys.executable, "-m", "jepa", "init", "vision", "--output", str(config)])
        run_dir = scratch / "run"
        settings = [f"train.seed={seed}", *overrides]
        _call([sys.executable, "-m", "jepa", "train", str(config), "--run-dir", str(run_dir),
               *(part for setting in settings for part in ("--set", setting))])
        results = json.loads((run_dir / "eval.json").read_text())
        return {name: results[name]["linear"] for name in ("jepa", "random_init", "raw")}

    return run


def ucr(problem: str) -> Callable[[int, Path], Scores]:
    def run(seed: int, scratch: Path) -> Scores:
        out = scratch / "scores.json"
        _call([sys.executable, "examples/timeseries_ucr.py", "--problems", problem, "--seed", str(seed),
               "--results", str(out)])
        (result,) = json.loads(out.read_text())
        return {"jepa": result["jepa"], "random_init": result["random_init"], "raw": result["raw"]}

    return run


def text(seed: int, scratch: Path) -> Scores:
    out = scratch / "scores.json"
    _call([sys.executable, "examples/text_stdlib.py", "--seed", str(seed), "--results", str(out)])
    result = json.loads(out.read_text())
    return {"jepa": result["jepa"]["linear"], "random_init": result["random_init"]["linear"],
            "raw": result["bag_of_bytes"]["linear"]}


RECIPES = [
    Recipe("digits (vision recipe, packed predictor)", "10-shot linear probe", 2, digits()),
    # I-JEPA's reference predictor: one pass per target block, the context also attending to its mask tokens
    Recipe("digits (vision recipe, reference predictor)", "10-shot linear probe", 2,
           digits("model.predictor.params.packed=false", "model.predictor.params.isolate_context=false")),
    Recipe("GunPoint (tcn + time_block, SIGReg)", "TS2Vec RBF SVM", 1, ucr("GunPoint")),
    Recipe("ItalyPowerDemand (tcn + time_block, SIGReg)", "TS2Vec RBF SVM", 1, ucr("ItalyPowerDemand")),
    Recipe("stdlib docstrings (text_transformer, next block, InfoNCE)", "linear probe, 10 packages", 2, text),
]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def measure(recipe: Recipe, seeds: int) -> dict:
    scores: dict[str, list[float]] = {"jepa": [], "random_init": [], "raw": []}
    walls, cpus = [], []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(prefix="jepa-bench-") as scratch:
            wall, cpu = time.perf_counter(), _children_cpu_seconds()
            result = recipe.run(seed, Path(scratch))
            walls.append(time.perf_counter() - wall)
            cpus.append(_children_cpu_seconds() - cpu)
        for key in scores:
            scores[key].append(result[key])
        print(f"   {recipe.name} seed {seed}: " + ", ".join(f"{k} {v[-1]:.3f}" for k, v in scores.items())
              + f"  ({walls[-1]:.0f} s)", flush=True)
    best_baseline = max(statistics.fmean(scores["random_init"]), statistics.fmean(scores["raw"]))
    return {
        "recipe": recipe.name,
        "protocol": recipe.protocol,
        "JEPA": _spread(scores["jepa"]),
        "per seed": " / ".join(f"{v:.3f}" for v in scores["jepa"]),
        "random init": _spread(scores["random_init"]),
        "raw input": _spread(scores["raw"]),
        "margin": f"{statistics.fmean(scores['jepa']) - best_baseline:+.3f}",
        "wall s": round(statistics.median(walls)),
        "CPU min": round(statistics.median(cpus) / 60, 1),
        "threads": recipe.threads,
    }


def run(options) -> list[dict]:
    return [measure(recipe, options.seeds) for recipe in RECIPES]
