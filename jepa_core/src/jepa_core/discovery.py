"""Finding and loading plugins: pluggy hooks behind ``jepa.plugins`` entry points.

Entry points are read once per process, on the first registry query (``import
jepa`` discovers nothing). A plugin's module is imported only when something needs
it: a qualified name (``vision:cnn``, ``jepa list encoder 'vision:*'``, a saved
model's config) imports that one plugin; a bare name, a listing of everything or
``jepa plugins`` imports them all, since any of them may provide it. Environment
switches, read at the first query:

``JEPA_PLUGINS``
    Allow-list: a comma-separated list of plugin names (entry point names) or
    distribution names. Only those plugins load; set but empty, no plugin loads.
    The core's own components are always available.
``JEPA_DISABLE_PLUGINS``
    Block-list in the same form; applied after the allow-list.
``JEPA_STRICT_PLUGINS``
    ``1``/``true``/``yes``/``on``: a plugin that fails to import or register, or is refused a
    name, raises :class:`~jepa_core.errors.PluginError` instead of being recorded
    and skipped.

Nothing a plugin does while it is imported or registered takes the host down:
any exception, ``sys.exit()`` and ``KeyboardInterrupt`` included, marks that
plugin failed (a real Ctrl-C from the user still stops the program). How long
each plugin took to load is recorded; ``jepa plugins`` flags the slow ones.
A plugin name belongs to one distribution: the first-party names (``vision``,
``text``, ``timeseries``) to ours, the reserved ``jepa`` and ``local`` to the core,
and a name that two other distributions both use to neither of them (unless the
switches turn all but one of them off).
"""

from __future__ import annotations

import difflib
import os
import signal
import threading
import time
import traceback
from importlib.metadata import EntryPoint, entry_points
from types import FrameType, ModuleType, TracebackType
from typing import Any

import pluggy

from jepa_core import __version__, hookspecs
from jepa_core.components import plugin as core_plugin
from jepa_core.errors import PluginError, warn
from jepa_core.first_party import CORE_DISTRIBUTION, ENTRY_POINT_GROUP, FIRST_PARTY_SCOPES, installed_from
from jepa_core.registry import (
    CORE_SCOPE,
    RESERVED_SCOPES,
    PluginRecord,
    PluginRegistrar,
    Registry,
    _Grant,
)
from jepa_core.registry import normalize_name as _normalize

_CORE_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

ALLOW_ENV = "JEPA_PLUGINS"
BLOCK_ENV = "JEPA_DISABLE_PLUGINS"
STRICT_ENV = "JEPA_STRICT_PLUGINS"
# A plugin that takes longer than this to import and register is flagged by
# `jepa plugins`: every command that needs all plugins waits for it.
SLOW_PLUGIN_SECONDS = 1.0


def _name_list(variable: str) -> set[str] | None:
    value = os.environ.get(variable)
    if value is None:
        return None
    return {_normalize(part.strip()) for part in value.split(",") if part.strip()}


def strict_mode() -> bool:
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def new_plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    return manager


