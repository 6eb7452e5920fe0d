"""Pydantic specs: the validated form of everything a user types.

* :func:`params_model_for` derives a component's parameter model from the typed
  signature of its factory (``Annotated[int, Field(gt=0)]`` constraints included),
  with ``extra="forbid"`` so a misspelt key is an error, not a silent default.
* :class:`ComponentSpec` is ``{"name": ..., "params": {...}}`` (or just the name);
  a parameter annotated ``ComponentSpec`` with a :class:`Kind` marker is a nested
  component, validated recursively, so composites are built from config.
* :class:`ModelSpec` is a whole JEPA model; it round-trips through JSON and YAML.

Every failure becomes a :class:`~jepa_core.errors.SpecError` whose ``path`` is
the dotted location of the bad field.
"""

from __future__ import annotations

import difflib
import inspect
import json
import types
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import ConfigDict, Field

from jepa_core.errors import SpecError

_FORBID = ConfigDict(extra="forbid", arbitrary_types_allowed=True, protected_namespaces=())


def params_model_for(factory: Callable[..., Any], label: str) -> type[pydantic.BaseModel]:
    """The pydantic model of ``factory``'s keyword parameters.

    Unannotated parameters accept any value; parameters without a default are
    required; ``*args``/``**kwargs`` are not part of a spec.
    """
    explicit = getattr(factory, "Params", None)
    if inspect.isclass(explicit) and issubclass(explicit, pydantic.BaseModel):
        return explicit
    target = inspect.unwrap(factory.__init__ if inspect.isclass(factory) else factory)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception as exc:  # an annotation that does not resolve is the plugin's bug
        raise TypeError(f"{label}: cannot read the type hints of {factory!r}: {exc}") from exc
    fields: dict[str, Any] = {}
    parameters = list(inspect.signature(target).parameters.values())
    if inspect.isclass(factory):
        parameters = parameters[1:]  # self
    for parameter in parameters:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            raise TypeError(f"{label}: positional-only parameter {parameter.name!r} cannot be set by name")
        annotation = hints.get(parameter.name, Any)
        default = ... if parameter.default is inspect.Parameter.empty else parameter.default
        fields[parameter.name] = (annotation, default)
    model_name = "".join(part.capitalize() for part in label.replace(":", "_").split("_")) + "Params"
    return pydantic.create_model(model_name, __config__=_FORBID, **fields)


def spec_error_from_validation(
    exc: pydantic.ValidationError,
    prefix: str = "",
    model: Any = None,
    describe: str | None = None,
) -> SpecError:
    """One SpecError for a pydantic ValidationError, with dotted field paths.

    ``model`` is what was validated (a pydantic model class or an annotation): with
    it, an unknown field gets the closest known field names. ``describe`` is the
    command that lists the fields of ``model`` itself (a component's parameters).
    """
    issues: list[tuple[str, str]] = []
    kind: type[SpecError] = SpecError  # keep the specific type (unknown, ambiguous) of the first issue
    for error in exc.errors():
        path = _join(prefix, ".".join(str(part) for part in error["loc"]))
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, SpecError):  # a nested component failed: its paths continue ours
            if not issues:
                kind = type(inner)
            issues.extend(inner.prefixed(path).issues)
            continue
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = _unknown_field_message(error["loc"], model, describe)
        elif error["type"] == "missing":
            message = "field required"
        elif "input" in error:
            message += f" (got {_short(error['input'])})"
        issues.append((path, message))
    return kind(issues[0][1], issues=issues)


def _unknown_field_message(loc: tuple[Any, ...], model: Any, describe: str | None) -> str:
    """``unknown field; did you mean 'depth'?`` and where the valid fields are listed."""
    known = _fields_at(model, loc[:-1]) if model is not None and loc else None
    if not known:
        return "unknown field (check the spelling)"
    message = "unknown field"
    close = difflib.get_close_matches(str(loc[-1]), known, n=3, cutoff=0.6)
    if close:
        message += f"; did you mean {', '.join(repr(name) for name in close)}?"
    if describe is not None and len(loc) == 1:  # the component's own parameters
        return message + f" ({describe} lists the fields)"
    if not close:
        message += f"; the fields here are {', '.join(known)}"
    return message


def _fields_at(annotation: Any, loc: tuple[Any, ...]) -> list[str] | None:
    """The field names of the pydantic model found at ``loc`` inside ``annotation``."""
    current = annotation
    for part in loc:
        if isinstance(part, int):  # an item of a list
            current = _item_type(current)
            continue
        found = _model_in(current, part)
        if found is None:
            return None
        if part not in found.model_fields:
            if found.__name__ == part:  # pydantic names the member of a union it tried
                current = found
                continue
            return None
        current = found.model_fields[part].annotation
    found = _model_in(current)
    return list(found.model_fields) if found is not None else None


