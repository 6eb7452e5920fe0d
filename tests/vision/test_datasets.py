"""Datasets and transforms: seeded determinism, labels from folders, clear errors."""

from __future__ import annotations

import warnings

import jepa
import numpy as np
import pytest
import torch
from jepa_core.registry import get_registry
from jepa_plugins_vision.datasets import ImageDataset
from PIL import Image

from jepa_plugins_vision import RandomResizedCrop, image_transform


def _dataset(name: str, **params):
    return get_registry().resolve("dataset", name).create(params)


def test_transforms_are_deterministic_under_a_seed():
    image = torch.rand(3, 20, 24)
    transform = image_transform((16, 16), augment=True, flip=True, mean=(0.5,) * 3, std=(0.25,) * 3)
    a = transform(image, torch.Generator().manual_seed(3))
    b = transform(image, torch.Generator().manual_seed(3))
    c = transform(image, torch.Generator().manual_seed(4))
    assert a.shape == (3, 16, 16)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_random_resized_crop_boxes_stay_inside_and_within_scale():
    crop = RandomResizedCrop((8, 8), scale=(0.3, 1.0))
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        top, left, h, w = crop.box(30, 40, generator)
        assert 0 <= top and top + h <= 30 and 0 <= left and left + w <= 40
        assert 0.3 * 1200 * 0.8 <= h * w <= 1200


def test_dataset_items_repeat_for_a_seed_and_change_with_the_epoch():
    images = torch.rand(5, 1, 12, 12)
    transform = image_transform((8, 8), augment=True)
    first, second = ImageDataset(images, transform=transform, seed=1), ImageDataset(images, transform=transform, seed=1)
    assert torch.equal(first[2], second[2])
    assert torch.equal(first[2], first[2])  # the same item twice, same crop
    first.set_epoch(1)
    assert not torch.equal(first[2], second[2])
    other_seed = ImageDataset(images, transform=transform, seed=2)
    assert not torch.equal(other_seed[2], second[2])


def test_image_folder_labels_come_from_class_folders(tmp_path):
    for label, colour in (("cat", 40), ("dog", 200)):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.new("RGB", (20, 12), (colour, i, 0)).save(tmp_path / label / f"{i}.png")
    data = _dataset("image_folder", root=str(tmp_path), image_size=8)
    assert len(data) == 6 and data.classes == ["cat", "dog"] and data.num_classes == 2
    image, label = data[4]
    assert image.shape == (3, 8, 8) and isinstance(label, int) and label == 1
    grey = _dataset("image_folder", root=str(tmp_path), image_size=(6, 10), channels=1, normalize=False)
    image, label = grey[0]
    assert image.shape == (1, 6, 10) and label == 0 and 0.0 <= float(image.min()) <= float(image.max()) <= 1.0
    train = _dataset("image_folder", root=str(tmp_path), split="train", test_fraction=0.5, seed=3)
    test = _dataset("image_folder", root=str(tmp_path), split="test", test_fraction=0.5, seed=3)
    assert set(train.files).isdisjoint(test.files) and len(train) + len(test) == 6


def test_image_folder_reads_nested_images_ignores_other_files_and_says_which_class_folder_is_empty(tmp_path):
    for label in ("cat", "dog"):
        (tmp_path / label / "more").mkdir(parents=True)
        Image.new("L", (4, 4), 10).save(tmp_path / label / "0.PNG")  # any case
        Image.new("L", (4, 4), 20).save(tmp_path / label / "more" / "1.jpg")
        (tmp_path / label / "README.txt").write_text("not an image")
    (tmp_path / "hexagon").mkdir()  # a class the user meant to fill
    with pytest.warns(UserWarning, match=r"class folder\(s\) 'hexagon' hold no images .*left out of the classes"):
        data = _dataset("image_folder", root=str(tmp_path), image_size=4)
    assert data.classes == ["cat", "dog"] and len(data) == 4


