"""The jepa conformance suite over every component the time-series plugin registers."""

from __future__ import annotations

from jepa.testing import conformance_suite

TestTimeSeriesConformance = conformance_suite(
    "timeseries",
    params={
        "timeseries:temporal": {"hidden_dim": 16, "pool": "none", "num_tokens": 12},
        "timeseries:tcn": {"hidden_dim": 16, "pool": "none", "num_tokens": 12},
        "timeseries:patch_transformer": {"hidden_dim": 16, "seq_len": 32, "patch_len": 8, "pool": "none", "depth": 1},
        "timeseries:ucr": {"name": "ItalyPowerDemand"},
        "timeseries:time_block": {"grid": [1, 32]},  # one channel, 32 time steps
        "timeseries:forecast": {"grid": [1, 32]},
    },
)


def test_starter_config_trains_and_evaluates(tmp_path) -> None:
    """`jepa init timeseries` writes a config that trains and evaluates end to end."""
    import json

    import yaml
    from jepa_core.registry import get_registry
    from jepa_core.runs import load_run_spec, train_run

    registry = get_registry()
    registry.ensure_loaded()
    spec = load_run_spec(
        yaml.safe_load(registry.templates["timeseries"][1]),
        ["train.steps=2", "train.progress=false", "train.plot=false"],
    )
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert set(results) >= {"jepa", "random_init", "raw"}
