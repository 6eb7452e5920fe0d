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
