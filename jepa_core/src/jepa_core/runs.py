"""One file describes a run: model + data + training + evaluation, as one spec.

``jepa train CONFIG`` validates the whole file (and every ``--set a.b=value``
override) before any tensor exists, builds everything through the registry,
trains with :class:`~jepa_core.training.Trainer` and, when the config has an
``eval`` section, probes the frozen encoder against the baselines it names.
"""

from __future__ import annotations

import json
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import torch
import yaml
from pydantic import ConfigDict, Field

from jepa_core.errors import SpecError
from jepa_core.persistence import atomic_write_bytes
from jepa_core.specs import ModelSpec, component_field, read_spec_file, spec_error_from_validation
from jepa_core.training import FINAL, Trainer, TrainSpec, distributed

DatasetSpec = component_field("dataset")
PositiveInt = Annotated[int, Field(gt=0)]


class EvalSpec(pydantic.BaseModel):
    """Frozen-encoder evaluation (the ``eval:`` section of a run config)."""

    model_config = ConfigDict(extra="forbid")

    train: DatasetSpec = Field(description="labelled data the probes are fitted on")
    test: DatasetSpec = Field(description="labelled data the probes are scored on")
    probes: list[Literal["linear", "knn"]] = Field(default_factory=lambda: ["linear", "knn"])
    shots: PositiveInt | None = Field(None, description="labelled examples per class drawn from train; None: all")
    seeds: list[int] = Field(default_factory=lambda: [0], description="one few-shot draw per seed")
    baselines: list[Literal["random_init", "raw"]] = Field(default_factory=lambda: ["random_init", "raw"])
    features: Literal["mean", "flatten"] = Field(
        "mean", description="token encoders: average the tokens, or keep the whole token grid"
    )
    knn_k: PositiveInt = 5
    weight_decay: Annotated[float, Field(ge=0)] = 1e-2
    batch_size: PositiveInt = 256


