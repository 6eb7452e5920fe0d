"""Resuming a run whose backbone directory has gone: the checkpoint holds the whole
model, so the run goes on from it rather than failing on the config's path."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from jepa_core.errors import SpecError
from jepa_core.runs import load_run_spec, train_run
from jepa_core.training import read_metrics

transformers = pytest.importorskip("transformers")

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 16,
    "patch_size": 4,
}


def run_config(tmp_path, backbone: str) -> dict:
    images = np.random.default_rng(0).random((16, 3, 16, 16), dtype=np.float32)
    np.savez(tmp_path / "images.npz", images=images)
    return {
        "model": {
            "encoder": {"name": "hf_vision", "params": {"path": backbone}},
            "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
            "masker": "multiblock",
            "loss": "l1",
        },
        "data": {"name": "image_array", "params": {"path": str(tmp_path / "images.npz"), "labels_key": None}},
        "train": {"steps": 3, "batch_size": 4, "warmup_steps": 0, "progress": False, "plot": False},
    }


def test_a_run_resumes_from_its_checkpoint_when_the_backbone_directory_is_gone(tmp_path, capsys):
    torch.manual_seed(0)
    backbone = tmp_path / "tiny-ijepa"
    transformers.IJepaModel(transformers.IJepaConfig(**TINY)).save_pretrained(backbone)
    config = run_config(tmp_path, str(backbone))
    whole, staged = tmp_path / "whole", tmp_path / "staged"
    train_run(load_run_spec(config), run_dir=whole)
    train_run(load_run_spec(config), run_dir=staged, max_steps=2)
    recorded = json.loads((staged / "run.json").read_text())["model"]
    shutil.rmtree(backbone)
    with pytest.raises(SpecError, match="tiny-ijepa"):  # a fresh run still needs it
        train_run(load_run_spec(config), run_dir=tmp_path / "fresh")
    train_run(load_run_spec(config), run_dir=staged, resume=True)
    assert "resuming from the copy of the model in" in capsys.readouterr().err
    assert [m["loss"] for m in read_metrics(staged)] == pytest.approx([m["loss"] for m in read_metrics(whole)])
    assert json.loads((staged / "run.json").read_text())["model"] == recorded, "the run's record stands"
    changed = run_config(tmp_path, str(backbone))
    changed["model"]["loss"] = "smooth_l1"
    with pytest.raises(SpecError, match="tiny-ijepa"):  # another set-up: the config's own error
        train_run(load_run_spec(changed), run_dir=staged, resume=True)
