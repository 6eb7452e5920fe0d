"""The Trainer and one-file runs: schedules, exact resume, NaN stops, bad input."""

from __future__ import annotations

import json
import math
import warnings

import jepa
import numpy as np
import pytest
import torch
from jepa_core.runs import load_run_spec, train_run
from jepa_core.training import Trainer, TrainingError, TrainSpec, learning_rate, read_metrics, weight_decay

MASKED_RUN = {
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
                "dropout": 0.1,
            },
        },
        "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
        "masker": "random",
        "loss": "smooth_l1",
    },
    "data": {"name": "sinusoids", "params": {"size": 64, "steps": 8, "channels": 2}},
    "train": {
        "steps": 6,
        "batch_size": 16,
        "warmup_steps": 2,
        "lr": 1e-3,
        "checkpoint_every": 3,
        "progress": False,
        "plot": False,
    },
}


def test_schedules_follow_warmup_cosine_and_weight_decay_ramp() -> None:
    spec = TrainSpec(steps=100, lr=1.0, min_lr=0.0, warmup_steps=10, weight_decay=0.04, final_weight_decay=0.4)
    assert learning_rate(spec, 0) == pytest.approx(0.1)
    assert learning_rate(spec, 9) == pytest.approx(1.0)
    assert learning_rate(spec, 55) == pytest.approx(0.5, abs=0.02)
    assert learning_rate(spec, 100) == pytest.approx(0.0, abs=1e-9)
    assert weight_decay(spec, 0) == pytest.approx(0.04) and weight_decay(spec, 99) == pytest.approx(0.4)


def test_a_batch_that_accumulation_does_not_divide_names_both_settings() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    with pytest.raises(jepa.SpecError) as info:
        Trainer(model, jepa_data(), {"batch_size": 16, "accumulate": 32})
    assert info.value.path == "train.batch_size"
    assert str(info.value).endswith(
        "over 1 processes x 32 accumulation steps; make it a multiple of 32, or change train.accumulate"
    )


def test_norms_and_biases_get_no_weight_decay() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    trainer = Trainer(model, jepa_data(), {"steps": 1, "batch_size": 8, "progress": False})
    decayed, plain = trainer.optimizer.param_groups
    assert all(p.ndim >= 2 for p in decayed["params"]) and all(p.ndim == 1 for p in plain["params"])
    assert plain["weight_decay"] == 0.0


def jepa_data(size: int = 32) -> torch.utils.data.Dataset:
    x = torch.randn(size, 4)
    return torch.utils.data.TensorDataset(x, x + 0.1 * torch.randn_like(x))


class CountingReads(torch.utils.data.Dataset):
    """``jepa_data()`` whose items pass through ``change(reads so far, item)``: something
    happens to the data after so many reads."""

    def __init__(self, change) -> None:
        self.data, self.reads, self.change = jepa_data(), 0, change

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        self.reads += 1
        return self.change(self.reads, self.data[index])


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(tmp_path) -> None:
    spec = load_run_spec(MASKED_RUN)
    train_run(spec, run_dir=tmp_path / "whole")
    train_run(spec, run_dir=tmp_path / "staged", max_steps=3)
    assert [m["step"] for m in read_metrics(tmp_path / "staged")] == [1, 2, 3]
    train_run(spec, run_dir=tmp_path / "staged", resume=True)
    whole, staged = read_metrics(tmp_path / "whole"), read_metrics(tmp_path / "staged")
    assert [m["step"] for m in staged] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(whole, staged, strict=True):
        assert a["loss"] == b["loss"], f"step {a['step']}: data order, masks, dropout or EMA differ after resume"
    first, second = jepa.load(tmp_path / "whole" / "final"), jepa.load(tmp_path / "staged" / "final")
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


def tiny_masked_sequence_model() -> jepa.JEPA:
    """A masked transformer JEPA over 8 steps of 2 channels, from seed 0."""
    torch.manual_seed(0)
    return jepa.build(
        "transformer", "attention", masker="random", loss="smooth_l1",
        encoder={"input_dim": 2, "hidden_dim": 16, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 8},
        predictor={"depth": 1, "heads": 2},
    )  # fmt: skip


