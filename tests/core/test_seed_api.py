"""The seed design document's API, as written there (bar the import line)."""

from __future__ import annotations

import torch
import torch.nn as nn
from jepa import JEPA, Encoder, Predictor


def test_basic_usage_from_the_seed() -> None:
    encoder = Encoder(hidden_dim=256)
    predictor = Predictor(hidden_dim=256)
    jepa_model = JEPA(encoder, predictor)

    # batch-first: (batch, time, features) where the seed writes (time, batch, features)
    state_t = torch.randn(4, 12, 256)
    state_t1 = torch.randn(4, 12, 256)
    pred, target = jepa_model(state_t, state_t1)
    loss = jepa_model.loss(pred, target)

    assert pred.shape == target.shape == (4, 256)
    assert loss.dim() == 0 and loss.item() > 0
    loss.backward()
    assert encoder.input_proj.weight.grad is not None, "gradients reach the online encoder"
    assert not target.requires_grad, "the target branch is under stop-gradient"


class CustomCNNEncoder(nn.Module):
    def __init__(self, input_channels, hidden_dim):
        super().__init__()
        self.conv_net = nn.Sequential(
            nn.Conv2d(input_channels, 64, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((1, 1)),
            nn.Flatten(),
            nn.Linear(64, hidden_dim),
        )

    def forward(self, x):
        return self.conv_net(x)


class CustomPredictor(nn.Module):
    def __init__(self, hidden_dim):
        super().__init__()
        self.predictor = nn.Linear(hidden_dim, hidden_dim)

    def forward(self, x):
        return self.predictor(x)


def test_custom_cnn_encoder_and_predictor_from_the_seed() -> None:
    custom_encoder = CustomCNNEncoder(input_channels=3, hidden_dim=256)
    custom_predictor = CustomPredictor(hidden_dim=256)
    jepa_model = JEPA(custom_encoder, custom_predictor)

    batch_size, channels, height, width = 4, 3, 32, 32  # the seed uses 224x224; smaller keeps tests fast
    state_t = torch.randn(batch_size, channels, height, width)
    state_t1 = torch.randn(batch_size, channels, height, width)
    pred, target = jepa_model(state_t, state_t1)
    assert pred.shape == target.shape == (4, 256)

    optimizer = torch.optim.SGD([p for p in jepa_model.parameters() if p.requires_grad], lr=0.1)
    before = jepa_model.loss(pred, target).item()
    for _ in range(5):
        pred, target = jepa_model(state_t, state_t1)
        loss = jepa_model.loss(pred, target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    pred, target = jepa_model(state_t, state_t1)
    assert jepa_model.loss(pred, target).item() < before, "training on a fixed pair lowers its loss"


def test_unregistered_custom_modules_explain_how_to_save(tmp_path) -> None:
    import jepa
    import pytest

    model = JEPA(CustomCNNEncoder(3, 16), CustomPredictor(16))
    with pytest.raises(jepa.SpecError) as info:
        model.save_pretrained(tmp_path / "model")
    assert (
        "register its class: in a plugin, with registry.add('encoder', 'a_name', CustomCNNEncoder) in its "
        "jepa_register hook; in a notebook or script, with @jepa.register('encoder', 'a_name')"
    ) in str(info.value)
    assert not (tmp_path / "model").exists(), "a failed save leaves nothing behind"
