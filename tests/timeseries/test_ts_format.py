"""The ``.ts`` and UCR ``.tsv`` readers: good files, malformed files (errors with line numbers), and
agreement with aeon's own loader on the files aeon ships."""

from __future__ import annotations

import math

import numpy as np
import pytest
from jepa_plugins_timeseries.datasets import bundled_ucr_directory
from jepa_plugins_timeseries.ts_format import TSFormatError, parse_ts, parse_ucr_tsv, read_ts, read_ucr_tsv

UNIVARIATE = """\
# a comment before the header
@problemName Toy
@timeStamps false
@missing true
@univariate true
@equalLength false
@classLabel true up down

@data
1.0,2.0,3.0:up
% an ARFF-style comment
3,2,?,1:down
0.5,-1e-3:up
"""

MULTIVARIATE = """\
@problemname Multi
@timestamps false
@univariate false
@dimensions 2
@equallength false
@targetlabel true
@data
1,2,3:4,5:0.25
6,7:8,9,10,NaN:-1.5
"""


def test_univariate_classification_with_missing_values_and_unequal_lengths():
    data = parse_ts(UNIVARIATE.splitlines())
    assert data.metadata["problemname"] == "Toy"
    assert data.class_labels == ("up", "down")
    assert data.labels == ["up", "down", "up"]
    assert data.class_indices().tolist() == [0, 1, 0]
    assert data.lengths == [3, 4, 2]
    assert data.num_channels == 1
    assert data.series[1][:, 0].tolist()[:2] == [3.0, 2.0] and math.isnan(data.series[1][2, 0])
    array = data.to_array()
    assert array.shape == (3, 4, 1)
    assert np.isnan(array[0, 3, 0]) and np.isnan(array[2, 2:, 0]).all()


def test_multivariate_regression_pads_short_dimensions():
    data = parse_ts(MULTIVARIATE.splitlines())
    assert data.labels == [0.25, -1.5]
    assert data.class_labels is None
    assert data.num_channels == 2
    first = data.series[0]
    assert first.shape == (3, 2)
    assert first[:, 0].tolist() == [1, 2, 3]
    assert first[:2, 1].tolist() == [4, 5] and math.isnan(first[2, 1])
    assert data.series[1].shape == (4, 2) and math.isnan(data.series[1][3, 1])
    with pytest.raises(ValueError, match="no class labels"):
        data.class_indices()


def test_unlabelled_file(tmp_path):
    path = tmp_path / "plain.ts"
    path.write_text("@problemName P\n@classLabel false\n@data\n1,2,3\n4,5,6\n")
    data = read_ts(path)
    assert data.labels is None
    assert data.to_array()[:, :, 0].tolist() == [[1, 2, 3], [4, 5, 6]]


HEADER = "@problemName Bad\n@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel true a b\n@data\n"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (HEADER + "1,2,3:a\n1,2,x:b\n", 8, "value 3: 'x', not a number"),
        (HEADER + "1,2,3:a\n1,,3:b\n", 8, "value 2: an empty value"),
        (HEADER + "1,2,3:c\n", 7, "class label 'c' is not among"),
        (HEADER + "1,2,3\n", 7, "expected values, then ':' and the label"),
        (HEADER + "1,2,3:a\n1,2:a\n", 8, "has 2 values, not 3"),
        (HEADER + "1,2,3:1,2,3:a\n", 7, "expected 1 dimension"),
        (HEADER + "1,2,3:a\n@missing false\n", 8, "after @data"),
        ("@problemName P\n@timeStamps true\n@data\n", 2, "timestamped series"),
        ("@problemName P\n@univariate maybe\n@data\n", 2, "takes true or false"),
        ("@problemName P\n@seriesLength -3\n@data\n", 2, "positive integer"),
        ("@problemName P\n@colour blue\n@data\n", 2, "unknown header tag @colour"),
        ("@problemName P\n@univariate true\n@univariate false\n@data\n", 3, "given twice"),
        ("@problemName P\n@classLabel true\n@data\n", 2, "must list the class labels"),
        ("@problemName P\n@classLabel true a a\n@data\n", 2, "label twice"),
        ("@problemName P\n1,2,3\n", 2, "expected a header tag"),
        ("@classLabel true a\n@targetLabel true\n@data\n", 3, "cannot both hold"),
        ("@univariate true\n@dimensions 2\n@data\n", 3, "@dimensions 2"),
        ("@problemName P\n@data extra\n", 2, "takes no value"),
        ("@classLabel false\n@targetLabel true\n@data\n1,2:high\n", 4, "target 'high' is not a number"),
    ],
)
def test_malformed_files_name_the_line(tmp_path, text, line, message):
    path = tmp_path / "bad.ts"
    path.write_text(text)
    with pytest.raises(TSFormatError) as caught:
        read_ts(path)
    assert caught.value.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_a_second_problem_name_is_ignored_as_in_a_file_aeon_ships():
    # aeon's UnitTest_TEST.ts names two problems (UnitTest, then Chinatown, which it was cut from)
    data = parse_ts(["@problemName UnitTest", "@problemName Chinatown", "@classLabel true 1 2", "@data", "1,2:1"])
    assert data.metadata["problemname"] == "UnitTest"
    assert len(data.series) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [("@problemName P\n", "no @data line"), ("@problemName P\n@data\n\n# nothing\n", "followed by no series")],
)
def test_files_without_series(text, message):
    with pytest.raises(TSFormatError, match=message) as caught:
        parse_ts(text.splitlines(), source="memory.ts")
    assert caught.value.line is None
    assert str(caught.value).startswith("memory.ts: ")


