"""Datasets: windowing edge cases, normalisation, NaN, CSV/NumPy/UCR sources, the registry."""

from __future__ import annotations

import math

import jepa
import numpy as np
import pytest
import torch
from jepa_plugins_timeseries.datasets import SeriesDataset, series_csv, series_numpy, ucr
from torch.utils.data import DataLoader


def ramp(length: int, channels: int = 1) -> np.ndarray:
    return np.arange(length * channels, dtype=np.float64).reshape(length, channels)


def test_whole_series_are_padded_to_the_longest_with_nan():
    data = SeriesDataset([ramp(5), ramp(3)], normalize="none")
    assert len(data) == 2 and data.length == 5
    assert data[0].shape == (5, 1) and data[0].dtype == torch.float32
    short = data[1][:, 0]
    assert short[:3].tolist() == [0, 1, 2] and torch.isnan(short[3:]).all()
    assert next(iter(DataLoader(data, batch_size=2))).shape == (2, 5, 1)


def test_sliding_windows_and_stride():
    data = SeriesDataset([ramp(10)], window=4, stride=3, normalize="none")
    assert [data[i][:, 0].tolist() for i in range(len(data))] == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]


def test_a_series_exactly_one_window_long_gives_one_window():
    assert len(SeriesDataset([ramp(4)], window=4, normalize="none")) == 1


def test_series_shorter_than_the_window_are_padded_or_dropped():
    padded = SeriesDataset([ramp(3), ramp(6)], window=5, normalize="none")
    assert len(padded) == 1 + 2
    first = padded[0][:, 0]
    assert first[:3].tolist() == [0, 1, 2] and torch.isnan(first[3:]).all()
    dropped = SeriesDataset([ramp(3), ramp(6)], window=5, short="drop", normalize="none")
    assert len(dropped) == 2
    with pytest.raises(ValueError, match="no item left"):
        SeriesDataset([ramp(3)], window=5, short="drop")


def test_forecast_pairs_are_the_window_and_the_horizon_after_it():
    data = SeriesDataset([ramp(8)], window=3, horizon=2, stride=2, normalize="none")
    pairs = [(past[:, 0].tolist(), future[:, 0].tolist()) for past, future in (data[i] for i in range(len(data)))]
    # a window needs its whole horizon: the pair starting at 4 would end past the series
    assert pairs == [([0, 1, 2], [3, 4]), ([2, 3, 4], [5, 6])]
    with pytest.raises(ValueError, match="horizon needs window"):
        SeriesDataset([ramp(8)], horizon=2)


def test_short_series_in_a_forecast_pair_pads_the_future():
    past, future = SeriesDataset([ramp(4)], window=3, horizon=3, normalize="none")[0]
    assert past[:, 0].tolist() == [0, 1, 2]
    assert future[0, 0] == 3 and torch.isnan(future[1:]).all()


def test_series_normalisation_ignores_missing_values():
    values = np.array([[1.0, 5.0], [np.nan, 5.0], [3.0, 5.0]])
    x = SeriesDataset([values])[0]
    assert x[0, 0] == pytest.approx(-1.0) and x[2, 0] == pytest.approx(1.0)
    assert torch.isnan(x[1, 0])  # stays missing, is not imputed
    assert x[:, 1].tolist() == [0.0, 0.0, 0.0]  # a constant channel is only centred


def test_window_normalisation_uses_the_past_only():
    past, future = SeriesDataset([ramp(6)], window=3, horizon=3, normalize="window")[0]
    assert past[:, 0].tolist() == pytest.approx([-math.sqrt(1.5), 0.0, math.sqrt(1.5)])
    # the future is scaled by the past's statistics: mean 1, std sqrt(2/3)
    assert future[0, 0].item() == pytest.approx(2 / math.sqrt(2 / 3))


def test_windows_with_too_many_missing_values_are_dropped():
    values = ramp(8)
    values[4:8] = np.nan
    assert len(SeriesDataset([values], window=4, stride=4)) == 1  # all-missing windows never count
    assert len(SeriesDataset([values], window=4, stride=2, max_missing=0.5)) == 2
    assert len(SeriesDataset([values], window=4, stride=2, max_missing=0.0)) == 1