class PluginLoader:
    """The installed plugins of one registry, imported when first needed.

    Creating it registers the core's components and reads the entry points once
    (applying the allow/block lists and refusing names a distribution does not
    own); a plugin's module is imported only by :meth:`load` of its name (what a
    qualified name such as ``vision:cnn`` needs) or by :meth:`load_all`.
    """

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.manager = new_plugin_manager()
        self.strict = strict_mode()
        self.pending: dict[str, tuple[EntryPoint, PluginRecord]] = {}
        core = registry._issue(_Grant(CORE_SCOPE, CORE_DISTRIBUTION, __version__, False))
        _register_module(self.manager, core_plugin, core)
        registry._close(core)
        allow = _name_list(ALLOW_ENV)
        block = _name_list(BLOCK_ENV) or set()
        claims: dict[str, list[tuple[EntryPoint, PluginRecord]]] = {}
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            record = _record_for(entry_point)
            same = claims.setdefault(record.name.lower(), [])
            if any(_normalize(r.distribution or "") == _normalize(record.distribution or "") for _, r in same):
                continue  # one distribution seen twice on the path: importlib.metadata's first copy wins
            same.append((entry_point, record))
            registry.plugins.append(record)
        for name, claimants in claims.items():
            everyone = sorted({record.distribution or "an unnamed distribution" for _, record in claimants})
            # the switches come first: switching one claimant of a disputed name off settles the dispute
            # (and in strict mode is the way to skip a refused plugin, as its error says)
            on = {id(record) for _, record in claimants if _switched_on(record, allow, block)}
            distributions = sorted({r.distribution or "an unnamed distribution" for _, r in claimants if id(r) in on})
            for entry_point, record in claimants:
                if id(record) not in on:
                    if _ownership_problem(name, record, everyone) is None:
                        registry._owners[name] = record.distribution or ""  # switched off, still its name
                    continue
                problem = _ownership_problem(name, record, distributions)
                if problem is not None:
                    self._fail(record, problem, status="refused")
                    continue
                registry._owners[name] = record.distribution or ""
                self.pending[name] = (entry_point, record)
            if len(everyone) > 1 and name not in registry._owners and name not in RESERVED_SCOPES:
                registry._owners[name] = " and ".join(everyone)  # nobody may take the disputed name
        known = {_normalize(name) for r in registry.plugins for name in (r.name, r.distribution or "")}
        core_names = {_normalize(scope) for scope in RESERVED_SCOPES} | {_normalize(CORE_DISTRIBUTION)}
        if block & core_names:  # the core is no plugin: listing it switches nothing off
            warn(
                f"{BLOCK_ENV} names {', '.join(map(repr, sorted(block & core_names)))}, the core, whose components are "
                "always available; it lists plugins only (`jepa plugins` shows them)"
            )
        known |= core_names
        for variable, listed in ((ALLOW_ENV, allow or set()), (BLOCK_ENV, block)):
            unknown = sorted(listed - known)
            if unknown:  # a typo would silently switch every plugin off (or none)
                plugins = sorted(r.name for r in registry.plugins)
                close = [m for u in unknown for m in difflib.get_close_matches(u, plugins, n=1, cutoff=0.6)]
                guess = f"did you mean {', '.join(map(repr, close))}? " if close else ""
                warn(
                    f"{variable} names {', '.join(map(repr, unknown))}, which matches no installed plugin "
                    f"({guess}installed: {', '.join(plugins) or 'none'}; `jepa plugins` lists them)"
                )

    def load(self, name: str) -> None:
        """Import and register the plugin called ``name``, if it is installed and not loaded yet."""
        found = self.pending.pop(name.lower(), None)
        if found is not None:
            self._load(*found)

    def load_all(self) -> None:
        for name in list(self.pending):
            self.load(name)

    def _load(self, entry_point: EntryPoint, record: PluginRecord) -> None:
        started = time.perf_counter()
        try:
            self._import_and_register(entry_point, record)
        finally:
            record.load_seconds = time.perf_counter() - started
        if record.status == "loaded" and record.refused and self.strict:
            raise _strict_error(record, f"plugin {record.name!r} ({record.distribution}): {record.refused[0]}")

    def _import_and_register(self, entry_point: EntryPoint, record: PluginRecord) -> None:
        guard = _PluginCode(self.registry, record)
        try:
            with guard:
                module = entry_point.load()
        except BaseException as exc:  # SystemExit and KeyboardInterrupt too: a plugin never ends the host
            guard.reraise_user_interrupt(exc)
            self._fail(record, f"import failed: {_describe(exc)}", exc)
            return
        problem = _api_problem(module, record)
        if problem is not None:
            record.status, record.error = "incompatible", problem
            if self.strict:
                raise _strict_error(record, problem)
            return
        registrar = self.registry._plugin_registrar(record)
        try:
            with guard:
                record.components = _register_module(self.manager, module, registrar)
        except BaseException as exc:
            guard.reraise_user_interrupt(exc)
            self.registry._remove_scope(record.name)
            self._fail(record, f"registration failed: {_describe(exc)}", exc)
            return
        finally:
            self.registry._close(registrar)  # a registrar kept by the plugin stops working
        record.status = "loaded"

    def _fail(
        self, record: PluginRecord, message: str, exc: BaseException | None = None, status: str = "failed"
    ) -> None:
        record.status, record.error = status, message
        if self.strict:
            raise _strict_error(record, f"plugin {record.name!r} ({record.distribution}): {message}") from exc


def _switched_on(record: PluginRecord, allow: set[str] | None, block: set[str]) -> bool:
    """Whether ``JEPA_PLUGINS`` / ``JEPA_DISABLE_PLUGINS`` let ``record`` load; if not, say why on it."""
    names = {_normalize(record.name), _normalize(record.distribution or "")}
    if allow is not None and not names & allow:
        # set but empty loads no plugin at all, which is easy to do by accident (`JEPA_PLUGINS= cmd`)
        record.status = "not allowed"
        record.error = (
            f"not listed in {ALLOW_ENV} (add it there to load it)"
            if allow
            else f"{ALLOW_ENV} is set but empty, which loads no plugin (unset it to load every one, or "
            "list this one there)"
        )
        return False
    if names & block:
        record.status, record.error = "blocked", f"listed in {BLOCK_ENV} (take it out to load it)"
        return False
    return True


def _strict_error(record: PluginRecord, message: str) -> PluginError:
    """Strict mode's error: the plugin's problem, and how to get past it."""
    # a plugin refused its name shares it with another: only its distribution's name skips it alone
    skip = record.distribution if record.status == "refused" and record.distribution else record.name
    already = os.environ.get(BLOCK_ENV, "").strip().strip(",")
    skip = f"{already},{skip}" if already else skip  # the plugins skipped so far stay skipped
    return PluginError(
        f"{message} ({STRICT_ENV} is set: skip this plugin with {BLOCK_ENV}={skip}, or unset "
        f"{STRICT_ENV} to load the others and see every plugin's state with `jepa plugins`)"
    )


