"""One file describes a run: model + data + training + evaluation, as one spec.

``jepa train CONFIG`` validates the whole file (and every ``--set a.b=value``
override) before any tensor exists, builds everything through the registry,
trains with :class:`~jepa_core.training.Trainer` and, when the config has an
``eval`` section, probes the frozen encoder against the baselines it names.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence, Sized
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

import pydantic
import torch
import yaml
from pydantic import Field

from jepa_core import evaluation as ev  # called as ev.name, so that a patched jepa_core.evaluation is the one used
from jepa_core.api import load
from jepa_core.contracts import encode_state, token_count
from jepa_core.errors import (
    MAX_ISSUES_SHOWN,
    CheckpointError,
    SpecError,
    TokenCountError,
    short_message,
    short_repr,
    warn,
)
from jepa_core.first_party import EXTRAS, FIRST_PARTY, SCOPES, STARTERS, install_command
from jepa_core.limits import Heads, Seed
from jepa_core.model import (
    BaseModel,
    build_model,
    check_tokenizer,
    data_error,
    describe_state,
    first_state,
    masked_input,
    refuse_paired_batch,
)
from jepa_core.persistence import CONFIG_NAME, atomic_write_bytes, blocked_by_file, explain_unknown, read_config
from jepa_core.registry import get_registry
from jepa_core.specs import (
    ComponentSpec,
    ModelSpec,
    _validate_nested,
    is_dir,
    is_file,
    parse_spec_text,
    read_spec_file,
)
from jepa_core.training import FINAL, Trainer, TrainSpec, checkpoints, differences, distributed
from jepa_core.validation import SpecModel, check_spec_shape, validate_spec

# Spelt out like specs.EncoderSpec, so that a type checker sees an alias of ComponentSpec.
DatasetSpec: TypeAlias = Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested("dataset"))]
PositiveInt = Annotated[int, Field(gt=0)]
Probe = Literal["linear", "knn", "svm", "attentive", "ridge"]
Baseline = Literal["random_init", "raw", "frame_average"]
#: The rows of a results table, in order: the trained model, then the baselines.
RESULT_ROWS = ("jepa", "random_init", "raw", "frame_average")
_T = TypeVar("_T")


def _default_probes() -> list[Probe]:
    return ["linear", "knn"]


def _default_baselines() -> list[Baseline]:
    return ["random_init", "raw"]


class AttentiveSpec(SpecModel):
    """Training of the attentive probe (``eval.attentive``)."""

    steps: PositiveInt = Field(300, description="AdamW steps: warmup over the first tenth, then cosine to 0")
    batch_size: PositiveInt = 128
    lr: Annotated[float, Field(gt=0)] = Field(3e-3, description="peak learning rate")
    weight_decay: Annotated[float, Field(ge=0)] = 0.01
    heads: Heads | None = Field(None, description="attention heads; None: one per 64 channels")


class FrameAverageSpec(SpecModel):
    """The ``frame_average`` baseline of a video run (``eval.frame_average``): an image
    JEPA trained on the single frames of the run's training clips (``data``), then each
    clip embedded as the average of its frames' embeddings (token grids averaged position
    by position, for the attentive probe). It sees what the frames show but not their
    order: a video model that beats it uses time."""

    model: ModelSpec = Field(description="the image model, trained on frames (C, H, W) of the run's data")
    train: TrainSpec = Field(
        default_factory=TrainSpec, description="its training; its seed is the run's train.seed unless set here"
    )
    cache_clips: bool = Field(
        True,
        description="keep each training clip in memory once read, so it is not made again for each of its "
        "frames (the first draw of a clip is kept: false for clips that should be drawn afresh each epoch)",
    )


class EvalSpec(SpecModel):
    """Frozen-encoder evaluation (the ``eval:`` section of a run config)."""

    train: DatasetSpec = Field(description="labelled data the probes are fitted on")
    test: DatasetSpec = Field(description="labelled data the probes are scored on")
    probes: list[Probe] = Field(
        default_factory=_default_probes,
        min_length=1,
        description="linear: logistic regression; knn: cosine k-NN; svm: RBF SVM with C by 5-fold CV "
        "(TS2Vec; needs jepa-core[eval]); attentive: cross-attention probe on the tokens (V-JEPA); "
        "ridge: for a real-valued target, ridge regression scored by R² (needs jepa-core[eval]; alone)",
    )
    shots: PositiveInt | None = Field(None, description="labelled examples per class drawn from train; None: all")
    seeds: list[Seed] = Field(
        default_factory=lambda: [0],
        min_length=1,
        max_length=1000,
        description="one few-shot draw (and attentive-probe init) per seed; without shots only the attentive "
        "probe depends on them (the others are fitted once)",
    )
    baselines: list[Baseline] = Field(
        default_factory=_default_baselines,
        description="random_init: the same architecture untrained; raw: the inputs themselves; "
        "frame_average: an image model trained on the clips' frames (clips only; needs eval.frame_average)",
    )
    frame_average: FrameAverageSpec | None = Field(
        None, description="the image model and training of the frame_average baseline"
    )
    features: Literal["mean", "max", "flatten"] = Field(
        "mean",
        description="token encoders: average or max-pool the tokens, or keep the whole token grid "
        "(the attentive probe always reads the token grid)",
    )
    pool_window: PositiveInt | None = Field(
        None,
        description="mean and max features of a long sequence: its tokens cut into ceil(length / pool_window) "
        "near-equal stretches (at most pool_window each), each pooled, the stretches averaged (the scale of a "
        "recipe trained on crops of that length); unset: all tokens at once",
    )
    knn_k: PositiveInt = 5
    weight_decay: Annotated[float, Field(ge=0)] = Field(1e-2, description="L2 strength of the linear probe")
    attentive: AttentiveSpec = Field(default_factory=AttentiveSpec)
    batch_size: PositiveInt = 256

    @pydantic.field_validator("seeds")
    @classmethod
    def _distinct_seeds(cls, seeds: list[int]) -> list[int]:
        repeated = sorted({seed for seed in seeds if seeds.count(seed) > 1})
        if repeated:  # the same draw twice would show as agreement between draws
            raise ValueError(f"seed {repeated[0]} is listed more than once; each seed is one draw, give distinct ones")
        return seeds

    @pydantic.model_validator(mode="after")
    def _regression_alone(self) -> EvalSpec:
        if "ridge" not in self.probes:
            return self
        others = [probe for probe in self.probes if probe != "ridge"]
        if others:
            raise ValueError(
                f"ridge regresses a real-valued target and {' and '.join(others)} classif"
                f"{'y' if len(others) > 1 else 'ies'}; one eval section probes "
                "one kind of label: probes: [ridge] for a regression target, or leave ridge out"
            )
        if self.shots is not None:
            raise ValueError(
                "shots draws labelled examples per class, and a regression target has no classes; leave "
                "eval.shots unset with the ridge probe (it fits on the whole of eval.train)"
            )
        return self

    @pydantic.model_validator(mode="after")
    def _window_pools(self) -> EvalSpec:
        if self.pool_window is not None and self.features == "flatten":
            raise ValueError(
                "pool_window pools stretches of tokens, and features 'flatten' keeps every token: set features "
                "to 'mean' or 'max', or drop the window (--set eval.pool_window=null)"
            )
        return self

    @pydantic.model_validator(mode="after")
    def _frame_average_given(self) -> EvalSpec:
        if "frame_average" in self.baselines and self.frame_average is None:
            raise ValueError(
                "the frame_average baseline (for clips: an image model trained on their single frames, each clip "
                "its frames' average) needs eval.frame_average: {model: <an image model>, train: <its training>}; "
                "on data that is not video, leave it out of eval.baselines"
            )
        return self


class RunSpec(SpecModel):
    """A whole run: what to build, what to train it on, how, and how to judge it."""

    model: ModelSpec
    data: DatasetSpec
    train: TrainSpec = Field(default_factory=TrainSpec)
    eval: EvalSpec | None = None
    run_dir: str | None = None

    @pydantic.model_validator(mode="after")
    def _frame_average_seed(self) -> RunSpec:
        """The frame_average baseline trains with the run's seed unless its own is set:
        written in, so that run.json records (and a re-evaluation reuses) the training seed it used."""
        settings = self.eval.frame_average if self.eval is not None else None
        if settings is not None and "seed" not in settings.train.model_fields_set:
            settings.train = settings.train.model_copy(update={"seed": self.train.seed})
            settings.train.model_fields_set.add("seed")
        return self

    def to_dict(self) -> dict[str, Any]:
        data = {
            "model": self.model.to_dict(),
            "data": self.data.to_dict(),
            "train": self.train.model_dump(mode="json"),
            "run_dir": self.run_dir,
        }
        if self.eval is not None:
            evaluation = self.eval.model_dump(mode="json", exclude={"train", "test", "frame_average"})
            if self.eval.frame_average is not None:
                evaluation["frame_average"] = _frame_average_dict(self.eval.frame_average)
            data["eval"] = {"train": self.eval.train.to_dict(), "test": self.eval.test.to_dict(), **evaluation}
        return data


def _frame_average_dict(spec: FrameAverageSpec) -> dict[str, Any]:
    return {"model": spec.model.to_dict(), "train": spec.train.model_dump(mode="json"), "cache_clips": spec.cache_clips}


def apply_override(data: dict[str, Any], assignment: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to nested ``data`` in place."""
    if not isinstance(assignment, str) or "=" not in assignment:
        raise SpecError(f"--set needs KEY=VALUE, got {short_repr(assignment)}")
    key, _, text = assignment.partition("=")
    key = key.strip()
    if not key:
        raise SpecError(f"--set needs a key before '=', got {short_repr(assignment)}")
    parts = key.split(".")
    if not all(parts):  # `train..steps`: a typo, not a path
        raise SpecError(f"--set key {short_repr(key)} has an empty part between dots; write e.g. train.steps=...")
    if len(key) > 200:
        key = key[:197] + "..."  # it appears in messages; no real key is that long
    value = parse_spec_text(text, "YAML", f"the --set value {short_repr(text)}", key)
    squeezed = _squeezed_key(value)
    if squeezed is not None:  # `{depth:2}` reads as the key 'depth:2' with no value
        name, _, rest = squeezed.partition(":")
        raise SpecError(
            f"the --set value holds {squeezed!r}, which YAML reads as one key with no value; write a space "
            f"after the colon ({name}: {rest})",
            key,
        )
    node = data
    for depth, part in enumerate(parts[:-1]):
        child = node.get(part)
        if isinstance(child, str) and parts[depth + 1] in ("name", "params"):
            child = {"name": child}  # `encoder: cnn` written as a bare name
        if child is None:
            child = {}
        if not isinstance(child, dict):
            section = ".".join(parts[: depth + 1])
            raise SpecError(
                f"--set reaches only into sections, and {section} holds {short_repr(child)}: set it whole "
                f"(--set '{section}=...')",
                key,
            )
        node[part] = child
        node = child
    node[parts[-1]] = value


