"""Series datasets: ``series_csv``, ``series_numpy`` and ``ucr`` (UCR/UEA ``.ts`` files or
the UCR archive 2018's ``.tsv``, by default the ``.ts`` files that ship inside aeon).

Each factory returns a :class:`SeriesDataset`, a map-style torch dataset whose items
are ``x`` (a float32 ``(T, C)`` tensor), ``(x, label)`` when the series are labelled,
or ``(past, future)`` when a forecasting ``horizon`` is set (the
``state_t -> state_t1`` pairs). Every item of one dataset has the same length, so
the default collate stacks them: a series shorter than the others (or than the
window) is padded at the end with NaN, and missing values stay NaN. The encoders of
this plugin read NaN as "not observed" and mask it out; nothing is imputed here.

``crop`` serves each series as one random window of ``crop`` steps per access (a
fresh window every epoch: TS2Vec's random cropping, for pretraining on long series);
evaluation datasets leave it unset and serve whole series.
"""

from __future__ import annotations

import csv
import difflib
import importlib.util
import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import torch
from jepa import install_command
from jepa.limits import Tokens
from pydantic import Field
from torch.utils.data import Dataset

from jepa_plugins_timeseries.ts_format import TSData, read_ts, read_ucr_tsv, sorted_labels

Normalize = Literal["series", "window", "none"]
ShortSeries = Literal["pad", "drop"]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
_MISSING_CELLS = frozenset({"", "?", "na", "nan", "null", "none"})


