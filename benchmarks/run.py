"""`make bench`: run the benchmark modules, write JSON and Markdown tables.

Each module in this folder named ``bench_*.py`` defines ``TITLE`` (a heading) and
``run(options) -> list[dict]``: one dict per table row, its keys the columns, in
order. Results land in ``benchmarks/results/`` (``results.json``, ``results.md``);
running only some modules replaces their tables and keeps the others. Figures are
medians over repeats measured in one run on this machine.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch
from jepa_core.persistence import atomic_write_bytes

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def machine(rows: list[dict]) -> str:
    described = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu cores": str(os.cpu_count()),
    }
    if not all("threads" in row for row in rows):  # rows that ran in their own processes name their threads
        described["torch threads"] = str(torch.get_num_threads())
    return ", ".join(f"{key} {value}" for key, value in described.items())


def markdown(suites: dict[str, dict]) -> str:
    parts = []
    for _, suite in sorted(suites.items()):  # module order, whichever ran last
        rows = suite["rows"]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        lines = [f"## {suite['title']}", "", f"Measured {suite['date']} on {suite['machine']}.", ""]
        if suite.get("notes"):
            lines += [suite["notes"], ""]
        lines += ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
        lines += ["| " + " | ".join(str(row.get(column, "")) for column in columns) + " |" for row in rows]
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run, e.g. `steps quality` (default: all bench_*.py)")
    parser.add_argument("--device", default="cpu", help="device for the step benchmarks: cpu or cuda")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per quality recipe")
    parser.add_argument(
        "--recipes",
        nargs="+",
        metavar="WORD",
        help="quality: run only the recipes whose name has one of these words; keep the other rows",
    )
    options = parser.parse_args()
    modules = sorted(HERE.glob("bench_*.py"))
    if options.names:
        unknown = set(options.names) - {m.stem.removeprefix("bench_") for m in modules}
        if unknown:
            parser.error(
                f"no benchmark module named {', '.join(sorted(unknown))}; "
                f"have {', '.join(m.stem.removeprefix('bench_') for m in modules)}"
            )
        modules = [m for m in modules if m.stem.removeprefix("bench_") in options.names]
    RESULTS.mkdir(exist_ok=True)
    previous = RESULTS / "results.json"
    suites: dict[str, dict] = json.loads(previous.read_text())["suites"] if previous.is_file() else {}
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        name = path.stem.removeprefix("bench_")
        print(f"== {name}: {module.TITLE}", flush=True)
        started = time.perf_counter()
        rows = module.run(options)
        for row in rows:
            print("   " + "  ".join(f"{key}={value}" for key, value in row.items()), flush=True)
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
        if previous.is_file():  # what another run wrote meanwhile stays
            suites = json.loads(previous.read_text())["suites"]
        suites[name] = {
            "title": module.TITLE,
            "notes": getattr(module, "NOTES", ""),
            "rows": rows,
            "machine": machine(rows),
            "date": datetime.date.today().isoformat(),
        }
        # written after every module, so an interrupted run keeps what it measured
        atomic_write_bytes(RESULTS / "results.json", (json.dumps({"suites": suites}, indent=2) + "\n").encode())
        atomic_write_bytes(RESULTS / "results.md", markdown(suites).encode())
    print(f"wrote {RESULTS / 'results.json'} and {RESULTS / 'results.md'}")


if __name__ == "__main__":
    main()