def _model_in(annotation: Any, member: Any = None) -> type[pydantic.BaseModel] | None:
    """The pydantic model an annotation holds (through Annotated, Optional and unions)."""
    if inspect.isclass(annotation) and issubclass(annotation, pydantic.BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _model_in(typing.get_args(annotation)[0], member)
    if origin is typing.Union or isinstance(annotation, types.UnionType):
        models = [m for m in (_model_in(arg) for arg in typing.get_args(annotation)) if m is not None]
        for model in models:  # the member that has the field, or that pydantic names
            if member is None or member in model.model_fields or model.__name__ == member:
                return model
        return models[0] if models else None
    return None


def _item_type(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _item_type(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    return args[0] if origin in (list, tuple, set, frozenset) and args else None


def _join(prefix: str, path: str) -> str:
    return ".".join(part for part in (prefix, path) if part)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Kind:
    """Annotation marker: ``Annotated[ComponentSpec, Kind("encoder")]``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"Kind({self.kind!r})"


class ComponentSpec(pydantic.BaseModel):
    """A component by name plus its parameters. A bare string means ``{"name": s}``.

    Once validated in a spec, ``name`` is qualified (``scope:name``), ``kind`` is
    set and ``params`` holds every parameter, defaults included.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    params: dict[str, Any] = Field(default_factory=dict)
    kind: str | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        return value

    def resolve(self, kind: str | None = None, path: str = ""):
        """The registered component this spec names."""
        from jepa_core.registry import get_registry

        kind = kind or self.kind
        if kind is None:
            raise SpecError("a component spec needs a kind to be resolved", path)
        return get_registry().resolve(kind, self.name, _join(path, "name"))

    def build(self, **overrides: Any) -> Any:
        """Create the component (``overrides`` fill parameters the spec left unset)."""
        component = self.resolve()
        params = dict(self.params)
        for name, value in overrides.items():
            if params.get(name) is None:  # unset, or left at a None default that means "wire it"
                params[name] = value
        return component.create(params)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "params": _jsonable(self.params)}


def _validate_nested(kind: str) -> Callable[[ComponentSpec], ComponentSpec]:
    def validate(spec: ComponentSpec) -> ComponentSpec:
        component = spec.resolve(kind)
        params = component.validate(spec.params, "params")
        return ComponentSpec(name=component.qualname, params=params, kind=kind)

    return validate


def component_field(kind: str) -> Any:
    """The annotation of a parameter that is itself a ``kind`` component spec."""
    return Annotated[ComponentSpec, Kind(kind), pydantic.AfterValidator(_validate_nested(kind))]


EncoderSpec = component_field("encoder")
PredictorSpec = component_field("predictor")
LossSpec = component_field("loss")
MaskerSpec = component_field("masker")


class TargetSpec(pydantic.BaseModel):
    """How target embeddings are produced.

    ``ema``: a copy of the encoder updated as an exponential moving average, with
    momentum rising linearly from ``momentum`` to ``final_momentum`` over training
    (I-JEPA: 0.996 -> 1.0). ``shared``: the online encoder under stop-gradient.
    ``none``: the online encoder with gradients, for regulariser losses (SIGReg, VICReg).
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["ema", "shared", "none"] = "ema"
    momentum: Annotated[float, Field(ge=0.0, le=1.0)] = 0.996
    final_momentum: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_mode(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"mode": value}
        return value


class ModelSpec(pydantic.BaseModel):
    """A whole JEPA model: encoder + predictor + loss + masker + target settings."""

    model_config = ConfigDict(extra="forbid")

    encoder: EncoderSpec
    predictor: PredictorSpec
    loss: LossSpec = Field(default="jepa:mse", validate_default=True)
    masker: MaskerSpec | None = None
    target: TargetSpec = Field(default_factory=TargetSpec)
    normalize_targets: bool = Field(
        default=False, description="layer-normalise target embeddings (I-JEPA does)"
    )

    @classmethod
    def parse(cls, data: Any) -> ModelSpec:
        """Validate a dict, a ModelSpec, or a JSON/YAML file path; raise SpecError."""
        if isinstance(data, ModelSpec):
            return data
        if isinstance(data, (str, Path)):
            data = read_spec_file(data)
        if not isinstance(data, Mapping):
            raise SpecError(f"a model spec must be a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except pydantic.ValidationError as exc:
            raise spec_error_from_validation(exc, model=cls) from None

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json", exclude={"encoder", "predictor", "loss", "masker"})
        for key in ("encoder", "predictor", "loss", "masker"):
            value = getattr(self, key)
            data[key] = value.to_dict() if value is not None else None
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=True)


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """Read a JSON or YAML spec file, with errors that name the file."""
    path = Path(path)
    if path.is_dir():
        raise SpecError(f"spec file {str(path)!r} is a directory; give a YAML or JSON file")
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            data = yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecError(f"spec file {str(path)!r} is not valid {path.suffix[1:] or 'YAML'}: {exc}") from None
    if not isinstance(data, dict):
        raise SpecError(f"spec file {str(path)!r} must hold a mapping at the top level")
    return data


def _jsonable(value: Any) -> Any:
    """Parameters as JSON values (tuples become lists; validation turns them back)."""
    if isinstance(value, ComponentSpec):
        return value.to_dict()
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise SpecError(f"parameter value {value!r} of type {type(value).__name__} cannot be saved in a spec")
