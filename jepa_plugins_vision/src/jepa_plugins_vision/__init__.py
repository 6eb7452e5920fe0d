"""jepa-plugins-vision: CNN and ViT encoders, pretrained transformers backbones
(``hf_vision``, ``vjepa2_predictor``), I-JEPA/V-JEPA maskers and image datasets
for :mod:`jepa`, registered through the ``jepa.plugins`` entry point.

>>> import jepa
>>> model = jepa.build("cnn", "attention")            # doctest: +SKIP
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from jepa_plugins_vision.cnn import CNNEncoder
from jepa_plugins_vision.datasets import ImageDataset, ImageFolderDataset, digits, image_array, image_folder
from jepa_plugins_vision.hf import HFVisionEncoder, VJEPA2Predictor
from jepa_plugins_vision.maskers import MultiBlockMasker, TubeMasker
from jepa_plugins_vision.transforms import (
    Compose,
    Normalize,
    RandomHorizontalFlip,
    RandomResizedCrop,
    Resize,
    image_transform,
)
from jepa_plugins_vision.vit import PRESETS, VisionTransformer

try:  # one version source: the distribution's metadata (pyproject.toml)
    __version__ = _distribution_version("jepa-plugins-vision")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"

#: The familiar name for the ViT.
ViTEncoder = VisionTransformer

__all__ = [
    "PRESETS",
    "CNNEncoder",
    "HFVisionEncoder",
    "Compose",
    "ImageDataset",
    "ImageFolderDataset",
    "MultiBlockMasker",
    "Normalize",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "Resize",
    "TubeMasker",
    "VJEPA2Predictor",
    "ViTEncoder",
    "VisionTransformer",
    "__version__",
    "digits",
    "image_array",
    "image_folder",
    "image_transform",
]