def test_labelled_splits_hold_every_class_in_proportion(tmp_path):
    # 12 cats, 4 dogs, 1 bird: an unstratified 25% draw can miss the dogs entirely
    for label, count in (("bird", 1), ("cat", 12), ("dog", 4)):
        (tmp_path / label).mkdir()
        for i in range(count):
            Image.new("L", (4, 4), i).save(tmp_path / label / f"{i}.png")
    for seed in range(5):
        params = {"root": str(tmp_path), "test_fraction": 0.25, "seed": seed, "image_size": 4}
        train = _dataset("image_folder", split="train", **params)
        test = _dataset("image_folder", split="test", **params)
        assert set(train.files).isdisjoint(test.files) and len(train) + len(test) == 17
        assert sorted(test.labels.tolist()) == [1, 1, 1, 2]  # a quarter of each class
        assert sorted(set(train.labels.tolist())) == [0, 1, 2]  # the lone bird trains
    other = _dataset("image_folder", split="test", root=str(tmp_path), test_fraction=0.25, seed=1, image_size=4)
    first = _dataset("image_folder", split="test", root=str(tmp_path), test_fraction=0.25, seed=0, image_size=4)
    assert first.files != other.files
    labels = np.repeat(np.arange(2), [6, 2]).astype(np.int64)
    np.savez(tmp_path / "arrays.npz", images=np.zeros((8, 4, 4), np.uint8), labels=labels)
    test = _dataset("image_array", path=str(tmp_path / "arrays.npz"), split="test", test_fraction=0.5)
    assert sorted(test.labels.tolist()) == [0, 0, 0, 1]


def test_image_folder_errors_say_what_is_wrong(tmp_path, monkeypatch):
    with pytest.raises(jepa.SpecError, match="no folder") as info:
        _dataset("image_folder", root=str(tmp_path / "missing"))
    assert "current directory" not in str(info.value)
    monkeypatch.chdir(tmp_path)  # a relative root is read from here: the message says where that is
    with pytest.raises(jepa.SpecError, match=rf"no folder 'missing' \(relative to the current directory, '{tmp_path}'"):
        _dataset("image_folder", root="missing")
    with pytest.raises(jepa.SpecError, match="no images"):
        _dataset("image_folder", root=str(tmp_path))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    data = _dataset("image_folder", root=str(tmp_path))
    assert data.num_classes is None
    with pytest.raises(ValueError, match="broken.png"):
        data[0]
    with pytest.raises(jepa.SpecError, match="channels"):
        _dataset("image_folder", root=str(tmp_path), channels=2)


def test_image_array_reads_npz_layouts_and_labels(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, size=(6, 10, 10, 3), dtype=np.uint8)
    np.savez(tmp_path / "set.npz", images=images, labels=np.array([0, 1, 2, 0, 1, 2]))
    data = _dataset("image_array", path=str(tmp_path / "set.npz"))
    image, label = data[1]
    assert image.shape == (3, 10, 10) and label == 1 and data.num_classes == 3
    torch.testing.assert_close(image, torch.from_numpy(images[1]).permute(2, 0, 1).float() / 255)
    np.save(tmp_path / "grey.npy", np.zeros((4, 8, 8), dtype=np.float32))
    grey = _dataset("image_array", path=str(tmp_path / "grey.npy"), image_size=16)
    assert grey[0].shape == (1, 16, 16) and grey.num_classes is None


def test_image_array_errors_name_the_file_and_field(tmp_path):
    with pytest.raises(jepa.SpecError, match="nope.npz"):
        _dataset("image_array", path=str(tmp_path / "nope.npz"))
    np.savez(tmp_path / "odd.npz", pixels=np.zeros((2, 4, 4)))
    with pytest.raises(jepa.SpecError, match="no array 'images'.*pixels.*images_key"):
        _dataset("image_array", path=str(tmp_path / "odd.npz"))
    np.savez(tmp_path / "labels.npz", images=np.zeros((2, 4, 4)), labels=np.array([0.5, 1.0]))
    with pytest.raises(jepa.SpecError, match="integer labels"):
        _dataset("image_array", path=str(tmp_path / "labels.npz"))
    with pytest.raises(jepa.SpecError, match="unknown field"):
        _dataset("image_array", path="x.npz", imagesize=8)