def test_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .ts file"):
        read_ts(tmp_path / "absent.ts")


def shipped_ts_files() -> list[str]:
    """Every ``.ts`` file aeon ships (none when aeon is not installed)."""
    try:
        root = bundled_ucr_directory()
    except ModuleNotFoundError:
        return []
    return sorted(str(path.relative_to(root)) for path in root.rglob("*.ts"))


@pytest.mark.parametrize("name", shipped_ts_files())
def test_agrees_with_aeons_loader_on_the_files_it_ships(name):
    from aeon.datasets import load_from_ts_file

    path = bundled_ucr_directory() / name
    if "@timestamps true" in path.read_text().lower():  # the one thing the reader refuses
        with pytest.raises(TSFormatError, match="timestamped series"):
            read_ts(path)
        return
    ours = read_ts(path)
    theirs, labels = load_from_ts_file(str(path))
    if isinstance(theirs, np.ndarray):
        np.testing.assert_allclose(ours.to_array(), theirs.transpose(0, 2, 1))
    else:  # unequal lengths: a list of (C, T_i)
        assert len(theirs) == len(ours.series)
        for case, reference in zip(ours.series, theirs, strict=True):
            np.testing.assert_allclose(case, reference.T)
    if ours.class_labels is not None:
        # aeon lower-cases class names; the reader keeps them as written
        assert [str(v).lower() for v in ours.labels] == [str(v).lower() for v in labels]
    else:
        np.testing.assert_allclose(np.asarray(ours.labels), labels.astype(float))


# -- the UCR archive 2018's .tsv layout ------------------------------------------------------------


def test_ucr_tsv_rows_are_label_then_values_with_trailing_nan_padding_dropped():
    data = parse_ucr_tsv(["2\t1.5\t2.5\t3.5\n", "-1\t4\tNaN\t6\tNaN\tNaN\n", "\n", "10.0\t7\t8\n"])
    assert data.labels == ["2", "-1", "10"]  # 10.0 and 10 are one class
    assert data.class_labels == ("-1", "2", "10")  # by value, not as text
    assert data.lengths == [3, 3, 2] and data.num_channels == 1
    np.testing.assert_array_equal(data.series[1][:, 0], [4.0, math.nan, 6.0])  # a gap inside stays missing
    assert parse_ucr_tsv(["b,1,2\n", "a,3,4\n"]).class_labels == ("a", "b")  # commas and names work too


def test_a_byte_order_mark_is_not_part_of_the_first_label(tmp_path):
    (tmp_path / "Toy_TRAIN.tsv").write_text("1\t0.5\t0.7\r\n2\t1\t2\r\n", encoding="utf-8-sig")  # as Excel saves
    assert read_ucr_tsv(tmp_path / "Toy_TRAIN.tsv").class_labels == ("1", "2")
    (tmp_path / "Toy.ts").write_text(UNIVARIATE, encoding="utf-8-sig")
    assert read_ts(tmp_path / "Toy.ts").class_labels == ("up", "down")


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (["1\t2\t3\n", "2\t4\tfive\n"], 2, r"value 2: 'five', not a number"),
        (["1\t2\n", "7\n"], 2, "expected a class label, then the values"),
        (["NaN\t1\t2\n"], 1, "the class label, is empty or missing"),
        (["1\t2\t3\n", "\t0.5\t0.7\n"], 2, "the class label, is empty or missing"),  # not 0.5 as a label
        (["label\tt0\tt1\n", "1\t2\t3\n"], 1, r"'t0', not a number \(write NaN .*has no header row: remove it"),
        (["1\tNaN\tNaN\n"], 1, "no value that is not NaN"),
    ],
)
def test_malformed_ucr_tsv_lines_are_named(lines, line, message):
    with pytest.raises(TSFormatError, match=message) as caught:
        parse_ucr_tsv(lines, source="Toy_TRAIN.tsv")
    assert caught.value.line == line and str(caught.value).startswith(f"Toy_TRAIN.tsv:{line}: ")
    with pytest.raises(TSFormatError, match="holds no series"):
        parse_ucr_tsv(["\n"])
