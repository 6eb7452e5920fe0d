"""Video datasets: moving digits (motion only in time) and video files decoded with PyAV."""

from __future__ import annotations

import warnings
from pathlib import Path

import jepa
import numpy as np
import pytest
import torch
from jepa_core.errors import SpecError
from jepa_core.registry import get_registry
from jepa_plugins_vision.video import DIRECTIONS, carve_split

pytest.importorskip("sklearn")


def _dataset(name: str, **params):
    return get_registry().resolve("dataset", name).create(params)


# --- moving_digits -----------------------------------------------------------------------


def test_moving_digits_items_are_labelled_clips_in_the_vit_video_layout():
    data = _dataset("moving_digits", image_size=16, frames_per_clip=4, split="test")
    clip, label = data[0]
    assert clip.shape == (1, 4, 16, 16)  # (C, T, H, W): a batch is (B, C, T, H, W)
    assert data.classes == ["right", "down", "left", "up"] and 0 <= label < 4
    assert float(clip.min()) == -1.0 and float(clip.max()) <= 1.0  # normalised like digits
    again = _dataset("moving_digits", image_size=16, frames_per_clip=4, split="test")
    assert torch.equal(again[5][0], data[5][0]) and again[5][1] == data[5][1]
    other = _dataset("moving_digits", image_size=16, frames_per_clip=4, split="test", seed=1)
    assert not all(torch.equal(other[i][0], data[i][0]) for i in range(5))
    digits = _dataset("moving_digits", label="digit", directions=8, split="test")
    assert digits.classes == [str(d) for d in range(10)] and len(digits.classes) == 10
    assert set(digits.direction.tolist()) == set(range(8))


def test_moving_digits_splits_partition_the_source_digits():
    train, val, test = (carve_split(1797, s, 0.2, 0.2, 0) for s in ("train", "val", "test"))
    assert len(set(train.tolist()) & set(val.tolist())) == 0
    assert len(set(train.tolist()) & set(test.tolist())) == 0 and len(set(val.tolist()) & set(test.tolist())) == 0
    assert len(train) + len(val) + len(test) == 1797
    assert torch.equal(test, carve_split(1797, "test", 0.2, 0.1, 0))  # the test split ignores val_fraction


def test_direction_is_in_the_motion_not_in_any_single_frame():
    from sklearn.linear_model import LogisticRegression

    params = dict(image_size=16, frames_per_clip=4, speed=(1, 1), clips_per_digit=2)
    train = _dataset("moving_digits", split="train", **params)
    test = _dataset("moving_digits", split="test", **params)

    def frames(data, t):
        clips = torch.stack([data[i][0] for i in range(len(data))])
        return clips[:, 0, t].flatten(1).numpy(), data.labels.numpy()

    # a single frame: a digit at a uniform position on the torus whatever the direction -> chance
    for t in (0, 3):
        x, y = frames(train, t)
        probe = LogisticRegression(C=0.1, max_iter=1000).fit(x, y)
        xt, yt = frames(test, t)
        assert probe.score(xt, yt) < 0.35, f"frame {t} gives the direction away"
    # two frames: the shift that maps one onto the next is the direction, every time
    clips = torch.stack([test[i][0] for i in range(len(test))])[:, 0]
    errors = torch.stack(
        [(clips[:, 0].roll(step, dims=(1, 2)) - clips[:, 1]).abs().flatten(1).sum(1) for step in DIRECTIONS[:4]], 1
    )
    assert (errors.argmin(1) == test.labels).float().mean() == 1.0


def test_paired_moving_digits_continue_the_clip_with_the_action():
    data = _dataset("moving_digits", paired=True, frames_per_clip=4, speed=(2, 2), split="test")
    for index in range(20):
        clip_t, clip_t1, action = data[index]
        assert clip_t.shape == clip_t1.shape == (1, 4, 16, 16) and action.shape == (2,)
        step = tuple(int(v) for v in action)
        assert step in {(2 * dy, 2 * dx) for dy, dx in DIRECTIONS[:4]}
        # the next clip's first frame is the current clip's last frame moved by the action
        assert torch.equal(clip_t[:, -1].roll(step, dims=(1, 2)), clip_t1[:, 0])
        assert torch.equal(clip_t1[:, 0].roll(step, dims=(1, 2)), clip_t1[:, 1])
    actions = torch.stack([data[i][2] for i in range(len(data))])
    assert len(actions.unique(dim=0)) == 4