def _channel_stats(reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each channel of ``reference`` ``(T, C)`` over its
    observed values; a constant channel's deviation is 1 (it is only centred)."""
    observed = np.isfinite(reference)
    counts = np.maximum(observed.sum(axis=0), 1)
    mean = np.where(observed, reference, 0.0).sum(axis=0) / counts
    spread = np.sqrt((np.where(observed, reference - mean, 0.0) ** 2).sum(axis=0) / counts)
    return mean, np.where(spread > 1e-8, spread, 1.0)


def _zscore(values: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Standardise each channel of ``values`` ``(T, C)`` by the observed values of
    ``reference`` (default: itself); a constant channel is only centred."""
    mean, spread = _channel_stats(values if reference is None else reference)
    return (values - mean) / spread


def _z_normalised(series: Sequence[np.ndarray]) -> bool:
    """Whether every channel of every series has mean 0 and standard deviation 1
    (with either denominator, T or T-1), as the archive's z-normalised problems do."""
    for values in series:
        for channel in values.T:  # (T, C): one row per channel
            observed = channel[np.isfinite(channel)]
            if len(observed) < 2 or abs(observed.mean()) > 1e-3:
                return False
            if not any(abs(observed.std(ddof=ddof) - 1.0) < 1e-3 for ddof in (0, 1)):
                return False
    return True


def _standardised_by(reference: Sequence[np.ndarray], series: list[np.ndarray]) -> list[np.ndarray]:
    """``series`` with each channel standardised by the observed values of all of
    ``reference``; unchanged when ``reference`` is z-normalised series by series."""
    if _z_normalised(reference):
        return series
    mean, spread = _channel_stats(np.concatenate(reference))  # a .ts file's series are (T_i, C) float64
    return [((s - mean) / spread).astype(np.float32) for s in series]


class SeriesDataset(Dataset):
    """Series (and their labels) served whole or as sliding windows.

    Args:
        series: one ``(T_i, C)`` (or ``(T_i,)``) array per series; NaN = missing.
        labels: one per series: class indices, class names (mapped to indices in
            sorted order unless ``classes`` is given) or floats (regression).
        classes: the class names, in index order.
        window: serve windows of this many steps instead of whole series.
        stride: steps between the starts of consecutive windows.
        horizon: serve ``(past, future)`` pairs: ``window`` steps and the
            ``horizon`` steps after them (labels are then not served).
        normalize: ``"series"`` z-normalises each channel of each series,
            ``"window"`` each item by the statistics of its (past) window only, so
            nothing of the future leaks into the input; ``"none"`` leaves values.
        short: a series shorter than ``window + horizon`` gives one NaN-padded
            item (``"pad"``) or none (``"drop"``).
        max_missing: items with a larger fraction of missing values are dropped;
            a series with no observed value at all is always left out, with a
            warning that counts them.
        crop: serve each whole series as a random window of ``crop`` steps (or of
            the longest series' length, if shorter), drawn anew at every access
            from torch's global random generator: the Trainer seeds it with
            ``train.seed`` and checkpoints it, so a run (and its resumption) draws
            the same windows. The window lies within the series' own length; a
            series shorter than it is served whole, NaN-padded at the end. For
            pretraining; not with ``window``/``horizon``.
    """

    def __init__(
        self,
        series: Sequence[np.ndarray | torch.Tensor],
        labels: Sequence[Any] | np.ndarray | None = None,
        *,
        classes: Sequence[str] | None = None,
        window: int | None = None,
        stride: int = 1,
        horizon: int | None = None,
        normalize: Normalize = "series",
        short: ShortSeries = "pad",
        max_missing: float = 1.0,
        crop: int | None = None,
    ) -> None:
        if len(series) == 0:
            raise ValueError("a series dataset needs at least one series")
        if horizon is not None and window is None:
            raise ValueError("horizon needs window: (past, future) pairs are cut from windows")
        if normalize not in ("series", "window", "none"):
            raise ValueError(f"normalize must be 'series', 'window' or 'none', got {normalize!r}")
        if short not in ("pad", "drop"):
            raise ValueError(f"short must be 'pad' or 'drop', got {short!r}")
        if crop is not None and window is not None:
            raise ValueError("crop serves random windows of whole series; it does not combine with window")
        for name, value in (("window", window), ("stride", stride), ("horizon", horizon), ("crop", crop)):
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive, got {value}")
        self.series = [self._as_array(s, i) for i, s in enumerate(series)]
        channels = {s.shape[1] for s in self.series}
        if len(channels) > 1:
            raise ValueError(f"all series need the same number of channels, got {sorted(channels)}")
        self.num_channels = channels.pop()
        if normalize == "series":
            self.series = [_zscore(s).astype(np.float32) for s in self.series]
        self.normalize = normalize
        self.window = window
        self.horizon = horizon
        self.labels, self.classes = self._encode_labels(labels, classes, len(self.series))
        longest = max(len(s) for s in self.series)
        self.span = (window + (horizon or 0)) if window is not None else longest
        if window is not None and short == "pad" and window > longest:
            warnings.warn(
                f"window is {window} steps, longer than every series (the longest has {longest}): each item is "
                f"at least {1 - longest / window:.0%} padding; use a "
                "shorter window, or crop (which reads a series shorter than it whole)",
                stacklevel=2,
            )
        self.crop = min(crop, self.span) if crop is not None else None
        if self.crop is not None:
            self.span = self.crop
        self.index = self._build_index(stride, short, max_missing)
        # a series with no observed value has nothing to embed (it would embed as zeros)
        unobserved = [position for position, values in enumerate(self.series) if not np.isfinite(values).any()]
        if not self.index:
            reasons = []
            if short == "drop":
                reasons.append(f"is shorter than {self.span} steps (short='drop')")
            if max_missing < 1.0:
                reasons.append(f"has more than max_missing={max_missing} of its values missing")
            if unobserved:
                reasons.append("holds no observed value (all NaN or inf)")
            raise ValueError(
                "no item left: every series "
                + (
                    "holds no observed value (all NaN or inf)"
                    if len(unobserved) == len(self.series)
                    else " or ".join(reasons)
                )
            )
        if unobserved:
            shown = ", ".join(map(str, unobserved[:5])) + (
                f" and {len(unobserved) - 5} more" if len(unobserved) > 5 else ""
            )
            warnings.warn(
                f"{len(unobserved)} of {len(self.series)} series hold no observed value (all NaN or inf) and are left "
                f"out (series {shown}); scores on this dataset count the others only",
                stacklevel=2,
            )

    @staticmethod
    def _as_array(values: np.ndarray | torch.Tensor, position: int) -> np.ndarray:
        array = values.numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise ValueError(f"series {position} must be (time,) or (time, channels), got shape {array.shape}")
        if array.shape[0] == 0:
            raise ValueError(f"series {position} is empty")
        return array.astype(np.float32)

    @property
    def num_classes(self) -> int | None:
        """How many classes the labels index (None when unlabelled or a regression)."""
        if self.labels is None or self.labels.dtype != np.int64:
            return None
        return len(self.classes) if self.classes is not None else int(self.labels.max()) + 1

    @property
    def length(self) -> int:
        """Steps per served item (the past window when a horizon is set)."""
        return self.window if self.window is not None else self.span

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: int) -> Any:
        position, start = self.index[item]
        if self.crop is not None:
            room = len(self.series[position]) - self.crop
            start = int(torch.randint(0, room + 1, ())) if room > 0 else 0
        values = self.series[position][start : start + self.span]
        if values.shape[0] < self.span:  # a short series: pad the end as unobserved
            values = np.concatenate(
                [values, np.full((self.span - values.shape[0], self.num_channels), np.nan, dtype=np.float32)]
            )
        past = values[: self.length]
        if self.normalize == "window":
            values = _zscore(values, reference=past).astype(np.float32)
            past = values[: self.length]
        x = torch.from_numpy(np.ascontiguousarray(past))
        if self.horizon is not None:
            return x, torch.from_numpy(np.ascontiguousarray(values[self.length :]))
        if self.labels is not None:
            label = self.labels[position]
            return x, torch.tensor(label, dtype=torch.long if self.labels.dtype == np.int64 else torch.float32)
        return x

    @staticmethod
    def _encode_labels(
        labels: Sequence[Any] | np.ndarray | None, classes: Sequence[str] | None, count: int
    ) -> tuple[np.ndarray | None, tuple[str, ...] | None]:
        if labels is None:
            return None, None
        array = np.asarray(labels)
        if array.shape != (count,):
            raise ValueError(f"got {array.shape[0] if array.ndim else 0} labels for {count} series")
        if classes is not None:
            classes = tuple(str(c) for c in classes)
            if array.dtype.kind in "US":
                lookup = {name: i for i, name in enumerate(classes)}
                unknown = sorted(set(array.tolist()) - set(lookup))
                if unknown:
                    raise ValueError(f"labels {unknown[:5]} are not among the classes {classes}")
                array = np.array([lookup[name] for name in array.tolist()])
            return array.astype(np.int64), classes
        if array.dtype.kind in "US" or array.dtype == object:
            names = tuple(sorted({str(v) for v in array.tolist()}))
            lookup = {name: i for i, name in enumerate(names)}
            return np.array([lookup[str(v)] for v in array.tolist()], dtype=np.int64), names
        if array.dtype.kind in "iub":
            if array.size and array.min() < 0:
                raise ValueError("class indices must not be negative")
            return array.astype(np.int64), None
        if array.dtype.kind == "f":
            if not np.isfinite(array).all():
                raise ValueError("regression targets must be finite (a missing target cannot be trained on)")
            return array.astype(np.float32), None
        raise ValueError(f"labels of dtype {array.dtype} are neither class indices, names nor numbers")

    def _build_index(self, stride: int, short: ShortSeries, max_missing: float) -> list[tuple[int, int]]:
        index = []
        for position, values in enumerate(self.series):
            length = values.shape[0]
            if self.crop is not None:  # one item per series; its window is drawn at access
                if np.isfinite(values).mean() >= 1.0 - max_missing and np.isfinite(values).any():
                    index.append((position, 0))
                continue
            if self.window is None:
                starts: range | list[int] = [0]
            elif length >= self.span:
                starts = range(0, length - self.span + 1, stride)
            else:
                starts = [0] if short == "pad" else []
            missing = ~np.isfinite(values)
            for start in starts:
                part = missing[start : start + self.span]
                # padding is not missing data; only the real values count
                if part.mean() <= max_missing and not part.all():
                    index.append((position, start))
        return index


def _relative_to_cwd(file: Path) -> str:
    """Where a relative path was looked for: configs' paths are read from the current directory."""
    return "" if file.is_absolute() else f" (relative to the current directory, {str(Path.cwd())!r})"


def series_numpy(
    path: str,
    key: str | None = None,
    label_key: str | None = None,
    layout: Literal["auto", "T", "TC", "NT", "NTC", "NCT"] = "auto",
    window: Tokens | None = None,
    stride: Tokens = 1,
    horizon: Tokens | None = None,
    normalize: Normalize = "series",
    short: ShortSeries = "pad",
    max_missing: Fraction = 1.0,
    crop: Tokens | None = None,
) -> SeriesDataset:
    """Series from a ``.npy`` array or an ``.npz`` archive (never unpickled).

    ``layout`` names the axes: ``T`` one univariate series, ``TC`` one multichannel
    series, ``NT``/``NTC``/``NCT`` several; ``"auto"`` reads 1-D as ``T``, 2-D as
    ``TC`` and 3-D as ``NTC``. In an ``.npz`` the series are ``key`` (default ``x``,
    or the only array) and the labels ``label_key`` (default ``y`` when present).
    NaN marks missing values.
    """
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"{path!r} is a directory; give path= a .npy or .npz file")
    if not file.is_file():
        raise FileNotFoundError(f"no NumPy file at {path!r}{_relative_to_cwd(file)}; give path= a .npy or .npz file")
    labels = None
    try:
        loaded = np.load(file, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path!r} is not a NumPy .npy/.npz file without pickled objects: {exc}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if key is None:
                key = "x" if "x" in names else (names[0] if len(names) == 1 else None)
            if key is None or key not in names:
                raise ValueError(f"{path!r}: choose the series with key=, one of {names}")
            if label_key is not None and label_key not in names:
                raise ValueError(f"{path!r} has no array {label_key!r} for the labels; it has {names}")
            if label_key is None and "y" in names and key != "y":
                label_key = "y"
            array = loaded[key]
            labels = loaded[label_key] if label_key is not None else None
    else:
        if key is not None or label_key is not None:
            raise ValueError(f"{path!r} is a single .npy array; key and label_key apply to .npz archives")
        array = loaded
    series = _split_layout(array, layout, path)
    return SeriesDataset(
        series,
        labels,
        window=window,
        stride=stride,
        horizon=horizon,
        normalize=normalize,
        short=short,
        max_missing=max_missing,
        crop=crop,
    )


