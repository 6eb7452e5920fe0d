"""The ``vision`` plugin: registers this distribution's components with jepa."""

from __future__ import annotations

from importlib.resources import files

import jepa

from jepa_plugins_vision import datasets, video
from jepa_plugins_vision.cnn import CNNEncoder
from jepa_plugins_vision.hf import HFVisionEncoder, VJEPA2Predictor
from jepa_plugins_vision.maskers import MultiBlockMasker, TubeMasker
from jepa_plugins_vision.vit import VisionTransformer

# the plugin API versions this plugin was written for (checked when jepa loads it)
JEPA_PLUGIN_API = ">=1,<2"


@jepa.hookimpl
def jepa_register(registry) -> None:
    registry.add("encoder", "cnn", CNNEncoder)
    registry.add("encoder", "vit", VisionTransformer)
    # transformers is imported when one of these is built, so the plugin loads without the [hf] extra
    registry.add("encoder", "hf_vision", HFVisionEncoder)
    registry.add("predictor", "vjepa2_predictor", VJEPA2Predictor)
    registry.add("masker", "multiblock", MultiBlockMasker)
    registry.add("masker", "tube", TubeMasker)
    registry.add("dataset", "image_array", datasets.image_array)
    registry.add("dataset", "image_folder", datasets.image_folder)
    registry.add("dataset", "digits", datasets.digits)
    registry.add("dataset", "moving_digits", video.moving_digits)
    registry.add("dataset", "video_folder", video.video_folder)
    templates = files("jepa_plugins_vision").joinpath("templates")
    registry.add_template("vision", templates.joinpath("vision.yaml").read_text())
    registry.add_template("vision-vit", templates.joinpath("vision-vit.yaml").read_text())
    registry.add_template("video", templates.joinpath("video.yaml").read_text())
