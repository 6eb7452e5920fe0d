"""The ``jepa`` command line: inspect installed plugins and components."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from jepa_core.errors import JEPAError, short_message
from jepa_core.registry import KINDS, get_registry


def _versions() -> str:
    from jepa_core import __version__

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
    records = [plugin.as_dict() for plugin in registry.plugins]
    for record in records:
        record["components"] = _by_kind(record["components"])
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("no plugins installed (core components only; `jepa list` shows them)")
        return 0
    for record in records:
        print(f"{record['name']}  {record['distribution']} {record['version']}  [{record['status']}]")
        if record["error"]:
            print(f"    error: {record['error']}")
        for kind, names in record["components"].items():
            print(f"    {kind}: {', '.join(names)}")
    return 0


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
        print("no components match")
        return 0
    rows = [
        (c.kind, c.qualname, f"{c.distribution or 'this process'} {c.version or ''}".strip(), c.doc.split("\n")[0])
        for c in components
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]}".rstrip())
    return 0


def _summary(component: Any) -> dict[str, Any]:
    return {
        "kind": component.kind,
        "name": component.qualname,
        "distribution": component.distribution,
        "version": component.version,
        "summary": component.doc.split("\n")[0],
    }


def _describe(args: argparse.Namespace) -> int:
    from jepa_core.api import describe

    info = describe(args.kind, args.name)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"{info['kind']} {info['qualname']}  ({info['distribution']} {info['version']})")
    if info["doc"]:
        print()
        print(info["doc"])
    print()
    print("parameters:")
    properties = info["schema"].get("properties", {})
    for name, schema in properties.items():
        default = "required" if name in info["required"] else f"default {json.dumps(info['defaults'].get(name))}"
        print(f"  {name}: {_type_of(schema)}  ({default})")
    return 0


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


def _train(args: argparse.Namespace) -> int:
    from jepa_core.runs import default_run_dir, load_run_spec, train_run

    spec = load_run_spec(args.config, args.set)
    run_dir = args.run_dir or spec.run_dir or default_run_dir(args.config)
    path = train_run(spec, run_dir=run_dir, resume=args.resume, max_steps=args.max_steps)
    from jepa_core.training import distributed

    if distributed()[0] == 0:
        print(f"run directory: {path}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from jepa_core.runs import evaluate_path, format_results

    results = evaluate_path(args.path, args.config, args.set, args.output)
    print(json.dumps(results, indent=2) if args.json else format_results(results))
    return 0


def _init(args: argparse.Namespace) -> int:
    from jepa_core.runs import template_names, write_template

    if args.name is None:
        print("starter configs: " + ", ".join(template_names()))
        return 0
    path = write_template(args.name, args.output, args.force)
    print(f"wrote {path}; train it with: jepa train {path}")
    return 0


def _new_plugin(args: argparse.Namespace) -> int:
    from jepa_core.scaffold import scaffold_plugin

    root = scaffold_plugin(args.name, args.directory)
    print(f"wrote plugin distribution {root}/; next: pip install -e {root} && pytest {root}/tests")
    return 0


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jepa", description="Joint-Embedding Predictive Architectures")
    parser.add_argument("--version", action="store_true", help="show jepa-core and plugin versions")
    sub = parser.add_subparsers(dest="command")

    plugins = sub.add_parser("plugins", help="installed plugins, their components and load status")
    plugins.add_argument("--json", action="store_true", help="machine-readable output")
    plugins.set_defaults(run=_plugins)

    listing = sub.add_parser("list", help="installed components, optionally of one kind / matching a pattern")
    listing.add_argument("kind", nargs="?", help=f"one of {', '.join(KINDS)}")
    listing.add_argument("pattern", nargs="?", help="fnmatch pattern on the name, e.g. '*attention*'")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_list)

    describe = sub.add_parser("describe", help="a component's documentation and parameters")
    describe.add_argument("kind", help=f"one of {', '.join(KINDS)}")
    describe.add_argument("name", help="bare or qualified (plugin:name) component name")
    describe.add_argument("--json", action="store_true", help="machine-readable output")
    describe.set_defaults(run=_describe)

    train = sub.add_parser("train", help="train the run a YAML/JSON config describes")
    train.add_argument("config", help="run config (model, data, train, eval sections)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override a config value, e.g. --set train.lr=3e-4 (repeatable)")
    train.add_argument("--run-dir", help="where the run goes (default: the config's run_dir or runs/CONFIG)")
    train.add_argument("--resume", action="store_true", help="continue from the run's latest checkpoint")
    train.add_argument("--max-steps", type=int, help="stop after this step (checkpointed), for staged runs")
    train.set_defaults(run=_train)

    evaluate = sub.add_parser("eval", help="probe a trained model's frozen embeddings")
    evaluate.add_argument("path", help="a run directory, or a saved model directory with --config")
    evaluate.add_argument("--config", help="run config whose eval section says how to probe")
    evaluate.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a value")
    evaluate.add_argument("--json", action="store_true", help="machine-readable output")
    evaluate.add_argument("--output", metavar="FILE", help="also write the results (JSON) here; without it "
                          "only a run evaluated as configured (no --set, no --config) rewrites its eval.json")
    evaluate.set_defaults(run=_eval)

    init = sub.add_parser("init", help="write a commented starter run config")
    init.add_argument("name", nargs="?", help="which starter (omit to list them)")
    init.add_argument("--output", "-o", help="file to write (default NAME.yaml)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(run=_init)

    new_plugin = sub.add_parser("new-plugin", help="scaffold a plugin distribution (entry point, encoder, tests)")
    new_plugin.add_argument("name", help="distribution name, e.g. jepa-myencoders")
    new_plugin.add_argument("--directory", help="where to write it (default ./NAME)")
    new_plugin.set_defaults(run=_new_plugin)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        if args.version:
            print(_versions())
            return 0
        if args.command is None:
            parser.print_help()
            return 2
        return args.run(args)
    except JEPAError as exc:
        # one line, whatever the message holds (a YAML error's own line breaks, a long value)
        print(f"jepa: error: {short_message(exc, limit=2000)}", file=sys.stderr)
        return 2
    except OSError as exc:  # the file system refused (a path, a permission, a full disk): say so, no traceback
        if isinstance(exc, BrokenPipeError):  # `jepa list | head`
            return 0
        print(f"jepa: error: {short_message(exc, limit=2000)}", file=sys.stderr)
        return 1
