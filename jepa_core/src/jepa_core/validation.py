"""Validating what a user types, below the registry (which validates components'
parameters with it) and the specs (which resolve component names through it).

* :func:`params_model_for` derives a component's parameter model from the typed
  signature of its factory (``Annotated[int, Field(gt=0)]`` constraints included),
  with ``extra="forbid"`` so a misspelt key is an error, not a silent default.
* :func:`validate_spec` turns pydantic's errors into one
  :class:`~jepa_core.errors.SpecError` whose ``path`` is the dotted location of the
  bad field.
* :func:`check_spec_shape` bounds a document's depth and size (YAML aliases
  included) before it is validated (see :mod:`jepa_core.limits`).
"""

from __future__ import annotations

import difflib
import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import pydantic
from pydantic import ConfigDict

from jepa_core.errors import SpecError, short_message, short_repr
from jepa_core.limits import MAX_SPEC_DEPTH, MAX_SPEC_VALUES

#: The configuration every spec model shares: a misspelt key is an error, not a silent
#: default, and a float field refuses ``inf`` and ``nan`` (they would only surface later
#: as a NaN loss, or as an OverflowError from ``int(width * ratio)``).
SPEC_CONFIG = ConfigDict(extra="forbid", allow_inf_nan=False, arbitrary_types_allowed=True, protected_namespaces=())