def _split_layout(array: np.ndarray, layout: str, path: str) -> list[np.ndarray]:
    if array.dtype.kind not in "fiub":
        raise ValueError(f"{path!r}: series must be numbers, got dtype {array.dtype}")
    if layout == "auto":
        layout = {1: "T", 2: "TC", 3: "NTC"}.get(array.ndim, "")
    if len(layout) != array.ndim:
        raise ValueError(f"{path!r}: an array of shape {array.shape} does not have layout {layout!r}")
    if layout == "T":
        return [array[:, None]]
    if layout == "TC":
        return [array]
    if layout == "NT":
        return list(array[:, :, None])
    if layout == "NCT":
        array = array.transpose(0, 2, 1)
    return list(array)


def series_csv(
    path: str,
    columns: list[str] | None = None,
    series_column: str | None = None,
    label_column: str | None = None,
    delimiter: str = ",",
    window: Tokens | None = None,
    stride: Tokens = 1,
    horizon: Tokens | None = None,
    normalize: Normalize = "series",
    short: ShortSeries = "pad",
    max_missing: Fraction = 1.0,
    crop: Tokens | None = None,
) -> SeriesDataset:
    """Series from a CSV file with a header row: one row per time step, one column
    per channel (``columns``, default: every column but the id and label columns).

    ``series_column`` splits the rows into series by its value (in order of first
    appearance); ``label_column`` gives each series its label (it must not change
    within a series): a class name, a class index (whole numbers), or, when every
    label is a number and some have a fraction, a real-valued target (a regression,
    for the ``ridge`` probe). Class names are numbered in sorted order within the
    file; ``jepa eval`` matches a test file's classes to the train file's by name.
    Empty cells and ``NA``/``NaN``/``?`` are missing values; any
    other cell that is not a number is an error naming its line.
    """
    file = Path(path)
    if file.is_dir():
        raise IsADirectoryError(f"{path!r} is a directory; give path= a CSV file")
    if not file.is_file():
        raise FileNotFoundError(f"no CSV file at {path!r}{_relative_to_cwd(file)}; give path= a .csv file")
    with file.open(newline="", encoding="utf-8-sig") as handle:  # -sig: a BOM is no part of the header
        reader = _csv_rows(csv.reader(handle, delimiter=delimiter), path)
        header = next(reader, (1, None))[1]
        if header is None:
            raise ValueError(f"{path!r} is empty; it needs a header row naming the columns")
        header = [name.strip() for name in header]
        for name in (series_column, label_column, *(columns or [])):
            if name is not None and name not in header:
                other = next((mark for mark in (";", "\t", ",", "|") if mark != delimiter and mark in header[0]), None)
                hint = (
                    f" (it looks separated by {other!r}: set delimiter: {other!r})"
                    if len(header) == 1 and other
                    else ""
                )
                raise ValueError(f"{path!r} has no column {name!r}; its columns are {header}{hint}")
        special = {series_column, label_column}
        chosen = columns or [name for name in header if name not in special]
        if not chosen:
            raise ValueError(f"{path!r} has no value columns")
        positions = [header.index(name) for name in chosen]
        # what a column of words may be instead of values: the settings still unset
        roles = [
            role for role, value in (("series_column", series_column), ("label_column", label_column)) if value is None
        ]
        rows: dict[str, list[list[float]]] = {}
        labels: dict[str, str] = {}
        for line, row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}:{line}: {len(row)} cells, but the header names {len(header)} columns")
            series_id = row[header.index(series_column)].strip() if series_column else ""
            rows.setdefault(series_id, []).append(
                [_cell(row[i], name, path, line, roles) for i, name in zip(positions, chosen, strict=True)]
            )
            if label_column is not None:
                label = row[header.index(label_column)].strip()
                if labels.setdefault(series_id, label) != label:
                    raise ValueError(
                        f"{path}:{line}: label {label!r} differs from {labels[series_id]!r} given earlier "
                        f"for series {series_id!r}; a series has one label"
                    )
    if not rows:
        raise ValueError(f"{path!r} has a header but no rows")
    series = [np.array(values, dtype=np.float64) for values in rows.values()]
    label_list: list[Any] | None = [labels[series_id] for series_id in rows] if label_column is not None else None
    if label_list is not None and all(_is_integer(label) for label in label_list):
        label_list = [int(label) for label in label_list]  # class indices stay indices
    elif label_list is not None and all(_is_number(label) for label in label_list):
        label_list = [float(label) for label in label_list]  # numbers with fractions: a real-valued target
    return SeriesDataset(
        series,
        label_list,
        window=window,
        stride=stride,
        horizon=horizon,
        normalize=normalize,
        short=short,
        max_missing=max_missing,
        crop=crop,
    )


