"""Saved models: a directory with ``config.json`` and ``model.safetensors``.

Saving and loading live here (``model.save_pretrained``, ``JEPA.from_pretrained``
and ``jepa.load`` call :func:`save` and :func:`load`). ``config.json`` holds the
full spec (qualified component names, every parameter), the jepa version and the
distribution that provided each component. Loading reads it once, rebuilds the
model through the registry by name, never by an import path read from the file,
and reads weights with safetensors (nothing is unpickled). A part only training
uses (a JEPA's masker or loss) whose component cannot be resolved here, e.g. from a
plugin not installed, does not stop the load: it warns, and the model holds a
``model.MissingComponent`` in its place, which raises when training uses it and
keeps the part's saved spec and weights for the next save.

Writing is atomic, also when it replaces an existing model: at every instant,
even under ``kill -9`` or a power cut, the path holds either the old model or the
new one, whole. The new directory is written beside the old one under a hidden
temporary name and fsynced (files and directory); then one atomic exchange of the
two directory entries (``renameat2(RENAME_EXCHANGE)`` on Linux, ``renamex_np
(RENAME_SWAP)`` on macOS) swaps them, and the old one, now under the temporary
name, is deleted. Two renames (old away, new in) would leave an instant with no
model at the path, so they are only the fallback where no exchange exists (other
systems, file systems without it); a process killed between them leaves the old
model under a ``.NAME.old-...`` name, which the next save or load of the path
moves back. Temporary and old directories left by a killed process are removed by
the next save or load of the same path.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jepa_core import __version__
from jepa_core.errors import CheckpointError, SpecError, UnknownComponentError, short_message, short_repr, warn
from jepa_core.first_party import EXTRAS as FIRST_PARTY_EXTRAS
from jepa_core.first_party import reinstall_command
from jepa_core.registry import get_registry

if TYPE_CHECKING:
    import torch

    from jepa_core.model import BaseModel

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
FORMAT = "jepa"
FORMAT_VERSION = 1

# A leftover whose owner cannot be checked (another host, a name from an older jepa)
# is only removed once it is this old: a save in progress never takes this long to swap.
_UNKNOWN_OWNER_AGE = 24 * 3600.0


def save(model: BaseModel, path: str | os.PathLike[str]) -> Path:
    """Write ``model``'s ``config.json`` and ``model.safetensors`` into the directory
    ``path`` (atomically) and return it."""
    from safetensors.torch import save_model  # imports torch, which `jepa new-plugin` (atomic writes) never needs

    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(model).__name__,
        "jepa_version": __version__,
        "spec": model.config,
        "components": provenance(model),
    }

    def write(directory: Path) -> None:
        save_model(model, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
        (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    _refuse_other_files(Path(path))
    return atomic_write_dir(path, write)


def _refuse_other_files(path: Path) -> None:
    """A save replaces the whole directory, so refuse one that holds more than a saved
    model: a project folder or a run directory would lose everything in it."""
    try:
        names = sorted(entry.name for entry in path.iterdir()) if path.is_dir() else []
    except OSError:
        return  # unreadable: the write says why
    others = [name for name in names if name not in (CONFIG_NAME, WEIGHTS_NAME)]
    if others:
        shown = ", ".join(map(repr, others[:3])) + (f" and {len(others) - 3} more" if len(others) > 3 else "")
        raise CheckpointError(
            f"cannot save the model to {str(path)!r}: the directory holds {shown}, and a save replaces the whole "
            "directory; give a new or empty directory, or one that holds only a saved model"
        )


def provenance(model: BaseModel) -> dict[str, Any]:
    """Which distribution (and version) provided each registered component of ``model``."""
    record = {}
    for kind, part in model._parts().items():
        component = get_registry().component_of(part)
        if component is not None:
            record[kind] = {
                "name": component.qualname,
                "distribution": component.distribution,
                "version": component.version,
            }
            plugin = component.distribution and get_registry().plugin_record(distribution=component.distribution)
            if plugin and plugin.installed_from:  # on no index: the name alone would not install it elsewhere
                record[kind]["installed_from"] = plugin.installed_from
        else:
            saved = getattr(part, "_jepa_unavailable", None)  # a part loaded without its plugin keeps its record
            if isinstance(saved, UnavailablePart) and saved.provenance is not None:
                record[kind] = dict(saved.provenance)
    return record


def load(
    cls: type[BaseModel],
    path: str | os.PathLike[str],
    device: str | torch.device | None = None,
    *,
    check_class: bool = False,
) -> BaseModel:
    """The model saved in the directory ``path``, rebuilt as ``cls`` through the registry
    by name, with its weights, in eval mode (on ``device`` when given). ``check_class``
    refuses a directory that another class saved (``jepa.load`` knows only ``cls``)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_model  # see save

    from jepa_core.devices import resolve_device  # imports torch, which the atomic writers here do not need

    config = read_config(path)
    saved = config.get("class", cls.__name__)
    if check_class and saved != cls.__name__:
        raise CheckpointError(f"{str(path)!r} holds a {saved!r}, which this jepa-core cannot load")
    unavailable = _unavailable_parts(cls, config, str(path))
    try:
        model = cls._from_spec(config["spec"], unavailable)
    except UnknownComponentError as exc:
        raise CheckpointError(
            f"cannot rebuild the model saved in {str(path)!r}: {explain_unknown(config, str(exc))}"
        ) from exc
    except SpecError as exc:
        if _caused_by_import_error(exc):  # the spec is fine: an optional dependency is not installed here
            raise CheckpointError(f"the model saved in {str(path)!r} needs a package missing here: {exc}") from exc
        raise CheckpointError(f"the spec in {str(path)!r} is invalid: {exc}") from exc
    weights = Path(path) / WEIGHTS_NAME
    try:
        missing, unexpected = load_model(model, str(weights), strict=False)
    except SafetensorError as exc:  # not a safetensors file (any more): cut short or overwritten
        raise CheckpointError(
            f"{str(weights)!r} is damaged ({exc}); save the model again, or load a checkpoint's "
            "copy (a run's checkpoints/step_*/model)"
        ) from exc
    except Exception as exc:  # wrong shapes
        raise CheckpointError(f"{str(path)!r}: the weights do not fit the model in its config: {exc}") from exc
    if missing or unexpected:
        raise CheckpointError(
            f"{str(path)!r}: the weights do not fit the model in its config "
            f"(missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]})"
        )
    model.eval()
    if unavailable:
        parts = " and ".join(f"its {part.kind} {part.name!r} ({part.reason})" for part in unavailable.values())
        warn(
            f"the model saved in {str(path)!r} is loaded without {parts}: {without_parts_hint(list(unavailable))}. "
            f"Saving this model keeps the {' and '.join(unavailable)} as saved"
        )
    return model.to(resolve_device(device)) if device is not None else model  # "cuda" without CUDA: SpecError