class SpecModel(pydantic.BaseModel):
    """Base class of every spec model: the parameter models derived from components'
    signatures, the model/run/train specs, and an explicit ``Params`` class a plugin
    writes should subclass it too."""

    model_config = SPEC_CONFIG

    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _no_bool_for_a_number(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        # pydantic reads true as 1 for an int field: `hidden_dim: true` would build a
        # model one unit wide instead of failing
        if isinstance(value, bool) and info.field_name is not None:
            field = cls.model_fields.get(info.field_name)
            if field is not None and _numbers_only(field.annotation):
                raise ValueError(f"expects a number, got {str(value).lower()} (a boolean)")
        return value


def _numbers_only(annotation: Any) -> bool:
    """Whether ``annotation`` (or one of its alternatives) is an int or a float, and none
    takes booleans or anything at all."""
    numbers = False
    pending = [annotation]
    while pending:
        current = pending.pop()
        if typing.get_origin(current) is Annotated:
            current = typing.get_args(current)[0]
        if typing.get_origin(current) is typing.Literal:
            choices = typing.get_args(current)
            if any(arg is True or arg is False for arg in choices):
                return False
            # Literal[1, 3] compares true == 1, so pydantic would take `true` as the choice 1
            numbers = numbers or any(isinstance(arg, (int, float)) for arg in choices)
            continue
        if current in (bool, Any, object):
            return False
        numbers = numbers or current in (int, float)
        if typing.get_origin(current) in (typing.Union, types.UnionType):  # not into lists: pydantic says those
            pending.extend(typing.get_args(current))
    return numbers


def params_model_for(factory: Callable[..., Any], label: str) -> type[pydantic.BaseModel]:
    """The pydantic model of ``factory``'s keyword parameters.

    Unannotated parameters accept any value; parameters without a default are
    required; ``*args``/``**kwargs`` are not part of a spec.
    """
    explicit = getattr(factory, "Params", None)
    if inspect.isclass(explicit) and issubclass(explicit, pydantic.BaseModel):
        return _finite_floats(explicit)
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
    return pydantic.create_model(model_name, __base__=SpecModel, **fields)


def _finite_floats(model: type[pydantic.BaseModel]) -> type[pydantic.BaseModel]:
    """An explicit ``Params`` model, refusing ``inf``/``nan`` unless its author decided
    otherwise (``allow_inf_nan`` set in its own config)."""
    if "allow_inf_nan" in model.model_config:
        return model
    return type(
        model.__name__,
        (model,),
        {"model_config": ConfigDict(allow_inf_nan=False), "__module__": model.__module__, "__doc__": model.__doc__},
    )


#: Beyond this many problems in one validation, only those among the first items of each
#: list and mapping are spelled out (pydantic takes seconds to list a million).
MAX_LISTED_ERRORS = 100

T = typing.TypeVar("T")


def validate_spec(
    validate: Callable[[Any], T],
    data: Any,
    prefix: str = "",
    model: Any = None,
    describe: str | None = None,
) -> T:
    """``validate(data)`` (a pydantic ``model_validate`` or ``TypeAdapter.validate_python``),
    with any ValidationError as a SpecError located under ``prefix`` (``model`` and
    ``describe``: as for :func:`spec_error_from_validation`).

    When there are very many problems (a long list whose every item is wrong, a
    mapping of a hundred thousand unknown keys), the data is validated again cut to
    the first items of each list and mapping, and those problems are listed with
    the total count: building pydantic's full error list would take longer than
    everything else.
    """
    try:
        return validate(data)
    except pydantic.ValidationError as exc:
        total = exc.error_count()
        if total <= MAX_LISTED_ERRORS:
            raise spec_error_from_validation(exc, prefix, model, describe) from None
    try:
        validate(_first_items(data, MAX_LISTED_ERRORS))
    except pydantic.ValidationError as fewer:
        raise spec_error_from_validation(fewer, prefix, model, describe, total=total) from None
    raise SpecError(f"{total:,} values are invalid; check the long lists and mappings here", prefix, total=total)


def _first_items(value: Any, count: int) -> Any:
    """``value`` with every list, tuple and mapping in it cut to its first ``count`` items."""
    if isinstance(value, Mapping):
        return {key: _first_items(item, count) for key, item in list(value.items())[:count]}
    if isinstance(value, (list, tuple)):
        return type(value)(_first_items(item, count) for item in value[:count])
    return value


def spec_error_from_validation(
    exc: pydantic.ValidationError,
    prefix: str = "",
    model: Any = None,
    describe: str | None = None,
    total: int = 0,
) -> SpecError:
    """One SpecError for a pydantic ValidationError, with dotted field paths.

    ``model`` is what was validated (a pydantic model class or an annotation): with
    it, an unknown field gets the closest known field names. ``describe`` is the
    command that lists the fields of ``model`` itself (a component's parameters).
    ``total``: how many problems there are when ``exc`` lists only some of them.
    """
    issues: list[tuple[str, str]] = []
    unions: dict[str, int] = {}  # the path of a value no member of a union took -> its issue
    kind: type[SpecError] = SpecError  # keep the specific type (unknown, ambiguous) of the first issue
    for error in exc.errors():
        loc = error["loc"]
        tag = next((i for i, part in enumerate(loc) if _is_union_member(part)), None)
        if tag is not None and error["type"] != "extra_forbidden":
            # pydantic reports each member of a union it tried (`image_size.constrained-int`,
            # `image_size.tuple[...]`): one issue at the value's own path, the reasons joined
            path = _join(prefix, ".".join(str(part) for part in loc[:tag]))
            reason = _as_a_config_says_it(error["msg"])
            within = ".".join(str(part) for part in loc[tag + 1 :])
            if within:  # a part of the value: tuple[int, int].1
                reason += f" at item {within}" if within.isdigit() else f" at {within}"
            if path in unions:
                at = unions[path]
                reason = reason.removeprefix("Input should be ")
                issues[at] = (path, issues[at][1].replace(" (got ", f", or {reason} (got ", 1))
                continue
            unions[path] = len(issues)
            issues.append((path, f"{reason} (got {short_repr(error.get('input'))})"))
            continue
        path = _join(prefix, ".".join(str(part) for part in loc))
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, SpecError):  # a nested component failed: its paths continue ours
            if not issues:
                kind = type(inner)
            issues.extend(inner.prefixed(path).issues)
            continue
        message = _as_a_config_says_it(error["msg"])
        if error["type"] == "extra_forbidden":
            message = _unknown_field_message(error["loc"], model, describe)
        elif error["type"] == "missing":
            # a component's own parameter: its docstring says what to give (a bpe vocab, a file path)
            message = "field required" + (f"; {describe} says what it takes" if describe and len(loc) == 1 else "")
        elif error["type"] == "finite_number":
            message = "must be a finite number, not inf or nan"
        elif error["type"] == "value_error" and inner is not None:  # our own validators' messages say it all
            message = short_message(inner)
        elif "input" in error:
            message += f" (got {short_repr(error['input'])})"
            if error["type"] == "list_type" and isinstance(error["input"], (str, int, float)):
                message += f"; one item is a list too: [{error['input']}]"
        issues.append((path, message))
    issues = _under_an_empty_section(issues)
    return kind(issues[0][1], issues=issues, total=total)