def _squeezed_key(value: Any) -> str | None:
    """A mapping key (at any depth) like ``depth:2`` whose value is None: a YAML flow
    mapping written without the space after its colon."""
    if isinstance(value, dict):
        for key, item in value.items():
            if item is None and isinstance(key, str) and ":" in key and not key.startswith(("http:", "https:")):
                return key
            found = _squeezed_key(item)
            if found is not None:
                return found
    if isinstance(value, list):
        return next((found for found in map(_squeezed_key, value) if found is not None), None)
    return None


def load_run_spec(source: str | os.PathLike[str] | Mapping[str, Any], overrides: Sequence[str] = ()) -> RunSpec:
    """Validate a run config (file path or dict) with ``--set`` overrides applied."""
    if isinstance(source, (str, os.PathLike)):
        data = read_spec_file(source)
    elif isinstance(source, Mapping):
        check_spec_shape(source)  # before the copy below walks it
        try:
            data = json.loads(json.dumps(source))
        except (TypeError, ValueError) as exc:  # a value JSON cannot hold (an object, a 5000-digit int)
            raise SpecError(
                f"a run config holds plain values (mappings, lists, strings, numbers): {short_message(exc)}"
            ) from None
    else:
        raise SpecError(f"a run config is a file path or a mapping, got {type(source).__name__}")
    renamed = {}  # section -> (old name, new name) where --set changed a component's name
    earlier: dict[str, str] = {}  # key -> the --set that gave it
    for assignment in overrides:
        key = ".".join(part for part in str(assignment).partition("=")[0].strip().split(".") if part)
        lost = [given for inner, given in earlier.items() if key and inner.startswith(key + ".")]
        if lost:
            warn(
                f"--set {short_repr(assignment, 200)} replaces the whole {key} section, dropping what the earlier "
                f"--set {short_repr(lost[0], 200)} wrote into it; to keep both, give the section first, then the "
                "values inside it"
            )
        emptied = [
            (inner, given)
            for inner, given in earlier.items()
            if key.startswith(inner + ".") and given.partition("=")[2].strip() in ("null", "Null", "NULL", "~", "")
        ]
        if emptied:
            inner, given = emptied[-1]
            warn(
                f"--set {short_repr(assignment, 200)} starts the {inner} section anew: the earlier --set "
                f"{short_repr(given, 200)} emptied it, so it holds only what later --set give; to change the "
                f"config's own {inner} section, leave out --set {short_repr(given, 200)}"
            )
        earlier[key] = str(assignment)
        before = _named_section(data, assignment)
        apply_override(data, assignment)
        if before is not None:
            section, old_name = before
            after = _named_section(data, assignment)
            if after is not None and after[1] != old_name:
                renamed[section] = (old_name, after[1])
    check_spec_shape(data)
    try:
        return validate_spec(RunSpec.model_validate, data, model=RunSpec)
    except SpecError as exc:
        raise _one_install_command(_empty_value_hint(_kept_params_hint(exc, renamed), earlier), data) from None


def _empty_value_hint(exc: SpecError, given: Mapping[str, str]) -> SpecError:
    """``--set train.lr=`` (nothing after ``=``) reads as null, as an empty YAML value
    does: where that null is what fails, say where it came from."""
    issues = [
        (path, f"{message}; --set {given[path]} has nothing after '=', which reads as null: write the value")
        if path in given and not given[path].partition("=")[2].strip() and message.endswith("(got None)")
        else (path, message)
        for path, message in exc.issues
    ]
    return exc if issues == list(exc.issues) else type(exc)(issues[0][1], issues=issues, total=exc.total)


def _one_install_command(exc: SpecError, data: Mapping[str, Any]) -> SpecError:
    """A config naming several components of a first-party distribution that is not
    installed: each issue's pip command brings only its own component's extra (the
    encoder's none, the dataset's ``[digits]``), so running the first one would leave
    the next missing. A last issue gives the one command that brings them all."""
    registry = get_registry()
    named: dict[str, list[str]] = {}  # distribution -> the extras of each component named from it
    for path, _ in exc.issues:
        section = path.removesuffix(".name")
        last = section.rpartition(".")[2]
        kind = "dataset" if last in ("data", "train", "test") else last  # data, eval.train, eval.test
        value: Any = data
        for part in section.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        name = value.get("name") if isinstance(value, Mapping) else value
        if not isinstance(name, str):
            continue
        scope, _, bare = name.rpartition(":")
        distribution = FIRST_PARTY.get((kind, bare))
        if distribution is None or (scope and SCOPES.get(scope) != distribution):
            continue
        if registry.plugin_record(distribution=distribution) is None:
            named.setdefault(distribution, []).append(EXTRAS.get((kind, bare), ""))
    combined = [
        (distribution, ",".join(sorted({e for extra in extras for e in extra.split(",") if e})))
        for distribution, extras in named.items()
        if len(extras) > 1 and len(set(extras)) > 1  # one command already does it when they agree
    ]
    if not combined:
        return exc
    remedies = [
        (
            "",
            f"one command installs every part this config names from {distribution}: "
            f"{install_command(distribution, extras)}",
        )
        for distribution, extras in combined
    ]
    at = min(len(exc.issues), MAX_ISSUES_SHOWN - len(remedies))  # where the message shows it
    issues = [*exc.issues[:at], *remedies, *exc.issues[at:]]
    return type(exc)(issues[0][1], issues=issues, total=exc.total + len(remedies))


def _named_section(data: Mapping[str, Any], assignment: object) -> tuple[str, str] | None:
    """``(section, its component name)`` when ``assignment`` sets ``section.name`` of
    a section that also holds params; None otherwise."""
    if not isinstance(assignment, str):
        return None
    key = assignment.partition("=")[0].strip()
    if not key.endswith(".name"):
        return None
    section = key[: -len(".name")]
    node: Any = data
    for part in section.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if not isinstance(node, Mapping) or not node.get("params") or not isinstance(node.get("name"), str):
        return None
    return section, node["name"]