def without_parts_hint(kinds: list[str]) -> str:
    """What a model loaded without its parts of ``kinds`` (masker, loss) still does, and
    how to get them back."""
    one = len(kinds) == 1
    does = (
        "it embeds as saved, and predicts given masks (model(x, masks=jepa.Masks(...)))"
        if "masker" in kinds
        else "it embeds and predicts as saved"
    )
    return (
        f"{does}, but training it needs {'that' if one else 'the'} {' and '.join(kinds)}: make "
        f"{'its plugin' if one else 'their plugins'} available (install, or unblock where JEPA_DISABLE_PLUGINS or "
        f"JEPA_PLUGINS leaves {'it' if one else 'them'} out) or register {'it' if one else 'them'}, then load the "
        "model again"
    )


@dataclass(frozen=True)
class UnavailablePart:
    """A training-time part of a saved model (a JEPA's masker or loss) whose component
    cannot be rebuilt here (unknown name, plugin not installed, blocked or broken)."""

    kind: str
    #: the part's spec as saved: ``{"name": ..., "params": {...}}``
    spec: dict[str, Any]
    #: the registry's message and the install hint
    reason: str
    #: the directory the model was loaded from
    source: str
    #: the distribution record ``config.json`` holds for it, kept for a later save
    provenance: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return str(self.spec.get("name"))