def test_moving_digits_reject_bad_settings():
    with pytest.raises(ValueError, match="digit_size"):
        _dataset("moving_digits", image_size=8, digit_size=12)
    with pytest.raises(ValueError, match="num_digits"):
        _dataset("moving_digits", label="digit", num_digits=2)
    for seed in (-1, 2**70):  # bounded as every dataset's seed (2**70 overflowed inside torch)
        with pytest.raises(SpecError, match=r"seed"):
            _dataset("moving_digits", seed=seed)
    two = _dataset("moving_digits", num_digits=2, split="test")
    assert (two.glyph_index[:, 0] != two.glyph_index[:, 1]).all()


# --- video_folder ------------------------------------------------------------------------

av = pytest.importorskip("av")


def _write_video(path: Path, frames: int, codec: str = "libx264", size: int = 16) -> None:
    """Frame i is a flat grey of level 20 * i, so a decoded clip says which frames it holds."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=10)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            image = np.full((size, size, 3), 20 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _levels(clip: torch.Tensor) -> list[int]:
    """The frame index each frame of an unnormalised clip shows."""
    return [round(float(clip[:, t].mean()) * 255 / 20) for t in range(clip.shape[1])]


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    _write_video(tmp_path / "a" / "one.mp4", 12)
    _write_video(tmp_path / "a" / "two.webm", 12, codec="libvpx")
    _write_video(tmp_path / "b" / "three.avi", 12, codec="mpeg4")
    return tmp_path


def test_video_folder_decodes_clips_with_frame_step_and_labels(videos: Path):
    data = _dataset(
        "video_folder",
        root=str(videos),
        image_size=8,
        channels=1,
        frames_per_clip=3,
        frame_step=2,
        normalize=False,
        seed=3,
    )
    assert len(data) == 3 and data.classes == ["a", "b"] and data.labels.tolist() == [0, 0, 1]
    for index in range(3):
        clip, label = data[index]
        assert clip.shape == (1, 3, 8, 8)
        levels = _levels(clip)
        assert levels[1] - levels[0] == levels[2] - levels[1] == 2, levels  # frame_step apart
        assert 0 <= levels[0] <= 12 - 5
        assert torch.equal(data[index][0], clip)  # same seed, epoch and index: same clip
    starts = set()
    for epoch in range(8):
        data.set_epoch(epoch)
        starts.add(_levels(data[0][0])[0])
    assert len(starts) > 1  # a fresh start each epoch
    uniform = _dataset(
        "video_folder",
        root=str(videos),
        image_size=16,
        channels=3,
        frames_per_clip=4,
        clip_start="uniform",
        normalize=False,
    )
    clip, _ = uniform[2]
    assert clip.shape == (3, 4, 16, 16) and _levels(clip) == [0, 4, 7, 11]


def test_video_folder_split_keeps_every_class_in_train(videos: Path):
    params = {"root": str(videos), "image_size": 8, "frames_per_clip": 2, "test_fraction": 0.5}
    train = _dataset("video_folder", split="train", **params)
    test = _dataset("video_folder", split="test", **params)
    assert test.labels.tolist() == [0] and sorted(train.labels.tolist()) == [0, 1]  # b's one video trains
    assert set(train.files).isdisjoint(test.files)


def test_video_folder_short_videos_repeat_their_last_frame(tmp_path: Path):
    _write_video(tmp_path / "short.mp4", 3)
    data = _dataset(
        "video_folder", root=str(tmp_path), image_size=16, channels=1, frames_per_clip=4, frame_step=2, normalize=False
    )
    clip = data[0]  # unlabelled: loose files
    assert isinstance(clip, torch.Tensor) and _levels(clip) == [0, 2, 2, 2]


def test_video_folder_names_an_unreadable_file_or_skips_it(videos: Path):
    whole = (videos / "a" / "one.mp4").read_bytes()
    (videos / "b" / "broken.mp4").write_bytes(whole[: len(whole) // 2])  # truncated: no index at the end
    data = _dataset("video_folder", root=str(videos), image_size=8, frames_per_clip=2)
    broken = [str(p) for p in data.files].index(str(videos / "b" / "broken.mp4"))
    with pytest.raises(ValueError, match=r"broken\.mp4.*skip_unreadable"):
        data[broken]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = _dataset("video_folder", root=str(videos), image_size=8, frames_per_clip=2, skip_unreadable=True)
    assert len(kept) == 3 and [p.name for p in kept.skipped] == ["broken.mp4"]
    skipped = [w for w in caught if "skipped 1 unreadable" in str(w.message)]
    assert skipped and skipped[0].filename == __file__  # at the line that asked for the dataset
    assert kept.labels.tolist() == [0, 0, 1]
    for index in range(len(kept)):
        assert kept[index][0].shape == (3, 2, 8, 8)


def test_video_folder_errors_name_the_problem(tmp_path: Path):
    with pytest.raises(SpecError, match="no folder"):
        _dataset("video_folder", root=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no videos"):
        _dataset("video_folder", root=str(tmp_path))


def test_video_folder_items_load_in_dataloader_workers(videos: Path):
    data = _dataset("video_folder", root=str(videos), image_size=8, frames_per_clip=2, normalize=False)
    loader = torch.utils.data.DataLoader(data, batch_size=3, num_workers=2)
    clips, labels = next(iter(loader))
    assert clips.shape == (3, 3, 2, 8, 8) and labels.tolist() == [0, 0, 1]
    assert torch.equal(clips[1], data[1][0])


# --- the `jepa init video` starter and the world-model example ----------------------------


def test_video_starter_trains_and_probes_motion_direction(tmp_path: Path):
    """`jepa init video` writes the V-JEPA recipe; a few steps here train and judge it
    end to end (the full runs in docs/guides/video.md are the proof)."""
    import json

    import yaml
    from jepa_core.runs import load_run_spec, train_run

    registry = get_registry()
    registry.ensure_loaded()
    config = yaml.safe_load(registry.templates["video"][1])
    assert config["model"]["encoder"]["params"]["num_frames"] == config["data"]["params"]["frames_per_clip"]
    assert config["eval"]["test"]["params"]["label"] == "direction"
    spec = load_run_spec(
        config,
        [
            "train.steps=2",
            "train.batch_size=8",
            "train.warmup_steps=1",
            "train.progress=false",
            "train.plot=false",
            "eval.attentive.steps=2",
            "data.params.clips_per_digit=1",
            "eval.train.params.clips_per_digit=1",
            "eval.frame_average.train.steps=2",
            "eval.frame_average.train.batch_size=16",
            "eval.frame_average.train.warmup_steps=1",
            "eval.frame_average.train.progress=false",
            "eval.frame_average.train.plot=false",
        ],
    )
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert set(results) >= {"jepa", "random_init", "raw", "frame_average"} and "errors" not in results
    assert set(results["jepa"]) >= {"attentive", "linear"}
    assert set(results["frame_average"]) >= {"attentive", "linear"}
    # the baseline's image model was trained on frames (C, H, W) and is kept with the run
    kept = json.loads((run_dir / "frame_average" / "run.json").read_text())
    assert kept["train"]["seed"] == spec.train.seed and kept["train"]["steps"] == 2
    assert kept["model"]["encoder"]["params"].get("num_frames") is None
    assert load_run_spec(json.loads((run_dir / "run.json").read_text())).eval == spec.eval  # run.json round trip


def test_clips_longer_than_the_encoders_num_frames_name_both_settings(tmp_path: Path):
    import yaml
    from jepa_core.runs import load_run_spec, train_run

    registry = get_registry()
    registry.ensure_loaded()
    config = yaml.safe_load(registry.templates["video"][1])
    spec = load_run_spec(config, ["data.params.frames_per_clip=16", "eval=null", "train.steps=1"])
    with pytest.raises(jepa.SpecError) as info:
        train_run(spec, run_dir=tmp_path / "run")
    assert info.value.path == "model.encoder.params.num_frames"
    assert str(info.value).endswith(
        "set model.encoder.params.num_frames to 16; or, if the encoder's num_frames is the one you want, "
        "set data.params.frames_per_clip (now 16) to 8"
    )


def test_frame_average_baseline_trains_under_torchrun(tmp_path: Path):
    """Two real torchrun processes: the frame_average baseline's image model trains with
    both (rank 0 alone would wait on the other forever), then rank 0 probes it."""
    import json
    import os
    import socket
    import subprocess
    import sys

    registry = get_registry()
    registry.ensure_loaded()
    config = tmp_path / "video.yaml"
    config.write_text(registry.templates["video"][1])
    small = {
        "train.steps": 2,
        "train.batch_size": 8,
        "train.warmup_steps": 1,
        "train.progress": "false",
        "train.plot": "false",
        "eval.attentive.steps": 2,
        "eval.seeds": "[0]",
        "eval.baselines": "[frame_average]",
        "data.params.clips_per_digit": 1,
        "eval.train.params.clips_per_digit": 1,
        "eval.frame_average.train.steps": 2,
        "eval.frame_average.train.batch_size": 16,
        "eval.frame_average.train.warmup_steps": 1,
        "eval.frame_average.train.progress": "false",
        "eval.frame_average.train.plot": "false",
    }
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={port}",
        "-m",
        "jepa",
        "train",
        str(config),
        "--run-dir",
        str(tmp_path / "run"),
        *[part for key, value in small.items() for part in ("--set", f"{key}={value}")],
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert "errors" not in results, results["errors"]
    assert set(results["frame_average"]) >= {"attentive", "linear"}
    assert done.stderr.count("training its image model") == 1, "one message, from rank 0"
    kept = json.loads((tmp_path / "run" / "frame_average" / "run.json").read_text())
    assert kept["train"]["steps"] == 2


def test_frame_average_baseline_is_reused_for_another_label(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """`jepa eval RUN --set eval...label=digit` probes the same encoders on the digit's
    identity; the frame_average baseline's image model is not trained again."""
    import yaml
    from jepa_core.runs import evaluate_path, format_results, load_run_spec, train_run

    registry = get_registry()
    registry.ensure_loaded()
    tiny = [
        "train.steps=1",
        "train.batch_size=8",
        "train.warmup_steps=0",
        "train.progress=false",
        "train.plot=false",
        "eval.probes=[linear]",
        "eval.baselines=[frame_average]",
        "data.params.clips_per_digit=1",
        "eval.train.params.clips_per_digit=1",
        "eval.frame_average.train.steps=1",
        "eval.frame_average.train.batch_size=16",
        "eval.frame_average.train.warmup_steps=0",
        "eval.frame_average.train.progress=false",
        "eval.frame_average.train.plot=false",
    ]
    spec = load_run_spec(yaml.safe_load(registry.templates["video"][1]), tiny)
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    assert "training its image model" in capsys.readouterr().err
    stamp = (run_dir / "frame_average" / "run.json").stat().st_mtime_ns
    digit = ["eval.train.params.label=digit", "eval.test.params.label=digit"]
    results = evaluate_path(run_dir, overrides=digit)
    assert "trained before" in capsys.readouterr().err
    assert (run_dir / "frame_average" / "run.json").stat().st_mtime_ns == stamp
    assert results["protocol"]["test"]["params"]["label"] == "digit"
    assert "frame_average" in format_results(results).splitlines()[2]
    # another image-model spec is trained afresh, in memory: the kept one stays as it was
    evaluate_path(run_dir, overrides=[*digit, "eval.frame_average.train.seed=5"])
    assert "training its image model" in capsys.readouterr().err
    assert (run_dir / "frame_average" / "run.json").stat().st_mtime_ns == stamp


