"""Frozen-encoder evaluation: embeddings, and the probes the field reports.

* ``linear``: multinomial logistic regression on standardised embeddings, fitted
  to convergence with L-BFGS (the usual low-shot protocol); pure torch.
* ``knn``: cosine-similarity k-nearest-neighbour vote; pure torch.
* ``svm``: TS2Vec's protocol, an RBF SVM whose ``C`` is chosen by 5-fold
  cross-validated grid search on the train split; needs scikit-learn
  (``pip install 'jepa-core[eval]'``).
* ``attentive``: V-JEPA's attentive probe, cross-attention pooling of the frozen
  token grid with a learned query, then a linear classifier; pure torch.
* ``ridge``: for a real-valued target (a regression), ridge regression on
  standardised embeddings, its strength chosen by leave-one-out cross-validation
  on the train split, scored by R² on the test split; needs scikit-learn.

Pooling of token grids ``(B, N, D)`` (``mean``, ``max``, ``flatten``) leaves
padded tokens out: a ``padding_mask`` in mapping inputs, or time steps where every
channel of a series is NaN (padding, or a step where nothing was observed).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence, Sized
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from jepa_core.errors import SpecError
from jepa_core.first_party import install_command
from jepa_core.layers import init_weights

#: What :meth:`jepa_core.model.JEPA.embed` and :func:`embed_dataset` do with token grids.
TOKEN_POOLS = ("mean", "max", "flatten", "none")
#: Names that mark a split of a dataset, not a class: class folders named only these are
#: most likely a root one level above the splits (``data/train/cat/1.png`` read from ``data``).
SPLIT_NAMES = frozenset({"train", "training", "test", "testing", "val", "valid", "validation", "dev"})
#: TS2Vec's grid for the SVM's ``C`` (its ``np.inf`` aside: a hard margin adds nothing).
SVM_C_GRID: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)
#: The ridge probe's strengths (on standardised features), one picked by leave-one-out CV.
RIDGE_ALPHAS: tuple[float, ...] = tuple(10.0**power for power in range(-3, 7))
#: Keys of a mapping item that hold its label rather than encoder input.
_LABEL_KEYS = ("y", "label", "labels")


# -- token grids: padding and pooling -------------------------------------------------------------


def token_padding(inputs: Any, tokens: torch.Tensor) -> torch.Tensor:
    """``(B, N)`` bool, True where token ``n`` of ``tokens`` ``(B, N, D)`` is padding.

    Read from a ``padding_mask`` ``(B, N)`` in mapping ``inputs``; otherwise, when
    the encoder gives one token per time step of a float series ``(B, T, ...)``, the
    steps where no value is finite. Nothing is padding when neither applies.
    """
    batch, count = tokens.shape[:2]
    values = inputs
    if isinstance(inputs, Mapping):
        mask = inputs.get("padding_mask")
        if isinstance(mask, torch.Tensor) and tuple(mask.shape) == (batch, count):
            return mask.to(tokens.device).bool()
        values = inputs.get("x")
    if (
        isinstance(values, torch.Tensor)
        and values.is_floating_point()
        and values.dim() >= 2
        and tuple(values.shape[:2]) == (batch, count)
    ):
        return ~torch.isfinite(values).reshape(batch, count, -1).any(dim=-1).to(tokens.device)
    return torch.zeros(batch, count, dtype=torch.bool, device=tokens.device)


def pool_tokens(
    tokens: torch.Tensor, padding: torch.Tensor | None, how: str, window: int | None = None
) -> torch.Tensor:
    """Pool ``(B, N, D)`` tokens to one vector per sample, leaving padded tokens out.

    ``how``: ``"mean"`` or ``"max"`` over the unpadded tokens (``(B, D)``; a sample
    with no unpadded token pools to zeros), ``"flatten"`` (``(B, N*D)``, padded
    tokens zeroed) or ``"none"`` (the tokens, unchanged). ``(B, D)`` input is
    returned as it is.

    ``window`` (mean and max): a sample's ``L`` unpadded tokens are cut into
    ``ceil(L / window)`` consecutive stretches of near-equal length (at most ``window``
    tokens each), each is pooled, and the stretches' vectors are averaged; a sample of
    at most ``window`` tokens pools as without it.
    """
    if how not in TOKEN_POOLS:
        raise ValueError(f"tokens must be one of {', '.join(map(repr, TOKEN_POOLS))}, got {how!r}")
    if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
        raise ValueError(f"window is a number of tokens, a whole number of at least 1; got {window!r}")
    if window is not None and how not in ("mean", "max"):
        raise ValueError(f"window pools stretches of tokens with 'mean' or 'max'; {how!r} takes no window")
    if tokens.dim() != 3 or how == "none":
        return tokens
    if window is not None and tokens.shape[1] > window:
        return _pool_stretches(tokens, padding, how, window)
    if padding is None or not padding.any():
        if how == "max":
            return tokens.amax(dim=1)
        return tokens.flatten(1) if how == "flatten" else tokens.mean(dim=1)
    keep = ~padding.bool()
    if how == "max":
        pooled = tokens.masked_fill(~keep.unsqueeze(-1), float("-inf")).amax(dim=1)
        return torch.where(keep.any(dim=1, keepdim=True), pooled, torch.zeros_like(pooled))
    # padded tokens may hold NaN (a NaN-padded series): select rather than multiply
    kept = torch.where(keep.unsqueeze(-1), tokens, torch.zeros((), dtype=tokens.dtype, device=tokens.device))
    if how == "flatten":
        return kept.flatten(1)
    return kept.sum(1) / keep.sum(1, keepdim=True).clamp_min(1).to(tokens.dtype)


def _pool_stretches(tokens: torch.Tensor, padding: torch.Tensor | None, how: str, window: int) -> torch.Tensor:
    batch, _, width = tokens.shape
    keep = torch.ones(tokens.shape[:2], dtype=torch.bool, device=tokens.device) if padding is None else ~padding.bool()
    lengths = keep.sum(1)
    counts = ((lengths + window - 1) // window).clamp_min(1)
    # the i-th of a sample's L kept tokens falls in stretch floor(i * count / L)
    rank = keep.long().cumsum(1) - 1
    stretch = (rank * counts.unsqueeze(1)) // lengths.clamp_min(1).unsqueeze(1)
    most = int(counts.max())
    stretch = torch.where(keep, stretch, most)  # padded tokens go to a slot that is dropped
    values = torch.where(keep.unsqueeze(-1), tokens, torch.zeros((), dtype=tokens.dtype, device=tokens.device))
    start = torch.zeros(batch, most + 1, width, dtype=tokens.dtype, device=tokens.device)
    reduce = "amax" if how == "max" else "mean"
    index = stretch.unsqueeze(-1).expand(-1, -1, width)
    pooled = start.scatter_reduce(1, index, values, reduce=reduce, include_self=False)[:, :most]
    real = (torch.arange(most, device=tokens.device) < counts.unsqueeze(1)) & (lengths > 0).unsqueeze(1)
    pooled = torch.where(real.unsqueeze(-1), pooled, torch.zeros((), dtype=tokens.dtype, device=tokens.device))
    return pooled.sum(1) / counts.unsqueeze(1).to(tokens.dtype)


# -- embedding datasets ----------------------------------------------------------------------------


def split_item(batch: Any) -> tuple[Any, Any]:
    """``(inputs, labels or None)`` of a collated batch of ``x``, ``(x, y)`` or mapping items."""
    if isinstance(batch, (tuple, list)):
        return batch[0], (batch[1] if len(batch) > 1 else None)
    if isinstance(batch, Mapping):
        label = next((key for key in _LABEL_KEYS if key in batch), None)
        if label is not None:
            return {key: value for key, value in batch.items() if key != label}, batch[label]
    return batch, None


def _encode(model: Any, x: Any, encoder: str) -> torch.Tensor:
    """The encoder's raw output ``(B, D)`` or ``(B, N, D)`` for a batch."""
    embed = getattr(model, "embed", None)
    if callable(embed) and not isinstance(embed, nn.Module):  # a JEPA (an encoder's ``embed`` is a layer)
        return embed(x, encoder=encoder, tokens="none")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))

    def moved(value: Any) -> Any:
        return value.to(device) if isinstance(value, torch.Tensor) else value

    if isinstance(x, Mapping):
        return model(**{key: moved(value) for key, value in x.items()})
    return model(moved(x))


