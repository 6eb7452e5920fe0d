"""Saved models: a directory with ``config.json`` and ``model.safetensors``.

``config.json`` holds the full spec (qualified component names, every
parameter), the jepa version and the distribution that provided each component.
Loading rebuilds the model through the registry by name, never by an import
path read from the file, and reads weights with safetensors (nothing is
unpickled). Writing is atomic: a crash leaves either the old directory or the
new one, never a mixture.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jepa_core.errors import CheckpointError, short_message, short_repr

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "jepa"
FORMAT_VERSION = 1


def atomic_write_dir(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Fill a fresh sibling directory with ``write(tmp)``, then swap it into ``path``."""
    path = Path(path)
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"{str(path)!r} exists and is not a directory; choose another path")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=parent))
    try:
        write(tmp)
        _fsync_dir(tmp)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temp file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model, or a CheckpointError saying why not."""
    try:
        path = Path(path)
        exists = path.exists()
    except (OSError, ValueError, TypeError) as exc:  # too long for the file system, a NUL byte, not a path
        raise CheckpointError(f"{short_repr(str(path), 200)} cannot name a saved model: {short_message(exc)}") from None
    if not exists:
        raise CheckpointError(f"{str(path)!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a file; a saved jepa model is a directory")
    config_file = path / CONFIG_NAME
    if not config_file.is_file():
        raise CheckpointError(
            f"{str(path)!r} is not a jepa model directory: it has no {CONFIG_NAME} "
            "(save one with model.save_pretrained(path))"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{str(config_file)!r} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f"{str(config_file)!r} is not a jepa config (no \"format\": \"jepa\")")
    if config.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{str(config_file)!r} has format_version {config.get('format_version')!r}; "
            f"this jepa-core reads version {FORMAT_VERSION}"
        )
    if not isinstance(config.get("spec"), dict):
        raise CheckpointError(f"{str(config_file)!r} has no model spec")
    if not (path / WEIGHTS_NAME).is_file():
        raise CheckpointError(f"{str(path)!r} has no {WEIGHTS_NAME}; the save did not complete")
    return config