def test_a_shuffled_dataloader_resumes_exactly_and_other_data_is_refused(tmp_path) -> None:
    series = torch.randn(40, 8, 2)

    def trainer(run: str, data: torch.Tensor = series, **kwargs) -> Trainer:
        model = tiny_masked_sequence_model()
        # no generator of its own: its order is drawn from the global random stream each epoch
        loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True)
        spec = {"steps": 8, "checkpoint_every": 3, "progress": False, "plot": False}
        return Trainer(model, loader, spec, run_dir=tmp_path / run, **kwargs)

    whole = [m["loss"] for m in trainer("whole").fit()]
    staged = trainer("staged").fit(max_steps=3)  # part-way through the first epoch of 5 batches
    staged += trainer("staged", resume=True).fit()  # and on into the second
    assert [m["loss"] for m in staged] == whole, "the resumed epoch's order or masks differ"
    with pytest.raises(
        TrainingError, match=r"other data: it holds 32 items, the run was trained on 40; .*restart=True"
    ):
        trainer("staged", data=series[:32], resume=True)


class RandomCrops(torch.utils.data.Dataset):
    """Windows of 8 steps at a random start in series of 12, drawn from torch's global
    generator on access (as a dataset's random crop is): in a DataLoader worker, from the
    worker's own stream."""

    def __init__(self) -> None:
        self.series = torch.randn(40, 12, 2)

    def __len__(self) -> int:
        return len(self.series)

    def __getitem__(self, index: int) -> torch.Tensor:
        start = int(torch.randint(0, 5, ()))
        return self.series[index, start : start + 8]


def test_a_run_whose_workers_draw_random_crops_resumes_exactly(tmp_path) -> None:
    def trainer(run: str, **kwargs) -> Trainer:
        model = tiny_masked_sequence_model()
        spec = {"steps": 7, "batch_size": 8, "warmup_steps": 2, "num_workers": 2, "checkpoint_every": 3}
        spec |= {"progress": False, "plot": False}
        return Trainer(model, RandomCrops(), spec, run_dir=tmp_path / run, **kwargs)

    whole = [m["loss"] for m in trainer("whole").fit()]
    staged = trainer("staged").fit(max_steps=3)  # part-way through the first epoch of 5 batches
    staged += trainer("staged", resume=True).fit()  # and on into the second
    assert [m["loss"] for m in staged] == whole, "the workers' crops differ after resuming"


def test_a_resumed_run_with_more_steps_records_them_in_run_json(tmp_path) -> None:
    train_run(load_run_spec(MASKED_RUN, ["train.steps=3"]), run_dir=tmp_path / "run")
    assert json.loads((tmp_path / "run" / "run.json").read_text())["train"]["steps"] == 3
    with pytest.raises(jepa.CheckpointError, match=r"it has no config.json; the model is in '.*run/final': load that"):
        jepa.load(tmp_path / "run")  # the run directory, not its model
    scores = tmp_path / "run" / "eval.json"
    scores.write_text('{"jepa": {"linear": 0.5}}')  # what `jepa eval` wrote for the 3-step model
    train_run(load_run_spec(MASKED_RUN, ["train.steps=3"]), run_dir=tmp_path / "run", resume=True)
    assert scores.is_file(), "nothing trained: the scores still describe the model"
    # this run has no eval section for `jepa eval RUN_DIR` to read: the command says where one comes from
    with pytest.warns(
        UserWarning,
        match=r"removed .*eval.json: it scored the model before steps 4-5; jepa eval .*run --config CONFIG ",
    ):
        train_run(load_run_spec(MASKED_RUN, ["train.steps=5"]), run_dir=tmp_path / "run", resume=True)
    assert not scores.exists(), "the 3-step model's scores are not left beside the 5-step model"
    assert [m["step"] for m in read_metrics(tmp_path / "run")] == [1, 2, 3, 4, 5]
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())
    assert recorded["train"]["steps"] == 5, "run.json describes the run as it was trained"
    assert load_run_spec(recorded).to_dict() == recorded, "and still loads as a run config"


def test_resuming_from_python_with_another_set_up_is_refused_too(tmp_path) -> None:
    def trainer(loss: str = "smooth_l1", **settings) -> Trainer:
        torch.manual_seed(0)
        model = jepa.build("mlp", "mlp", loss=loss, encoder={"input_dim": 4, "hidden_dim": 8})
        spec = {"steps": 3, "batch_size": 8, "progress": False, "plot": False, **settings}
        return Trainer(model, jepa_data(), spec, run_dir=tmp_path / "run", resume=True)

    trainer().fit()
    with pytest.raises(
        TrainingError,
        match=r"another set-up \(model.loss.name: 'jepa:smooth_l1' -> 'jepa:l1';.*"
        r"or restart=True",
    ):
        trainer(loss="l1", steps=6)
    with pytest.raises(TrainingError, match=r"train.batch_size: 8 -> 16; train.lr: 0.001 -> 0.1"):
        trainer(steps=6, batch_size=16, lr=0.1)
    assert len(trainer(steps=5).fit()) == 2, "more steps: allowed"
    with pytest.raises(
        jepa.SpecError,
        match=r"TrainSpec, not int 5: e.g. jepa.Trainer\(model, data, \{'steps': 1000, 'batch_size': 64\}\)$",
    ):
        Trainer(jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8}), jepa_data(), 5)


