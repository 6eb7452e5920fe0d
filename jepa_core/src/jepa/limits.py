"""Upper bounds on what a spec may ask for, and the bounded parameter types.

Annotate a component's constructor parameters with these types (``Width``,
``Depth``, ``Heads``, ``Tokens``, ...) so that a value no machine could build is
a :class:`~jepa.SpecError` naming the field, before any tensor is allocated, and
every component, core or plugin, gives the same answer for the same size. The
``MAX_*`` constants are the bounds themselves, for a component's own checks
(e.g. a product of two sizes); :func:`memory_budget` is the byte budget a
component's parameters are measured against, and :func:`format_bytes` writes a
size the way the core's messages do. See :mod:`jepa_core.limits` for why each
bound is what it is.

>>> import jepa.limits
>>> jepa.limits.MAX_DEPTH
1024
"""

from jepa_core.limits import (
    MAX_COUNT,
    MAX_DEPTH,
    MAX_FEATURES,
    MAX_GRID_DIMS,
    MAX_HEADS,
    MAX_IMAGE_SIDE,
    MAX_MLP_RATIO,
    MAX_NAME_LENGTH,
    MAX_SAMPLES,
    MAX_SPEC_DEPTH,
    MAX_SPEC_FILE_BYTES,
    MAX_SPEC_VALUES,
    MAX_TARGETS,
    MAX_TOKENS,
    MAX_WIDTH,
    Count,
    Depth,
    Features,
    Grid,
    Heads,
    ImageSide,
    MLPRatio,
    Seed,
    TargetCount,
    Tokens,
    Width,
    format_bytes,
    memory_budget,
)

__all__ = [
    "MAX_COUNT",
    "MAX_DEPTH",
    "MAX_FEATURES",
    "MAX_GRID_DIMS",
    "MAX_HEADS",
    "MAX_IMAGE_SIDE",
    "MAX_MLP_RATIO",
    "MAX_NAME_LENGTH",
    "MAX_SAMPLES",
    "MAX_SPEC_DEPTH",
    "MAX_SPEC_FILE_BYTES",
    "MAX_SPEC_VALUES",
    "MAX_TARGETS",
    "MAX_TOKENS",
    "MAX_WIDTH",
    "Count",
    "Depth",
    "Features",
    "Grid",
    "Heads",
    "ImageSide",
    "MLPRatio",
    "Seed",
    "TargetCount",
    "Tokens",
    "Width",
    "format_bytes",
    "memory_budget",
]
