"""Video datasets ``moving_digits`` (generated, no download) and ``video_folder`` (files).

Items are clips ``(C, T, H, W)``: a batch is ``(B, C, T, H, W)``, the layout the
``vit`` encoder takes with ``num_frames`` set. Labelled items are ``(clip, label)``.
Every random choice draws from a generator seeded by ``(seed, epoch, index)``, as
the image datasets do: the same seed gives the same clips in any worker order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import torch
import torch.nn.functional as F
from jepa import install_command
from jepa.limits import Seed
from pydantic import Field
from torch.utils.data import Dataset

from jepa_plugins_vision._types import ImageSize, PositiveInt, pair
from jepa_plugins_vision.datasets import (
    TestFraction,
    _normalisation,
    drop_unreadable,
    item_generator,
    scan_folder,
    split_indices,
    warn_split_of_a_split,
)

#: Per-frame unit steps ``(dy, dx)``: 4 directions (right, down, left, up), then the diagonals.
DIRECTIONS: tuple[tuple[int, int], ...] = ((0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (1, -1), (-1, -1), (-1, 1))
DIRECTION_NAMES: tuple[str, ...] = ("right", "down", "left", "up", "down-right", "down-left", "up-left", "up-right")
VIDEO_SUFFIXES = (".mp4", ".webm", ".avi", ".mkv", ".mov", ".m4v")
VideoSplit = Literal["all", "train", "val", "test"]
ValFraction = Annotated[float, Field(gt=0.0, lt=1.0)]


def carve_split(count: int, split: str, test_fraction: float, val_fraction: float, seed: int) -> torch.Tensor:
    """Indices of ``split``: ``test`` as :func:`split_indices` draws it; ``val`` is a seeded
    ``val_fraction`` of the train part and ``train`` the rest, so model choices made on
    ``val`` never look at ``test``."""
    if split in ("all", "test"):
        return split_indices(count, split, test_fraction, seed)
    train = split_indices(count, "train", test_fraction, seed)
    order = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed + 1))
    val_count = max(1, round(len(train) * val_fraction))
    chosen = order[:val_count] if split == "val" else order[val_count:]
    return train[chosen.sort().values]


class MovingDigits(Dataset):
    """Digits sliding over a wrap-around canvas; see :func:`moving_digits`."""

    def __init__(
        self,
        glyphs: torch.Tensor,
        digit_labels: torch.Tensor,
        canvas: tuple[int, int],
        frames: int,
        num_digits: int,
        directions: int,
        speeds: tuple[int, int],
        clips_per_digit: int,
        label: Literal["digit", "direction"] | None,
        paired: bool,
        mean: Sequence[float] | None,
        std: Sequence[float] | None,
        seed: int,
    ) -> None:
        self.glyphs = glyphs  # (N, h, w) in [0, 1]
        self.canvas = canvas
        self.frames = frames
        self.num_digits = num_digits
        self.directions = directions
        self.clips_per_digit = clips_per_digit
        self.label = label
        self.paired = paired
        self.mean, self.std = mean, std
        self.seed = seed
        self.epoch = 0
        count = len(glyphs) * clips_per_digit
        # every clip's motion is fixed by (seed, index), so labels exist before any item is drawn
        g = torch.Generator().manual_seed(seed * 7919 + 17)
        height, width = canvas
        self.glyph_index = torch.arange(count) // clips_per_digit
        if num_digits == 2:  # the second digit: any other glyph of the same split
            other = torch.randint(1, max(2, len(glyphs)), (count,), generator=g)
            self.glyph_index = torch.stack([self.glyph_index, (self.glyph_index + other) % len(glyphs)], 1)
        else:
            self.glyph_index = self.glyph_index[:, None]
        self.direction = torch.randint(0, directions, (count,), generator=g)
        self.speed = torch.randint(speeds[0], speeds[1] + 1, (count,), generator=g)
        self.start = torch.stack(
            [
                torch.randint(0, height, (count, num_digits), generator=g),
                torch.randint(0, width, (count, num_digits), generator=g),
            ],
            dim=-1,
        )  # (count, digits, 2): uniform on the torus, so any single frame is independent of the motion
        # paired mode: the action is the next clip's direction, drawn independently of the current one
        self.action_direction = torch.randint(0, directions, (count,), generator=g)
        self.digit_labels = digit_labels[self.glyph_index[:, 0]]
        if label == "digit":
            self.labels: torch.Tensor | None = self.digit_labels
            self.classes: list[str] | None = [str(d) for d in range(10)]
        elif label == "direction":
            self.labels = self.direction
            self.classes = list(DIRECTION_NAMES[:directions])
        else:
            self.labels, self.classes = None, None
        self.num_classes = None if self.classes is None else len(self.classes)

    def set_epoch(self, epoch: int) -> None:
        """Kept for the engine's per-epoch call; clips do not change with the epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.direction)

    def _render(self, index: int, starts: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
        """``(1, T, H, W)``: ``steps[t]`` moves frame t-1 to frame t (``steps[0]`` is unused), so
        frame t shows each digit at ``start + steps[1] + ... + steps[t]``, wrapped."""
        height, width = self.canvas
        offsets = steps.cumsum(0) - steps[0]  # (T, 2)
        frames = torch.zeros(len(steps), height, width)
        for k in range(self.num_digits):
            glyph = self.glyphs[int(self.glyph_index[index, k])]
            sprite = torch.zeros(height, width)
            sprite[: glyph.shape[0], : glyph.shape[1]] = glyph
            for t in range(len(steps)):
                y, x = (starts[k] + offsets[t]).tolist()
                frames[t] = torch.maximum(frames[t], sprite.roll((y % height, x % width), dims=(0, 1)))
        clip = frames[None]
        if self.mean is not None:
            clip = (clip - self.mean[0]) / self.std[0]
        return clip

    def motion(self, direction: int, speed: int, frames: int) -> torch.Tensor:
        """``(frames, 2)`` per-frame steps ``(dy, dx)`` for a direction index and a speed."""
        return torch.tensor(DIRECTIONS[direction]).mul(speed).expand(frames, 2).clone()

    def action_vector(self, direction: int, speed: int) -> torch.Tensor:
        """The action of a paired item: the next clip's per-frame step ``(dy, dx)`` in pixels."""
        return torch.tensor(DIRECTIONS[direction], dtype=torch.float32) * speed

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} clips")
        speed = int(self.speed[index])
        current = self.motion(int(self.direction[index]), speed, self.frames)
        if not self.paired:
            clip = self._render(index, self.start[index], current)
            return clip if self.labels is None else (clip, int(self.labels[index]))
        action = int(self.action_direction[index])
        steps = torch.cat([current, self.motion(action, speed, self.frames)])
        both = self._render(index, self.start[index], steps)
        return both[:, : self.frames], both[:, self.frames :], self.action_vector(action, speed)


