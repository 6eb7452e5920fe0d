"""The default time-series recipe: random crops, the starter, and the UCR runner built on it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from jepa_core.errors import SpecError
from jepa_core.registry import get_registry
from jepa_core.runs import load_run_spec
from jepa_plugins_timeseries.datasets import SeriesDataset, ucr

ROOT = Path(__file__).resolve().parents[2]
FAST = ["train.steps=2", "train.batch_size=8", "train.progress=false", "train.plot=false"]


def ramp(length: int, channels: int = 1) -> np.ndarray:
    return np.arange(length * channels, dtype=np.float64).reshape(length, channels)


def starter_text() -> str:
    registry = get_registry()
    registry.ensure_loaded()
    return registry.templates["timeseries"][1]


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    sys.modules.pop("timeseries_ucr", None)
    import timeseries_ucr

    return timeseries_ucr


def write_ts(directory: Path, name: str, split: str, cases: list[tuple[list[list[float]], str]]) -> None:
    """A multivariate ``.ts`` file whose cases differ in length."""
    lines = [
        f"@problemName {name}",
        "@timeStamps false",
        "@univariate false",
        "@dimensions 2",
        "@equalLength false",
        "@classLabel true a b",
        "@data",
    ]
    lines += [":".join(",".join(f"{v:.4f}" for v in dim) for dim in dims) + f":{label}" for dims, label in cases]
    (directory / f"{name}_{split.upper()}.ts").write_text("\n".join(lines) + "\n")


@pytest.fixture
def tiny_problem(tmp_path: Path) -> Path:
    """Two classes (a slow and a fast wave), two channels, 9 to 20 steps per case."""
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        cases = []
        for i in range(12):
            label = "ab"[i % 2]
            t = np.arange(9 + i % 12)
            wave = np.sin(t * (0.3 if label == "a" else 1.3)) + 0.1 * rng.standard_normal(len(t))
            cases.append(([wave.tolist(), (-wave).tolist()], label))
        write_ts(tmp_path, "Tiny", split, cases)
    return tmp_path


# -- random crops ---------------------------------------------------------------------------------


def test_crop_serves_a_fresh_window_of_each_series_within_its_length():
    data = SeriesDataset([ramp(10), ramp(3)], normalize="none", crop=4)
    assert len(data) == 2 and data.length == 4
    torch.manual_seed(0)
    starts = set()
    for _ in range(40):
        window = data[0][:, 0]
        start = int(window[0])
        assert window.tolist() == list(range(start, start + 4))  # contiguous, inside the series
        starts.add(start)
    assert starts == set(range(7))  # every position is drawn
    short = data[1][:, 0]  # shorter than the crop: whole, NaN-padded
    assert short[:3].tolist() == [0, 1, 2] and torch.isnan(short[3:]).all()


def test_crop_windows_follow_the_torch_seed():
    data = SeriesDataset([ramp(50)], normalize="none", crop=5)
    torch.manual_seed(3)
    first = [data[0][0, 0].item() for _ in range(5)]
    torch.manual_seed(3)
    assert [data[0][0, 0].item() for _ in range(5)] == first


def test_crop_longer_than_every_series_serves_whole_series_and_rejects_windows():
    data = SeriesDataset([ramp(6), ramp(4)], normalize="none", crop=100)
    assert data.length == 6 and data[0][:, 0].tolist() == list(range(6))
    with pytest.raises(ValueError, match="crop"):
        SeriesDataset([ramp(6)], window=3, crop=4)
    with pytest.raises(ValueError, match="crop must be positive"):
        SeriesDataset([ramp(6)], crop=0)


def test_ucr_crop_of_an_unequal_length_problem(tiny_problem: Path):
    data = ucr("Tiny", path=str(tiny_problem), crop=12)
    x, _ = data[len(data) - 1]  # a 20-step case: a window of it, all observed
    assert x.shape == (12, 2) and torch.isfinite(x).all()
    x, _ = data[0]  # a 9-step case: whole, padded
    assert torch.isfinite(x[:9]).all() and torch.isnan(x[9:]).all()


# -- the starter is the recipe ---------------------------------------------------------------------


def test_starter_is_the_ts2vec_recipe_and_its_num_tokens_match_its_data():
    data = yaml.safe_load(starter_text())
    spec = load_run_spec(data)
    assert spec.eval is not None and spec.eval.probes == ["svm"] and spec.eval.features == "max"
    assert set(spec.eval.baselines) == {"random_init", "raw"}
    crop = spec.data.params["crop"]
    train = ucr(spec.data.params["name"], split="train", crop=crop)
    assert spec.model.encoder.params["num_tokens"] == train.length == min(crop, 24)
    assert spec.model.encoder.params["input_dim"] == train.num_channels


def test_example_changes_only_what_the_data_dictates(example):
    base = load_run_spec(yaml.safe_load(starter_text())).to_dict()
    spec = example.problem_spec("JapaneseVowels", seed=2).to_dict()  # 12 channels, 7 to 26 steps

    def flat(value, prefix=""):
        if isinstance(value, dict):
            return {k: v for key, item in value.items() for k, v in flat(item, f"{prefix}{key}.").items()}
        return {prefix.rstrip("."): value}

    before, after = flat(base), flat(spec)
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    assert changed <= {
        "data.params.name",
        "eval.train.params.name",
        "eval.test.params.name",
        "train.seed",
        "model.encoder.params.input_dim",
        "model.encoder.params.num_tokens",
    }
    assert after["model.encoder.params.input_dim"] == 12
    assert after["model.encoder.params.num_tokens"] == 26 and after["train.seed"] == 2


def test_a_train_split_smaller_than_a_batch_trains_on_all_of_it(example, tiny_problem):
    spec = example.problem_spec("Tiny", path=str(tiny_problem))  # 12 series; the starter's batch is 32
    assert spec.train.batch_size == 12
    assert example.problem_spec("JapaneseVowels").train.batch_size == 32


# -- end to end --------------------------------------------------------------------------------------


def test_unequal_length_multivariate_problem_trains_and_every_baseline_scores(example, tiny_problem, tmp_path):
    from jepa_core.runs import train_run

    pytest.importorskip("sklearn")
    spec = example.problem_spec("Tiny", overrides=FAST, path=str(tiny_problem))
    assert spec.model.encoder.params["input_dim"] == 2 and spec.model.encoder.params["num_tokens"] == 20
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert "errors" not in results
    for name in ("jepa", "random_init", "raw"):  # the raw SVM reads the NaN padding as zeros
        assert 0.0 <= results[name]["svm"] <= 1.0


def test_a_regression_problem_is_refused_before_training_naming_its_labels(example, tmp_path):
    from jepa_core.runs import train_run

    spec = example.problem_spec("CardanoSentiment", overrides=FAST)  # aeon ships it: @targetLabel true
    with pytest.raises(SpecError, match=r"its labels are real numbers \(.*\), a regression target") as refused:
        train_run(spec, run_dir=tmp_path / "run")
    assert refused.value.path == "eval.train"
    assert not (tmp_path / "run").exists(), "refused before training: nothing to clean up"


def test_a_regression_problem_is_probed_by_ridge_regression(example, tmp_path):
    from jepa.evaluation import RIDGE_ALPHAS
    from jepa_core.runs import train_run

    pytest.importorskip("sklearn")
    # Covid3Month (aeon ships it): 140 / 61 series of 84 daily counts, the target a real-valued rate
    spec = example.problem_spec("Covid3Month", overrides=[*FAST, "eval.probes=[ridge]"])
    train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert "errors" not in results
    for name in ("jepa", "random_init", "raw"):
        assert results[name]["ridge"] <= 1.0, name  # R²: 1 at best, 0 for the test mean, below for worse
        assert results[name]["ridge_alpha"][0] in RIDGE_ALPHAS


def test_the_example_validates_and_tests_a_regression_problem_with_ridge(example, tmp_path, capsys):
    pytest.importorskip("sklearn")
    argv = ["--problems", "Covid3Month"]
    for assignment in [*FAST, "eval.probes=[ridge]"]:
        argv += ["--set", assignment]
    (validated,) = example.main([*argv, "--validate", "--run-root", str(tmp_path / "validated")])
    assert set(validated["validation"]) == {"jepa", "random_init", "raw"}, validated
    # the median: a few halves with held-out series far outside the fitted half's range scored
    # R² near -5000 and swamped a mean (a trial's raw baseline read -866)
    assert "ridge fitted on one half, scored on the other (median of 20 halves)" in capsys.readouterr().out
    (tested,) = example.main([*argv, "--run-root", str(tmp_path / "tested")])
    assert tested["probe"] == "ridge" and set(tested["test"]) == {"jepa", "random_init", "raw"}
    assert "test R²" in capsys.readouterr().out


def write_labelled_csv(path: Path, labels: list[str]) -> str:
    """One 12-step series per label: 'up' series are +1 everywhere, the others -1."""
    rows = ["id,v,label"]
    for index, label in enumerate(labels):
        rows += [f"s{index},{1 if label == 'up' else -1},{label}"] * 12
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def test_test_classes_are_matched_to_train_classes_by_name_not_by_number(tmp_path):
    from jepa_core.runs import train_run

    train = write_labelled_csv(tmp_path / "train.csv", ["down", "up"] * 6)
    test = write_labelled_csv(tmp_path / "test.csv", ["up"] * 6)  # 'up' is class 1 in train, 0 alone here
    config = yaml.safe_load(starter_text())
    config["model"]["encoder"]["params"].update(num_tokens=12)
    csv = {"series_column": "id", "label_column": "label", "normalize": "none"}
    config["data"] = {"name": "series_csv", "params": {"path": train, **csv}}
    config["eval"].update(
        train={"name": "series_csv", "params": {"path": train, **csv}},
        test={"name": "series_csv", "params": {"path": test, **csv}},
        probes=["linear"],
        baselines=["raw"],
    )
    train_run(load_run_spec(config, FAST), run_dir=tmp_path / "run")
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert results["raw"]["linear"] == 1.0, "every 'up' series scored as 'up'"
    other = write_labelled_csv(tmp_path / "other.csv", ["up", "sideways"])
    config["eval"]["test"]["params"]["path"] = other
    with pytest.raises(SpecError, match=r"its classes 'sideways' are not among eval.train's \('down', 'up'\)"):
        train_run(load_run_spec(config, FAST), run_dir=tmp_path / "refused")


def test_a_failing_problem_does_not_lose_the_others(example, tiny_problem, tmp_path, capsys):
    pytest.importorskip("sklearn")
    results = tmp_path / "results.json"
    for split in ("TRAIN", "TEST"):  # a problem whose files cannot be read: it fails once it is reached
        (tiny_problem / f"Broken_{split}.ts").write_text("@classLabel true a b\n@data\n1,2,x:a\n")
    argv = [
        "--problems",
        "Broken",
        "Tiny",
        "--path",
        str(tiny_problem),
        "--run-root",
        str(tmp_path / "runs"),
        "--results",
        str(results),
    ]
    for assignment in FAST:
        argv += ["--set", assignment]
    records = example.main(argv)
    assert [r["problem"] for r in records] == ["Broken", "Tiny"]
    assert "TSFormatError" in records[0]["error"]
    assert set(records[1]["test"]) == {"jepa", "random_init", "raw"}
    assert json.loads(results.read_text())["records"] == records
    printed = capsys.readouterr().out
    assert (
        "TS2Vec protocol: max-pooled frozen tokens (a longer series in stretches of at most 96 steps, averaged), "
        "RBF SVM, C by 5-fold CV on train; test accuracy"
    ) in printed
    assert f"recipe: the timeseries starter with --set {' '.join(FAST)} (2 steps of 8" in printed


def test_the_example_runs_a_problem_of_the_ucr_archive_2018_as_it_unpacks(example, tmp_path):
    """UCRArchive_2018/NAME/NAME_TRAIN.tsv: label first, tab-separated, NaN padding at the end."""
    pytest.importorskip("sklearn")
    problem = tmp_path / "UCRArchive_2018" / "Waves"
    problem.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split in ("TRAIN", "TEST"):
        rows = []
        for i in range(12):
            label = (-1, 1)[i % 2]
            wave = np.sin(np.arange(9 + i) * (0.3 if label < 0 else 1.3)) + 0.1 * rng.standard_normal(9 + i)
            rows.append("\t".join([str(label), *map(str, wave), *["NaN"] * (11 - i)]))
        (problem / f"Waves_{split}.tsv").write_text("\n".join(rows) + "\n")
    argv = ["--problems", "Waves", "--path", str(tmp_path / "UCRArchive_2018"), "--run-root", str(tmp_path / "runs")]
    for assignment in FAST:
        argv += ["--set", assignment]
    (record,) = example.main(argv)
    assert "error" not in record and set(record["test"]) == {"jepa", "random_init", "raw"}
    spec = load_run_spec(tmp_path / "runs" / "Waves" / "seed0" / "run.json")
    assert spec.model.encoder.params["input_dim"] == 1 and spec.model.encoder.params["num_tokens"] == 20


def test_the_example_exits_nonzero_when_a_run_failed_or_an_override_is_wrong(tiny_problem, tmp_path):
    """A script (or CI) must see failure: every run failing used to exit 0."""
    script = [sys.executable, str(ROOT / "examples" / "timeseries_ucr.py"), "--path", str(tiny_problem)]
    for split in ("TRAIN", "TEST"):
        (tiny_problem / f"Broken_{split}.ts").write_text("@classLabel true a b\n@data\n1,2,x:a\n")
    broken = subprocess.run(
        [*script, "--problems", "Broken", "--run-root", str(tmp_path)], capture_output=True, text=True, timeout=300
    )
    assert broken.returncode == 1 and "FAILED: TSFormatError" in broken.stdout
    # a misspelt problem of the --path directory stops it before any run, naming the one meant
    misspelt = subprocess.run([*script, "--problems", "Tiny", "Tiyn"], capture_output=True, text=True, timeout=300)
    assert misspelt.returncode == 2 and "'Tiyn': no Tiyn_TRAIN.ts or .tsv in" in misspelt.stderr
    assert "did you mean 'Tiny'?" in misspelt.stderr and "Traceback" not in misspelt.stderr
    wrong = subprocess.run([*script, "--set", "train.stepz=3"], capture_output=True, text=True, timeout=300)
    assert wrong.returncode == 2 and "error: train.stepz: unknown field; did you mean 'steps'?" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_the_summary_reports_the_settings_the_overrides_chose(example, tiny_problem, tmp_path, capsys):
    argv = ["--problems", "Tiny", "--path", str(tiny_problem), "--run-root", str(tmp_path / "runs")]
    overrides = [*FAST, "eval.probes=[linear]", "eval.features=mean", "eval.pool_window=null"]
    for assignment in overrides:
        argv += ["--set", assignment]
    (record,) = example.main(argv)
    assert record["probe"] == "linear" and set(record["test"]) == {"jepa", "random_init", "raw"}
    assert all(0.0 <= value <= 1.0 for value in record["test"].values())
    printed = capsys.readouterr().out
    assert "mean-pooled frozen tokens, linear probe; test accuracy" in printed  # no stretches: the whole series
    assert "TS2Vec" not in printed and "SVM" not in printed
    assert f"recipe: the timeseries starter with --set {' '.join(overrides)} (2 steps of 8, lr 0.001" in printed
    with pytest.raises(SystemExit) as refused:  # refused before any run, as a usage error
        example.main([*argv, "--set", "train.stpes=3"])
    assert refused.value.code == 2 and "train.stpes: unknown field; did you mean 'steps'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as unknown:  # a misspelt bundled problem: before any run, naming the flag
        example.main(["--problems", "GunPoint", "GunPont", "--run-root", str(tmp_path / "none")])
    said = capsys.readouterr().err
    assert unknown.value.code == 2 and "'GunPont': not among the problems aeon ships (ACSF1, " in said
    assert "; did you mean 'GunPoint'? --path DIR reads a directory of .ts or .tsv files" in said.replace("\n", " ")
    assert not (tmp_path / "none").exists()


def test_validate_mode_scores_on_the_train_split_without_reading_the_test_split(example, tiny_problem, tmp_path):
    pytest.importorskip("sklearn")
    (tiny_problem / "Tiny_TEST.ts").unlink()  # validation must not need it
    argv = ["--problems", "Tiny", "--path", str(tiny_problem), "--run-root", str(tmp_path / "runs"), "--validate"]
    for assignment in FAST:
        argv += ["--set", assignment]
    (record,) = example.main(argv)
    assert "error" not in record and "test" not in record
    for name in ("jepa", "random_init", "raw"):
        assert set(record["validation"][name]) == {"cv", "half"}
        assert all(0.0 <= value <= 1.0 for value in record["validation"][name].values())
