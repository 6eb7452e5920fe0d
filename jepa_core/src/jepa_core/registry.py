"""The component registry: what is installed, under which names, and how to find it.

Components live in scopes. The core's scope is ``jepa``; each plugin's scope is
the name of its entry point; components registered in-process with
:func:`jepa.register` live in ``local``. A component is always reachable by its
qualified name ``scope:name``, so installing a plugin never changes what a
qualified (saved) name means. A bare ``name`` resolves by precedence: the core's
component, else a first-party plugin's (one that really comes from the
distribution owning that scope), else the one other scope that provides it. So a
third-party plugin (or a notebook's ``jepa.register``) reusing a core or
first-party name never changes what that bare name means: its own component is
reachable as ``scope:name``, and ``jepa plugins`` and the conformance suite say
so. Two third-party scopes providing a bare name that no protected scope
provides make it ambiguous: using it is an error naming both.

A scope belongs to one distribution: ``jepa`` to jepa-core, a plugin's scope to the
distribution its entry point belongs to (the first-party scope names to our own
distributions even before they are installed). Only the loader hands out the
registrar of a plugin's scope, and only to that plugin's ``jepa_register`` hook;
the scope a registrar adds to is kept by the registry, not by the registrar
object. Code running while a plugin is imported or registered cannot ask for
another registrar (``registrar("jepa", replace=True)`` is refused and recorded on
the plugin, for ``jepa plugins`` to show). Plugins are ordinary Python code in
this process, so this keeps plugins from taking names through the API; it is not
a sandbox.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import re
import sys
import threading
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

import pydantic
import yaml

from jepa_core.errors import (
    AmbiguousComponentError,
    JEPAError,
    PluginError,
    SpecError,
    UnknownComponentError,
    short_message,
    short_repr,
    warn,
)
from jepa_core.first_party import CORE_DISTRIBUTION, FIRST_PARTY, FIRST_PARTY_SCOPES, SCOPES, STARTERS, install_command
from jepa_core.first_party import EXTRAS as FIRST_PARTY_EXTRAS
from jepa_core.limits import MAX_NAME_LENGTH, format_bytes, memory_budget, memory_budget_words
from jepa_core.validation import check_spec_shape, params_model_for, validate_spec

KINDS: tuple[str, ...] = ("encoder", "predictor", "loss", "masker", "dataset", "tokenizer")
CORE_SCOPE = "jepa"
LOCAL_SCOPE = "local"
RESERVED_SCOPES = frozenset({CORE_SCOPE, LOCAL_SCOPE})


def normalize_name(name: str) -> str:
    """A distribution or plugin name as packaging compares them (``Jepa_X.y`` -> ``jepa-x-y``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Component:
    """One registered component: a factory plus the pydantic model of its parameters."""

    kind: str
    name: str
    scope: str
    factory: Callable[..., Any]
    params_model: type[pydantic.BaseModel]
    doc: str
    distribution: str | None = None
    version: str | None = None

    @property
    def qualname(self) -> str:
        return f"{self.scope}:{self.name}"

    def validate(self, params: dict[str, Any] | None, path: str = "") -> dict[str, Any]:
        """Return ``params`` validated and filled with defaults, or raise SpecError."""
        if params is not None and not isinstance(params, Mapping):
            raise SpecError(
                f"the parameters of {self.kind} {self.qualname} are a mapping of names to values, "
                f"got {type(params).__name__} {short_repr(params)}",
                path,
            )
        check_spec_shape(params, path)
        model = validate_spec(
            self.params_model.model_validate,
            dict(params or {}),
            path,
            self.params_model,
            describe_command(self.kind, self.qualname),
        )
        return {name: getattr(model, name) for name in type(model).model_fields}

    def create(self, params: dict[str, Any] | None = None, path: str = "") -> Any:
        """Validate ``params`` and call the factory; the result remembers its spec.

        A ``torch.nn.Module`` component is first built on the ``meta`` device, where
        tensors have shapes but no storage, and refused when its parameters and
        buffers would not fit in :func:`~jepa_core.limits.memory_budget`. Whatever
        the factory raises (its own checks, a third-party library's errors, running
        out of memory) comes out as a SpecError located at ``path``.
        """
        filled = self.validate(params, path)
        self._check_memory(filled, path)
        try:
            obj = _build_warning_at_callers_line(self.factory, filled)
        except SpecError as exc:
            if exc.path.split(".")[0] in self.params_model.model_fields:  # a part (composite) failed at its field
                raise exc.prefixed(path) from exc
            raise SpecError(f"{self.kind} {self.qualname}: {exc}", path) from exc
        except JEPAError:
            raise
        except (ValueError, TypeError, OSError) as exc:
            # parameters that pass their own checks but not together (width vs heads), or name
            # a file that cannot be read
            raise SpecError(f"{self.kind} {self.qualname}: {short_message(exc)}", path) from exc
        except (MemoryError, RecursionError) as exc:
            raise SpecError(
                f"{self.kind} {self.qualname} could not be built: {type(exc).__name__} "
                f"{short_message(exc)}; use smaller sizes",
                path,
            ) from exc
        except Exception as exc:  # a third-party constructor's own error (RuntimeError, config errors, ...)
            raise SpecError(f"{self.kind} {self.qualname}: {type(exc).__name__}: {short_message(exc)}", path) from exc
        _remember_spec(obj, self, filled)
        return obj

    def _check_memory(self, params: dict[str, Any], path: str) -> None:
        """Refuse a module whose parameters and buffers would not fit in memory, found by
        building it on the meta device first (no storage is allocated there)."""
        import torch

        if not (inspect.isclass(self.factory) and issubclass(self.factory, torch.nn.Module)):
            return
        if getattr(_DRY_RUN, "active", False):  # a part of a component being measured: measured with it
            return
        _DRY_RUN.active = True
        try:
            with torch.device("meta"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = self.factory(**_fresh(params))  # a constructor that edits its arguments edits copies
            tensors = {id(t): t for t in (*module.parameters(), *module.buffers())}  # shared ones count once
            needed = sum(t.numel() * t.element_size() for t in tensors.values())
            elements = sum(t.numel() for t in tensors.values())
        except Exception:  # whatever fails here fails again below, in the real build, and is reported there
            return
        finally:
            _DRY_RUN.active = False
        budget = memory_budget()
        if needed > budget:
            raise SpecError(
                f"{self.kind} {self.qualname} would need {format_bytes(needed)} for its {elements:,} parameters "
                f"and buffers, more than {memory_budget_words(budget)}; use smaller sizes "
                "(widths, depth, token count)",
                path,
            )


@dataclass
class PluginRecord:
    """What happened to one ``jepa.plugins`` entry point."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    # not loaded (yet) | loaded | failed | incompatible | refused | blocked | not allowed
    status: str = "not loaded"
    error: str | None = None
    components: list[str] = field(default_factory=list)
    load_seconds: float | None = None  # importing the module plus its jepa_register hook
    refused: list[str] = field(default_factory=list)  # names it tried to take and was refused
    #: what to give ``pip install`` for this distribution when it did not come from a package
    #: index: a local folder (``-e FOLDER`` if editable), ``git+URL@COMMIT``, an archive's URL
    installed_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "installed_from": self.installed_from,
            "status": self.status,
            "error": self.error,
            "components": list(self.components),
            "load_seconds": self.load_seconds,
            "refused": list(self.refused),
        }


@dataclass
class _Grant:
    """What a registrar may do, kept by the registry (a plugin cannot edit it)."""

    scope: str
    distribution: str | None
    version: str | None
    replace: bool
    record: PluginRecord | None = None  # the plugin it was handed to
    open: bool = True


class PluginRegistrar:
    """The object a plugin's ``jepa_register`` hook receives: adds to its own scope only.

    The scope (and distribution, and whether names may be replaced) live in the
    registry, not on this object: they cannot be changed through it, and a registrar
    kept past its hook stops working.
    """

    # set once in __init__ through object.__setattr__ (this class refuses attribute writes)
    _registry: Registry
    added: list[Component]

    def __init__(self, registry: Registry) -> None:
        object.__setattr__(self, "_registry", registry)
        object.__setattr__(self, "added", [])

    def __setattr__(self, name: str, value: Any) -> None:
        self._registry._refuse(
            f"tried to set its registrar's {name!r} to {value!r}; a registrar adds to its own scope {self.scope!r} only"
        )

    def _grant(self) -> _Grant:
        grant = self._registry._grants.get(self)
        if grant is None or not grant.open:
            raise PluginError(
                "this registrar is closed: a plugin adds its components inside its jepa_register "
                "hook, through the registrar that hook receives"
            )
        return grant

    @property
    def scope(self) -> str:
        return self._grant().scope

    @property
    def distribution(self) -> str | None:
        return self._grant().distribution

    @property
    def version(self) -> str | None:
        return self._grant().version

    def add_template(self, name: str, text: str) -> None:
        """A commented starter run config that ``jepa init NAME`` writes (YAML text)."""
        if not name or not isinstance(text, str):
            raise ValueError("a template needs a name and YAML text")
        self._registry._add_template(name, text, self._grant())

    def add(
        self,
        kind: str,
        name: str,
        factory: Callable[..., Any],
        *,
        params: type[pydantic.BaseModel] | None = None,
        doc: str | None = None,
    ) -> Component | None:
        """Register ``factory`` as component ``scope:name`` of ``kind``.

        ``params`` is the pydantic model of the factory's keyword arguments; by
        default it is derived from the factory's typed signature. In a plugin's hook,
        a component that cannot be registered (an unknown kind, a bad name, a loss
        function given where its class belongs, type hints that do not resolve) is
        refused alone: recorded on the plugin with the plugin's line (``jepa
        plugins`` lists it, the conformance suite fails on it) while the plugin's other
        components load; the call returns None. Outside a hook it raises.
        """
        grant = self._grant()
        try:
            component = self._component(kind, name, factory, params, doc, grant)
            self._registry._insert(component, replace=grant.replace)
        except (TypeError, ValueError) as exc:
            if grant.record is None:
                raise
            grant.record.refused.append(f"{short_message(exc)} ({_calling_line()})")
            return None
        self.added.append(component)
        return component

    @staticmethod
    def _component(
        kind: str,
        name: str,
        factory: Callable[..., Any],
        params: type[pydantic.BaseModel] | None,
        doc: str | None,
        grant: _Grant,
    ) -> Component:
        if kind not in KINDS:
            raise ValueError(f"unknown component kind {kind!r}; kinds are {', '.join(KINDS)}")
        if not isinstance(name, str) or not name or ":" in name:
            raise ValueError(f"component name must be a non-empty string without ':', got {name!r}")
        if not callable(factory):
            raise TypeError(f"{kind} {name!r}: the factory must be a class or function, got {factory!r}")
        if kind == "loss" and inspect.isfunction(factory) and {"pred", "target"} <= _required(factory):
            # registered is what builds the loss: its parameters would be read as the loss's settings
            raise TypeError(
                f"loss {name!r}: {factory.__name__}(pred, target) is the loss itself; register a class whose "
                "instances are called on (pred, target) (e.g. an nn.Module with that forward), or a function "
                "of the loss's settings that returns one"
            )
        model = params if params is not None else params_model_for(factory, f"{grant.scope}:{name}")
        return Component(
            kind=kind,
            name=name,
            scope=grant.scope,
            factory=factory,
            params_model=model,
            doc=inspect.cleandoc(doc or inspect.getdoc(factory) or ""),
            distribution=grant.distribution,
            version=grant.version,
        )


class Registry:
    """All components known to this process. Plugins are discovered on first query."""

    def __init__(self) -> None:
        self._components: dict[tuple[str, str], dict[str, Component]] = {}
        self._by_factory: dict[Any, Component] = {}
        self.plugins: list[PluginRecord] = []
        self._templates: dict[str, tuple[str, str]] = {}
        self._loaded = False  # every plugin imported
        self._loading = False
        self._loader: Any = None  # a discovery.PluginLoader once entry points were read
        self._lock = threading.RLock()
        self._owners: dict[str, str] = {}  # plugin scope -> the distribution(s) its entry point belongs to
        self._grants: weakref.WeakKeyDictionary[PluginRegistrar, _Grant] = weakref.WeakKeyDictionary()
        self._active: PluginRecord | None = None  # the plugin whose code is running now

    @property
    def templates(self) -> Mapping[str, tuple[str, str]]:
        """Starter configs: name -> (scope, YAML text), read-only."""
        return types.MappingProxyType(self._templates)

    # -- discovery ---------------------------------------------------------------
    def ensure_loaded(self, scope: str | None = None) -> None:
        """Discover plugins: all of them, or with ``scope`` only the plugin of that
        name (enough to resolve ``scope:name`` without importing unrelated plugins)."""
        if self._loaded:
            return
        with self._lock:
            if self._loaded or self._loading:  # a plugin that queries the registry must not recurse
                return
            self._loading = True
            try:
                if self._loader is None:
                    self._loader = _new_loader(self)
                if scope is None:
                    self._loader.load_all()
                    self._loaded = True
                else:
                    self._loader.load(scope)
            finally:
                self._loading = False

    def _read_entry_points(self) -> None:
        """Know which plugin owns which scope (reads entry points, imports nothing)."""
        if self._loader is not None or self._loading:
            return
        with self._lock:
            if self._loader is None and not self._loading:
                self._loading = True
                try:
                    self._loader = _new_loader(self)
                finally:
                    self._loading = False

    def reset(self) -> None:
        """Forget everything (plugins are discovered again on the next query)."""
        if self._active is not None:
            self._refuse("tried to reset the registry")
        with self._lock:
            self._components.clear()
            self._by_factory.clear()
            self.plugins.clear()
            self._templates.clear()
            self._owners.clear()
            self._loaded = False
            self._loader = None

    # -- writing -----------------------------------------------------------------
    def registrar(
        self, scope: str, distribution: str | None = None, version: str | None = None, replace: bool = False
    ) -> PluginRegistrar:
        """A registrar for components made in this process (``local``, as
        :func:`jepa.register` uses, or a scope of your own). The core's scope and
        every plugin's scope are refused: only the loader hands those out, each to
        its own plugin. Plugin code asking for any registrar is refused and recorded.
        """
        if self._active is not None:
            # @jepa.register is what a plugin author writes; it asks for this registrar behind the scenes
            asked = (
                f"used @jepa.register (scope {LOCAL_SCOPE!r})"
                if scope == LOCAL_SCOPE and replace
                else f"asked for a registrar of scope {scope!r}" + (" (replace=True)" if replace else "")
            )
            self._refuse(
                f"{asked}; a plugin adds components only through the registrar its jepa_register hook receives, "
                f"to its own scope {self._active.name!r}"
            )
        if not isinstance(scope, str) or not scope or ":" in scope:
            raise ValueError(f"a scope is a non-empty name without ':', got {scope!r}")
        owner = self.scope_owner(scope)
        if owner is not None:
            raise PluginError(
                f"scope {scope!r} belongs to {owner}; only it registers there. Register components made "
                "in this process with @jepa.register (scope 'local'), or in a scope of your own"
            )
        return self._issue(_Grant(scope, distribution, version, replace))

    def scope_owner(self, scope: str) -> str | None:
        """The distribution that owns ``scope`` (None for ``local`` and unclaimed names)."""
        if scope == CORE_SCOPE:
            return CORE_DISTRIBUTION
        if scope == LOCAL_SCOPE:
            return None
        self._read_entry_points()
        return self._owners.get(scope.lower()) or FIRST_PARTY_SCOPES.get(scope.lower())

    def _issue(self, grant: _Grant) -> PluginRegistrar:
        registrar = PluginRegistrar(self)
        self._grants[registrar] = grant
        return registrar

    def _plugin_registrar(self, record: PluginRecord) -> PluginRegistrar:
        """The registrar of a plugin's own scope (the loader calls this, for its hook)."""
        return self._issue(_Grant(record.name, record.distribution, record.version, False, record))

    def _close(self, registrar: PluginRegistrar) -> None:
        grant = self._grants.get(registrar)
        if grant is not None:
            grant.open = False

    def _refuse(self, message: str) -> NoReturn:
        """Refuse what the running plugin tried, record it on the plugin, raise PluginError."""
        record = self._active
        if record is None:
            raise PluginError(message)
        record.refused.append(message)
        raise PluginError(f"plugin {record.name!r} ({record.distribution}) {message}")

    def _rank(self, scope: str) -> int:
        """0: the core, 1: a first-party plugin, 2: anything else (for names several claim;
        the lowest rank wins a bare name or a starter config's name)."""
        if scope == CORE_SCOPE:
            return 0
        owner = FIRST_PARTY_SCOPES.get(scope)
        return 1 if owner is not None and normalize_name(self._owners.get(scope, "")) == owner else 2

    def is_protected(self, component: Component) -> bool:
        """Whether ``component`` is the core's or a first-party plugin's (from the
        distribution that owns its scope): a bare name it has always means it."""
        if self._rank(component.scope) > 1:
            return False
        owner = CORE_DISTRIBUTION if component.scope == CORE_SCOPE else FIRST_PARTY_SCOPES[component.scope]
        return normalize_name(component.distribution or "") == owner

    def _precedence(self, component: Component) -> int:
        return self._rank(component.scope) if self.is_protected(component) else 2

    def shadowed_by(self, component: Component) -> Component | None:
        """The core or first-party component that the bare name of ``component`` means
        instead of it (None when its bare name is not taken by one that ranks higher)."""
        self.ensure_loaded()
        scopes = self._components.get((component.kind, component.name), {})
        rank = self._precedence(component)
        better = [c for c in scopes.values() if c is not component and self._precedence(c) < rank]
        return min(better, key=self._precedence) if better else None

    def shadowed(self, scope: str) -> list[tuple[Component, Component]]:
        """``(component, winner)`` for each component of ``scope`` whose bare name a core
        or first-party component takes (``winner``); it is reachable as ``scope:name`` only."""
        self.ensure_loaded()
        found = []
        for component in self._known():
            if component.scope == scope:
                winner = self.shadowed_by(component)
                if winner is not None:
                    found.append((component, winner))
        return found

    def _record(self, scope: str) -> PluginRecord | None:
        return next((p for p in self.plugins if p.name == scope and p.status != "refused"), None)

    def _add_template(self, name: str, text: str, grant: _Grant) -> None:
        refusal = self._template_refusal(name, text, grant)
        if refusal is not None:
            if grant.record is not None:  # the plugin's components stay usable; the refused starter does not
                grant.record.refused.append(refusal)
                return
            raise PluginError(refusal)
        held = self._templates.get(name)
        loser = self._record(held[0]) if held is not None and held[0] != grant.scope else None
        if loser is not None:  # the core or a first-party plugin keeps its own starter names
            loser.refused.append(
                f"tried to add starter config {name!r}, which {grant.scope!r} provides; give it another name"
            )
        self._templates[name] = (grant.scope, text)

    def _template_refusal(self, name: str, text: str, grant: _Grant) -> str | None:
        """Why ``grant`` may not add the starter ``name``, or None."""
        try:  # a starter that is not YAML would fail only when a user runs `jepa init` with it
            parsed = yaml.safe_load(text)
            problem = None if isinstance(parsed, dict) else f"its YAML is a {type(parsed).__name__}, not a mapping"
        except yaml.YAMLError as exc:
            problem = f"its YAML does not parse: {short_message(exc)}"
        if problem is not None:
            return f"tried to add starter config {name!r}, but {problem}"
        if name in STARTERS and self._rank(grant.scope) == 2:
            # a first-party starter's name means that starter, loaded or not (as a first-party component's does)
            return (
                f"tried to add starter config {name!r}, the name of {STARTERS[name][0]}'s starter; give it another name"
            )
        held = self._templates.get(name)
        if held is not None and held[0] != grant.scope and self._rank(grant.scope) >= self._rank(held[0]):
            # kept by whoever holds it; the newcomer's is recorded as refused, not fatal
            return f"tried to add starter config {name!r}, which {held[0]!r} already provides; give it another name"
        return None

    def _insert(self, component: Component, replace: bool) -> None:
        key = (component.kind, component.name)
        scopes = self._components.setdefault(key, {})
        if component.scope in scopes and not replace:
            raise ValueError(f"{component.kind} {component.qualname!r} is registered twice by the same plugin")
        scopes[component.scope] = component
        self._by_factory.setdefault(component.factory, component)

    def _remove_scope(self, scope: str) -> None:
        """Drop every component of ``scope`` (used when a plugin fails half-way)."""
        for key in list(self._components):
            self._components[key].pop(scope, None)
            if not self._components[key]:
                del self._components[key]
        for factory, component in list(self._by_factory.items()):
            if component.scope == scope:
                del self._by_factory[factory]
        for name, (owner, _) in list(self._templates.items()):
            if owner == scope:
                del self._templates[name]

    # -- reading -----------------------------------------------------------------
    def __iter__(self) -> Iterator[Component]:
        self.ensure_loaded()
        return self._known()

    def _known(self) -> Iterator[Component]:
        for key in sorted(self._components):
            scopes = self._components[key]
            for scope in sorted(scopes):
                yield scopes[scope]

    def list(self, kind: str | None = None, pattern: str | None = None) -> list[Component]:
        """Components of ``kind`` (all kinds if None) whose bare or qualified name
        matches the fnmatch ``pattern`` (``"*"`` wildcards, case-insensitive)."""
        if kind is not None:
            _check_kind(kind)
        # "vision:*" can only match components of the plugin called vision
        scope = pattern.partition(":")[0] if pattern is not None and ":" in pattern else ""
        self.ensure_loaded(scope if scope and not set(scope) & set("*?[") else None)
        found = []
        for component in self._known():
            if kind is not None and component.kind != kind:
                continue
            if pattern is not None and not (
                fnmatch.fnmatch(component.name.lower(), pattern.lower())
                or fnmatch.fnmatch(component.qualname.lower(), pattern.lower())
            ):
                continue
            found.append(component)
        return found

    def resolve(self, kind: str, name: str, path: str = "") -> Component:
        """The component that ``name`` (bare or ``scope:name``) means for ``kind``."""
        _check_kind(kind, path)
        if not isinstance(name, str) or not name:
            raise SpecError(f"a {kind} name must be a non-empty string, got {short_repr(name)}", path)
        if len(name) > MAX_NAME_LENGTH:
            raise SpecError(
                f"no {kind} named {short_repr(name)} is installed (a component name has at most "
                f"{MAX_NAME_LENGTH} characters)",
                path,
            )
        scope, _, bare = name.rpartition(":")
        self.ensure_loaded(scope or None)
        scopes = self._components.get((kind, bare), {})
        if scope:
            if scope in scopes:
                return scopes[scope]
        elif scopes:
            # the core's name, else a first-party plugin's, wins; among the rest a bare name is ambiguous
            best = min(self._precedence(c) for c in scopes.values())
            candidates = sorted((c for c in scopes.values() if self._precedence(c) == best), key=lambda c: c.scope)
            if best == 2 and (kind, bare) in FIRST_PARTY:
                # a first-party name whose plugin is not loaded: never silently someone else's
                others = " and ".join(f"{c.qualname!r} (from {c.distribution or 'this process'})" for c in candidates)
                raise UnknownComponentError(
                    f"{self._unknown_message(kind, bare)}; {others} has the same name: write the qualified "
                    "name to use it",
                    path,
                )
            if len(candidates) == 1:
                return candidates[0]
            names = " and ".join(f"{c.qualname} (from {c.distribution or 'this process'})" for c in candidates)
            raise AmbiguousComponentError(
                f"{kind} {bare!r} is provided by {names}; write the qualified name",
                path,
            )
        raise UnknownComponentError(self._unknown_message(kind, name), path)

    def component_of(self, obj: Any) -> Component | None:
        """The registered component whose factory built ``obj`` (or is ``obj``'s class)."""
        self.ensure_loaded()
        record = self.record_of(obj)
        return record[0] if record is not None else None

    def component_of_class(self, cls: type) -> Component | None:
        """The component registered with ``cls`` as its factory, if any."""
        self.ensure_loaded()
        return self._by_factory.get(cls)

    def record_of(self, obj: Any) -> tuple[Component, dict[str, Any]] | None:
        """``(component, arguments)`` that rebuild ``obj``, if it came from the registry
        or from a registered class constructed directly."""
        record = getattr(obj, "_jepa_component", None)
        if record is not None:
            return record
        arguments = getattr(obj, "_jepa_arguments", None)
        if arguments is None:
            return None
        component = self.component_of_class(type(obj))
        return (component, arguments) if component is not None else None

    def _unknown_message(self, kind: str, name: str) -> str:
        scope, _, bare = name.rpartition(":")
        message = f"no {kind} named {short_repr(name)} is available"
        components = self.list(kind)
        in_scope = sorted({c.name for c in components if c.scope == scope})
        if not scope:  # a first-party name counts even when its plugin is off: its own message says why
            close = close_names(bare, {c.name for c in components} | {n for k, n in FIRST_PARTY if k == kind})
        elif in_scope:
            # the scope's own names, then the very name under another scope (`text:cnn` -> vision:cnn)
            close = [f"{scope}:{n}" for n in difflib.get_close_matches(bare, in_scope, n=3, cutoff=0.6)]
            close += sorted(c.qualname for c in components if c.name == bare and c.scope != scope)
        elif scope in SCOPES or self.plugin_record(scope) is not None:
            close = []  # a known plugin that did not load (blocked, failed): said below; another's names are noise
        else:  # a scope nothing is registered under: close names anywhere, qualified
            # the very name first, then the closest: foo:cnn -> vision:cnn before timeseries:tcn
            names = sorted({c.name for c in components})
            rank = {n: i for i, n in enumerate(difflib.get_close_matches(bare, names, n=len(names)))}
            close = [
                c.qualname
                for c in sorted((c for c in components if c.name in rank), key=lambda c: (rank[c.name], c.qualname))
            ]
            scopes = sorted({c.scope for c in components} | set(SCOPES))
            if bare not in names and not difflib.get_close_matches(scope, scopes, n=1, cutoff=0.6):
                close = []  # another plugin's name, not installed here: other plugins' names would mislead
        if close and (scope or (kind, bare) not in FIRST_PARTY):  # a first-party name is no typo: say who has it
            message += f" (did you mean {', '.join(repr(c) for c in close[:3])}?)"
        other_kinds = sorted(
            {
                c.kind
                for other in KINDS
                if other != kind
                for c in self.list(other)
                if c.name == bare and scope in ("", c.scope)
            }
        )
        if other_kinds and not close:  # `encoder: attention`: the name is right, the section is not
            kinds = " and ".join(f"{_article(other)} {other}" for other in other_kinds)
            message += f"; {bare!r} is {kinds}, not {_article(kind)} {kind}"
        # who would provide it: the plugin a qualified name names, else the first-party owner of the name
        distribution = SCOPES.get(scope) if scope else FIRST_PARTY.get((kind, bare))
        provider = self.plugin_record(scope) if scope else None
        if provider is None and distribution is not None:
            provider = self.plugin_record(distribution=distribution)
        if provider is not None and provider.status == "loaded":
            message += (
                f"; plugin {provider.name!r} ({provider.distribution} {provider.version}) is loaded "
                f"and has no {kind} {bare!r}"
            )
        elif provider is not None or distribution is not None:
            owner = provider.distribution if provider is not None and provider.distribution else distribution
            # `vision:foo`: the plugin is what is missing, not a component it never had
            what = (
                f"plugin {scope!r}"
                if scope in SCOPES and FIRST_PARTY.get((kind, bare)) != SCOPES[scope]
                else f"{kind} {bare!r}"
            )
            message += "; " + self.install_hint(what, owner or "", FIRST_PARTY_EXTRAS.get((kind, bare), ""), provider)
        elif scope == LOCAL_SCOPE:
            message += (
                f"; names in scope {LOCAL_SCOPE!r} exist only in a process that registered them with "
                f"@jepa.register: run that code (import its module) before this, or ship the {kind} in a plugin"
            )
        elif scope and scope not in RESERVED_SCOPES:
            message += f"; no plugin named {scope!r} is installed (`jepa plugins` lists those that are)"
        # a plugin that failed to load, or a third party's that is switched off, might have provided the name
        for plugin in self.plugins:
            off = plugin.status in ("blocked", "not allowed") and plugin.name not in FIRST_PARTY_SCOPES
            if plugin is not provider and distribution is None and off:
                message += f"; note: plugin {plugin.name!r} ({plugin.distribution}) is {plugin.status}: {plugin.error}"
            if plugin is not provider and plugin.status in _NOT_LOADED:
                detail = f": {plugin.error}" if plugin.error else ""
                message += (
                    f"; note: plugin {plugin.name!r} ({plugin.distribution}) {_NOT_LOADED[plugin.status]}{detail}"
                )
        if not close and distribution is None and provider is None and (not components or not scope):
            message += f"; `jepa list {kind}` shows what is installed"
        return message

    def plugin_record(self, name: str | None = None, *, distribution: str | None = None) -> PluginRecord | None:
        """The record of the installed plugin called ``name`` (its scope), or of
        ``distribution``; None when no such plugin is installed. Of several plugins of
        one name (another distribution's entry point refused for taking it), the one
        that loaded."""
        self._read_entry_points()
        found = [
            record
            for record in self.plugins
            if (name is not None and record.name.lower() == name.lower())
            or (
                distribution is not None
                and record.distribution
                and _normalize_distribution(record.distribution) == _normalize_distribution(distribution)
            )
        ]
        return next((record for record in found if record.status == "loaded"), found[0] if found else None)

    def install_hint(self, what: str, distribution: str, extras: str = "", record: PluginRecord | None = None) -> str:
        """Why ``what`` (e.g. ``"encoder 'cnn'"``, ``"the 'vision' starter"``) is not
        available from ``distribution``: the pip command when the distribution is not
        installed, or, when it is, why its plugin did not load (its recorded error)."""
        if record is None and distribution:
            record = self.plugin_record(distribution=distribution)
        command = install_command(distribution, extras) if distribution else ""
        if record is None:
            return f"{what} comes with {distribution}: {command}"
        installed = f"{record.distribution or 'an unnamed distribution'} {record.version or ''}".strip()
        detail = f": {record.error}" if record.error else ""
        if record.status in _NOT_LOADED:
            failure = _NOT_LOADED[record.status]
            return f"{what} comes with {installed}, which is installed but its plugin {record.name!r} {failure}{detail}"
        if record.status in ("blocked", "not allowed"):
            # installed here but switched off by JEPA_PLUGINS / JEPA_DISABLE_PLUGINS: no pip command
            # (the switch is the remedy; a missing extra, if any, is reported once it loads)
            # two clauses: the second is the same for every name the plugin has, so an error
            # listing several of them says it once (SpecError drops a repeated clause)
            if what == f"plugin {record.name!r}":  # `seqenc:*`: the plugin itself, said once
                return f"{what} ({installed}) is installed here but {record.status}{detail}"
            switched = f"its plugin {record.name!r}, installed here, is {record.status}{detail}"
            return f"{what} comes with {installed}; {switched}"
        return f"{what}: plugin {record.name!r} ({installed}) is {record.status}"


# how an error about a missing name tells of a plugin that might have provided it but did not load
_NOT_LOADED = {"failed": "failed to load", "incompatible": "cannot load", "refused": "was refused its name"}


def _new_loader(registry: Registry) -> Any:
    # Lazy on purpose: discovery sits above the registry (it registers the core's
    # components, which import the registry) and reads entry points; `import jepa`
    # should do neither, so the loader comes in on the first query.
    from jepa_core.discovery import PluginLoader

    return PluginLoader(registry)


def _normalize_distribution(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def describe_command(kind: str, qualname: str) -> str:
    """The command that shows a component's parameters, as a user would type it: the
    CLI for installed components; ``jepa.describe`` for one registered in this process
    (scope ``local``), which a new ``jepa`` process would not know."""
    if qualname.partition(":")[0] == LOCAL_SCOPE:
        return f"`jepa.describe({kind!r}, {qualname!r})`"
    return f"`jepa describe {kind} {qualname}`"


def _check_kind(kind: str, path: str = "") -> None:
    if kind not in KINDS:
        close = difflib.get_close_matches(str(kind)[:MAX_NAME_LENGTH], KINDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise SpecError(f"unknown component kind {short_repr(kind)}; kinds are {', '.join(KINDS)}{hint}", path)


# -- remembering how an object was built --------------------------------------------
# A saved model records each component as (qualified name, parameters). Objects
# made by Component.create carry that record; objects a user constructs directly
# from a class decorated with capture_arguments carry their arguments, so
# `JEPA(Encoder(hidden_dim=8), Predictor(hidden_dim=8)).save_pretrained(...)` works.


def _remember_spec(obj: Any, component: Component, params: dict[str, Any]) -> None:
    try:
        object.__setattr__(obj, "_jepa_component", (component, dict(params)))
    except (AttributeError, TypeError):  # e.g. a builtin without __dict__
        pass


def close_names(word: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The ``names`` closest to ``word``, whatever the case (``VIT``, ``Vit`` -> ``vit``),
    closest first: the suggestions of an unknown-name message."""
    lowered = {name.lower(): name for name in sorted(names)}
    return [lowered[match] for match in difflib.get_close_matches(word.lower(), sorted(lowered), n=n, cutoff=0.6)]


def capture_arguments(cls: type) -> type:
    """Class decorator: instances remember the arguments they were constructed with,
    so a model holding them can be saved and rebuilt by name even when a user
    constructs them directly (components built by name remember theirs anyway).
    Registration leaves classes as they are: a component class opts in with this
    decorator, which is idempotent."""
    own = cls.__dict__.get("__init__")
    if own is not None and getattr(own, "_jepa_captures", False):
        return cls
    # a class that inherits its __init__ (a stateless nn.Module loss, a subclass that only
    # changes forward) wraps the inherited one, so its own instances record their arguments too
    init = own if own is not None else next(vars(base)["__init__"] for base in cls.__mro__ if "__init__" in vars(base))
    signature = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        if type(self) is not cls:
            return  # the subclass's own wrapper (if any) records its arguments
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop(next(iter(signature.parameters)))  # self
        try:
            object.__setattr__(self, "_jepa_arguments", arguments)
        except (AttributeError, TypeError):
            pass

    __init__._jepa_captures = True  # type: ignore[attr-defined]
    cls.__init__ = __init__  # type: ignore[misc]
    return cls


_DRY_RUN = threading.local()  # set while a component is being measured on the meta device


def _required(function: Callable[..., Any]) -> set[str]:
    """The names of a function's parameters that have no default."""
    return {
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }


def _calling_line() -> str:
    """``file:line`` of the innermost frame outside this module: the plugin's own
    ``registry.add(...)`` line when a plugin's hook is registering."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def _build_warning_at_callers_line(factory: Callable[..., Any], params: dict[str, Any]) -> Any:
    """``factory(**params)``; a warning that jepa or a plugin gives while building is
    shown at the line that asked for the component (``jepa.build_component(...)``), not
    at the factory's own line. Other libraries' warnings are issued again as they were."""
    raised: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as raised:
            warnings.simplefilter("always")  # recorded here, filtered when issued again below
            return factory(**params)
    finally:
        for warning in raised:
            module = next(
                (m for m in list(sys.modules.values()) if getattr(m, "__file__", None) == warning.filename), None
            )
            name = getattr(module, "__name__", "")
            if name.split(".")[0] in ("jepa", "jepa_core") or name.startswith("jepa_plugins_"):
                warn(warning.message, warning.category)
            else:  # where and how often the library gave it, under the caller's filters
                namespace = vars(module) if module is not None else None
                warnings.warn_explicit(
                    warning.message,
                    warning.category,
                    warning.filename,
                    warning.lineno,
                    module=name or None,
                    registry=namespace.setdefault("__warningregistry__", {}) if namespace is not None else None,
                    module_globals=namespace,
                )


def _fresh(value: Any) -> Any:
    """``value`` with its dicts, lists and tuples copied (other objects shared)."""
    if isinstance(value, dict):
        return {key: _fresh(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_fresh(item) for item in value)
    return value


REGISTRY = Registry()


def get_registry() -> Registry:
    """The process-wide registry."""
    return REGISTRY


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
