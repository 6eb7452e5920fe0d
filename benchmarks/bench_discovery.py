"""Discovery time as the number of installed plugin distributions grows.

Writes N real distributions (``*.dist-info`` with an ``entry_points.txt`` in the
``jepa.plugins`` group, and a plugin module registering one encoder) into a
directory on ``PYTHONPATH``, then times the first ``jepa.list_components()`` in a
fresh interpreter. Growth should be at most linear in N. A qualified query
(``'bench7:*'``) reads the same entry points but imports only the plugin it names.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TITLE = "Discovery as plugin distributions multiply"

PLUGIN = """\
from torch import nn
import jepa

@jepa.hookimpl
def jepa_register(registry):
    registry.add("encoder", "enc_{i}", nn.Identity)
"""


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


LIST_ALL = "n = len(jepa.list_components('encoder'))"
# a qualified pattern names one plugin: only that one is imported
LIST_ONE = "n = len(jepa.list_components('encoder', 'bench7:*'))"


def time_discovery(site: Path | None, query: str, repeats: int = 3) -> tuple[float, int]:
    """Median seconds of ``query`` (the first registry query) in fresh interpreters."""
    env = dict(os.environ)
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    code = f"import time, jepa\nt = time.perf_counter()\n{query}\nprint(time.perf_counter() - t, n)\n"
    samples, count = [], 0
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
        seconds, count = out.stdout.split()
        samples.append(float(seconds))
    return statistics.median(samples), int(count)


def run(options) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base, _ = time_discovery(None, LIST_ALL)
        rows.append(
            {
                "installed": "the first-party plugins only",
                "list every encoder ms": round(base * 1e3, 1),
                "per extra plugin ms": "",
                "growth for x10 plugins": "",
                "list 'bench7:*' ms": "",
            }
        )
        previous = None
        for count in (10, 100, 1000):
            site = make_site(Path(tmp), count)
            seconds, encoders = time_discovery(site, LIST_ALL)
            one, _ = time_discovery(site, LIST_ONE)
            rows.append(
                {
                    "installed": f"+{count} plugin distributions ({encoders} encoders)",
                    "list every encoder ms": round(seconds * 1e3, 1),
                    "per extra plugin ms": round((seconds - base) / count * 1e3, 2),
                    "growth for x10 plugins": f"x{seconds / previous:.1f}" if previous else "",
                    "list 'bench7:*' ms": round(one * 1e3, 1),
                }
            )
            previous = seconds
    return rows
