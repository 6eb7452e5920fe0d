"""Creating a model's components from its spec, wired to each other: the predictor's
(and masker's) width and token grid follow the encoder's unless set, and pairs that
cannot train together are refused with the setting that fixes them.

Below the engine (:mod:`jepa_core.model`), which assembles these parts into a JEPA.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic
import torch

from jepa_core.contracts import Encoder, embedding_width, token_count, token_drop_support, token_grid
from jepa_core.errors import SpecError, WiringError, short_repr
from jepa_core.limits import format_bytes, memory_budget, memory_budget_words
from jepa_core.registry import describe_command
from jepa_core.specs import ComponentSpec, ModelSpec

# Predictor and masker parameters that build fills from the built encoder's
# attributes when the user left them unset (None): parameter -> (encoder attribute,
# the contract's reader of it). An encoder that leaves an attribute None (or out)
# leaves the parameter to the user or its default.
WIRED_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "hidden_dim": ("embed_dim", embedding_width),
    "num_tokens": ("num_tokens", token_count),
    "grid": ("grid", token_grid),
}


def build_parts(spec: ModelSpec) -> tuple[Any, Any, Any, Any]:
    """``(encoder, predictor, loss, masker)`` of a validated spec, widths wired from the
    encoder, refused before the JEPA is assembled when they cannot work together."""
    encoder = spec.encoder.resolve().create(spec.encoder.params, "encoder.params")
    predictor = _create_wired(spec.predictor, "predictor", encoder, spec.encoder.name)
    loss = spec.loss.resolve().create(spec.loss.params, "loss.params")
    masker = None
    if spec.masker is not None:
        problem = token_drop_problem(encoder)
        if problem is not None:
            raise WiringError(f"encoder {spec.encoder.name!r} {problem}", "masker")
        tokens = token_count(encoder)
        if tokens is None:
            raise WiringError(
                f"masked training needs a token encoder with a fixed number of tokens, but encoder "
                f"{spec.encoder.name!r} has num_tokens=None{_token_hint(spec.encoder)}",
                "masker",
            )
        if tokens < 2:  # e.g. a conv net whose stages shrink a small image to one cell
            grid = token_grid(encoder)
            # its size settings (image_size, patch_size, ...), the ones to hold against the data
            given = ", ".join(f"{key}={value!r}" for key, value in spec.encoder.params.items() if "size" in key)
            raise WiringError(
                f"masked training needs at least 2 tokens (a context and a target), but encoder "
                f"{spec.encoder.name!r}{f' ({given})' if given else ''} gives {tokens}"
                f"{f' (grid {grid})' if grid else ''}: give it more tokens: an input size that is the data's "
                f"(check the encoder's size parameter against your inputs), smaller patches, or fewer "
                f"downsampling stages ({describe_command('encoder', spec.encoder.name)} lists its parameters)",
                "masker",
            )
        masker = _create_wired(spec.masker, "masker", encoder, spec.encoder.name)
    if spec.target.mode == "ema":  # the target encoder is a copy of the encoder: check it fits too
        needed = sum(_bytes(module) for module in (encoder, encoder, predictor, loss))
        budget = memory_budget()
        if needed > budget:
            raise SpecError(
                f"the encoder, its EMA target copy and the predictor would need {format_bytes(needed)}, more "
                f"than {memory_budget_words(budget)}; use a smaller encoder, or "
                "target='shared' (no copy)",
                "target",
            )
    return encoder, predictor, loss, masker


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
    if "pool" in fields and spec.params.get("pool") != "none" and _accepts(fields["pool"].annotation, "none"):
        settings.append("pool='none'")
    settings += [name for name in TOKEN_COUNT_FIELDS if name in fields and spec.params.get(name) is None]
    command = describe_command("encoder", spec.name)
    if not settings:
        return (
            f"; none of its parameters sets a token count: use an encoder that returns tokens ({command} "
            "lists its parameters)"
        )
    measured = (
        " (in a run config, jepa train measures num_tokens on the data when it is left out)"
        if "num_tokens" in settings and len(settings) > 1
        else ""
    )
    return f"; set {' and '.join(settings)} in its params{measured} ({command} explains them)"


def _accepts(annotation: Any, value: Any) -> bool:
    """Whether a parameter of this type takes ``value`` (the first-party ``pool`` does
    take 'none'; a plugin's own ``pool`` may be a bool)."""
    try:
        pydantic.TypeAdapter(annotation).validate_python(value, strict=True)
    except Exception:  # not that type, or a type pydantic cannot check on its own: no hint then
        return False
    return True


def _create_wired(spec: ComponentSpec, key: str, encoder: Encoder, encoder_name: str) -> Any:
    component = spec.resolve()
    params = dict(spec.params)
    for field, (attribute, read) in WIRED_FIELDS.items():
        provided = read(encoder)
        if field not in component.params_model.model_fields or provided is None:
            continue
        if params.get(field) is None:
            params[field] = provided
        elif _normal(params[field]) != _normal(provided):
            default = component.params_model.model_fields[field].default
            fix = (  # the spec's params hold the defaults: one that is not None is never wired
                f"{short_repr(params[field])} is the {key}'s default, and only a default of None is filled in "
                f"from the encoder: declare `{field}: ... | None = None` in its code, or set {key}.params.{field}="
                f"{short_repr(provided)}"
                if _normal(params[field]) == _normal(default)
                else f"remove {field} from the {key} params to use the encoder's"
            )
            raise WiringError(
                f"{key} {component.qualname!r} has {field}={short_repr(params[field])} but encoder "
                f"{encoder_name!r} produces {attribute}={short_repr(provided)}; {fix}",
                f"{key}.params.{field}",
            )
    try:
        created = component.create(params, f"{key}.params")
    except SpecError as exc:
        lacks_width = params.get("hidden_dim") is None and embedding_width(encoder) is None
        if key == "predictor" and lacks_width and "hidden_dim" in str(exc):
            # the predictor's complaint would point at its own params, not at the encoder that lacks a width
            raise WiringError(
                f"encoder {encoder_name!r} has no embed_dim (the width of its embeddings), which predictor "
                f"{component.qualname!r} takes as its hidden_dim: set self.embed_dim in the encoder's __init__, "
                "or set predictor.params.hidden_dim",
                "encoder",
            ) from exc
        raise
    if key == "predictor":
        problem = width_problem(encoder, created, repr(encoder_name), repr(component.qualname))
        if problem is not None:
            fix = (  # hidden_dim is the encoder's here (wired, or checked above), yet another width came out
                "its embed_dim must follow its hidden_dim"
                if "hidden_dim" in component.params_model.model_fields
                else f"set its params so that it predicts width {embedding_width(encoder)}"
            )
            raise WiringError(f"{problem}; {fix}", "predictor")
    return created


def width_problem(encoder: Encoder, predictor: Any, encoder_name: str, predictor_name: str) -> str | None:
    """Why ``predictor`` cannot predict ``encoder``'s embeddings: it says (its
    ``embed_dim``) another width than the encoder's ``embed_dim``. None when they agree
    or either does not say."""
    width, encoder_width = embedding_width(predictor), embedding_width(encoder)
    if width is None or encoder_width is None or width == encoder_width:
        return None
    return (
        f"predictor {predictor_name} predicts embeddings of width {short_repr(width)} (its embed_dim) but "
        f"encoder {encoder_name} has embed_dim {short_repr(encoder_width)}: the predictor predicts the "
        "encoder's embeddings, so the two widths must be equal"
    )


def token_problem(encoder: Encoder, part: Any, encoder_name: str, part_name: str, key: str) -> str | None:
    """Why ``part`` (a masker or predictor, ``key`` saying which) cannot work on
    ``encoder``'s tokens: its ``num_tokens``, or its ``grid`` when both have one, is not
    the encoder's. None when they agree or either does not say."""
    for attribute, read in (("num_tokens", token_count), ("grid", token_grid)):
        own, encoders = read(part), read(encoder)
        if own is None or encoders is None or _normal(own) == _normal(encoders):
            continue
        does = "draws masks for" if key == "masker" else "places its predictions on"
        return (
            f"{key} {part_name} has {attribute}={short_repr(own)} but encoder {encoder_name} produces "
            f"{attribute}={short_repr(encoders)}: the {key} {does} the encoder's tokens, so the two must be equal"
        )
    return None


def _normal(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def token_drop_problem(encoder: Encoder) -> str | None:
    """Why ``encoder`` cannot be the context encoder of masked training (see
    :func:`~jepa_core.contracts.token_drop_support`), or None."""
    supports, reason = token_drop_support(encoder)
    if supports:
        return None
    return (
        "cannot encode only the kept tokens of a mask (supports_token_drop is False"
        + (f": {reason}" if reason else "")
        + "), so it cannot be the context encoder of masked training; use it without a masker "
        "(paired mode, probing) or pick an encoder that drops tokens"
    )
