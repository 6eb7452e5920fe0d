"""Images larger than the encoder's image_size would be masked in their top rows only:
the first batch says so, naming the setting and the value."""

from __future__ import annotations

import jepa
import pytest
import torch


def test_images_larger_than_image_size_name_the_image_size_to_set() -> None:
    model = jepa.build(
        "cnn",
        "attention",
        masker="multiblock",
        predictor={"depth": 1, "heads": 2},
        encoder={"image_size": 8, "pool": "none", "widths": [8, 16], "hidden_dim": 16, "groups": 4},
    )
    with pytest.raises(jepa.SpecError) as info:
        model.step(torch.randn(2, 3, 16, 16))
    assert info.value.path == "encoder.params.image_size"
    assert str(info.value).endswith(
        "the data gives 64 tokens per item but encoder 'vision:cnn' is set up for 16 "
        "(masks would cover only its first 16 tokens); set encoder.params.image_size "
        "to [16, 16]"
    )
    assert torch.isfinite(model.step(torch.randn(2, 3, 8, 8)).loss), "images of the configured size train"


def test_clips_of_another_length_than_num_frames_name_num_frames_to_set() -> None:
    encoder = {"image_size": 8, "patch_size": 4, "num_frames": 4, "tubelet_size": 2, "hidden_dim": 16, "depth": 1}
    model = jepa.build("vit", "attention", masker="tube", predictor={"depth": 1, "heads": 2}, encoder=encoder)
    with pytest.raises(jepa.SpecError) as info:  # 8x8 frames as configured, but 2 of them, not 4
        model.step(torch.randn(2, 3, 2, 8, 8))
    assert info.value.path == "encoder.params.num_frames"
    assert str(info.value).endswith(
        "is set up for 8 (masks would point past its last token); set encoder.params.num_frames to 2"
    )
    assert torch.isfinite(model.step(torch.randn(2, 3, 4, 8, 8)).loss), "clips of the configured length train"


def test_a_masker_on_another_grid_than_the_encoders_is_refused_naming_both() -> None:
    encoder = jepa.build_component(
        "encoder",
        {"name": "cnn", "params": {"image_size": 8, "pool": "none", "widths": [8, 16], "hidden_dim": 16, "groups": 4}},
    )
    predictor = jepa.build_component("predictor", {"name": "attention", "params": {"hidden_dim": 16, "depth": 1}})
    masker = {"name": "multiblock", "params": {"num_tokens": 16, "grid": [2, 8]}}
    with pytest.raises(jepa.WiringError) as info:
        jepa.JEPA(encoder, predictor, masker=masker)
    assert info.value.path == "masker"
    message = str(info.value)
    assert "masker MultiBlockMasker ('vision:multiblock') has grid=(2, 8) but encoder CNNEncoder " in message
    assert "('vision:cnn') produces grid=(4, 4)" in message
    assert "build the masker with num_tokens=16 and grid=(4, 4) (the encoder's)" in message


def test_jepa_train_checks_the_eval_sets_against_the_model_before_training(tmp_path, capsys) -> None:
    """An eval set whose images give another token count than the model's, with flattened
    features, fails before training, naming the section and the setting; not after
    training as probes that raise a tensor-size RuntimeError."""
    from jepa_core.cli import main

    pytest.importorskip("sklearn")
    config = tmp_path / "vision.yaml"
    assert main(["init", "vision", "--output", str(config)]) == 0
    run_dir = tmp_path / "run"
    capsys.readouterr()
    code = main(["train", str(config), "--run-dir", str(run_dir), "--set", "eval.train.params.image_size=6"])
    err = capsys.readouterr().err
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line == (
        "jepa: error: eval.train: an item of eval.train gives 9 tokens (it holds shape (1, 6, 6)) but encoder "
        "'vision:cnn' gives 16 on the data it is trained on (the data section's items hold shape (1, 8, 8)): "
        "with eval.features 'flatten' an item's features are all its tokens, so the probes could not compare "
        "them; set eval.train.params so that its items have the shape the model is trained on "
        "(eval.train.params.image_size is 6 where data.params has 8), or use eval.features 'mean'"
    )
    assert not run_dir.exists(), "nothing was trained or written"
    code = main(["train", str(config), "--run-dir", str(run_dir), "--set", "eval.test.params.image_size=12"])
    assert code == 2 and "jepa: error: eval.test: an item of eval.test gives 36 tokens" in capsys.readouterr().err


def test_a_conv_net_that_shrinks_its_image_to_one_cell_is_refused_before_masked_training() -> None:
    # the 8x8 starter's image_size left in place after adding stages for 32x32 images
    encoder = {"image_size": 8, "pool": "none", "widths": [8, 16, 16, 16], "hidden_dim": 16, "groups": 4}
    with pytest.raises(jepa.WiringError) as info:
        jepa.build("cnn", "attention", masker="multiblock", predictor={"depth": 1, "heads": 2}, encoder=encoder)
    assert info.value.path == "masker"
    said = str(info.value)
    # the size to hold against the data's
    assert "needs at least 2 tokens (a context and a target), but encoder 'vision:cnn' (image_size=8) gives 1" in said
    assert "(grid (1, 1))" in said
    assert "an input size that is the data's" in said
    assert jepa.build("cnn", "mlp", encoder={**encoder, "image_size": 32}).encoder.grid == (4, 4)


def test_images_a_masked_conv_net_cannot_take_name_the_size_it_is_set_up_for(tmp_path) -> None:
    from jepa_core.runs import load_run_spec, train_run

    spec = {
        "model": {
            "encoder": {
                "name": "cnn",
                "params": {
                    "image_size": 16,
                    "pool": "none",
                    "widths": [8, 16, 16, 16],
                    "hidden_dim": 16,
                    "groups": 4,
                    "input_channels": 1,
                },
            },
            "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
            "masker": "multiblock",
        },
        "data": {
            "name": "digits",
            "params": {"split": "train", "image_size": 12},
        },  # 2x2 cells too, but not a multiple of 8
        "train": {"steps": 1, "batch_size": 8},
    }
    with pytest.raises(jepa.SpecError) as info:
        train_run(load_run_spec(spec), run_dir=tmp_path / "run")
    assert info.value.path == "data"
    message = str(info.value)
    assert "does not fit encoder 'vision:cnn' in masked training" in message
    assert "but the encoder takes inputs like shape (8, 1, 16, 16)" in message
    assert "looks like labels" not in message, "a masked model reads no state_t1: no paired-mode advice"
