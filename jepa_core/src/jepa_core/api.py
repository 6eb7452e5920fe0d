"""The registry functions of the public API: list, describe, register, load."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import torch

from jepa_core import persistence
from jepa_core.errors import warn
from jepa_core.first_party import FIRST_PARTY
from jepa_core.model import JEPA, BaseModel, MissingComponent
from jepa_core.registry import CORE_SCOPE, LOCAL_SCOPE, Component, get_registry
from jepa_core.specs import ComponentSpec
from jepa_core.validation import validate_spec

F = TypeVar("F", bound=Callable[..., Any])


def list_components(kind: str | None = None, pattern: str | None = None) -> list[Component]:
    """Installed components, optionally of one ``kind`` and matching an fnmatch
    ``pattern`` on the bare or qualified name (``"*attention*"``, ``"vision:*"``)."""
    return get_registry().list(kind, pattern)


def describe(kind: str, name: str) -> dict[str, Any]:
    """What a component is and how to configure it: qualified name, docstring,
    JSON schema of its parameters, their defaults, and the providing distribution."""
    component = get_registry().resolve(kind, name)
    schema = component.params_model.model_json_schema()
    defaults = {}
    for field_name, field in component.params_model.model_fields.items():
        if not field.is_required():
            default = field.get_default(call_default_factory=True)
            try:
                json.dumps(default)
            except TypeError:
                default = repr(default)
            defaults[field_name] = default
    return {
        "kind": component.kind,
        "name": component.name,
        "qualname": component.qualname,
        "doc": component.doc,
        "schema": schema,
        "defaults": defaults,
        "required": [n for n, f in component.params_model.model_fields.items() if f.is_required()],
        "distribution": component.distribution,
        "version": component.version,
    }


def register(
    kind: str,
    name: str,
    *,
    params: type[pydantic.BaseModel] | None = None,
    doc: str | None = None,
) -> Callable[[F], F]:
    """Decorator registering a class or factory in this process (scope ``local``)::

        @jepa.register("encoder", "my_encoder")
        @jepa.capture_arguments  # so directly constructed instances save and load too
        class MyEncoder(torch.nn.Module): ...

    Registering the same name again replaces it (re-running a notebook cell). A
    name the core or a first-party plugin uses keeps meaning theirs: yours is then
    ``local:NAME`` only, and a warning says so.
    """

    def decorate(factory: F) -> F:
        registry = get_registry()
        registry.registrar(LOCAL_SCOPE, replace=True).add(kind, name, factory, params=params, doc=doc)
        taken = _taken_by(kind, name)
        if taken is not None:
            warn(
                f"{kind} {name!r} is also {taken}, which the bare name {name!r} keeps meaning; build yours as "
                f"'{LOCAL_SCOPE}:{name}', or register it under another name",
                UserWarning,
            )
        return factory

    return decorate


def _taken_by(kind: str, name: str) -> str | None:
    """Who else a bare ``name`` means (the core, or a first-party plugin whether or not
    it is installed), read without importing any plugin."""
    registry = get_registry()
    registry._read_entry_points()  # registers the core's components, imports no plugin
    core = registry._components.get((kind, name), {}).get(CORE_SCOPE)
    if core is not None:
        return f"the core's ({core.qualname})"
    if (kind, name) in FIRST_PARTY:
        return f"the {kind} of {FIRST_PARTY[kind, name]} where that is installed"
    return None


def build_component(kind: str, spec: ComponentSpec | str | Mapping[str, Any], *, path: str = "") -> Any:
    """One component of ``kind``, from a name (``"bytes"``, ``"text:bpe"``), a
    ``{"name": ..., "params": {...}}`` mapping or a :class:`ComponentSpec`.

    For a component whose parameter holds another component (a text encoder's
    tokenizer): every invalid value raises :class:`~jepa_core.errors.SpecError`
    located under ``path``, the parameter's name in the caller's spec::

        tokenizer = jepa.build_component("tokenizer", {"name": "bytes"}, path="tokenizer")
    """
    if not isinstance(spec, ComponentSpec):
        spec = validate_spec(ComponentSpec.model_validate, spec, path)
    component = get_registry().resolve(kind, spec.name, path)
    return component.create(spec.params, f"{path}.params" if path else "params")


def spec_of(obj: Any) -> ComponentSpec | None:
    """The spec (qualified name and arguments) that rebuilds ``obj``, when it was built
    from the registry or is an instance of a registered class (constructed directly,
    see :func:`~jepa_core.registry.capture_arguments`); None otherwise.

    A parameter annotated with :func:`~jepa_core.specs.component_field` may use it to
    accept a ready object in place of its spec, so that the object is saved with the
    model holding it.
    """
    if isinstance(obj, MissingComponent):
        return obj.spec  # a loaded model's part whose plugin is not installed: as saved
    record = get_registry().record_of(obj)
    if record is None:
        return None
    component, arguments = record
    return ComponentSpec(name=component.qualname, params=dict(arguments), kind=component.kind)


def load(path: str | Path, device: str | torch.device | None = None) -> BaseModel:
    """Load a model saved with ``save_pretrained`` (see :meth:`BaseModel.from_pretrained`).

    ``path`` is a model directory (``config.json`` and ``model.safetensors``): a
    ``jepa train`` run keeps its trained model in ``RUN_DIR/final`` and each
    checkpoint's in ``RUN_DIR/checkpoints/step_N/model``.

    A masker or loss whose component cannot be rebuilt here (its plugin is not
    installed) does not stop the load: a warning names it and how to install it,
    and the model, which embeds and predicts as saved, holds a stand-in in its
    place that raises a :class:`jepa.CheckpointError` when training uses it. An
    unknown encoder or predictor is a ``CheckpointError``."""
    return persistence.load(JEPA, path, device, check_class=True)
