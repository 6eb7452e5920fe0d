"""`jepa train` fails with one clear line (exit 2), never a traceback, and never
strands a run directory: Ctrl-C checkpoints, a rerun or --restart starts over,
--resume survives a torn metrics line and names a bad checkpoint file."""

from __future__ import annotations

import json
import math
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jepa
import numpy as np
import pytest
import torch
import yaml
from jepa_core.cli import main
from jepa_core.training import Trainer

# the core's sequences starter, cut down to a few milliseconds a step
SMALL = [
    "--set",
    "train.batch_size=16",
    "--set",
    "data.params.size=64",
    "--set",
    "model.encoder.params.depth=1",
    "--set",
    "train.checkpoint_every=2",
    "--set",
    "train.steps=4",
    "--set",
    "eval=null",
    "--set",
    "train.progress=false",
    "--set",
    "train.plot=false",
]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "seq.yaml"
    assert main(["init", "sequences", "--output", str(path)]) == 0
    return path


def train(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Exit code and stderr of ``jepa train ARGS``, in this process."""
    capsys.readouterr()
    code = main(["train", *args])
    return code, capsys.readouterr().err


def one_error(code: int, err: str) -> str:
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith("jepa: error: ")
    return line


def steps_logged(run_dir: Path) -> list[int]:
    return [json.loads(line)["step"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


# -- the data --------------------------------------------------------------------------------------


def test_a_dataset_smaller_than_one_batch_is_one_line_and_writes_nothing(config, tmp_path, capsys) -> None:
    line = one_error(
        *train(capsys, str(config), "--run-dir", str(tmp_path / "run"), *SMALL, "--set", "data.params.size=8")
    )
    assert line == (
        "jepa: error: train.batch_size: the dataset has 8 items, fewer than one global micro-batch "
        "of 16; lower train.batch_size (now 16) or give it more data"
    )
    assert not (tmp_path / "run").exists()


def test_an_empty_dataset_is_named_not_a_stop_iteration(tmp_path) -> None:
    import jepa

    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    empty = torch.utils.data.TensorDataset(torch.zeros(0, 4), torch.zeros(0, 4))
    with pytest.raises(
        jepa.SpecError, match=r"^data: the dataset is empty \(0 items\); check what you passed as data$"
    ):
        Trainer(model, empty, {"steps": 1, "batch_size": 4}, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (np.zeros((0, 32, 3), dtype="float32"), "holds no samples (the array has shape (0, 32, 3))"),
        (np.array(5.0), "holds a single value; its first axis must index the samples"),
        ("directory", "is a directory; give data.params.path a .npy or .npz file"),
    ],
)
def test_an_empty_npy_or_a_directory_as_the_data_file_is_one_line(config, tmp_path, capsys, contents, message) -> None:
    data = tmp_path / "data.npy"
    if isinstance(contents, str):
        data.mkdir()
    else:
        np.save(data, contents)
    line = one_error(
        *train(
            capsys,
            str(config),
            "--run-dir",
            str(tmp_path / "run"),
            *SMALL,
            "--set",
            f"data={{name: arrays, params: {{path: {data}}}}}",
        )
    )
    assert line.startswith("jepa: error: data.params: dataset jepa:arrays: ") and message in line
    assert str(data) in line


def test_a_directory_as_the_config_file_is_one_line(tmp_path, capsys) -> None:
    line = one_error(*train(capsys, str(tmp_path)))
    assert line == f"jepa: error: spec file {str(tmp_path)!r} is a directory; give a YAML or JSON file"


def test_nan_in_the_data_fails_before_the_run_directory_exists(tmp_path, capsys) -> None:
    x = np.random.default_rng(0).normal(size=(32, 8, 2)).astype("float32")
    x[3, 2, 1] = np.nan
    np.save(tmp_path / "x.npy", x)
    config = tmp_path / "masked.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "model": {
                    "encoder": {
                        "name": "transformer",
                        "params": {
                            "input_dim": 2,
                            "hidden_dim": 16,
                            "depth": 1,
                            "heads": 2,
                            "pool": "none",
                            "num_tokens": 8,
                        },
                    },
                    "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
                    "masker": "random",
                    "loss": "smooth_l1",
                },
                "data": {"name": "arrays", "params": {"path": str(tmp_path / "x.npy")}},
                "train": {"steps": 2, "batch_size": 32, "progress": False, "plot": False},
            }
        )
    )
    line = one_error(*train(capsys, str(config), "--run-dir", str(tmp_path / "run")))
    assert line.startswith("jepa: error: the loss is nan on the first batch, before any training step")
    assert "the batch holds NaN or Inf values; clean the data" in line
    assert not (tmp_path / "run").exists()


def test_a_micro_batch_of_one_for_a_loss_of_batch_statistics_names_the_settings(tmp_path) -> None:
    model = jepa.build("mlp", "mlp", loss="vicreg", encoder={"input_dim": 4, "hidden_dim": 8})
    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 4))
    spec = {"steps": 2, "batch_size": 4, "accumulate": 4, "warmup_steps": 0, "progress": False}
    with pytest.raises(jepa.TrainingError) as info, warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        jepa.Trainer(model, data, spec).fit()
    assert "a micro-batch of 1 item: loss 'jepa:vicreg' or the model's batch statistics need two or more" in str(
        info.value
    )
    assert "train.batch_size 4 over 1 process(es) x 4 accumulation step(s); raise train.batch_size" in str(info.value)
    assert [str(warning.message) for warning in said] == []  # not torch's var() warning first


def test_micro_batches_of_one_item_log_their_spread_as_null_in_strict_json(tmp_path) -> None:
    # a loss without batch statistics trains on one item at a time; the spread of one item is no number
    model = jepa.build("mlp", "mlp", loss="smooth_l1", encoder={"input_dim": 4, "hidden_dim": 8})
    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 4))
    spec = {"steps": 2, "batch_size": 4, "accumulate": 4, "warmup_steps": 0, "progress": False}
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        jepa.Trainer(model, data, spec, run_dir=tmp_path / "run").fit()
    assert [str(warning.message) for warning in said] == []

    def no_nan(constant: str) -> None:
        raise AssertionError(f"metrics.jsonl holds {constant}, which strict JSON readers refuse")

    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rows = [json.loads(line, parse_constant=no_nan) for line in lines]
    assert (
        [row["context_std"] for row in rows]
        == [None, None]
        == [row["context_std"] for row in jepa.read_metrics(tmp_path / "run")]
    )
    assert all(math.isfinite(row["loss"]) for row in rows)
    assert (tmp_path / "run" / "training.png").is_file()
    with pytest.raises(FileNotFoundError, match=r"is not a run directory with metrics: no metrics.jsonl in it"):
        jepa.read_metrics(tmp_path)


# -- a run directory is never stranded ----------------------------------------------------------------


def test_a_diverged_run_says_what_to_try_and_the_plain_rerun_starts_over(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [
        str(config),
        "--run-dir",
        str(run),
        *SMALL,
        "--set",
        "train.checkpoint_every=0",
        "--set",
        "train.warmup_steps=0",
        "--set",
        "train.grad_clip=null",
    ]
    line = one_error(*train(capsys, *args, "--set", "train.lr=1e12"))
    assert "; no checkpoint was written (running it again starts over). What to try" in line
    assert "check the data for NaN/Inf values; lower train.lr (now 1e+12), set train.grad_clip (e.g. 1.0)" in line
    assert (run / "run.json").is_file(), "the failed run left its directory"
    code, err = train(capsys, *args)
    assert code == 0, err
    assert "holds a run that stopped before its first checkpoint (metrics.jsonl, run.json); starting it over" in err
    assert steps_logged(run) == [1, 2, 3, 4]
    assert json.loads((run / "run.json").read_text())["train"]["lr"] == 0.001, "run.json is the new run's"


def test_a_run_with_a_checkpoint_needs_resume_or_restart(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL]
    assert train(capsys, *args, "--set", "train.checkpoint_every=1", "--max-steps", "3")[0] == 0
    line = one_error(*train(capsys, *args))
    assert line == (
        f"jepa: error: run directory {str(run)!r} already holds a run (a checkpoint at step 3); pass "
        "--resume (resume=True) to continue it, --restart (restart=True) to discard it and start over, or "
        "choose another run directory"
    )
    one_error(*train(capsys, *args, "--resume", "--restart"))
    with warnings.catch_warnings(record=True) as said:  # a run that will not start says only why
        warnings.simplefilter("always")
        one_error(*train(capsys, *args, "--set", "train.warmup_steps=100"))
    assert [str(w.message) for w in said] == []
    (run / "notes.txt").write_text("mine")
    with pytest.warns(UserWarning, match=r"train.warmup_steps \(100\) is not below train.steps \(4\)"):
        code, err = train(capsys, *args, "--restart", "--set", "train.warmup_steps=100")
    assert code == 0 and "--restart: discarding the run in" in err
    assert steps_logged(run) == [1, 2, 3, 4]
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000002", "step_0000004"]
    assert (run / "notes.txt").read_text() == "mine", "restart removes only what a run writes"


def test_a_staged_run_counts_its_progress_to_the_runs_last_step(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL, "--set", "train.progress=true"]
    code, err = train(capsys, *args, "--max-steps", "2")
    assert code == 0, err
    assert "step 2/4" in err and "/2 " not in err, err
    assert "the run is at step 2 of 4 (--max-steps 2); continue it with: " in err
    code, err = train(capsys, *args, "--resume")
    assert code == 0, err
    assert "step 4/4" in err, err
    assert f"jepa: resuming {str(run)!r} at step 2 of 4 (2 to go)" in err, err
    code, err = train(capsys, *args, "--resume")  # a finished run says so rather than nothing
    assert code == 0, err
    assert "at step 4 of 4: it has trained them all, nothing is left to train" in err, err
    assert steps_logged(run) == [1, 2, 3, 4]


def test_resume_ignores_a_torn_last_metrics_line(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL]
    assert train(capsys, *args, "--max-steps", "2")[0] == 0
    with open(run / "metrics.jsonl", "a") as handle:
        handle.write('{"step": 3, "loss": 0.1')  # killed mid-write
    with pytest.warns(RuntimeWarning, match=r"metrics.jsonl': ignored 1 unreadable line\(s\) \(3\)"):
        code, err = train(capsys, *args, "--resume")
    assert code == 0, err
    assert steps_logged(run) == [1, 2, 3, 4]


def test_a_corrupt_or_hostile_checkpoint_is_named_with_what_to_do(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL, "--set", "train.steps=6", "--set", "train.checkpoint_every=2"]
    assert train(capsys, *args, "--max-steps", "4")[0] == 0
    latest = run / "checkpoints" / "step_0000004"
    state = latest / "trainer.pt"
    todo = (
        f". To go on, delete {str(latest)!r} to resume from step_0000002, or pass --restart to discard the "
        "run and start over"
    )

    for damaged in (b"PK\x03\x04 not really a zip", b"garbage"):  # cut short, or overwritten
        state.write_bytes(damaged)
        line = one_error(*train(capsys, *args, "--resume"))
        assert line.startswith(f"jepa: error: cannot resume from {str(state)!r}: it is damaged"), line
        assert line.endswith(todo)

    torch.save({"step": 4, "optimizer": {}, "rng": torch.get_rng_state(), "payload": Path("/")}, state)
    line = one_error(*train(capsys, *args, "--resume"))
    assert line.startswith(
        f"jepa: error: cannot resume from {str(state)!r}: it holds Python objects that safe loading refuses to unpickle"
    ) and line.endswith(todo)

    weights = latest / "model" / "model.safetensors"
    weights.write_bytes(b"\x00" * 16)
    line = one_error(*train(capsys, *args, "--resume"))
    assert line.startswith(f"jepa: error: cannot resume from {str(weights)!r}: its weights cannot be loaded")

    code, err = train(capsys, *args, "--restart")
    assert code == 0, err
    assert steps_logged(run) == [1, 2, 3, 4, 5, 6]


@pytest.mark.skipif(os.name != "posix", reason="SIGINT")
def test_ctrl_c_checkpoints_and_prints_the_command_that_resumes(config, tmp_path, capsys) -> None:
    run = tmp_path / "run"
    args = [
        str(config),
        "--run-dir",
        str(run),
        *SMALL,
        "--set",
        "train.steps=100000",
        "--set",
        "train.checkpoint_every=0",
    ]
    process = subprocess.Popen(
        [sys.executable, "-m", "jepa", "train", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = time.monotonic() + 120
    while not ((run / "metrics.jsonl").is_file() and (run / "metrics.jsonl").stat().st_size):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("jepa: interrupted at step ") and "Traceback" not in err
    step = int(last.split("interrupted at step ")[1].split()[0])
    assert (
        f"; checkpoint saved in {str(run / 'checkpoints' / f'step_{step:07d}')!r}; continue with: jepa train " in last
    )
    command = shlex.split(last.split("continue with: ")[1])
    assert command[:2] == ["jepa", "train"] and command[-1] == "--resume"
    assert steps_logged(run) == list(range(1, step + 1))
    code, err = train(capsys, *command[2:], "--max-steps", str(step + 2))
    assert code == 0, err
    assert steps_logged(run) == list(range(1, step + 3)), "resumed where it stopped"


# -- the eval section ----------------------------------------------------------------------------------

# SMALL with the starter's eval section, cut down: one draw of 3 shots, 48 windows a set
WITH_EVAL = [
    *(part for setting in SMALL[1::2] if setting != "eval=null" for part in ("--set", setting)),
    *("--set", "eval.seeds=[0]", "--set", "eval.shots=3"),
    *("--set", "eval.train.params.size=48", "--set", "eval.test.params.size=48"),
]


def test_eval_data_the_encoder_cannot_take_fails_before_training(config, tmp_path, capsys) -> None:
    run_dir = tmp_path / "run"
    line = one_error(
        *train(capsys, str(config), "--run-dir", str(run_dir), *WITH_EVAL, "--set", "eval.test.params.steps=16")
    )
    assert line.startswith(
        "jepa: error: eval.test: eval.test does not fit encoder 'jepa:mlp': a batch from eval.test holds "
        "shape (1, 16, 3) but the encoder takes inputs like shape (1, 96) (its example_input); the encoder's error: "
    ), line
    assert line.endswith("Make eval.test give inputs of the shape the encoder takes, like the data it trains on")
    assert not run_dir.exists(), "refused before anything was trained or written"


def test_data_and_eval_data_the_encoder_cannot_take_name_data_first(config, tmp_path, capsys) -> None:
    """Both sections give the same wrong shape: the message is about data, the one that trains."""
    wrong = [
        "--set",
        "data.params.steps=16",
        "--set",
        "eval.train.params.steps=16",
        "--set",
        "eval.test.params.steps=16",
    ]
    line = one_error(*train(capsys, str(config), "--run-dir", str(tmp_path / "run"), *WITH_EVAL, *wrong))
    assert line.startswith("jepa: error: data: the data does not fit encoder 'jepa:mlp'"), line


def test_a_failed_probe_of_the_trained_model_is_a_nonzero_exit_after_the_table(
    config, tmp_path, capsys, monkeypatch
) -> None:
    import jepa_core.evaluation

    knn = jepa_core.evaluation.knn_accuracy
    calls: list[int] = []

    def first_knn_fails(*args, **kwargs):  # the trained model is scored first: its knn probe fails
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("knn broke on purpose")
        return knn(*args, **kwargs)

    monkeypatch.setattr(jepa_core.evaluation, "knn_accuracy", first_knn_fails)
    run_dir = tmp_path / "run"
    capsys.readouterr()
    code = main(["train", str(config), "--run-dir", str(run_dir), *WITH_EVAL])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "jepa: error: 1 probe of the model failed (jepa/knn; the errors are listed with the results; " in err
    assert f"the results are saved in {run_dir}/eval.json)" in err
    assert "errors:\n  jepa/knn: RuntimeError: knn broke on purpose" in out, "the table is printed first"
    assert f"run directory: {run_dir}" in out
    saved = json.loads((run_dir / "eval.json").read_text())
    assert set(saved) >= {"jepa", "random_init", "raw"}, "the other rows are saved"
    assert "linear" in saved["jepa"] and "knn" in saved["random_init"]
    calls.clear()
    code = main(["eval", str(run_dir)])
    out, err = capsys.readouterr()
    assert code == 1 and "jepa: error: 1 probe of the model failed (jepa/knn;" in err
    assert main(["eval", str(run_dir)]) == 0, "every probe scoring is a success"

    def broken(*args, **kwargs):
        raise RuntimeError("probe broke on purpose")

    monkeypatch.setattr(jepa_core.evaluation, "linear_probe", broken)
    monkeypatch.setattr(jepa_core.evaluation, "knn_accuracy", broken)
    capsys.readouterr()
    code = main(["eval", str(run_dir)])
    out, err = capsys.readouterr()
    assert code == 1 and "jepa: error: no probe could score the model (jepa/linear, jepa/knn failed; " in err
    assert "errors:\n  jepa/linear: RuntimeError: probe broke on purpose" in out, "the table still shows why"


def test_a_staged_run_says_where_it_stopped_and_where_its_model_is(config, tmp_path, capsys) -> None:
    import jepa

    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL]
    code, err = train(capsys, *args, "--max-steps", "2")
    # every --set again: a resume refuses another set-up
    again = shlex.join(["jepa", "train", str(config), *SMALL, "--run-dir", str(run), "--resume"])
    assert code == 0 and f"jepa: the run is at step 2 of 4 (--max-steps 2); continue it with: {again}" in err
    with pytest.raises(jepa.CheckpointError, match=r"the model is in '.*run/checkpoints/step_0000002/model'"):
        jepa.load(run)
    with pytest.raises(SystemExit) as refused:
        main(["train", *args, "--max-steps", "0"])
    assert refused.value.code == 2 and "0 is not a step number; give 1 or more" in capsys.readouterr().err
    # a run directory given with --set run_dir is named once, by --run-dir (it was named by both)
    other = tmp_path / "other"
    code, err = train(capsys, str(config), "--set", f"run_dir={other}", *SMALL, "--max-steps", "2")
    again = shlex.join(["jepa", "train", str(config), *SMALL, "--run-dir", str(other), "--resume"])
    assert code == 0 and f"continue it with: {again}" in err


def test_resume_without_the_plugin_of_a_part_names_its_distribution(
    installed_plugins, config, tmp_path, capsys, monkeypatch
) -> None:
    sites = installed_plugins("good")
    run = tmp_path / "run"
    args = [str(config), "--run-dir", str(run), *SMALL, "--set", "model.loss=good:mse"]
    code, err = train(capsys, *args, "--max-steps", "2")
    assert code == 0, err
    monkeypatch.setattr(sys, "path", [entry for entry in sys.path if entry not in sites])  # uninstalled
    from jepa_core.registry import get_registry

    get_registry().reset()
    line = one_error(*train(capsys, *args, "--resume"))
    assert "'good:mse'" in line
    folder = Path(__file__).parents[1] / "fixtures" / "plugins" / "good"  # where it was pip-installed from
    assert f"jepa-fixture-good 1.2.3 (for loss 'good:mse'), not installed here: pip install {folder}" in line
    assert "did you mean" not in line, "a similar name here is not the saved loss, and a resume refuses a change"
    capsys.readouterr()
    code = main(["eval", str(run)])  # evaluating the run needs its model config too, and says the same
    assert f"not installed here: pip install {folder}" in one_error(code, capsys.readouterr().err)
