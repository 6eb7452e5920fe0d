"""The engine's three modes, target branches, math of the losses and collapse metrics."""

from __future__ import annotations

import copy

import jepa
import numpy as np
import pytest
import torch
from jepa_core.components.losses import SIGRegLoss, VICRegLoss, epps_pulley, vicreg_variance
from jepa_core.components.predictors import AttentionPredictor

TOKENS = {"input_dim": 3, "hidden_dim": 16, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 10}


def masked_model(predictor=None, **options):
    return jepa.build(
        "transformer",
        "attention",
        masker="random",
        encoder=TOKENS,
        predictor=predictor or {"depth": 1, "heads": 2},
        **options,
    )


def test_paired_mode_predicts_the_next_state_embedding() -> None:
    model = jepa.build("transformer", "attention", encoder=TOKENS, predictor={"depth": 1, "heads": 2})
    pred, target = model(torch.randn(2, 10, 3), torch.randn(2, 10, 3))
    assert pred.shape == target.shape == (2, 10, 16)


def test_action_conditioned_mode_uses_the_action() -> None:
    torch.manual_seed(0)
    for predictor in ("mlp", "attention", "recurrent"):
        model = jepa.build("mlp", predictor, encoder={"input_dim": 5, "hidden_dim": 8}, predictor={"action_dim": 2})
        state_t, state_t1 = torch.randn(4, 5), torch.randn(4, 5)
        pred_a, _ = model(state_t, state_t1, action=torch.zeros(4, 2))
        pred_b, _ = model(state_t, state_t1, action=torch.ones(4, 2))
        assert pred_a.shape == (4, 8)
        assert not torch.allclose(pred_a, pred_b), f"{predictor}: the action changes the prediction"
        with pytest.raises(ValueError, match="action"):
            model(state_t, state_t1)


def test_attention_predictor_action_queries_condition_every_query() -> None:
    torch.manual_seed(0)
    model = jepa.build(
        "transformer",
        "attention",
        encoder=TOKENS,
        predictor={"depth": 1, "heads": 2, "action_dim": 2, "action_queries": True},
    )
    state = torch.randn(3, 10, 3)
    context = model.encoder(state)
    predictor = model.predictor
    action = torch.tensor([[1.0, 0.0], [0.0, -2.0], [2.0, 0.0]])
    pred = predictor(context, action=action)
    assert pred.shape == (3, 10, 16)
    # the action token is still an input; each query's input is its mask token + position + the action's embedding
    predictor.action_queries = False
    token_only = predictor(context, action=action)
    assert not torch.allclose(pred, token_only)
    with torch.no_grad():
        predictor.mask_token += predictor.action_embed(action[:1]).unsqueeze(1)
    assert torch.allclose(predictor(context[:1], action=action[:1]), pred[:1], atol=1e-5)


def test_attention_predictor_in_place_starts_from_the_current_state() -> None:
    """Paired and ``in_place``, each context token's own stream is its position's
    prediction: with the blocks' residual branches silenced, token i's prediction
    follows context token i alone, where mask-token queries ignore the context."""
    torch.manual_seed(0)
    context = torch.randn(2, 6, 8)
    action = torch.tensor([[1.0], [-1.0]])
    changed = context.clone()
    changed[:, 2] += 1.0
    for in_place in (True, False):
        predictor = AttentionPredictor(
            hidden_dim=8, depth=1, heads=2, num_tokens=6, action_dim=1, action_queries=True, in_place=in_place
        )
        with torch.no_grad():
            for block in predictor.blocks:
                block.attn.proj.weight.zero_()
                block.attn.proj.bias.zero_()
                block.mlp[-1].weight.zero_()
                block.mlp[-1].bias.zero_()
            moved = (predictor(changed, action=action) - predictor(context, action=action)).abs().sum(-1)
            reversed_action = predictor(context, action=-action)
        if in_place:
            assert moved[:, 2].min() > 0 and moved[:, [0, 1, 3, 4, 5]].max() == 0
            assert not torch.allclose(reversed_action, predictor(context, action=action))
        else:
            assert moved.max() == 0
    predictor = AttentionPredictor(hidden_dim=8, depth=1, heads=2, num_tokens=6, in_place=True)
    with pytest.raises(ValueError, match="in_place=True .* num_tokens=6"):
        predictor(torch.randn(2, 5, 8))
    # where in_place cannot apply it says so rather than being ignored
    with pytest.raises(ValueError, match="pooled .* drop in_place"):
        predictor(torch.randn(2, 8))
    with pytest.raises(ValueError, match="target_idx from a masker"):
        predictor(torch.randn(2, 4, 8), target_idx=torch.tensor([[4, 5], [4, 5]]))


