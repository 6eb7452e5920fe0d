"""The training plot a user opens instead of reading numbers (matplotlib, optional)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from jepa_core.errors import warn
from jepa_core.first_party import install_command


def plot_metrics(metrics_file: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path | None:
    """Loss and collapse curves (context std, RankMe) of a ``metrics.jsonl`` as a PNG.

    Returns the PNG's path, or None (with a warning) when matplotlib is missing.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        warn(
            f"no training plot: matplotlib is not installed ({install_command('jepa-core', 'plot')}); "
            "train.plot: false in a run config (plot=False in Trainer settings) turns the plot off"
        )
        return None
    rows = [json.loads(line) for line in Path(metrics_file).read_text().splitlines() if line]
    steps = [row["step"] for row in rows]
    panels = [("loss", "loss"), ("context_std", "embedding std"), ("context_rankme", "RankMe (effective rank)")]
    panels = [(key, title) for key, title in panels if any(key in row for row in rows)]
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for axis, (key, title) in zip(axes[0], panels, strict=True):
        values = [row.get(key) for row in rows]
        axis.plot(steps, [float("nan") if value is None else value for value in values], linewidth=1.2)
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.grid(alpha=0.3)
        if key == "loss" and all(value is None or value > 0 for value in values):
            axis.set_yscale("log")
    figure.tight_layout()
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp.png")
    figure.savefig(tmp, dpi=110)
    plt.close(figure)
    os.replace(tmp, out)
    return out
