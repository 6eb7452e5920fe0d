"""Real `torchrun` processes with gloo on 127.0.0.1: DDP matches one process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jepa
import pytest
import torch
from jepa_core.training import read_metrics

RUN = {
    "model": {
        "encoder": {"name": "transformer", "params": {"input_dim": 2, "hidden_dim": 16, "depth": 1, "heads": 2}},
        "predictor": {"name": "mlp"},
    },
    "data": {"name": "sinusoids", "params": {"size": 64, "steps": 8, "channels": 2, "paired": True}},
    "train": {"steps": 4, "batch_size": 16, "warmup_steps": 1, "lr": 1e-2, "progress": False, "plot": False},
}


MASKED = {
    "model": {
        "encoder": {
            "name": "transformer",
            "params": {"input_dim": 2, "hidden_dim": 16, "depth": 1, "heads": 2, "pool": "none", "dropout": 0.1},
        },
        "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
        "masker": "random",
        "loss": "smooth_l1",
    },
    "data": {"name": "sinusoids", "params": {"size": 64, "steps": 8, "channels": 2}},
    "train": {"steps": 4, "batch_size": 16, "warmup_steps": 1, "lr": 1e-2, "progress": False, "plot": False},
}

#: a script that trains MASKED for one step and writes the masks its process drew
RECORD_MASKS = """
import json, sys
import jepa, torch
from jepa_core.components.maskers import RandomMasker
from jepa_core.runs import load_run_spec, train_run

drawn = []

@jepa.register("masker", "recording")
class Recording(RandomMasker):
    def __call__(self, batch_size, generator=None):
        masks = super().__call__(batch_size, generator)
        drawn.append(masks.context.tolist())
        return masks

spec = json.loads(sys.argv[1])
spec["model"]["masker"] = {"name": "recording", "params": {"num_tokens": 8}}
train_run(load_run_spec(spec, ["train.steps=1"]), run_dir=sys.argv[2])
rank = torch.distributed.get_rank() if torch.distributed.is_initialized() else 0
with open(f"{sys.argv[2]}-masks-{rank}.json", "w") as file:
    json.dump(drawn[-1], file)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(nproc: int, *args: str) -> list[str]:
    """The command that runs ``args`` (a script, or ``-m module``) in ``nproc`` processes."""
    launcher = ["-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--master_addr=127.0.0.1"]
    return [sys.executable, *launcher, f"--master_port={free_port()}", *args]


def jepa_command(nproc: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "jepa", *args] if nproc == 1 else torchrun(nproc, "-m", "jepa", *args)


def run(nproc: int, *args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(jepa_command(nproc, *args), capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(RUN))
    return path


def test_two_processes_match_one_with_the_same_global_batch(tmp_path, config) -> None:
    run(1, "train", str(config), "--run-dir", str(tmp_path / "one"))
    run(2, "train", str(config), "--run-dir", str(tmp_path / "two"))
    one, two = jepa.load(tmp_path / "one" / "final"), jepa.load(tmp_path / "two" / "final")
    for (name, a), (_, b) in zip(one.state_dict().items(), two.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-5), f"{name} differs between 1 and 2 processes"
    losses_one = [m["loss"] for m in read_metrics(tmp_path / "one")]
    losses_two = [m["loss"] for m in read_metrics(tmp_path / "two")]
    assert losses_one == pytest.approx(losses_two, rel=1e-5), "rank-averaged metrics equal the global ones"


def test_a_two_process_masked_run_resumes_from_its_checkpoint(tmp_path) -> None:
    # masks and dropout draw from each process's own random stream: resuming restores every one
    config = tmp_path / "masked.json"
    config.write_text(json.dumps(MASKED))
    run(2, "train", str(config), "--run-dir", str(tmp_path / "whole"))
    run(2, "train", str(config), "--run-dir", str(tmp_path / "staged"), "--max-steps", "2")
    assert [m["step"] for m in read_metrics(tmp_path / "staged")] == [1, 2]
    run(2, "train", str(config), "--run-dir", str(tmp_path / "staged"), "--resume")
    whole, staged = read_metrics(tmp_path / "whole"), read_metrics(tmp_path / "staged")
    assert [m["loss"] for m in whole] == pytest.approx([m["loss"] for m in staged], rel=1e-6)
    a, b = jepa.load(tmp_path / "whole" / "final"), jepa.load(tmp_path / "staged" / "final")
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(x, y, atol=1e-6), name


def test_resuming_with_a_process_count_the_batch_does_not_divide_says_which_count_trained_it(tmp_path, config) -> None:
    run(1, "train", str(config), "--run-dir", str(tmp_path / "run"), "--max-steps", "2")
    command = jepa_command(3, "train", str(config), "--run-dir", str(tmp_path / "run"), "--resume")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode != 0
    assert result.stderr.count("batch_size 16 must divide evenly over 3 processes") == 1, "said once, not per process"
    assert "was trained with 1 process(es)" in result.stderr and "--nproc_per_node=1" in result.stderr


def test_each_process_draws_its_own_masks(tmp_path) -> None:
    script = tmp_path / "record_masks.py"
    script.write_text(RECORD_MASKS)
    command = torchrun(2, str(script), json.dumps(MASKED), str(tmp_path / "run"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    first, second = (json.loads((tmp_path / f"run-masks-{rank}.json").read_text()) for rank in (0, 1))
    assert len(first) == len(second) == 8, "each process masks its own 8 of the 16"
    assert first != second, "the processes drew the same masks for their slices"


def test_a_warning_every_process_meets_is_printed_once(tmp_path, config) -> None:
    # a later --set that replaces a whole section warns in every process (each reads the config)
    overrides = ["--set", "train.lr=0.02", "--set", "train={steps: 1, batch_size: 16, progress: false, plot: false}"]
    command = jepa_command(2, "train", str(config), "--run-dir", str(tmp_path / "run"), *overrides)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("replaces the whole train section") == 1


#: a script that trains RUN for one step on a DataLoader, with a DistributedSampler when asked;
#: the loader sets the batch, so a train.batch_size that two processes do not divide is no error
TRAIN_ON_A_LOADER = """
import json, os, sys
import jepa
from jepa_core.factory import build_model
from torch.utils.data import DataLoader, DistributedSampler

spec = jepa.load_run_spec(json.loads(sys.argv[1]), ["train.steps=1", "train.batch_size=7"])
data = spec.data.resolve().create(spec.data.params, "data.params")
share = {"num_replicas": int(os.environ["WORLD_SIZE"]), "rank": int(os.environ["RANK"])}
sampler = DistributedSampler(data, **share) if sys.argv[2] == "sampler" else None
jepa.Trainer(build_model(spec.model), DataLoader(data, batch_size=8, sampler=sampler), spec.train).fit()
"""


@pytest.mark.parametrize("sampler", ["sampler", "none"])
def test_a_dataloader_that_every_process_reads_whole_is_warned_about_once(tmp_path, sampler) -> None:
    script = tmp_path / "loader.py"
    script.write_text(TRAIN_ON_A_LOADER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        torchrun(2, str(script), json.dumps(RUN), sampler), capture_output=True, text=True, env=env, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    warned = result.stderr.count("DataLoader without a DistributedSampler")
    assert warned == (0 if sampler == "sampler" else 1), result.stderr[-3000:]