def test_masked_mode_predicts_every_target_block() -> None:
    model = jepa.build(
        "transformer",
        "attention",
        encoder=TOKENS,
        predictor={"depth": 1, "heads": 2},
        masker={"name": "random", "params": {"target_ratio": 0.6, "num_targets": 2}},
    )
    masks = model.masker(3)
    assert masks.overlap() == 0
    pred, target = model(torch.randn(3, 10, 3), masks=masks)
    assert pred.shape == target.shape == (3, 6, 16)


def test_masked_context_never_sees_target_tokens() -> None:
    torch.manual_seed(0)
    model = masked_model().eval()
    masks = model.masker(2, generator=torch.Generator().manual_seed(1))
    x = torch.randn(2, 10, 3)
    pred, _, context = model.views(x, masks=masks)
    changed = x.clone()
    for block in masks.targets:
        for b in range(2):
            changed[b, block[b]] = torch.randn(block.shape[1], 3) * 100
    pred2, target2, context2 = model.views(changed, masks=masks)
    assert torch.allclose(context, context2) and torch.allclose(pred, pred2), "targets leaked into the context"
    assert not torch.allclose(model.views(x, masks=masks)[1], target2), "the targets do see them"


def test_ema_update_matches_a_hand_computation() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 4})
    with torch.no_grad():
        for p in model.encoder.parameters():
            p.add_(1.0)
    online = copy.deepcopy(dict(model.encoder.named_parameters()))
    before = copy.deepcopy(dict(model.target_encoder.named_parameters()))
    assert model.update_target(0.9) == 0.9
    for name, value in model.target_encoder.named_parameters():
        expected = 0.9 * before[name] + 0.1 * online[name]
        assert torch.allclose(value, expected), name
    assert not any(p.requires_grad for p in model.target_encoder.parameters())


def test_the_ema_target_gives_the_same_targets_in_training_mode_however_much_dropout() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 16, "dropout": 0.5}).train()
    assert model.training and model.encoder.training, "the online encoder trains with its dropout"
    assert not model.target_encoder.training, "the target encoder stays in eval mode"
    x, y = torch.randn(8, 4), torch.randn(8, 4)
    _, first = model(x, y)
    _, second = model(x, y)
    assert torch.equal(first, second), "targets take no dropout"
    assert not torch.equal(model.encoder(y), model.encoder(y)), "while the online encoder does"
    assert not copy.deepcopy(model).target_encoder.training and not model.eval().target_encoder.training


def test_momentum_schedule_goes_from_start_to_end() -> None:
    model = jepa.build("mlp", "mlp", target={"mode": "ema", "momentum": 0.996, "final_momentum": 1.0})
    assert model.target_momentum(0.0) == pytest.approx(0.996)
    assert model.target_momentum(0.5) == pytest.approx(0.998)
    assert model.update_target(progress=1.0) == pytest.approx(1.0)


def test_target_modes() -> None:
    x, y = torch.randn(3, 4), torch.randn(3, 4)
    shared = jepa.build("mlp", "mlp", target="shared", encoder={"input_dim": 4, "hidden_dim": 4})
    assert shared.target_encoder is None and shared.update_target() is None
    _, target = shared(x, y)
    assert not target.requires_grad
    assert torch.allclose(target, shared.encoder(y))
    free = jepa.build("mlp", "mlp", target="none", loss="sigreg", encoder={"input_dim": 4, "hidden_dim": 4})
    _, target = free(x, y)
    assert target.requires_grad, "without a target branch gradients flow through both views"


