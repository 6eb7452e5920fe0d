"""Pydantic specs: the validated form of what a user types.

* :class:`ComponentSpec` is ``{"name": ..., "params": {...}}`` (or just the name);
  a parameter annotated with :func:`component_field` is a nested component,
  validated recursively, so composites are built from config.
* :class:`ModelSpec` is a whole JEPA model; it round-trips through JSON and YAML.

Every failure becomes a :class:`~jepa_core.errors.SpecError` whose ``path`` is
the dotted location of the bad field (see :mod:`jepa_core.validation`). Every
spec model derives from :class:`SpecModel`: unknown keys are errors and
``inf``/``nan`` are refused for every float field. Spec documents are bounded in
depth, size and (YAML aliases included) expanded size before they are validated
(see :mod:`jepa_core.limits`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

import pydantic
import yaml
from pydantic import Field

from jepa_core.errors import SpecError, short_repr
from jepa_core.limits import MAX_NAME_LENGTH, MAX_SPEC_DEPTH, MAX_SPEC_FILE_BYTES, format_bytes
from jepa_core.registry import Component, get_registry
from jepa_core.validation import SpecModel, check_spec_shape, validate_spec


class ComponentSpec(SpecModel):
    """A component by name plus its parameters. A bare string means ``{"name": s}``.

    Once validated in a spec, ``name`` is qualified (``scope:name``), ``kind`` is
    set and ``params`` holds every parameter, defaults included.
    """

    name: Annotated[str, Field(max_length=MAX_NAME_LENGTH)]
    params: dict[str, Any] = Field(default_factory=dict)
    kind: str | None = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"name": value}
        return value

    def resolve(self, kind: str | None = None, path: str = "") -> Component:
        """The registered component this spec names."""
        kind = kind or self.kind
        if kind is None:
            raise SpecError("a component spec needs a kind to be resolved", path)
        return get_registry().resolve(kind, self.name, f"{path}.name" if path else "name")

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
    return Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested(kind))]


# Spelt out rather than ``component_field(kind)`` so a type checker sees aliases of
# ComponentSpec (a call's result is not a type to it); the runtime object is the same.
EncoderSpec: TypeAlias = Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested("encoder"))]
PredictorSpec: TypeAlias = Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested("predictor"))]
LossSpec: TypeAlias = Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested("loss"))]
MaskerSpec: TypeAlias = Annotated[ComponentSpec, pydantic.AfterValidator(_validate_nested("masker"))]


class TargetSpec(SpecModel):
    """How target embeddings are produced.

    ``ema``: a copy of the encoder updated as an exponential moving average, with
    momentum rising linearly from ``momentum`` to ``final_momentum`` over training
    (I-JEPA: 0.996 -> 1.0). ``shared``: the online encoder under stop-gradient.
    ``none``: the online encoder with gradients, for regulariser losses (SIGReg, VICReg).
    """

    mode: Literal["ema", "shared", "none"] = "ema"
    momentum: Annotated[float, Field(ge=0.0, le=1.0)] = 0.996
    final_momentum: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0

    @pydantic.model_validator(mode="before")
    @classmethod
    def _from_mode(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"mode": value}
        return value


class ModelSpec(SpecModel):
    """A whole JEPA model: encoder + predictor + loss + masker + target settings."""

    encoder: EncoderSpec
    predictor: PredictorSpec
    loss: LossSpec = Field(default="jepa:mse", validate_default=True)
    masker: MaskerSpec | None = None
    target: TargetSpec = Field(default_factory=TargetSpec)
    normalize_targets: bool = Field(default=False, description="layer-normalise target embeddings (I-JEPA does)")

    @classmethod
    def parse(cls, data: Any) -> ModelSpec:
        """Validate a dict, a ModelSpec, a JSON/YAML file path, or the text of one (what
        :meth:`to_json` and :meth:`to_yaml` write); raise SpecError."""
        if isinstance(data, ModelSpec):
            return data
        if isinstance(data, str) and not data.strip():
            raise SpecError("the model spec is empty: give a dict, a YAML or JSON file, or the text of one")
        if isinstance(data, str) and not is_file(data) and any(mark in data for mark in ("{", ": ", "\n")):
            data = parse_spec_text(data, "YAML", "the spec text")  # JSON is YAML too
        elif isinstance(data, (str, Path)):
            data = read_spec_file(data)
        if not isinstance(data, Mapping):
            raise SpecError(f"a model spec must be a mapping, got {type(data).__name__}")
        if data.get("format") == "jepa" and "spec" in data:  # a saved model's config.json
            raise SpecError(
                "this is a saved model's config.json: jepa.load(ITS_FOLDER) loads the model, and its "
                "'spec' key holds the model spec (jepa.load(ITS_FOLDER).spec)"
            )
        if "model" in data and not {"encoder", "predictor"} & set(data):  # a run config
            raise SpecError(
                "this is a run config (jepa train's): its 'model' section is the model spec, and "
                "jepa.load_run_spec reads the whole"
            )
        check_spec_shape(data)
        return validate_spec(cls.model_validate, dict(data), model=cls)

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


def is_file(path: str | os.PathLike[str]) -> bool:
    """``Path(path).is_file()``, False for what cannot name a file at all (too long
    for the file system, an embedded NUL) rather than an OSError or ValueError."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: str | os.PathLike[str]) -> bool:
    """``Path(path).is_dir()``, False for what cannot name a directory (see :func:`is_file`)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def read_spec_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON or YAML spec file, with errors that name the file.

    Files over ``MAX_SPEC_FILE_BYTES`` are refused unread, and the parsed document
    must pass :func:`check_spec_shape`."""
    shown = short_repr(str(path), 200)
    if not is_file(path) and is_dir(path):
        raise SpecError(f"spec file {shown} is a directory; give a YAML or JSON file")
    if not is_file(path):
        raise SpecError(f"spec file {shown} does not exist")
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_FILE_BYTES:
            raise SpecError(
                f"spec file {shown} is {format_bytes(size)}; a spec file may be at most "
                f"{format_bytes(MAX_SPEC_FILE_BYTES)}"
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec file {shown}: {exc}") from None
    kind = "JSON" if path.suffix.lower() == ".json" else "YAML"
    data = parse_spec_text(text, kind, f"spec file {shown}")
    if not isinstance(data, dict):
        raise SpecError(f"spec file {shown} must hold a mapping at the top level")
    return data


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: fast, and bounds nesting itself


def parse_spec_text(text: str, kind: str = "YAML", what: str = "the spec", path: str = "") -> Any:
    """Parse JSON or YAML text into plain values, or raise SpecError: a syntax error,
    a number too long to convert, nesting too deep to parse, or a document that
    fails :func:`check_spec_shape`."""
    try:
        data = json.loads(text) if kind == "JSON" else yaml.load(text, Loader=_YAML_LOADER)
    except (ValueError, yaml.YAMLError) as exc:  # JSONDecodeError is a ValueError; so is a 5000-digit int
        raise SpecError(f"{what} is not valid {kind}: {_syntax_problem(exc)}", path) from None
    except RecursionError:
        raise SpecError(f"{what} nests too deeply to read (at most {MAX_SPEC_DEPTH} levels)", path) from None
    check_spec_shape(data, path)
    return data


def _syntax_problem(exc: Exception) -> str:
    """A parser's complaint on one line; YAML's with its 1-based line and column, without the
    ``in "<unicode string>"`` it adds for text that came from no file."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return " ".join(re.sub(r'\s+in "<unicode string>",?', " at", str(exc)).split())

    def at(mark: Any) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    message = f"{at(exc.problem_mark)}: {exc.problem}"
    if exc.context and exc.context_mark is not None:
        message += f" ({exc.context} at {at(exc.context_mark)})"
    return " ".join(message.split())


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
    raise SpecError(f"parameter value {short_repr(value)} of type {type(value).__name__} cannot be saved in a spec")