class _IterableItems(torch.utils.data.IterableDataset):
    """Any iterable of items as a dataset, read once in order (a DataLoader reads an
    object that is not a dataset as map-style, which needs ``len`` and indexing)."""

    def __init__(self, items: Iterable[Any]) -> None:
        self.items = items

    def __iter__(self) -> Iterator[Any]:
        return iter(self.items)


def _as_dataset(data: Iterable[Any]) -> torch.utils.data.Dataset[Any]:
    if isinstance(data, torch.utils.data.Dataset):
        return data
    if isinstance(data, Sized) and hasattr(data, "__getitem__"):
        # a list or other sequence: DataLoader reads it as map-style, through len and indexing only
        return cast("torch.utils.data.Dataset[Any]", data)
    return _IterableItems(data)


def _batches(model: Any, data: Iterable[Any], batch_size: int, encoder: str) -> Iterable[tuple[Any, Any, Any]]:
    """``(inputs, encoder output, labels)`` per batch, in order, with the model in eval mode."""
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        loader: torch.utils.data.DataLoader[Any] = torch.utils.data.DataLoader(
            _as_dataset(data), batch_size=batch_size, shuffle=False
        )
        with torch.no_grad():
            for batch in loader:
                x, y = split_item(batch)
                yield x, _encode(model, x, encoder), y
    finally:
        if was_training and hasattr(model, "train"):
            model.train()


def _checked(features: torch.Tensor) -> torch.Tensor:
    if not torch.isfinite(features).all():
        raise ValueError(
            "the encoder produced NaN/inf embeddings; if the data holds NaN (missing values or "
            "padding), use an encoder that masks them (e.g. the timeseries plugin's encoders)"
        )
    return features


