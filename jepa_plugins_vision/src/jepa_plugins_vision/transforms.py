"""Image transforms in plain torch (no torchvision), on float ``(C, H, W)`` tensors.

Every random transform is called as ``transform(image, generator)`` and draws
only from that generator, so a dataset that seeds one generator per item (see
:class:`jepa_plugins_vision.datasets.ImageDataset`) gives the same augmented
item for the same seed, epoch and index, in any worker and any order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

Transform = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def _rand(generator: torch.Generator, low: float = 0.0, high: float = 1.0) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ``(C, H, W)`` to ``size`` (antialiased when shrinking)."""
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    shrinking = size[0] < image.shape[-2] or size[1] < image.shape[-1]
    return F.interpolate(image[None].float(), size=size, mode="bilinear", align_corners=False, antialias=shrinking)[0]


class Compose:
    """Apply transforms in order, all drawing from the same generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        for transform in self.transforms:
            image = transform(image, generator)
        return image


class Resize:
    def __init__(self, size: tuple[int, int]) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return resize(image, self.size)


class RandomResizedCrop:
    """Crop a random area fraction ``scale`` with aspect ``w/h`` log-uniform in
    ``ratio``, resized to ``size`` (Szegedy et al., 2015; I-JEPA uses scale
    0.3-1.0). After 10 draws that do not fit, it falls back to the centre crop."""

    def __init__(
        self,
        size: tuple[int, int],
        scale: tuple[float, float] = (0.3, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
    ) -> None:
        self.size = size
        self.scale = scale
        self.log_ratio = (math.log(ratio[0]), math.log(ratio[1]))

    def box(self, height: int, width: int, generator: torch.Generator) -> tuple[int, int, int, int]:
        """``(top, left, h, w)`` of the crop for an image of ``height x width``."""
        area = height * width
        for _ in range(10):
            target = area * _rand(generator, *self.scale)
            aspect = math.exp(_rand(generator, *self.log_ratio))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                top = int(torch.randint(0, height - h + 1, (), generator=generator))
                left = int(torch.randint(0, width - w + 1, (), generator=generator))
                return top, left, h, w
        side = min(height, width)
        return (height - side) // 2, (width - side) // 2, side, side

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        top, left, h, w = self.box(image.shape[-2], image.shape[-1], generator)
        return resize(image[..., top : top + h, left : left + w], self.size)


class RandomHorizontalFlip:
    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return image.flip(-1) if _rand(generator) < self.p else image


class Normalize:
    """``(x - mean) / std`` per channel."""

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        if len(mean) != len(std):
            raise ValueError(f"mean {tuple(mean)} and std {tuple(std)} need one value per channel each")
        if any(s <= 0 for s in std):
            raise ValueError(f"std {tuple(std)} must be positive")
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if image.shape[0] != self.mean.shape[0]:
            raise ValueError(f"normalise has {self.mean.shape[0]} channel statistics, the image has {image.shape[0]}")
        return (image - self.mean) / self.std


def image_transform(
    size: tuple[int, int],
    *,
    augment: bool = False,
    crop_scale: tuple[float, float] = (0.3, 1.0),
    flip: bool = False,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> Compose:
    """The usual pipeline: random resized crop (+ flip) when ``augment``, else a
    resize; then normalisation when ``mean``/``std`` are given."""
    steps: list[Transform] = [RandomResizedCrop(size, crop_scale) if augment else Resize(size)]
    if augment and flip:
        steps.append(RandomHorizontalFlip())
    if mean is not None or std is not None:
        if mean is None or std is None:
            raise ValueError("give both mean and std to normalise, or neither")
        steps.append(Normalize(mean, std))
    return Compose(steps)