def _unavailable_parts(cls: type[BaseModel], config: dict[str, Any], source: str) -> dict[str, UnavailablePart]:
    """The parts of ``cls._TRAINING_PARTS`` (a JEPA's masker and loss: no weights the
    model needs to embed or predict) that the saved spec names but the registry cannot
    resolve here. Anything else wrong with them is left to the spec's validation."""
    spec = config.get("spec")
    if not isinstance(spec, dict):
        return {}
    components = config.get("components")
    found = {}
    for kind in cls._TRAINING_PARTS:
        entry = spec.get(kind)
        if isinstance(entry, str):
            entry = {"name": entry, "params": {}}
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        params = entry.get("params")
        try:
            get_registry().resolve(kind, entry["name"])
        except UnknownComponentError as exc:
            record = components.get(kind) if isinstance(components, dict) else None
            found[kind] = UnavailablePart(
                kind=kind,
                spec={"name": entry["name"], "params": dict(params) if isinstance(params, dict) else {}},
                reason=explain_unknown(config, str(exc), kind),
                source=source,
                provenance=dict(record) if isinstance(record, dict) else None,
            )
        except SpecError:
            continue  # an ambiguous or malformed name: the spec's validation says what is wrong
    return found


# the registry's suggestion of a similar installed name, e.g. " (did you mean 'jepa:mse'?)"
_SIMILAR_NAMES = re.compile(r" \(did you mean [^)]*\?\)")


def explain_unknown(config: dict[str, Any], said: str, only: str | None = None) -> str:
    """An unknown-name error ``said`` (of the component of kind ``only`` when given) with
    what a checkpoint's recorded distributions add: the pip command for those not
    installed here (as they were installed: from a folder or a git URL if so), and the
    version for those installed at another version. When the checkpoint names the
    distribution to install, the registry's "did you mean" is dropped: a similar name
    here is not the saved part, and a resumed run refuses a changed set-up. An installed
    distribution whose plugin failed to load is explained by the registry's message
    itself (with the plugin's error)."""
    registry = get_registry()
    missing: dict[str, str] = {}
    sources: dict[str, str | None] = {}
    extras: dict[str, set[str]] = {}
    notes = []
    for kind, info in (config.get("components") or {}).items():
        if not isinstance(info, dict) or info.get("distribution") in (None, "jepa-core"):
            continue
        if only is not None and kind != only:
            continue
        distribution, version = str(info["distribution"]), info.get("version")
        record = registry.plugin_record(distribution=distribution)
        if record is None:
            if distribution not in said:  # the registry's message may already give the command
                missing.setdefault(distribution, f"{distribution} {version} (for {kind} {info.get('name')!r})")
                sources.setdefault(distribution, info.get("installed_from"))
                # a first-party component's optional dependency (hf_vision needs the `hf` extra)
                extra = FIRST_PARTY_EXTRAS.get((kind, str(info.get("name", "")).rpartition(":")[2]))
                extras.setdefault(distribution, set()).update([extra] if extra else [])
        elif record.status == "loaded" and version is not None and record.version != version:
            notes.append(f"it was saved with {distribution} {version}; {record.version} is installed here")
    said += "".join(f"; {note}" for note in notes)
    if missing:
        commands = [reinstall_command(d, sources[d], ",".join(sorted(extras[d]))) for d in missing]
        said = _SIMILAR_NAMES.sub("", said)
        said += f"; it was saved with {', '.join(missing.values())}, not installed here: {'; '.join(commands)}"
    return said