def embed_dataset(
    model: Any,
    data: Iterable[Any],
    *,
    batch_size: int = 256,
    encoder: str = "auto",
    tokens: str = "mean",
    window: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled embeddings ``(N, D)`` of a map-style dataset or any iterable of items,
    in order, and their labels ``(N,)`` when items are labelled (``(x, y)``, or a
    mapping with a ``y``/``label`` key).

    ``model`` is a :class:`~jepa_core.model.JEPA` (``encoder`` picks which of its
    encoders, as in :meth:`~jepa_core.model.JEPA.embed`) or an encoder module.
    ``tokens`` pools token grids: ``"mean"``, ``"max"`` or ``"flatten"`` (see
    :func:`pool_tokens`, as is ``window``); padded tokens are left out.
    """
    if tokens not in ("mean", "max", "flatten"):
        raise ValueError(
            f"tokens must be 'mean', 'max' or 'flatten', got {tokens!r}; for the token grid use embed_tokens"
        )
    features: list[torch.Tensor] = []
    labels = []
    for x, z, y in _batches(model, data, batch_size, encoder):
        if z.dim() == 2 and not features and (tokens != "mean" or window is not None):
            asked = f"{tokens!r}" + (f" over stretches of {window}" if window is not None else "")
            warnings.warn(
                f"the encoder pools its own tokens (one vector per item), so pooling them {asked} (eval.features, "
                "eval.pool_window) changes nothing: the features are that vector (an encoder with a pool "
                "parameter returns its tokens with pool='none')",
                stacklevel=2,
            )
        pooled = pool_tokens(z, token_padding(x, z), tokens, window) if z.dim() == 3 else z
        features.append(pooled.float().cpu())
        if y is not None:
            labels.append(torch.as_tensor(y).cpu())
    return _checked(torch.cat(features)), (torch.cat(labels) if labels else None)


def embed_tokens(
    model: Any,
    data: Iterable[Any],
    *,
    batch_size: int = 256,
    encoder: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """The token grid of every item: ``(tokens (N, T, D), padding (N, T), labels)``.

    ``padding`` is True at padded tokens (see :func:`token_padding`), whose values
    are zeroed. An encoder that returns pooled ``(B, D)`` embeddings gives one token
    per item. Batches with fewer tokens than the longest are padded to it.
    """
    grids, paddings, labels = [], [], []
    for x, z, y in _batches(model, data, batch_size, encoder):
        if z.dim() == 2:
            z = z.unsqueeze(1)
        padding = token_padding(x, z)
        grids.append(pool_tokens(z, padding, "flatten").reshape(z.shape).float().cpu())
        paddings.append(padding.cpu())
        if y is not None:
            labels.append(torch.as_tensor(y).cpu())
    longest = max(grid.shape[1] for grid in grids)
    tokens = torch.cat([F.pad(grid, (0, 0, 0, longest - grid.shape[1])) for grid in grids])
    padding = torch.cat([F.pad(mask, (0, longest - mask.shape[1]), value=True) for mask in paddings])
    return _checked(tokens), padding, (torch.cat(labels) if labels else None)


# -- the raw-input baseline ---------------------------------------------------------------------------


def raw_features(*datasets: Iterable[Any]) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
    """The inputs themselves as features, for the ``raw`` baseline: ``(x, y)`` per dataset.

    * tensors (images, series): flattened, non-finite values (NaN padding, missing
      values) replaced by 0, i.e. zero padding; shorter items are zero-padded at the
      end to the longest;
    * mappings whose ``"x"`` holds integer token ids (text): a bag of tokens, the
      frequency of each token id over the unpadded positions (``padding_mask``),
      one column per id seen in the first dataset (the one probes are fitted on);
    * other mappings: their ``"x"``, as tensors (steps their ``padding_mask``
      marks read as 0).

    The datasets share one feature space, so pass the train and test sets together.
    """
    items = [[split_item(_single(item)) for item in _items(dataset)] for dataset in datasets]
    inputs = [[x for x, _ in rows] for rows in items]
    labels = [_labels([y for _, y in rows]) for rows in items]
    if any(isinstance(x, Mapping) for rows in inputs for x in rows):
        inputs = [[_mapping_input(x) for x in rows] for rows in inputs]
    if any(isinstance(x, tuple) for rows in inputs for x in rows):  # token ids with their padding
        features = _bag_of_tokens(inputs)
    else:
        flat = [[torch.as_tensor(x).reshape(-1).float() for x in rows] for rows in inputs]
        width = max((x.numel() for rows in flat for x in rows), default=0)
        features = [
            torch.stack([F.pad(x, (0, width - x.numel())) for x in rows]) if rows else torch.zeros(0, width)
            for rows in flat
        ]
        features = [torch.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0) for x in features]
    return list(zip(features, labels, strict=True))


# -- the frame-averaged baseline ----------------------------------------------------------------------


def _clip_of(item: Any) -> torch.Tensor:
    clip = item[0] if isinstance(item, (tuple, list)) else item
    if not isinstance(clip, torch.Tensor) or clip.dim() != 4:
        shape = tuple(clip.shape) if isinstance(clip, torch.Tensor) else type(clip).__name__
        raise SpecError(
            f"the frame_average baseline reads clips (C, T, H, W), or (clip, label) items; got {shape}", "data"
        )
    return clip


class ClipFrames(torch.utils.data.Dataset[Any]):
    """The single frames of a clip dataset, as images: item ``i`` is frame ``i % T`` of
    clip ``i // T``, ``(C, H, W)``, with the clip's label when the clip has one.

    What the ``frame_average`` baseline's image model is trained on. Each item reads
    its whole clip; ``cache=True`` keeps every clip read (in the process that reads it)
    so that a clip is made or decoded once, not once per frame: the first draw of a
    clip is kept, so random clip starts or augmentations are no longer drawn afresh.
    """

    def __init__(self, clips: Any, cache: bool = False) -> None:
        if not (isinstance(clips, Sized) and hasattr(clips, "__getitem__")) or len(clips) == 0:
            raise SpecError("the frame_average baseline needs a non-empty map-style clip dataset", "data")
        self.clips = clips
        self.frames = int(_clip_of(clips[0]).shape[1])
        self.cache: dict[int, Any] | None = {} if cache else None

    def _clip(self, index: int) -> Any:
        if self.cache is None:
            return self.clips[index]
        if index not in self.cache:
            self.cache[index] = self.clips[index]
        return self.cache[index]

    def __len__(self) -> int:
        return len(self.clips) * self.frames

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            index += len(self)
        clip_index, frame = divmod(index, self.frames)
        item = self._clip(clip_index)
        clip = _clip_of(item)
        if isinstance(item, (tuple, list)):
            return (clip[:, frame], *item[1:])
        return clip[:, frame]

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.clips, "set_epoch"):
            self.clips.set_epoch(epoch)


class FrameAverage(nn.Module):
    """A clip encoder made of an image model: every frame of a clip ``(B, C, T, H, W)``
    is encoded on its own and the frames' outputs are averaged over time, token grids
    position by position (``(B, N, D)``), pooled embeddings as they are (``(B, D)``).

    The order of the frames is lost, so it sees what the frames show, not how they
    move: the ``frame_average`` baseline of a video recipe. ``image_model`` is a
    :class:`~jepa_core.model.JEPA` (its :meth:`~jepa_core.model.JEPA.embed` encoder)
    or an image encoder module.
    """

    def __init__(self, image_model: nn.Module, batch_size: int = 256) -> None:
        super().__init__()
        self.image_model = image_model
        self.batch_size = batch_size

    @property
    def device(self) -> torch.device:
        return next((p.device for p in self.image_model.parameters()), torch.device("cpu"))

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if not isinstance(clips, torch.Tensor) or clips.dim() != 5:
            raise ValueError(f"FrameAverage encodes clips (B, C, T, H, W); got {getattr(clips, 'shape', clips)}")
        batch, channels, steps, height, width = clips.shape
        frames = clips.transpose(1, 2).reshape(batch * steps, channels, height, width)
        z = torch.cat([_encode(self.image_model, chunk, "auto") for chunk in frames.split(self.batch_size)])
        return z.reshape(batch, steps, *z.shape[1:]).mean(dim=1)


def _items(dataset: Iterable[Any]) -> Iterable[Any]:
    if isinstance(dataset, Sized) and hasattr(dataset, "__getitem__"):
        return (dataset[index] for index in range(len(dataset)))
    return iter(dataset)


def _single(item: Any) -> Any:
    """A dataset item as a (possibly nested) structure of tensors, not numbers or arrays."""
    if isinstance(item, (tuple, list)):
        return tuple(_single(part) for part in item)
    if isinstance(item, Mapping):
        return {key: _single(value) for key, value in item.items()}
    if isinstance(item, (torch.Tensor, np.ndarray, np.generic, int, float, bool)):
        return torch.as_tensor(item)
    raise ValueError(f"the raw baseline reads tensors, arrays and numbers; got a {type(item).__name__}")


def _labels(values: list[Any]) -> torch.Tensor | None:
    if not values or any(value is None for value in values):
        return None
    return torch.stack([torch.as_tensor(value).reshape(()) for value in values])


def _mapping_input(x: Any) -> Any:
    if not isinstance(x, Mapping):
        raise ValueError("the raw baseline needs every item of one kind; got mappings mixed with tensors")
    if "x" not in x:
        raise ValueError(f"the raw baseline reads a mapping item's 'x'; these items have {', '.join(sorted(x))}")
    value = torch.as_tensor(x["x"])
    padding = x.get("padding_mask")
    padding = torch.as_tensor(padding).bool() if padding is not None else None
    if value.is_floating_point() or value.dtype == torch.bool:
        if padding is not None and tuple(value.shape[: padding.dim()]) == tuple(padding.shape):
            # padded steps read as 0, as NaN padding does
            value = value.float().masked_fill(padding.reshape(*padding.shape, *[1] * (value.dim() - padding.dim())), 0)
        return value
    keep = ~padding if padding is not None else torch.ones_like(value, dtype=torch.bool)
    return (value, keep)


def _bag_of_tokens(inputs: list[list[Any]]) -> list[torch.Tensor]:
    if not all(isinstance(x, tuple) for rows in inputs for x in rows):
        raise ValueError("the raw baseline needs every item of one kind; got token ids mixed with values")
    ids_of = [[x[0].reshape(-1)[x[1].reshape(-1)].long() for x in rows] for rows in inputs]
    # one column per id the probes can learn from: those in the first (train) dataset
    seen = torch.unique(torch.cat(ids_of[0])) if ids_of and ids_of[0] else torch.zeros(0, dtype=torch.long)
    features = []
    for rows in ids_of:
        matrix = torch.zeros(len(rows), len(seen))
        for row, ids in enumerate(rows):
            if ids.numel() == 0:
                continue
            column = torch.searchsorted(seen, ids).clamp_max(max(len(seen) - 1, 0))
            known = seen[column] == ids if len(seen) else torch.zeros_like(ids, dtype=torch.bool)
            matrix[row].index_add_(0, column[known], torch.ones(int(known.sum())))
            matrix[row] /= ids.numel()
        features.append(matrix)
    return features


# -- probes ------------------------------------------------------------------------------------------


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = train.mean(0, keepdim=True)
    std = train.std(0, keepdim=True).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


def _num_classes(*labels: torch.Tensor) -> int:
    return int(max(int(y.max()) for y in labels if len(y))) + 1


def shown_classes(values: Sequence[Any]) -> str:
    """The first eight of ``values``, then how many more (for error messages)."""
    listed = ", ".join(str(value) for value in values[:8])
    return listed + (f" and {len(values) - 8} more" if len(values) > 8 else "")


def class_names(dataset: Any) -> tuple[str, ...] | None:
    """The class names a dataset lists (``dataset.classes``, in label-index order), if any."""
    names = getattr(dataset, "classes", None)
    if names is None or isinstance(names, (str, bytes)) or not isinstance(names, Sequence):
        return None
    return tuple(str(name) for name in names)


def class_alignment(train_data: Any, test_data: Any) -> torch.Tensor | None:
    """When both datasets list their class names and number them differently (each
    folder or file numbering the classes it holds: a test folder without one of
    train's classes), the index in train's numbering of each test class index; None
    when the numberings agree or neither dataset lists names. A test class that train
    lacks raises a :class:`~jepa_core.errors.SpecError` at ``eval.test`` naming it, and
    so do class names on one side only: the other side's bare numbers could mean any
    class, so the probes would score a numbering, not the representation."""
    train_names, test_names = class_names(train_data), class_names(test_data)
    if (train_names is None) != (test_names is None) and (train_names or test_names):
        named, bare = ("eval.train", "eval.test") if train_names else ("eval.test", "eval.train")
        names = train_names or test_names or ()
        order = ", ".join(f"{name}={index}" for index, name in enumerate(names[:4]))
        raise SpecError(
            f"{named} names its classes ({order}{', ...' if len(names) > 4 else ''}) "
            f"but {bare} gives bare class numbers, which need not mean the same classes; give both the same kind "
            "of labels: names in both, or numbers in both",
            "eval.test",
        )
    if train_names is None or test_names is None or test_names == train_names[: len(test_names)]:
        return None
    lookup = {name: index for index, name in enumerate(train_names)}
    unseen = [name for name in test_names if name not in lookup]
    if unseen:
        raise SpecError(
            f"its classes {shown_classes([repr(n) for n in unseen])} are not among eval.train's "
            f"({shown_classes([repr(n) for n in train_names])}): a probe never predicts a class it was not "
            "fitted on, so those items would always count as wrong; give eval.train items of every class "
            "eval.test holds",
            "eval.test",
        )
    return torch.tensor([lookup[name] for name in test_names])


def aligned_labels(test_y: torch.Tensor, train_data: Any, test_data: Any) -> torch.Tensor:
    """``test_y`` (labels read from ``test_data``) in ``train_data``'s class numbering,
    matched by class name as ``jepa eval`` does, so that the probes score names, not
    numbers: two image folders each number the classes they hold, in sorted order."""
    alignment = class_alignment(train_data, test_data)
    return test_y if alignment is None else alignment[test_y.long()]


def check_class_labels(labels: Any, field: str) -> None:
    """Refuse labels that are real numbers, a regression target (a ``.ts`` file's
    ``@targetLabel``): every probe here classifies. The :class:`SpecError` is located
    at ``field``."""
    values = _as_numpy(labels).reshape(-1)
    if values.dtype.kind == "f" and not np.all(np.mod(values, 1) == 0):
        shown = ", ".join(f"{value:g}" for value in values[:3])
        raise SpecError(
            f"its labels are real numbers ({shown}{', ...' if len(values) > 3 else ''}), a regression target "
            "(e.g. a .ts file with @targetLabel), which the classification probes cannot score; probe it with "
            f"eval.probes: [ridge] (ridge regression, scored by R²), give {field} a dataset with class labels, or "
            "train without probing (eval: null)",
            field,
        )


def check_probe_labels(train_y: Any, test_y: Any = None, *, names: Sequence[str] | None = None) -> None:
    """Refuse to probe with labels whose accuracy would measure nothing.

    ``train_y`` must hold at least two classes: with one, every prediction is that
    class and the accuracy is 1.000 whatever the embeddings (the sign of data read
    wrongly, e.g. an image folder whose class folders sit one level lower). ``test_y``
    must hold no class ``train_y`` lacks: a probe never predicts a class it was not
    fitted on. Labels that are real numbers (a regression target) are refused: every
    probe here classifies. A :class:`~jepa_core.errors.SpecError` located at
    ``eval.train`` or ``eval.test`` says which, and what to do; with ``names`` (the
    class names, by index) it names the classes too.
    """

    def shown(indices: list[Any]) -> str:
        if names is None:
            return shown_classes(indices)
        return shown_classes([f"{i}={names[i]!r}" if 0 <= int(i) < len(names) else i for i in indices])

    check_class_labels(train_y, "eval.train")
    if test_y is not None:
        check_class_labels(test_y, "eval.test")
    train = np.unique(_as_numpy(train_y).reshape(-1))
    if len(train) < 2:
        held = f"one class (label {shown(train.tolist())})" if len(train) else "no labels"
        raise SpecError(
            f"its labels hold {held} over {len(_as_numpy(train_y).reshape(-1))} items, and a probe needs at least "
            "two classes: with one, every prediction is right and the accuracy (1.000) measures nothing; give "
            "eval.train items of two or more classes (an image_folder's root is the folder whose sub-folders are "
            "the classes)",
            "eval.train",
        )
    if test_y is None:
        return
    unseen = np.setdiff1d(np.unique(_as_numpy(test_y).reshape(-1)), train)
    if len(unseen):
        raise SpecError(
            f"its labels hold class{'es' if len(unseen) > 1 else ''} {shown(unseen.tolist())} that "
            f"eval.train's labels lack (those hold {shown(train.tolist())}): a probe never predicts a "
            "class it was not fitted on, so those items would always count as wrong; give eval.train items of "
            "every class eval.test holds, and check that both read the same classes",
            "eval.test",
        )


def _probe_inputs(
    train_x: Any, train_y: Any, test_x: Any, test_y: Any, *, tokens: bool = False
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, int]:
    """Tensors (or arrays) checked for a probe, with the number of classes: features
    ``(N, D)`` (with ``tokens``, also ``(N, T, D)``), as many as their labels, train and
    test as wide; labels renumbered ``0 .. C-1`` in the order of train's classes, so a
    score does not depend on how the classes are numbered (0/10/20 or 1/2/3)."""
    check_probe_labels(train_y, test_y)
    train_x, train_y, test_x, test_y = (torch.as_tensor(values) for values in (train_x, train_y, test_x, test_y))
    shapes = "(items, features) or tokens (items, tokens, features)" if tokens else "(items, features)"
    for name, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        if x.dim() not in ((2, 3) if tokens else (2,)):
            fix = "" if tokens else "; flatten or pool each item's features into one vector first"
            raise ValueError(f"{name} features must be {shapes}, got shape {tuple(x.shape)}{fix}")
        if len(x) != y.numel():
            raise ValueError(
                f"{name} features hold {len(x)} items but {name} labels {y.numel()}; give one label per item"
            )
        if not tokens and x.is_floating_point() and not torch.isfinite(x).all():  # (padded tokens may be NaN)
            raise ValueError(f"{name} features hold NaN/inf; mask missing values before probing")
    if train_x.shape[-1] != test_x.shape[-1]:
        raise ValueError(
            f"train features are {train_x.shape[-1]} wide and test features {test_x.shape[-1]}; embed both with the "
            "same encoder and the same features"
        )
    classes = torch.unique(train_y.reshape(-1))
    train_y, test_y = (torch.searchsorted(classes, y.reshape(-1).to(classes.dtype)) for y in (train_y, test_y))
    return train_x, train_y, test_x, test_y, len(classes)


def linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    weight_decay: float = 1e-2,
    max_iter: int = 500,
) -> float:
    """Test accuracy of an L2-regularised logistic regression fitted on the train set
    (features ``(N, D)``, tensors or arrays)."""
    train_x, train_y, test_x, test_y, classes = _probe_inputs(train_x, train_y, test_x, test_y)
    train_x, test_x = _standardise(train_x.double(), test_x.double())
    weight = torch.zeros(train_x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")
    targets = train_y.long()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, targets) + weight_decay * weight.pow(2).sum() / 2
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = (test_x @ weight + bias).argmax(dim=1)
    return float((predicted == test_y).double().mean())


def knn_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    k: int = 5,
) -> float:
    """Test accuracy of a cosine-similarity k-nearest-neighbour majority vote (features
    ``(N, D)``, tensors or arrays; ``k`` from 1 to one less than the number of train
    examples: with all of them every test item would get the same vote)."""
    train_x, train_y, test_x, test_y, classes = _probe_inputs(train_x, train_y, test_x, test_y)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k < len(train_x):
        raise ValueError(
            f"k={k} must be from 1 to {len(train_x) - 1}: the vote is among the {len(train_x)} train examples, "
            "and with all of them every test item would get the same vote"
        )
    a = F.normalize(train_x.float(), dim=1)
    b = F.normalize(test_x.float(), dim=1)
    neighbours = (b @ a.T).topk(k, dim=1).indices
    votes = train_y[neighbours]
    counts = F.one_hot(votes, classes).sum(dim=1)
    predicted = counts.argmax(dim=1)
    return float((predicted == test_y).float().mean())


def require_sklearn(probe: str = "svm") -> None:
    """Raise a :class:`~jepa_core.errors.SpecError` naming the install command when
    scikit-learn (needed by the ``svm`` and ``ridge`` probes) is missing."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SpecError(
            f"the {probe} probe needs scikit-learn: {install_command('jepa-core', 'eval')}", "eval.probes"
        ) from None


def _as_numpy(values: Any) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        return values.detach().cpu().numpy()
    return np.asarray(values)


def _finite_features(train_x: Any, test_x: Any, probe: str) -> tuple[np.ndarray, np.ndarray]:
    """Train and test features as float64 ``(N, D)`` arrays for a scikit-learn probe,
    refusing NaN/inf (which scikit-learn would report without saying which set)."""
    arrays = []
    for name, values in (("train", train_x), ("test", test_x)):
        array = _as_numpy(values).astype(np.float64).reshape(len(values), -1)
        if not np.isfinite(array).all():
            raise ValueError(f"{name} features hold NaN/inf; mask missing values before {probe}")
        arrays.append(array)
    return arrays[0], arrays[1]


def svm_accuracy(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    folds: int = 5,
    jobs: int | None = None,
) -> tuple[float, float]:
    """``(test accuracy, chosen C)`` of an RBF SVM (``gamma="scale"``) whose ``C`` is
    picked from :data:`SVM_C_GRID` by ``folds``-fold stratified cross-validated grid
    search on the train split (TS2Vec's protocol). Arrays or tensors.

    As TS2Vec: with fewer than ``folds`` examples in some class the grid search
    cannot stratify, and the SVM is fitted with ``C=1``. Needs scikit-learn.
    """
    _probe_inputs(train_x, train_y, test_x, test_y)  # the checks every probe makes (shapes, labels)
    require_sklearn()
    from sklearn.model_selection import GridSearchCV, StratifiedKFold
    from sklearn.svm import SVC

    train_x, test_x = _finite_features(train_x, test_x, "the SVM")
    train_y, test_y = _as_numpy(train_y).reshape(-1), _as_numpy(test_y).reshape(-1)
    _, counts = np.unique(train_y, return_counts=True)
    if counts.min() < folds:
        model = SVC(kernel="rbf", gamma="scale", C=1.0).fit(train_x, train_y)
        chosen = 1.0
    else:
        search = GridSearchCV(
            SVC(kernel="rbf", gamma="scale"), {"C": list(SVM_C_GRID)}, cv=StratifiedKFold(folds), n_jobs=jobs
        )
        search.fit(train_x, train_y)
        model, chosen = search.best_estimator_, float(search.best_params_["C"])
    return float((model.predict(test_x) == test_y).mean()), chosen


def check_regression_targets(targets: Any, field: str, *, varied: bool = True) -> None:
    """Refuse targets a regression probe cannot score: values that are not finite
    numbers, or (``varied``, for the split a probe is fitted on) targets that are all
    equal (nothing to fit; R² is undefined). The :class:`~jepa_core.errors.SpecError`
    is located at ``field``."""
    array = _as_numpy(targets).reshape(-1)
    if array.dtype.kind not in "iuf" or not np.isfinite(array.astype(np.float64)).all():
        raise SpecError(
            f"the ridge probe regresses a real-valued target, and these labels are not all finite numbers "
            f"(dtype {array.dtype}); give {field} a dataset whose labels are numbers",
            field,
        )
    if varied and len(np.unique(array)) < 2:
        held = f"its {len(array)} targets all equal {array[0]:g}" if len(array) else "it holds no targets"
        raise SpecError(f"{held}: a regression needs targets that vary; give {field} items whose targets differ", field)


def ridge_probe(
    train_x: Any,
    train_y: Any,
    test_x: Any,
    test_y: Any,
    *,
    alphas: Sequence[float] = RIDGE_ALPHAS,
) -> tuple[float, float]:
    """``(test R², chosen alpha)`` of ridge regression of the real-valued ``train_y``
    on standardised features, ``alpha`` picked from ``alphas`` by (efficient)
    leave-one-out cross-validation on the train split. R² is 1 for a perfect fit, 0
    for predicting the test mean, below 0 for worse. Needs scikit-learn."""
    check_regression_targets(train_y, "eval.train")
    check_regression_targets(test_y, "eval.test", varied=False)
    require_sklearn("ridge")
    from sklearn.linear_model import RidgeCV

    train_x, test_x = _finite_features(train_x, test_x, "the ridge probe")
    mean, spread = train_x.mean(axis=0), train_x.std(axis=0)
    spread[spread < 1e-8] = 1.0  # a constant feature is only centred
    train_x, test_x = (train_x - mean) / spread, (test_x - mean) / spread
    train_y = _as_numpy(train_y).astype(np.float64).reshape(-1)
    test_y = _as_numpy(test_y).astype(np.float64).reshape(-1)
    model = RidgeCV(alphas=list(alphas)).fit(train_x, train_y)
    residual = ((test_y - model.predict(test_x)) ** 2).sum()
    total = ((test_y - test_y.mean()) ** 2).sum()
    r2 = 1.0 - residual / total if total > 0 else float(residual == 0)
    return float(r2), float(model.alpha_)


# -- the attentive probe --------------------------------------------------------------------------------


def _default_heads(dim: int) -> int:
    heads = max(1, dim // 64)  # heads of width 64, as ViT and V-JEPA's probes
    while dim % heads:
        heads -= 1
    return heads


class AttentiveClassifier(nn.Module):
    """V-JEPA's attentive probe (``AttentivePooler`` of depth 1 + a linear head).

    A learned query token cross-attends to the (standardised) frozen tokens
    ``(B, N, D)``, padded tokens excluded; a residual MLP refines the pooled vector
    and a linear layer classifies it. ``forward(tokens, padding_mask=None)`` returns
    logits ``(B, classes)``.
    """

    mean: torch.Tensor  # buffers, registered in __init__
    std: torch.Tensor

    def __init__(self, dim: int, classes: int, *, heads: int | None = None, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.heads = heads or _default_heads(dim)
        if dim % self.heads:
            raise ValueError(f"heads={self.heads} does not divide the token width {dim}")
        hidden = int(dim * mlp_ratio)
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.query = nn.Parameter(torch.zeros(1, 1, dim))
        self.norm1 = nn.LayerNorm(dim)
        self.q = nn.Linear(dim, dim)
        self.kv = nn.Linear(dim, 2 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.head = nn.Linear(dim, classes)
        init_weights(self)
        nn.init.trunc_normal_(self.query, std=0.02)

    def forward(self, tokens: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        if tokens.dim() == 2:
            tokens = tokens.unsqueeze(1)
        batch, count, dim = tokens.shape
        if padding_mask is None:
            padding_mask = torch.zeros(batch, count, dtype=torch.bool, device=tokens.device)
        keep = ~padding_mask.bool()
        x = (tokens - self.mean) / self.std
        x = torch.where(keep.unsqueeze(-1), x, torch.zeros((), dtype=x.dtype, device=x.device))
        keep = keep | ~keep.any(dim=1, keepdim=True)  # all padded: attend to the zeroed tokens, not to none
        heads, width = self.heads, dim // self.heads
        query = self.query.expand(batch, -1, -1)
        q = self.q(query).reshape(batch, 1, heads, width).transpose(1, 2)
        k, v = self.kv(self.norm1(x)).reshape(batch, count, 2, heads, width).permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=keep[:, None, None, :])
        pooled = query + self.proj(attended.transpose(1, 2).reshape(batch, 1, dim))
        pooled = pooled + self.mlp(self.norm2(pooled))
        return self.head(pooled.squeeze(1))


def _probe_lr(peak: float, step: int, steps: int) -> float:
    """Linear warmup over the first tenth of the steps, then cosine decay to 0."""
    warmup = steps // 10
    if step < warmup:
        return peak * (step + 1) / warmup
    return peak * 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(steps - warmup, 1)))


def fit_attentive_probe(
    tokens: torch.Tensor,
    labels: torch.Tensor,
    *,
    padding_mask: torch.Tensor | None = None,
    classes: int | None = None,
    steps: int = 300,
    batch_size: int = 128,
    lr: float = 3e-3,
    weight_decay: float = 0.01,
    heads: int | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> AttentiveClassifier:
    """Train an :class:`AttentiveClassifier` on frozen tokens ``(N, T, D)`` (or
    pooled ``(N, D)``, one token each); returns it in eval mode.

    AdamW for ``steps`` steps of ``batch_size`` examples; the learning rate warms
    up linearly over the first tenth of the steps, then decays from ``lr`` to 0 on
    a cosine. (V-JEPA trains its probes at 1e-3 for 20 epochs of large sets; a
    budget of a few hundred steps needs the higher peak.) Tokens are standardised
    with the train statistics of the unpadded tokens; weight decay applies to the
    weight matrices only. The same ``seed`` gives the same probe.
    """
    tokens = torch.as_tensor(tokens)
    if tokens.dim() == 2:
        tokens = tokens.unsqueeze(1)
    tokens = tokens.float()
    if padding_mask is None:
        padding_mask = torch.zeros(tokens.shape[:2], dtype=torch.bool)
    padding_mask = torch.as_tensor(padding_mask).bool().cpu()
    check_probe_labels(labels)
    labels = torch.as_tensor(labels).long().cpu()
    classes = classes or _num_classes(labels)
    real = tokens.cpu()[~padding_mask]
    if len(real) == 0:
        real = torch.zeros(1, tokens.shape[-1])
    with torch.random.fork_rng(devices=[]):  # a seeded probe that leaves the caller's RNG alone
        torch.manual_seed(seed)
        probe = AttentiveClassifier(tokens.shape[-1], classes, heads=heads)
    probe.mean.copy_(real.mean(0))
    probe.std.copy_(real.std(0, unbiased=False).clamp_min(1e-6) if len(real) > 1 else torch.ones_like(real[0]))
    probe.to(device).train()
    parameters = [p for p in probe.parameters() if p.requires_grad]
    decayed = [p for p in parameters if p.dim() >= 2 and p is not probe.query]
    plain = [p for p in parameters if not (p.dim() >= 2 and p is not probe.query)]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}], lr=lr
    )
    generator = torch.Generator().manual_seed(seed)
    order = torch.empty(0, dtype=torch.long)
    size = min(batch_size, len(labels))
    for step in range(steps):
        if len(order) < size:  # a fresh shuffle per epoch
            order = torch.cat([order, torch.randperm(len(labels), generator=generator)])
        chosen, order = order[:size], order[size:]
        for group in optimizer.param_groups:
            group["lr"] = _probe_lr(lr, step, steps)
        logits = probe(tokens[chosen].to(device), padding_mask[chosen].to(device))
        loss = F.cross_entropy(logits, labels[chosen].to(device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return probe.eval()


@torch.no_grad()
def predict_attentive(
    probe: AttentiveClassifier,
    tokens: torch.Tensor,
    padding_mask: torch.Tensor | None = None,
    *,
    batch_size: int = 1024,
) -> torch.Tensor:
    """Logits ``(N, classes)`` of a fitted probe, computed in batches."""
    tokens = torch.as_tensor(tokens)
    if tokens.dim() == 2:
        tokens = tokens.unsqueeze(1)
    padding_mask = (
        torch.zeros(tokens.shape[:2], dtype=torch.bool) if padding_mask is None else torch.as_tensor(padding_mask)
    )
    device = probe.mean.device
    out = [
        probe(tokens[i : i + batch_size].float().to(device), padding_mask[i : i + batch_size].to(device)).cpu()
        for i in range(0, len(tokens), batch_size)
    ]
    return torch.cat(out) if out else torch.zeros(0, probe.head.out_features)


def attentive_probe(
    train_tokens: torch.Tensor,
    train_y: torch.Tensor,
    test_tokens: torch.Tensor,
    test_y: torch.Tensor,
    *,
    train_padding: torch.Tensor | None = None,
    test_padding: torch.Tensor | None = None,
    **settings: Any,
) -> float:
    """Test accuracy of an attentive probe trained on the train tokens ``(N, T, D)``
    (or pooled ``(N, D)``; tensors or arrays; ``settings``: those of
    :func:`fit_attentive_probe`)."""
    train_tokens, train_y, test_tokens, test_y, classes = _probe_inputs(
        train_tokens, train_y, test_tokens, test_y, tokens=True
    )
    settings.setdefault("classes", classes)
    probe = fit_attentive_probe(train_tokens, train_y, padding_mask=train_padding, **settings)
    predicted = predict_attentive(probe, test_tokens, test_padding).argmax(dim=1)
    return float((predicted == test_y.cpu()).float().mean())


def few_shot_split(
    labels: torch.Tensor,
    shots: int,
    generator: torch.Generator,
    class_names: Sequence[Any] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of ``shots`` random examples per class (train) and all the others (test).
    ``class_names`` (indexed by label) name a class that holds too few."""
    train = []
    for cls in labels.unique():
        members = (labels == cls).nonzero().flatten()
        if len(members) < shots:
            index = int(cls)
            named = f" ({class_names[index]!r})" if class_names is not None and 0 <= index < len(class_names) else ""
            raise ValueError(f"class {index}{named} has {len(members)} examples, fewer than shots={shots}")
        train.append(members[torch.randperm(len(members), generator=generator)[:shots]])
    train_idx = torch.cat(train)
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[train_idx] = False
    return train_idx, mask.nonzero().flatten()


__all__ = [
    "RIDGE_ALPHAS",
    "SPLIT_NAMES",
    "SVM_C_GRID",
    "TOKEN_POOLS",
    "AttentiveClassifier",
    "ClipFrames",
    "FrameAverage",
    "aligned_labels",
    "attentive_probe",
    "check_probe_labels",
    "check_regression_targets",
    "class_alignment",
    "class_names",
    "embed_dataset",
    "embed_tokens",
    "few_shot_split",
    "fit_attentive_probe",
    "knn_accuracy",
    "linear_probe",
    "pool_tokens",
    "predict_attentive",
    "raw_features",
    "require_sklearn",
    "ridge_probe",
    "split_item",
    "svm_accuracy",
    "token_padding",
]
