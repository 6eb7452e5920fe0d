"""The default time-series recipe on UCR/UEA problems, judged by the TS2Vec protocol.

The recipe is the ``jepa init timeseries`` starter (the plugin's
``templates/timeseries.yaml``). For each problem (and training seed) this script
builds a run spec from it, changing only what the data dictates (the problem's
name, its channel count, ``num_tokens`` = the training crop, or the longest
train series if shorter, and the batch size if the train split has fewer series),
then runs it exactly as ``jepa train`` does
(:func:`jepa.train_run`):

1. pretrain the masked time-series JEPA on the train split, labels unused;
2. freeze the encoder, max-pool its tokens into one embedding per series (a
   series longer than the 96-step crop in stretches of at most 96 steps, averaged);
3. fit an RBF SVM on the train embeddings with ``C`` by 5-fold grid search, and
   report test accuracy; the same for the raw series (zero-padded) and for the
   encoder with its random initial weights.

Every problem is one of those that ship inside aeon (nothing is downloaded).
A problem that fails is reported and the others go on; the results file is
rewritten after every run. ``--set KEY=VALUE`` changes a recipe setting for every
run (validated before the first); the printed summary names the probe, pooling and
overrides the runs actually used.

    python examples/timeseries_ucr.py                              # GunPoint, ItalyPowerDemand, seed 0
    python examples/timeseries_ucr.py --problems ACSF1 --seeds 0 1 2 --results acsf1.json
    python examples/timeseries_ucr.py --validate --set train.steps=400   # choose settings

``--validate`` never touches a test split: it reports, on the train split's
embeddings only, the SVM's 5-fold cross-validation accuracy (``cv``, the score
its grid search maximises) and the accuracy of an SVM fitted on one random half
of the train split and scored on the other (``half``, mean of 20 halves; the
table shows it): that is how the recipe's settings were chosen. With the ``ridge``
probe both are the median R² (of the folds, of the halves). The exit status is 1
when any run failed.

Needs ``pip install 'jepa-plugins-timeseries[aeon,eval]'``.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import statistics
import tempfile
import time
import traceback
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import jepa
import torch
import yaml

DEFAULT_PROBLEMS = ["GunPoint", "ItalyPowerDemand"]
MODELS = ("jepa", "random_init", "raw")


def starter() -> dict[str, Any]:
    """The default recipe: the plugin's ``jepa init timeseries`` starter."""
    text = files("jepa_plugins_timeseries").joinpath("templates/timeseries.yaml").read_text()
    return yaml.safe_load(text)


def problem_spec(problem: str, seed: int = 0, overrides: Sequence[str] = (), path: str | None = None) -> jepa.RunSpec:
    """The recipe for ``problem``, with the ``--set`` ``overrides`` applied (as ``jepa
    train --set`` does); then only the data-derived values change (the problem, its
    channel count, ``num_tokens``, and the batch size when the train split has fewer
    series than a batch), and the training seed.

    ``path``: a directory of ``.ts`` or UCR archive 2018 ``.tsv`` files (default: the problems aeon ships).
    """
    from jepa_plugins_timeseries.datasets import ucr

    chosen = jepa.load_run_spec(starter(), overrides)  # the crop and batch size the overrides leave
    train = ucr(problem, split="train", path=path)
    crop = chosen.data.params.get("crop")
    sections = ("data", "eval.train", "eval.test")
    derived = [f"{section}.params.name={json.dumps(problem)}" for section in sections]
    if path is not None:
        derived += [f"{section}.params.path={json.dumps(path)}" for section in sections]
    derived += [
        f"train.seed={seed}",
        f"model.encoder.params.input_dim={train.num_channels}",
        f"model.encoder.params.num_tokens={min(crop, train.length) if crop else train.length}",
        # a train split smaller than a batch (Chinatown's 20 series) trains on all of it per step
        f"train.batch_size={min(chosen.train.batch_size, len(train))}",
    ]
    return jepa.load_run_spec(starter(), [*overrides, *derived])