def _around_the_trained_model(config: str | os.PathLike[str], path: Path) -> dict[str, Any]:
    """A config given to probe a trained model: a file of an ``eval`` section alone
    takes the trained model's own ``model`` section, and its ``eval.train`` stands for
    the pretraining ``data`` (which only the frame_average baseline reads)."""
    data = read_spec_file(config)
    if isinstance(data, dict) and isinstance(data.get("eval"), dict):
        if "model" not in data:
            data["model"] = read_config(path / FINAL if is_dir(path / FINAL) else path)["spec"]
        if "data" not in data and "train" in data["eval"]:
            data["data"] = data["eval"]["train"]
    return data


def _kept_params_hint(exc: SpecError, renamed: Mapping[str, tuple[str, str]]) -> SpecError:
    """--set SECTION.name=NEW keeps the params written for the old component; when
    they are what fails, say so and how to replace the section whole."""
    for section, (old, new) in renamed.items():
        first = next((i for i, (path, _) in enumerate(exc.issues) if path.startswith(f"{section}.params.")), None)
        if first is not None:
            issues = list(exc.issues)
            path, message = issues[first]
            issues[first] = (
                path,
                f"{message} (--set {section}.name={new} kept the params written for {old!r}; "
                f"replace the whole section: --set '{section}={{name: {new}}}')",
            )
            return type(exc)(issues[0][1], issues=issues, total=exc.total)
    return exc


def default_run_dir(config: str | os.PathLike[str] | None) -> Path:
    stem = Path(config).stem if config is not None else "run"
    return Path("runs") / stem


def train_run(
    spec: RunSpec,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    restart: bool = False,
    max_steps: int | None = None,
) -> Path:
    """Build, train and (if asked) evaluate the run; returns its directory.

    ``resume`` continues from the run's latest checkpoint; ``restart`` discards the
    run already in ``run_dir`` and starts over (see :class:`~jepa_core.training.Trainer`).
    """
    return train_and_evaluate(spec, run_dir=run_dir, resume=resume, restart=restart, max_steps=max_steps)[0]


def train_and_evaluate(
    spec: RunSpec,
    *,
    run_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    restart: bool = False,
    max_steps: int | None = None,
) -> tuple[Path, dict[str, Any] | None]:
    """:func:`train_run`, also returning the evaluation's results (None when the run
    has no eval section, stopped before its last step, or is not rank 0), so that a
    caller can tell whether a probe of the trained model failed (:func:`failed_probes`)."""
    run_dir = Path(run_dir or spec.run_dir or default_run_dir(None))
    for probe in ("svm", "ridge"):
        if spec.eval is not None and probe in spec.eval.probes:
            ev.require_sklearn(probe)  # before hours of training, not after
    rank, world = distributed(spec.train.device)
    data = None
    if _token_count_unset(spec):
        data = spec.data.resolve().create(spec.data.params, "data.params")
        spec = _fill_token_count(spec, data, announce=rank == 0)
    torch.manual_seed(spec.train.seed)  # the same initial weights on every rank and every rerun
    recorded_model = None
    try:
        model = _build_model(spec.model, "model")
    except SpecError as exc:
        resumable = _checkpointed_model(run_dir, spec.model, exc, announce=rank == 0) if resume else None
        if resumable is None:
            raise
        model, recorded_model = resumable
    if data is None:
        data = spec.data.resolve().create(spec.data.params, "data.params")
    if spec.eval is not None:  # one item of each eval set through the encoder: a mismatch fails now
        check_eval_data(model, spec, data)
    filled = spec.model_copy(update={"model": model.spec}).to_dict()  # wired widths and token counts included
    if recorded_model is not None:  # rebuilt from its checkpoint: the run's own record of it stands
        filled["model"] = recorded_model
    try:
        trainer = Trainer(model, data, spec.train, run_dir=run_dir, run_spec=filled, resume=resume, restart=restart)
    except TokenCountError as exc:
        raise _or_resize_the_data(exc, spec) from None
    start = trainer.step  # a resumed run starts at its checkpoint
    trainer.fit(max_steps=max_steps)  # saves final/ before anything is evaluated
    results = None
    evaluation = spec.eval if trainer.step >= spec.train.steps else None  # a stopped run is not probed
    stale = run_dir / "eval.json"
    if trainer.step > start and rank == 0 and is_file(stale):  # the earlier scores no longer describe the model
        stale.unlink()
        if evaluation is None:
            again = f"jepa eval {run_dir}" + (" --config CONFIG (an eval section)" if spec.eval is None else "")
            warn(
                f"removed {stale}: it scored the model before steps {start + 1}-{trainer.step}; {again} scores it again"
            )
    if evaluation is not None and world > 1 and "frame_average" in evaluation.baselines:
        # its image model trains with every process, as the run did (rank 0 alone would wait
        # on the others forever); rank 0's evaluation then reuses it from run_dir/frame_average
        _frame_average_model(spec, run_dir, save=True)
    if evaluation is not None and rank == 0:
        baselines = f"; baselines: {', '.join(evaluation.baselines)}" if evaluation.baselines else ""
        window = evaluation.pool_window
        pooled = f" on {evaluation.features} over stretches of at most {window} tokens" if window else ""
        print(  # probing takes a while and prints nothing until its table: say what is running
            f"jepa: probing ({', '.join(evaluation.probes)}{pooled}; {_draws(evaluation)}{baselines}); "
            "skip: --set eval=null",
            file=sys.stderr,
            flush=True,
        )
        try:
            results = evaluate(model, spec, on_update=_results_writer(run_dir / "eval.json"), baseline_dir=run_dir)
        except KeyboardInterrupt:
            print(
                f"jepa: probing stopped; training had finished and the model is saved in "
                f"{str(run_dir / FINAL)!r}: probe it with: jepa eval {run_dir}",
                file=sys.stderr,
                flush=True,
            )
            raise
        except Exception as exc:
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(
                    f"the trained model is saved in {str(run_dir / FINAL)!r}; "
                    f"evaluate it again with: jepa eval {run_dir}"
                )
            raise
        print(format_results(results))
    return run_dir, results


# the data parameter that sets what an encoder parameter must match (images, clips)
_DATA_FIELD_FOR = {"image_size": "image_size", "num_frames": "frames_per_clip"}


def _or_resize_the_data(exc: TokenCountError, spec: RunSpec) -> TokenCountError:
    """An encoder built for another image size (or clip length) than the data's: the fix
    may be the data's ``image_size`` / ``frames_per_clip`` (e.g. left at its default) as
    much as the encoder's."""
    encoder_field = exc.path.removeprefix("model.encoder.params.")
    data_field = _DATA_FIELD_FOR.get(encoder_field)
    if data_field is None or exc.path == encoder_field:
        return exc
    component = spec.data.resolve()
    field = component.params_model.model_fields.get(data_field)
    wanted = spec.model.encoder.params.get(encoder_field)
    if field is None or wanted is None:
        return exc
    now = spec.data.params.get(data_field)
    current = f"now {short_repr(now)}" if now is not None else f"now its default, {short_repr(field.default)}"
    message = (
        f"{exc.issues[0][1]}; or, if the encoder's {encoder_field} is the one you want, "
        f"set data.params.{data_field} ({current}) to {short_repr(wanted)}"
    )
    return TokenCountError(message, exc.path)


def _checkpointed_model(
    run_dir: Path, given: ModelSpec, error: SpecError, announce: bool
) -> tuple[Any, dict[str, Any]] | None:
    """For a resume whose model config cannot be built here (e.g. a backbone directory
    since moved): the model from the run's latest checkpoint, which holds all of it,
    and the model section ``run.json`` records; None when there is none, or when the
    config given now sets anything otherwise than that record (its error stands)."""
    complete = checkpoints(run_dir)
    if not complete or not (run_dir / "run.json").is_file():
        return None
    try:
        recorded = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["model"]
        for key, old, new in differences(recorded, given.to_dict()):
            bare_names = key.endswith("name") and isinstance(old, str) and isinstance(new, str)
            if new is not None and not (bare_names and old.split(":")[-1] == new.split(":")[-1]):
                return None  # the config given now changes it (what it leaves out was filled in when built)
        latest = complete[-1] / "model"
        model = load(latest)
    except Exception:  # the config's own error says more than the checkpoint's
        return None
    if announce:
        print(
            f"jepa: the model's config cannot be built here ({short_message(error)}); resuming from the copy of "
            f"the model in {str(latest)!r}",
            file=sys.stderr,
            flush=True,
        )
    return model, recorded


