"""The jepa conformance suite over every component the vision plugin registers."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TINY_IJEPA = {
    "model_type": "ijepa",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "image_size": 16,
    "patch_size": 4,
}
# width 16: the suite checks predictors on 16-wide context tokens
TINY_VJEPA2 = {
    "model_type": "vjepa2",
    "hidden_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "crop_size": 16,
    "patch_size": 4,
    "frames_per_clip": 4,
    "pred_hidden_size": 16,
    "pred_num_attention_heads": 2,
    "pred_num_hidden_layers": 2,
    "pred_num_mask_tokens": 2,
}

TestVisionConformance = conformance_suite(
    "vision",
    params={
        "vision:vit": {"image_size": 16, "patch_size": 4, "depth": 2},
        "vision:cnn": {"widths": [8, 16], "hidden_dim": 16, "pool": "none", "image_size": 16},
        "vision:tube": {"grid": [2, 4, 4]},
        "vision:hf_vision": {"config": TINY_IJEPA},
        "vision:vjepa2_predictor": {"config": TINY_VJEPA2},
    },
    inputs={
        "vision:vit": lambda batch: torch.randn(batch, 3, 16, 16),
        "vision:cnn": lambda batch: torch.randn(batch, 3, 16, 16),
    },
)
