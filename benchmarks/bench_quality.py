"""Representation quality per CPU-minute: each modality's recipe, its baselines, its cost.

Every recipe is the starter config users get (``jepa init NAME``), trained and judged
by ``jepa train`` as a separate process, once per training seed (weights, data order
and masks change; the labelled split and the probe protocol do not). One training run
can give several rows: each probe, or each way of pooling the tokens, is a row. CPU
time is the children's user + system time from ``getrusage``, so runs with different
thread counts compare fairly.

* digits: ``jepa init vision`` (I-JEPA on scikit-learn's 8x8 digits), 10-shot probes
  averaged over 10 draws of the labelled images: linear on the whole token grid,
  linear on the mean-pooled tokens (``jepa eval --set eval.features=mean``), and the
  attentive probe. ``jepa init vision-vit``, the same recipe with a ViT, gives the same rows.
* sequences: ``jepa init sequences``, the core's own starter (sinusoids by frequency
  band), 10-shot linear and k-NN probes.
* UCR/UEA problems: the ``jepa init timeseries`` starter with the same settings for
  every problem (``examples/timeseries_ucr.py`` fills in what the data dictates), the
  TS2Vec protocol (RBF SVM, C by 5-fold grid search).
* stdlib docstrings: ``examples/text_stdlib.py``, linear probe over 10 packages, for
  the next-block objective (the ``jepa init text`` starter) and the masked one.

``--recipes WORD ...`` runs only the recipes whose name contains a word; the rows of
the others are kept from the previous results.
"""

from __future__ import annotations

import json
import os
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
    "(pixels, series with padding read as 0, byte histogram). *margin* is JEPA's mean minus the better "
    "baseline's mean. Wall and CPU time are medians per seed of the whole recipe: pretraining, embedding, "
    "probes and baselines (all rows of one recipe come from the same runs)."
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results" / "results.json"
Scores = dict[str, float | None]  # jepa, random_init, raw (None: the protocol does not apply)


@dataclass
class Recipe:
    name: str
    threads: int
    # (seed, scratch directory) -> {row label: {"protocol": ..., "jepa": ..., "random_init": ..., "raw": ...}}
    run: Callable[[int, Path], dict[str, dict]]


def _call(command: list[str], threads: int) -> None:
    environment = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=environment)
    if done.returncode:
        output = done.stdout[-2000:] + done.stderr[-2000:]
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{output}")


def _scores(results: dict, probe: str) -> Scores:
    return {name: results.get(name, {}).get(probe) for name in ("jepa", "random_init", "raw")}


def starter(name: str, rows: dict[str, tuple[str, str, list[str]]], threads: int) -> Callable[[int, Path], dict]:
    """Train ``jepa init NAME`` once per seed; each row is ``label: (protocol, probe,
    extra jepa-eval --set overrides)`` (no overrides: the scores ``jepa train`` printed)."""

    def run(seed: int, scratch: Path) -> dict[str, dict]:
        config, run_dir = scratch / f"{name}.yaml", scratch / "run"
        _call([sys.executable, "-m", "jepa", "init", name, "--output", str(config)], threads)
        _call(
            [
                sys.executable,
                "-m",
                "jepa",
                "train",
                str(config),
                "--run-dir",
                str(run_dir),
                "--set",
                f"train.seed={seed}",
                "--set",
                "train.progress=false",
            ],
            threads,
        )
        trained = json.loads((run_dir / "eval.json").read_text())
        out = {}
        for label, (protocol, probe, overrides) in rows.items():
            results = trained
            if overrides:
                again = scratch / f"eval-{len(out)}.json"
                _call(
                    [
                        sys.executable,
                        "-m",
                        "jepa",
                        "eval",
                        str(run_dir),
                        "--output",
                        str(again),
                        *(part for setting in overrides for part in ("--set", setting)),
                    ],
                    threads,
                )
                results = json.loads(again.read_text())
            out[label] = {"protocol": protocol, **_scores(results, probe)}
        return out

    return run


def ucr(problem: str) -> Callable[[int, Path], dict]:
    def run(seed: int, scratch: Path) -> dict[str, dict]:
        out = scratch / "scores.json"
        _call(
            [
                sys.executable,
                "examples/timeseries_ucr.py",
                "--problems",
                problem,
                "--seeds",
                str(seed),
                "--run-root",
                str(scratch / "runs"),
                "--results",
                str(out),
            ],
            1,
        )
        (record,) = json.loads(out.read_text())["records"]
        if "test" not in record:
            raise RuntimeError(f"{problem}: {record.get('error', 'no test scores')}")
        return {
            f"{problem} (timeseries starter)": {
                "protocol": "TS2Vec RBF SVM",
                **{k: record["test"].get(k) for k in ("jepa", "random_init", "raw")},
            }
        }

    return run