def with_saved_distributions(error: SpecError, run_dir: str | os.PathLike[str]) -> SpecError:
    """A resume's config error with what the run's latest checkpoint records of where
    the model's parts came from: the install command for a plugin distribution not
    here (the unknown-name error alone cannot tell which distribution had it)."""
    complete = checkpoints(Path(run_dir))
    try:
        config = read_config(complete[-1] / "model") if complete else {}
    except CheckpointError:
        return error
    (path, message), *rest = error.issues
    explained = explain_unknown(config, message)
    if explained == message:
        return error
    return type(error)(explained, issues=[(path, explained), *rest], total=error.total)


def _build_model(spec: ModelSpec, field: str) -> Any:
    """:func:`build_model`, its errors located in the run config (``model.encoder.params``,
    not ``encoder.params``)."""
    try:
        return build_model(spec)
    except SpecError as exc:
        raise exc.prefixed(field) from None


def failed_probes(results: Mapping[str, Any]) -> list[str]:
    """The failures of the trained model's row of ``results``: ``"jepa"`` (it could not
    be embedded) or ``"jepa/PROBE"``; the baselines' failures are not counted."""
    errors: Mapping[str, str] = results.get("errors", {})
    return [name for name in errors if name == "jepa" or name.startswith("jepa/")]


def _first_item(dataset: Any, field: str) -> Any:
    """A batch of one: the first item of ``dataset``, collated as a data loader would."""
    try:
        if isinstance(dataset, Sized) and hasattr(dataset, "__getitem__"):
            if len(dataset) == 0:
                raise SpecError(f"{field} is empty (0 items); check its file or size", field)
            item = dataset[0]
        else:
            item = next(iter(dataset), None)
            if item is None:
                raise SpecError(f"{field} gives no item at all; check its file or size", field)
        return torch.utils.data.default_collate([item])
    except SpecError:
        raise
    except Exception as exc:  # a dataset that cannot give or collate its first item
        raise SpecError(f"cannot read the first item of {field}: {_error_message(exc)}", field) from exc


def _params_hint(spec: RunSpec, section: ComponentSpec, field: str) -> str:
    """For an eval set of the same dataset as ``data``: its parameters that differ from
    data's (the split, seed and label aside), as a hint at what makes the items differ."""
    component = section.resolve()
    if component.qualname != spec.data.resolve().qualname:
        return ""
    try:
        own = component.validate(dict(section.params), f"{field}.params")
        trained = component.validate(dict(spec.data.params), "data.params")
    except SpecError:
        return ""
    differ = [
        f"{field}.params.{key} is {short_repr(own[key])} where data.params has {short_repr(trained.get(key))}"
        for key in own
        # crop is pretraining's random window: an eval set reads whole items, so it is no fix
        if key not in ("split", "seed", "label", "crop") and own[key] != trained.get(key)
    ]
    return f" ({'; '.join(differ)})" if differ else ""


