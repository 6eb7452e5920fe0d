"""Parameter types shared by the vision components (pydantic reads the constraints)."""

from __future__ import annotations

from typing import Annotated

from jepa.limits import Grid, ImageSide
from pydantic import Field

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
#: An image side or ``(height, width)``, in pixels (at most ``jepa.limits.MAX_IMAGE_SIDE``).
ImageSize = ImageSide | tuple[ImageSide, ImageSide]
#: A ``(low, high)`` range of fractions, e.g. a block's share of the grid.
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]
FractionRange = tuple[Fraction, Fraction]
#: A block's height over width: beyond 1:100 either way a block is one row or column anyway.
AspectRatio = Annotated[float, Field(ge=0.01, le=100.0)]
PositiveRange = tuple[AspectRatio, AspectRatio]

__all__ = [
    "AspectRatio",
    "Dropout",
    "Fraction",
    "FractionRange",
    "Grid",
    "ImageSize",
    "PositiveFloat",
    "PositiveInt",
    "PositiveRange",
    "check_range",
    "pair",
]


def pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``(height, width)`` from an int or a pair."""
    if isinstance(size, int):
        return (size, size)
    height, width = size
    return (int(height), int(width))


def check_range(name: str, bounds: tuple[float, float]) -> tuple[float, float]:
    low, high = float(bounds[0]), float(bounds[1])
    if low > high:
        raise ValueError(f"{name}={tuple(bounds)} must be (low, high) with low <= high")
    return (low, high)
