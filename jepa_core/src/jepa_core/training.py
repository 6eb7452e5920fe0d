"""Training a JEPA: :class:`Trainer` and its validated settings :class:`TrainSpec`.

What a long run needs, and nothing a user must wire by hand:

* AdamW with parameter groups (no weight decay on biases and norm weights), a
  learning rate that warms up linearly then follows a cosine, a cosine weight-decay
  schedule (I-JEPA: 0.04 -> 0.4), the EMA momentum schedule of the model's target,
  gradient clipping and accumulation, bf16/fp16 autocast, opt-in ``torch.compile``.
* A data order that is a pure function of (seed, epoch, position): a run that is
  interrupted and resumed sees the same batches, masks and dropout as one that
  was not, because the checkpoint carries the RNG state and the step.
* Checkpoints written atomically (``checkpoints/step_XXXXXXX/``: a loadable model
  plus ``trainer.pt`` with optimiser and RNG state, read back with
  ``weights_only=True``); a NaN/Inf loss stops the run and keeps the last good one.
* A run directory is never stranded: Ctrl-C finishes the current step, writes a
  checkpoint and says how to resume; a run that stopped before its first
  checkpoint is started over by simply running it again; ``restart=True``
  discards a run's checkpoints and starts over.
* Metrics as JSON lines every step (loss parts, lr, weight decay, momentum,
  encoder and predictor gradient norms, collapse signals, throughput), a progress
  line, optional TensorBoard, a PNG plot at the end (matplotlib, optional).
* Several processes through ``torchrun`` (DistributedDataParallel; gloo on CPU,
  NCCL on CUDA): each rank takes its slice of the same global batch, rank 0 logs
  and writes, metrics are averaged over ranks.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import pickle
import shutil
import signal
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sized
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import pydantic
import torch
import torch.distributed as dist
from pydantic import Field
from torch import nn

from jepa_core.devices import parse_device, resolve_device
from jepa_core.errors import CheckpointError, JEPAError, SpecError, TokenCountError, short_message, short_repr, warn
from jepa_core.limits import Seed
from jepa_core.model import JEPA, check_tokenizer, data_error, failing_part, leading_size, part_name
from jepa_core.persistence import CONFIG_NAME, atomic_write_bytes, atomic_write_dir, blocked_by_file, read_config
from jepa_core.plotting import plot_metrics
from jepa_core.validation import SpecModel, validate_spec

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]

CHECKPOINTS = "checkpoints"
FINAL = "final"
METRICS = "metrics.jsonl"
TRAINER_STATE = "trainer.pt"


# What a run writes into its directory; restarting a run removes these and nothing else.
RUN_ARTEFACTS = (CHECKPOINTS, FINAL, METRICS, "run.json", "eval.json", "training.png", "tensorboard")


class TrainingError(JEPAError):
    """Training cannot go on (a non-finite loss, a run directory that cannot be used)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped training after a whole step; ``checkpoint`` holds that step
    (None without a run directory). A :class:`KeyboardInterrupt`, not an
    ``Exception``: a loop that catches ``Exception`` around ``fit()`` still stops."""

    def __init__(self, message: str, step: int, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.step = step
        self.checkpoint = checkpoint


class TrainSpec(SpecModel):
    """Training settings (the ``train:`` section of a run config)."""

    steps: PositiveInt = Field(1000, description="optimiser steps to train for (the schedules span them)")
    batch_size: PositiveInt = Field(
        64, description="global batch size (all processes together); a DataLoader given as the data keeps its own"
    )
    lr: Positive = Field(1e-3, description="peak learning rate of AdamW, reached after the warmup")
    min_lr: NonNegative = Field(1e-6, description="learning rate at the last step (the cosine ends here)")
    warmup_steps: NonNegativeInt = Field(100, description="steps of linear warmup from 0 to lr; keep it below steps")
    weight_decay: NonNegative = Field(0.04, description="AdamW weight decay at the first step (weights, not biases)")
    final_weight_decay: NonNegative = Field(
        0.4, description="weight decay at the last step, reached on a cosine (I-JEPA's 0.04 -> 0.4)"
    )
    betas: tuple[Annotated[float, Field(ge=0, lt=1)], Annotated[float, Field(ge=0, lt=1)]] = Field(
        (0.9, 0.999), description="AdamW's betas"
    )
    grad_clip: Positive | None = Field(None, description="clip the gradients' global norm to this; null: no clipping")
    accumulate: PositiveInt = Field(
        1,
        description="micro-batches per optimiser step (batch_size is split over them: less memory; a loss "
        "that uses batch statistics, such as vicreg or sigreg, sees the smaller micro-batches)",
    )
    precision: Literal["fp32", "bf16", "fp16"] = Field(
        "fp32",
        description="autocast dtype of the forward pass: bf16 and fp16 also run on CPU (slowly); fp16 scales "
        "the loss on CUDA",
    )
    compile: bool = Field(
        False,
        description="torch.compile the encoder and predictor (slow first steps; masks whose sizes change "
        "from step to step cause recompiles, so measure it with `make bench` before relying on it)",
    )
    seed: Seed = Field(0, description="seeds the data order, masks and augmentations (and, in jepa train, the weights)")
    device: str = Field("auto", description="'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    checkpoint_every: NonNegativeInt = Field(0, description="steps between checkpoints; 0: only at the end")
    keep_checkpoints: PositiveInt | None = Field(
        None,
        description="keep the latest N checkpoints, deleting older ones after each save (each holds the model "
        "and the optimiser state); null: keep every one",
    )
    num_workers: Annotated[
        int,
        Field(
            ge=0,
            le=1024,
            description="data-loading processes (a DataLoader given as the data keeps its own, and its own "
            "batch size). A dataset that draws from torch's global generator on access (the timeseries "
            "crop) draws other values with another worker count; image and video datasets draw per item "
            "and do not",
        ),
    ] = 0
    progress: bool = Field(True, description="show a progress bar on stderr")
    tensorboard: bool = Field(
        False, description="also log the metrics for TensorBoard (in run_dir/tensorboard; needs jepa-core[tensorboard])"
    )
    plot: bool = Field(True, description="draw training.png (loss, spread, RankMe) at the end (needs matplotlib)")
    collapse_rankme: NonNegative = Field(
        1.5,
        description="warn when the context embeddings' RankMe falls below this after warmup; not checked when "
        "a micro-batch is too small to exceed it (RankMe is centred: at most the micro-batch size - 1)",
    )

    @pydantic.field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        # only the spelling here: whether this machine has the device is asked when training
        # starts, so a config written for a GPU machine still loads (and evaluates) elsewhere
        try:
            if value.strip() != "auto":
                parse_device(value)
        except SpecError as exc:
            raise ValueError(exc.issues[0][1]) from None
        return value


# -- distributed helpers --------------------------------------------------------------


def distributed(device: str = "auto") -> tuple[int, int]:
    """``(rank, world_size)``; initialises the process group under torchrun, for the
    run's ``device`` (``train.device``): NCCL reduces CUDA tensors only, so a run on
    the CPU takes gloo even on a machine with CUDA."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    if not dist.is_initialized():
        backend = "nccl" if resolve_device(device, "train.device").type == "cuda" else "gloo"
        dist.init_process_group(backend)
        atexit.register(_close_process_group)
    return dist.get_rank(), dist.get_world_size()