def test_frame_average_encoder_averages_frames_in_any_order():
    from jepa_core.evaluation import ClipFrames, FrameAverage

    data = _dataset("moving_digits", split="test", clips_per_digit=1, frames_per_clip=4)
    frames = ClipFrames(data)
    assert len(frames) == 4 * len(data)
    image, label = frames[4 * 3 + 2]
    assert image.shape == (1, 16, 16) and torch.equal(image, data[3][0][:, 2]) and label == data[3][1]
    encoder = torch.nn.Sequential(torch.nn.Flatten(2), torch.nn.Linear(256, 5))  # (B, 1, 5): one token
    clips = torch.stack([data[i][0] for i in range(3)])
    averaged = FrameAverage(encoder, batch_size=5)(clips)
    expected = torch.stack([encoder(clip.transpose(0, 1)).mean(0) for clip in clips])
    assert averaged.shape == (3, 1, 5) and torch.allclose(averaged, expected, atol=1e-6)
    reversed_clips = clips.flip(2)  # the same frames backwards: the motion reversed, the average not
    assert torch.allclose(FrameAverage(encoder)(reversed_clips), averaged, atol=1e-6)
    with pytest.raises(SpecError, match="clips"):
        ClipFrames([torch.zeros(1, 8, 8)])


def test_frame_average_baseline_needs_its_image_model():
    import yaml
    from jepa_core.runs import load_run_spec

    registry = get_registry()
    registry.ensure_loaded()
    config = yaml.safe_load(registry.templates["video"][1])
    del config["eval"]["frame_average"]
    with pytest.raises(SpecError, match="eval.frame_average"):
        load_run_spec(config)
    config["eval"]["baselines"] = ["random_init", "raw"]
    assert load_run_spec(config).eval.frame_average is None