def _csv_rows(reader: Any, path: str) -> Any:
    """``(line, row)`` for each row of a CSV reader, the line where the row starts; a
    row the csv module cannot parse is an error naming that line."""
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ValueError(
                f"{path}:{start}: {exc} (a quote that opens a cell must close it: check that line's quotes)"
            ) from exc
        yield start, row


_ROLE_MEANINGS = {"series_column": "the series each row belongs to", "label_column": "the labels"}


def _cell(text: str, column: str, path: str, line: int, roles: Sequence[str] = ()) -> float:
    token = text.strip()
    if token.lower() in _MISSING_CELLS:
        return math.nan
    try:
        return float(token)
    except ValueError:
        instead = "".join(f"; if it names {_ROLE_MEANINGS[role]}, set {role}: {column}" for role in roles)
        raise ValueError(
            f"{path}:{line}: column {column!r} holds {token!r}, not a number (choose the value columns "
            f"with columns=[...]{instead})"
        ) from None


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def bundled_ucr_directory() -> Path:
    """Where aeon keeps the UCR/UEA series it ships, found without importing aeon."""
    spec = importlib.util.find_spec("aeon")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"the bundled UCR/UEA series come with aeon: {install_command('jepa-plugins-timeseries', 'aeon')}, "
            "or give ucr(path=...) a directory of .ts or .tsv files"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"