def _encode_or_explain(model: Any, encoder: torch.nn.Module, batch: Any, state: Any, field: str) -> torch.Tensor:
    """``state`` (of ``batch``, from ``field``) through the encoder, or the data error that
    says what the batch holds and what the encoder takes."""
    try:
        with torch.no_grad():
            return encode_state(encoder, _to_device(state, model))
    except (ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
        raise data_error(encoder, batch, exc, field) from exc


def _warn_eval_sets_read_unreadable_files(spec: RunSpec) -> None:
    """Pretraining data that skips unreadable files (the folder datasets' ``skip_unreadable``)
    and an eval set of the same folder that does not: its first unreadable file would stop
    the probes, after training. Said before training."""
    if spec.eval is None or not spec.data.params.get("skip_unreadable"):
        return
    for field, section in (("eval.train", spec.eval.train), ("eval.test", spec.eval.test)):
        same_folder = section.resolve().qualname == spec.data.resolve().qualname and section.params.get(
            "root"
        ) == spec.data.params.get("root")
        if same_folder and not section.params.get("skip_unreadable"):
            warn(
                f"data.params.skip_unreadable is true but {field} reads the same folder without it: an unreadable "
                f"file there would stop the probes after training; set {field}.params.skip_unreadable: true"
            )


def check_eval_data(model: Any, spec: RunSpec, data: Any = None) -> None:
    """Before training: one item of ``eval.train`` and one of ``eval.test`` through the
    model's encoder, so that eval data the trained model cannot take fails now, as a
    :class:`SpecError` naming the section, not after training as failed probes. Checks
    that the encoder takes each item and, with ``eval.features: flatten`` (whose
    features are all of an item's tokens), that each gives the encoder's token count
    (or, when the encoder has none, the same count as the other). ``data`` (the
    pretraining dataset) lets the message show the shape its items have. Fits no probe."""
    evaluation = spec.eval
    encoder = getattr(model, "encoder", None)
    if data is not None and isinstance(encoder, torch.nn.Module):
        check_tokenizer(encoder, data, "data.params.tokenizer")
    if evaluation is None or not isinstance(encoder, torch.nn.Module):
        return
    expected = token_count(encoder)
    name = spec.model.encoder.name
    flat = evaluation.features == "flatten" and any(probe != "attentive" for probe in evaluation.probes)
    regression = evaluation.probes == ["ridge"]  # real-valued targets, no classes to check
    rng = torch.get_rng_state()  # the check must not shift the run's random stream
    was_training = encoder.training
    counts: dict[str, tuple[int, Any]] = {}
    states: dict[str, Any] = {}  # the first item of each eval set, as the model's input
    labels: dict[str, torch.Tensor | None] = {}
    try:
        encoder.eval()
        if data is not None:  # the pretraining data first: a mismatch there is the one to fix
            batch = _first_item(data, "data")
            if getattr(model, "masker", None) is not None:
                refuse_paired_batch(batch)
            state = first_state(batch)
            tokens = _encode_or_explain(model, encoder, batch, state, "data")
            if tokens.dim() == 3 and getattr(model, "masker", None) is not None:
                try:
                    model.check_token_count(int(tokens.shape[1]), state)
                except TokenCountError as exc:
                    raise _or_resize_the_data(exc.in_run_config(), spec) from None
        _warn_eval_sets_read_unreadable_files(spec)
        datasets = []
        for field, section in (("eval.train", evaluation.train), ("eval.test", evaluation.test)):
            dataset = section.resolve().create(section.params, f"{field}.params")
            check_tokenizer(encoder, dataset, f"{field}.params.tokenizer")
            datasets.append(dataset)
            batch = _first_item(dataset, field)
            label = ev.split_item(batch)[1]
            if label is None:
                raise _unlabelled(field, section)
            if regression:
                _check_regression_data(dataset, label, field)
            elif isinstance(label, torch.Tensor):  # a regression target fails now, not as every probe's error
                held_labels = getattr(dataset, "labels", None)  # all of them, when the dataset keeps them
                ev.check_class_labels(label if held_labels is None else held_labels, field)
            labels[field] = held = None if regression else _class_labels(dataset)
            if held is not None:
                _check_classes_are_not_splits(dataset, field)
            if field == "eval.train" and held is not None and evaluation.shots is not None:
                _few_shot_draw(held, evaluation.shots, seed=0, class_names=getattr(dataset, "classes", None))
            if field == "eval.train" and "knn" in evaluation.probes:
                knn_problem = _knn_k_problem(evaluation, held, len(dataset) if isinstance(dataset, Sized) else None)
                if knn_problem and evaluation.probes == ["knn"]:  # nothing would be scored
                    raise SpecError(knn_problem, "eval.knn_k")
                if knn_problem and distributed()[0] == 0:  # the other probes still run: a warning, not an error
                    warn(f"eval.knn_k: {knn_problem}; the knn probe will fail, the others run")
            state = masked_input(batch)
            states[field] = state
            tokens = _encode_or_explain(model, encoder, batch, state, field)
            if tokens.dim() == 3:
                counts[field] = (int(tokens.shape[1]), state)
        if evaluation.train.to_dict() == evaluation.test.to_dict() and distributed()[0] == 0:
            warn(
                "eval.test is the same data as eval.train (the same dataset and params): the probes are scored on "
                "the examples they are fitted on, which measures memory, not the representation; give eval.test "
                "held-out data (e.g. split: test where eval.train has split: train)"
            )
        if labels["eval.train"] is not None:  # one class, or test classes train lacks: probes would mislead
            alignment = ev.class_alignment(*datasets)
            held = labels["eval.test"]
            if alignment is not None and held is not None:
                held = alignment[held.long()]
            ev.check_probe_labels(labels["eval.train"], held, names=ev.class_names(datasets[0]))
    finally:
        encoder.train(was_training)
        torch.set_rng_state(rng)
    if not flat:
        _check_same_inputs(spec, states)
        return  # pooled features (mean, max) and token grids take any token count
    shown = ""
    if data is not None:
        try:
            shown = f" (the data section's items hold {describe_state(_unbatched(_first_item(data, 'data')))})"
        except SpecError:
            shown = ""
    for field, (found, state) in counts.items():
        if expected is not None:
            if found == expected:
                continue
            wanted = f"encoder {name!r} gives {expected} on the data it is trained on{shown}"
        else:
            other = "eval.train" if field == "eval.test" else "eval.test"
            if other not in counts or counts[other][0] == found or field == "eval.train":
                continue
            wanted = f"{other} gives {counts[other][0]}"
        section = evaluation.train if field == "eval.train" else evaluation.test
        raise SpecError(
            f"an item of {field} gives {found} tokens (it holds {describe_state(_unbatched(state))}) but "
            f"{wanted}: with eval.features 'flatten' an item's features are all its tokens, so the probes "
            f"could not compare them; set {field}.params so that its items have the shape the model is trained on"
            f"{_params_hint(spec, section, field)}, or use eval.features 'mean'",
            field,
        )
    _check_same_inputs(spec, states)


def _check_classes_are_not_splits(dataset: Any, field: str) -> None:
    """Classes named only like splits (``test``, ``train``) are a folder read one level too
    high: the probes would tell the splits apart, and score that as the representation's."""
    classes = [str(name) for name in getattr(dataset, "classes", None) or ()]
    if len(classes) > 1 and all(name.lower() in ev.SPLIT_NAMES for name in classes):
        shown = ", ".join(repr(name) for name in classes)
        raise SpecError(
            f"its classes are {shown}, the names of splits, so the probes would only tell the splits apart: "
            f"point {field} at the folder of one split (for a folder dataset such as image_folder: root one "
            "level lower, e.g. .../train for eval.train and .../test for eval.test, with split: all)",
            field,
        )


def _draws(evaluation: EvalSpec) -> str:
    """How many times each probe is fitted: once per seed with shots; without, once (the
    attentive probe still once per seed, its initialisation differing)."""
    count = len(evaluation.seeds)
    seeds = f"{count} draw{'s' if count != 1 else ''}"
    if evaluation.shots is not None or count == 1:
        return seeds
    if "attentive" in evaluation.probes:
        return f"attentive: {count} seeds, the others fitted once"
    return "each fitted once"


def _knn_k_problem(evaluation: EvalSpec, labels: torch.Tensor | None, count: int | None) -> str | None:
    """Why the knn probe cannot score, when its ``k`` reaches every labelled example it votes
    among (``labels``: the probe's train labels, or ``count`` of them): each test item would
    get the same vote, the commonest class's."""
    if evaluation.shots is not None and labels is not None:
        classes = len(labels.unique())
        count, counted = evaluation.shots * classes, f"eval.shots={evaluation.shots} of each of {classes} classes"
    elif evaluation.shots is None and count is not None:
        counted = "all of eval.train"
    else:
        return None
    if evaluation.knn_k < count:
        return None
    return (
        f"k={evaluation.knn_k} reaches all {count} labelled examples the knn probe votes among "
        f"({counted}), so every test item would get the same vote; set eval.knn_k below {count}"
    )


def _check_same_inputs(spec: RunSpec, states: Mapping[str, Any]) -> None:
    """eval.test's items must be the kind of input eval.train's are: series may differ in
    length (the first axis of an item), anything else (an image size) is another input."""
    assert spec.eval is not None
    train_state, test_state = states.get("eval.train"), states.get("eval.test")
    if (
        isinstance(train_state, torch.Tensor)
        and isinstance(test_state, torch.Tensor)
        and train_state.shape[2:] != test_state.shape[2:]
    ):
        raise SpecError(
            f"an item of eval.test holds {describe_state(_unbatched(test_state))} where eval.train's hold "
            f"{describe_state(_unbatched(train_state))}: the probes are fitted on one and scored on the other, "
            f"so set eval.test.params so that its items match{_params_hint(spec, spec.eval.test, 'eval.test')}",
            "eval.test",
        )


def _unlabelled(field: str, section: ComponentSpec | None = None) -> SpecError:
    """The probes need labels: name the dataset's parameters that read them, when it has some."""
    component = section.resolve() if section is not None else None
    where = f"jepa describe dataset {component.qualname}" if component else "jepa describe dataset NAME"
    fields = component.params_model.model_fields if component is not None else {}
    named = [f"{field}.params.{name}" for name in fields if "label" in name or name == "y_key"]
    which = f"set {' or '.join(named)}" if named else "give the dataset the parameter that serves (x, label) items"
    return SpecError(
        f"its items are not labelled, and the probes fit labels: {which} (`{where}` lists its parameters)",
        field,
    )


def _class_labels(dataset: Any) -> torch.Tensor | None:
    """The class index of every item, when the dataset holds them as ``labels``; None otherwise
    (they are then read when probing)."""
    labels = getattr(dataset, "labels", None)
    if labels is None or not isinstance(dataset, Sized):
        return None
    try:
        labels = torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError):
        return None
    if labels.dim() != 1 or len(labels) != len(dataset) or labels.is_floating_point() or labels.dtype == torch.bool:
        return None
    return labels


def _check_regression_data(dataset: Any, first_label: Any, field: str) -> None:
    """Refuse for the ridge probe a dataset of classes (one that lists its classes or
    counts them: its labels are class indices, whose numbers mean nothing as a target)
    and labels that are not finite numbers."""
    names, count = ev.class_names(dataset), getattr(dataset, "num_classes", None)
    if names is not None or isinstance(count, int):
        held = f"names {ev.shown_classes([repr(n) for n in names])}" if names is not None else f"{count} classes"
        raise SpecError(
            f"its labels are classes ({held}), not a real-valued target: the ridge probe would regress their "
            "index numbers; probe classes with linear, knn, svm or attentive, or give a dataset whose labels are "
            "real numbers",
            field,
        )
    ev.check_regression_targets(first_label, field, varied=False)


def _relabelled(features: _Features, alignment: torch.Tensor | None) -> _Features:
    """``features`` with its test labels in train's class numbering (:func:`~jepa_core.evaluation.class_alignment`)."""
    if alignment is None:
        return features
    test_x, test_y = features.test
    return replace(features, test=(test_x, alignment[test_y.long()]))


def _few_shot_draw(
    labels: torch.Tensor, shots: int, seed: int, class_names: Sequence[Any] | None = None
) -> torch.Tensor:
    """Indices of ``shots`` labelled examples per class (draw ``seed``), or the error that names eval.shots."""
    try:
        return ev.few_shot_split(labels, shots, torch.Generator().manual_seed(seed), class_names)[0]
    except ValueError as exc:
        raise SpecError(f"{exc}; lower eval.shots or give eval.train more data", "eval.shots") from None


def _unbatched(batch: Any) -> Any:
    """The one item of a batch of one, as the model's input (labels dropped), for a message."""
    state = masked_input(batch)
    if isinstance(state, torch.Tensor):
        return state[0]
    if isinstance(state, Mapping):
        return {key: value[0] if isinstance(value, torch.Tensor) else value for key, value in state.items()}
    return state


def _to_device(state: Any, model: Any) -> Any:
    device = getattr(model, "device", torch.device("cpu"))
    if isinstance(state, torch.Tensor):
        return state.to(device)
    if isinstance(state, Mapping):
        return {key: _to_device(value, model) for key, value in state.items()}
    return state


def _token_count_unset(spec: RunSpec) -> bool:
    """A masked model whose encoder takes ``num_tokens`` and was not given one."""
    if spec.model.masker is None:
        return False
    component = spec.model.encoder.resolve()
    return "num_tokens" in component.params_model.model_fields and spec.model.encoder.params.get("num_tokens") is None


