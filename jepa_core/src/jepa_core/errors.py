"""The exceptions jepa raises on purpose.

Every bad value a user can type (a wrong type, an out-of-range number, an unknown
key or component name, a width that does not fit) is a :class:`SpecError`, so a
caller needs one ``except`` clause around ``jepa.build``.
"""

from __future__ import annotations


class JEPAError(Exception):
    """Base class of every error jepa raises on purpose."""


class SpecError(JEPAError, ValueError):
    """A spec (arguments, config file, CLI value) is invalid.

    ``path`` is the dotted location of the first bad field (``"encoder.params.depth"``),
    or ``""`` when the problem is the spec as a whole; ``issues`` lists every
    ``(path, message)`` found.
    """

    def __init__(self, message: str, path: str = "", issues: list[tuple[str, str]] | None = None) -> None:
        self.issues = list(issues) if issues else [(path, message)]
        self.path = self.issues[0][0]
        super().__init__("; ".join(f"{p}: {m}" if p else m for p, m in self.issues))

    def prefixed(self, prefix: str) -> SpecError:
        """The same error located under ``prefix`` (for nested specs)."""
        issues = [(".".join(part for part in (prefix, p) if part), m) for p, m in self.issues]
        return type(self)(issues[0][1], issues=issues)


class UnknownComponentError(SpecError, LookupError):
    """No installed plugin provides a component of that kind and name."""


class AmbiguousComponentError(SpecError, LookupError):
    """A bare name is provided by more than one plugin; a qualified name is needed."""


class WiringError(SpecError):
    """Two components that must fit together (e.g. widths) do not."""


class PluginError(JEPAError):
    """A plugin failed to load or register (raised only in strict mode)."""


class CheckpointError(JEPAError):
    """A directory is not a loadable jepa checkpoint."""