def test_digits_dataset_and_its_splits():
    pytest.importorskip("sklearn")
    data = _dataset("digits")
    assert len(data) == 1797 and data.num_classes == 10
    image, label = data[0]
    assert image.shape == (1, 8, 8) and label == 0 and float(image.min()) >= -1.0
    train, test = _dataset("digits", split="train"), _dataset("digits", split="test")
    assert len(train) + len(test) == 1797 and abs(len(test) - 359) <= 1
    assert _dataset("digits", image_size=16)[0][0].shape == (1, 16, 16)
    augmented = _dataset("digits", augment=True, seed=5)
    assert torch.equal(augmented[3][0], _dataset("digits", augment=True, seed=5)[3][0])


def _grey_folder_run(tmp_path, classes: tuple[str, ...], per_class: int, data_params: str, train: str):
    """``per_class`` 8x8 grey PNGs in each class folder of ``tmp_path/images``, and a run
    config (a tiny masked CNN) that trains on them; returns the config's path."""
    for label in classes:
        (tmp_path / "images" / label).mkdir(parents=True)
        for i in range(per_class):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / "images" / label / f"{i}.png")
    config = tmp_path / "run.yaml"
    data = f"{{name: image_folder, params: {{root: {tmp_path / 'images'}, {data_params}}}}}"
    config.write_text(_tiny_cnn_run(data, f"{{{train}, progress: false, plot: false}}"))
    return config


def _tiny_cnn_run(data: str, train: str, evaluation: str | None = None) -> str:
    """A run config (YAML) of a tiny masked CNN on 8x8 grey images, with ``data``,
    ``train`` (and ``eval``) sections given as YAML flow mappings."""
    return (
        "model:\n"
        "  encoder: {name: cnn, params: {input_channels: 1, hidden_dim: 16, widths: [8, 16], image_size: 8,"
        " pool: none}}\n"
        "  predictor: {name: attention, params: {depth: 1}}\n"
        "  masker: multiblock\n"
        f"data: {data}\ntrain: {train}\n" + (f"eval: {evaluation}\n" if evaluation else "")
    )


def test_an_unreadable_image_stops_training_with_one_line_naming_the_file(tmp_path, capsys):
    from jepa_core.cli import main

    config = _grey_folder_run(
        tmp_path, ("a", "b"), 8, "image_size: 8, channels: 1", "steps: 40, batch_size: 4, checkpoint_every: 2"
    )
    # before anything is written: a batch of the whole folder holds the broken file
    broken = tmp_path / "images" / "b" / "3.png"
    broken.write_bytes(b"not a png")
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--run-dir", str(run_dir), "--set", "train.batch_size=16"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jepa: error: data: cannot read the first batch: cannot read image") and "\n" not in err
    assert "3.png" in err and not run_dir.exists()

    # during training: every image of class b breaks after the first-batch check
    Image.new("L", (8, 8), 0).save(broken)
    trainer = jepa.Trainer(
        jepa.build(
            "cnn",
            "attention",
            masker="multiblock",
            encoder={"input_channels": 1, "hidden_dim": 16, "widths": [8, 16], "image_size": 8, "pool": "none"},
        ),
        _dataset("image_folder", root=str(tmp_path / "images"), image_size=8, channels=1),
        {"steps": 40, "batch_size": 4, "checkpoint_every": 2, "progress": False, "plot": False},
        run_dir=run_dir,
    )
    for path in (tmp_path / "images" / "b").iterdir():
        path.write_bytes(b"not a png")
    with pytest.raises(jepa.TrainingError) as info:
        trainer.fit()
    message = str(info.value)
    assert message.startswith("data: reading a batch for step ") and "not a png" not in message
    assert "cannot read image" in message and "remove or replace the file" in message
    assert ("--resume continues from it" in message) or ("running it again starts over" in message)


