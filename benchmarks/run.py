"""`make bench`: run every benchmark module, write JSON and a Markdown table.

Each module in this folder named ``bench_*.py`` defines ``run() -> list[dict]``,
each dict a row with at least ``benchmark``, ``value``, ``unit`` and ``note``.
Results land in ``benchmarks/results/`` (``results.json``, ``results.md``).
Figures are medians over repeats measured in this one run on this machine.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all bench_*.py)")
    args = parser.parse_args()
    modules = sorted(HERE.glob("bench_*.py"))
    if args.names:
        modules = [m for m in modules if m.stem.removeprefix("bench_") in args.names or m.stem in args.names]
    rows = []
    for path in modules:
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        started = time.perf_counter()
        print(f"== {path.stem}", flush=True)
        for row in module.run():
            row = {"suite": path.stem.removeprefix("bench_"), **row}
            print(f"   {row['benchmark']}: {row['value']} {row['unit']}  {row.get('note', '')}", flush=True)
            rows.append(row)
        print(f"   ({time.perf_counter() - started:.0f}s)")
    machine = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "platform": platform.platform(),
        "threads": torch.get_num_threads(),
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps({"machine": machine, "rows": rows}, indent=2) + "\n")
    lines = ["| suite | benchmark | value | unit | note |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['suite']} | {r['benchmark']} | {r['value']} | {r['unit']} | {r.get('note', '')} |" for r in rows]
    machine_line = ", ".join(f"{k} {v}" for k, v in machine.items())
    (out / "results.md").write_text(f"Measured on: {machine_line}\n\n" + "\n".join(lines) + "\n")
    print(f"wrote {out / 'results.json'} and {out / 'results.md'}")


if __name__ == "__main__":
    main()
