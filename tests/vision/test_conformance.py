"""The jepa conformance suite over every component the vision plugin registers."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TestVisionConformance = conformance_suite(
    "vision",
    params={
        "vision:vit": {"image_size": 16, "patch_size": 4, "depth": 2},
        "vision:cnn": {"widths": [8, 16], "hidden_dim": 16, "pool": "none", "image_size": 16},
        "vision:tube": {"grid": [2, 4, 4]},
    },
    inputs={"vision:vit": lambda batch: torch.randn(batch, 3, 16, 16),
            "vision:cnn": lambda batch: torch.randn(batch, 3, 16, 16)},
)
