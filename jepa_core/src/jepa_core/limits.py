"""Upper bounds on what a spec may ask for.

A spec is validated before any tensor exists, so a value that could not be built
(or that would take the machine down trying) is rejected with a
:class:`~jepa_core.errors.SpecError` naming its field, never a ``MemoryError``, a
hang or an ``OSError``. Two kinds of bound work together:

* per-field bounds on every size a component takes (the annotated types below):
  each is far above the sizes published models use (ViT-H/14 at 518 px, ViT-g,
  GPT-3's 96 layers and 12,288 width) and far below what makes one value alone
  exhaust memory or time;
* a memory estimate: a component that is a ``torch.nn.Module`` is first built on
  the ``meta`` device (shapes, no storage), and when its parameters and buffers
  would need more bytes than :func:`memory_budget` it is rejected before anything
  is allocated. Two values that are each within bounds but together too large
  (``hidden_dim=65536`` with ``depth=1024``) are caught there.

Spec documents (dicts, YAML, JSON) are bounded too: nesting depth, total number
of values (shared YAML aliases count once per use, so an alias bomb is refused
without being expanded) and file size.

Plugins use the same types for their own fields (``jepa.limits.Width``,
``jepa.limits.Depth``, ...) so that every component gives the same answers.
"""

from __future__ import annotations

import math
import os
from typing import Annotated

from pydantic import AfterValidator, Field

# -- spec documents ---------------------------------------------------------------------
#: Nesting levels of a spec or run config (a run config with nested composite parts
#: and a tokenizer vocabulary is about 12 deep).
MAX_SPEC_DEPTH = 64
#: Values in one spec, counting a value reached through several YAML aliases once
#: per use (a 50k-token BPE vocabulary with its merges is about 200,000).
MAX_SPEC_VALUES = 1_000_000
#: Size of a spec or config file read from disk.
MAX_SPEC_FILE_BYTES = 8 * 2**20
#: Length of a component name (``scope:name``).
MAX_NAME_LENGTH = 256

# -- sizes of components ----------------------------------------------------------------
#: Widths: ``hidden_dim``, ``mlp_dim``, ``width``, ``state_dim``, conv channels.
#: One 65,536-wide linear layer alone holds 4.3e9 weights (17 GB in fp32).
MAX_WIDTH = 2**16
#: Input features, vocabularies and action sizes (a flattened 2048x2048 RGB image
#: is 1.3e7 features; the largest text vocabularies are about 2.6e5).
MAX_FEATURES = 2**24
#: Layers, blocks or stages stacked in one component; each is a Python object
#: built one at a time, so ten thousand would take minutes before any check.
MAX_DEPTH = 1024
#: Attention heads.
MAX_HEADS = 1024
#: Tokens of one sample (``num_tokens``, ``seq_len``, ``max_length``, a grid's cells);
#: a materialised attention matrix over 2**20 tokens needs 4 TB per head and sample.
MAX_TOKENS = 2**20
#: One side of an image or a video's frame count, in pixels or frames.
MAX_IMAGE_SIDE = 2**14
#: Counts that repeat cheap work per draw: masking tries, random projections.
MAX_COUNT = 2**16
#: Target blocks a masker draws per sample (I-JEPA uses 4, V-JEPA 8); each is a
#: predictor pass or a boolean map of the whole grid per sample.
MAX_TARGETS = 1024
#: Axes of a token grid (time, height, width, and some room).
MAX_GRID_DIMS = 8
#: ``mlp_ratio``: hidden width of a block's MLP over the block's width.
MAX_MLP_RATIO = 64.0
#: Samples a generated dataset holds in memory.
MAX_SAMPLES = 2**24

Width = Annotated[int, Field(gt=0, le=MAX_WIDTH)]
Features = Annotated[int, Field(gt=0, le=MAX_FEATURES)]
Depth = Annotated[int, Field(gt=0, le=MAX_DEPTH)]
Heads = Annotated[int, Field(gt=0, le=MAX_HEADS)]
Tokens = Annotated[int, Field(gt=0, le=MAX_TOKENS)]
ImageSide = Annotated[int, Field(gt=0, le=MAX_IMAGE_SIDE)]
Count = Annotated[int, Field(ge=1, le=MAX_COUNT)]
TargetCount = Annotated[int, Field(ge=1, le=MAX_TARGETS)]
MLPRatio = Annotated[float, Field(gt=0.0, le=MAX_MLP_RATIO)]
#: A seed for ``torch.Generator.manual_seed`` and friends (at most 64 bits there).
Seed = Annotated[int, Field(ge=0, lt=2**32)]


def _grid_cells(grid: tuple[int, ...]) -> tuple[int, ...]:
    cells = math.prod(grid)
    if cells > MAX_TOKENS:
        raise ValueError(f"grid {grid} has {cells:,} cells; a grid has at most {MAX_TOKENS:,} (2**20)")
    return grid


#: A token grid ``(rows, cols)``, ``(frames, rows, cols)``, ...: its cells are tokens.
Grid = Annotated[tuple[Tokens, ...], Field(max_length=MAX_GRID_DIMS), AfterValidator(_grid_cells)]


def memory_budget() -> int:
    """Bytes the parameters and buffers of one component may need: this machine's
    physical memory, or less where a resource limit (``ulimit -v`` / ``-d``) caps
    the process. Reading ``JEPA_MAX_BUILD_BYTES`` from the environment lowers it
    further (a shared machine, a test)."""
    budget = 2**46  # 64 TiB: what "unknown" means below
    try:
        budget = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not POSIX (Windows): no physical-memory query
        pass
    try:
        import resource

        for which in ("RLIMIT_AS", "RLIMIT_DATA"):
            soft, _ = resource.getrlimit(getattr(resource, which))
            if soft != resource.RLIM_INFINITY and soft > 0:
                budget = min(budget, soft)
    except (ImportError, AttributeError, ValueError, OSError):
        pass
    configured = _configured_budget()
    if configured is not None:
        budget = min(budget, configured)
    return budget


def _configured_budget() -> int | None:
    """``JEPA_MAX_BUILD_BYTES`` as a number of bytes, or None when it is unset or not one."""
    configured = os.environ.get("JEPA_MAX_BUILD_BYTES", "").strip()
    return int(configured) if configured.isdigit() else None


def memory_budget_words(budget: int) -> str:
    """``budget`` as an error message names it: the machine's, or the environment's setting."""
    if _configured_budget() == budget:
        return f"the {format_bytes(budget)} JEPA_MAX_BUILD_BYTES allows"
    return f"the {format_bytes(budget)} this machine can hold"


def format_bytes(count: int | float) -> str:
    """``1.2 GB`` style (powers of 1000, as memory is sold)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} PB"