def test_keep_checkpoints_deletes_all_but_the_latest_and_the_run_still_resumes(tmp_path) -> None:
    run = tmp_path / "run"
    settings = ["train.checkpoint_every=1", "train.keep_checkpoints=2"]
    train_run(load_run_spec(MASKED_RUN, ["train.steps=5", *settings]), run_dir=run, max_steps=4)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000003", "step_0000004"]
    train_run(load_run_spec(MASKED_RUN, ["train.steps=5", *settings]), run_dir=run, resume=True)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_0000004", "step_0000005"]
    assert [m["step"] for m in read_metrics(run)] == [1, 2, 3, 4, 5]


def test_resuming_with_another_process_count_warns(tmp_path) -> None:
    run = tmp_path / "run"
    train_run(load_run_spec(MASKED_RUN, ["train.steps=2"]), run_dir=run)
    [checkpoint] = (run / "checkpoints").iterdir()
    state = torch.load(checkpoint / "trainer.pt", weights_only=True)
    assert state["processes"] == 1
    torch.save({**state, "processes": 2}, checkpoint / "trainer.pt")  # as a 2-process torchrun run writes it
    with pytest.warns(UserWarning, match=r"resuming with 1 process\(es\) a run trained with 2: from step 2"):
        train_run(load_run_spec(MASKED_RUN, ["train.steps=3"]), run_dir=run, resume=True)


def test_resuming_with_another_set_up_is_refused_before_anything_changes(tmp_path) -> None:
    run = tmp_path / "run"
    train_run(load_run_spec(MASKED_RUN, ["train.steps=3"]), run_dir=run)
    recorded = (run / "run.json").read_text()
    changes = ["train.batch_size=4", "train.lr=0.01", "model.loss=l1"]
    with pytest.raises(TrainingError, match=r"cannot resume the run in .* with another set-up \(") as refused:
        train_run(load_run_spec(MASKED_RUN, ["train.steps=5", *changes]), run_dir=run, resume=True)
    for change in ("model.loss.name: 'jepa:smooth_l1' -> 'jepa:l1'", "train.batch_size: ", "train.lr: 0.001 -> 0.01"):
        assert change in str(refused.value)
    assert (run / "run.json").read_text() == recorded and len(read_metrics(run)) == 3, "nothing was changed"
    with pytest.raises(TrainingError, match=r"train.steps=2 is below the step the run .* has reached \(3\)"):
        train_run(load_run_spec(MASKED_RUN, ["train.steps=2"]), run_dir=run, resume=True)
    # how long it trains, how it is watched: these may change
    train_run(
        load_run_spec(MASKED_RUN, ["train.steps=4", "train.progress=false", "train.plot=false"]),
        run_dir=run,
        resume=True,
    )
    assert len(read_metrics(run)) == 4


def test_ctrl_c_in_fit_is_a_keyboard_interrupt_that_except_exception_does_not_swallow(tmp_path) -> None:
    import os
    import signal

    def press_ctrl_c(reads: int, item):
        if reads == 8 * 3 + 1:  # during the batch of step 4 (the first batch check reads 8)
            os.kill(os.getpid(), signal.SIGINT)
        return item

    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    data = CountingReads(press_ctrl_c)
    trainer = Trainer(model, data, {"steps": 10, "batch_size": 8, "progress": False}, run_dir=tmp_path)
    with pytest.raises(jepa.TrainingInterrupted) as stopped:
        try:
            trainer.fit()
        except Exception:  # a sweep's error handler: Ctrl-C must get through it
            pytest.fail("Ctrl-C was caught as an Exception")
    assert isinstance(stopped.value, KeyboardInterrupt) and stopped.value.step == 3
    assert stopped.value.checkpoint is not None and stopped.value.checkpoint.name.endswith("3")
    # without a run directory: the same stop after a whole step, no checkpoint
    trainer = Trainer(model, CountingReads(press_ctrl_c), {"steps": 10, "batch_size": 8, "progress": False})
    with pytest.raises(jepa.TrainingInterrupted) as stopped:
        trainer.fit()
    assert stopped.value.step == 3 and stopped.value.checkpoint is None