def bundled_ucr_names() -> list[str]:
    """The problems whose ``.ts`` train/test files ship inside aeon."""
    root = bundled_ucr_directory()
    return sorted(d.name for d in root.iterdir() if (d / f"{d.name}_TRAIN.ts").is_file())


_UCR_SUFFIXES = (".ts", ".tsv")  # the UEA/aeon layout, and the UCR archive 2018's


def ucr_names_in(folder: str | Path) -> list[str]:
    """The problems with a train file (``NAME_TRAIN.ts`` or ``.tsv``) in ``folder`` or in a
    sub-folder of their own name (``NAME/NAME_TRAIN.tsv``, the UCR archive's layout)."""
    names = set()
    for suffix in _UCR_SUFFIXES:
        for file in Path(folder).expanduser().glob(f"*_TRAIN{suffix}"):
            names.add(file.name[: -len(f"_TRAIN{suffix}")])
        for file in Path(folder).expanduser().glob(f"*/*_TRAIN{suffix}"):
            if file.name == f"{file.parent.name}_TRAIN{suffix}":
                names.add(file.parent.name)
    return sorted(names)


def unknown_problem_hint(name: str, known: Sequence[str]) -> str:
    """``"; did you mean 'GunPoint'?"``, or the problems there are when none is close."""
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    shown = ", ".join(known[:12]) + (f", ... ({len(known)} in all)" if len(known) > 12 else "")
    return f"; the problems there: {shown}" if known else ""


