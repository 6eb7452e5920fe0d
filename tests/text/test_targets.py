"""data2vec targets of the text transformer: ``target_layers`` averages the top-K
blocks' normalised outputs, for the engine's target branch only."""

from __future__ import annotations

import jepa
import pytest
import torch
import torch.nn.functional as F
from jepa_core.errors import SpecError
from jepa_core.masks import Masks

from jepa_plugins_text import TextTransformerEncoder


def encoder(**overrides) -> TextTransformerEncoder:
    torch.manual_seed(0)
    params = {"tokenizer": "bytes", "hidden_dim": 32, "depth": 3, "heads": 4, "pool": "none", "target_layers": 2}
    module = TextTransformerEncoder(**{**params, **overrides}).eval()
    with torch.no_grad():  # a trained-looking final norm, so its output differs from a plain layer norm
        module.norm.weight.uniform_(0.5, 1.5)
        module.norm.bias.normal_(0.0, 0.3)
    return module


def block_outputs(module: TextTransformerEncoder, *args, **kwargs) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """The plain forward's output and every block's output, read with forward hooks."""
    seen: list[torch.Tensor] = []
    hooks = [block.register_forward_hook(lambda _m, _i, out: seen.append(out)) for block in module.blocks]
    try:
        out = module(*args, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
    return out, seen


def test_the_target_is_the_average_of_the_top_layers_each_layer_normed():
    module = encoder(target_layers=2)
    ids = torch.randint(4, 260, (2, 7))
    plain, layers = block_outputs(module, ids)
    expected = (F.layer_norm(layers[1], (32,)) + F.layer_norm(layers[2], (32,))) / 2
    target = module(ids, target=True)
    torch.testing.assert_close(target, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(target, plain, atol=1e-3)


def test_one_target_layer_is_the_layer_normed_last_layer():
    module = encoder(target_layers=1)
    ids = torch.randint(4, 260, (2, 7))
    plain, layers = block_outputs(module, ids)
    torch.testing.assert_close(module(ids, target=True), F.layer_norm(layers[-1], (32,)), atol=1e-5, rtol=1e-5)
    # the ordinary output is the final norm with its learnt scale, not the target
    torch.testing.assert_close(plain, module.norm(layers[-1]), atol=1e-5, rtol=1e-5)
    assert not torch.allclose(plain, module(ids, target=True), atol=1e-3)


def test_instance_norm_normalises_each_feature_over_the_real_tokens():
    module = encoder(target_layers=1, target_norm="instance")
    ids = torch.randint(4, 260, (2, 9))
    _, layers = block_outputs(module, ids)
    last = layers[-1]
    expected = (last - last.mean(1, keepdim=True)) / torch.sqrt(last.var(1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(module(ids, target=True), expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("norm", ["layer", "instance"])
def test_padding_changes_no_target(norm):
    module = encoder(target_norm=norm)
    ids = torch.randint(4, 260, (2, 6))
    base = module(ids, target=True)
    padded = torch.cat([ids, torch.randint(4, 260, (2, 4))], dim=1)
    padding = torch.zeros(2, 10, dtype=torch.bool)
    padding[:, 6:] = True
    out = module(padded, padding_mask=padding, target=True)
    torch.testing.assert_close(out[:, :6], base, atol=1e-5, rtol=1e-5)
    # padded slots hold the mean of the real targets, so a plain token mean is the padding-aware pool
    torch.testing.assert_close(out.mean(1), base.mean(1), atol=1e-5, rtol=1e-5)


def test_only_the_target_branch_gets_the_averaged_layers():
    module = encoder()
    ids = torch.randint(4, 260, (2, 7))
    plain = module(ids)  # probes, JEPA.embed, the context
    target = module(ids, target=True)
    assert not torch.allclose(plain, target, atol=1e-3)
    module.train()  # dropout is 0: train mode changes nothing
    torch.testing.assert_close(module(ids), plain)
    torch.testing.assert_close(module(ids, target=True), target)


def test_without_target_layers_the_target_branch_is_the_usual_output():
    module = encoder(target_layers=None)
    ids = torch.randint(4, 260, (2, 7))
    torch.testing.assert_close(module(ids, target=True), module(ids))


def test_paired_training_uses_the_averaged_layers_for_the_target_only(fresh_registry):
    model = jepa.build(
        "text_transformer",
        "mlp",
        target="none",
        loss="mse",
        encoder={"tokenizer": "bytes", "hidden_dim": 32, "depth": 3, "heads": 4, "pool": "mean", "target_layers": 2},
    )
    a, b = torch.randint(4, 260, (2, 7)), torch.randint(4, 260, (2, 7))
    pred, target, context = model.views(a, b)
    torch.testing.assert_close(context, model.encoder(a))
    torch.testing.assert_close(target, model.encoder(b, target=True))


def test_the_engine_regresses_the_target_encoders_averaged_layers(fresh_registry):
    torch.manual_seed(0)
    model = jepa.build(
        "text_transformer",
        "attention",
        masker={"name": "span", "params": {"num_targets": 2}},
        loss="mse",
        encoder={
            "tokenizer": "bytes",
            "hidden_dim": 32,
            "depth": 2,
            "heads": 4,
            "pool": "none",
            "num_tokens": 12,
            "target_layers": 2,
        },
        predictor={"depth": 1},
    )
    assert model.target_encoder.target_layers == 2
    batch = model.encoder.tokenizer(
        ["a short text", "another, somewhat longer text"], max_length=12, padding="max_length"
    )
    masks = Masks(
        context=torch.tensor([[0, 1, 2, 5], [0, 1, 2, 5]]),
        targets=(torch.tensor([[3, 4], [3, 4]]), torch.tensor([[6, 7], [6, 7]])),
    )
    model.train()
    _, target = model(batch, masks=masks)
    full = model.target_encoder(batch["x"], padding_mask=batch["padding_mask"], target=True)
    torch.testing.assert_close(target, full[:, [3, 4, 6, 7]])
    out = model.step(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss) and model.encoder.token_embedding.weight.grad is not None
    model.eval()  # what the probes see is the ordinary output
    plain = model.target_encoder(batch["x"], padding_mask=batch["padding_mask"]).mean(1)
    torch.testing.assert_close(model.embed(batch), plain)


def test_target_layers_is_validated_and_saved(fresh_registry, tmp_path):
    with pytest.raises(SpecError, match="target_layers"):
        jepa.build(
            "text_transformer",
            "attention",
            masker="span",
            encoder={
                "tokenizer": "bytes",
                "hidden_dim": 32,
                "depth": 2,
                "pool": "none",
                "num_tokens": 16,
                "target_layers": 3,
            },
        )
    model = jepa.build(
        "text_transformer",
        "attention",
        masker="span",
        predictor={"depth": 1},
        encoder={
            "tokenizer": "bytes",
            "hidden_dim": 32,
            "depth": 2,
            "pool": "none",
            "num_tokens": 16,
            "target_layers": 2,
            "target_norm": "instance",
        },
    )
    loaded = jepa.load(model.save_pretrained(tmp_path / "model"))
    assert (loaded.encoder.target_layers, loaded.target_encoder.target_norm) == (2, "instance")


def test_zero_target_layers_is_the_normalised_token_embedding_with_no_context_mixed_in():
    module = encoder(target_layers=0)
    ids = torch.randint(4, 260, (2, 7))
    target = module(ids, target=True)
    torch.testing.assert_close(target, F.layer_norm(module.token_embedding(ids), (32,)))
    changed = ids.clone()
    changed[:, 0] = (ids[:, 0] + 1 - 4) % 256 + 4  # another first token changes no other token's target
    torch.testing.assert_close(module(changed, target=True)[:, 1:], target[:, 1:])
    assert not torch.allclose(module(changed)[:, 1:], module(ids)[:, 1:], atol=1e-4)  # the output does mix
