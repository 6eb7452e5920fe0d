"""The hooks a jepa plugin implements.

A plugin is a module named by an entry point in the ``jepa.plugins`` group::

    # pyproject.toml of the plugin distribution
    [project.entry-points."jepa.plugins"]
    myplugin = "my_package.plugin"

    # my_package/plugin.py
    import jepa

    @jepa.hookimpl
    def jepa_register(registry):
        registry.add("encoder", "my_encoder", MyEncoder)

The entry point's name (``myplugin``) is the plugin's scope: its components are
always reachable as ``myplugin:my_encoder``.

A plugin module may declare the plugin API versions it works with, as a PEP 440
specifier: ``JEPA_PLUGIN_API = ">=1,<2"``. A plugin whose range excludes
:data:`PLUGIN_API_VERSION` is refused with a message naming it, its version and
the range; the rest keeps working. The API version changes only when a contract
here or in the component kinds changes incompatibly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from jepa_core.registry import PluginRegistrar

PROJECT = "jepa"
#: The version of the plugin contract (hooks, component kinds) this jepa-core provides.
PLUGIN_API_VERSION = "1"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def jepa_register(registry: PluginRegistrar) -> None:
    """Add the plugin's components to ``registry``.

    Call ``registry.add(kind, name, factory, params=None, doc=None)`` once per
    component. ``kind`` is one of ``encoder``, ``predictor``, ``loss``, ``masker``,
    ``dataset``; ``factory`` is a class or function whose typed keyword
    parameters become the component's spec (see :func:`jepa.describe`).
    Called once per process, the first time any registry query is made. An
    exception here disables this plugin only; ``jepa plugins`` shows it. A
    component ``registry.add`` cannot take (an unknown kind, a name with ``:``, a
    loss function where its class belongs) is refused alone, with this hook's
    line: ``jepa plugins`` lists it, the conformance suite fails on it, and the
    plugin's other components load.
    """