def find_ucr_file(name: str, split: str, path: str | None = None, needed_for: str | None = None) -> Path:
    """The file of problem ``name``'s ``split`` (train/test): ``{name}_TRAIN.ts`` or, as
    the UCR archive 2018 has it, ``{name}_TRAIN.tsv``. ``needed_for`` says why a split
    other than the one asked for is read (``normalize="train"``)."""
    file_name = f"{name}_{split.upper()}.ts"
    if path is not None:
        given = Path(path).expanduser()
        if given.is_file():
            other = "test" if split == "train" else "train"
            if _split_of(given) == other:  # eval.test reading the train file, say
                raise ValueError(
                    f"path {path!r} is a {other} file, but split is {split!r}; give path the directory that holds "
                    f"both {name}_TRAIN and {name}_TEST files (split then picks the file), or the {split} file"
                )
            return given
        for folder in (given, given / name):
            for suffix in _UCR_SUFFIXES:
                candidate = folder / f"{name}_{split.upper()}{suffix}"
                if candidate.is_file():
                    return candidate
        if not given.exists():
            where = "" if given.is_absolute() else f" (relative to the current directory, {os.getcwd()!r})"
            raise FileNotFoundError(
                f"no file or directory {path!r}{where}; give path a .ts or .tsv file or a folder of them"
            )
        other_split = "TEST" if split.upper() == "TRAIN" else "TRAIN"
        found = next(
            (
                folder / f"{name}_{other_split}{suffix}"
                for folder in (given, given / name)
                for suffix in _UCR_SUFFIXES
                if (folder / f"{name}_{other_split}{suffix}").is_file()
            ),
            None,
        )
        if found is not None:  # the problem is there, only this split's file is missing
            advice = f", which {needed_for} reads" if needed_for else ", or give split the one there is"
            raise FileNotFoundError(
                f"{name!r} has its {other_split} file there ({str(found)!r}) but no {file_name} nor {file_name}v: "
                f"add the {split} file beside it{advice}"
            )
        raise FileNotFoundError(
            f"no {file_name} nor {file_name}v in {path!r} (nor in {str(given / name)!r})"
            + unknown_problem_hint(name, ucr_names_in(given))
        )
    candidate = bundled_ucr_directory() / name / file_name
    if not candidate.is_file():
        raise FileNotFoundError(
            f"{name!r} is not among the UCR/UEA problems aeon ships ({', '.join(bundled_ucr_names())}); "
            "give path= to a directory of .ts files (or of the UCR archive 2018's .tsv)"
        )
    return candidate


def _split_of(file: Path) -> str | None:
    """``"train"`` or ``"test"`` for a file named ``NAME_TRAIN.ts`` / ``NAME_TEST.tsv``, else None."""
    stem = file.name.upper()
    for suffix in _UCR_SUFFIXES:
        if stem.endswith(suffix.upper()):
            stem = stem[: -len(suffix)]
            break
    else:
        return None
    return next((split for split in ("train", "test") if stem.endswith(f"_{split.upper()}")), None)


def _beside(file: Path, split: str) -> Path:
    """The file of the other split named like ``file`` (``X_TEST.tsv`` -> ``X_TRAIN.tsv``)."""
    other = "TEST" if split == "train" else "TRAIN"
    cut = file.name.upper().rindex(f"_{other}")
    return file.with_name(file.name[:cut] + f"_{split.upper()}" + file.name[cut + len(other) + 1 :])


