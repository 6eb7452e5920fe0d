"""The core's own components pass the conformance suite every plugin runs."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TestCoreConformance = conformance_suite(
    "jepa",
    params={"jepa:transformer": {"input_dim": 6, "pool": "none", "num_tokens": 5}},
    inputs={
        "jepa:mlp": lambda batch: torch.randn(batch, 256),
        "jepa:transformer": lambda batch: torch.randn(batch, 5, 6),
    },
)
