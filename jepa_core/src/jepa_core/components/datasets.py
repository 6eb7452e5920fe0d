"""Core datasets: ``sinusoids`` (labelled sine waves the code generates) and
``arrays`` (samples from a ``.npy``/``.npz`` file).

Dataset contract: the factory returns a map-style ``torch.utils.data.Dataset``;
an item is ``x``, ``(x, label)``, or for paired data a dict with ``state_t`` and
``state_t1``; labelled datasets expose ``num_classes``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import torch
from pydantic import Field

from jepa_core.limits import MAX_COUNT, MAX_SAMPLES, MAX_TOKENS, Width, format_bytes, memory_budget
from jepa_core.registry import capture_arguments


def _stream(split: str, seed: int) -> int:
    """The generator seed of a split: train and test interleave from 0 up, validation
    counts down from the top of the 32-bit seed range, so no two splits share one."""
    if split == "validation":
        return 0xFFFF_FFFF - seed
    return seed * 2 + (split == "test")


@capture_arguments
class Sinusoids(torch.utils.data.Dataset):
    """Sine waves, ``(steps, channels)`` per item, labelled by frequency band.

    Each series draws one frequency, uniform within one of ``num_classes`` equal
    bands spanning 1 to 7 cycles per window of ``steps`` samples (the label is the
    band), a random phase per channel, unit amplitude, and Gaussian noise of std
    ``noise``. ``paired=True`` yields ``{"state_t": window, "state_t1": a later
    window}`` of the same signal: the later window starts right after the first
    one, plus a gap of ``0..max_gap`` samples drawn per series (``max_gap=0``: the
    next ``steps`` samples). ``split`` (``train``, ``validation`` or ``test``) and
    ``seed`` (below 2**31) select a deterministic set of series no other split or seed shares.
    """

    def __init__(
        self,
        size: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] = 1024,
        steps: Annotated[int, Field(gt=1, le=MAX_TOKENS)] = 32,
        channels: Width = 3,
        num_classes: Annotated[int, Field(ge=2, le=MAX_COUNT)] = 4,
        noise: Annotated[float, Field(ge=0)] = 0.1,
        paired: bool = False,
        split: Literal["train", "validation", "test"] = "train",
        seed: Annotated[int, Field(ge=0, lt=2**31)] = 0,
        max_gap: Annotated[int, Field(ge=0, le=MAX_TOKENS)] = 0,
    ) -> None:
        length = steps * 2 + max_gap if paired else steps
        needed = 3 * 4 * size * length * channels  # float32 series, plus the signal and noise it is summed from
        if needed > memory_budget():
            raise ValueError(
                f"{size} series of {length} steps and {channels} channels would need {format_bytes(needed)} "
                f"while generated, more than the {format_bytes(memory_budget())} this machine can hold; "
                "lower size, steps or channels"
            )
        generator = torch.Generator().manual_seed(_stream(split, seed))
        self.num_classes = num_classes
        self.paired = paired
        self.labels = torch.randint(num_classes, (size,), generator=generator)
        band = (self.labels.float() + torch.rand(size, generator=generator)) / num_classes
        frequency = 1.0 + 6.0 * band  # cycles per window
        phase = torch.rand(size, 1, channels, generator=generator) * 2 * math.pi
        t = torch.arange(length).float() / steps
        signal = torch.sin(2 * math.pi * frequency[:, None, None] * t[None, :, None] + phase)
        self.series = signal + noise * torch.randn(size, length, channels, generator=generator)
        self.steps = steps
        self.gaps = torch.randint(max_gap + 1, (size,), generator=generator)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int):
        if self.paired:
            series = self.series[index]
            start = self.steps + int(self.gaps[index])
            return {"state_t": series[: self.steps], "state_t1": series[start : start + self.steps]}
        return self.series[index], int(self.labels[index])


@capture_arguments
class Arrays(torch.utils.data.Dataset):
    """Samples from a NumPy file: ``.npy`` (one array, unlabelled) or ``.npz`` with
    an ``x`` array and optionally ``y`` labels: class indices ``0..C-1`` (whole
    numbers), or a real-valued target (floats with fractions: a regression, scored
    by the ``ridge`` probe).

    The first axis indexes samples; each item is ``x[i]`` as float32 (and its label).
    """

    def __init__(self, path: str, x_key: str = "x", y_key: str | None = "y") -> None:
        import numpy as np

        file = Path(path)
        if file.is_dir():
            raise IsADirectoryError(
                f"data file {str(file)!r} is a directory; give data.params.path a .npy or .npz file"
            )
        if not file.is_file():
            raise FileNotFoundError(f"data file {str(file)!r} does not exist; check data.params.path")
        if file.suffix == ".npy":
            x, y = np.load(file, allow_pickle=False), None
        elif file.suffix == ".npz":
            with np.load(file, allow_pickle=False) as archive:
                if x_key not in archive:
                    raise ValueError(f"{str(file)!r} has no array {x_key!r} (it has {sorted(archive.files)})")
                x = archive[x_key]
                y = archive[y_key] if y_key is not None and y_key in archive else None
        else:
            raise ValueError(f"{str(file)!r}: expected a .npy or .npz file")
        if x.ndim == 0:
            raise ValueError(f"{str(file)!r} holds a single value; its first axis must index the samples")
        if len(x) == 0:
            raise ValueError(
                f"{str(file)!r} holds no samples ({x_key if file.suffix == '.npz' else 'the array'} "
                f"has shape {tuple(x.shape)}); give a file with data in it"
            )
        if y is not None and len(y) != len(x):
            raise ValueError(f"{str(file)!r}: {len(x)} samples in {x_key!r} but {len(y)} labels in {y_key!r}")
        self.x = torch.as_tensor(x, dtype=torch.float32)
        # labels with fractions are a real-valued target (a regression, for the ridge probe);
        # whole numbers are class indices
        real = y is not None and y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)
        self.y = None if y is None else torch.as_tensor(y, dtype=torch.float32 if real else torch.long)
        self.num_classes = int(self.y.max()) + 1 if self.y is not None and len(self.y) and not real else None

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int):
        if self.y is None:
            return self.x[index]
        return self.x[index], self.y[index].item()