#: how long a process leaving a gloo group waits for the others before it tears down anyway
CLOSE_WAIT = timedelta(seconds=30)


def _close_process_group() -> None:
    """Take down the process group this module started before the interpreter exits:
    left to interpreter shutdown, gloo's threads can be destroyed while still running
    and abort the process ("terminate called without an active exception"), after a
    run that succeeded. Under gloo every process first waits for the others (at most
    ``CLOSE_WAIT``), so none tears down while another is still working: the likely
    cause of the rare aborts at exit seen in the tests' two-process runs."""
    if not dist.is_initialized():
        return
    if dist.get_backend() == "gloo":
        # a process that failed or left already has its own error out: close without it
        with contextlib.suppress(RuntimeError):
            dist.monitored_barrier(timeout=CLOSE_WAIT)
    dist.destroy_process_group()


def _is_main(rank: int) -> bool:
    return rank == 0


# -- data order -------------------------------------------------------------------------


class BatchOrder(torch.utils.data.Sampler):
    """Index lists for one epoch of one rank, from ``position`` (a global batch count) on.

    The epoch's permutation depends only on ``seed`` and ``epoch``; global batch ``i``
    is ``perm[i*G:(i+1)*G]`` with ``G = local_batch * world``, and rank ``r`` takes the
    ``r``-th slice of it, so N processes see exactly the batches one process would.
    """

    def __init__(
        self, size: int, local_batch: int, world: int, rank: int, seed: int, epoch: int, position: int = 0
    ) -> None:
        self.size, self.local_batch, self.world, self.rank = size, local_batch, world, rank
        self.seed, self.epoch, self.position = seed, epoch, position
        self.batches = size // (local_batch * world)

    def __len__(self) -> int:
        return self.batches - self.position

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
        order = torch.randperm(self.size, generator=generator)
        global_batch = self.local_batch * self.world
        for i in range(self.position, self.batches):
            start = i * global_batch + self.rank * self.local_batch
            yield order[start : start + self.local_batch].tolist()


class _StepModule(nn.Module):
    """Lets DistributedDataParallel see ``JEPA.step`` as a forward (its gradient sync hooks)."""

    def __init__(self, model: JEPA) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self.model.step(batch)
        return out.loss, out.metrics


# -- schedules ------------------------------------------------------------------------------


def cosine(start: float, end: float, progress: float) -> float:
    progress = min(max(progress, 0.0), 1.0)
    return end + (start - end) * 0.5 * (1.0 + math.cos(math.pi * progress))


def learning_rate(spec: TrainSpec, step: int) -> float:
    """Linear warmup to ``lr`` over ``warmup_steps``, then cosine to ``min_lr``."""
    if step < spec.warmup_steps:
        return spec.lr * (step + 1) / spec.warmup_steps
    span = max(spec.steps - spec.warmup_steps, 1)
    return cosine(spec.lr, spec.min_lr, (step - spec.warmup_steps) / span)


#: a context spread (``context_std``) that falls to under 1/SPREAD_DROP of its value at the
#: first step is reported as collapse (healthy runs of the starters grow or keep theirs)
SPREAD_DROP = 10


def _reading_error(exc: BaseException) -> str:
    """What went wrong reading data, on one line: a loader worker's error carries its whole
    traceback in the message, whose last line is the dataset's own error."""
    text = str(exc)
    if "Original Traceback" in text and text.strip():
        return short_message(RuntimeError(text.strip().splitlines()[-1]))
    return short_message(exc)


def weight_decay(spec: TrainSpec, step: int) -> float:
    """Cosine from ``weight_decay`` to ``final_weight_decay`` over the run (I-JEPA)."""
    return cosine(spec.weight_decay, spec.final_weight_decay, step / max(spec.steps - 1, 1))


