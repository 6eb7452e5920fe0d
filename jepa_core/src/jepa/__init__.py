"""jepa: Joint-Embedding Predictive Architectures for PyTorch.

The public face of ``jepa-core``; the implementation lives in ``jepa_core``.
Components come from the core (scope ``jepa:``) and from installed plugins,
discovered on first use through the ``jepa.plugins`` entry point group.

>>> import jepa
>>> model = jepa.build("mlp", "mlp", encoder={"input_dim": 8, "hidden_dim": 16})
>>> [c.qualname for c in jepa.list_components("loss", "*l1*")]
['jepa:l1', 'jepa:smooth_l1']
"""

from jepa_core.api import build_component, describe, list_components, load, register, spec_of
from jepa_core.components.encoders import MLPEncoder, TransformerEncoder
from jepa_core.components.predictors import AttentionPredictor, MLPPredictor, RecurrentPredictor
from jepa_core.devices import resolve_device
from jepa_core.errors import (
    AmbiguousComponentError,
    CheckpointError,
    JEPAError,
    PluginError,
    SpecError,
    TokenCountError,
    UnknownComponentError,
    WiringError,
)
from jepa_core.factory import build
from jepa_core.first_party import install_command
from jepa_core.hookspecs import PLUGIN_API_VERSION, hookimpl
from jepa_core.masks import Masks
from jepa_core.metrics import embedding_std, rankme
from jepa_core.model import JEPA, BaseModel, StepOutput
from jepa_core.registry import KINDS, Component, capture_arguments
from jepa_core.runs import AttentiveSpec, EvalSpec, RunSpec, load_run_spec, train_run
from jepa_core.specs import (
    ComponentSpec,
    EncoderSpec,
    LossSpec,
    MaskerSpec,
    ModelSpec,
    PredictorSpec,
    TargetSpec,
    component_field,
)
from jepa_core.training import Trainer, TrainingError, TrainingInterrupted, TrainSpec, read_metrics
from jepa_core.validation import SpecModel

# the public submodules (``import jepa.layers`` works too): what plugins build with
from jepa import contracts, evaluation, hf, layers, limits
from jepa_core import __version__

#: Familiar names: ``Encoder`` is the transformer encoder for sequential data,
#: ``Predictor`` the MLP predictor.
Encoder = TransformerEncoder
Predictor = MLPPredictor

__all__ = [
    "KINDS",
    "PLUGIN_API_VERSION",
    "JEPA",
    "AmbiguousComponentError",
    "AttentionPredictor",
    "AttentiveSpec",
    "BaseModel",
    "CheckpointError",
    "EvalSpec",
    "RunSpec",
    "TrainSpec",
    "Trainer",
    "TrainingError",
    "TrainingInterrupted",
    "capture_arguments",
    "load_run_spec",
    "train_run",
    "Component",
    "ComponentSpec",
    "Encoder",
    "EncoderSpec",
    "JEPAError",
    "LossSpec",
    "MLPEncoder",
    "MLPPredictor",
    "MaskerSpec",
    "Masks",
    "ModelSpec",
    "PluginError",
    "Predictor",
    "PredictorSpec",
    "RecurrentPredictor",
    "SpecError",
    "SpecModel",
    "StepOutput",
    "TargetSpec",
    "TokenCountError",
    "TransformerEncoder",
    "UnknownComponentError",
    "WiringError",
    "__version__",
    "build",
    "build_component",
    "component_field",
    "contracts",
    "describe",
    "embedding_std",
    "evaluation",
    "hf",
    "hookimpl",
    "install_command",
    "layers",
    "limits",
    "list_components",
    "load",
    "rankme",
    "read_metrics",
    "register",
    "resolve_device",
    "spec_of",
]
