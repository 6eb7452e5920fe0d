"""Text datasets: ``text_lines`` (one text per line) and ``jsonl`` (a named field).

Both tokenize once, up front, and yield fixed-length padded items, so the default
``DataLoader`` collation batches them:

* ``{"x": (max_length,) ids, "padding_mask": (max_length,) bool}``, or
  ``(that, label)`` when a label is read;
* with ``paired=True``: ``{"state_t": segment, "state_t1": next segment}`` (the
  temporal form for text: predict the next segment's embedding).

Texts longer than ``max_length`` are truncated (``overflow="truncate"``) or cut
into several items (``"split"``). ``pack=True`` joins all texts, separated by the
eos token, and cuts the stream into full ``max_length`` blocks: no padding, no
waste, the usual form for pretraining.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from jepa.limits import MAX_TOKENS
from pydantic import Field
from torch.utils.data import Dataset

from jepa_plugins_text.tokenization import Tokenizer, TokenizerSpec, make_tokenizer, pad_sequences

MaxLength = Annotated[int, Field(ge=2, le=MAX_TOKENS)]
Overflow = Literal["truncate", "split"]


class TextDataset(Dataset):
    """Tokenized texts as fixed-length padded items (see the module docstring).

    ``labels`` (one per text; any hashable values) become class indices in sorted
    order of their names; ``classes`` lists the names.
    """

    def __init__(
        self,
        texts: Sequence[str],
        tokenizer: Tokenizer | Any = "bytes",
        *,
        labels: Sequence[Any] | None = None,
        max_length: int = 128,
        overflow: Overflow = "truncate",
        pack: bool = False,
        paired: bool = False,
        source: str = "texts",
    ) -> None:
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2, got {max_length}")
        if labels is not None and len(labels) != len(texts):
            raise ValueError(f"{source}: {len(labels)} labels for {len(texts)} texts")
        if labels is not None and (pack or paired):
            raise ValueError(f"{source}: labels go with one item per text; pack and paired items have none")
        self.tokenizer = make_tokenizer(tokenizer)
        self.max_length = max_length
        self.paired = paired
        self.source = source
        self.classes: list[Any] = (
            sorted(set(labels), key=lambda v: (isinstance(v, str), v)) if labels is not None else []
        )
        index = {name: i for i, name in enumerate(self.classes)}
        encoded = self.tokenizer.encode_many(texts)

        segments: list[list[int]] = []
        segment_labels: list[int] = []
        pairs: list[tuple[int, int]] = []  # (segment, next segment) when paired
        if pack:
            stream: list[int] = []
            for ids in encoded:
                stream.extend(ids)
                stream.append(self.tokenizer.eos_id)
            segments = [stream[i : i + max_length] for i in range(0, len(stream), max_length)]
            segments = [s for s in segments if len(s) == max_length] or segments[:1]
            pairs = [(i, i + 1) for i in range(len(segments) - 1)]
        else:
            for number, ids in enumerate(encoded):
                if not ids and labels is not None:  # skipping it would shift every later item off its label
                    raise ValueError(f"{source}: text {number} (label {labels[number]!r}) gives no tokens")
                if not ids:
                    continue
                cut = [ids[i : i + max_length] for i in range(0, len(ids), max_length)]
                if paired:
                    first = len(segments)
                    pairs.extend((first + i, first + i + 1) for i in range(len(cut) - 1))
                elif overflow == "truncate":
                    cut = cut[:1]
                segments.extend(cut)
                if labels is not None:
                    segment_labels.extend([index[labels[number]]] * len(cut))
        if not segments or not any(segments):
            raise ValueError(f"{source}: no non-empty text to build a dataset from")
        if paired and not pairs:
            need = (
                f"more than {max_length} tokens in all (two blocks of max_length={max_length}; it holds "
                f"{sum(len(ids) + 1 for ids in encoded)} with the end-of-text marks), so that a block has a next one"
                if pack
                else f"texts longer than max_length={max_length} tokens (or pack=True), so that a segment has a "
                "next one"
            )
            raise ValueError(f"{source}: paired mode needs {need}; give more text or a smaller max_length")
        self._segments = segments
        #: the class index of every item (None when unlabelled), as the other labelled datasets hold it
        self.labels = torch.tensor(segment_labels, dtype=torch.long) if labels is not None else None
        self._pairs = pairs

    @property
    def num_tokens(self) -> int:
        """Tokens per item (the encoder's ``num_tokens`` for masked training)."""
        return self.max_length

    def __len__(self) -> int:
        return len(self._pairs) if self.paired else len(self._segments)

    def _state(self, segment: int) -> dict[str, torch.Tensor]:
        batch = pad_sequences([self._segments[segment]], self.tokenizer.pad_id, self.max_length)
        return {"x": batch["x"][0], "padding_mask": batch["padding_mask"][0]}

    def __getitem__(self, index: int) -> Any:
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} items")
        index %= len(self)
        if self.paired:
            first, second = self._pairs[index]
            return {"state_t": self._state(first), "state_t1": self._state(second)}
        state = self._state(index)
        if self.labels is not None:
            return state, int(self.labels[index])
        return state