def test_step_returns_loss_parts_and_collapse_metrics() -> None:
    model = jepa.build("mlp", "mlp", loss="vicreg", encoder={"input_dim": 4, "hidden_dim": 8})
    out = model.step((torch.randn(16, 4), torch.randn(16, 4)))
    assert set(out.metrics) >= {
        "loss",
        "invariance",
        "variance",
        "covariance",
        "context_std",
        "context_rankme",
        "target_std",
    }
    assert all(not v.requires_grad for v in out.metrics.values())
    assert 1.0 <= out.scalars()["context_rankme"] <= 8.0
    out.loss.backward()
    masked = masked_model()
    out = masked.step((torch.randn(4, 10, 3), torch.tensor([0, 1, 0, 1])))  # labels are ignored
    assert out.loss.requires_grad


def test_paired_step_takes_two_states_like_the_model_itself() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 8}, predictor={"action_dim": 2})
    state_t, state_t1, action = torch.randn(6, 4), torch.randn(6, 4), torch.randn(6, 2)
    as_call = model.step(state_t, state_t1, action=action)
    as_batch = model.step((state_t, state_t1, action))
    as_mapping = model.step({"state_t": state_t, "state_t1": state_t1, "action": action})
    assert torch.equal(as_call.loss, as_batch.loss) and torch.equal(as_call.loss, as_mapping.loss)
    pred, target = model(state_t, state_t1, action=action)
    assert torch.allclose(as_call.loss, model.loss(pred, target))
    assert not torch.equal(model.step(state_t, state_t1, action=torch.zeros(6, 2)).loss, as_call.loss)
    with pytest.raises(
        ValueError,
        match=r"needs two states, got a Tensor of shape \(6, 4\): call "
        r"model.step\(state_t, state_t1\)",
    ):
        model.step(state_t)
    with pytest.raises(ValueError, match="action is given twice"):
        model.step((state_t, state_t1, action), action=action)


def test_a_masked_model_given_paired_items_says_so_not_that_a_shape_is_wrong() -> None:
    model = jepa.build(
        "transformer", "attention", masker="random", encoder={"input_dim": 2, "pool": "none", "num_tokens": 8}
    )
    pair = {"state_t": torch.randn(4, 8, 2), "state_t1": torch.randn(4, 8, 2)}
    with pytest.raises(jepa.SpecError, match=r"paired items \(state_t, state_t1\) but this model has a masker"):
        model.step(pair)
    with pytest.raises(jepa.SpecError, match="paired items") as info:
        jepa.Trainer(model, torch.utils.data.DataLoader([pair] * 2, batch_size=None), {"steps": 1, "batch_size": 4})
    assert info.value.path == "data"


def test_a_model_built_from_parts_of_different_widths_names_both_and_the_setting() -> None:
    encoder = jepa.MLPEncoder(input_dim=4, hidden_dim=32)
    predictor = jepa.build_component("predictor", {"name": "mlp", "params": {"hidden_dim": 16}})
    with pytest.raises(jepa.WiringError) as info:
        jepa.JEPA(encoder=encoder, predictor=predictor)
    message = str(info.value)
    assert info.value.path == "predictor"
    assert "predicts embeddings of width 16" in message and "has embed_dim 32" in message
    assert "build the predictor with hidden_dim=32" in message
    assert "MLPPredictor ('jepa:mlp')" in message and "MLPEncoder ('jepa:mlp')" in message
    predictor = jepa.build_component("predictor", {"name": "mlp", "params": {"hidden_dim": 32}})
    pred, target = jepa.JEPA(encoder=encoder, predictor=predictor)(torch.randn(2, 4), torch.randn(2, 4))
    assert pred.shape == target.shape == (2, 32)