def _under_an_empty_section(issues: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A section left empty (``predictor:`` with nothing after it) beside unknown fields
    of its own (``name``, ``params``) one level up: the YAML indented them too little."""
    unknown = {path for path, message in issues if message.startswith("unknown field")}
    said = []
    for path, message in issues:
        parent, _, _ = path.rpartition(".")
        stray = [p.rpartition(".")[2] for p in unknown if p.rpartition(".")[0] == parent]
        if message.endswith("(got None)") and stray:
            message += (
                f"; {', '.join(sorted(stray))} sit{'s' if len(stray) == 1 else ''} beside it at "
                f"{parent or 'the top level'}: indent {'it' if len(stray) == 1 else 'them'} under {path}"
            )
        said.append((path, message))
    return said


# what a config writes for a section pydantic calls "a valid dictionary or instance of <class>"
_SECTION_FORMS = {
    "ComponentSpec": "a name, or a mapping {name: ..., params: {...}}",
    "TargetSpec": "a mode (ema, shared or none), or a mapping {mode: ..., momentum: ...}",
}


def _as_a_config_says_it(message: str) -> str:
    """pydantic's words for a Python type, in those of the YAML a user wrote (a tuple field
    takes a list there, and `jepa describe` calls it an array; a section is a mapping, not
    a class the docs never name)."""
    message = message.replace("a valid tuple", "a list ([a, b, ...])")
    return re.sub(
        r"a valid dictionary or instance of (\w+)",
        lambda found: _SECTION_FORMS.get(found[1], "a mapping of settings {key: value, ...}"),
        message,
    )


def _is_union_member(part: Any) -> bool:
    """Whether a ``loc`` part names the member of a union pydantic tried (``int``,
    ``constrained-int``, ``tuple[int, int]``), not a field."""
    return isinstance(part, str) and (part in _SCALAR_TAGS or "-" in part or "[" in part)


_SCALAR_TAGS = frozenset({"int", "float", "str", "bool", "none", "bytes"})


#: What other trainers (transformers, Lightning, timm) call a setting, and its name here:
#: spelling does not lead from one to the other (grad_accum is closest to grad_clip).
_OTHER_TRAINERS_NAMES = {
    "grad_accum": "accumulate",
    "gradient_accumulation_steps": "accumulate",
    "accumulate_grad_batches": "accumulate",
    "accumulation_steps": "accumulate",
    "learning_rate": "lr",
    "max_steps": "steps",
    "epochs": "steps",
    "num_epochs": "steps",
    "max_epochs": "steps",
    "num_train_epochs": "steps",
    "workers": "num_workers",
    "dataloader_num_workers": "num_workers",
    "mixed_precision": "precision",
    "amp": "precision",
    "max_grad_norm": "grad_clip",
    "clip_grad": "grad_clip",
    "gradient_clip_val": "grad_clip",
    "warmup": "warmup_steps",
}


def _unknown_field_message(loc: tuple[Any, ...], model: Any, describe: str | None) -> str:
    """``unknown field; did you mean 'depth'?`` and where the valid fields are listed."""
    known = _fields_at(model, loc[:-1]) if model is not None and loc else None
    if not known:
        return "unknown field (check the spelling)"
    message = "unknown field"
    other_name = _OTHER_TRAINERS_NAMES.get(str(loc[-1]).lower())
    close = [other_name] if other_name in known else difflib.get_close_matches(str(loc[-1]), known, n=3, cutoff=0.6)
    if close:
        message += f"; did you mean {', '.join(repr(name) for name in close)}?"
    if not close:
        message += f"; the fields here are {', '.join(known)}"
    if describe is not None and len(loc) == 1:  # the component's own parameters
        message += f" ({describe} explains them)" if not close else f" ({describe} lists the fields)"
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


# -- the shape of a spec document ---------------------------------------------------------


def check_spec_shape(data: Any, prefix: str = "") -> None:
    """Raise SpecError when ``data`` nests deeper than ``MAX_SPEC_DEPTH``, holds more
    than ``MAX_SPEC_VALUES`` values, or contains itself.

    A value reached through several references (YAML aliases) counts once per
    reference, as validation and saving would walk it, but is visited once here, so
    a document that expands to 10**30 values is refused in microseconds.
    """
    seen: dict[int, tuple[int, int]] = {}  # id -> (values in it, itself included; levels below it)
    open_ids: set[int] = set()
    trail: list[str] = []
    too_deep = f"the spec nests more than {MAX_SPEC_DEPTH} levels deep; no component needs that"

    def where() -> str:
        return _join(prefix, ".".join(trail))

    def visit(node: Any, depth: int) -> tuple[int, int]:
        key = id(node)
        if key in seen:
            count, height = seen[key]
        else:
            if key in open_ids:
                raise SpecError("the spec contains itself (a recursive YAML alias?)", where())
            count, height = 1 + len(node), 1 if len(node) else 0  # every item is one value...
            if count > MAX_SPEC_VALUES:
                raise SpecError(too_many, where())
            if height and depth + 1 > MAX_SPEC_DEPTH:
                raise SpecError(too_deep, where())
            open_ids.add(key)
            for name, child in node.items() if isinstance(node, Mapping) else enumerate(node):
                if child.__class__ in _SCALARS or not isinstance(child, _CONTAINERS):
                    continue
                trail.append(
                    name if isinstance(name, str) else str(name) if isinstance(name, int) else short_repr(name, 20)
                )
                child_count, child_height = visit(child, depth + 1)
                trail.pop()
                count += child_count - 1  # ...and a container item is as many as it holds
                height = max(height, child_height + 1)
                if count > MAX_SPEC_VALUES:
                    raise SpecError(too_many, where())
            open_ids.discard(key)
            seen[key] = (count, height)
        if depth + height > MAX_SPEC_DEPTH:  # a shared value met again, deeper than the first time
            raise SpecError(too_deep, where())
        return count, height

    too_many = (
        f"the spec expands to more than {MAX_SPEC_VALUES:,} values (counting each use of a YAML alias); "
        "no component needs that many"
    )
    if data.__class__ not in _SCALARS and isinstance(data, _CONTAINERS):
        visit(data, 0)


_SCALARS = frozenset({str, int, float, bool, type(None), bytes})
_CONTAINERS = (Mapping, list, tuple)