def test_a_series_with_no_observed_value_is_left_out_with_a_warning_that_counts_them():
    blank = np.full((8, 1), np.nan)
    with pytest.warns(UserWarning, match=r"2 of 3 series hold no observed value .* \(series 0, 2\)"):
        data = SeriesDataset([blank, ramp(8), blank], labels=[0, 1, 0])
    assert len(data) == 1 and int(data[0][1]) == 1
    with pytest.raises(ValueError, match=r"no item left: every series holds no observed value \(all NaN or inf\)$"):
        SeriesDataset([blank, blank])
    with pytest.raises(ValueError, match=r"shorter than 16 steps \(short='drop'\) or holds no observed value"):
        SeriesDataset([blank, ramp(8)], window=16, short="drop")
    with pytest.raises(ValueError, match=r"every series is shorter than 16 steps \(short='drop'\)$"):
        SeriesDataset([ramp(8)], window=16, short="drop")


def test_labels_names_indices_and_regression():
    names = SeriesDataset([ramp(3)] * 3, ["b", "a", "b"])
    assert names.classes == ("a", "b") and names.num_classes == 2
    assert [names[i][1].item() for i in range(3)] == [1, 0, 1]
    indices = SeriesDataset([ramp(3)] * 2, np.array([0, 4]))
    assert indices.num_classes == 5 and indices[1][1].dtype == torch.long
    regression = SeriesDataset([ramp(3)] * 2, np.array([0.5, 1.5]))
    assert regression.num_classes is None and regression[1][1].item() == 1.5
    windows = SeriesDataset([ramp(6), ramp(6)], ["x", "y"], window=3, stride=3)
    assert [windows[i][1].item() for i in range(4)] == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="got 1 labels for 2 series"):
        SeriesDataset([ramp(3)] * 2, [1])
    with pytest.raises(ValueError, match="finite"):
        SeriesDataset([ramp(3)] * 2, np.array([0.5, np.nan]))


def test_inconsistent_channels_and_empty_series_are_refused():
    with pytest.raises(ValueError, match="same number of channels"):
        SeriesDataset([ramp(3, 1), ramp(3, 2)])
    with pytest.raises(ValueError, match="empty"):
        SeriesDataset([np.zeros((0, 1))])


def test_numpy_layouts(tmp_path):
    np.save(tmp_path / "one.npy", np.arange(10.0))
    assert series_numpy(str(tmp_path / "one.npy"), window=5, stride=5, normalize="none")[1][:, 0].tolist() == [
        5,
        6,
        7,
        8,
        9,
    ]
    np.save(tmp_path / "nct.npy", np.zeros((4, 3, 7)))
    data = series_numpy(str(tmp_path / "nct.npy"), layout="NCT")
    assert len(data) == 4 and data[0].shape == (7, 3)
    with pytest.raises(ValueError, match="layout"):
        series_numpy(str(tmp_path / "nct.npy"), layout="NT")


def test_npz_with_labels_and_nan(tmp_path):
    x = np.random.default_rng(0).normal(size=(6, 12, 2))
    x[0, 3, 1] = np.nan
    np.savez(tmp_path / "set.npz", x=x, y=np.array([0, 1, 2, 0, 1, 2]))
    data = series_numpy(str(tmp_path / "set.npz"))
    assert data.num_classes == 3 and data.num_channels == 2
    item, label = data[0]
    assert torch.isnan(item[3, 1]) and label.item() == 0
    with pytest.raises(ValueError, match="no array 'labels'"):
        series_numpy(str(tmp_path / "set.npz"), label_key="labels")


def test_numpy_never_unpickles(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="without pickled objects"):
        series_numpy(str(tmp_path / "objects.npy"))


def test_csv_series_columns_labels_and_missing_cells(tmp_path):
    path = tmp_path / "sensors.csv"
    path.write_text(
        "id,time,a,b,label\ns1,0,1.0,10,up\ns1,1,,11,up\ns1,2,3.0,NA,up\ns2,0,4.0,13,down\ns2,1,5.0,14,down\n"
    )
    data = series_csv(str(path), columns=["a", "b"], series_column="id", label_column="label", normalize="none")
    assert len(data) == 2 and data.classes == ("down", "up")
    x, label = data[0]
    assert label.item() == 1
    assert x[:, 0].tolist()[0] == 1.0 and torch.isnan(x[1, 0]) and torch.isnan(x[2, 1])
    x, _ = data[1]
    assert x[:2, 0].tolist() == [4.0, 5.0] and torch.isnan(x[2]).all()  # padded to the longest
    path.write_text(path.read_text(), encoding="utf-8-sig")  # saved by Excel: a byte-order mark first
    assert len(series_csv(str(path), columns=["a", "b"], series_column="id")) == 2  # the header's 'id', not '\ufeffid'