def atomic_write_dir(path: str | os.PathLike[str], write: Callable[[Path], None]) -> Path:
    """Fill a fresh hidden sibling directory with ``write(tmp)``, fsync it, then swap
    it into ``path`` atomically (see the module docstring). A symlink at ``path`` is
    kept: the directory it points to is the one replaced."""
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not path.is_dir():
        raise CheckpointError(f"{str(path)!r} exists and is not a directory; choose another path")
    tidy_leftovers(path)
    tmp = _sibling(path, "tmp")
    with _naming(path):
        tmp.mkdir()
    try:
        write(tmp)
        with _naming(path):
            _fsync_tree(tmp)
            _swap_into(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


@contextlib.contextmanager
def _naming(path: Path) -> Iterator[None]:
    """An OSError inside names ``path``, the one asked for, rather than the temp sibling
    or the parent that failed: ``cannot write 'a/b.json': 'a' is a file, not a directory``."""
    try:
        yield
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write {str(path)!r}: {blocked_by_file(path) or exc.strerror}") from exc


def blocked_by_file(path: Path) -> str | None:
    """``"'a' is a file, not a directory"`` for the folder of ``path`` (nearest the root)
    that is a file, so nothing can be made under it; None when there is none."""
    blocking = next((p for p in reversed(path.parents) if p.exists() and not p.is_dir()), None)
    return None if blocking is None else f"{str(blocking)!r} is a file, not a directory"


def _swap_into(tmp: Path, path: Path) -> None:
    """Make the complete directory ``tmp`` the one at ``path``."""
    try:
        os.rename(tmp, path)  # nothing at path yet (or an empty directory): one rename is atomic
    except OSError as exc:
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    else:
        _fsync_dir(path.parent)
        return
    if _exchange(tmp, path):
        _fsync_dir(path.parent)
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old model
        return
    # No atomic exchange here: two renames. Killed between them, the old model waits
    # under the .old- name and the next save or load moves it back (tidy_leftovers).
    old = _sibling(path, "old")
    os.rename(path, old)
    try:
        os.rename(tmp, path)
    except BaseException:
        os.rename(old, path)
        raise
    _fsync_dir(path.parent)
    shutil.rmtree(old, ignore_errors=True)


# -- atomic exchange of two directory entries ------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
# renameat2's system call number, for a libc too old to wrap it (glibc < 2.28)
_SYS_RENAMEAT2 = {"x86_64": 316, "aarch64": 276, "riscv64": 276}
_NOT_LOOKED_UP: Any = object()
_exchange_impl: Any = _NOT_LOOKED_UP  # the exchange function, None where there is none


def _find_exchange() -> Callable[[bytes, bytes], int] | None:
    try:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            if hasattr(libc, "renameat2"):
                function = libc.renameat2
                function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
                return lambda a, b: function(_AT_FDCWD, a, _AT_FDCWD, b, _RENAME_EXCHANGE)
            number = _SYS_RENAMEAT2.get(platform.machine())
            if number is None:
                return None
            syscall = libc.syscall
            syscall.restype = ctypes.c_long
            return lambda a, b: syscall(
                ctypes.c_long(number),
                ctypes.c_int(_AT_FDCWD),
                ctypes.c_char_p(a),
                ctypes.c_int(_AT_FDCWD),
                ctypes.c_char_p(b),
                ctypes.c_uint(_RENAME_EXCHANGE),
            )
        if sys.platform == "darwin":
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            function = libc.renamex_np
            function.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_uint]
            return lambda a, b: function(a, b, _RENAME_SWAP)
    except (OSError, AttributeError):
        return None
    return None


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap the directory entries ``a`` and ``b``; False where the system or
    the file system cannot (the caller falls back to renames)."""
    global _exchange_impl
    if _exchange_impl is _NOT_LOOKED_UP:
        _exchange_impl = _find_exchange()
    if _exchange_impl is None:
        return False
    if _exchange_impl(os.fsencode(a), os.fsencode(b)) == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):  # kernel or file system lacks it
        return False
    raise OSError(error, os.strerror(error), str(b))


# -- leftovers of killed saves --------------------------------------------------------------


def _host_tag() -> str:
    return hashlib.sha1(socket.gethostname().encode()).hexdigest()[:8]


def _sibling(path: Path, role: str) -> Path:
    """A hidden name beside ``path`` that says which process (and host) made it."""
    return path.parent / f".{path.name}.{role}-{os.getpid()}-{_host_tag()}-{secrets.token_hex(4)}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def _leftovers(path: Path) -> list[tuple[Path, str, bool]]:
    """``(directory, "tmp" | "old", owner gone)`` for each leftover of a save of ``path``."""
    prefix = f".{path.name}."
    found = []
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        role, _, rest = entry.name[len(prefix) :].partition("-")
        if role not in ("tmp", "old"):
            continue
        parts = rest.split("-")
        if len(parts) == 3 and parts[0].isdigit() and parts[1] == _host_tag() and os.name == "posix":
            gone = not _pid_alive(int(parts[0]))
        else:  # another host, or a name from an older jepa: judge by age
            try:
                gone = time.time() - entry.stat(follow_symlinks=False).st_mtime > _UNKNOWN_OWNER_AGE
            except OSError:
                continue
        found.append((Path(entry.path), role, gone))
    return found


def tidy_leftovers(path: str | os.PathLike[str]) -> None:
    """Finish what a killed save of ``path`` left: put an old model that was moved
    aside back when ``path`` is missing, and delete temporary and old directories whose
    writer is gone. Never touches the directory of a save still in progress."""
    path = Path(path)
    try:
        leftovers = [(p, role) for p, role, gone in _leftovers(path) if gone]
        if not leftovers:
            return
        if not os.path.lexists(path):
            olds = [p for p, role in leftovers if role == "old" and (p / CONFIG_NAME).is_file()]
            if olds:
                os.rename(max(olds, key=lambda p: p.stat().st_mtime), path)
                _fsync_dir(path.parent)
        if not os.path.lexists(path):
            return  # an old directory might be the only copy: keep them all
        for leftover, _ in leftovers:
            if leftover.exists() or leftover.is_symlink():
                if leftover.is_dir() and not leftover.is_symlink():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)
    except OSError:
        pass  # a read-only location: loading must still work


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to a temp file beside ``path``, fsync, then rename over it."""
    path = Path(path)
    with _naming(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    tidy_leftovers(path)
    tmp = _sibling(path, "tmp")
    try:
        with _naming(path):
            with open(tmp, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _fsync_tree(root: Path) -> None:
    """fsync every file and directory under ``root`` (the directories last), so that the
    rename that publishes them never points at data still only in the page cache."""
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            _fsync_path(Path(directory) / name)
        _fsync_dir(Path(directory))


def _fsync_path(path: Path) -> None:
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


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync elsewhere
        return
    _fsync_path(path)


def _caused_by_import_error(exc: BaseException) -> bool:
    """Whether an ImportError is among ``exc``'s causes (a component's missing extra)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ImportError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved model, or a CheckpointError saying why not."""
    try:
        path = Path(path)
        exists = path.exists()
    except (OSError, ValueError, TypeError) as exc:  # too long for the file system, a NUL byte, not a path
        raise CheckpointError(f"{short_repr(str(path), 200)} cannot name a saved model: {short_message(exc)}") from None
    tidy_leftovers(path)  # a save killed half-way: put the old model back, drop its debris
    exists = path.exists()
    if not exists:
        raise CheckpointError(f"{str(path)!r} does not exist")
    if not path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a file; a saved jepa model is a directory")
    config_file = path / CONFIG_NAME
    if not config_file.is_file():
        # a run directory holds its model in final/ (an unfinished one in its checkpoints), a checkpoint in model/
        checkpoints = sorted(path.glob("checkpoints/step_*/model"), key=lambda p: p.parent.name)
        candidates = [path / "final", path / "model", *reversed(checkpoints)]
        inside = next((sub for sub in candidates if (sub / CONFIG_NAME).is_file()), None)
        hint = (
            f"; the model is in {str(inside)!r}: load that"
            if inside is not None
            else " (save one with model.save_pretrained(path))"
        )
        raise CheckpointError(f"{str(path)!r} is not a jepa model directory: it has no {CONFIG_NAME}{hint}")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{str(config_file)!r} is not valid JSON: {exc}") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise CheckpointError(f'{str(config_file)!r} is not a jepa config (no "format": "jepa")')
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
