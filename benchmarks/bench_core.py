"""Start-up costs: ``import jepa``, the first discovery, and what ``build()`` adds to constructing modules.

Each figure is the median of fresh interpreters (the training-step overhead is in
``bench_steps.py``; discovery as plugins multiply in ``bench_discovery.py``).
"""

from __future__ import annotations

import statistics
import subprocess
import sys

TITLE = "Start-up"


def _median_subprocess(code: str, repeats: int = 7) -> float:
    """Median seconds printed by ``code`` run in fresh interpreters."""
    samples = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def startup_rows() -> list[dict]:
    timer = "import time\n"
    torch_only = _median_subprocess(timer + "t=time.perf_counter()\nimport torch\nprint(time.perf_counter()-t)")
    torch_and_jepa = _median_subprocess(
        timer + "import torch\nt=time.perf_counter()\nimport jepa\nprint(time.perf_counter()-t)"
    )
    first_list = _median_subprocess(
        timer + "import jepa\nt=time.perf_counter()\njepa.list_components()\nprint(time.perf_counter()-t)"
    )
    build_code = (
        timer
        + "import torch, jepa\n"
        + "jepa.list_components()\n"
        + "from jepa_core.components.encoders import TransformerEncoder\n"
        + "from jepa_core.components.predictors import AttentionPredictor\n"
        + "from jepa_core.components.losses import SmoothL1Loss\n"
        + "import copy\n"
        + "kw = dict(input_dim=8, hidden_dim=64, depth=2, pool='none', num_tokens=16)\n"
        + "t=time.perf_counter()\n"
        + "for _ in range(20):\n"
        + "    e = TransformerEncoder(**kw); p = AttentionPredictor(hidden_dim=64, num_tokens=16); l = SmoothL1Loss()\n"
        + "    c = copy.deepcopy(e)\n"
        + "modules = (time.perf_counter()-t)/20\n"
        + "t=time.perf_counter()\n"
        + "for _ in range(20):\n"
        + "    jepa.build('transformer', 'attention', masker='random', loss='smooth_l1', encoder=kw)\n"
        + "built = (time.perf_counter()-t)/20\n"
        + "print(built - modules)\n"
    )
    build_extra = _median_subprocess(build_code, repeats=5)
    return [
        {"what": "import torch", "ms": round(torch_only * 1e3, 1), "note": "fresh interpreter"},
        {
            "what": "import jepa after torch",
            "ms": round(torch_and_jepa * 1e3, 1),
            "note": "no plugin is discovered at import",
        },
        {
            "what": "first list_components()",
            "ms": round(first_list * 1e3, 1),
            "note": "entry points read once; core and the three first-party plugins imported",
        },
        {
            "what": "build() beyond constructing its modules",
            "ms": round(build_extra * 1e3, 2),
            "note": "validation, name resolution, wiring (small masked transformer)",
        },
    ]


def run(options) -> list[dict]:
    return startup_rows()
