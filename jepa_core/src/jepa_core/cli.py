"""The ``jepa`` command line: inspect installed plugins and components."""

from __future__ import annotations

import argparse
import difflib
import importlib.metadata
import json
import os
import re
import shlex
import sys
import textwrap
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from jepa_core import __version__
from jepa_core.errors import AmbiguousComponentError, JEPAError, SpecError, short_message
from jepa_core.first_party import EXTRAS, FIRST_PARTY, SCOPES, STARTERS
from jepa_core.registry import KINDS, RESERVED_SCOPES, close_names, get_registry


def _versions() -> str:
    lines = [f"jepa-core {__version__}"]
    registry = get_registry()
    registry.ensure_loaded()
    for plugin in registry.plugins:
        if plugin.distribution:
            lines.append(f"{plugin.distribution} {plugin.version} ({plugin.name}: {plugin.status})")
    return "\n".join(dict.fromkeys(lines))


def _plugins(args: argparse.Namespace) -> int:
    registry = get_registry()
    registry.ensure_loaded()
    from jepa_core.discovery import SLOW_PLUGIN_SECONDS  # loaded by ensure_loaded; importing it first would load torch

    records = [plugin.as_dict() for plugin in registry.plugins]
    for record in records:
        record["components"] = _by_kind(record["components"])
        seconds = record["load_seconds"]
        record["slow"] = seconds is not None and seconds > SLOW_PLUGIN_SECONDS
        record["shadowed"] = [
            {
                "kind": component.kind,
                "name": component.qualname,
                "bare_name_means": winner.qualname,
                "warning": _shadow_warning(component, winner),
            }
            for component, winner in (registry.shadowed(record["name"]) if record["status"] == "loaded" else [])
        ]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("no plugins installed (core components only; `jepa list` shows them)")
        return 0
    for record in records:
        seconds = record["load_seconds"]
        timing = f"  {seconds:.2f} s" if seconds is not None else ""
        print(f"{record['name']}  {record['distribution']} {record['version']}  [{record['status']}]{timing}")
        if record["error"]:  # switched off on purpose is no error: say why it is off
            label = "why" if record["status"] in ("blocked", "not allowed") else "error"
            print(f"    {label}: {record['error']}")
        if record["status"] == "failed":
            print(
                f"    fix: install what the error names (or reinstall {record['distribution']}); until then "
                f"JEPA_DISABLE_PLUGINS={record['name']} skips it"
            )
        if record["slow"]:
            print(
                f"    slow: {seconds:.1f} s to import and register (over {SLOW_PLUGIN_SECONDS:g} s); every command "
                f"that needs all plugins waits for it (JEPA_DISABLE_PLUGINS={record['name']} skips it)"
            )
        for refusal in record["refused"]:
            print(f"    refused: {refusal}")
        for shadowed in record["shadowed"]:
            print(f"    warning: {shadowed['warning']}")
        for kind, names in record["components"].items():
            print(f"    {kind}: {', '.join(names)}")
    return 0


def _shadow_warning(component: Any, winner: Any) -> str:
    return (
        f"{component.kind} {component.name!r} (bare) means {winner.qualname} from {winner.distribution}; "
        f"this plugin's is reachable as {component.qualname} only"
    )