def test_a_csv_label_column_of_numbers_with_fractions_is_a_real_valued_target(tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("id,v,target\ns1,1,0.25\ns1,2,0.25\ns2,3,2\ns3,4,-1.5\n")
    data = series_csv(str(path), series_column="id", label_column="target")
    assert data.classes is None and data.num_classes is None
    assert [data[i][1].item() for i in range(3)] == [0.25, 2.0, -1.5]
    path.write_text("id,v,label\ns1,1,2\ns2,3,0\n")  # whole numbers stay class indices
    assert series_csv(str(path), series_column="id", label_column="label")[0][1].dtype == torch.long


def test_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3,oops\n")
    with pytest.raises(ValueError, match=r"bad.csv:3: column 'b' holds 'oops'"):
        series_csv(str(path))
    # a column of words left among the values is likely a recording id or a label: name both settings
    path.write_text("rec,x,activity\nr0,1,walk\nr0,2,walk\n")
    with pytest.raises(ValueError, match=r"if it names the series each row belongs to, set series_column: rec\)"):
        series_csv(str(path), label_column="activity")
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ValueError, match=r":3: 1 cells"):
        series_csv(str(path))
    path.write_text("id,a,label\nx,1,p\nx,2,q\n")
    with pytest.raises(ValueError, match=r":3: label 'q' differs"):
        series_csv(str(path), series_column="id", label_column="label")
    with pytest.raises(ValueError, match="no column 'c'") as info:
        series_csv(str(path), columns=["c"])
    assert "delimiter" not in str(info.value), "a comma-separated header needs no hint"
    path.write_text("id;a;label\nx;1;p\n")
    with pytest.raises(ValueError, match=r"it looks separated by ';': set delimiter: ';'"):
        series_csv(str(path), series_column="id", label_column="label")
    assert len(series_csv(str(path), series_column="id", label_column="label", delimiter=";")) == 1


def test_a_csv_quote_that_never_closes_names_the_line_it_opens_on(tmp_path):
    path = tmp_path / "quoted.csv"
    rows = ["id,label,v", *(f"s{i // 10},a,{i}" for i in range(30000))]
    rows[4] = 's0,"a,3'  # the quote swallows every line after it
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"quoted.csv:5: .*a quote that opens a cell must close it"):
        series_csv(str(path), series_column="id", label_column="label")


def test_a_window_longer_than_every_series_warns_it_is_mostly_padding():
    with pytest.warns(UserWarning, match=r"window is 12 steps, longer than every series \(the longest has 5\): each "):
        SeriesDataset([ramp(5), ramp(3)], window=12, normalize="none")


