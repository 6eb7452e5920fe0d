"""The exceptions jepa raises on purpose, and how it warns.

Every bad value a user can type (a wrong type, an out-of-range number, an unknown
key or component name, a width that does not fit) is a :class:`SpecError`, so a
caller needs one ``except`` clause around ``jepa.build``.
"""

from __future__ import annotations

import reprlib
import sys
import warnings
from typing import Any

#: At most this many ``(path, message)`` issues are spelled out in an error's text.
MAX_ISSUES_SHOWN = 10
#: A message taken from another library's exception is cut to this many characters.
MAX_MESSAGE_CHARS = 500


class _ShortRepr(reprlib.Repr):
    """``repr`` that never formats more than it shows: containers are cut by level
    and by count, long strings and huge ints are elided (``repr`` of a 5,000-digit
    int raises ValueError, and of a YAML alias bomb takes minutes)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.maxlevel = 2
        self.maxdict = self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = 4
        self.maxarray = 4
        self.maxstring = self.maxother = limit
        self.maxlong = limit

    def repr_int(self, x: int, level: int) -> str:
        if x.bit_length() > 4 * self.maxlong:  # far too long to show: say how long instead
            return f"<int of about {int(x.bit_length() * 0.30103) + 1} digits>"
        return super().repr_int(x, level)

    def repr_instance(self, x: Any, level: int) -> str:
        try:
            return super().repr_instance(x, level)
        except Exception:  # a broken __repr__ must not replace the error being reported
            return f"<{type(x).__name__} object>"


_SHORT = {limit: _ShortRepr(limit) for limit in (60, 200)}


def short_repr(value: Any, limit: int = 60) -> str:
    """A ``repr`` of ``value`` of about ``limit`` characters at most, cheap for any input."""
    shorter = _SHORT.get(limit) or _ShortRepr(limit)
    text = shorter.repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def short_message(exc: BaseException, limit: int = MAX_MESSAGE_CHARS) -> str:
    """An exception's message on one line, cut to ``limit`` characters."""
    try:
        text = " ".join(str(exc).split()) or type(exc).__name__
    except Exception:  # a message that cannot even be formatted
        text = type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: Top-level packages whose frames a warning skips to reach the line that called into them:
#: jepa itself, and what sits between a user's call and a component (validation, hooks).
_PASS_THROUGH = frozenset({"jepa", "jepa_core", "pydantic", "pydantic_core", "pluggy", "torch", "contextlib"})


def _passes_through(module: str) -> bool:
    top = module.split(".")[0]
    return top in _PASS_THROUGH or top.startswith("jepa_plugins_")


def warn(message: str | Warning, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` naming the first frame outside jepa, its plugins and the
    libraries between them: the user's line (``trainer.fit()``,
    ``jepa.build_component(...)``) rather than the library's line that noticed."""
    level, frame = 2, sys._getframe(1)
    while frame.f_back is not None and _passes_through(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


class JEPAError(Exception):
    """Base class of every error jepa raises on purpose."""


class SpecError(JEPAError, ValueError):
    """A spec (arguments, config file, CLI value) is invalid.

    ``path`` is the dotted location of the first bad field (``"encoder.params.depth"``),
    or ``""`` when the problem is the spec as a whole; ``issues`` lists every
    ``(path, message)`` found.
    """

    def __init__(
        self, message: str, path: str = "", issues: list[tuple[str, str]] | None = None, total: int | None = None
    ) -> None:
        self.issues = list(issues) if issues else [(path, message)]
        self.path = self.issues[0][0]
        #: how many problems there are in all (more than ``issues`` lists when there were too many to list)
        self.total = max(total or 0, len(self.issues))
        shown = "; ".join(f"{p}: {m}" if p else m for p, m in _without_repeats(self.issues[:MAX_ISSUES_SHOWN]))
        hidden = self.total - min(len(self.issues), MAX_ISSUES_SHOWN)
        if hidden:
            shown += f"; and {hidden:,} more problems"
        super().__init__(shown)

    def prefixed(self, prefix: str) -> SpecError:
        """The same error located under ``prefix`` (for nested specs)."""
        issues = [(".".join(part for part in (prefix, p) if part), m) for p, m in self.issues]
        return type(self)(issues[0][1], issues=issues, total=self.total)


def _without_repeats(issues: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``issues`` with each ``;``-separated clause said once: a later issue drops a clause
    an earlier one gave word for word (five names from one blocked plugin give its
    remedy once, not five times). ``SpecError.issues`` keeps every message whole."""
    seen: set[str] = set()
    kept = []
    for path, message in issues:
        head, *clauses = message.split("; ")
        fresh = [clause for clause in clauses if clause not in seen]
        seen.update(clauses)
        kept.append((path, "; ".join([head, *fresh])))
    return kept


class UnknownComponentError(SpecError, LookupError):
    """No installed plugin provides a component of that kind and name."""


class AmbiguousComponentError(SpecError, LookupError):
    """A bare name is provided by more than one plugin; a qualified name is needed."""


class WiringError(SpecError):
    """Two components that must fit together (e.g. widths) do not."""


class TokenCountError(SpecError):
    """The data gives a different number of tokens than the model's masks are drawn for."""

    def in_run_config(self) -> TokenCountError:
        """The same error located in a run config, where the model's settings live under ``model:``."""
        message = (
            self.issues[0][1]
            .replace("set encoder.params.", "set model.encoder.params.")
            .replace("set masker.params.", "set model.masker.params.")
        )
        return TokenCountError(message, f"model.{self.path}" if self.path else "model")


class PluginError(JEPAError):
    """A plugin failed to load or register (raised only in strict mode)."""


class CheckpointError(JEPAError):
    """A directory is not a loadable jepa checkpoint."""