def test_a_list_or_a_tensor_of_items_is_batched_like_a_dataset() -> None:
    seen: list[tuple[int, ...]] = []
    model = jepa.build("transformer", "mlp", encoder={"input_dim": 2, "hidden_dim": 8, "depth": 1})
    original = model.step

    def step(batch, *args, **kwargs):
        seen.append(tuple(batch[0].shape) if isinstance(batch, (tuple, list)) else tuple(batch["state_t"].shape))
        return original(batch, *args, **kwargs)

    model.step = step  # records the batches the trainer makes
    items = [{"state_t": torch.randn(5, 2), "state_t1": torch.randn(5, 2)} for _ in range(24)]
    Trainer(model, items, {"steps": 2, "batch_size": 8, "progress": False, "plot": False}).fit()
    assert seen and set(seen) == {(8, 5, 2)}, "items of (5, 2), batched by 8"
    seen.clear()
    pairs = [(torch.randn(5, 2), torch.randn(5, 2)) for _ in range(24)]  # (state_t, state_t1) items
    Trainer(model, pairs, {"steps": 1, "batch_size": 6, "progress": False, "plot": False}).fit()
    assert set(seen) == {(6, 5, 2)}
    encoder = {"input_dim": 2, "hidden_dim": 8, "depth": 1, "pool": "none", "num_tokens": 5}
    masked = jepa.build("transformer", "attention", masker="random", encoder=encoder, predictor={"depth": 1})
    rows = Trainer(masked, torch.randn(24, 5, 2), {"steps": 2, "batch_size": 8, "progress": False}).fit()
    assert len(rows) == 2, "a tensor of 24 items of (5, 2): batched, not read as 24 batches"
    with pytest.raises(jepa.SpecError, match=r"^data: the data is a generator, which has no length.*DataLoader"):
        Trainer(masked, (x for x in torch.randn(3, 8, 5, 2)), {"steps": 2, "batch_size": 8, "progress": False})


def test_a_nan_in_a_later_batch_is_named_as_the_cause(tmp_path) -> None:
    def turn_nan(reads: int, item):
        return (item[0] * float("nan"), item[1]) if reads > 8 * 3 else item  # from step 3 on

    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    trainer = Trainer(model, CountingReads(turn_nan), {"steps": 5, "batch_size": 8, "progress": False, "plot": False})
    with pytest.raises(TrainingError, match=r"the loss became nan at step 3.*: that step's batch holds NaN or Inf"):
        trainer.fit()