def _train_file(name: str, path: str | None) -> Path:
    """The train split's file, which ``normalize="train"`` reads for the test split's numbers."""
    if path is not None and Path(path).expanduser().is_file():
        given = Path(path).expanduser()
        if _split_of(given) != "test":  # no way to tell which file is its train split
            raise ValueError(
                f"normalize: train standardises the test split by the train split's numbers, but path {path!r} "
                f"is a single file not named like a test split (NAME_TEST.ts or .tsv); give path the directory holding "
                f"{name}_TRAIN.ts and {name}_TEST.ts, or the _TEST.ts file with its _TRAIN.ts beside it"
            )
        beside = _beside(given, "train")
        if not beside.is_file():
            raise FileNotFoundError(
                f"normalize: train standardises by the train split, but there is no {beside.name} beside {path!r}; "
                "give path the directory holding both files"
            )
        return beside
    return find_ucr_file(name, "train", path, needed_for="normalize: train")


def _read_ucr(file: Path, split: str) -> TSData:
    if file.suffix.lower() != ".tsv":
        return read_ts(file)
    data = read_ucr_tsv(file)
    # a .tsv declares no classes: both splits number the labels of both files, so that
    # one class has one index in train and test even where one file lacks it
    other = "test" if split == "train" else "train"
    beside = _beside(file, other) if _split_of(file) == split else None
    if beside is not None and beside.is_file() and data.labels is not None:
        with_other = read_ucr_tsv(beside).labels or []
        data.class_labels = sorted_labels([*data.labels, *with_other])
    return data


def ucr(
    name: str,
    split: Literal["train", "test"] = "train",
    path: str | None = None,
    window: Tokens | None = None,
    stride: Tokens = 1,
    horizon: Tokens | None = None,
    normalize: Normalize | Literal["train"] = "none",
    short: ShortSeries = "pad",
    max_missing: Fraction = 1.0,
    crop: Tokens | None = None,
) -> SeriesDataset:
    """A UCR/UEA classification (or regression) problem from its ``.ts`` files.

    Without ``path`` the problem is one of those aeon ships (GunPoint,
    ItalyPowerDemand, BasicMotions, JapaneseVowels, ...; nothing is downloaded);
    ``path`` is a ``.ts`` file or a directory holding ``{name}_TRAIN.ts`` /
    ``{name}_TEST.ts`` (directly or under ``{name}/``), or the UCR archive 2018's
    ``.tsv`` files laid out the same way (``UCRArchive_2018`` itself can be the
    directory). Class indices follow the order of the file's ``@classLabel`` tag,
    which the train and test files share; for ``.tsv`` files, the sorted labels of
    both files (by value where they are numbers).
    ``normalize`` defaults to ``"none"``: most problems of the archives are
    z-normalised already. Not all: e.g. Chinatown (pedestrian counts in the
    hundreds), Covid3Month (cases, up to 20,000) and PickupGestureWiimoteZ. With
    ``"train"`` each channel is standardised by the mean and standard deviation of
    the problem's *train* split (all its observed values; the test split is
    standardised by the same numbers, so nothing is read from it), as TS2Vec does
    for those problems: amplitudes keep their relation across series, unlike with
    ``"series"``. A problem whose train series are each z-normalised already (as
    most of the archive's are) is left exactly as it is.
    ``crop`` serves each series as a random window of that many steps, drawn anew
    at every access (pretraining on long series; see :class:`SeriesDataset`).
    """
    file = find_ucr_file(name, split, path)
    data = _read_ucr(file, split)
    if normalize == "train":
        reference = data if split == "train" else _read_ucr(_train_file(name, path), "train")
        data.series = _standardised_by(reference.series, data.series)
        normalize = "none"
    if data.labels is None:
        labels, classes = None, None
    elif data.class_labels is not None:
        labels, classes = data.class_indices(), data.class_labels
    else:
        labels, classes = np.asarray(data.labels, dtype=np.float32), None
    return SeriesDataset(
        data.series,
        labels,
        classes=classes,
        window=window,
        stride=stride,
        horizon=horizon,
        normalize=normalize,
        short=short,
        max_missing=max_missing,
        crop=crop,
    )