class _PluginCode:
    """Marks a plugin's code as running (so the registry can refuse what it must not
    do) and tells a real Ctrl-C from a ``KeyboardInterrupt`` the plugin raised itself:
    the first must still stop the program, the second is the plugin's failure."""

    def __init__(self, registry: Registry, record: PluginRecord) -> None:
        self.registry = registry
        self.record = record
        self.user_interrupted = False
        self._previous: Any = None
        self._outer: PluginRecord | None = None

    def __enter__(self) -> _PluginCode:
        self._outer, self.registry._active = self.registry._active, self.record
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            try:
                if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                    self._previous = signal.signal(signal.SIGINT, self._on_sigint)
            except (ValueError, OSError):  # no signals here (an embedded interpreter)
                self._previous = None
        return self

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        self.user_interrupted = True
        raise KeyboardInterrupt

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.registry._active = self._outer
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)

    def reraise_user_interrupt(self, exc: BaseException) -> None:
        if isinstance(exc, KeyboardInterrupt) and self.user_interrupted:
            raise exc


def _ownership_problem(name: str, record: PluginRecord, distributions: list[str]) -> str | None:
    """Why ``record``'s distribution may not use the plugin name ``name``, or None."""
    if name in RESERVED_SCOPES:
        return f"the plugin name {record.name!r} is reserved for jepa itself; rename the entry point"
    owner = FIRST_PARTY_SCOPES.get(name)
    if owner is not None:
        if _normalize(record.distribution or "") == owner:
            return None
        return (
            f"the plugin name {record.name!r} belongs to {owner}; {record.distribution} may not load under "
            f"it (its components would answer for {name}:... names): rename its entry point"
        )
    if len(distributions) > 1:
        others = [d for d in distributions if _normalize(d) != _normalize(record.distribution or "")]
        return (
            f"the plugin name {record.name!r} is also used by {', '.join(others)}; neither loads until one "
            f"of them is uninstalled or renames its entry point, or is switched off ({BLOCK_ENV}=DISTRIBUTION "
            "loads the other)"
        )
    return None


def _api_problem(module: object, record: PluginRecord) -> str | None:
    """Why the plugin's declared JEPA_PLUGIN_API range excludes this core, or None."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # only for plugins that declare a range

    declared = getattr(module, "JEPA_PLUGIN_API", None)
    if declared is None:
        return None
    try:
        accepted = SpecifierSet(str(declared))
    except InvalidSpecifier:
        return f"JEPA_PLUGIN_API = {declared!r} is not a version range such as '>=1,<2'"
    if hookspecs.PLUGIN_API_VERSION in accepted:
        return None
    return (
        f"plugin {record.name!r} ({record.distribution} {record.version}) needs jepa plugin API {declared}, "
        f"but jepa-core {__version__} provides plugin API {hookspecs.PLUGIN_API_VERSION}; install a "
        f"{record.distribution} release made for this jepa-core, or a jepa-core that matches it"
    )


def _record_for(entry_point: EntryPoint) -> PluginRecord:
    distribution = entry_point.dist
    return PluginRecord(
        name=entry_point.name,
        module=entry_point.value,
        distribution=distribution.metadata["Name"] if distribution is not None else None,
        version=distribution.version if distribution is not None else None,
        installed_from=installed_from(distribution) if distribution is not None else None,
    )


def _register_module(manager: pluggy.PluginManager, module: ModuleType, registrar: PluginRegistrar) -> list[str]:
    """Register one plugin module with pluggy and call its ``jepa_register`` alone.

    Each plugin's hook is called on its own (not through ``manager.hook``) so that
    its components land in its own scope and its failure stays its own.
    """
    scope = registrar.scope
    manager.register(module, name=scope)
    try:
        manager.check_pending()  # a misspelt hook name is an error, not a silent no-op
        implementations = [impl for impl in manager.hook.jepa_register.get_hookimpls() if impl.plugin_name == scope]
        if not implementations:
            raise PluginError(f"module {module.__name__!r} defines no @jepa.hookimpl jepa_register")
        for impl in implementations:
            impl.function(registry=registrar)
    except BaseException:
        manager.unregister(name=scope)
        raise
    return [c.qualname for c in registrar.added]


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    # the plugin's own line: the innermost frame outside jepa_core (its registry.add call, say)
    outside = [frame for frame in frames if not frame.filename.startswith(_CORE_DIRECTORY)] or frames
    where = f" ({outside[-1].filename}:{outside[-1].lineno})" if outside else ""
    if isinstance(exc, SystemExit):
        return f"SystemExit: the plugin called sys.exit({exc.code!r}){where}"
    if isinstance(exc, KeyboardInterrupt):
        return f"KeyboardInterrupt raised by the plugin{where}"
    return f"{type(exc).__name__}: {exc}{where}"
