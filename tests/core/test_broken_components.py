"""A masker or loss that breaks its contract is named, with what it did wrong, on the
first batch: not blamed on the data, not a traceback from deep inside the engine."""

from __future__ import annotations

import jepa
import pytest
import torch
from torch import nn

SETTINGS = {"steps": 2, "batch_size": 8, "warmup_steps": 0, "progress": False, "plot": False}
ENCODER = {"input_dim": 2, "hidden_dim": 8, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 6}


def _train(masker: str = "random", loss: str = "smooth_l1") -> None:
    model = jepa.build("transformer", "attention", masker=masker, loss=loss, encoder=ENCODER, predictor={"depth": 1})
    jepa.Trainer(model, torch.utils.data.TensorDataset(torch.randn(16, 6, 2)), SETTINGS).fit()


def _register_masker(name: str, draw) -> None:
    class Broken:
        def __call__(self, batch_size: int, generator=None):
            return draw(batch_size)

    jepa.register("masker", name)(Broken)


def _index(batch_size: int, values: list[int]) -> torch.Tensor:
    return torch.tensor(values).repeat(batch_size, 1)


def test_a_masker_that_breaks_the_contract_is_named_with_what_it_did(fresh_registry) -> None:
    _register_masker("seeing", lambda b: jepa.Masks(_index(b, [0, 1, 2, 3]), (_index(b, [3, 4]),)))
    with pytest.raises(jepa.SpecError, match=r"masker 'local:seeing' put 8 target token\(s\) in the context") as err:
        _train("seeing")
    assert err.value.path == "masker"
    _register_masker("outside", lambda b: jepa.Masks(_index(b, [0, 1]), (_index(b, [5, 9]),)))
    with pytest.raises(jepa.SpecError, match=r"'local:outside' gave target block 0 indices from 5 to 9, outside the 6"):
        _train("outside")
    _register_masker("a_tuple", lambda b: (_index(b, [0, 1]), (_index(b, [4]),)))
    with pytest.raises(jepa.SpecError, match=r"'local:a_tuple' returned a tuple; a masker returns jepa.Masks"):
        _train("a_tuple")


def test_a_loss_that_fails_is_named_not_the_data(fresh_registry) -> None:
    class NeedsNoContext(nn.Module):
        def forward(self, pred, target, context=None):
            if context is not None:
                raise RuntimeError("context not supported")
            return (pred - target).abs().mean()

    class PerToken(nn.Module):
        def forward(self, pred, target):
            return (pred - target).abs().mean(dim=-1).flatten()

    class Detached(nn.Module):
        def forward(self, pred, target):
            return (pred - target).abs().mean().detach()

    class PerSampleTerm(nn.Module):
        def forward(self, pred, target):
            per = (pred - target).abs().flatten(1).mean(1)
            return {"loss": per.mean(), "per_sample": per}

    class Infinite(nn.Module):
        def forward(self, pred, target):
            return (pred - target).abs().mean() / 0.0

    broken = (("no_context", NeedsNoContext), ("per_token", PerToken), ("detached", Detached))
    for name, loss in (*broken, ("per_sample_term", PerSampleTerm)):
        jepa.register("loss", name)(loss)
    jepa.register("loss", "infinite")(Infinite)
    with pytest.raises(jepa.SpecError, match=r"loss 'local:no_context' failed on the first batch: RuntimeError") as err:
        _train(loss="no_context")
    assert err.value.path == "loss"
    with pytest.raises(jepa.SpecError, match=r"'local:per_token' returned shape \(\d+,\); a loss returns a scalar"):
        _train(loss="per_token")
    with pytest.raises(jepa.SpecError, match=r"'local:per_sample_term' returned 'per_sample' of shape \(8,\); every"):
        _train(loss="per_sample_term")
    with pytest.raises(jepa.TrainingError, match=r"loss 'local:detached' gave a value with no gradient"):
        _train(loss="detached")
    with pytest.raises(jepa.TrainingError, match=r"though the batch is finite: .* loss 'local:infinite' gives NaN/Inf"):
        _train(loss="infinite")


def test_the_conformance_suite_fails_the_same_losses(fresh_registry) -> None:
    from jepa.testing import conformance_suite
    from jepa_core.registry import get_registry

    class Detached(nn.Module):
        def forward(self, pred, target):
            return (pred - target).abs().mean().detach()

    class PerSampleTerm(nn.Module):
        def forward(self, pred, target):
            return {"loss": (pred - target).abs().mean(), "per_sample": (pred - target).abs().flatten(1).mean(1)}

    class PerElement(nn.Module):
        def forward(self, pred, target):
            return (pred - target).abs()

    class NoLossKey(nn.Module):
        def forward(self, pred, target):
            return {"l1": (pred - target).abs().mean()}

    suite = conformance_suite("local")()
    for name, loss, says in (
        ("detached", Detached, "the value has no gradient"),
        ("per_sample_term", PerSampleTerm, "its dict's 'per_sample' is shape"),
        # the shape and what to do, as training says, not the whole tensor
        ("per_element", PerElement, r"returned shape \(8, 4, 16\); a loss returns a scalar tensor \(reduce it"),
        ("no_loss_key", NoLossKey, "returned a dict without 'loss'; a loss returns a scalar tensor"),
    ):
        jepa.register("loss", name)(loss)
        with pytest.raises(pytest.fail.Exception, match=says):
            suite.test_loss_is_a_differentiable_scalar(get_registry().resolve("loss", name))


def test_model_step_says_which_component_raised(fresh_registry) -> None:
    class NeedsNoContext(nn.Module):
        def forward(self, pred, target, context=None):
            raise RuntimeError("context not supported")

    jepa.register("loss", "no_context")(NeedsNoContext)
    model = jepa.build("transformer", "attention", masker="random", loss="no_context", encoder=ENCODER)
    with pytest.raises(RuntimeError, match="context not supported") as raised:
        model.step(torch.randn(4, 6, 2))
    assert any(
        note.startswith("raised by loss 'local:no_context', given pred and target of shape (4, ")
        and ", context shape (4, " in note
        for note in raised.value.__notes__
    )


def test_registering_the_loss_function_itself_says_what_to_register(fresh_registry) -> None:
    def l1(pred, target):
        return (pred - target).abs().mean()

    with pytest.raises(TypeError, match=r"loss 'plain': l1\(pred, target\) is the loss itself; register a class"):
        jepa.register("loss", "plain")(l1)

    def l1_factory(scale: float = 1.0):  # a function of the loss's settings that returns the loss: fine
        return lambda pred, target: scale * (pred - target).abs().mean()

    jepa.register("loss", "scaled_l1")(l1_factory)
    assert jepa.build_component("loss", {"name": "scaled_l1", "params": {"scale": 2.0}}) is not None