def test_metrics_are_logged_every_step_with_collapse_signals(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    spec = load_run_spec(MASKED_RUN, ["train.plot=true", "train.steps=3"])
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    rows = read_metrics(run_dir)
    assert len(rows) == 3
    assert {
        "loss",
        "lr",
        "weight_decay",
        "momentum",
        "grad_norm_encoder",
        "grad_norm_predictor",
        "context_std",
        "context_rankme",
        "samples_per_second",
    } <= set(rows[0])
    assert rows[0]["grad_norm_encoder"] > 0 and rows[0]["grad_norm_predictor"] > 0
    assert rows[-1]["momentum"] == pytest.approx(1.0)
    assert (run_dir / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((run_dir / "run.json").read_text())
    assert saved["model"]["encoder"]["name"] == "jepa:transformer", "the run keeps its fully filled spec"
    assert saved["train"]["steps"] == 3
    assert jepa.load(run_dir / "final").spec.to_dict() == saved["model"]


def test_the_collapse_warning_spares_a_fresh_model_and_catches_one_point() -> None:
    train = {"steps": 2, "batch_size": 4, "warmup_steps": 0, "progress": False, "plot": False}
    torch.manual_seed(0)
    # the README's quick-start model: its fresh embeddings share a large offset, which
    # read as RankMe 1.3 when the offset counted as a direction
    fresh = jepa.build("transformer", "mlp", encoder={"input_dim": 8, "hidden_dim": 32, "depth": 1})
    states = torch.utils.data.TensorDataset(torch.randn(32, 10, 8), torch.randn(32, 10, 8))
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*collapsing.*")
        Trainer(fresh, states, train).fit()
        # a DataLoader's last batch is short: two items are a line whatever the model (a trial's
        # loader of 7 over 30 series was told it collapsed at each epoch's batch of 2)
        short_last = torch.utils.data.DataLoader(torch.utils.data.Subset(states, range(6)), batch_size=4)
        Trainer(fresh, short_last, train).fit()
    collapsed = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    with torch.no_grad():
        for parameter in collapsed.encoder.parameters():
            parameter.zero_()  # every input maps to the same embedding
    with pytest.warns(RuntimeWarning, match=r"step 1: context embeddings are collapsing \(RankMe 1.00 < 1.5\)") as seen:
        Trainer(collapsed, jepa_data(), train).fit()
    advice = str(seen[0].message)  # only what applies: this model has an EMA target and no regulariser
    assert "a slower EMA" in advice and "a regulariser loss such as sigreg" in advice
    regularised = jepa.build("mlp", "mlp", loss="sigreg", target="none", encoder={"input_dim": 4, "hidden_dim": 8})
    with torch.no_grad():
        for parameter in regularised.encoder.parameters():
            parameter.zero_()
    with pytest.warns(RuntimeWarning, match="collapsing") as seen:
        Trainer(regularised, jepa_data(), train).fit()
    advice = str(next(w.message for w in seen if "collapsing" in str(w.message)))
    assert "EMA" not in advice and "regulariser loss" not in advice and "a lower lr" in advice
    with warnings.catch_warnings():  # two samples are always on a line: nothing to tell from them
        warnings.filterwarnings("error", message=".*collapsing.*")
        Trainer(collapsed, jepa_data(), {**train, "batch_size": 2}).fit()


def test_embeddings_shrinking_towards_one_point_are_reported_though_their_rank_holds() -> None:
    torch.manual_seed(0)
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    train = {"steps": 4, "batch_size": 8, "warmup_steps": 0, "progress": False, "plot": False}
    trainer = Trainer(model, jepa_data(), train)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*shrinking.*")
        trainer.fit(max_steps=2)  # a fresh model: its spread is the reference
    last = [module for module in model.encoder.modules() if isinstance(module, torch.nn.Linear)][-1]
    with torch.no_grad():  # a shared offset: every embedding points almost the same way; RankMe is centred
        last.bias.add_(10.0)
    with pytest.warns(RuntimeWarning, match=r"step 3: context embeddings are shrinking towards one point") as seen:
        trainer.fit()
    assert not any("collapsing (RankMe" in str(warning.message) for warning in seen), "RankMe alone misses it"
    assert {warning.filename for warning in seen} == {__file__}  # shown at trainer.fit(), not inside jepa


def test_gradient_accumulation_matches_one_big_batch() -> None:
    def train(accumulate: int) -> torch.nn.Module:
        torch.manual_seed(0)
        model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
        torch.manual_seed(1)
        Trainer(
            model,
            jepa_data(),
            {"steps": 3, "batch_size": 16, "accumulate": accumulate, "progress": False, "warmup_steps": 0},
        ).fit()
        return model

    one, two = train(1), train(2)
    for a, b in zip(one.parameters(), two.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def test_a_nan_loss_stops_the_run_and_keeps_the_last_checkpoint(tmp_path) -> None:
    batches = [(x, x + 0.1) for x in torch.randn(6, 8, 4)]
    batches[3][0][0, 0] = float("nan")  # the 4th batch is poisoned
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    trainer = Trainer(
        model,
        torch.utils.data.DataLoader(batches, batch_size=None),  # ready batches (a list would be one of items)
        {"steps": 6, "batch_size": 8, "checkpoint_every": 1, "progress": False},
        run_dir=tmp_path / "run",
    )
    with pytest.raises(
        TrainingError,
        match=r"loss became nan at step 4; the last good checkpoint is .*step_0000003.*"
        r"that step's batch holds NaN",
    ):
        trainer.fit()
    checkpoint = trainer.latest_checkpoint()
    assert checkpoint.name == "step_0000003"
    assert all(torch.isfinite(p).all() for p in jepa.load(checkpoint / "model").parameters())


def test_bf16_autocast_trains_a_tiny_model() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    rows = Trainer(model, jepa_data(16), {"steps": 2, "batch_size": 8, "precision": "bf16", "progress": False}).fit()
    assert all(math.isfinite(row["loss"]) for row in rows)


# -- bad input: one clear error before training, nothing on disk damaged ----------------------


def test_labelled_items_given_to_a_paired_model_are_named_as_labels() -> None:
    model = jepa.build("transformer", "mlp", encoder={"input_dim": 4, "hidden_dim": 16, "depth": 1})
    labelled = torch.utils.data.TensorDataset(torch.randn(16, 6, 4), torch.randint(0, 3, (16,)))
    with pytest.raises(jepa.SpecError) as info:
        Trainer(model, labelled, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    assert info.value.path == "data"
    assert "second part, shape (8,) of integers, looks like labels, and a paired model reads it as state_t1" in str(
        info.value
    )
    assert "input_dim" not in str(info.value), "the encoder's input_dim is right: no advice to change it"
    pairs = torch.utils.data.TensorDataset(torch.randn(16, 6, 4), torch.randn(16, 6, 3))  # a wrong state_t1
    with pytest.raises(jepa.SpecError) as info:
        Trainer(model, pairs, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    assert "looks like labels" not in str(info.value)


def test_overrides_are_validated_with_their_path() -> None:
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(MASKED_RUN, ["train.lr=-1"])
    assert info.value.path == "train.lr"
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(MASKED_RUN, ["train.learning_rate=0.1"])
    assert info.value.path == "train.learning_rate" and "unknown field" in str(info.value)
    spec = load_run_spec(MASKED_RUN, ["model.encoder.params.depth=2", "train.betas=[0.9, 0.95]"])
    assert spec.model.encoder.params["depth"] == 2 and spec.train.betas == (0.9, 0.95)


@pytest.mark.parametrize(
    ("override", "says"),
    [  # in the words of the YAML a user writes, not pydantic's class names
        ("model.target=[ema]", r"model.target: Input should be a mode \(ema, shared or none\), or a mapping \{mode: "),
        ("data=[sinusoids]", r"data: Input should be a name, or a mapping \{name: ..., params: \{...\}\} \(got"),
        ("train=[10]", r"train: Input should be a mapping of settings \{key: value, ...\} \(got \[10\]\)"),
        (
            "model.encoder.name=attention",
            r"no encoder named 'attention' is available; 'attention' is a predictor, not an",
        ),
    ],
)
def test_a_value_of_the_wrong_form_is_named_as_a_config_writes_it(override: str, says: str) -> None:
    with pytest.raises(jepa.SpecError, match=says) as info:
        load_run_spec(MASKED_RUN, [override])
    assert "Spec" not in str(info.value)


def test_a_set_inside_a_section_an_earlier_set_emptied_is_warned_about() -> None:
    run = {**MASKED_RUN, "eval": {"train": MASKED_RUN["data"], "test": MASKED_RUN["data"]}}
    with pytest.warns(
        UserWarning, match=r"--set 'eval.probes=\[knn\]' starts the eval section anew: the earlier --set 'eval=null'"
    ):
        with pytest.raises(jepa.SpecError, match=r"eval.train: field required"):
            load_run_spec(run, ["eval=null", "eval.probes=[knn]"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_run_spec(run, ["eval.probes=[knn]"])  # the config's own section, changed: nothing to say


def test_one_probe_given_where_a_list_belongs_is_shown_as_a_list() -> None:
    run = {**MASKED_RUN, "eval": {"train": MASKED_RUN["data"], "test": MASKED_RUN["data"]}}
    with pytest.raises(
        jepa.SpecError, match=r"eval.probes: Input should be a valid list \(got 'linear'\); .*\[linear\]"
    ):
        load_run_spec(run, ["eval.probes=linear"])


def test_a_config_for_a_plugin_that_is_not_installed(monkeypatch) -> None:
    monkeypatch.setenv("JEPA_PLUGINS", "")
    from jepa_core.registry import get_registry

    get_registry().reset()
    with pytest.raises(
        jepa.UnknownComponentError,
        match="comes with jepa-plugins-vision .*; its plugin 'vision', installed here, is",
    ) as info:
        load_run_spec(MASKED_RUN, ["model.encoder.name=vit"])
    assert info.value.path == "model.encoder.name"
    get_registry().reset()


def test_a_missing_data_file_is_named(tmp_path) -> None:
    spec = load_run_spec(MASKED_RUN, [f"data={{name: arrays, params: {{path: {tmp_path}/nope.npz}}}}"])
    with pytest.raises(jepa.SpecError, match=r"data file '.*nope.npz' does not exist") as info:
        train_run(spec, run_dir=tmp_path / "run")
    assert info.value.path == "data.params"
    assert not (tmp_path / "run").exists()


def test_a_batch_that_does_not_fit_the_encoder_fails_before_anything_is_written(tmp_path) -> None:
    np.savez(tmp_path / "wide.npz", x=np.random.rand(32, 8, 5).astype("float32"), y=np.zeros(32, dtype="int64"))
    spec = load_run_spec(MASKED_RUN, [f"data={{name: arrays, params: {{path: {tmp_path}/wide.npz}}}}"])
    with pytest.raises(jepa.SpecError) as info:
        train_run(spec, run_dir=tmp_path / "run")
    assert info.value.path == "data"
    message = str(info.value)
    assert "does not fit encoder 'jepa:transformer': a batch from data holds shape (16, 8, 5)" in message
    assert "input_dim" in message, "the encoder's own message says what to set"
    assert not (tmp_path / "run").exists()


def test_a_trainer_given_data_of_the_wrong_shape_names_data_and_the_shape_the_encoder_expects() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 16, "hidden_dim": 8})
    wrong = torch.utils.data.TensorDataset(torch.randn(32, 5), torch.randn(32, 5))
    with pytest.raises(jepa.SpecError) as info:
        Trainer(model, wrong, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    assert info.value.path == "data"
    assert "data: the data does not fit encoder 'jepa:mlp': a batch from data holds shape (8, 5)" in str(info.value)
    assert "the encoder takes inputs like shape (8, 16) (its example_input)" in str(info.value)


def test_mapping_items_with_keys_the_encoder_does_not_take_are_named() -> None:
    masked = jepa.build(
        "transformer",
        "attention",
        masker="random",
        predictor={"depth": 1},
        encoder={"input_dim": 4, "hidden_dim": 8, "depth": 1, "pool": "none", "num_tokens": 10},
    )
    items = [{"input": torch.randn(10, 4)} for _ in range(16)]
    with pytest.raises(
        jepa.SpecError,
        match=r"^data: the data gives mappings with keys \['input'\], but encoder "
        r"'jepa:transformer' takes .*'x'.*rename the keys",
    ):
        Trainer(masked, items, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    paired = jepa.build("transformer", "mlp", encoder={"input_dim": 4, "hidden_dim": 8, "depth": 1})
    pairs = [{"t0": torch.randn(10, 4), "t1": torch.randn(10, 4)} for _ in range(16)]
    with pytest.raises(jepa.SpecError, match=r"keys \['t0', 't1'\].*a paired one 'state_t' and 'state_t1'"):
        Trainer(paired, pairs, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})


def test_a_trainer_argument_given_as_a_setting_says_where_it_goes(tmp_path) -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    with pytest.raises(jepa.SpecError, match=r"^train.run_dir: run_dir is an argument of jepa.Trainer \(run_dir=...\)"):
        Trainer(model, jepa_data(), {"steps": 1, "run_dir": str(tmp_path)})


def test_float64_data_is_named_as_the_problem_not_its_shape() -> None:
    model = jepa.build("transformer", "mlp", encoder={"input_dim": 4, "hidden_dim": 8, "depth": 1})
    doubles = torch.utils.data.TensorDataset(torch.randn(16, 10, 4, dtype=torch.float64), torch.randn(16, 10, 4))
    with pytest.raises(
        jepa.SpecError,
        match=r"^data: the data gives float64 values but the encoder's weights are "
        r"float32: give float32 data \(numpy's default is float64",
    ):
        Trainer(model, doubles, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})


def test_8_bit_integer_images_are_named_as_the_problem_not_their_shape() -> None:
    model = jepa.build(
        "cnn",
        "attention",
        encoder={"input_channels": 1, "image_size": 8, "widths": [8, 16], "hidden_dim": 16, "pool": "none"},
        predictor={"depth": 1, "heads": 2},
        masker="multiblock",
    )
    images = torch.randint(0, 256, (16, 1, 8, 8), dtype=torch.uint8)
    with pytest.raises(
        jepa.SpecError,
        match=r"^data: the data gives uint8 values but the encoder takes floats .*x.float\(\) / 255 for 8-bit images",
    ):
        Trainer(model, images, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    token_ids = torch.utils.data.TensorDataset(torch.randint(0, 256, (16, 32)), torch.randint(0, 2, (16,)))
    with pytest.raises(
        jepa.SpecError,
        match=r"^data: the data gives int64 values, shape \(8, 32\) but the encoder takes inputs like shape "
        r"\(8, 1, 8, 8\) .*: another kind of data \(token ids\?\) than encoder 'vision:cnn' takes. Give data of",
    ) as info:
        Trainer(model, token_ids, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    assert "x.float()" not in str(info.value), "floats of token ids are not images either"


def test_a_batch_the_encoder_takes_but_the_predictor_does_not_is_not_blamed_on_the_encoder() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8}, predictor={"action_dim": 2})
    states = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 4), torch.randn(32, 3))
    with pytest.raises(jepa.SpecError) as info:
        Trainer(model, states, {"steps": 1, "batch_size": 8, "progress": False, "plot": False})
    assert info.value.path == "data"
    assert "the encoder takes its inputs, shape (8, 4), but the rest of the model does not" in str(info.value)


def test_an_unwritable_run_dir_and_an_existing_run_are_refused(tmp_path) -> None:
    spec = load_run_spec(MASKED_RUN, ["train.steps=1"])
    (tmp_path / "file").write_text("not a directory")
    for deep in ("run", "runs/mine"):  # the part of the path that is a file is named
        with pytest.raises(
            TrainingError, match=rf"cannot write to run directory '.*file/{deep}': '[^']*file' is a file"
        ):
            train_run(spec, run_dir=tmp_path / "file" / deep)
    with pytest.raises(TrainingError, match=r"run directory '.*file' is a file; give the run a directory"):
        train_run(spec, run_dir=tmp_path / "file")
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    before = (run_dir / "metrics.jsonl").read_text()
    with pytest.raises(TrainingError, match=r"already holds a run \(a checkpoint at step 1\); pass --resume"):
        train_run(spec, run_dir=run_dir)
    assert (run_dir / "metrics.jsonl").read_text() == before


def test_series_longer_than_the_encoder_reads_fail_before_anything_is_written(tmp_path) -> None:
    spec = load_run_spec(MASKED_RUN, ["data.params.steps=12"])  # the encoder is set up for 8 tokens
    with pytest.raises(jepa.SpecError) as info:
        train_run(spec, run_dir=tmp_path / "run")
    assert info.value.path == "model.encoder.params.num_tokens"
    assert (
        "the data gives 12 tokens per item but encoder 'jepa:transformer' is set up for 8 (masks would cover "
        "only its first 8 tokens); set model.encoder.params.num_tokens to 12" in str(info.value)
    )
    assert not (tmp_path / "run").exists()
    filled = load_run_spec(MASKED_RUN, ["data.params.steps=12", "model.encoder.params.num_tokens=null"])
    run_dir = train_run(filled, run_dir=tmp_path / "filled")
    assert json.loads((run_dir / "run.json").read_text())["model"]["encoder"]["params"]["num_tokens"] == 12


class EpochAware(torch.utils.data.Dataset):
    """``jepa_data()`` that records each ``set_epoch`` call (as augmenting datasets and
    ``DistributedSampler`` need, to draw afresh each epoch)."""

    def __init__(self) -> None:
        self.data, self.epochs = jepa_data(), []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        return self.data[index]


class EpochAwareSampler(torch.utils.data.RandomSampler):
    def __init__(self, data) -> None:
        super().__init__(data)
        self.epochs: list[int] = []

    def set_epoch(self, epoch: int) -> None:
        self.epochs.append(epoch)


def test_every_epoch_is_announced_to_the_data_so_it_draws_afresh(tmp_path) -> None:
    settings = {"steps": 6, "batch_size": 16, "progress": False, "warmup_steps": 0, "checkpoint_every": 3}
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    data = EpochAware()  # 32 items: two batches an epoch
    Trainer(model, data, settings).fit()
    assert list(dict.fromkeys(data.epochs)) == [0, 1, 2]  # (the first batch is also read before training)
    staged = EpochAware()
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    Trainer(model, staged, settings, run_dir=tmp_path / "run").fit(max_steps=3)
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    resumed = EpochAware()
    Trainer(model, resumed, settings, run_dir=tmp_path / "run", resume=True).fit()
    assert list(dict.fromkeys(staged.epochs)) == [0, 1]
    assert list(dict.fromkeys(resumed.epochs))[-2:] == [1, 2], "a resumed run continues in its epoch"
    loader_data = jepa_data()
    sampler = EpochAwareSampler(loader_data)
    loader = torch.utils.data.DataLoader(loader_data, batch_size=16, sampler=sampler)
    Trainer(jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8}), loader, settings).fit()
    assert list(dict.fromkeys(sampler.epochs)) == [0, 1, 2], "a DataLoader's sampler is told too"


def test_throughput_counts_the_items_a_dataloader_gives_not_train_batch_size() -> None:
    loader = torch.utils.data.DataLoader(jepa_data(), batch_size=4)
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8})
    settings = {"steps": 2, "batch_size": 16, "progress": False, "warmup_steps": 0}
    for metrics in Trainer(model, loader, settings).fit():
        assert metrics["samples_per_second"] * metrics["seconds"] == pytest.approx(4)
    for metrics in Trainer(model, jepa_data(), settings).fit():  # batched by the trainer: train.batch_size
        assert metrics["samples_per_second"] * metrics["seconds"] == pytest.approx(16)