def moving_digits(
    image_size: ImageSize = 16,
    digit_size: PositiveInt = 8,
    frames_per_clip: PositiveInt = 8,
    num_digits: Literal[1, 2] = 1,
    directions: Literal[4, 8] = 4,
    speed: tuple[PositiveInt, PositiveInt] = (1, 2),
    clips_per_digit: PositiveInt = 2,
    label: Literal["digit", "direction"] | None = "direction",
    paired: bool = False,
    normalize: bool = True,
    split: VideoSplit = "all",
    test_fraction: TestFraction = 0.2,
    val_fraction: ValFraction = 0.2,
    seed: Seed = 0,
) -> MovingDigits:
    """Moving digits (in the spirit of Moving MNIST) from scikit-learn's 8x8 digits.

    Each clip shows ``num_digits`` digits (resized to ``digit_size``) sliding on an
    ``image_size`` canvas in one of ``directions`` directions (4: right, down, left,
    up; 8 adds the diagonals) at ``speed`` pixels per frame (drawn in the range),
    for ``frames_per_clip`` frames. The canvas wraps around, so a digit never
    bounces: the direction holds for the whole clip and, as each start position is
    uniform, no single frame says anything about it — only the motion does.
    Items are ``(clip (1, T, H, W), label)`` with ``label`` the ``direction`` index or
    the first digit's class (``None``: clips alone). ``paired: true`` gives world-model
    items ``(clip_t, clip_t1, action)``: ``clip_t1`` continues ``clip_t`` but moves with
    the action, a per-frame step ``(dy, dx)`` in pixels drawn independently.
    Splits are by source image (test digits are unseen); ``val`` is carved from train.
    Needs ``pip install 'jepa-plugins-vision[digits]'``."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        raise ImportError(
            f"the moving_digits dataset needs scikit-learn: {install_command('jepa-plugins-vision', 'digits')}"
        ) from exc
    canvas = pair(image_size)
    if digit_size > min(canvas):
        raise ValueError(f"digit_size={digit_size} does not fit on an image_size={image_size} canvas")
    low, high = speed
    if low > high:
        raise ValueError(f"speed={tuple(speed)} must be (low, high) with low <= high")
    if label == "digit" and num_digits == 2:
        raise ValueError("label='digit' is ambiguous with num_digits=2; use label='direction' or num_digits=1")
    data = load_digits()
    glyphs = torch.from_numpy(data.images.astype(np.float32) / 16.0)[:, None]  # 0..16 grey levels
    if digit_size != 8:
        glyphs = F.interpolate(glyphs, size=(digit_size, digit_size), mode="bilinear", align_corners=False)
    keep = carve_split(len(glyphs), split, test_fraction, val_fraction, seed)
    mean, std = _normalisation(normalize, 1, None, None)
    return MovingDigits(
        glyphs[keep, 0].clamp(0, 1),
        torch.from_numpy(data.target.astype(np.int64))[keep],
        canvas,
        frames_per_clip,
        num_digits,
        directions,
        (low, high),
        clips_per_digit,
        label,
        paired,
        mean,
        std,
        seed,
    )


class VideoFolderDataset(Dataset):
    """Video files decoded lazily with PyAV, one clip per item; see :func:`video_folder`."""

    def __init__(
        self,
        files: Sequence[Path],
        labels: torch.Tensor | None,
        classes: Sequence[str] | None,
        size: tuple[int, int],
        channels: int,
        frames_per_clip: int,
        frame_step: int,
        clip_start: Literal["random", "uniform"],
        augment: bool,
        crop_scale: tuple[float, float],
        mean: Sequence[float] | None,
        std: Sequence[float] | None,
        seed: int,
        skipped: Sequence[Path] = (),
    ) -> None:
        self.files = list(files)
        self.labels = labels
        self.classes = None if classes is None else list(classes)
        self.num_classes = None if classes is None else len(classes)
        self.size = size
        self.channels = channels
        self.frames_per_clip = frames_per_clip
        self.frame_step = frame_step
        self.clip_start = clip_start
        self.augment = augment
        self.crop_scale = crop_scale
        self.mean = None if mean is None else torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
        self.std = None if std is None else torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)
        self.seed = seed
        self.epoch = 0
        self.skipped = list(skipped)

    def set_epoch(self, epoch: int) -> None:
        """Draw fresh clip starts and crops for a new epoch (deterministic per epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.files)

    def frame_indices(self, count: int, generator: torch.Generator) -> list[int]:
        """Which of ``count`` decoded frames make the clip.

        ``random``: ``frames_per_clip`` frames ``frame_step`` apart from a uniformly drawn
        start; ``uniform``: ``frames_per_clip`` frames spread evenly over the whole video
        (deterministic, for evaluation; ``frame_step`` unused). A video shorter than the
        clip repeats its last frame."""
        if self.clip_start == "uniform":
            if self.frames_per_clip == 1:
                return [(count - 1) // 2]
            return [round(i * (count - 1) / (self.frames_per_clip - 1)) for i in range(self.frames_per_clip)]
        span = (self.frames_per_clip - 1) * self.frame_step + 1
        start = int(torch.randint(0, max(1, count - span + 1), (), generator=generator))
        return [min(count - 1, start + i * self.frame_step) for i in range(self.frames_per_clip)]

    def _decode(self, path: Path, generator: torch.Generator) -> np.ndarray:
        pixel_format = "gray" if self.channels == 1 else "rgb24"
        clip = read_clip(path, pixel_format, lambda count: self.frame_indices(count, generator))
        return np.stack(clip)

    def __getitem__(self, index: int):
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"index {index} out of range for a dataset of {len(self)} videos")
        generator = item_generator(self.seed, self.epoch, index)
        array = self._decode(self.files[index], generator)  # (T, H, W[, C]) uint8
        clip = torch.from_numpy(array).float().div_(255.0)
        clip = clip[None] if clip.dim() == 3 else clip.permute(3, 0, 1, 2)  # (C, T, H, W)
        clip = self._crop(clip, generator)
        if self.mean is not None:
            clip = (clip - self.mean) / self.std
        return clip if self.labels is None else (clip, int(self.labels[index]))

    def _crop(self, clip: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """One crop for every frame (so motion is not distorted), resized to ``size``; no flips,
        as a flip would reverse the direction of motion."""
        from jepa_plugins_vision.datasets import CenterCropResize
        from jepa_plugins_vision.transforms import RandomResizedCrop, resize

        channels, frames, height, width = clip.shape
        flat = clip.reshape(channels * frames, height, width)
        if self.augment:
            top, left, h, w = RandomResizedCrop(self.size, self.crop_scale).box(height, width, generator)
            flat = resize(flat[:, top : top + h, left : left + w], self.size)
        else:
            flat = CenterCropResize(self.size)(flat)
        return flat.reshape(channels, frames, *self.size)


def _import_av():
    try:
        import av
    except ImportError as exc:
        raise ImportError(
            f"the video_folder dataset needs PyAV: {install_command('jepa-plugins-vision', 'video')}"
        ) from exc
    return av


def _unreadable(path: Path, why: object) -> ValueError:
    return ValueError(
        f"cannot read video {str(path)!r}: {why}; remove or replace the file, or set skip_unreadable: true"
    )


def read_clip(path: Path, pixel_format: str, choose: Callable[[int], list[int]]) -> list[np.ndarray]:
    """The frames ``choose(frame_count)`` picks. When the container states its frame count
    (mp4, avi), decoding stops at the last frame wanted, so a short clip from a long
    video does not decode all of it; otherwise (webm) every frame is decoded."""
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("it has no video stream")
            stream = container.streams.video[0]
            stated = int(stream.frames or 0)
            if stated > 0:
                wanted = choose(stated)
                keep, last, found = set(wanted), max(wanted), {}
                for position, frame in enumerate(container.decode(stream)):
                    if position in keep:
                        found[position] = frame.to_ndarray(format=pixel_format)
                    if position >= last:
                        break
                if len(found) == len(keep):
                    return [found[i] for i in wanted]
                # fewer frames than the container said: count them by decoding, below
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    frames = read_frames(path, pixel_format)
    return [frames[i] for i in choose(len(frames))]


def read_frames(path: Path, pixel_format: str = "rgb24") -> list[np.ndarray]:
    """Every frame of the first video stream of ``path`` as uint8 arrays; a clear
    ``ValueError`` naming the file when it cannot be opened or decoded, or has no frames."""
    av = _import_av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("it has no video stream")
            stream = container.streams.video[0]
            frames = [frame.to_ndarray(format=pixel_format) for frame in container.decode(stream)]
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise _unreadable(path, exc) from exc
    if not frames:
        raise _unreadable(path, "no frames decoded")
    return frames


def video_folder(
    root: str,
    image_size: ImageSize = 224,
    channels: Literal[1, 3] = 3,
    frames_per_clip: PositiveInt = 16,
    frame_step: PositiveInt = 4,
    clip_start: Literal["random", "uniform"] = "random",
    augment: bool = False,
    crop_scale: tuple[Annotated[float, Field(gt=0.0, le=1.0)], Annotated[float, Field(gt=0.0, le=1.0)]] = (0.3, 1.0),
    normalize: bool = True,
    mean: tuple[float, ...] | None = None,
    std: tuple[float, ...] | None = None,
    skip_unreadable: bool = False,
    split: Literal["all", "train", "test"] = "all",
    test_fraction: TestFraction = 0.2,
    seed: Seed = 0,
) -> VideoFolderDataset:
    """Videos (``.mp4``, ``.webm``, ``.avi``, ``.mkv``, ``.mov``) under ``root``: class
    sub-folders (``root/walk/1.mp4``: labelled, classes sorted) or files directly in
    ``root`` (unlabelled). Each item decodes its file with PyAV (inside the DataLoader
    worker) and takes ``frames_per_clip`` frames, ``frame_step`` apart from a random
    start (``clip_start: random``) or spread evenly (``uniform``), centre-cropped (or,
    with ``augment``, randomly cropped, the same box on every frame) to ``image_size``.
    A file that cannot be decoded raises an error naming it; ``skip_unreadable: true``
    checks every file once here, drops the unreadable ones and warns with their count
    (listed in ``dataset.skipped``). ``split`` draws ``test_fraction`` of the files with
    ``seed``, of each class when labelled. Needs ``pip install 'jepa-plugins-vision[video]'``."""

    _import_av()
    files, labels, classes = scan_folder(root, VIDEO_SUFFIXES, "videos")
    base = Path(root).expanduser()
    skipped: list[Path] = []
    if skip_unreadable:
        files, labels, skipped = drop_unreadable(
            files, labels, lambda path: read_frames(path, "gray"), "video_folder", str(base)
        )
    warn_split_of_a_split(root, split, test_fraction)
    keep = split_indices(len(files), split, test_fraction, seed, labels)
    norm_mean, norm_std = _normalisation(normalize, channels, mean, std)
    label_tensor = torch.tensor(labels)[keep] if labels is not None else None
    return VideoFolderDataset(
        [files[i] for i in keep.tolist()],
        label_tensor,
        classes,
        pair(image_size),
        channels,
        frames_per_clip,
        frame_step,
        clip_start,
        augment,
        tuple(crop_scale),
        norm_mean,
        norm_std,
        seed,
        skipped,
    )