def _fill_token_count(spec: RunSpec, data: Any, announce: bool) -> RunSpec:
    """Set ``model.encoder.params.num_tokens`` to the token count the encoder gives on
    the data's first batch, so a starter need not hard-code its data's length. Left
    as it is when the encoder does not give tokens (building then says what is wrong)."""
    params = dict(spec.model.encoder.params)
    encoder = spec.model.encoder.resolve().create(params, "model.encoder.params")
    if token_count(encoder) is not None:
        return spec  # the encoder fixed its own count from its other settings
    if len(data) == 0:
        raise SpecError("the dataset is empty (0 items); check the data section's file or size", "data")
    loader = torch.utils.data.DataLoader(data, batch_size=min(len(data), spec.train.batch_size))
    batch = next(iter(loader))
    if spec.model.masker is not None:
        refuse_paired_batch(batch)
    try:
        with torch.no_grad():
            tokens = encode_state(encoder.eval(), masked_input(batch))
    except (ValueError, RuntimeError, TypeError, KeyError, IndexError) as exc:
        raise data_error(encoder, batch, exc) from exc
    if tokens.dim() != 3:
        return spec
    params["num_tokens"] = int(tokens.shape[1])
    if announce:
        print(
            f"jepa: model.encoder.params.num_tokens: {params['num_tokens']} (measured on the data's first batch)",
            file=sys.stderr,
            flush=True,
        )
    encoder_spec = spec.model.encoder.model_copy(update={"params": params})
    return spec.model_copy(update={"model": spec.model.model_copy(update={"encoder": encoder_spec})})


def _run_json_has_eval(path: Path) -> bool:
    try:
        return bool(json.loads(path.read_text(encoding="utf-8")).get("eval"))
    except (OSError, ValueError, AttributeError):
        return False


def _check_results_path(output: str | os.PathLike[str]) -> None:
    """Refuse a results file that cannot be written: a directory, or a path through a file."""
    path, shown = Path(output), short_repr(str(output), 200)
    if not str(output):
        raise SpecError("the results file is named '': give a file, e.g. eval.json")
    if str(output).endswith(("/", os.sep)) or path.is_dir():
        raise SpecError(
            f"cannot write the results to {shown}: it names a directory; give a file, e.g. {path / 'eval.json'}"
        )
    blocked = blocked_by_file(path)
    if blocked is not None:
        raise SpecError(f"cannot write the results to {shown}: {blocked}")
    existing = next(parent for parent in path.parents if parent.exists())  # where the folders start
    if not os.access(existing, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write the results to {shown}: {str(existing)!r} is not writable")
    if existing == path.parent:  # a trial file: root passes os.access where the file system refuses (/proc)
        try:
            handle, trial = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".check", dir=existing)
        except OSError as exc:
            why = exc.strerror or str(exc)
            raise SpecError(
                f"cannot write the results to {shown}: {str(existing)!r} refuses a new file ({why})"
            ) from None
        os.close(handle)
        os.unlink(trial)


def _results_writer(path: Path) -> Callable[[Mapping[str, Any]], None]:
    def write(results: Mapping[str, Any]) -> None:
        atomic_write_bytes(path, (json.dumps(results, indent=2) + "\n").encode())

    return write


@dataclass
class _Features:
    """What one model (or the raw baseline) gives the probes, for the train and test sets."""

    train: tuple[torch.Tensor, torch.Tensor]  # pooled (N, D), labels
    test: tuple[torch.Tensor, torch.Tensor]
    tokens: tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None
    device: torch.device = torch.device("cpu")


class _EvalSetError(RuntimeError):
    """An error met while reading or embedding one eval set; its message names the set."""


def _error_message(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, _EvalSetError) else f"{type(exc).__name__}: {exc}"


def _in_eval_set(field: str, work: Callable[[], _T]) -> _T:
    """``work()``, with any error it raises re-raised under ``field`` ("eval.test: ...")."""
    try:
        return work()
    except Exception as exc:
        raise _EvalSetError(f"{field}: {_error_message(exc)}") from exc


def _probe_scores(features: _Features, spec: EvalSpec) -> tuple[dict[str, Any], dict[str, str]]:
    """Mean and spread over seeds of each probe, and the error of each probe that failed."""
    (train_x, train_y), (test_x, test_y) = features.train, features.test
    draws = []
    for seed in spec.seeds:
        if spec.shots is None:
            draws.append((seed, torch.arange(len(train_y))))
            continue
        draws.append((seed, _few_shot_draw(train_y, spec.shots, seed)))
    chosen_c: list[float] = []  # the svm's C of each draw
    chosen_alpha: list[float] = []  # the ridge's alpha of each draw

    def run(probe: str, seed: int, chosen: torch.Tensor) -> float:
        x, y = train_x[chosen], train_y[chosen]
        if probe == "linear":
            return ev.linear_probe(x, y, test_x, test_y, weight_decay=spec.weight_decay)
        if probe == "knn":
            problem = _knn_k_problem(spec, y, len(y))
            if problem:
                raise SpecError(problem, "eval.knn_k")
            return ev.knn_accuracy(x, y, test_x, test_y, k=spec.knn_k)
        if probe == "svm":
            accuracy, c = ev.svm_accuracy(x, y, test_x, test_y)
            chosen_c.append(c)
            return accuracy
        if probe == "ridge":
            r2, alpha = ev.ridge_probe(x, y, test_x, test_y)
            chosen_alpha.append(alpha)
            return r2
        assert features.tokens is not None
        (train_tokens, train_padding), (test_tokens, test_padding) = features.tokens
        settings = spec.attentive.model_dump()
        return ev.attentive_probe(
            train_tokens[chosen],
            y,
            test_tokens,
            test_y,
            train_padding=train_padding[chosen],
            test_padding=test_padding,
            seed=seed,
            device=features.device,
            **settings,
        )

    result: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for probe in spec.probes:
        if probe == "attentive" and features.tokens is None:
            continue  # the raw inputs have no token grid
        # without shots every seed fits these probes to the same examples, so the same fit: once
        repeated = spec.shots is None and probe != "attentive"
        try:
            values = [run(probe, seed, chosen) for seed, chosen in (draws[:1] if repeated else draws)]
        except Exception as exc:  # one probe failing leaves the others standing
            errors[probe] = _error_message(exc)
            continue
        result[probe] = statistics.fmean(values)
        if not repeated:
            result[f"{probe}_std"] = statistics.pstdev(values) if len(values) > 1 else 0.0
    if "svm" in result:
        result["svm_c"] = chosen_c
    if "ridge" in result:
        result["ridge_alpha"] = chosen_alpha
    return result, errors


def _embedded(model: Any, train_data: Any, test_data: Any, spec: EvalSpec) -> _Features:
    def labelled(labels: torch.Tensor | None, field: str) -> torch.Tensor:
        if labels is None:
            raise _unlabelled(field)
        return labels

    device = getattr(model, "device", torch.device("cpu"))
    sets = (("eval.train", train_data), ("eval.test", test_data))
    if "attentive" not in spec.probes:
        embed = functools.partial(
            ev.embed_dataset, model, batch_size=spec.batch_size, tokens=spec.features, window=spec.pool_window
        )
        (train_x, train_y), (test_x, test_y) = (_in_eval_set(f, functools.partial(embed, data)) for f, data in sets)
        return _Features(
            (train_x, labelled(train_y, "eval.train")), (test_x, labelled(test_y, "eval.test")), device=device
        )
    # one encoder pass gives both the token grid and (pooled from it) the vectors
    grids = [
        _in_eval_set(field, functools.partial(ev.embed_tokens, model, data, batch_size=spec.batch_size))
        for field, data in sets
    ]
    (train_t, train_p, train_y), (test_t, test_p, test_y) = grids
    return _Features(
        (ev.pool_tokens(train_t, train_p, spec.features, spec.pool_window), labelled(train_y, "eval.train")),
        (ev.pool_tokens(test_t, test_p, spec.features, spec.pool_window), labelled(test_y, "eval.test")),
        tokens=((train_t, train_p), (test_t, test_p)),
        device=device,
    )


def _raw(train_data: Any, test_data: Any) -> _Features:
    (train_x, train_y), (test_x, test_y) = ev.raw_features(train_data, test_data)
    if train_y is None or test_y is None:
        raise _unlabelled("eval.train" if train_y is None else "eval.test")
    return _Features((train_x, train_y), (test_x, test_y))


