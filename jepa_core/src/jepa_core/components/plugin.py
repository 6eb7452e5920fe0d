"""Registers the core's components, through the same hook every plugin uses."""

from __future__ import annotations

from importlib.resources import files

from jepa_core.components import composites, datasets, encoders, losses, maskers, predictors
from jepa_core.hookspecs import hookimpl


@hookimpl
def jepa_register(registry) -> None:
    registry.add("encoder", "mlp", encoders.MLPEncoder)
    registry.add("encoder", "transformer", encoders.TransformerEncoder)
    registry.add("predictor", "mlp", predictors.MLPPredictor)
    registry.add("predictor", "attention", predictors.AttentionPredictor)
    registry.add("predictor", "recurrent", predictors.RecurrentPredictor)
    registry.add("loss", "mse", losses.MSELoss)
    registry.add("loss", "l1", losses.L1Loss)
    registry.add("loss", "smooth_l1", losses.SmoothL1Loss)
    registry.add("loss", "cosine", losses.CosineLoss)
    registry.add("loss", "vicreg", losses.VICRegLoss)
    registry.add("loss", "sigreg", losses.SIGRegLoss)
    registry.add("loss", "infonce", losses.InfoNCELoss)
    registry.add("masker", "random", maskers.RandomMasker)
    registry.add("dataset", "sinusoids", datasets.Sinusoids)
    registry.add("dataset", "arrays", datasets.Arrays)
    registry.add("encoder", "multiscale", composites.MultiScaleEncoder)
    registry.add("encoder", "cross_modal", composites.CrossModalEncoder)
    registry.add("predictor", "hierarchical", composites.HierarchicalPredictor)
    registry.add_template("sequences", files("jepa_core").joinpath("templates/sequences.yaml").read_text())