def validation_scores(model: Any, spec: jepa.RunSpec, halves: int = 20) -> dict[str, dict[str, float]]:
    """Scores on the train split only, for choosing settings (no test split is read).

    ``cv``: the SVM grid search's best 5-fold CV accuracy on the whole train split;
    on a few dozen series it saturates (every GunPoint setting scored 0.96-1.00).
    ``half``: the SVM (``C`` by 5-fold CV within the half) fitted on a random
    stratified half of the train split and scored on the other half, averaged
    over ``halves`` draws: a smaller training set, so differences show.
    With ``eval.probes: [ridge]`` (a regression) both are R² of the ridge probe, the
    median over 5 folds (``cv``) and over random halves (``half``): a half whose
    held-out series lie far outside the fitted half's range can score an R² of -5000,
    which would swamp a mean.
    """
    import numpy as np
    from jepa.evaluation import SVM_C_GRID, embed_dataset, raw_features, ridge_probe, svm_accuracy
    from sklearn.model_selection import GridSearchCV, KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
    from sklearn.svm import SVC

    assert spec.eval is not None
    data = spec.eval.train.resolve().create(spec.eval.train.params, "eval.train.params")

    def scores(x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
        x, y = x.double().numpy(), y.numpy()
        if spec.eval.probes == ["ridge"]:
            folds = KFold(5, shuffle=True, random_state=0).split(x)
            draws = ShuffleSplit(halves, test_size=0.5, random_state=0).split(x)
            cv = [ridge_probe(x[fit], y[fit], x[held], y[held])[0] for fit, held in folds]
            half = [ridge_probe(x[fit], y[fit], x[held], y[held])[0] for fit, held in draws]
            return {"cv": float(np.median(cv)), "half": float(np.median(half))}
        search = GridSearchCV(SVC(kernel="rbf", gamma="scale"), {"C": list(SVM_C_GRID)}, cv=StratifiedKFold(5))
        split = StratifiedShuffleSplit(halves, test_size=0.5, random_state=0)
        half = [svm_accuracy(x[fit], y[fit], x[held], y[held])[0] for fit, held in split.split(x, y)]
        return {"cv": float(search.fit(x, y).best_score_), "half": float(np.mean(half))}

    pooled = {"tokens": spec.eval.features, "window": spec.eval.pool_window}
    result = {"jepa": scores(*embed_dataset(model, data, **pooled))}
    torch.manual_seed(spec.train.seed + 1)  # as the core's random_init baseline
    result["random_init"] = scores(*embed_dataset(jepa.build(spec.model), data, **pooled))
    result["raw"] = scores(*raw_features(data)[0])
    return result


def run_one(problem: str, seed: int, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), time.process_time()
    spec = problem_spec(problem, seed, args.set, args.path)
    run_dir = root / problem / f"seed{seed}"
    spec = spec.model_copy(update={"train": spec.train.model_copy(update={"plot": False})})
    record: dict[str, Any] = {
        "problem": problem,
        "seed": seed,
        "run_dir": str(run_dir),
        "num_tokens": spec.model.encoder.params.get("num_tokens"),
    }
    if args.validate:  # no test split anywhere: train, then score by cross-validation on train
        jepa.train_run(spec.model_copy(update={"eval": None}), run_dir=run_dir)
        record["pretrain_seconds"] = time.perf_counter() - started
        record["validation"] = validation_scores(jepa.load(run_dir / "final"), spec)
    else:
        jepa.train_run(spec, run_dir=run_dir)  # as `jepa train`: trains, then writes eval.json
        results = json.loads((run_dir / "eval.json").read_text())
        assert spec.eval is not None
        probe = record["probe"] = spec.eval.probes[0]  # the recipe's svm, unless --set chose another
        record["test"] = {name: results[name][probe] for name in MODELS if probe in results.get(name, {})}
        if results.get("errors"):
            record["errors"] = results["errors"]
    record["seconds"] = time.perf_counter() - started
    record["cpu_seconds"] = time.process_time() - cpu_started
    return record


def _score(record: dict[str, Any], key: str, model: str) -> float | None:
    value = record.get(key, {}).get(model)
    return value["half"] if isinstance(value, dict) else value


POOLS = {"max": "max-pooled", "mean": "mean-pooled", "flatten": "whole (flattened)"}
PROBES = {
    "svm": "RBF SVM, C by 5-fold CV on train",
    "linear": "linear probe",
    "knn": "k-NN probe",
    "attentive": "attentive probe",
    "ridge": "ridge regression, alpha by leave-one-out CV on train",
}


def protocol(spec: jepa.RunSpec, overrides: Sequence[str], validate: bool) -> list[str]:
    """What the table's numbers are, from the settings the runs used (``--set`` included)."""
    assert spec.eval is not None
    tokens = f"{POOLS[spec.eval.features]} frozen tokens"
    if spec.eval.pool_window is not None and spec.eval.features != "flatten":
        tokens += f" (a longer series in stretches of at most {spec.eval.pool_window} steps, averaged)"
    probe = spec.eval.probes[0]
    if validate:  # validation_scores fits the SVM, or ridge for a regression
        fitted, over = ("ridge", "median") if probe == "ridge" else ("SVM", "mean")
        line = f"train split only: {tokens}, {fitted} fitted on one half, scored on the other ({over} of 20 halves)"
    else:
        name = "TS2Vec protocol: " if (probe, spec.eval.features) == ("svm", "max") else ""
        line = f"{name}{tokens}, {PROBES[probe]}; test {'R²' if probe == 'ridge' else 'accuracy'}"
    settings = (
        f"recipe: the timeseries starter{' with --set ' + ' '.join(overrides) if overrides else ''} "
        f"({spec.train.steps} steps of {spec.train.batch_size}, lr {spec.train.lr:g}, "
        f"encoder {spec.model.encoder.name})"
    )
    return [line, settings]


def summary(records: list[dict[str, Any]], key: str) -> list[str]:
    lines = [f"{'problem':<24}{'seed':>5}" + "".join(f"{m:>13}" for m in MODELS) + f"{'seconds':>9}"]
    by_problem: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_problem.setdefault(r["problem"], []).append(r)
        if "error" in r:
            lines.append(f"{r['problem']:<24}{r['seed']:>5}  FAILED: {r['error']}")
            continue
        cells = "".join(f"{_score(r, key, m):>13.3f}" if m in r[key] else f"{'-':>13}" for m in MODELS)
        lines.append(f"{r['problem']:<24}{r['seed']:>5}{cells}{r['seconds']:>9.0f}")
    for problem, rows in by_problem.items():
        done = [r for r in rows if key in r]
        if len(done) > 1:
            cells = ""
            for m in MODELS:
                values = [_score(r, key, m) for r in done if m in r[key]]
                cells += f"{statistics.fmean(values):>7.3f}±{statistics.pstdev(values):.3f}" if values else f"{'-':>13}"
            lines.append(f"{problem + ' (mean)':<24}{len(done):>5}{cells}")
    return lines


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--problems", nargs="+", default=DEFAULT_PROBLEMS, help="UCR/UEA problem names (default: %(default)s)"
    )
    parser.add_argument("--seeds", nargs="+", type=int, default=[0], help="training seeds (train.seed); default: 0")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a recipe setting, as `jepa train --set` (for experiments)",
    )
    parser.add_argument(
        "--validate",
        action="store_true",
        help="score on the train split only: an SVM fitted on half of it, scored on the other half "
        "(20 halves; the table); the SVM's 5-fold CV too (in --results); no test split is read",
    )
    parser.add_argument(
        "--path",
        help="a directory of .ts files, or of the UCR archive 2018's .tsv files (UCRArchive_2018: "
        "NAME/NAME_TRAIN.tsv); "
        "default: the problems aeon ships",
    )
    parser.add_argument("--run-root", help="where the runs go (default: a new temporary directory)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads; default: 1")
    parser.add_argument("--results", help="write the records to this JSON file (after every run)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        applied = jepa.load_run_spec(starter(), args.set)  # a bad --set fails here, before any run
    except jepa.SpecError as exc:
        parser.error(str(exc))
    if applied.eval is None:
        parser.error("--set eval=null: this script judges every run by its eval section; leave it in")
    # before any run: a misspelt name would otherwise cost the runs before it
    from jepa_plugins_timeseries.datasets import bundled_ucr_names, ucr_names_in, unknown_problem_hint

    if args.path is None:
        unknown = [p for p in args.problems if p not in bundled_ucr_names()]
        if unknown:
            close = [m for p in unknown for m in difflib.get_close_matches(p, bundled_ucr_names(), n=1, cutoff=0.6)]
            parser.error(
                f"{', '.join(map(repr, unknown))}: not among the problems aeon ships ({', '.join(bundled_ucr_names())})"
                + (f"; did you mean {', '.join(map(repr, close))}?" if close else ";")
                + " --path DIR reads a directory of .ts or .tsv files"
            )
    elif Path(args.path).expanduser().is_dir():
        known = ucr_names_in(args.path)
        unknown = [p for p in args.problems if p not in known]
        if unknown:
            parser.error(
                f"{unknown[0]!r}: no {unknown[0]}_TRAIN.ts or .tsv in {args.path!r} (nor in a folder "
                f"{unknown[0]}/ there){unknown_problem_hint(unknown[0], known)}"
            )
    root = Path(args.run_root or tempfile.mkdtemp(prefix="timeseries_ucr_"))

    started = time.perf_counter()
    key = "validation" if args.validate else "test"
    records: list[dict[str, Any]] = []
    for problem in args.problems:
        for seed in args.seeds:
            print(f"== {problem} seed {seed}", flush=True)
            try:
                records.append(run_one(problem, seed, args, root))
            except Exception as exc:  # one failing problem never loses the others' results
                traceback.print_exc()
                records.append({"problem": problem, "seed": seed, "error": f"{type(exc).__name__}: {exc}"})
            if args.results:
                payload = {"overrides": args.set, "mode": key, "records": records}
                partial = Path(f"{args.results}.partial")  # never a half-written results file
                partial.write_text(json.dumps(payload, indent=2) + "\n")
                os.replace(partial, args.results)
    print()
    print("\n".join(protocol(applied, args.set, args.validate)))
    print("\n".join(summary(records, key)))
    print(f"wall time {time.perf_counter() - started:.0f}s; runs in {root}")
    return records


if __name__ == "__main__":
    failed = [record for record in main() if "error" in record]
    raise SystemExit(1 if failed else 0)  # a script (or CI) must see a run that failed