def parameter_groups(model: nn.Module) -> list[dict[str, Any]]:
    """Weights decay; biases, norm weights and other 1-D parameters do not."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for parameter in model.parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim <= 1 else decay).append(parameter)
    return [{"params": decay, "apply_decay": True}, {"params": no_decay, "apply_decay": False, "weight_decay": 0.0}]


def _grad_norm(module: nn.Module) -> torch.Tensor:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


# -- the trainer ------------------------------------------------------------------------------


class Trainer:
    """Train a :class:`~jepa_core.model.JEPA` on a dataset.

    Args:
        model: the model to train (moved to ``spec.device``).
        data: a map-style ``Dataset`` of items, or a list, tuple, tensor or array of
            items, as a ``DataLoader`` takes them (the trainer batches them and owns the
            data order, so resuming is exact and several processes split each global
            batch); or a ``DataLoader`` (or another iterable of ready batches with a
            length), used as it is, epoch after epoch.
        spec: a :class:`TrainSpec` or dict.
        run_dir: where metrics, checkpoints and the final model go; None keeps
            nothing on disk (metrics are still returned by :meth:`fit`).
        run_spec: the full run description to store as ``run.json`` in ``run_dir``.
        resume: continue from the latest checkpoint in ``run_dir`` (with none there,
            start at step 0).
        restart: discard the run in ``run_dir`` (its checkpoints, final model,
            metrics) and start over. Without ``resume`` or ``restart``, a run
            directory holding a checkpoint is refused; one whose run stopped before
            its first checkpoint is started over.
    """

    def __init__(
        self,
        model: JEPA,
        data: Any,
        spec: TrainSpec | Mapping[str, Any] | None = None,
        *,
        run_dir: str | os.PathLike[str] | None = None,
        run_spec: Mapping[str, Any] | None = None,
        resume: bool = False,
        restart: bool = False,
    ) -> None:
        if resume and restart:
            raise SpecError("resume and restart exclude each other: resume continues the run, restart discards it")
        if isinstance(model, JEPA):  # loaded without its masker or loss (a plugin not installed here)?
            model._check_trainable()
        misplaced = (
            sorted({"run_dir", "run_spec", "resume", "restart"} & set(spec or {})) if isinstance(spec, Mapping) else []
        )
        if spec is not None and not isinstance(spec, (TrainSpec, Mapping)):
            raise SpecError(
                f"jepa.Trainer's settings (its third argument) are a dict or a jepa.TrainSpec, not "
                f"{type(spec).__name__} {short_repr(spec)}: e.g. jepa.Trainer(model, data, {{'steps': 1000, "
                "'batch_size': 64})",
                "train",
            )
        if misplaced:
            raise SpecError(
                f"{misplaced[0]} is an argument of jepa.Trainer ({misplaced[0]}=...), not a training setting; "
                "pass it beside the settings",
                f"train.{misplaced[0]}",
            )
        self.spec = (
            spec
            if isinstance(spec, TrainSpec)
            else validate_spec(TrainSpec.model_validate, dict(spec or {}), "train", TrainSpec)
        )
        self.rank, self.world = distributed(self.spec.device)
        if not _is_map_style(data):  # a loader's batches are what each process trains on: batch_size does not split
            loader_batch = getattr(data, "batch_size", None)
            self.local_batch = loader_batch or max(1, self.spec.batch_size // (self.world * self.spec.accumulate))
        elif self.spec.batch_size % (self.world * self.spec.accumulate):
            trained_with = _trained_processes(run_dir) if resume else None
            hint = (
                f"; the run in {str(run_dir)!r} was trained with {trained_with} process(es) and its batch_size "
                f"cannot change on resume: resume it with {trained_with} (torchrun --nproc_per_node={trained_with})"
                if trained_with is not None and trained_with != self.world
                else f"; make it a multiple of {self.world * self.spec.accumulate}, or change train.accumulate"
                if self.spec.accumulate > 1
                else f"; make it a multiple of {self.world}"
            )
            raise SpecError(
                f"batch_size {self.spec.batch_size} must divide evenly over {self.world} processes x "
                f"{self.spec.accumulate} accumulation steps{hint}",
                "train.batch_size",
            )
        else:
            self.local_batch = self.spec.batch_size // (self.world * self.spec.accumulate)
        self.device = self._device()
        # one random stream per process (masks, dropout), each repeatable: processes with one
        # stream would draw the same masks for their slices of every batch
        torch.manual_seed(self.spec.seed + self.rank)
        self.model = model.to(self.device)
        self.data = data
        if self.world > 1 and _is_main(self.rank) and not _split_across_processes(data):
            warn(
                f"the data is a DataLoader without a DistributedSampler, used as it is in each of the {self.world} "
                f"processes: each one reads all of it, so an epoch reads every item {self.world} times; give "
                "jepa.Trainer the dataset instead (it splits each global batch over the processes) or build the "
                "DataLoader with a torch.utils.data.DistributedSampler"
            )
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.run_spec = dict(run_spec) if run_spec is not None else None
        self.step = 0
        self.history: list[dict[str, float]] = []
        self._warned: set[str] = set()
        self._first_spread: float | None = None  # context_std at this process's first step
        self._stop_requested = False  # Ctrl-C: stop after the current step
        self._last_batches: list[Any] = []  # the step's micro-batches, kept until the next step
        self._epoch_rng: torch.Tensor | None = None  # the random stream as a DataLoader's epoch began
        self.optimizer = torch.optim.AdamW(
            parameter_groups(self.model),
            lr=self.spec.lr,
            betas=self.spec.betas,
            weight_decay=self.spec.weight_decay,
            fused=self.device.type in ("cpu", "cuda"),  # one kernel for all parameters: 3.6x faster on CPU too
        )
        self.scaler = (
            torch.amp.GradScaler("cuda") if self.spec.precision == "fp16" and self.device.type == "cuda" else None
        )
        if self.spec.compile:
            self.model.encoder.compile()
            self.model.predictor.compile()
        self.step_module: nn.Module = _StepModule(self.model)
        if self.world > 1:
            device_ids = [self.device.index] if self.device.type == "cuda" else None
            self.step_module = nn.parallel.DistributedDataParallel(self.step_module, device_ids=device_ids)
        self._check_first_batch()
        if self.run_dir is not None and isinstance(self.model, JEPA):
            _ = self.model.spec  # a part no checkpoint could describe fails now, not at the first save
        if self.run_dir is not None and _is_main(self.rank):
            self._prepare_run_dir(resume, restart)
        if resume:
            self._check_resumed_spec()
            self._resume()
            if self.run_dir is not None and _is_main(self.rank):
                # the run goes on under the spec given now (e.g. more train.steps): run.json records that one
                self._write_run_spec()
        # after every refusal above: a warning about a run that will not start is noise
        if self.spec.warmup_steps >= self.spec.steps and _is_main(self.rank):
            warn(
                f"train.warmup_steps ({self.spec.warmup_steps}) is not below train.steps ({self.spec.steps}): the "
                f"learning rate never reaches train.lr ({self.spec.lr:g}); set train.warmup_steps lower "
                f"(e.g. {max(self.spec.steps // 10, 0)})"
            )

    # -- set-up -------------------------------------------------------------------------
    def _device(self) -> torch.device:
        device = resolve_device(self.spec.device, "train.device")
        if device.type == "cuda" and self.world > 1:
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        return device

    def _check_first_batch(self) -> None:
        """Run one forward on a real batch so a shape mismatch fails before anything is written."""
        if self._owns_order() or not hasattr(self.data, "__len__"):
            # an empty dataset, one smaller than a batch, or a generator: a SpecError saying what to give
            self.batches_per_epoch()
        check_tokenizer(
            getattr(self.model, "encoder", None), self.data, "data.params.tokenizer" if self.run_spec else "data"
        )
        if not (self._owns_order() or isinstance(self.data, torch.utils.data.DataLoader)):
            return  # a one-shot iterable: do not consume a batch
        try:
            batch = next(iter(self._batches(0, 0)), None)
        except SpecError:
            raise
        except Exception as exc:  # a file that cannot be read: before anything is written
            raise SpecError(f"cannot read the first batch: {_reading_error(exc)}", "data") from exc
        if batch is None:
            raise SpecError("the data gives no batch at all; check the dataset and train.batch_size", "data")
        rng = torch.get_rng_state()  # the check must not shift the run's random stream
        one_item = leading_size(batch, self.local_batch) == 1
        with warnings.catch_warnings():
            if one_item:  # torch warns of a spread over one item before the error below says what to change
                warnings.simplefilter("ignore")
            try:
                with torch.no_grad(), self._autocast():
                    out = self.model.step(batch, collapse_metrics=False)
            except TokenCountError as exc:
                if self.run_spec is None:
                    raise
                raise exc.in_run_config() from None
            except SpecError as exc:
                if exc.path.split(".")[0] not in ("masker", "loss") or self.run_spec is None:
                    raise
                raise exc.prefixed("model") from None  # where the run config names it
            except (ValueError, RuntimeError, TypeError, KeyError, IndexError, AttributeError) as exc:
                role, name = failing_part(self.model, exc) or ("", "")
                if role in ("masker", "loss"):  # the encoder took the batch: the part's own code failed
                    raise SpecError(
                        f"{role} {name} failed on the first batch: {type(exc).__name__}: {short_message(exc)}",
                        f"model.{role}" if self.run_spec is not None else role,
                    ) from exc
                raise data_error(self.model.encoder, batch, exc) from exc
            finally:
                torch.set_rng_state(rng)
        loss = float(out.loss.detach().float())
        if not math.isfinite(loss):
            if _holds_non_finite(batch):
                raise TrainingError(
                    f"the loss is {loss} on the first batch, before any training step: the batch holds NaN or Inf "
                    "values; clean the data (or mark missing values the way the dataset documents)"
                )
            if one_item:  # a spread over one item is no number
                where = (
                    f"train.batch_size {self.spec.batch_size} over {self.world} process(es) x "
                    f"{self.spec.accumulate} accumulation step(s); raise train.batch_size or lower train.accumulate"
                    if self._owns_order()
                    else "the DataLoader's batch_size; give it a larger one"
                )
                raise TrainingError(
                    f"the loss is {loss} on the first batch, a micro-batch of 1 item: loss "
                    f"{part_name(self.model.criterion)} or the model's batch statistics need two or more ({where})"
                )
            raise TrainingError(
                f"the loss is {loss} on the first batch, before any training step, though the batch is finite: "
                f"the encoder, the predictor or loss {part_name(self.model.criterion)} gives NaN/Inf on finite "
                "inputs (check the forward of any component you wrote or configured unusually)"
            )

    def _prepare_run_dir(self, resume: bool, restart: bool = False) -> None:
        run_dir = self.run_dir
        assert run_dir is not None
        try:
            checkpoint = self.latest_checkpoint()
            finished = (run_dir / FINAL / CONFIG_NAME).is_file()
            leftovers = [name for name in RUN_ARTEFACTS if (run_dir / name).exists()]
        except (OSError, ValueError) as exc:  # a name too long for the file system, a NUL byte
            raise TrainingError(f"cannot use run directory {short_repr(str(run_dir), 200)}: {exc}") from None
        if restart:
            if leftovers:
                _note(f"--restart: discarding the run in {str(run_dir)!r} ({', '.join(leftovers)})")
                clear_run(run_dir)
        elif checkpoint is not None or finished:
            if not resume:
                what = f"a checkpoint at step {_step_of(checkpoint)}" if checkpoint is not None else "a finished model"
                raise TrainingError(
                    f"run directory {str(run_dir)!r} already holds a run ({what}); pass --resume (resume=True) to "
                    "continue it, --restart (restart=True) to discard it and start over, or choose another run "
                    "directory"
                )
        elif leftovers:
            # it stopped before its first checkpoint: nothing to continue, nothing worth keeping
            if not resume:  # (with resume, _resume says it starts at step 0)
                _note(
                    f"run directory {str(run_dir)!r} holds a run that stopped before its first checkpoint "
                    f"({', '.join(leftovers)}); starting it over"
                )
            clear_run(run_dir)
        if run_dir.exists() and not run_dir.is_dir():
            raise TrainingError(
                f"run directory {str(run_dir)!r} is a file; give the run a directory (run_dir, or --run-dir) of its own"
            )
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            probe = run_dir / ".write-test"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            reason = blocked_by_file(run_dir) or exc.strerror or exc
            raise TrainingError(f"cannot write to run directory {str(run_dir)!r}: {reason}") from None
        if not (resume and checkpoint is not None):  # a resumed run rewrites it once its checkpoint has loaded
            self._write_run_spec()

    def _check_resumed_spec(self) -> None:
        """A resumed run goes on as it was set up: refuse a set-up that changes anything
        but the settings in ``RESUMABLE`` from the run's (its ``run.json``, or from Python
        the checkpoint's model spec and training settings)."""
        checkpoint = self.latest_checkpoint() if self.run_dir is not None else None
        if self.run_dir is None or checkpoint is None:
            return
        try:
            state = torch.load(checkpoint / TRAINER_STATE, map_location="cpu", weights_only=True)
            if self.run_spec is not None:
                saved = json.loads((self.run_dir / "run.json").read_text(encoding="utf-8"))
                given = self.run_spec
            else:
                saved = {"model": read_config(checkpoint / "model")["spec"], "train": state.get("train")}
                given = {"model": self.model.spec.to_dict(), "train": self.spec.model_dump(mode="json")}
                if saved["train"] is None:  # written before checkpoints kept their settings
                    saved.pop("train"), given.pop("train")
        except Exception:  # none or unreadable: loading the checkpoint next says what is wrong
            return
        changed = [
            (key, old, new)
            for key, old, new in differences(saved, given)
            if not any(key == allowed or key.startswith(allowed + ".") for allowed in RESUMABLE)
        ]
        if changed:
            listed = "; ".join(f"{key}: {short_repr(old)} -> {short_repr(new)}" for key, old, new in changed[:4])
            more = f" (and {len(changed) - 4} more)" if len(changed) > 4 else ""
            how = "--restart" if self.run_spec is not None else "restart=True"
            raise TrainingError(
                f"cannot resume the run in {str(self.run_dir)!r} with another set-up ({listed}{more}): a resumed "
                "run goes on as it was trained, and only train.steps, how it is watched and saved, where it runs "
                f"(device, num_workers, compile) and the eval section may change; undo these changes, or {how}, "
                "or choose another run directory"
            )
        trained_on, items = state.get("data_items"), _item_count(self.data)
        if trained_on is not None and items is not None and trained_on != items:
            how = "--restart" if self.run_spec is not None else "restart=True"
            raise TrainingError(
                f"cannot resume the run in {str(self.run_dir)!r} with other data: it holds {items} items, the run "
                f"was trained on {trained_on}; a resumed run goes on with the data it was trained on. Give it that "
                f"data, or {how}, or choose another run directory"
            )
        reached = _step_of(checkpoint)
        if self.spec.steps < reached:
            raise TrainingError(
                f"train.steps={self.spec.steps} is below the step the run in {str(self.run_dir)!r} has reached "
                f"({reached}); give at least that many to resume it"
            )

    def _write_run_spec(self) -> None:
        if self.run_spec is not None and self.run_dir is not None:
            atomic_write_bytes(self.run_dir / "run.json", (json.dumps(self.run_spec, indent=2) + "\n").encode())

    def _autocast(self):
        if self.spec.precision == "fp32":
            return torch.autocast(self.device.type, enabled=False)
        dtype = torch.bfloat16 if self.spec.precision == "bf16" else torch.float16
        return torch.autocast(self.device.type, dtype=dtype)

    # -- data ------------------------------------------------------------------------------
    def _owns_order(self) -> bool:
        return _is_map_style(self.data)

    def batches_per_epoch(self) -> int:
        if self._owns_order():
            if len(self.data) == 0:
                where = "the data section's file or size" if self.run_spec is not None else "what you passed as data"
                raise SpecError(f"the dataset is empty (0 items); check {where}", "data")
            count = len(self.data) // (self.local_batch * self.world)
            if count == 0:
                raise SpecError(
                    f"the dataset has {len(self.data)} items, fewer than one global micro-batch of "
                    f"{self.local_batch * self.world}; lower train.batch_size (now {self.spec.batch_size}) "
                    "or give it more data",
                    "train.batch_size",
                )
            return count
        if not hasattr(self.data, "__len__"):
            raise SpecError(
                f"the data is a {type(self.data).__name__}, which has no length, so the trainer cannot plan its "
                "epochs; give a Dataset or a list of items (the trainer batches them), or a DataLoader",
                "data",
            )
        count = len(self.data)
        if count == 0:
            raise SpecError("the data yields no batches (its length is 0); check the data section", "data")
        return count

    def _batches(self, epoch: int, position: int) -> Iterator[Any]:
        for part in _epoch_aware_parts(self.data):
            part.set_epoch(epoch)  # fresh augmentations / sampler order per epoch, repeatable on resume
        if not self._owns_order():
            # A DataLoader draws its shuffle order and its workers' seeds from the global
            # random stream as an epoch begins: an epoch resumed part-way replays them from
            # the stream the epoch began with, then goes on with the checkpoint's.
            now = torch.get_rng_state()
            replay = self._epoch_rng if position > 0 else None
            if replay is not None:
                torch.set_rng_state(replay)
            else:
                self._epoch_rng = now
            iterator = iter(self.data)
            for _ in range(position):
                next(iterator)
            if replay is not None:
                torch.set_rng_state(now)
            yield from iterator
            return
        # Workers draw (a random crop, say) from their own random streams, seeded as the epoch
        # begins and advanced by each batch they load, and batch i goes to worker i % workers:
        # an epoch resumed part-way loads its earlier batches again and drops them, so each
        # worker meets the batches it would have. (In-process, the checkpoint holds the stream.)
        skip = position if self.spec.num_workers > 0 else 0
        order = BatchOrder(
            len(self.data), self.local_batch, self.world, self.rank, self.spec.seed, epoch, position - skip
        )
        loader = torch.utils.data.DataLoader(
            self.data,
            batch_sampler=order,
            num_workers=self.spec.num_workers,
            generator=torch.Generator().manual_seed(self.spec.seed + epoch),  # leaves the global RNG alone
            pin_memory=self.device.type == "cuda",
        )
        batches = iter(loader)
        for _ in range(skip):
            next(batches)
        yield from batches

    def _micro_batches(self, start_micro: int) -> Iterator[Any]:
        per_epoch = self.batches_per_epoch()
        epoch, position = divmod(start_micro, per_epoch)
        while True:
            yield from self._batches(epoch, position)
            epoch, position = epoch + 1, 0

    # -- training ----------------------------------------------------------------------------
    def fit(self, max_steps: int | None = None) -> list[dict[str, float]]:
        """Train until ``spec.steps`` (or ``max_steps``, for a run done in stages);
        returns the metrics of every step done in this call."""
        stop = min(self.spec.steps, max_steps) if max_steps is not None else self.spec.steps
        micro = self._micro_batches(self.step * self.spec.accumulate)
        writer = self._tensorboard()
        self.model.train()
        done: list[dict[str, float]] = []
        started = time.perf_counter()
        with _StopOnCtrlC(self):
            while self.step < stop:
                tick = time.perf_counter()
                metrics = self._train_step(micro)
                stop_now = bool(metrics.pop("_stop", 0.0))  # any rank's Ctrl-C, agreed by all ranks
                metrics["seconds"] = time.perf_counter() - tick
                # the items this step read (a DataLoader's batches need not be train.batch_size)
                samples = sum(leading_size(batch, self.local_batch) for batch in self._last_batches) * self.world
                metrics["samples_per_second"] = samples / max(metrics["seconds"], 1e-9)
                self.step += 1
                metrics = {"step": self.step, **metrics}
                if not math.isfinite(metrics["loss"]):
                    self._stop_on_non_finite(metrics)
                done.append(metrics)
                self.history.append(metrics)
                if _is_main(self.rank):
                    self._log(metrics, writer, started, stop)
                    self._watch_collapse(metrics)
                if stop_now and self.step < stop:
                    self._stop_on_interrupt(writer)
                if self.spec.checkpoint_every and self.step % self.spec.checkpoint_every == 0 and self.step < stop:
                    self.save_checkpoint()
        if self.spec.progress and _is_main(self.rank) and sys.stderr.isatty():
            print(file=sys.stderr)
        if self.step >= self.spec.steps or max_steps is not None:
            self.save_checkpoint()
        if self.step >= self.spec.steps:
            self._finish()
        if writer is not None:
            writer.close()
        return done

    def _train_step(self, micro: Iterator[Any]) -> dict[str, float]:
        lr, wd = learning_rate(self.spec, self.step), weight_decay(self.spec, self.step)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
            if group.get("apply_decay"):
                group["weight_decay"] = wd
        totals: dict[str, torch.Tensor] = {}
        self._last_batches = []  # this step's micro-batches, for a NaN's report
        for index in range(self.spec.accumulate):
            try:
                batch = next(micro)
            except Exception as exc:  # a file that cannot be read, in the dataset or a loader worker
                raise TrainingError(
                    f"data: reading a batch for step {self.step + 1} failed: {_reading_error(exc)}"
                    f"{self._where_to_go_on()}"
                ) from exc
            self._last_batches.append(batch)
            last = index == self.spec.accumulate - 1
            sync = getattr(self.step_module, "no_sync", None)
            context = sync() if (sync is not None and not last) else _null_context()
            with context:
                with self._autocast():
                    loss, metrics = self.step_module(batch)
                if not loss.requires_grad:
                    raise TrainingError(
                        f"loss {part_name(self.model.criterion)} gave a value with no gradient (computed from "
                        "detached tensors or under torch.no_grad); a loss must be differentiable in the prediction"
                    )
                scaled = loss / self.spec.accumulate
                (self.scaler.scale(scaled) if self.scaler is not None else scaled).backward()
            for name, value in metrics.items():
                totals[name] = totals.get(name, 0.0) + value.detach().float() / self.spec.accumulate
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        encoder_norm = _grad_norm(self.model.encoder)
        predictor_norm = _grad_norm(self.model.predictor)
        if self.spec.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], self.spec.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        momentum = self.model.update_target(progress=(self.step + 1) / self.spec.steps)
        stop = torch.tensor(float(self._stop_requested), device=self.device)
        values = torch.stack([*totals.values(), encoder_norm.to(self.device), predictor_norm.to(self.device), stop])
        if self.world > 1:
            dist.all_reduce(values)
            values /= self.world
        numbers = values.tolist()  # one host sync per step
        result = dict(zip([*totals, "grad_norm_encoder", "grad_norm_predictor", "_stop"], numbers, strict=True))
        result.update({"lr": lr, "weight_decay": wd})
        if momentum is not None:
            result["momentum"] = momentum
        return result

    def _where_to_go_on(self) -> str:
        last = self.latest_checkpoint()
        if last is not None:
            return f"; the last good checkpoint is {str(last)!r} (--resume continues from it)"
        return "; no checkpoint was written (running it again starts over)"

    def _stop_on_non_finite(self, metrics: dict[str, float]) -> None:
        where = self._where_to_go_on()
        if _holds_non_finite(self._last_batches):
            raise TrainingError(
                f"the loss became {metrics['loss']} at step {metrics['step']}{where}: that step's batch holds NaN "
                "or Inf values; clean the data (or mark missing values the way the dataset documents)"
            )
        first = (
            " (the first step: the loss is computed before any weight update, so check the data first)"
            if metrics["step"] == 1
            else ""
        )
        raise TrainingError(
            f"the loss became {metrics['loss']} at step {metrics['step']}{where}. What to try{first}: check the "
            f"data for NaN/Inf values{self._non_finite_hints()}"
        )

    def _non_finite_hints(self) -> str:
        """The settings that tame a diverging loss, with their values in this run."""
        hints = [f"lower train.lr (now {self.spec.lr:g})"]
        if self.spec.grad_clip is None:
            hints.append("set train.grad_clip (e.g. 1.0)")
        else:
            hints.append(f"lower train.grad_clip (now {self.spec.grad_clip:g})")
        if self.spec.precision == "fp16":
            hints.append("use train.precision bf16 or fp32 (now fp16)")
        return "; " + ", ".join(hints)

    def _stop_on_interrupt(self, writer: Any) -> None:
        path = self.save_checkpoint()
        if writer is not None:
            writer.close()
        where = f"; checkpoint saved in {str(path)!r}" if path is not None else ""
        raise TrainingInterrupted(f"interrupted at step {self.step} of {self.spec.steps}{where}", self.step, path)

    def _watch_collapse(self, metrics: dict[str, float]) -> None:
        # the step's smallest micro-batch: a loader's short last batch of 2 is a line whatever the model
        batch = min((leading_size(part, self.local_batch) for part in self._last_batches), default=self.local_batch)
        spread = metrics.get("context_std")
        if spread is not None:
            # RankMe is centred and scale-free: embeddings shrinking towards one point keep their
            # rank, so a spread fallen to a tenth of where it started is the other signal
            if self._first_spread is None:
                self._first_spread = spread
            start = self._first_spread
            if (
                spread < start / SPREAD_DROP
                and self.step > self.spec.warmup_steps
                and batch > 2
                and "spread" not in self._warned
            ):
                self._warned.add("spread")
                warn(
                    f"step {self.step}: context embeddings are shrinking towards one point (their spread, "
                    f"context_std, is {spread:.2g}, under 1/{SPREAD_DROP} of the {start:.2g} it started at); "
                    f"consider {self._collapse_remedies(metrics, 'a longer warmup')}",
                    RuntimeWarning,
                )
        rank = metrics.get("context_rankme")
        if (
            rank is not None
            and rank < self.spec.collapse_rankme
            and batch - 1 > self.spec.collapse_rankme  # centred, a batch of b spans at most b - 1 dimensions
            and self.step > self.spec.warmup_steps
            and "rankme" not in self._warned
        ):
            self._warned.add("rankme")
            warn(
                f"step {self.step}: context embeddings are collapsing (RankMe {rank:.2f} < "
                f"{self.spec.collapse_rankme}); consider {self._collapse_remedies(metrics)}",
                RuntimeWarning,
            )

    def _collapse_remedies(self, metrics: dict[str, float], *first: str) -> str:
        """What may stop a collapse in this run: only the remedies that apply to it (no
        "slower EMA" without an EMA target, no "regulariser loss" when one is in use)."""
        remedies = [*first, "a lower lr"]
        if getattr(self.model, "target_encoder", None) is not None:
            remedies.append("a slower EMA")
        if not any(term in metrics for term in ("sigreg", "variance")):  # SIGReg's, VICReg's term
            remedies.append("a regulariser loss such as sigreg")
        remedies.append("inputs on a unit scale (standardise values in the thousands)")
        return ", ".join(remedies[:-1]) + " or " + remedies[-1]

    # -- logging ------------------------------------------------------------------------------
    def _tensorboard(self):
        if not (self.spec.tensorboard and self.run_dir is not None and _is_main(self.rank)):
            return None
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as exc:
            raise TrainingError(
                "train.tensorboard needs the tensorboard package: pip install 'jepa-core[tensorboard]'"
            ) from exc
        return SummaryWriter(str(self.run_dir / "tensorboard"))

    def _log(self, metrics: dict[str, float], writer: Any, started: float, stop: int) -> None:
        if self.run_dir is not None:
            with open(self.run_dir / METRICS, "a", encoding="utf-8") as handle:
                # strict JSON, which has no NaN: a metric with no value (a spread over one item) is null
                row = {
                    name: None if isinstance(value, float) and not math.isfinite(value) else value
                    for name, value in metrics.items()
                }
                handle.write(json.dumps(row) + "\n")
        if writer is not None:
            for name, value in metrics.items():
                if name != "step":
                    writer.add_scalar(name, value, metrics["step"])
        if self.spec.progress:
            # the bar counts to the run's last step, so a staged run (fit(max_steps=...)) reads "2/4"
            # as the closing line does, while a log file still gets ten lines per call
            width = 24
            filled = int(width * self.step / self.spec.steps)
            elapsed = time.perf_counter() - started
            line = (
                f"[{'#' * filled}{'.' * (width - filled)}] step {self.step}/{self.spec.steps}  "
                f"loss {metrics['loss']:.4f}  "
                f"{metrics['samples_per_second']:.0f} samples/s  {elapsed:.0f}s"
            )
            if sys.stderr.isatty():
                print(f"\r{line}", end="", file=sys.stderr, flush=True)
            elif self.step % max(1, stop // 10) == 0 or self.step == stop:  # a log file gets ten lines
                print(line, file=sys.stderr, flush=True)

    # -- checkpoints -----------------------------------------------------------------------------
    def checkpoint_dir(self, step: int) -> Path:
        assert self.run_dir is not None
        return self.run_dir / CHECKPOINTS / f"step_{step:07d}"

    def latest_checkpoint(self) -> Path | None:
        found = checkpoints(self.run_dir) if self.run_dir is not None else []
        return found[-1] if found else None

    def save_checkpoint(self) -> Path | None:
        """Write ``checkpoints/step_N/`` atomically (rank 0); all ranks wait for it."""
        path = None
        mine = (torch.get_rng_state(), self._cuda_rng_state(), self._epoch_rng)
        streams: list[Any] = [mine]
        if self.world > 1 and self.run_dir is not None:  # every process's random stream, for an exact resume
            streams = [None] * self.world
            dist.all_gather_object(streams, mine)
        if self.run_dir is not None and _is_main(self.rank):
            state = {
                "step": self.step,
                "optimizer": self.optimizer.state_dict(),
                "scaler": self.scaler.state_dict() if self.scaler is not None else None,
                "rng": [cpu for cpu, _, _ in streams],  # by rank
                "cuda_rng": [cuda for _, cuda, _ in streams],
                "epoch_rng": [epoch for _, _, epoch in streams],
                "data_items": _item_count(self.data),
                "processes": self.world,
                "train": self.spec.model_dump(mode="json"),  # what a resume from Python is checked against
            }

            def write(directory: Path) -> None:
                self.model.save_pretrained(directory / "model")
                torch.save(state, directory / TRAINER_STATE)

            path = atomic_write_dir(self.checkpoint_dir(self.step), write)
            self._prune_checkpoints()
        if self.world > 1:
            dist.barrier()
        return path

    def _prune_checkpoints(self) -> None:
        """Delete the checkpoints older than the latest ``keep_checkpoints`` (the newest
        is written in full before any older one goes)."""
        keep = self.spec.keep_checkpoints
        if keep is None or self.run_dir is None:
            return
        for old in checkpoints(self.run_dir)[:-keep]:
            shutil.rmtree(old, ignore_errors=True)

    def _resume(self) -> None:
        if self.run_dir is None:
            raise TrainingError("resume needs a run directory")
        if self.world > 1:
            dist.barrier()
        path = self.latest_checkpoint()
        if path is None:
            if _is_main(self.rank):
                _note(f"nothing to resume in {str(self.run_dir)!r} (no checkpoint yet); starting at step 0")
            return
        from safetensors.torch import load_model

        weights = path / "model" / "model.safetensors"
        try:
            load_model(self.model, str(weights), device=str(self.device))
        except Exception as exc:  # a truncated or foreign file, or weights of another model
            raise self._bad_checkpoint(weights, f"its weights cannot be loaded into this run's model ({exc})") from None
        trainer_file = path / TRAINER_STATE
        try:
            state = torch.load(trainer_file, map_location=self.device, weights_only=True)
        except pickle.UnpicklingError as exc:  # weights_only refuses anything but tensors and plain containers
            if not zipfile.is_zipfile(trainer_file):  # not what torch.save writes: bytes, not objects
                raise self._bad_checkpoint(trainer_file, "it is damaged (not a torch checkpoint file)") from None
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise self._bad_checkpoint(
                trainer_file,
                f"it holds Python objects that safe loading refuses to unpickle ({reason}); jepa "
                "never writes such a file, so it was replaced or tampered with",
            ) from None
        except Exception as exc:  # a truncated zip, not a torch file at all
            raise self._bad_checkpoint(trainer_file, f"it is damaged ({type(exc).__name__}: {exc})") from None
        try:
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scaler is not None and state.get("scaler") is not None:
                self.scaler.load_state_dict(state["scaler"])
            self.step = int(state["step"])
            self._restore_rng(state["rng"], state.get("cuda_rng"))
            epochs = state.get("epoch_rng") or []
            self._epoch_rng = (
                epochs[self.rank].cpu() if self.rank < len(epochs) and epochs[self.rank] is not None else None
            )
            trained_with = int(state.get("processes", self.world))
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
            raise self._bad_checkpoint(
                trainer_file, f"its trainer state does not fit this run ({type(exc).__name__}: {exc})"
            ) from None
        if trained_with != self.world and _is_main(self.rank):
            warn(
                f"resuming with {self.world} process(es) a run trained with {trained_with}: from step {self.step} "
                "it will not repeat an uninterrupted run (each process draws its own masks, and a loss with batch "
                f"statistics sees other micro-batches); resume with {trained_with} to repeat it"
            )
        if _is_main(self.rank):
            self._truncate_metrics()
            left = self.spec.steps - self.step
            _note(
                f"resuming {str(self.run_dir)!r} at step {self.step} of {self.spec.steps}"
                + (f" ({left} to go)" if left > 0 else ": it has trained them all, nothing is left to train")
            )

    @staticmethod
    def _cuda_rng_state() -> list[torch.Tensor]:
        return torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []

    def _restore_rng(self, cpu: Any, cuda: Any) -> None:
        """This process's random stream as the checkpoint holds it (one per process; a
        checkpoint of fewer processes, or from before it kept them all, has none for the
        later ranks, which start a fresh stream of their own)."""
        if isinstance(cpu, torch.Tensor):  # one stream for every process
            cpu, cuda = [cpu], [cuda or []]
        if self.rank >= len(cpu):
            torch.manual_seed(self.spec.seed + self.rank + self.step)
            return
        torch.set_rng_state(cpu[self.rank].cpu())
        mine = cuda[self.rank] if cuda and self.rank < len(cuda) else []
        if mine and torch.cuda.is_available():
            torch.cuda.set_rng_state_all([s.cpu() for s in mine])

    def _bad_checkpoint(self, file: Path, problem: str) -> CheckpointError:
        checkpoint = file.parent if file.name == TRAINER_STATE else file.parent.parent
        earlier = sorted(
            p for p in checkpoint.parent.glob("step_*") if (p / TRAINER_STATE).is_file() and p != checkpoint
        )
        fallback = (
            f"delete {str(checkpoint)!r} to resume from {earlier[-1].name}"
            if earlier
            else f"delete {str(checkpoint)!r}"
        )
        return CheckpointError(
            f"cannot resume from {str(file)!r}: {problem}. To go on, {fallback}, or pass --restart to discard "
            "the run and start over"
        )

    def _truncate_metrics(self) -> None:
        """Drop metric lines past the checkpoint: the resumed run writes them again."""
        assert self.run_dir is not None
        path = self.run_dir / METRICS
        if not path.exists():
            return
        rows = _parse_metrics(path)
        kept = [json.dumps(row) for row in rows if row.get("step", 0) <= self.step]
        atomic_write_bytes(path, ("\n".join(kept) + "\n" if kept else "").encode())

    def _finish(self) -> None:
        if self.run_dir is None or not _is_main(self.rank):
            return
        self.model.save_pretrained(self.run_dir / FINAL)
        if self.spec.plot:
            plot_metrics(self.run_dir / METRICS, self.run_dir / "training.png")


class _null_context:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def read_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The rows of a run directory's ``metrics.jsonl``, one dict per step (``step``, ``loss``, its
    terms, ``context_std``, ``lr``, ...; a metric with no value, such as the spread of a one-item
    batch, is None). A line torn by a killed run is skipped, with a warning."""
    path = Path(run_dir) / METRICS
    if not path.is_file():
        raise FileNotFoundError(
            f"{str(run_dir)!r} is not a run directory with metrics: no {METRICS} in it (jepa train "
            "--run-dir DIR, or a Trainer given run_dir=DIR, writes one)"
        )
    return _parse_metrics(path)


def _parse_metrics(path: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    torn: list[int] = []
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            torn.append(number)
            continue
        if isinstance(row, dict):
            rows.append(row)
        else:
            torn.append(number)
    if torn:
        warn(
            f"{str(path)!r}: ignored {len(torn)} unreadable line(s) ({', '.join(map(str, torn[:5]))}); a run killed "
            "while writing its metrics leaves a torn last line",
            RuntimeWarning,
        )
    return rows


def clear_run(run_dir: str | os.PathLike[str]) -> None:
    """Remove what a run wrote into ``run_dir`` (checkpoints, final model, metrics,
    run.json, eval.json, plot, TensorBoard logs); anything else there is kept."""
    run_dir = Path(run_dir)
    for name in RUN_ARTEFACTS:
        path = run_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def checkpoints(run_dir: str | os.PathLike[str]) -> list[Path]:
    """The complete checkpoints of the run in ``run_dir``, oldest first (a directory
    without its trainer state is not one)."""
    return sorted(p for p in Path(run_dir, CHECKPOINTS).glob("step_*") if (p / TRAINER_STATE).is_file())


def _trained_processes(run_dir: str | os.PathLike[str] | None) -> int | None:
    """How many processes trained the latest checkpoint in ``run_dir`` (None: no
    checkpoint, or one that does not say)."""
    found = checkpoints(run_dir) if run_dir is not None else []
    if not found:
        return None
    try:
        processes = torch.load(found[-1] / TRAINER_STATE, map_location="cpu", weights_only=True).get("processes")
    except Exception:  # a damaged file: resuming says so, with its own message
        return None
    return int(processes) if isinstance(processes, int) else None


#: run config keys a resumed run may change (with what they hold): how long it trains,
#: how it is watched and saved, where it runs, and how it is evaluated
RESUMABLE = (
    "train.steps",
    "train.progress",
    "train.plot",
    "train.tensorboard",
    "train.checkpoint_every",
    "train.keep_checkpoints",
    "train.num_workers",
    "train.device",
    "train.compile",
    "run_dir",
    "eval",
)


def differences(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted key, old value, new value)`` for every leaf where two JSON-like values differ."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        found: list[tuple[str, Any, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            found += differences(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return found
    return [] if old == new else [(prefix, old, new)]


def _epoch_aware_parts(data: Any) -> list[Any]:
    """What of ``data`` draws per epoch and must be told which (``set_epoch``, as torch's
    ``DistributedSampler`` and datasets with seeded augmentation have): the dataset, or a
    DataLoader's dataset, sampler and batch sampler's sampler."""
    parts = [data]
    if isinstance(data, torch.utils.data.DataLoader):
        parts = [data.dataset, data.sampler, getattr(data.batch_sampler, "sampler", None)]
    unique = {id(part): part for part in parts if callable(getattr(part, "set_epoch", None))}
    return list(unique.values())


def _split_across_processes(data: Any) -> bool:
    """Whether each process gets its own share of ``data``: the trainer splits what it
    batches itself; a ``DataLoader`` only with a ``DistributedSampler`` (as its sampler
    or inside its batch sampler). Other iterables, and a DataLoader over an
    ``IterableDataset`` (which may shard by rank itself), are taken on trust."""
    if not isinstance(data, torch.utils.data.DataLoader) or isinstance(data.dataset, torch.utils.data.IterableDataset):
        return True
    samplers = (data.sampler, getattr(data.batch_sampler, "sampler", None))
    return any(isinstance(sampler, torch.utils.data.DistributedSampler) for sampler in samplers)


def _item_count(data: Any) -> int | None:
    """How many items ``data`` holds (a DataLoader's dataset's), or None when it cannot say."""
    held = data.dataset if isinstance(data, torch.utils.data.DataLoader) else data
    if not _is_map_style(held):
        return None
    try:
        return len(cast(Sized, held))
    except TypeError:  # a Dataset whose __len__ is declared but not defined
        return None


def _is_map_style(data: Any) -> bool:
    """Whether ``data`` holds items by index, as a DataLoader's ``dataset`` does: a
    map-style Dataset, or a list, tuple, tensor or array (not a loader of batches)."""
    if isinstance(data, (torch.utils.data.DataLoader, torch.utils.data.IterableDataset, str, bytes, Mapping)):
        return False
    return hasattr(data, "__getitem__") and hasattr(data, "__len__")


def _holds_non_finite(value: Any) -> bool:
    """Whether a batch (tensors, possibly nested in tuples, lists and mappings) holds NaN/Inf."""
    if isinstance(value, torch.Tensor):
        return bool(value.is_floating_point() and not torch.isfinite(value).all())
    if isinstance(value, Mapping):
        return any(_holds_non_finite(item) for item in value.values())
    if isinstance(value, (tuple, list)):
        return any(_holds_non_finite(item) for item in value)
    return False


def _step_of(checkpoint: Path) -> int:
    return int(checkpoint.name.partition("_")[2] or 0)


def _note(message: str) -> None:
    print(f"jepa: {message}", file=sys.stderr, flush=True)


class _StopOnCtrlC:
    """During :meth:`Trainer.fit`: the first Ctrl-C asks the loop to stop after the
    step in progress (so the checkpoint holds a whole step and resuming is exact);
    a second one stops at once. Only in the main thread, and only where nobody else
    handles SIGINT."""

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.previous: Any = None

    def __enter__(self) -> _StopOnCtrlC:
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self.previous = signal.signal(signal.SIGINT, self._on_sigint)
            except (ValueError, OSError):
                self.previous = None
        return self

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self.trainer._stop_requested:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            raise KeyboardInterrupt
        self.trainer._stop_requested = True
        if _is_main(self.trainer.rank):
            saving = " and saving a checkpoint" if self.trainer.run_dir is not None else ""
            print(
                f"\njepa: Ctrl-C: stopping after step {self.trainer.step + 1}{saving} "
                "(Ctrl-C again stops at once, without one)",
                file=sys.stderr,
                flush=True,
            )

    def __exit__(self, *exc: Any) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