def text(label: str, *options: str) -> Callable[[int, Path], dict]:
    def run(seed: int, scratch: Path) -> dict[str, dict]:
        out = scratch / "scores.json"
        _call(
            [
                sys.executable,
                "examples/text_stdlib.py",
                "--threads",
                "1",
                "--seed",
                str(seed),
                "--results",
                str(out),
                *options,
            ],
            1,
        )
        result = json.loads(out.read_text())
        return {
            label: {
                "protocol": "linear probe, 10 packages",
                "jepa": result["jepa"]["linear"],
                "random_init": result["random_init"]["linear"],
                "raw": result["bag_of_bytes"]["linear"],
            }
        }

    return run


DIGITS_ROWS = {
    "digits (vision starter): token grid": ("10-shot linear", "linear", []),
    "digits (vision starter): mean-pooled tokens": (
        "10-shot linear",
        "linear",
        ["eval.features=mean", "eval.probes=[linear]"],
    ),
    "digits (vision starter): attentive probe": ("10-shot attentive", "attentive", []),
}
VIT_DIGITS_ROWS = {label.replace("vision starter", "vision-vit starter"): row for label, row in DIGITS_ROWS.items()}
SEQUENCES_ROWS = {
    "sinusoids (core sequences starter): linear": ("10-shot linear", "linear", []),
    "sinusoids (core sequences starter): k-NN": ("10-shot k-NN", "knn", []),
}
RECIPES = [
    Recipe("digits (vision starter)", 2, starter("vision", DIGITS_ROWS, 2)),
    Recipe("digits (vision-vit starter)", 2, starter("vision-vit", VIT_DIGITS_ROWS, 2)),
    Recipe("sinusoids (core sequences starter)", 2, starter("sequences", SEQUENCES_ROWS, 2)),
    *(
        Recipe(f"{problem} (timeseries starter)", 1, ucr(problem))
        for problem in ("GunPoint", "ItalyPowerDemand", "ACSF1", "PickupGestureWiimoteZ")
    ),
    Recipe(
        "stdlib docstrings (next block, InfoNCE: the text starter's recipe on BPE)",
        1,
        text("stdlib docstrings (next block, InfoNCE: the text starter's recipe on BPE)"),
    ),
    Recipe(
        "stdlib docstrings (masked spans, SIGReg)",
        1,
        text("stdlib docstrings (masked spans, SIGReg)", "--objective", "spans", "--regulariser", "sigreg"),
    ),
]


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {statistics.stdev(values):.3f}"


def measure(recipe: Recipe, seeds: int) -> list[dict]:
    per_row: dict[str, dict] = {}
    walls, cpus = [], []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory(prefix="jepa-bench-") as scratch:
            wall, cpu = time.perf_counter(), _children_cpu_seconds()
            result = recipe.run(seed, Path(scratch))
            walls.append(time.perf_counter() - wall)
            cpus.append(_children_cpu_seconds() - cpu)
        for label, scores in result.items():
            row = per_row.setdefault(label, {"protocol": scores["protocol"], "jepa": [], "random_init": [], "raw": []})
            for key in ("jepa", "random_init", "raw"):
                if scores[key] is not None:
                    row[key].append(scores[key])
            print(
                f"   {label} seed {seed}: "
                + ", ".join(
                    f"{key} {scores[key]:.3f}" for key in ("jepa", "random_init", "raw") if scores[key] is not None
                )
                + f"  ({walls[-1]:.0f} s wall, {cpus[-1]:.0f} s CPU)",
                flush=True,
            )
    rows = []
    for label, scores in per_row.items():
        baselines = [statistics.fmean(scores[key]) for key in ("random_init", "raw") if scores[key]]
        rows.append(
            {
                "recipe": label,
                "protocol": scores["protocol"],
                "JEPA": _spread(scores["jepa"]),
                "per seed": " / ".join(f"{v:.3f}" for v in scores["jepa"]),
                "random init": _spread(scores["random_init"]) if scores["random_init"] else "-",
                "random init per seed": " / ".join(f"{v:.3f}" for v in scores["random_init"]),
                "raw input": _spread(scores["raw"]) if scores["raw"] else "-",
                "margin": f"{statistics.fmean(scores['jepa']) - max(baselines):+.3f}",
                "wall s": round(statistics.median(walls)),
                "CPU min": round(statistics.median(cpus) / 60, 1),
                "threads": recipe.threads,
            }
        )
    return rows


def run(options) -> list[dict]:
    chosen = getattr(options, "recipes", None) or []
    measured = {
        recipe.name: measure(recipe, options.seeds)
        for recipe in RECIPES
        if not chosen or any(word.lower() in recipe.name.lower() for word in chosen)
    }
    # the other recipes' rows as the results file holds them now, not when this run began: two
    # runs of different recipes at once (one per core) keep each other's rows
    previous: list[dict] = []
    if chosen and RESULTS.is_file():
        previous = json.loads(RESULTS.read_text())["suites"].get("quality", {}).get("rows", [])
    rows = []
    for recipe in RECIPES:
        if recipe.name in measured:
            rows += measured[recipe.name]
        else:  # every row of a recipe is labelled with its name
            rows += [row for row in previous if row.get("recipe", "").startswith(recipe.name)]
    return rows