def _frame_average_model(spec: RunSpec, baseline_dir: Path | None, save: bool) -> Any:
    """The ``frame_average`` baseline's encoder: its image model trained on the frames of
    the run's training clips (or, when ``baseline_dir/frame_average`` holds one trained
    under the same spec, that one), wrapped to average each clip's frames."""
    assert spec.eval is not None and spec.eval.frame_average is not None
    settings = spec.eval.frame_average
    train = settings.train  # its seed: the run's unless set (RunSpec writes it in)
    frames = ev.ClipFrames(spec.data.resolve().create(spec.data.params, "data.params"), cache=settings.cache_clips)
    image_run = RunSpec(model=settings.model, data=spec.data, train=train)
    if _token_count_unset(image_run):
        image_run = _fill_token_count(image_run, frames, announce=False)
    record = {
        "frame_average_of": spec.data.to_dict(),
        "model": image_run.model.to_dict(),
        "train": image_run.train.model_dump(mode="json"),
        "cache_clips": settings.cache_clips,
    }
    where = baseline_dir / "frame_average" if baseline_dir is not None else None
    if where is not None and is_file(where / FINAL / CONFIG_NAME) and is_file(where / "run.json"):
        try:
            kept = json.loads((where / "run.json").read_text())
        except (OSError, ValueError):
            kept = None
        if kept == record:
            if distributed()[0] == 0:
                print(f"jepa: frame_average: the image model trained before, in {str(where)!r}", file=sys.stderr)
            return ev.FrameAverage(load(where / FINAL), batch_size=spec.eval.batch_size)
    if distributed()[0] == 0:
        print(
            f"jepa: frame_average: training its image model on the clips' frames ({train.steps} steps"
            + (f", in {str(where)!r})" if where is not None and save else ")"),
            file=sys.stderr,
            flush=True,
        )
    torch.manual_seed(train.seed)
    image_model = _build_model(image_run.model, "eval.frame_average.model")
    trainer = Trainer(
        image_model, frames, train, run_dir=where if save else None, run_spec=record, restart=where is not None and save
    )
    trainer.fit()
    return ev.FrameAverage(image_model, batch_size=spec.eval.batch_size)


def evaluate(
    model: Any,
    spec: RunSpec,
    *,
    on_update: Callable[[Mapping[str, Any]], None] | None = None,
    baseline_dir: str | os.PathLike[str] | None = None,
    save_baselines: bool = True,
    trained: bool = True,
) -> dict[str, Any]:
    """Probe accuracies of the trained model and of the baselines the eval section names.

    Returns ``{"jepa": scores, "random_init": scores, "raw": scores, "protocol": ...}``,
    scores being ``{probe: mean accuracy over eval.seeds, probe + "_std": spread}``
    (and ``"svm_c"``: the ``C`` the svm probe chose for each draw). Without
    ``eval.shots`` every seed would fit a probe other than the attentive one to the same
    examples, so each of those is fitted once and has no ``_std``.
    A model, baseline or probe that fails does not stop the others: its message goes
    to ``results["errors"]`` under its name (``"raw"``, ``"jepa/svm"``).
    ``on_update(results)`` is called after each model or baseline is scored (to save
    what is done so far). The ``frame_average`` baseline trains an image model; with a
    ``baseline_dir`` it is kept in ``baseline_dir/frame_average`` (when
    ``save_baselines``) and reused by a later evaluation with the same spec.
    ``trained=False`` (a model probed as its config builds it, e.g. from pretrained
    weights) is recorded in the protocol, and the table calls its row ``model``.
    """
    if spec.eval is None:
        raise SpecError(
            "this run config has no eval section (a run trained with --set eval=null keeps none): give one, "
            "from a config that has it (jepa eval RUN_DIR --config CONFIG) or with --set 'eval={train: ..., "
            "test: ...}'",
            "eval",
        )
    evaluation = spec.eval
    train_data = evaluation.train.resolve().create(evaluation.train.params, "eval.train.params")
    test_data = evaluation.test.resolve().create(evaluation.test.params, "eval.test.params")
    protocol: dict[str, Any] = {
        "shots": evaluation.shots,
        "seeds": evaluation.seeds,
        "probes": evaluation.probes,
        "features": evaluation.features,
        "baselines": evaluation.baselines,
        "train": evaluation.train.to_dict(),
        "test": evaluation.test.to_dict(),
    }
    if evaluation.pool_window is not None:
        protocol["pool_window"] = evaluation.pool_window
    if "knn" in evaluation.probes:  # the probes' own settings: two results differing in them are not alike
        protocol["knn_k"] = evaluation.knn_k
    if "linear" in evaluation.probes:
        protocol["weight_decay"] = evaluation.weight_decay
    if not trained:
        protocol["trained"] = False
    if "attentive" in evaluation.probes:
        protocol["attentive"] = evaluation.attentive.model_dump(mode="json")
    if "frame_average" in evaluation.baselines and evaluation.frame_average is not None:
        protocol["frame_average"] = _frame_average_dict(evaluation.frame_average)
    results: dict[str, Any] = {"protocol": protocol}
    errors: dict[str, str] = {}
    alignment = None if evaluation.probes == ["ridge"] else ev.class_alignment(train_data, test_data)

    def score(name: str, features: Callable[[], _Features]) -> None:
        try:
            scores, failed = _probe_scores(_relabelled(features(), alignment), evaluation)
        except Exception as exc:  # recorded, so that the other models are still scored
            errors[name] = _error_message(exc)
        else:
            results[name] = scores
            errors.update({f"{name}/{probe}": message for probe, message in failed.items()})
        if errors:
            results["errors"] = dict(errors)
        if on_update is not None:
            on_update(results)

    score("jepa", lambda: _embedded(model, train_data, test_data, evaluation))
    if "random_init" in evaluation.baselines:

        def random_init() -> _Features:
            torch.manual_seed(spec.train.seed + 1)
            # the architecture alone: an encoder that started from pretrained weights must
            # not bring them into the random-weight baseline
            architecture = getattr(model, "architecture_spec", None) or spec.model
            return _embedded(build_model(architecture).to(model.device), train_data, test_data, evaluation)

        score("random_init", random_init)
    if "raw" in evaluation.baselines:
        score("raw", lambda: _raw(train_data, test_data))
    if "frame_average" in evaluation.baselines:
        directory = Path(baseline_dir) if baseline_dir is not None else None

        def frame_average() -> _Features:
            encoder = _frame_average_model(spec, directory, save_baselines)
            return _embedded(encoder, train_data, test_data, evaluation)

        score("frame_average", frame_average)
    return results


def format_results(results: Mapping[str, Any]) -> str:
    """A small table: one row per model, one column per probe (mean ± std over
    seeds, the mean alone for one draw; ``-`` where a probe did not run), then the
    errors, if any."""
    errors: Mapping[str, str] = results.get("errors", {})
    probes = list(results.get("protocol", {}).get("probes", []))
    one_draw = len(results.get("protocol", {}).get("seeds", [0, 1])) == 1  # no spread to show
    if not probes:  # results written before the protocol listed its probes
        first: Mapping[str, Any] = next((results[name] for name in RESULT_ROWS if name in results), {})
        probes = [key for key, value in first.items() if not key.endswith("_std") and isinstance(value, float)]
    rows = [name for name in RESULT_ROWS if name in results or name in errors]
    trained_here = results.get("protocol", {}).get("trained", True)
    model = "the trained model" if trained_here else "the model"
    labels = {name: name if name != "jepa" or trained_here else "model" for name in rows}  # `jepa eval CONFIG`
    width = max([12, *(len(label) + 1 for label in labels.values())])
    headers = [f"{probe} R²" if probe == "ridge" else probe for probe in probes]  # the others: accuracy
    lines = [f"{'':<{width}}" + "".join(f"{header:>19}" for header in headers)]
    for name in rows:
        scores = results.get(name, {})
        cells = []
        for probe in probes:
            if probe in scores and (one_draw or f"{probe}_std" not in scores):  # no spread: one fit
                cells.append(f"{scores[probe]:>19.3f}")
            elif probe in scores:
                cells.append(f"{scores[probe]:>11.3f} ± {scores.get(probe + '_std', 0.0):.3f}")
            else:
                failed = name in errors or f"{name}/{probe}" in errors
                cells.append(f"{'failed' if failed else '-':>19}")
        lines.append(f"{labels[name]:<{width}}" + "".join(cells))
    trained = results.get("jepa", {})
    for name in (row for row in rows if row != "jepa"):  # a baseline the trained model does not beat: say so
        behind = [
            f"{probe} {results[name][probe]:.3f} vs {trained[probe]:.3f}"
            for probe in probes
            if probe in trained and probe in results.get(name, {}) and results[name][probe] >= trained[probe]
        ]
        if behind:
            lines.append(f"note: {name} probes at least as well as {model} ({'; '.join(behind)})")
    if not trained_here:
        lines.append("note: nothing was trained: model is the model as its config builds it")
        if "random_init" in rows:  # two untrained rows of one architecture: why their scores differ
            lines.append("note: random_init is that architecture with other random weights (train.seed + 1)")
    if errors:
        lines.append("errors:")
        lines.extend(f"  {name}: {message}" for name, message in errors.items())
    return "\n".join(lines)


