"""Device selection."""

from __future__ import annotations

from typing import Any

import torch

from jepa_core.errors import SpecError, short_repr

_EXAMPLES = "'auto', 'cpu', 'cuda', 'cuda:1' or 'mps'"


def parse_device(device: Any, path: str = "device") -> torch.device:
    """``device`` as a :class:`torch.device`, without asking whether this machine has
    it (a config written for a GPU machine stays valid on a laptop); SpecError for
    what is not a device at all."""
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, (str, int)) or isinstance(device, bool):
        raise SpecError(f"a device is a string such as {_EXAMPLES}, got {short_repr(device)}", path)
    try:
        if isinstance(device, int):  # torch's meaning of a bare index
            return torch.device("cuda", device)
        return torch.device(device.strip())
    except (RuntimeError, ValueError, TypeError, OverflowError):
        raise SpecError(f"unknown device {short_repr(device)}; use {_EXAMPLES}", path) from None


def check_available(device: torch.device, path: str = "device") -> torch.device:
    """``device``, or a SpecError saying why this machine cannot use it."""
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise SpecError(
                f"device {str(device)!r} needs CUDA, which is not available here (torch "
                f"{torch.__version__} is {build}, and torch.cuda.is_available() is False); "
                "use device='cpu' or 'auto'",
                path,
            )
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise SpecError(
                f"device {str(device)!r} does not exist: this machine has {count} CUDA device(s), "
                f"cuda:0 to cuda:{count - 1}",
                path,
            )
    elif device.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise SpecError("device 'mps' (Apple GPU) is not available here; use device='cpu' or 'auto'", path)
    elif device.type not in ("cpu", "meta"):
        backend = getattr(torch, device.type, None)
        available = getattr(backend, "is_available", None)
        if callable(available) and not available():
            raise SpecError(f"device {str(device)!r} is not available here; use device='cpu' or 'auto'", path)
    return device


def resolve_device(device: str | torch.device | None = "auto", path: str = "device") -> torch.device:
    """``"auto"`` (or None) picks CUDA, then Apple MPS, then CPU; anything else must
    name a device this machine has, else a :class:`~jepa_core.errors.SpecError`
    (``"cuda"`` on a machine without CUDA says so)."""
    if device is None or (isinstance(device, str) and device.strip() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return check_available(parse_device(device, path), path)