def _existing_file(path: str, layout: str = "one document per line") -> Path:
    file = Path(path)
    if not file.is_file():
        where = "" if file.is_absolute() else f" (relative to the current directory, {str(Path.cwd())!r})"
        raise FileNotFoundError(
            f"text file {str(file)!r} does not exist{where}; put {layout} there, or give path= another file"
            if not file.exists()
            else f"{str(file)!r} is a directory; give path= a text file"
            if file.is_dir()
            else f"{str(file)!r} is not a file"
        )
    return file


def text_lines(
    path: str,
    tokenizer: TokenizerSpec = "bytes",
    max_length: MaxLength = 128,
    overflow: Overflow = "truncate",
    pack: bool = False,
    paired: bool = False,
    label_separator: str | None = None,
    encoding: str = "utf-8",
) -> TextDataset:
    """A plain text file, one text per line (blank lines are skipped).

    With ``label_separator`` (e.g. ``"\\t"``) each line is ``label<sep>text`` and
    items are ``(state, label)``, one per line; a labelled line with no text is an
    error, so that item ``i`` stays the ``i``-th labelled line.
    """
    layout = (
        "one document per line"
        if label_separator is None
        else f"one text per line, its label first and {label_separator!r} between them"
    )
    file = _existing_file(path, layout)
    try:
        lines = file.read_text(encoding=encoding).splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"text file {str(file)!r} is not valid {encoding}: {exc}") from None
    texts: list[str] = []
    labels: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if label_separator is not None:
            label, separator, text = line.partition(label_separator)
            if not separator:
                raise ValueError(f"{file}:{number}: no label separator {label_separator!r} in this line")
            if not text:
                raise ValueError(
                    f"{file}:{number}: label {label!r} has no text after it; give the text or drop the line"
                )
            labels.append(label)
            line = text
        texts.append(line)
    return TextDataset(
        texts,
        tokenizer,
        labels=labels if label_separator is not None else None,
        max_length=max_length,
        overflow=overflow,
        pack=pack,
        paired=paired,
        source=str(file),
    )


def jsonl(
    path: str,
    field: str = "text",
    label_field: str | None = None,
    tokenizer: TokenizerSpec = "bytes",
    max_length: MaxLength = 128,
    overflow: Overflow = "truncate",
    pack: bool = False,
    paired: bool = False,
) -> TextDataset:
    """A JSON Lines file: the text is record[``field``]; with ``label_field`` items
    are ``(state, label)``, one per record, and a labelled record with an empty text
    is an error. Blank lines are skipped, and so are unlabelled records with an empty
    text."""
    layout = f"one JSON object per line with a {field!r} string" + (
        f" and a {label_field!r} label" if label_field is not None else ""
    )
    file = _existing_file(path, layout)
    texts: list[str] = []
    labels: list[Any] = []
    with file.open(encoding="utf-8-sig") as handle:  # -sig: a byte-order mark is no part of line 1
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{file}:{number}: not valid JSON: {exc.msg}") from None
            if not isinstance(record, dict):
                raise ValueError(f"{file}:{number}: a record must be a JSON object, got {type(record).__name__}")
            for name in (field, label_field):
                if name is not None and name not in record:
                    raise ValueError(
                        f"{file}:{number}: the record has no field {name!r} "
                        f"(it has {', '.join(sorted(record)) or 'none'})"
                    )
            text = record[field]
            if not isinstance(text, str):
                raise ValueError(f"{file}:{number}: field {field!r} must be a string, got {type(text).__name__}")
            if label_field is not None and not text:
                raise ValueError(f"{file}:{number}: field {field!r} is empty; give the text or drop the record")
            texts.append(text)
            if label_field is not None:
                label = record[label_field]
                if isinstance(label, (dict, list)):
                    raise ValueError(f"{file}:{number}: label field {label_field!r} must be a string or number")
                labels.append(label)
    return TextDataset(
        texts,
        tokenizer,
        labels=labels if label_field is not None else None,
        max_length=max_length,
        overflow=overflow,
        pack=pack,
        paired=paired,
        source=str(file),
    )
