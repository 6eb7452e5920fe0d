"""``jepa.build``: the one entry point from names (or a spec) to a model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jepa_core.devices import resolve_device
from jepa_core.errors import SpecError, short_repr
from jepa_core.model import JEPA, build_model
from jepa_core.specs import ComponentSpec, ModelSpec, is_file


def build(
    spec_or_encoder: Any = None,
    predictor: Any = None,
    /,
    **options: Any,
) -> JEPA:
    """Build a :class:`JEPA` model from installed components.

    Two forms::

        jepa.build("cnn", "attention", loss="smooth_l1", masker="multiblock",
                   target="ema", encoder={"hidden_dim": 128}, predictor={"depth": 2})
        jepa.build(spec)   # a ModelSpec, a dict, or a path to a JSON/YAML file

    In the first form the keyword ``encoder``/``predictor`` hold the components'
    parameters; ``loss`` and ``masker`` take a name, or ``{"name": ..., "params":
    {...}}``; ``target`` is ``"ema"`` / ``"shared"`` / ``"none"`` or a dict with
    ``mode``, ``momentum``, ``final_momentum``; ``normalize_targets`` a bool;
    ``device`` a device or ``"auto"``. The predictor's (and masker's) width and
    token grid follow the encoder's unless set. Every invalid value raises
    :class:`~jepa_core.errors.SpecError` with the path of the field, before any
    tensor is allocated where it can be known then (sizes are bounded, see
    :mod:`jepa_core.limits`).
    """
    device = options.pop("device", None)
    if device is not None:
        device = resolve_device(device)  # an unknown or unavailable device fails before the build
    if predictor is None:
        if spec_or_encoder is None:
            raise SpecError("build needs an encoder and a predictor name, or a spec (dict, ModelSpec or file)")
        if options:
            raise SpecError(
                f"keyword options ({', '.join(sorted(options))}) go with build(encoder, predictor, ...), "
                "not with a full spec; put them in the spec"
            )
        if isinstance(spec_or_encoder, (str, Path)) and not _looks_like_file(spec_or_encoder):
            shown = short_repr(str(spec_or_encoder))
            raise SpecError(
                f"build({shown}) needs a predictor too, e.g. build({shown}, "
                "'mlp'), or a path to an existing .json/.yaml spec file"
            )
        spec = ModelSpec.parse(spec_or_encoder)
    else:
        data: dict[str, Any] = {
            "encoder": _component_input(spec_or_encoder, options.pop("encoder", None), "encoder"),
            "predictor": _component_input(predictor, options.pop("predictor", None), "predictor"),
        }
        for key in ("loss", "masker"):
            part = options.get(key)
            if part is not None and not isinstance(part, (str, Mapping, ComponentSpec)):
                raise SpecError(
                    f"build's {key}= takes a registered {key}'s name or {{'name': ..., 'params': {{...}}}}, got "
                    f"{short_repr(part)}; to train with a {key} object, pass it to jepa.JEPA(encoder, predictor, "
                    f"{key}=...) (saving such a model needs its class registered: @jepa.register({key!r}, 'a_name'))",
                    key,
                )
        data.update(options)
        spec = ModelSpec.parse(data)
    model = build_model(spec)
    return model.to(device) if device is not None else model


def _looks_like_file(value: str | Path) -> bool:
    try:
        suffix = Path(value).suffix.lower()
    except (OSError, ValueError):
        return False
    return suffix in (".json", ".yaml", ".yml") or is_file(value)


def _component_input(name: Any, params: Any, key: str) -> Any:
    if params is None:
        return name
    if not isinstance(params, Mapping):
        raise SpecError(f"the {key}= keyword holds the {key}'s parameters as a dict, got {type(params).__name__}", key)
    if isinstance(name, str):
        return {"name": name, "params": dict(params)}
    raise SpecError(f"give the {key} as a name when passing {key}= parameters", key)