def evaluate_path(
    path: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    output: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """``jepa eval``: a run directory (its run.json and final model), a saved model
    directory plus a run config whose ``eval`` section says how to probe it, or a run
    config file alone: the model as that config builds it, untrained (e.g. an encoder
    that starts from pretrained weights), probed as its ``eval`` section says.

    The results go to ``output`` when given (rewritten as each model is scored);
    otherwise to the run's ``eval.json`` only when the run is evaluated as it was
    configured, so that probing it another way never replaces its own results."""
    model: BaseModel  # built from the config (a JEPA), or loaded from a model directory
    path = Path(path)
    if output is not None:  # before the probes run, not after them: their results would be lost
        _check_results_path(output)
    if not is_file(path) and not is_dir(path):
        raise SpecError(
            f"{short_repr(str(path), 200)} does not exist; give a run directory (jepa train writes one), "
            "a run config, or a saved model directory with --config"
        )
    if is_file(path):
        if config is not None:
            raise SpecError(
                f"{short_repr(str(path), 200)} is a run config already; give --config only with a model directory"
            )
        given = read_spec_file(path)
        section = given.get("eval") if isinstance(given, dict) else None
        if isinstance(section, dict) and "train" in section and "data" not in given:
            # nothing trains here: the pretraining data would only give num_tokens, and eval.train can
            given = {**given, "data": section["train"]}
        spec = load_run_spec(given if isinstance(given, dict) and "data" in given else path, overrides)
        if _token_count_unset(spec):  # as jepa train measures it
            spec = _fill_token_count(spec, spec.data.resolve().create(spec.data.params, "data.params"), True)
        torch.manual_seed(spec.train.seed)  # the weights train_run would start from
        model = _build_model(spec.model, "model")
        check_eval_data(model, spec)
        writer = _results_writer(Path(output)) if output is not None else None
        return evaluate(model, spec, on_update=writer, trained=False)
    trained_only = [o for o in overrides if str(o).partition("=")[0].strip().split(".")[0] != "eval"]
    if trained_only:  # the model is loaded as trained: its model, data and train settings are history
        raise SpecError(
            f"--set {short_repr(str(trained_only[0]), 200)}: evaluating a saved model changes only its eval "
            "section (eval.KEY=...); the model was trained as it was. To probe a model as a config builds it, "
            "untrained, give the config itself: jepa eval CONFIG --set ...",
            str(trained_only[0]).partition("=")[0].strip(),
        )
    if config is not None:
        spec = load_run_spec(_around_the_trained_model(config, path), overrides)
    elif is_file(path / "run.json"):
        recorded = json.loads((path / "run.json").read_text())
        changes_eval = any(override.startswith("eval.") for override in overrides)
        if isinstance(recorded, dict) and recorded.get("eval") is None and changes_eval:
            raise SpecError(
                f"run {short_repr(str(path), 200)} keeps no eval section (its config had none, or it was trained "
                "with --set eval=null), so --set eval.KEY has nothing to change: give a whole one, from a config "
                "that has it (jepa eval RUN_DIR --config CONFIG) or with --set 'eval={train: ..., test: ...}'",
                "eval",
            )
        try:
            spec = load_run_spec(recorded, overrides)
        except SpecError as exc:  # e.g. a part's plugin not installed: its checkpoints say which
            raise with_saved_distributions(exc, path) from None
    elif is_dir(path / FINAL):  # trained from Python: jepa.Trainer writes run.json only given run_spec=
        raise SpecError(
            f"{short_repr(str(path), 200)} holds a trained model ({FINAL}/) but no run.json to take probes and data "
            f"from (jepa.Trainer writes one only when given run_spec=): give them in a config with an eval section "
            f"(that section alone will do), jepa eval {path} --config CONFIG"
        )
    else:
        raise SpecError(
            f"{short_repr(str(path), 200)} is not a run directory (no run.json); pass --config with an eval section"
        )
    if is_file(path / "run.json") and not is_dir(path / FINAL):
        checkpoints = sorted((path / "checkpoints").glob("step_*/model"))
        with_eval = _run_json_has_eval(path / "run.json")  # trained with eval=null: a config that has one
        config_hint = shlex.quote(str(path / "run.json")) if with_eval else "CONFIG (a run config with an eval section)"
        latest = (
            f", or probe its latest checkpoint as it is: jepa eval {shlex.quote(str(checkpoints[-1]))} "
            f"--config {config_hint}"
            if checkpoints
            else ""
        )
        raise SpecError(
            f"run {short_repr(str(path), 200)} has no final model yet: its training is running or stopped "
            f"before the last step; finish it with jepa train {shlex.quote(str(path / 'run.json'))} --run-dir "
            f"{shlex.quote(str(path))} --resume (run.json is its config as it ran), "
            f"then evaluate it{latest}"
        )
    model_dir = path / FINAL if is_dir(path / FINAL) else path
    model = load(model_dir)
    check_eval_data(model, spec)  # eval data the model cannot take: one message, not every probe failing
    as_configured = config is None and not overrides and is_file(path / "run.json")
    target = results_file(path, config, overrides, output)
    writer = _results_writer(target) if target is not None else None
    # a run directory keeps its frame_average baseline's image model: reused when the spec matches,
    # replaced only when the run is evaluated as it was configured
    run_directory = path if is_file(path / "run.json") else None
    return evaluate(model, spec, on_update=writer, baseline_dir=run_directory, save_baselines=as_configured)


def results_file(
    path: str | os.PathLike[str],
    config: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    output: str | os.PathLike[str] | None = None,
) -> Path | None:
    """Where :func:`evaluate_path` with these arguments writes its results: ``output``,
    else a run directory's ``eval.json`` when the run is evaluated as configured, else
    nowhere (``None``)."""
    if output is not None:
        return Path(output)
    path = Path(path)
    if config is None and not overrides and not is_file(path) and is_file(path / "run.json"):
        return path / "eval.json"
    return None


def template_names() -> list[str]:
    registry = get_registry()
    registry.ensure_loaded()
    return sorted(registry.templates)


def write_template(name: str, output: str | os.PathLike[str] | None = None, force: bool = False) -> Path:
    """``jepa init NAME``: write the starter config a plugin (or the core) provides."""
    registry = get_registry()
    registry.ensure_loaded()
    if name not in registry.templates:
        available = ", ".join(sorted(registry.templates)) or "none"
        message = f"no starter config named {short_repr(name)}; installed: {available}"
        close = difflib.get_close_matches(name, [*registry.templates, *STARTERS], n=1)
        if close and close[0] != name:
            message += f"; did you mean {close[0]!r}?"
        if name in STARTERS:  # a first-party plugin's starter: how to get that plugin
            distribution, extras = STARTERS[name]
            message += "; " + registry.install_hint(f"the {name!r} starter", distribution, extras)
        raise SpecError(message)
    path = Path(output) if output is not None else Path(f"{name}.yaml")
    shown = short_repr(str(path), 200)
    try:
        if path.exists() and not force:
            raise SpecError(f"{shown} exists; pass --force to overwrite it or --output another file")
        scope, text = registry.templates[name]
        try:
            load_run_spec(yaml.safe_load(text))  # a template that does not validate here: say whose it is
        except SpecError as exc:
            raise SpecError(
                f"the starter config {name!r} (from plugin {scope!r}) does not load here: {exc}; a component it "
                f"names may come with a plugin not installed here, or the starter is broken: tell its authors"
            ) from None
        atomic_write_bytes(path, text.encode())
    except (OSError, ValueError) as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"cannot write {shown}: {short_message(exc)}", "--output") from None
    return path


__all__ = ["AttentiveSpec", "EvalSpec", "FrameAverageSpec", "RunSpec", "evaluate", "load_run_spec", "train_run"]