def test_csv_long_recording_as_forecast_windows(tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("load\n" + "\n".join(str(v) for v in range(20)) + "\n")
    data = series_csv(str(path), window=8, horizon=4, stride=4, normalize="window")
    batch = next(iter(DataLoader(data, batch_size=8)))
    assert [t.shape for t in batch] == [(3, 8, 1), (3, 4, 1)]


def test_bundled_ucr_problems():
    train, test = ucr("GunPoint"), ucr("GunPoint", split="test")
    assert (len(train), len(test)) == (50, 150)
    assert train.num_classes == 2 and train.classes == ("1", "2")
    x, y = train[0]
    assert x.shape == (150, 1) and y.item() in (0, 1)
    vowels = ucr("JapaneseVowels")  # 12 channels, lengths 7..26: NaN-padded
    assert vowels.num_channels == 12 and vowels.num_classes == 9
    lengths = [int(torch.isfinite(vowels[i][0][:, 0]).sum()) for i in range(len(vowels))]
    assert min(lengths) == 7 and max(lengths) == vowels.length == 26
    with pytest.raises(FileNotFoundError, match="GunPoint"):
        ucr("NoSuchProblem")


def test_ucr_from_a_directory(tmp_path):
    (tmp_path / "Toy").mkdir()
    (tmp_path / "Toy" / "Toy_TEST.ts").write_text("@classLabel true a b\n@data\n1,2,3:a\n4,5:b\n")
    data = ucr("Toy", split="test", path=str(tmp_path))
    assert data.classes == ("a", "b") and data.length == 3
    with pytest.raises(
        FileNotFoundError, match=r"'Toy' has its TEST file there .* but no Toy_TRAIN.ts nor Toy_TRAIN.tsv"
    ):
        ucr("Toy", path=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"add the train file beside it, which normalize: train reads$"):
        ucr("Toy", split="test", path=str(tmp_path), normalize="train")


def test_a_ts_file_given_as_path_must_be_the_split_asked_for(tmp_path, monkeypatch):
    (tmp_path / "Toy_TRAIN.ts").write_text("@classLabel true a b\n@data\n1,2,3:a\n4,5:b\n")
    (tmp_path / "Toy_TEST.ts").write_text("@classLabel true a b\n@data\n6,7,8:b\n")
    train_file, test_file = str(tmp_path / "Toy_TRAIN.ts"), str(tmp_path / "Toy_TEST.ts")
    # an eval.test copied from data would score on the train series
    with pytest.raises(ValueError, match=r"is a train file, but split is 'test'; give path the directory"):
        ucr("Toy", split="test", path=train_file)
    assert len(ucr("Toy", split="test", path=test_file)) == 1
    # the test file standardised by the train file beside it
    assert ucr("Toy", split="test", path=test_file, normalize="train")[0][0][0, 0].item() == pytest.approx(
        (6 - 3) / np.std([1.0, 2, 3, 4, 5])
    )
    (tmp_path / "copy.ts").write_bytes((tmp_path / "Toy_TEST.ts").read_bytes())  # which train split? none known
    with pytest.raises(ValueError, match=r"is a single file not named like a test split"):
        ucr("Toy", split="test", path=str(tmp_path / "copy.ts"), normalize="train")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no file or directory 'Toy_TRAN.ts' \(relative to the current dir"):
        ucr("Toy", path="Toy_TRAN.ts")


def test_ucr_reads_the_ucr_archive_2018_tsv_layout(tmp_path):
    problem = tmp_path / "UCRArchive_2018" / "Toy"
    problem.mkdir(parents=True)
    (problem / "Toy_TRAIN.tsv").write_text("1\t100\t200\tNaN\n2\t300\t400\t500\n")
    (problem / "Toy_TEST.tsv").write_text("3\t600\t700\t800\n1\t900\tNaN\tNaN\n")  # class 3: test only
    archive = str(tmp_path / "UCRArchive_2018")
    train = ucr("Toy", path=archive)
    test = ucr("Toy", split="test", path=archive)
    assert train.classes == test.classes == ("1", "2", "3")  # one numbering for both splits
    assert [int(train[i][1]) for i in range(2)] == [0, 1] and [int(test[i][1]) for i in range(2)] == [2, 0]
    assert train.length == 3 and torch.isnan(train[0][0][2, 0])  # NaN padding read as padding
    by_file = ucr("Toy", split="test", path=str(problem / "Toy_TEST.tsv"), normalize="train")
    observed = [100.0, 200, 300, 400, 500]  # the train file's values, beside the test file
    assert by_file[0][0][0, 0].item() == pytest.approx((600 - np.mean(observed)) / np.std(observed))
    with pytest.raises(ValueError, match="is a train file, but split is 'test'"):
        ucr("Toy", split="test", path=str(problem / "Toy_TRAIN.tsv"))
    with pytest.raises(FileNotFoundError, match=r"no Other_TRAIN.ts nor Other_TRAIN.tsv in .*the problems there: Toy$"):
        ucr("Other", path=archive)
    with pytest.raises(FileNotFoundError, match=r"did you mean 'Toy'\?"):
        ucr("Tyo", path=archive)


def test_a_tsv_copy_of_a_ts_problem_reads_the_same(tmp_path):
    from jepa_plugins_timeseries.datasets import bundled_ucr_directory
    from jepa_plugins_timeseries.ts_format import read_ts

    for split in ("TRAIN", "TEST"):  # unequal lengths (29 to 361 steps), NaN-padded in the .tsv
        source = read_ts(bundled_ucr_directory() / "PickupGestureWiimoteZ" / f"PickupGestureWiimoteZ_{split}.ts")
        cases = zip(source.labels, source.to_array(), strict=True)
        rows = ["\t".join([label, *map(str, values[:, 0])]) for label, values in cases]
        (tmp_path / f"PickupGestureWiimoteZ_{split}.tsv").write_text("\n".join(rows) + "\n")
    for split in ("train", "test"):
        ts = ucr("PickupGestureWiimoteZ", split=split, normalize="train")
        tsv = ucr("PickupGestureWiimoteZ", split=split, normalize="train", path=str(tmp_path))
        assert ts.classes == tsv.classes and len(ts) == len(tsv) == 50
        for i in range(len(ts)):
            torch.testing.assert_close(ts[i][0], tsv[i][0], equal_nan=True)
            assert int(ts[i][1]) == int(tsv[i][1])


def test_train_normalisation_uses_the_train_splits_statistics_for_both_splits(tmp_path):
    (tmp_path / "Counts_TRAIN.ts").write_text("@classLabel true a b\n@data\n100,200:a\n300,?:b\n")
    (tmp_path / "Counts_TEST.ts").write_text("@classLabel true a b\n@data\n400,200:a\n")
    train = ucr("Counts", path=str(tmp_path), normalize="train")
    test = ucr("Counts", split="test", path=str(tmp_path), normalize="train")
    std = np.std([100.0, 200.0, 300.0])  # the train split's observed values; the missing one stays NaN
    np.testing.assert_allclose(train[0][0][:, 0].numpy(), [-100 / std, 0.0], rtol=1e-6)
    assert math.isnan(train[1][0][1, 0].item())
    np.testing.assert_allclose(test[0][0][:, 0].numpy(), [200 / std, 0.0], rtol=1e-6)  # not the test's own


def test_train_normalisation_leaves_z_normalised_problems_exactly_as_they_are():
    for name in ("GunPoint", "ItalyPowerDemand"):
        for split in ("train", "test"):
            plain, normalised = ucr(name, split=split), ucr(name, split=split, normalize="train")
            assert all(np.array_equal(a, b) for a, b in zip(plain.series, normalised.series, strict=True))


def test_datasets_are_built_through_the_registry(fresh_registry, tmp_path):
    component = fresh_registry.resolve("dataset", "ucr")
    assert component.qualname == "timeseries:ucr"
    data = component.create({"name": "ItalyPowerDemand", "split": "test", "window": 12, "stride": 12})
    assert len(data) == 2 * 1029 and data.num_classes == 2
    with pytest.raises(jepa.SpecError, match="split"):
        component.create({"name": "GunPoint", "split": "validation"})
    bad = tmp_path / "bad.ts"
    bad.write_text("@data\n1,x\n")
    with pytest.raises(jepa.SpecError, match="bad.ts:2"):
        component.create({"name": "bad", "path": str(bad)})


def test_forecast_pairs_train_the_seeds_paired_mode(fresh_registry, tmp_path):
    path = tmp_path / "load.csv"
    path.write_text("a,b\n" + "\n".join(f"{i % 7},{i % 5}" for i in range(60)) + "\n")
    pairs = fresh_registry.resolve("dataset", "series_csv").create(
        {"path": str(path), "window": 12, "horizon": 4, "stride": 4, "normalize": "window"}
    )
    model = jepa.build("temporal", "mlp", encoder={"input_dim": pairs.num_channels, "hidden_dim": 16})
    batch = next(iter(DataLoader(pairs, batch_size=8)))
    out = model.step(batch)  # (state_t, state_t1): as pred, target = model(state_t, state_t1)
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_a_missing_series_file_names_where_it_was_looked_for(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a config's relative path is read from the current directory
    with pytest.raises(
        FileNotFoundError,
        match=f"no NumPy file at 'sensor.npy' \\(relative to the current directory, {str(tmp_path)!r}\\)",
    ):
        series_numpy("sensor.npy")
    with pytest.raises(FileNotFoundError, match="no CSV file at 'load.csv' .*give path= a .csv file"):
        series_csv("load.csv", window=8)