def _by_kind(qualnames: list[str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    registry = get_registry()
    for component in registry:
        if component.qualname in qualnames:
            grouped.setdefault(component.kind, []).append(component.qualname)
    return grouped


def _list(args: argparse.Namespace) -> int:
    kind, pattern = args.kind, args.pattern
    if kind is not None and kind not in KINDS and pattern is None:
        kind, pattern = None, kind  # `jepa list '*attention*'`
    components = get_registry().list(kind, pattern)
    if args.json:
        print(json.dumps([_summary(c) for c in components], indent=2))
        return 0
    if not components:
        print("no components match" + (f" {pattern!r}" if pattern else ""))
        close = difflib.get_close_matches(str(pattern), KINDS, n=1) if kind is None and pattern else []
        if close:
            print(f"did you mean the kind {close[0]!r}? `jepa list {close[0]}` lists its components")
        hint = _missing_plugin_hint(kind, pattern)
        if hint:
            print(hint)
        elif not close and pattern and not any(c in pattern for c in "*?:"):
            # a plain word: perhaps a misspelt name, or a word meant as a kind
            names = sorted({c.name for c in get_registry().list(kind)})
            near = difflib.get_close_matches(pattern.lower(), names, n=3)
            if near:
                print(f"did you mean {', '.join(repr(n) for n in near)}?")
            if kind is None:
                print(f"(a lone word is read as a name; the kinds are {', '.join(KINDS)})")
        return 0
    scope = pattern.partition(":")[0] if pattern and ":" in pattern else ""
    # which component a bare name builds needs every plugin loaded: a listing of one plugin
    # ('vision:*') imports that plugin alone, as the docs promise, and leaves the notes out
    one_plugin = bool(scope) and not set(scope) & set("*?[")
    rows = [
        (
            c.kind,
            c.qualname,
            f"{c.distribution or 'this process'} {c.version or ''}".strip(),
            ("" if one_plugin else _bare_name_note(c)) + _doc_summary(c.doc),
        )
        for c in components
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip())
    _note_missing_components()
    return 0


def _note_missing_components() -> None:
    """On stderr, under a listing: the plugins whose components it lacks (one failed to load,
    or was refused some of what it tried to add), so a missing name is not a mystery."""
    notes = []
    for record in get_registry().plugins:
        if record.status in ("failed", "incompatible", "refused"):
            notes.append(f"plugin {record.name!r} ({record.distribution}) did not load")
        elif record.refused:
            count = len(record.refused)
            notes.append(f"plugin {record.name!r} ({record.distribution}) was refused {count} thing(s) it tried to add")
    if notes:
        print(f"note: {'; '.join(notes)}; `jepa plugins` says why", file=sys.stderr)


def _bare_name_means(component: Any) -> str | None:
    """The qualified name of what ``component``'s bare name resolves to (None: ambiguous)."""
    try:
        return get_registry().resolve(component.kind, component.name).qualname
    except SpecError:  # several third-party plugins share the name, or its first-party owner is missing
        return None


def _bare_name_note(component: Any) -> str:
    """Where two components share a bare name, which one that name builds."""
    means = _bare_name_means(component)
    if means == component.qualname:
        return ""
    if means is not None:
        return f"[the bare name {component.name!r} means {means}] "
    owner = FIRST_PARTY.get((component.kind, component.name))
    if owner is not None:  # its first-party owner is not loaded: the name still never means this one
        return f"[the bare name {component.name!r} is {owner}'s: write {component.qualname}] "
    return f"[the bare name {component.name!r} is ambiguous: write {component.qualname}] "


def _missing_plugin_hint(kind: str | None, pattern: str | None) -> str | None:
    """When a listing is empty because a plugin is missing (``'timeseries:*'``, a
    first-party name such as ``tcn``): how to get it, or why it did not load."""
    if pattern is None:
        return None
    registry = get_registry()
    scope, _, bare = pattern.rpartition(":")
    if scope and not set(scope) & set("*?[") and scope not in RESERVED_SCOPES:
        record = registry.plugin_record(scope)
        if record is None and scope not in SCOPES:
            return f"no plugin named {scope!r} is installed (`jepa plugins` lists those that are)"
        if record is not None and record.status == "loaded":
            return None  # the plugin is there; nothing of it matches
        distribution = SCOPES.get(scope) or (record.distribution if record is not None else None) or ""
        return registry.install_hint(f"plugin {scope!r}", distribution, record=record)
    # a first-party component's bare name, e.g. `jepa list encoder tcn`
    for (component_kind, name), distribution in FIRST_PARTY.items():
        record = registry.plugin_record(distribution=distribution)
        if name == bare.lower() and kind in (None, component_kind) and (record is None or record.status != "loaded"):
            return registry.install_hint(
                f"{component_kind} {name!r}", distribution, EXTRAS.get((component_kind, name), "")
            )
    return None


def _terminal_literals(text: str) -> str:
    """reST ``literals`` and roles (:class:`Name`) as Markdown's `literals`, the way a
    terminal reader expects them."""
    return re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text).replace("``", "`")


def _doc_summary(doc: str) -> str:
    """A docstring's first sentence on one line (a first line wrapped mid-sentence was cut
    there), its reST ``literals`` as `literals`."""
    paragraph = _terminal_literals(" ".join(doc.strip().split("\n\n")[0].split()))
    end = re.search(r"(?<!e\.g)(?<!i\.e)(?<!et al)\.\s", paragraph)  # "e.g.", "et al." end no sentence
    return paragraph[: end.start() + 1] if end else paragraph


def _summary(component: Any) -> dict[str, Any]:
    return {
        "kind": component.kind,
        "name": component.qualname,
        "distribution": component.distribution,
        "version": component.version,
        "summary": _doc_summary(component.doc),
        "bare_name_means": _bare_name_means(component),
    }


def _close_names(name: str) -> str:
    """``"; did you mean 'vit' (encoder)? ..."`` for a name given without its kind: the
    installed names closest to it, whatever their case, each with its kind."""
    names = {(component.name, component.kind) for kind in KINDS for component in get_registry().list(kind)}
    close = close_names(name.rpartition(":")[2], {bare for bare, _ in names})
    shown = [f"{c!r} ({', '.join(sorted(k for b, k in names if b == c))})" for c in close]
    return f"; did you mean {', '.join(shown)}? (`jepa list` shows what is)" if shown else "; `jepa list` shows what is"


def _describe(args: argparse.Namespace) -> int:
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.api import describe

    kind, name = args.kind, args.name
    if name is None:  # `jepa describe vit`: the kind left out, found if one kind has the name
        if kind in KINDS:
            args.command_parser.error(f"give the {kind}'s name too, e.g. jepa describe {kind} NAME")
        failures = {each: _lookup_failure(each, kind) for each in KINDS}
        kinds = [each for each, failure in failures.items() if failure is None]
        if len(kinds) > 1:
            found = " or ".join(f"'jepa describe {each} {kind}'" for each in kinds)
            args.command_parser.error(f"{kind!r} names a component of several kinds: say which, {found}")
        if not kinds:
            args.command_parser.error(_kindless_failure(kind, failures))
        kind, name = kinds[0], kind
    info = describe(kind, name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"{info['kind']} {info['qualname']}  ({info['distribution']} {info['version']})")
    if info["doc"]:
        print()
        print(_terminal_literals(info["doc"]))
    print()
    print("parameters:")
    properties = info["schema"].get("properties", {})
    for name, schema in properties.items():
        default = "required" if name in info["required"] else f"default {json.dumps(info['defaults'].get(name))}"
        print(f"  {name}: {_type_of(schema)}  ({default})")
    return 0


def _lookup_failure(kind: str, name: str) -> JEPAError | None:
    try:
        get_registry().resolve(kind, name)
    except JEPAError as exc:
        return exc
    return None


def _kindless_failure(name: str, failures: dict[str, JEPAError | None]) -> str:
    """Why ``jepa describe NAME`` found nothing: the one kind's own reason when a kind
    knows the name (several plugins give it, its first-party plugin is switched off or
    failed), why the plugin a qualified name names did not load, else close names."""
    registry = get_registry()
    scope, _, bare = name.rpartition(":")
    knowing = [
        failure
        for kind, failure in failures.items()
        if failure is not None
        and (
            isinstance(failure, AmbiguousComponentError)
            or (kind, bare) in FIRST_PARTY
            or any(component.name == bare for component in registry.list(kind))
        )
    ]
    if len(knowing) == 1:
        return short_message(knowing[0])
    record = registry.plugin_record(scope) if scope else None
    if record is not None and record.status != "loaded":
        why = f": {record.error}" if record.error else ""
        return (
            f"no component named {name!r} is available: plugin {scope!r} ({record.distribution}) is "
            f"{record.status}{why} (`jepa plugins` says more)"
        )
    return f"no component named {name!r} is installed (of any kind){_close_names(name)}"


def _type_of(schema: dict[str, Any]) -> str:
    if "anyOf" in schema:
        return " | ".join(_type_of(option) for option in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    text = schema.get("type", "any")
    bounds = [
        f"{symbol}{schema[key]}"
        for key, symbol in (("exclusiveMinimum", ">"), ("minimum", ">="), ("exclusiveMaximum", "<"), ("maximum", "<="))
        if key in schema
    ]
    return f"{text} {' '.join(bounds)}" if bounds else text


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a step number; give 1 or more")
    return value


def _reached_step(run_dir: Any) -> int | None:
    """The step of a run directory's latest checkpoint (None without one)."""
    from pathlib import Path

    names = [p.name.removeprefix("step_") for p in Path(run_dir, "checkpoints").glob("step_*")]
    return max((int(name) for name in names if name.isdigit()), default=None)


def _configured_run_dir(config: str) -> str | None:
    """The run directory a config file names, read without validating the config."""
    from pathlib import Path

    import yaml

    try:
        named = yaml.safe_load(Path(config).read_text(encoding="utf-8")).get("run_dir")
    except Exception:  # the config's own error is the one to report
        return None
    return named if isinstance(named, str) and named else None


def _train(args: argparse.Namespace) -> int:
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.runs import (
        default_run_dir,
        failed_probes,
        load_run_spec,
        train_and_evaluate,
        with_saved_distributions,
    )
    from jepa_core.training import TrainingInterrupted, distributed  # lazy, as above

    if args.resume and args.restart:
        raise SpecError("--resume continues the run and --restart discards it: pass one of them")
    try:
        spec = load_run_spec(args.config, args.set)
    except SpecError as exc:
        if not args.resume:
            raise
        run_dir = args.run_dir or _configured_run_dir(args.config) or default_run_dir(args.config)
        raise with_saved_distributions(exc, run_dir) from None
    run_dir = args.run_dir or spec.run_dir or default_run_dir(args.config)
    try:
        path, results = train_and_evaluate(
            spec, run_dir=run_dir, resume=args.resume, restart=args.restart, max_steps=args.max_steps
        )
    except TrainingInterrupted as exc:
        rank, world = distributed()
        if rank == 0:
            print(f"jepa: {exc}; continue with: {_resume_command(args, run_dir, world)}", file=sys.stderr)
        return 130
    rank, world = distributed()
    if rank == 0:
        reached = _reached_step(path)
        if args.max_steps is not None and reached is not None and reached < spec.train.steps:
            print(
                f"jepa: the run is at step {reached} of {spec.train.steps} (--max-steps {args.max_steps}); "
                f"continue it with: {_resume_command(args, path, world)}",
                file=sys.stderr,
            )
        print(f"run directory: {path}")
        if results is not None:
            print(f"results written to {path}/eval.json", file=sys.stderr)
    if results is not None:
        return _probe_status(results, failed_probes(results), f"{path}/eval.json")
    return 0


def _resume_command(args: argparse.Namespace, run_dir: str | os.PathLike[str], world: int) -> str:
    """The command that resumes this ``jepa train`` run: its config and every ``--set``
    again (a resume refuses another set-up), under torchrun if it ran in ``world`` > 1
    processes."""
    launcher = ["torchrun", f"--nproc_per_node={world}", "-m", "jepa"] if world > 1 else ["jepa"]
    # --run-dir names the directory: a --set run_dir=... would name it twice
    kept = [assignment for assignment in args.set if assignment.split("=", 1)[0].strip() != "run_dir"]
    overrides = [part for assignment in kept for part in ("--set", assignment)]
    return shlex.join([*launcher, "train", args.config, *overrides, "--run-dir", str(run_dir), "--resume"])


def _probe_status(results: dict[str, Any], failed: list[str], saved: str | None) -> int:
    """The exit status of a command that printed ``results``: 1 when a probe of the
    trained model (the ``jepa`` row; ``failed`` lists its failures) failed, so that a
    script (or CI) never reads a partly measured model as evaluated; the other rows'
    results stay as printed."""
    scores = results.get("jepa", {})
    where = f"; the results are saved in {saved}" if saved else ""
    if not any(isinstance(value, float) and not name.endswith("_std") for name, value in scores.items()):
        print(
            f"jepa: error: no probe could score the model ({', '.join(failed) or 'no probe ran'} failed; "
            f"the errors are listed with the results{where})",
            file=sys.stderr,
        )
        return 1
    if failed:
        print(
            f"jepa: error: {len(failed)} probe{'s' if len(failed) > 1 else ''} of the model failed "
            f"({', '.join(failed)}; the errors are listed with the results{where}): the other probes' "
            "scores stand, but the evaluation asked for is incomplete, so the exit status is 1",
            file=sys.stderr,
        )
        return 1
    return 0


def _records_errors(path: str) -> bool:
    """Whether the results file at ``path`` lists errors (an unreadable file counts as none)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return bool(json.load(handle).get("errors"))
    except (OSError, ValueError, AttributeError):
        return False


def _eval(args: argparse.Namespace) -> int:
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.runs import evaluate_path, failed_probes, format_results, results_file

    results = evaluate_path(args.path, args.config, args.set, args.output)
    print(json.dumps(results, indent=2) if args.json else format_results(results))
    saved = results_file(args.path, args.config, args.set, args.output)
    # on stderr: stdout stays the results alone (--json reads cleanly)
    if saved is not None:
        print(f"results written to {saved}", file=sys.stderr)
    kept = os.path.join(args.path, "eval.json")  # a run's results as configured stay theirs
    save_hint = "" if saved is not None else "; -o FILE saves these results"
    if os.path.isfile(kept) and (saved is None or os.path.abspath(saved) != os.path.abspath(kept)):
        if _records_errors(kept) and not failed_probes(results) and "errors" not in results:
            save_hint += f"; it records errors that this evaluation has not: -o {kept} replaces it"
        print(f"{kept} left as it was (it holds the run's evaluation as configured){save_hint}", file=sys.stderr)
    elif saved is None:
        print(f"results not saved{save_hint}", file=sys.stderr)
    return _probe_status(results, failed_probes(results), None if saved is None else str(saved))


def _init(args: argparse.Namespace) -> int:
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.runs import template_names, write_template

    if args.name is None:
        rows = _starter_rows(template_names())
        print("starter configs (jepa init NAME writes NAME.yaml):" if rows else "no starter configs installed")
        widths = [max((len(row[i]) for row in rows), default=0) for i in range(2)]
        for name, source, summary in rows:
            print(f"  {name:<{widths[0]}}  {source:<{widths[1]}}  {summary}".rstrip())
        for hint in _missing_starter_hints():
            print(hint)
        return 0
    path = write_template(args.name, args.output, args.force)
    print(f"wrote {path}; train it with: jepa train {path}")
    return 0


def _starter_rows(names: Sequence[str]) -> list[tuple[str, str, str]]:
    """``(name, distribution, summary)`` of each starter; the summary is the first
    sentence of the comment block that opens its YAML."""
    registry = get_registry()
    rows = []
    for name in names:
        scope, text = registry.templates[name]
        record = None if scope == "jepa" else registry.plugin_record(scope)
        source = "jepa-core" if scope == "jepa" else (record.distribution if record and record.distribution else scope)
        comments = []
        for line in text.splitlines():
            if not line.startswith("#"):
                break
            comments.append(line.lstrip("#").strip())
        summary = re.split(r"(?<=\.)\s", " ".join(comments), maxsplit=1)[0]
        rows.append((name, source, summary))
    return rows


def _missing_starter_hints() -> list[str]:
    """How to get each first-party starter that is not available here."""
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.runs import template_names

    available = set(template_names())
    registry = get_registry()
    return [
        registry.install_hint(f"the {name!r} starter", distribution, extras)
        for name, (distribution, extras) in sorted(STARTERS.items())
        if name not in available
    ]


def _init_epilog() -> str:
    """``jepa init --help``'s list of starters, read from the installed plugins when shown."""
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.runs import template_names

    try:
        names = ", ".join(template_names())
        missing = _missing_starter_hints()
    except JEPAError as exc:  # strict plugin mode: a broken plugin must not hide the help
        names, missing = f"(cannot list them: {exc})", []
    lines = [f"starter configs installed here: {names}", *(f"  {hint}" for hint in missing), ""]
    return "\n".join(lines) + "\n" + INIT_EXAMPLES


def _new_plugin(args: argparse.Namespace) -> int:
    # lazy: torch and the engine load only for the commands that use them
    from jepa_core.scaffold import scaffold_plugin

    root = scaffold_plugin(args.name, args.directory)
    print(f'wrote plugin distribution {root}/; next: pip install -e "{root}[test]" && pytest {root}/tests')
    distribution = re.sub(r"[-_.]+", "-", args.name).lower()
    try:
        installed = importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return 0
    # allowed (the same distribution, not another's plugin name), but a user should know
    print(f"note: {distribution} {installed} is installed here; installing this scaffold replaces it", file=sys.stderr)
    return 0


class _Parser(argparse.ArgumentParser):
    """An argument parser whose epilog may be computed when its help is shown, so that
    ``jepa init --help`` lists the installed starters without every ``jepa`` command
    importing the plugins first."""

    def __init__(self, *args: Any, epilog_from: Callable[[], str] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        # `--res` must not mean --resume: a misspelt option is an error, as a misspelt key is
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self._epilog_from = epilog_from

    def format_help(self) -> str:
        if self._epilog_from is not None:
            self.epilog = self._epilog_from()
        return super().format_help()


def _wrap(text: str) -> str:
    """A description wrapped for an 80-column terminal (the help keeps its line breaks)."""
    return textwrap.fill(text, width=78)


def _examples(*lines: tuple[str, str]) -> str:
    width = max(len(command) for command, _ in lines)
    return "examples:\n" + "\n".join(
        f"  {command:<{width}}  # {why}" if why else f"  {command}" for command, why in lines
    )


INIT_EXAMPLES = _examples(
    ("jepa init", "list the starters"),
    ("jepa init vision", "write vision.yaml"),
    ("jepa init vision -o runs/v.yaml --force", "write it elsewhere, replacing the file"),
    ("jepa train vision.yaml", "then train it"),
)


def make_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="jepa",
        description=_wrap(
            "Joint-Embedding Predictive Architectures: inspect the installed components, train a run from "
            "one config file and probe what it learned."
        ),
        epilog="`jepa COMMAND --help` describes a command, with examples.",
    )
    parser.add_argument("--version", action="store_true", help="show jepa-core and plugin versions")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    plugins = sub.add_parser(
        "plugins",
        help="installed plugins, their components and load status",
        description=_wrap(
            "The installed plugin distributions: version, load status (loaded, failed, incompatible, "
            "refused, blocked, not allowed), the error of one that did not load, what a loaded one was "
            "refused, and the components of each."
        ),
        epilog=_examples(
            ("jepa plugins", ""),
            ("jepa plugins --json", "machine-readable"),
            ("JEPA_DISABLE_PLUGINS=text jepa plugins", "as it looks with the text plugin blocked"),
        ),
    )
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(run=_plugins)

    listing = sub.add_parser(
        "list",
        help="installed components, optionally of one kind / matching a pattern",
        description=_wrap(
            "Installed components: all, those of one KIND, and/or those whose bare or qualified name matches "
            "PATTERN (fnmatch wildcards * and ?, case-insensitive). A PATTERN alone may stand where KIND "
            "goes. Quote patterns so that the shell does not expand them."
        ),
        epilog=_examples(
            ("jepa list", "every component"),
            ("jepa list predictor", "the predictors"),
            ("jepa list '*l1*'", "any kind whose name contains l1"),
            ("jepa list encoder 'vision:*'", "the vision plugin's encoders"),
        ),
    )
    listing.add_argument(
        "kind", nargs="?", metavar="KIND", help=f"one of {', '.join(KINDS)}; or a PATTERN when given alone"
    )
    listing.add_argument(
        "pattern",
        nargs="?",
        metavar="PATTERN",
        help="matches bare or qualified names, e.g. '*attention*' or 'vision:*'",
    )
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_list)

    describe = sub.add_parser(
        "describe",
        help="a component's documentation and parameters",
        description=_wrap(
            "A component's documentation and its parameters with their types and defaults: the schema that "
            "validates its params in a config or jepa.build."
        ),
        epilog=_examples(
            ("jepa describe encoder transformer", ""),
            ("jepa describe vit", "the kind may be left out where only one kind has the name"),
            ("jepa describe encoder vision:cnn", ""),
            ("jepa describe loss smooth_l1 --json", "the JSON schema"),
        ),
    )
    describe.add_argument("kind", help=f"one of {', '.join(KINDS)} (may be left out when one kind has the name)")
    describe.add_argument("name", nargs="?", help="bare or qualified (plugin:name) component name")
    describe.add_argument("--json", action="store_true", help="machine-readable output")
    describe.set_defaults(run=_describe)

    train = sub.add_parser(
        "train",
        help="train the run a YAML/JSON config describes",
        description=_wrap(
            "Train the run a config file describes (model, data, train and eval sections), then run its eval "
            "section. The file and every --set are validated before any tensor exists. The run directory "
            "gets run.json (the full spec), metrics.jsonl, checkpoints/, final/ and eval.json."
        ),
        epilog=_examples(
            ("jepa init sequences && jepa train sequences.yaml", ""),
            ("jepa train vision.yaml --set train.lr=3e-4 --set train.steps=500", "override values"),
            ("jepa train vision.yaml --max-steps 1000", "stop at step 1000, checkpointed"),
            ("jepa train vision.yaml --resume", "continue from the latest checkpoint"),
            ("jepa train vision.yaml --resume --set train.steps=6000", "and train on to step 6000"),
            ("torchrun --nproc_per_node=2 -m jepa train vision.yaml", "several processes (DDP)"),
        ),
    )
    train.add_argument("config", help="run config (model, data, train, eval sections)")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set train.lr=3e-4 (repeatable)",
    )
    train.add_argument("--run-dir", help="where the run goes (default: the config's run_dir or runs/CONFIG)")
    train.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    train.add_argument(
        "--restart",
        action="store_true",
        help="discard the run already in the run directory (checkpoints, final model, metrics, run.json, eval.json, "
        "the plot) and start over",
    )
    train.add_argument(
        "--max-steps",
        type=_positive_int,
        help="stop after this step (checkpointed; the eval section runs once the run reaches train.steps), for staged "
        "runs",
    )
    train.set_defaults(run=_train)

    evaluate = sub.add_parser(
        "eval",
        help="probe a trained model's frozen embeddings",
        description=_wrap(
            "Probe a trained model's frozen embeddings as its run config's eval section says, against the "
            "baselines it names (the same encoder with random weights, the raw inputs). Exit status 1 when "
            "any probe of the model failed (the table is printed first)."
        ),
        epilog=_examples(
            ("jepa eval runs/vision", "as configured: rewrites its eval.json"),
            ("jepa eval runs/vision --set eval.shots=5 -o 5shot.json", "another way"),
            ("jepa eval my-model --config vision.yaml", "a saved model, as a config says"),
            ("jepa eval pretrained.yaml", "a model as its config builds it, untrained"),
        ),
    )
    evaluate.add_argument(
        "path",
        help="a run directory, a saved model directory with --config, or a run "
        "config: its model as built, untrained (e.g. from pretrained weights)",
    )
    evaluate.add_argument("--config", help="run config whose eval section says how to probe")
    evaluate.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override an eval value (repeatable)"
    )
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    evaluate.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        help="also write the results (JSON) here; without it "
        "only a run evaluated as configured (no --set, no --config) rewrites its eval.json",
    )
    evaluate.set_defaults(run=_eval)

    init = sub.add_parser(
        "init",
        help="write a commented starter run config",
        description=_wrap(
            "Write a commented starter run config (model, data, train and eval sections) that `jepa train` "
            "runs as it is. Plugins provide starters for their modality."
        ),
        epilog_from=_init_epilog,
    )
    init.add_argument("name", nargs="?", help="which starter (omit to list them)")
    init.add_argument("--output", "-o", metavar="FILE", help="file to write (default NAME.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)

    new_plugin = sub.add_parser(
        "new-plugin",
        help="scaffold a plugin distribution (entry point, encoder, tests)",
        description=_wrap(
            "Scaffold a plugin distribution: a pyproject.toml with the jepa.plugins entry point, a "
            "registered encoder to start from, and the conformance tests every component must pass."
        ),
        epilog=_examples(
            ("jepa new-plugin jepa-myencoders", "write ./jepa-myencoders"),
            ('pip install -e "jepa-myencoders[test]" && pytest jepa-myencoders/tests', "install it, run its tests"),
        ),
    )
    new_plugin.add_argument("name", help="distribution name, e.g. jepa-myencoders")
    new_plugin.add_argument("--directory", help="where to write it (default ./NAME)")
    new_plugin.set_defaults(run=_new_plugin)
    for command_parser in sub.choices.values():  # a stray argument is reported with its command's usage
        command_parser.set_defaults(command_parser=command_parser)
    return parser


def _one_line_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, line: str | None = None
) -> str:
    return f"jepa: warning: {message}\n"


