"""A reader for the UCR/UEA ``.ts`` time-series format (sktime/aeon archives).

The supported subset:

* comment lines starting with ``#`` (or ``%``, as some archive files have) and
  blank lines, anywhere;
* header tags, case-insensitive, before ``@data``: ``@problemName``,
  ``@timeStamps false`` (timestamped series are refused), ``@missing``,
  ``@univariate``, ``@dimensions N``, ``@equalLength``, ``@seriesLength N``,
  ``@classLabel true L1 L2 ...`` / ``@classLabel false``, ``@targetLabel true|false``
  (a regression target);
* after ``@data``, one case per line: the dimensions separated by ``:``, each a
  comma-separated list of numbers, then (with ``@classLabel true`` or
  ``@targetLabel true``) the label as the last ``:`` field. ``?`` or ``NaN`` is a
  missing value. Dimensions of one case may differ in length (the shorter ones are
  padded with NaN); cases may differ in length unless ``@equalLength true``.

Anything else is refused with a :class:`TSFormatError` naming the file and line.

:func:`read_ucr_tsv` reads the other layout the univariate archive is published in
(the UCR archive 2018's ``NAME_TRAIN.tsv``, which TS2Vec's scripts read): one series
per line, the class label first, then the values, separated by tabs (or commas);
``NaN`` pads a shorter series at the end and marks a missing value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

_BOOLEAN_TAGS = ("timestamps", "missing", "univariate", "equallength")
_INTEGER_TAGS = ("dimensions", "serieslength")
_MISSING_TOKENS = frozenset({"?", "nan"})


class TSFormatError(ValueError):
    """A ``.ts`` file that this reader cannot parse; says where (``source:line``)."""

    def __init__(self, message: str, source: str, line: int | None = None) -> None:
        self.source = source
        self.line = line
        self.reason = message
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")


@dataclass
class TSData:
    """The content of a ``.ts`` file.

    ``series``: one ``(T_i, C)`` float64 array per case, NaN where missing.
    ``labels``: per case, the class label string (classification), the float
    target (regression), or None. ``class_labels``: the declared classes, in the
    order of the ``@classLabel`` tag. ``metadata``: the header tags (lower-case).
    """

    series: list[np.ndarray]
    labels: list[Any] | None
    class_labels: tuple[str, ...] | None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_channels(self) -> int:
        return self.series[0].shape[1]

    @property
    def lengths(self) -> list[int]:
        return [s.shape[0] for s in self.series]

    def class_indices(self) -> np.ndarray:
        """Class labels as indices into ``class_labels``."""
        if self.class_labels is None or self.labels is None:
            raise ValueError("this .ts file has no class labels")
        lookup = {label: i for i, label in enumerate(self.class_labels)}
        return np.array([lookup[label] for label in self.labels], dtype=np.int64)

    def to_array(self) -> np.ndarray:
        """``(N, T_max, C)`` float64, shorter cases padded with NaN at the end."""
        longest = max(self.lengths)
        out = np.full((len(self.series), longest, self.num_channels), np.nan)
        for i, case in enumerate(self.series):
            out[i, : case.shape[0]] = case
        return out


def read_ts(path: str | Path) -> TSData:
    """Parse the ``.ts`` file at ``path``."""
    return _read(Path(path), parse_ts, ".ts")


def _read(path: Path, parse: Callable[[Iterable[str], str], TSData], kind: str) -> TSData:
    if not path.is_file():
        raise FileNotFoundError(f"no {kind} file at {str(path)!r}")
    # utf-8-sig: a byte-order mark (as Excel and Notepad write) is not part of the first line
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        return parse(handle, str(path))


def parse_ts(lines: Iterable[str], source: str = "<string>") -> TSData:
    """Parse ``.ts`` content given as lines (e.g. ``text.splitlines()``)."""
    metadata: dict[str, Any] = {}
    class_labels: tuple[str, ...] | None = None
    in_data = False
    series: list[np.ndarray] = []
    labels: list[Any] = []
    dimensions: int | None = None
    has_label = False
    regression = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        if not in_data:
            if not line.startswith("@"):
                raise TSFormatError(
                    f"expected a header tag (@...) or @data before the series, got {_clip(line)!r}", source, number
                )
            tag, _, rest = line[1:].partition(" ")
            tag, words = tag.lower(), rest.split()
            if tag == "data":
                if words:
                    raise TSFormatError("@data takes no value; the series start on the next line", source, number)
                in_data = True
                has_label, regression, dimensions = _check_header(metadata, source, number)
                continue
            if tag == "problemname":  # a name only: files that list two (aeon's UnitTest) keep the first
                metadata.setdefault(tag, rest.strip())
                continue
            if tag in metadata:
                raise TSFormatError(f"@{tag} is given twice", source, number)
            if tag in _BOOLEAN_TAGS or tag == "targetlabel":
                metadata[tag] = _boolean(tag, words, source, number)
                if tag == "timestamps" and metadata[tag]:
                    raise TSFormatError("timestamped series (@timeStamps true) are not supported", source, number)
            elif tag in _INTEGER_TAGS:
                metadata[tag] = _positive_int(tag, words, source, number)
            elif tag == "classlabel":
                metadata[tag] = _boolean(tag, words[:1], source, number)
                if metadata[tag]:
                    if len(words) < 2:
                        raise TSFormatError("@classLabel true must list the class labels", source, number)
                    if len(set(words[1:])) != len(words) - 1:
                        raise TSFormatError("@classLabel lists a label twice", source, number)
                    class_labels = tuple(words[1:])
                elif len(words) > 1:
                    raise TSFormatError("@classLabel false takes no labels", source, number)
            else:
                raise TSFormatError(f"unknown header tag @{tag}", source, number)
            continue
        if line.startswith("@"):
            raise TSFormatError(f"header tag {_clip(line)!r} after @data", source, number)
        fields = line.split(":")
        label: Any = None
        if has_label:
            if len(fields) < 2:
                raise TSFormatError("expected values, then ':' and the label", source, number)
            text = fields.pop().strip()
            if regression:
                try:
                    label = float(text)
                except ValueError:
                    raise TSFormatError(f"target {text!r} is not a number", source, number) from None
            elif text not in class_labels:  # type: ignore[operator]
                raise TSFormatError(
                    f"class label {text!r} is not among those declared by @classLabel ({', '.join(class_labels)})",
                    source,
                    number,
                )
            else:
                label = text
        if dimensions is None:
            dimensions = len(fields)  # the first case fixes it when the header did not
        if len(fields) != dimensions:
            raise TSFormatError(
                f"expected {dimensions} dimension(s) separated by ':', got {len(fields)}", source, number
            )
        channels = [_values(text, d, source, number) for d, text in enumerate(fields)]
        length = max(len(c) for c in channels)
        case = np.full((length, dimensions), np.nan)
        for d, channel in enumerate(channels):
            case[: len(channel), d] = channel
        _check_length(case, metadata, series, source, number)
        series.append(case)
        labels.append(label)
    if not in_data:
        raise TSFormatError("no @data line: the file holds no series", source)
    if not series:
        raise TSFormatError("@data is followed by no series", source)
    return TSData(series=series, labels=labels if has_label else None, class_labels=class_labels, metadata=metadata)


def read_ucr_tsv(path: str | Path) -> TSData:
    """Parse a UCR archive 2018 ``.tsv`` file at ``path`` (see the module docstring)."""
    return _read(Path(path), parse_ucr_tsv, ".tsv")


def parse_ucr_tsv(lines: Iterable[str], source: str = "<string>") -> TSData:
    """Parse UCR ``.tsv`` content given as lines: per line a class label, then the values.

    Trailing ``NaN`` (the archive's padding of a shorter series) is dropped; one inside a
    series stays, a missing value. ``class_labels`` are the file's labels in sorted order
    (by value where all are numbers, so ``-1, 1`` or ``1, 2, 10``), each written as the
    file writes it, but a whole number without its ``.0``, so ``1`` and ``1.0`` are one class.
    """
    series: list[np.ndarray] = []
    labels: list[str] = []
    for number, raw in enumerate(lines, start=1):
        # only the end is trimmed: a line that starts with a tab has an empty label, not none
        line = raw.lstrip("\ufeff") if number == 1 else raw
        line = line.rstrip()
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split(",")
        if len(fields) < 2:
            raise TSFormatError(
                "expected a class label, then the values, separated by tabs (the UCR archive's .tsv layout)",
                source,
                number,
            )
        label = fields[0].strip()
        if not label or label.lower() in _MISSING_TOKENS:
            raise TSFormatError("the first field, the class label, is empty or missing", source, number)
        try:
            values = _numbers(fields[1:], "value", "NaN", source, number)
        except TSFormatError as error:
            if series or not error.reason.startswith("value 1: "):
                raise
            raise TSFormatError(  # the first line, first value: a header row, which the layout has none of
                f"{error.reason}; a .tsv of the UCR archive has no header row: remove it", source, number
            ) from None
        observed = np.flatnonzero(~np.isnan(values))
        if len(observed) == 0:
            raise TSFormatError("the series has no value that is not NaN", source, number)
        series.append(values[: observed[-1] + 1, None])
        labels.append(_canonical_label(label))
    if not series:
        raise TSFormatError("the file holds no series", source)
    return TSData(series=series, labels=labels, class_labels=sorted_labels(labels), metadata={})


def _canonical_label(label: str) -> str:
    try:
        value = float(label)
    except ValueError:
        return label
    return str(int(value)) if value.is_integer() else label


def sorted_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Distinct class labels in sorted order, by value when every label is a number."""
    distinct = set(labels)
    try:
        return tuple(sorted(distinct, key=float))
    except ValueError:
        return tuple(sorted(distinct))


def _check_header(metadata: dict[str, Any], source: str, number: int) -> tuple[bool, bool, int | None]:
    """``(has_label, regression, dimensions)`` from a complete header."""
    classification = metadata.get("classlabel", False)
    regression = metadata.get("targetlabel", False)
    if classification and regression:
        raise TSFormatError("@classLabel true and @targetLabel true cannot both hold", source, number)
    dimensions = metadata.get("dimensions")
    if metadata.get("univariate") is True:
        if dimensions not in (None, 1):
            raise TSFormatError(f"@univariate true but @dimensions {dimensions}", source, number)
        dimensions = 1
    return classification or regression, regression, dimensions


def _check_length(
    case: np.ndarray, metadata: dict[str, Any], earlier: list[np.ndarray], source: str, number: int
) -> None:
    if not metadata.get("equallength"):
        return
    expected = metadata.get("serieslength") or (earlier[0].shape[0] if earlier else None)
    if expected is not None and case.shape[0] != expected:
        raise TSFormatError(
            f"@equalLength true but this series has {case.shape[0]} values, not {expected}", source, number
        )


def _values(text: str, dimension: int, source: str, number: int) -> np.ndarray:
    return _numbers(text.split(","), f"dimension {dimension + 1}, value", "'?'", source, number)


def _numbers(parts: Sequence[str], where: str, missing: str, source: str, number: int) -> np.ndarray:
    """The numbers of ``parts``; a missing one is NaN. ``where`` and ``missing`` word the error."""
    out = np.empty(len(parts))
    for i, part in enumerate(parts):
        token = part.strip()
        if token.lower() in _MISSING_TOKENS:
            out[i] = math.nan
            continue
        try:
            out[i] = float(token)
        except ValueError:
            what = "an empty value" if not token else f"{_clip(token)!r}, not a number"
            raise TSFormatError(
                f"{where} {i + 1}: {what} (write {missing} for a missing value)", source, number
            ) from None
    return out


def _boolean(tag: str, words: list[str], source: str, number: int) -> bool:
    if len(words) != 1 or words[0].lower() not in ("true", "false"):
        raise TSFormatError(f"@{tag} takes true or false, got {' '.join(words)!r}", source, number)
    return words[0].lower() == "true"


def _positive_int(tag: str, words: list[str], source: str, number: int) -> int:
    try:
        value = int(words[0]) if len(words) == 1 else -1
    except ValueError:
        value = -1
    if value <= 0:
        raise TSFormatError(f"@{tag} takes a positive integer, got {' '.join(words)!r}", source, number)
    return value


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