def test_image_folder_skips_unreadable_files_when_asked_and_names_them(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(3):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / "images" / name / f"{i}.png")
    (tmp_path / "images" / "b" / "1.png").write_bytes(b"not a png")  # and one cut short
    good = (tmp_path / "images" / "a" / "2.png").read_bytes()
    (tmp_path / "images" / "a" / "2.png").write_bytes(good[: len(good) // 2])
    params = {"root": str(tmp_path / "images"), "image_size": 8, "channels": 1}
    with pytest.raises(ValueError, match=r"cannot read image .*a/2\.png.*or set skip_unreadable: true"):
        [item for item in _dataset("image_folder", **params)]
    with pytest.warns(UserWarning, match=r"image_folder skipped 2 unreadable of 6 images"):
        data = _dataset("image_folder", **params, skip_unreadable=True)
    assert sorted(path.name for path in data.skipped) == ["1.png", "2.png"]
    with pytest.warns(UserWarning, match=r"\(e\.g\. 'a/2\.png'\)"):  # the class folder too: every class has a 2.png
        _dataset("image_folder", **params, skip_unreadable=True)
    assert len(data) == 4 and sorted(int(label) for _, label in data) == [0, 0, 1, 1]


def test_eval_sets_that_would_read_the_files_pretraining_skips_are_warned_of_before_training(tmp_path):
    from jepa_core.runs import load_run_spec, train_run

    config = _grey_folder_run(
        tmp_path,
        ("a", "b"),
        6,
        "image_size: 8, channels: 1, skip_unreadable: true",
        "steps: 1, batch_size: 4, warmup_steps: 0",
    )
    folder = f"{{name: image_folder, params: {{root: {tmp_path / 'images'}, image_size: 8, channels: 1"
    overrides = [
        f"eval={{train: {folder}, split: train, skip_unreadable: true}}}}, test: {folder}, split: test}}}}, "
        "probes: [linear], baselines: []}",
        "train.steps=1",
    ]
    spec = load_run_spec(str(config), overrides)
    with pytest.warns(
        UserWarning, match=r"eval.test reads the same folder without it: an unreadable file there"
    ) as seen:
        train_run(spec, run_dir=tmp_path / "run")
    assert not any("eval.train reads" in str(w.message) for w in seen), "eval.train skips them too"


def test_a_command_says_each_skipped_files_warning_once(tmp_path):
    from jepa_core.cli import main

    config = _grey_folder_run(
        tmp_path, ("a", "b"), 6, "image_size: 8, channels: 1, skip_unreadable: true", "steps: 2, batch_size: 4"
    )
    (tmp_path / "images" / "a" / "5.png").write_bytes(b"not a png")
    folder = (
        f"{{name: image_folder, params: {{root: {tmp_path / 'images'}, image_size: 8, channels: 1, "
        "skip_unreadable: true, test_fraction: 0.25, seed: 0"
    )
    evaluation = f"eval={{train: {folder}, split: train}}}}, test: {folder}, split: test}}}}, probes: [linear]}}"
    run = tmp_path / "run"
    # the folder is read for the data, the check of each eval set, the probes and each baseline
    for command in (["train", str(config), "--run-dir", str(run), "--set", evaluation], ["eval", str(run)]):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            assert main(command) == 0
        skipped = [str(w.message) for w in seen if "unreadable" in str(w.message)]
        assert skipped == [
            "image_folder skipped 1 unreadable of 12 images in "
            + repr(str(tmp_path / "images"))
            + " (e.g. 'a/5.png'); see dataset.skipped"
        ], command


def test_an_image_folder_left_at_its_default_size_is_named_as_a_fix(tmp_path, capsys):
    from jepa_core.cli import main

    config = _grey_folder_run(tmp_path, ("a",), 4, "channels: 1", "steps: 2, batch_size: 4")
    eval_section = (
        "--set",
        f"eval={{train: {{name: image_folder, params: {{root: {tmp_path / 'images'}, channels: 1}}}},"
        f" test: {{name: image_folder, params: {{root: {tmp_path / 'images'}, channels: 1}}}}, shots: 1}}",
    )
    for extra in ((), eval_section):  # the eval sets are checked first: the data's size still leads
        assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith("jepa: error: model.encoder.params.image_size: the data gives 12544 tokens")
        assert "set model.encoder.params.image_size to [224, 224]" in err
        assert "or, if the encoder's image_size is the one you want, set data.params.image_size (now 224) to 8" in err
        assert not (tmp_path / "run").exists()


def test_a_value_no_form_of_a_union_takes_is_one_issue_at_its_own_path():
    with pytest.raises(jepa.SpecError) as info:
        _dataset("digits", image_size=[8, -1])
    assert info.value.issues == [
        ("image_size", "Input should be a valid integer, or greater than 0 at item 1 (got [8, -1])")
    ]
    with pytest.raises(jepa.SpecError) as info:
        _dataset("digits", image_size=None)
    assert str(info.value) == "image_size: Input should be a valid integer, or a list ([a, b, ...]) (got None)"


def test_eval_sets_of_other_image_sizes_fail_before_training(tmp_path, capsys):
    from jepa_core.cli import main

    config = _grey_folder_run(tmp_path, ("a", "b"), 4, "image_size: 8, channels: 1", "steps: 2, batch_size: 4")
    folder = f"{{name: image_folder, params: {{root: {tmp_path / 'images'}, channels: 1, image_size: SIZE}}}}"
    section = (
        f"eval={{train: {folder.replace('SIZE', '8')}, test: {folder.replace('SIZE', '16')}, shots: 1, features: mean}}"
    )
    assert main(["train", str(config), "--run-dir", str(tmp_path / "run"), "--set", section]) == 2
    err = capsys.readouterr().err
    assert err.startswith("jepa: error: eval.test: an item of eval.test holds shape (1, 16, 16) where eval.train's")
    assert "(eval.test.params.image_size is 16 where data.params has 8)" in err
    assert not (tmp_path / "run").exists()


def test_16_bit_images_are_read_on_their_full_range_not_clipped_at_255(tmp_path):
    (tmp_path / "deep").mkdir()
    values = np.array([[0, 255, 256, 1000], [16384, 32768, 49152, 65535]] * 2, dtype=np.uint16)  # 4x4
    image = Image.fromarray(values)
    assert image.mode == "I;16", "what Pillow gives a uint16 array, and reads back from a 16-bit PNG"
    image.save(tmp_path / "deep" / "a.png")
    assert Image.open(tmp_path / "deep" / "a.png").mode == "I;16"
    expected = torch.from_numpy(values.astype(np.float64) / 65535).float()
    grey = _dataset("image_folder", root=str(tmp_path / "deep"), image_size=4, channels=1, normalize=False)
    torch.testing.assert_close(grey[0], expected[None], atol=1e-6, rtol=0)  # convert("L") read 1.0 from 256 up
    colour = _dataset("image_folder", root=str(tmp_path / "deep"), image_size=4, channels=3, normalize=False)
    torch.testing.assert_close(colour[0], expected.expand(3, 4, 4), atol=1e-6, rtol=0)

    # 32-bit integer images (mode "I", e.g. a TIFF) on the range of their type
    (tmp_path / "wide").mkdir()
    wide = np.array([[0, 2**30], [2**31 - 1, 65535]], dtype=np.int32)
    Image.fromarray(wide).save(tmp_path / "wide" / "a.tif")
    assert Image.open(tmp_path / "wide" / "a.tif").mode == "I"
    read = _dataset("image_folder", root=str(tmp_path / "wide"), image_size=2, channels=1, normalize=False)[0]
    torch.testing.assert_close(read, torch.from_numpy(wide / (2**31 - 1)).float()[None], atol=1e-6, rtol=0)
    Image.fromarray(np.array([[-5, 0], [1, 2]], dtype=np.int32)).save(tmp_path / "wide" / "a.tif")
    with pytest.raises(ValueError, match=r"a\.tif'.*hold negative values \(as low as -5\)"):
        _dataset("image_folder", root=str(tmp_path / "wide"), image_size=2, channels=1)[0]

    # 32-bit float images (mode "F", a float TIFF) as they are, as image_array keeps floats
    (tmp_path / "float").mkdir()
    floats = np.array([[0.25, 0.5], [0.75, 1.5]], dtype=np.float32)
    Image.fromarray(floats).save(tmp_path / "float" / "a.tif")
    assert Image.open(tmp_path / "float" / "a.tif").mode == "F"
    read = _dataset("image_folder", root=str(tmp_path / "float"), image_size=2, channels=1, normalize=False)[0]
    torch.testing.assert_close(read, torch.from_numpy(floats)[None], atol=1e-6, rtol=0)  # convert("L") gave 0s


def _nested_classes(tmp_path) -> None:
    """``tmp_path/nest/my_images/{circles,stripes}``: 4 grey 8x8 PNGs per class, which
    differ between the classes, one level below where ``root: nest`` looks for classes."""
    for label, shade in (("circles", 30), ("stripes", 220)):
        folder = tmp_path / "nest" / "my_images" / label
        folder.mkdir(parents=True)
        for i in range(4):
            Image.new("L", (8, 8), shade + i).save(folder / f"{i}.png")


def test_a_root_one_level_above_the_class_folders_names_the_folder_to_use(tmp_path):
    _nested_classes(tmp_path)
    inner = tmp_path / "nest" / "my_images"
    with pytest.warns(UserWarning) as caught:
        data = _dataset("image_folder", root=str(tmp_path / "nest"), image_size=8, channels=1)
    assert data.classes == ["my_images"], "one class folder is one class: legitimate for pretraining"
    message = str(caught[0].message)
    assert "holds one class folder, 'my_images'" in message and "sub-folders 'circles', 'stripes'" in message
    assert f"root is probably one level too high: to read those as the classes, set root: {str(inner)!r}" in message
    right = _dataset("image_folder", root=str(inner), image_size=8, channels=1)
    assert right.classes == ["circles", "stripes"]

    # a one-class folder whose images sit in it directly: nothing to suggest
    (tmp_path / "flat" / "only").mkdir(parents=True)
    Image.new("L", (8, 8), 0).save(tmp_path / "flat" / "only" / "0.png")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _dataset("image_folder", root=str(tmp_path / "flat"), image_size=8).classes == ["only"]


def test_a_root_above_the_split_folders_says_to_give_each_split_its_own_root(tmp_path):
    """``data/train/{cat,dog}`` and ``data/test/{cat,dog}`` read from ``data``: two "classes",
    train and test; the warning names the roots to use."""
    for split in ("train", "test"):
        for label, shade in (("cat", 30), ("dog", 220)):
            folder = tmp_path / "data" / split / label
            folder.mkdir(parents=True)
            Image.new("L", (8, 8), shade).save(folder / "0.png")
    with pytest.warns(UserWarning) as caught:
        data = _dataset("image_folder", root=str(tmp_path / "data"), image_size=8, channels=1)
    assert data.classes == ["test", "train"]
    message = str(caught[0].message)
    assert "holds only the folders 'test', 'train', named like splits" in message
    assert "('cat', 'dog' in 'test')" in message and "read as 2 classes, one per split" in message
    assert f"root: {str(tmp_path / 'data' / 'train')!r} for data and eval.train" in message
    assert f"root: {str(tmp_path / 'data' / 'test')!r} for eval.test, each with split: all" in message
    assert _dataset("image_folder", root=str(tmp_path / "data" / "train"), image_size=8).classes == ["cat", "dog"]
    # the advice taken with the starter's split: test left in: a fifth of the test folder, said so
    with pytest.warns(UserWarning, match=r"named like a split, and split: test keeps 20% of its files") as caught:
        part = _dataset("image_folder", root=str(tmp_path / "data" / "test"), image_size=8, split="test")
    assert "set split: all to use the whole folder" in str(caught[0].message) and len(part) < 2

    # classes that happen to hold sub-folders, with names that are not splits: nothing to say
    for label in ("cat", "dog"):
        folder = tmp_path / "deep" / label / "batch1"
        folder.mkdir(parents=True)
        Image.new("L", (8, 8), 0).save(folder / "0.png")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _dataset("image_folder", root=str(tmp_path / "deep"), image_size=8).classes == ["cat", "dog"]


def test_probing_split_folders_as_classes_fails_before_training(tmp_path, capsys):
    """eval sets whose root holds train/ and test/: the probes told the splits apart and a
    trial's run printed that table with exit status 0; now it stops before training."""
    from jepa_core.cli import main

    for split in ("train", "test"):
        for label, shade in (("cat", 30), ("dog", 220)):
            folder = tmp_path / "data" / split / label
            folder.mkdir(parents=True)
            for i in range(4):
                Image.new("L", (8, 8), shade + i).save(folder / f"{i}.png")
    config = tmp_path / "run.yaml"
    folder = f"{{name: image_folder, params: {{root: {tmp_path / 'data'}, image_size: 8, channels: 1}}}}"
    config.write_text(
        _tiny_cnn_run(
            folder,
            "{steps: 2, batch_size: 4, warmup_steps: 0, progress: false, plot: false}",
            f"{{train: {folder}, test: {folder}, probes: [linear], baselines: []}}",
        )
    )
    with pytest.warns(UserWarning, match="named like splits"):
        assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert "eval.train: its classes are 'test', 'train', the names of splits" in error
    assert not (tmp_path / "run" / "final").exists(), "refused before training"


def test_probing_a_one_class_folder_fails_instead_of_scoring_one(tmp_path, capsys):
    """`jepa train` with eval sets whose root is one level too high: every probe used to
    print 1.000 (one class, always right); now the run fails before training and says why."""
    from jepa_core.cli import main

    _nested_classes(tmp_path)
    config = tmp_path / "run.yaml"
    folder = f"{{name: image_folder, params: {{root: {tmp_path / 'nest'}, image_size: 8, channels: 1}}}}"
    config.write_text(
        _tiny_cnn_run(
            folder,
            "{steps: 2, batch_size: 4, warmup_steps: 0, progress: false, plot: false}",
            f"{{train: {folder}, test: {folder}, probes: [linear, knn], baselines: []}}",
        )
    )
    with pytest.warns(UserWarning, match="root is probably one level too high") as caught:
        assert main(["train", str(config), "--run-dir", str(tmp_path / "run")]) == 2
    said = [w for w in caught if "one level too high" in str(w.message)]
    assert len(said) == 1, "data, eval.train and eval.test share the root: one warning, not one each"
    error = capsys.readouterr().err
    assert "eval.train: its labels hold one class (label 0='my_images') over 8 items" in error
    assert "a probe needs at least two classes" in error
    assert not (tmp_path / "run" / "final").exists(), "refused before training"


def test_a_test_folder_without_one_of_the_classes_is_scored_by_class_name(tmp_path):
    from jepa.evaluation import aligned_labels
    from jepa_core.errors import SpecError

    for split, classes in (("train", "abc"), ("test", "bc"), ("other", "bd")):
        for name in classes:
            (tmp_path / split / name).mkdir(parents=True)
            grey = np.full((8, 8), 40 * (ord(name) - 96), dtype=np.uint8)
            Image.fromarray(grey).save(tmp_path / split / name / "1.png")
    train = _dataset("image_folder", root=str(tmp_path / "train"), image_size=8, channels=1)
    test = _dataset("image_folder", root=str(tmp_path / "test"), image_size=8, channels=1)
    labels = torch.tensor([test[i][1] for i in range(len(test))])
    assert labels.tolist() == [0, 1]  # the test folder's own numbering: b is 0 there, 1 in train
    assert aligned_labels(labels, train, test).tolist() == [1, 2]
    other = _dataset("image_folder", root=str(tmp_path / "other"), image_size=8, channels=1)
    with pytest.raises(SpecError, match=r"its classes 'd' are not among eval.train's \('a', 'b', 'c'\)"):
        aligned_labels(torch.tensor([0, 1]), train, other)


def test_the_shapes_example_writes_a_seeded_folder_of_five_classes_image_folder_reads(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[2] / "examples"))
    from shapes_folder import CLASSES, write_shapes

    first = write_shapes(tmp_path / "a", per_class=3)
    again = write_shapes(tmp_path / "b", per_class=3)
    files = sorted(path.relative_to(first) for path in first.rglob("*.png"))
    assert len(files) == 15 and all((first / f).read_bytes() == (again / f).read_bytes() for f in files)
    data = _dataset("image_folder", root=str(first), image_size=32)
    assert sorted(data.classes) == sorted(CLASSES) and data[0][0].shape == (3, 32, 32)