def test_frame_average_baseline_trains_with_the_runs_seed_and_records_it():
    import yaml
    from jepa_core.runs import load_run_spec

    registry = get_registry()
    registry.ensure_loaded()
    config = yaml.safe_load(registry.templates["video"][1])
    spec = load_run_spec(config, ["train.seed=3"])
    assert spec.eval.frame_average.train.seed == 3
    # run.json keeps it, so a re-evaluation of that run trains (or reuses) the same image model
    assert load_run_spec(spec.to_dict()).eval.frame_average.train.seed == 3
    assert load_run_spec(spec.to_dict(), ["train.seed=4"]).eval.frame_average.train.seed == 3
    own = load_run_spec(config, ["train.seed=3", "eval.frame_average.train.seed=7"])
    assert own.eval.frame_average.train.seed == 7


def test_world_model_example_runs_tiny(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    import sys

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "examples"))
    sys.modules.pop("video_world_model", None)
    import video_world_model

    results = video_world_model.main(["--pretrain-steps", "2", "--steps", "2", "--eval-clips", "32"])
    assert results["steps"] == 2
    assert {"retrieval", "retrieval_shuffled_actions", "retrieval_no_change", "planning"} <= set(results)
    # stage 2 trains the predictor only: the pretrained encoder (also the target) stays as it was
    data = video_world_model.pairs("test")
    encoder = video_world_model.pretrain_encoder(1)
    model = video_world_model.world_model(encoder)
    before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    predictor_before = [p.clone() for p in model.predictor.parameters()]
    from jepa_core.training import Trainer

    Trainer(model, data, {"steps": 2, "batch_size": 8, "warmup_steps": 1, "progress": False, "plot": False}).fit()
    assert all(torch.equal(before[k], v) for k, v in model.encoder.state_dict().items())
    assert any(not torch.equal(a, b) for a, b in zip(predictor_before, model.predictor.parameters(), strict=True))
    # the planner's 8 candidates (4 directions x speeds 1, 2) cover every action the data holds
    clip_t, clip_t1, action = video_world_model.stacked(data, 16)
    # retrieval ranks each prediction against its own batch's targets: predicting no change
    # finds every clip among copies of the batch, and the no-change floor ignores the actions
    retrieval = video_world_model.retrieval
    assert retrieval(model, clip_t, clip_t, action, batch=8, no_change=True) == 1.0
    floor = retrieval(model, clip_t, clip_t1, action, batch=8, no_change=True)
    assert retrieval(model, clip_t, clip_t1, action, batch=8, no_change=True, shuffle=True) == floor
    assert {tuple(a.tolist()) for a in action} <= {(dy * s, dx * s) for s in (1.0, 2.0) for dy, dx in DIRECTIONS[:4]}
    # --encoder takes a saved model whose encoder is not the starter's (here shallower and narrower)
    own = dict(video_world_model.starter_spec().model.encoder.params, depth=1, hidden_dim=32)
    jepa.build("vit", "attention", encoder=own, masker="tube").save_pretrained(tmp_path / "own")
    results = video_world_model.main(["--encoder", str(tmp_path / "own"), "--steps", "2", "--eval-clips", "32"])
    assert results["steps"] == 2 and 0.0 <= results["retrieval"] <= 1.0


def test_read_clip_stops_early_only_where_the_container_states_its_length(videos: Path):
    from jepa_plugins_vision.video import read_clip, read_frames

    for path in (videos / "a" / "one.mp4", videos / "a" / "two.webm", videos / "b" / "three.avi"):
        counts: list[int] = []

        def choose(count: int, counts: list[int] = counts) -> list[int]:
            counts.append(count)
            return [1, 5, 5]

        clip = read_clip(path, "gray", choose)
        everything = read_frames(path, "gray")
        assert counts == [12] and len(everything) == 12
        assert all(np.array_equal(a, everything[i]) for a, i in zip(clip, [1, 5, 5], strict=True))