def test_an_encoder_without_embed_dim_is_named_as_what_the_predictor_lacks(fresh_registry) -> None:
    @jepa.register("encoder", "widthless")
    class Widthless(torch.nn.Module):  # a plugin's encoder that forgot the contract's embed_dim
        def __init__(self, input_dim: int = 4) -> None:
            super().__init__()
            self.net = torch.nn.Linear(input_dim, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    with pytest.raises(jepa.WiringError) as info:
        jepa.build("widthless", "mlp")
    assert info.value.path == "encoder"
    assert "encoder 'local:widthless' has no embed_dim" in str(info.value)
    assert "set self.embed_dim in the encoder's __init__, or set predictor.params.hidden_dim" in str(info.value)
    with pytest.raises(jepa.SpecError) as info:  # a mistake of the predictor's own is still its own
        jepa.build("widthless", "mlp", predictor={"depth": 0})
    assert info.value.path == "predictor.params.depth"
    model = jepa.build("widthless", "mlp", predictor={"hidden_dim": 8})  # the width given by hand works
    assert model(torch.randn(2, 4), torch.randn(2, 4))[0].shape == (2, 8)


def test_a_plugin_masker_whose_token_count_defaults_to_a_number_is_told_to_default_to_none(fresh_registry) -> None:
    @jepa.register("masker", "halves")
    class Halves:  # a plugin author's masker: num_tokens defaults to 8, so jepa.build cannot fill it in
        def __init__(self, num_tokens: int = 8) -> None:
            self.num_tokens = num_tokens

        def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> jepa.Masks:
            ids = torch.arange(self.num_tokens).expand(batch_size, -1)
            return jepa.Masks(context=ids[:, : self.num_tokens // 2], targets=(ids[:, self.num_tokens // 2 :],))

    encoder = {"input_dim": 4, "hidden_dim": 16, "pool": "none", "num_tokens": 12}
    with pytest.raises(jepa.WiringError) as info:
        jepa.build("transformer", "attention", masker="halves", encoder=encoder)
    assert info.value.path == "masker.params.num_tokens"
    assert str(info.value).endswith(
        "has num_tokens=8 but encoder 'jepa:transformer' produces num_tokens=12; 8 is the masker's default, and "
        "only a default of None is filled in from the encoder: declare `num_tokens: ... | None = None` in its "
        "code, or set masker.params.num_tokens=12"
    )
    with pytest.raises(jepa.WiringError, match="remove num_tokens from the masker params to use the encoder's"):
        jepa.build("transformer", "attention", masker={"name": "halves", "params": {"num_tokens": 6}}, encoder=encoder)
    model = jepa.build(
        "transformer", "attention", masker={"name": "halves", "params": {"num_tokens": 12}}, encoder=encoder
    )
    assert model.masker.num_tokens == 12


def _token_parts(
    encoder_tokens: int | None = 5, predictor_tokens: int | None = None
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A token encoder (``num_tokens=None``: it takes any length) and an attention predictor."""
    params = {"input_dim": 6, "pool": "none", "hidden_dim": 16, "depth": 1, "heads": 2, "num_tokens": encoder_tokens}
    encoder = jepa.build_component("encoder", {"name": "transformer", "params": params})
    attention = {"hidden_dim": 16, "depth": 1, "heads": 2, "num_tokens": predictor_tokens}
    return encoder, jepa.build_component("predictor", {"name": "attention", "params": attention})


def test_a_model_built_from_parts_whose_masker_or_predictor_counts_other_tokens_names_both() -> None:
    encoder, predictor = _token_parts()
    with pytest.raises(jepa.WiringError) as info:
        jepa.JEPA(encoder, predictor, masker={"name": "random", "params": {"num_tokens": 9}})
    assert info.value.path == "masker"
    assert str(info.value) == (
        "masker: masker RandomMasker ('jepa:random') has num_tokens=9 but encoder TransformerEncoder "
        "('jepa:transformer') produces num_tokens=5: the masker draws masks for the encoder's tokens, so the "
        "two must be equal; build the masker with num_tokens=5 (the encoder's), or let jepa.build make the "
        "parts: it sets the masker's from the encoder"
    )
    with pytest.raises(jepa.WiringError) as info:
        jepa.JEPA(*_token_parts(encoder_tokens=5, predictor_tokens=7))
    assert info.value.path == "predictor"
    message = str(info.value)
    assert "predictor AttentionPredictor ('jepa:attention') has num_tokens=7 but encoder" in message
    assert "build the predictor with num_tokens=5 (the encoder's)" in message
    right = jepa.JEPA(*_token_parts(5, 5), masker={"name": "random", "params": {"num_tokens": 5}})
    assert torch.isfinite(right.step(torch.randn(2, 5, 6)).loss), "parts that agree train"


def test_a_masker_that_draws_for_another_token_count_than_the_data_is_named_with_what_to_set() -> None:
    encoder, predictor = _token_parts(encoder_tokens=None)  # an encoder that takes any length
    model = jepa.JEPA(encoder, predictor, masker={"name": "random", "params": {"num_tokens": 9}})
    with pytest.raises(jepa.SpecError) as info:
        model.step(torch.randn(2, 5, 6))
    assert info.value.path == "masker.params.num_tokens"
    message = str(info.value)
    assert "the data gives 5 tokens per item (encoder 'jepa:transformer' takes any length) but masker " in message
    assert message.endswith(
        "'jepa:random' draws masks for 9 (masks would point past its last token); "
        "set masker.params.num_tokens to 5, what the data gives"
    )
    assert "encoder.params" not in message, "the encoder is not the part to change"


def test_a_pair_of_states_of_two_batch_sizes_is_named_as_such() -> None:
    model = jepa.build("transformer", "mlp", encoder={"input_dim": 8, "hidden_dim": 16, "depth": 1})
    with pytest.raises(ValueError, match=r"^state_t holds 4 items and state_t1 3: the two states of a pair need the"):
        model.step(torch.randn(4, 10, 8), torch.randn(3, 10, 8))
    # what no float32 model takes says so, as model.embed does, rather than torch's matmul error
    with pytest.raises(TypeError, match=r"^model.step was given float64 values but the encoder's weights are float32"):
        model.step(torch.randn(4, 10, 8, dtype=torch.float64), torch.randn(4, 10, 8, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"^model.step takes a tensor .*, got a numpy.ndarray: convert it"):
        model.step(np.zeros((4, 10, 8)), np.zeros((4, 10, 8)))


def test_rankme_and_std_detect_collapse() -> None:
    torch.manual_seed(0)
    healthy = torch.randn(256, 32)
    collapsed = torch.randn(256, 1) * torch.ones(1, 32) + 0.01 * torch.randn(256, 32)
    assert jepa.rankme(healthy) > 25
    assert jepa.rankme(collapsed) < 3
    assert jepa.embedding_std(torch.ones(64, 32)) < 1e-6
    assert jepa.embedding_std(healthy) == pytest.approx(32**-0.5, rel=0.1)
    assert jepa.embedding_std(healthy.numpy()) == jepa.embedding_std(healthy), "an array is read as a tensor"
    for metric in (jepa.embedding_std, jepa.rankme):  # one vector, or none, is no batch: refused, not a number
        with pytest.raises(ValueError, match=r"embeddings of shape \(32,\) are not a batch"):
            metric(healthy[0])
        with pytest.raises(ValueError, match=r"embeddings of shape \(0, 32\) are not a batch"):
            metric(healthy[:0])


def test_sigreg_refuses_a_single_embedding_and_the_trainer_names_it_first() -> None:
    model = jepa.build("mlp", "mlp", loss="sigreg", encoder={"input_dim": 4, "hidden_dim": 8})
    data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randn(32, 4))
    spec = {"steps": 2, "batch_size": 4, "accumulate": 4, "warmup_steps": 0, "progress": False}
    with pytest.raises(
        jepa.SpecError, match=r"^loss: loss 'jepa:sigreg' failed on the first batch: ValueError: SIGReg"
    ):
        jepa.Trainer(model, data, spec).fit()
    two = {**spec, "accumulate": 2}  # two items a micro-batch: a distribution to test
    assert len(jepa.Trainer(model, data, two).fit()) == 2


def test_rankme_ignores_a_common_offset_and_reads_one_point_as_rank_one() -> None:
    # a freshly initialised encoder puts most of its output in an offset every sample
    # shares: that is no direction, and must not read as collapse (uncentred it did)
    torch.manual_seed(0)
    offset = 10.0 * torch.randn(1, 32)
    spread = offset + 0.05 * torch.randn(256, 32)
    assert jepa.rankme(spread) > 25
    assert jepa.rankme(spread) == pytest.approx(float(jepa.rankme(spread - offset)), rel=1e-3)
    assert jepa.rankme(offset.expand(256, 32)) == 1.0, "every sample the same: one point, not the rank of noise"
    assert jepa.rankme(offset + 1e-6 * torch.randn(256, 32)) == 1.0
    line = offset + torch.randn(256, 1) @ torch.randn(1, 32) + 1e-3 * torch.randn(256, 32)
    assert jepa.rankme(line) < 1.2, "a line away from the origin is still a line"
    assert jepa.rankme(torch.zeros(8, 32)) == 1.0 and jepa.rankme(torch.randn(1, 32)) == 1.0
    broken = spread.clone()
    broken[3, 5] = float("nan")
    assert torch.isnan(jepa.rankme(broken)), "a non-finite embedding shows in the metric"


def test_vicreg_variance_term_is_zero_for_unit_std() -> None:
    z = torch.randn(512, 16)
    z = (z - z.mean(0)) / z.std(0)
    assert vicreg_variance(z).item() == 0.0
    assert vicreg_variance(z * 0.1).item() > 0.8
    parts = VICRegLoss()(z, z)
    assert parts["invariance"].item() == 0.0 and parts["variance"].item() == 0.0


def test_sigreg_is_small_on_gaussians_and_large_on_collapse() -> None:
    torch.manual_seed(0)
    loss = SIGRegLoss(num_slices=128)
    gaussian = loss.sigreg(torch.randn(1024, 32))
    collapsed = loss.sigreg(torch.randn(1024, 1).expand(-1, 32) * 0.1)
    shifted = loss.sigreg(torch.randn(1024, 32) + 3.0)
    # under the null the expected statistic is the integral of (1 - phi^2) * phi over [-3, 3], about 1.06
    assert gaussian < 2.0, f"Epps-Pulley statistic of true Gaussians is O(1), got {gaussian}"
    assert collapsed > 50 * gaussian and shifted > 50 * gaussian


def test_epps_pulley_and_its_gradient_follow_the_characteristic_function() -> None:
    # the statistic and its gradient, written out with a recurrence over the knots, are
    # the ones autograd gives through cos and sin evaluated at every knot
    torch.manual_seed(0)
    x = (torch.randn(300, 5, dtype=torch.float64) * 1.5 + 0.4).requires_grad_()
    t = torch.linspace(0.0, 2.5, 9, dtype=torch.float64)
    phi = torch.exp(-0.5 * t**2)
    xt = x.unsqueeze(-1) * t
    gap = (torch.cos(xt).mean(0) - phi) ** 2 + torch.sin(xt).mean(0) ** 2
    expected = 300 * 2.0 * torch.trapezoid(gap * phi, t, dim=-1)
    weights = torch.rand(5, dtype=torch.float64)
    statistic = epps_pulley(x, knots=9, t_max=2.5)
    torch.testing.assert_close(statistic, expected)
    (grad,) = torch.autograd.grad((statistic * weights).sum(), x)
    (expected_grad,) = torch.autograd.grad((expected * weights).sum(), x)
    torch.testing.assert_close(grad, expected_grad)
    assert torch.autograd.gradcheck(lambda z: epps_pulley(z, knots=5, t_max=3.0), (x[:20].detach().requires_grad_(),))


def test_sigreg_prediction_term_is_mse_or_l1() -> None:
    pred, target = torch.zeros(4, 3, 8), torch.full((4, 3, 8), 2.0)
    assert SIGRegLoss(lam=0.0)(pred, target)["prediction"].item() == 4.0
    assert SIGRegLoss(lam=0.0, prediction="l1")(pred, target)["prediction"].item() == 2.0
    with pytest.raises(jepa.SpecError, match="loss.params.prediction"):
        jepa.build("mlp", "mlp", loss={"name": "sigreg", "params": {"prediction": "l2"}}, encoder={"input_dim": 4})


def test_sigreg_training_spreads_embeddings_without_a_target_branch() -> None:
    torch.manual_seed(0)
    model = jepa.build(
        "mlp",
        "mlp",
        loss={"name": "sigreg", "params": {"lam": 0.5}},
        target="none",
        encoder={"input_dim": 8, "hidden_dim": 8},
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    data = torch.randn(256, 8)
    first = None
    for _ in range(60):
        out = model.step((data, data + 0.05 * torch.randn_like(data)))
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        first = first if first is not None else out.scalars()["sigreg"]
    assert out.scalars()["sigreg"] < first / 2


def test_infonce_is_low_when_predictions_match_their_targets() -> None:
    from jepa_core.components.losses import InfoNCELoss

    z = torch.randn(32, 16)
    matched = InfoNCELoss(temperature=0.05)(z, z)
    shuffled = InfoNCELoss(temperature=0.05)(z, z[torch.randperm(32)])
    assert matched["accuracy"].item() == 1.0 and matched["loss"] < shuffled["loss"]


def test_losses_reject_mismatched_shapes() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 4})
    with pytest.raises(ValueError, match="does not match target shape"):
        model.loss(torch.randn(2, 4), torch.randn(2, 5))


def test_auto_device_and_moving_keeps_the_target_in_step() -> None:
    assert jepa.resolve_device("auto").type in ("cuda", "mps", "cpu")
    model = jepa.build("mlp", "mlp", device="auto")
    assert model.device == jepa.resolve_device("auto")
    model.to("cpu")
    assert {p.device.type for p in model.target_encoder.parameters()} == {"cpu"}
    model.to("auto")
    assert next(model.target_encoder.parameters()).device == model.device


def test_a_batch_shape_the_encoder_cannot_take_gets_a_clear_error() -> None:
    model = jepa.build("mlp", "mlp", encoder={"input_dim": 4, "hidden_dim": 4})
    with pytest.raises(ValueError, match="expects 4 features per sample.*set encoder input_dim=6"):
        model(torch.randn(2, 6), torch.randn(2, 6))
    with pytest.raises(ValueError, match="no masker"):
        model(torch.randn(2, 4))


def test_packed_predictor_equals_one_pass_per_block_under_the_same_rule() -> None:
    torch.manual_seed(0)
    packed = masked_model(predictor={"depth": 2, "heads": 2})  # packed is the default
    with torch.no_grad():  # larger weights than at init, so attention patterns matter
        for parameter in packed.predictor.parameters():
            parameter.mul_(20.0)
    per_block = jepa.build(
        "transformer",
        "attention",
        masker="random",
        encoder=TOKENS,
        predictor={"depth": 2, "heads": 2, "packed": False, "isolate_context": True},
    )
    per_block.load_state_dict(packed.state_dict())
    masks = jepa.Masks(
        context=torch.tensor([[0, 2, 5], [1, 3, 4]]),
        targets=(torch.tensor([[1, 3], [0, 2]]), torch.tensor([[6, 7], [8, 9]]), torch.tensor([[4, 8], [5, 6]])),
    )
    x = torch.randn(2, 10, 3)
    pred_packed, target_packed = packed.eval()(x, masks=masks)
    pred_blocks, target_blocks = per_block.eval()(x, masks=masks)
    assert torch.allclose(pred_packed, pred_blocks, atol=1e-5)
    assert torch.equal(target_packed, target_blocks)
    reference = jepa.build(
        "transformer", "attention", masker="random", encoder=TOKENS, predictor={"depth": 2, "heads": 2, "packed": False}
    )
    reference.load_state_dict(packed.state_dict())
    assert not torch.allclose(reference.eval()(x, masks=masks)[0], pred_blocks, atol=1e-4), (
        "the reference rule (context sees the mask tokens) differs"
    )


def test_mapping_batches_feed_every_input_but_labels_to_the_encoder() -> None:
    encoder = dict(TOKENS, pool="none")
    model = jepa.build("transformer", "attention", masker="random", encoder=encoder, predictor={"depth": 1})
    x = torch.randn(2, 10, 3)
    padding = torch.zeros(2, 10, dtype=torch.bool)
    padding[1, 6:] = True
    out = model.step({"x": x, "padding_mask": padding, "y": torch.tensor([0, 1])})
    assert torch.isfinite(out.loss)
    pooled = model.embed({"x": x, "padding_mask": padding})
    tokens = model.target_encoder(x, padding_mask=padding)
    assert torch.allclose(pooled[1], tokens[1, :6].mean(0), atol=1e-6), "padded tokens do not count in the mean"


def test_a_predictor_giving_fewer_embeddings_than_target_tokens_is_told_apart_from_a_width_mismatch() -> None:
    model = jepa.build(
        "transformer", "recurrent", encoder={"input_dim": 8, "hidden_dim": 32, "pool": "none", "num_tokens": 10}
    )
    x = torch.randn(4, 10, 8)
    with pytest.raises(ValueError, match=r"gives 1 embedding\(s\) per item where the target has 10 tokens") as info:
        model.step(x, x)
    assert "width" not in str(info.value), "the widths agree (32): only the number of embeddings does not"