def main(argv: Sequence[str] | None = None) -> int:
    warnings.formatwarning = _one_line_warning  # a user reads what happened, not which line warned
    if os.environ.get("RANK", "0") != "0":  # under torchrun every process meets the same warnings: one says them
        warnings.simplefilter("ignore")
    # A command meets some warnings more than once (`jepa eval` builds its datasets for the
    # check, the probes and each baseline): each is said once. The "once" filter cannot do
    # it, as every component build records warnings and so resets the filters' memory.
    shown: set[tuple[str, type[Warning]]] = set()
    show = warnings.showwarning

    def show_once(
        message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        if (str(message), category) not in shown:
            shown.add((str(message), category))
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = show_once
    try:
        return _run_command(argv)
    finally:
        warnings.showwarning = show


def _run_command(argv: Sequence[str] | None) -> int:
    parser = make_parser()
    args, stray = parser.parse_known_args(argv)
    if stray:
        getattr(args, "command_parser", parser).error(f"unrecognized arguments: {' '.join(stray)}")
    try:
        if args.version:
            print(_versions())
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        return args.run(args)
    except JEPAError as exc:
        # one line, whatever the message holds (a YAML error's own line breaks, a long value);
        # under torchrun every process finds the same config error: the first one says it
        if not isinstance(exc, SpecError) or os.environ.get("RANK", "0") == "0":
            print(f"jepa: error: {short_message(exc, limit=2000)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, the shell's exit code for SIGINT
        print("jepa: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the file system refused (a path, a permission, a full disk): say so, no traceback
        if isinstance(exc, BrokenPipeError):  # `jepa list | head`
            return 0
        # what the system said and the path, without the "[Errno 2]" a user has no use for
        said = exc.strerror if exc.strerror else str(exc)
        said += f": {exc.filename!r}" if exc.filename is not None else ""
        print(f"jepa: error: {short_message(OSError(said), limit=2000)}", file=sys.stderr)
        return 1