class RunSpec(pydantic.BaseModel):
    """A whole run: what to build, what to train it on, how, and how to judge it."""

    model_config = ConfigDict(extra="forbid")

    model: ModelSpec
    data: DatasetSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    eval: EvalSpec | None = None
    run_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "train": self.train.model_dump(mode="json"),
            "run_dir": self.run_dir,
        }
        if self.eval is not None:
            evaluation = self.eval.model_dump(mode="json", exclude={"train", "test"})
            data["eval"] = {"train": self.eval.train.to_dict(), "test": self.eval.test.to_dict(), **evaluation}
        return data


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to nested ``data`` in place."""
    if "=" not in assignment:
        raise SpecError(f"--set needs KEY=VALUE, got {assignment!r}")
    key, _, text = assignment.partition("=")
    parts = [part for part in key.strip().split(".") if part]
    if not parts:
        raise SpecError(f"--set needs a key before '=', got {assignment!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"--set {key}: cannot parse {text!r}: {exc}", key) from None
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str) and parts[depth + 1] in ("name", "params"):
            child = {"name": child}  # `encoder: cnn` written as a bare name
        if child is None:
            child = {}
        if not isinstance(child, dict):
            raise SpecError(f"--set {key}: {'.'.join(parts[: depth + 1])} is not a section", key)
        node[part] = child
        node = child
    node[parts[-1]] = value


def load_run_spec(source: str | os.PathLike[str] | Mapping[str, Any], overrides: Sequence[str] = ()) -> RunSpec:
    """Validate a run config (file path or dict) with ``--set`` overrides applied."""
    data = read_spec_file(source) if isinstance(source, (str, os.PathLike)) else json.loads(json.dumps(source))
    for assignment in overrides:
        apply_override(data, assignment)
    try:
        return RunSpec.model_validate(data)
    except pydantic.ValidationError as exc:
        raise spec_error_from_validation(exc) from None


def default_run_dir(config: str | os.PathLike[str] | None) -> Path:
    stem = Path(config).stem if config is not None else "run"
    return Path("runs") / stem


def train_run(
    spec: RunSpec,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    max_steps: int | None = None,
) -> Path:
    """Build, train and (if asked) evaluate the run; returns its directory."""
    from jepa_core.factory import build_model

    run_dir = Path(run_dir or spec.run_dir or default_run_dir(None))
    rank, _ = distributed()
    torch.manual_seed(spec.train.seed)  # the same initial weights on every rank and every rerun
    model = build_model(spec.model)
    data = spec.data.resolve().create(spec.data.params, "data.params")
    filled = spec.model_copy(update={"model": model.spec})  # wired widths and token counts included
    trainer = Trainer(model, data, spec.train, run_dir=run_dir, run_spec=filled.to_dict(), resume=resume)
    trainer.fit(max_steps=max_steps)
    if spec.eval is not None and rank == 0 and trainer.step >= spec.train.steps:
        results = evaluate(model, spec)
        atomic_write_bytes(run_dir / "eval.json", (json.dumps(results, indent=2) + "\n").encode())
        print(format_results(results))
    return run_dir


def _probe_scores(
    train: tuple[torch.Tensor, torch.Tensor], test: tuple[torch.Tensor, torch.Tensor], spec: EvalSpec
) -> dict[str, float]:
    from jepa_core.evaluation import few_shot_split, knn_accuracy, linear_probe

    scores: dict[str, list[float]] = {probe: [] for probe in spec.probes}
    (train_x, train_y), (test_x, test_y) = train, test
    for seed in spec.seeds:
        if spec.shots is not None:
            try:
                chosen, _ = few_shot_split(train_y, spec.shots, torch.Generator().manual_seed(seed))
            except ValueError as exc:
                raise SpecError(f"{exc}; lower eval.shots or give eval.train more data", "eval.shots") from None
            x, y = train_x[chosen], train_y[chosen]
        else:
            x, y = train_x, train_y
        if "linear" in scores:
            scores["linear"].append(linear_probe(x, y, test_x, test_y, weight_decay=spec.weight_decay))
        if "knn" in scores:
            scores["knn"].append(knn_accuracy(x, y, test_x, test_y, k=spec.knn_k))
    result = {}
    for probe, values in scores.items():
        result[probe] = statistics.fmean(values)
        result[f"{probe}_std"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    return result


def _raw_features(dataset: Any) -> tuple[torch.Tensor, torch.Tensor]:
    loader = torch.utils.data.DataLoader(dataset, batch_size=512, shuffle=False)
    xs, ys = [], []
    for x, y in loader:
        xs.append(x.reshape(x.shape[0], -1).float())
        ys.append(torch.as_tensor(y))
    return torch.cat(xs), torch.cat(ys)


def evaluate(model: Any, spec: RunSpec) -> dict[str, Any]:
    """Probe accuracies of the trained model and of the baselines the eval section names."""
    from jepa_core.evaluation import embed_dataset
    from jepa_core.factory import build_model

    if spec.eval is None:
        raise SpecError("this run config has no eval section", "eval")
    evaluation = spec.eval
    train_data = evaluation.train.resolve().create(evaluation.train.params, "eval.train.params")
    test_data = evaluation.test.resolve().create(evaluation.test.params, "eval.test.params")

    def embedded(encoder_model: Any) -> dict[str, float]:
        train = embed_dataset(encoder_model, train_data, batch_size=evaluation.batch_size, tokens=evaluation.features)
        test = embed_dataset(encoder_model, test_data, batch_size=evaluation.batch_size, tokens=evaluation.features)
        if train[1] is None or test[1] is None:
            raise SpecError("evaluation datasets must yield (x, label) items", "eval")
        return _probe_scores(train, test, evaluation)

    results: dict[str, Any] = {"jepa": embedded(model)}
    if "random_init" in evaluation.baselines:
        torch.manual_seed(spec.train.seed + 1)
        results["random_init"] = embedded(build_model(spec.model).to(model.device))
    if "raw" in evaluation.baselines:
        results["raw"] = _probe_scores(_raw_features(train_data), _raw_features(test_data), evaluation)
    results["protocol"] = {
        "shots": evaluation.shots, "seeds": evaluation.seeds, "probes": evaluation.probes,
        "features": evaluation.features,
        "train": evaluation.train.to_dict(), "test": evaluation.test.to_dict(),
    }
    return results


def format_results(results: Mapping[str, Any]) -> str:
    """A small table: one row per model, one column per probe (mean +- std over seeds)."""
    rows = [name for name in ("jepa", "random_init", "raw") if name in results]
    probes = [key for key in results["jepa"] if not key.endswith("_std")]
    header = f"{'':<12}" + "".join(f"{probe:>18}" for probe in probes)
    lines = [header]
    for name in rows:
        cells = "".join(
            f"{results[name][probe]:>11.3f} ± {results[name][probe + '_std']:.3f}" for probe in probes
        )
        lines.append(f"{name:<12}{cells}")
    return "\n".join(lines)


def evaluate_path(path: str | os.PathLike[str], config: str | os.PathLike[str] | None = None,
                  overrides: Sequence[str] = ()) -> dict[str, Any]:
    """``jepa eval``: a run directory (its run.json and final model), or a saved model
    directory plus a run config whose ``eval`` section says how to probe it."""
    from jepa_core.api import load

    path = Path(path)
    if config is not None:
        spec = load_run_spec(config, overrides)
    elif (path / "run.json").is_file():
        spec = load_run_spec(json.loads((path / "run.json").read_text()), overrides)
    else:
        raise SpecError(
            f"{str(path)!r} is not a run directory (no run.json); pass --config with an eval section"
        )
    model_dir = path / FINAL if (path / FINAL).is_dir() else path
    model = load(model_dir)
    results = evaluate(model, spec)
    if (path / "run.json").is_file():
        atomic_write_bytes(path / "eval.json", (json.dumps(results, indent=2) + "\n").encode())
    return results


def template_names() -> list[str]:
    from jepa_core.registry import get_registry

    registry = get_registry()
    registry.ensure_loaded()
    return sorted(registry.templates)


def write_template(name: str, output: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """``jepa init NAME``: write the starter config a plugin (or the core) provides."""
    from jepa_core.persistence import atomic_write_bytes
    from jepa_core.registry import get_registry

    registry = get_registry()
    registry.ensure_loaded()
    if name not in registry.templates:
        available = ", ".join(sorted(registry.templates)) or "none"
        raise SpecError(f"no starter config named {name!r}; installed: {available}")
    path = Path(output) if output is not None else Path(f"{name}.yaml")
    if path.exists() and not force:
        raise SpecError(f"{str(path)!r} exists; pass --force to overwrite it or --output another file")
    text = registry.templates[name][1]
    load_run_spec(yaml.safe_load(text))  # a template that does not validate is a bug: fail loudly
    atomic_write_bytes(path, text.encode())
    return path


__all__ = ["EvalSpec", "RunSpec", "evaluate", "load_run_spec", "train_run"]
