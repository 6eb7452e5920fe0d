"""Discovery time as the number of installed plugin distributions grows.

Writes N real distributions (``*.dist-info`` with an ``entry_points.txt`` in the
``jepa.plugins`` group, and a plugin module registering one encoder) into a
directory on ``PYTHONPATH``, then times the first ``jepa.list_components()`` in a
fresh interpreter. Growth should be at most linear in N.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PLUGIN = '''\
from torch import nn
import jepa

@jepa.hookimpl
def jepa_register(registry):
    registry.add("encoder", "enc_{i}", nn.Identity)
'''


def make_site(root: Path, count: int) -> Path:
    site = root / f"site-{count}"
    site.mkdir()
    for i in range(count):
        name = f"jepa_bench_plugin_{i}"
        (site / f"{name}.py").write_text(PLUGIN.format(i=i))
        info = site / f"jepa_bench_plugin_{i}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: jepa-bench-plugin-{i}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(f"[jepa.plugins]\nbench{i} = {name}\n")
    return site


CODE = (
    "import time, jepa\n"
    "t = time.perf_counter()\n"
    "n = len(jepa.list_components('encoder'))\n"
    "print(time.perf_counter() - t, n)\n"
)


def time_discovery(site: Path | None, repeats: int = 3) -> tuple[float, int]:
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    samples, count = [], 0
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, check=True)
        seconds, count = out.stdout.split()
        samples.append(float(seconds))
    return statistics.median(samples), int(count)


def run() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base, _ = time_discovery(None)
        rows.append({"benchmark": "first discovery, installed plugins only", "value": round(base * 1e3, 1),
                     "unit": "ms", "note": "baseline"})
        previous = None
        for count in (10, 100, 1000):
            seconds, encoders = time_discovery(make_site(Path(tmp), count))
            per_plugin = (seconds - base) / count
            note = f"{encoders} encoders; {per_plugin * 1e3:.2f} ms per extra plugin"
            if previous is not None:
                note += f"; x{seconds / previous:.1f} for x10 plugins"
            rows.append({"benchmark": f"first discovery, +{count} plugin distributions",
                         "value": round(seconds * 1e3, 1), "unit": "ms", "note": note})
            previous = seconds
    return rows
