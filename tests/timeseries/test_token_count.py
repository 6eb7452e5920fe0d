"""The time-series starter pointed at longer series: one error naming the value to
set, before training; with ``num_tokens`` left out, ``jepa train`` measures it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from jepa_core.cli import main

SMALL = [
    "--set",
    "eval=null",
    "--set",
    "train.steps=2",
    "--set",
    "train.batch_size=16",
    "--set",
    "train.progress=false",
    "--set",
    "train.plot=false",
]


@pytest.fixture
def long_series(tmp_path):
    """The starter as written reads 24-step series; these are 96 steps long."""
    config = tmp_path / "ts.yaml"
    assert main(["init", "timeseries", "--output", str(config)]) == 0
    data = tmp_path / "long.npy"
    np.save(data, np.random.default_rng(0).normal(size=(32, 96)).astype("float32"))
    return [str(config), "--set", f"data={{name: series_numpy, params: {{path: {data}, layout: NT}}}}", *SMALL]


def test_series_longer_than_num_tokens_fail_before_training_naming_the_setting(long_series, tmp_path, capsys) -> None:
    capsys.readouterr()
    assert main(["train", *long_series, "--run-dir", str(tmp_path / "run")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "jepa: error: model.encoder.params.num_tokens: the data gives 96 tokens per item but encoder "
        "'timeseries:tcn' is set up for 24 (masks would cover only its first 24 tokens); set "
        "model.encoder.params.num_tokens to 96"
    )
    assert not (tmp_path / "run").exists()


def test_jepa_train_fills_in_num_tokens_from_the_data_when_it_is_left_out(long_series, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", *long_series, "--set", "model.encoder.params.num_tokens=null", "--run-dir", str(run)]) == 0
    assert "model.encoder.params.num_tokens: 96 (measured on the data's first batch)" in capsys.readouterr().err
    model = json.loads((run / "run.json").read_text())["model"]
    assert model["encoder"]["params"]["num_tokens"] == 96 and model["masker"]["params"]["num_tokens"] == 96
    assert json.loads((run / "final" / "config.json").read_text())["spec"]["encoder"]["params"]["num_tokens"] == 96


def test_jepa_eval_of_a_config_measures_num_tokens_as_jepa_train_does(tmp_path, capsys) -> None:
    config = tmp_path / "ts.yaml"
    assert main(["init", "timeseries", "--output", str(config)]) == 0
    data = tmp_path / "long.npy"
    np.save(data, np.random.default_rng(0).normal(size=(32, 96)).astype("float32"))
    capsys.readouterr()
    status = main(
        [
            "eval",
            str(config),
            "--set",
            f"data={{name: series_numpy, params: {{path: {data}, layout: NT}}}}",
            "--set",
            "model.encoder.params.num_tokens=null",
            "--set",
            "eval.probes=[linear]",
            "--set",
            "eval.baselines=[]",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "model.encoder.params.num_tokens: 96 (measured on the data's first batch)" in err
    assert 0.0 <= json.loads(out)["jepa"]["linear"] <= 1.0
