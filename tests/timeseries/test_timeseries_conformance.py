"""The jepa conformance suite over every component the time-series plugin registers."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TestTimeSeriesConformance = conformance_suite(
    "timeseries",
    params={
        "timeseries:temporal": {"hidden_dim": 16, "pool": "none", "num_tokens": 12},
        "timeseries:tcn": {"hidden_dim": 16, "pool": "none", "num_tokens": 12},
        "timeseries:patch_transformer": {"hidden_dim": 16, "seq_len": 32, "patch_len": 8, "pool": "none",
                                         "depth": 1},
        "timeseries:ucr": {"name": "ItalyPowerDemand"},
        "timeseries:time_block": {"grid": [1, 32]},  # one channel, 32 time steps
        "timeseries:forecast": {"grid": [1, 32]},
    },
    inputs={
        "timeseries:temporal": lambda batch: torch.randn(batch, 12, 1),
        "timeseries:tcn": lambda batch: torch.randn(batch, 12, 1),
        "timeseries:patch_transformer": lambda batch: torch.randn(batch, 32, 1),
    },
)
