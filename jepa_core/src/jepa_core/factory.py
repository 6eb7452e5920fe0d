"""``jepa.build``: the one entry point from names (or a spec) to a model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from jepa_core.devices import resolve_device
from jepa_core.errors import SpecError, WiringError, short_message, short_repr
from jepa_core.limits import format_bytes, memory_budget
from jepa_core.model import JEPA, token_drop_problem
from jepa_core.registry import describe_command
from jepa_core.specs import ComponentSpec, ModelSpec, is_file

# Predictor and masker parameters that build fills from the built encoder's
# attributes when the user left them unset (None): parameter -> encoder attribute.
WIRED_FIELDS: dict[str, str] = {"hidden_dim": "embed_dim", "num_tokens": "num_tokens", "grid": "grid"}


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


def build_model(spec: ModelSpec) -> JEPA:
    """Create the components of a validated spec, wiring widths between them."""
    encoder = spec.encoder.resolve().create(spec.encoder.params, "encoder.params")
    predictor = _create_wired(spec.predictor, "predictor", encoder, spec.encoder.name)
    loss = spec.loss.resolve().create(spec.loss.params, "loss.params")
    masker = None
    if spec.masker is not None:
        problem = token_drop_problem(encoder)
        if problem is not None:
            raise WiringError(f"encoder {spec.encoder.name!r} {problem}", "masker")
        if getattr(encoder, "num_tokens", None) is None:
            raise WiringError(
                f"masked training needs a token encoder with a fixed number of tokens, but encoder "
                f"{spec.encoder.name!r} has num_tokens=None{_token_hint(spec.encoder)}",
                "masker",
            )
        masker = _create_wired(spec.masker, "masker", encoder, spec.encoder.name)
    if spec.target.mode == "ema":  # the target encoder is a copy of the encoder: check it fits too
        needed = sum(_bytes(module) for module in (encoder, encoder, predictor, loss))
        budget = memory_budget()
        if needed > budget:
            raise SpecError(
                f"the encoder, its EMA target copy and the predictor would need {format_bytes(needed)}, more "
                f"than the {format_bytes(budget)} this machine can hold; use a smaller encoder, or "
                "target='shared' (no copy)",
                "target",
            )
    try:
        return JEPA(
            encoder,
            predictor,
            loss,
            masker=masker,
            target=spec.target,
            normalize_targets=spec.normalize_targets,
        )
    except (MemoryError, RuntimeError) as exc:  # copying the encoder ran out of memory (torch: RuntimeError)
        raise SpecError(
            f"could not copy the encoder as the EMA target: {type(exc).__name__}: {short_message(exc)}", "target"
        ) from exc


def _bytes(module: Any) -> int:
    """Bytes of a module's parameters and buffers (0 for what is not a module)."""
    if not isinstance(module, torch.nn.Module):
        return 0
    tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}
    return sum(t.numel() * t.element_size() for t in tensors.values())


# Encoder parameters that fix how many tokens an encoder returns, by the names the
# installed encoders use (transformer, text and series encoders: num_tokens; cnn and
# vit: image_size; patch_transformer: seq_len).
TOKEN_COUNT_FIELDS: tuple[str, ...] = ("num_tokens", "image_size", "seq_len")


def _token_hint(spec: ComponentSpec) -> str:
    """What to set on *this* encoder so that it returns a fixed number of tokens."""
    fields = spec.resolve().params_model.model_fields
    settings = []
    if "pool" in fields and spec.params.get("pool") != "none":
        settings.append("pool='none'")
    settings += [name for name in TOKEN_COUNT_FIELDS if name in fields and spec.params.get(name) is None]
    command = describe_command("encoder", spec.name)
    if not settings:
        return (
            f"; none of its parameters sets a token count: use an encoder that returns tokens ({command} "
            "lists its parameters)"
        )
    return f"; set {' and '.join(settings)} in its params ({command} explains them)"


def _create_wired(spec: ComponentSpec, key: str, encoder: torch.nn.Module, encoder_name: str) -> Any:
    component = spec.resolve()
    params = dict(spec.params)
    for field, attribute in WIRED_FIELDS.items():
        if field not in component.params_model.model_fields or not hasattr(encoder, attribute):
            continue
        provided = getattr(encoder, attribute)
        if params.get(field) is None:
            params[field] = provided
        elif provided is not None and _normal(params[field]) != _normal(provided):
            raise WiringError(
                f"{key} {component.qualname!r} has {field}={short_repr(params[field])} but encoder "
                f"{encoder_name!r} produces {attribute}={short_repr(provided)}; remove {field} from the {key} "
                "params to use the encoder's",
                f"{key}.params.{field}",
            )
    created = component.create(params, f"{key}.params")
    width = getattr(created, "embed_dim", None)
    encoder_width = getattr(encoder, "embed_dim", None)
    if key == "predictor" and None not in (width, encoder_width) and width != encoder_width:
        raise WiringError(
            f"predictor {component.qualname!r} outputs width {width} but encoder {encoder_name!r} "
            f"has embed_dim {encoder_width}",
            "predictor",
        )
    return created


def _normal(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
