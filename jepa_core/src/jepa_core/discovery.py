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
    ``1``/``true``: a plugin that fails to import or register raises
    :class:`~jepa_core.errors.PluginError` instead of being recorded and skipped.
"""

from __future__ import annotations

import os
import re
import traceback
from importlib.metadata import EntryPoint, entry_points

import pluggy

from jepa_core import hookspecs
from jepa_core.errors import PluginError
from jepa_core.registry import CORE_SCOPE, RESERVED_SCOPES, PluginRecord, Registry

ENTRY_POINT_GROUP = "jepa.plugins"
ALLOW_ENV = "JEPA_PLUGINS"
BLOCK_ENV = "JEPA_DISABLE_PLUGINS"
STRICT_ENV = "JEPA_STRICT_PLUGINS"


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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
    (applying the allow/block lists and refusing clashing or reserved names); a
    plugin's module is imported only by :meth:`load` of its name (what a qualified
    name such as ``vision:cnn`` needs) or by :meth:`load_all`.
    """

    def __init__(self, registry: Registry) -> None:
        from jepa_core import __version__
        from jepa_core.components import plugin as core_plugin

        self.registry = registry
        self.manager = new_plugin_manager()
        self.strict = strict_mode()
        self.pending: dict[str, tuple[EntryPoint, PluginRecord]] = {}
        _register_module(self.manager, registry, core_plugin, CORE_SCOPE, "jepa-core", __version__)
        allow = _name_list(ALLOW_ENV)
        block = _name_list(BLOCK_ENV) or set()
        seen: dict[str, PluginRecord] = {}
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            record = _record_for(entry_point)
            registry.plugins.append(record)
            if record.name in seen:
                # importlib.metadata already keeps one copy of each distribution, so this
                # is two different distributions claiming one plugin name.
                other = seen[record.name]
                self._fail(record, f"plugin name {record.name!r} is already used by {other.distribution}; "
                                   f"rename the entry point in {record.distribution}")
                continue
            seen[record.name] = record
            names = {_normalize(record.name), _normalize(record.distribution or "")}
            if allow is not None and not names & allow:
                record.status, record.error = "not allowed", f"not listed in {ALLOW_ENV}"
            elif names & block:
                record.status, record.error = "blocked", f"listed in {BLOCK_ENV}"
            elif record.name in RESERVED_SCOPES:
                self._fail(record, f"the plugin name {record.name!r} is reserved for jepa itself")
            else:
                self.pending[record.name.lower()] = (entry_point, record)

    def load(self, name: str) -> None:
        """Import and register the plugin called ``name``, if it is installed and not loaded yet."""
        found = self.pending.pop(name.lower(), None)
        if found is not None:
            self._load(*found)

    def load_all(self) -> None:
        for name in list(self.pending):
            self.load(name)

    def _load(self, entry_point: EntryPoint, record: PluginRecord) -> None:
        try:
            module = entry_point.load()
        except Exception as exc:  # a broken plugin must not take the host down
            self._fail(record, f"import failed: {_describe(exc)}", exc)
            return
        problem = _api_problem(module, record)
        if problem is not None:
            record.status, record.error = "incompatible", problem
            if self.strict:
                raise PluginError(problem)
            return
        try:
            record.components = _register_module(
                self.manager, self.registry, module, record.name, record.distribution, record.version
            )
        except Exception as exc:
            self.registry.remove_scope(record.name)
            self._fail(record, f"registration failed: {_describe(exc)}", exc)
            return
        record.status = "loaded"

    def _fail(self, record: PluginRecord, message: str, exc: BaseException | None = None) -> None:
        record.status, record.error = "failed", message
        if self.strict:
            raise PluginError(f"plugin {record.name!r} ({record.distribution}): {message}") from exc


def _api_problem(module: object, record: PluginRecord) -> str | None:
    """Why the plugin's declared JEPA_PLUGIN_API range excludes this core, or None."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from jepa_core import __version__

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
    )


def _register_module(manager, registry, module, scope, distribution, version) -> list[str]:
    """Register one plugin module with pluggy and call its ``jepa_register`` alone.

    Each plugin's hook is called on its own (not through ``manager.hook``) so that
    its components land in its own scope and its failure stays its own.
    """
    manager.register(module, name=scope)
    try:
        manager.check_pending()  # a misspelt hook name is an error, not a silent no-op
        implementations = [
            impl for impl in manager.hook.jepa_register.get_hookimpls() if impl.plugin_name == scope
        ]
        if not implementations:
            raise PluginError(f"module {module.__name__!r} defines no @jepa.hookimpl jepa_register")
        registrar = registry.registrar(scope, distribution, version)
        for impl in implementations:
            impl.function(registry=registrar)
    except BaseException:
        manager.unregister(name=scope)
        raise
    return [c.qualname for c in registrar.added]


def _describe(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"
