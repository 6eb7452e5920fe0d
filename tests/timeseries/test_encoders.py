"""Encoders: shapes, variable lengths and padding, NaN handling, masking, causality."""

from __future__ import annotations

import jepa
import pytest
import torch
from jepa_plugins_timeseries.encoders import PatchTransformerEncoder, TCNEncoder, TemporalEncoder
from jepa_plugins_timeseries.inputs import as_series_batch, masked_pool

NAN = float("nan")


def small(cls, **params):
    torch.manual_seed(0)
    defaults = {"input_dim": 3, "hidden_dim": 16}
    if cls is TCNEncoder:
        defaults["depth"] = 3
    if cls is PatchTransformerEncoder:
        defaults.update(patch_len=4, depth=1, heads=2)
    return cls(**{**defaults, **params}).eval()


ENCODERS = [TemporalEncoder, TCNEncoder, PatchTransformerEncoder]


@pytest.mark.parametrize("cls", ENCODERS)
def test_pooled_and_token_shapes(cls):
    x = torch.randn(5, 24, 3)
    assert small(cls)(x).shape == (5, 16)
    tokens = small(cls, pool="none")(x)
    expected = 6 if cls is PatchTransformerEncoder else 24  # 24 steps / patch_len 4
    assert tokens.shape == (5, expected, 16)


def test_univariate_series_may_omit_the_channel_axis():
    encoder = small(TCNEncoder, input_dim=1)
    x = torch.randn(4, 30)
    assert torch.equal(encoder(x), encoder(x.unsqueeze(-1)))


@pytest.mark.parametrize("cls", ENCODERS)
def test_wrong_channel_count_is_a_clear_error(cls):
    with pytest.raises(
        ValueError, match=r"give it 3-channel series, or, when the data is right, set input_dim to its 4 channels"
    ):
        small(cls)(torch.randn(2, 10, 4))
    with pytest.raises(
        ValueError, match=r"it looks like \(batch, channels, time\): give \(batch, time, channels\)"
    ) as info:
        small(cls)(torch.randn(2, 3, 10))  # a (N, C, T) layout read as (N, T, C)
    assert "set input_dim" not in str(info.value), "the data's channel count is right: only its layout is not"


@pytest.mark.parametrize("cls", ENCODERS)
def test_one_series_or_a_list_of_series_says_how_to_make_a_batch(cls):
    with pytest.raises(ValueError, match=r"got shape \(24, 3\), one series: add the batch axis"):
        small(cls)(torch.randn(24, 3))
    with pytest.raises(TypeError, match=r"got a list: stack the series into one tensor, NaN-padding"):
        small(cls)([torch.randn(24, 3), torch.randn(20, 3)])
    with pytest.raises(TypeError, match=r"got a numpy.ndarray: convert it, torch.as_tensor"):
        small(cls)(torch.randn(2, 24, 3).numpy())
    # univariate: (batch, time) is a batch, but (time, 1) is one series, not `time` series of one step
    assert small(cls, input_dim=1)(torch.randn(2, 24)).shape == (2, 16)
    with pytest.raises(ValueError, match=r"shape \(24, 1\), which reads as 24 series of one step each"):
        small(cls, input_dim=1)(torch.randn(24, 1))


def test_embed_series_given_a_whole_model_says_to_pass_its_encoder():
    from jepa_plugins_timeseries.evaluation import embed_series

    model = jepa.build("tcn", "mlp", encoder={"input_dim": 3, "hidden_dim": 16, "depth": 1})
    with pytest.raises(TypeError, match="pass model.encoder"):
        embed_series(model, [torch.randn(24, 3)])


@pytest.mark.parametrize("cls", ENCODERS)
def test_video_or_images_are_refused_without_an_input_dim_hint(cls):
    with pytest.raises(ValueError, match=r"5-D tensor of shape \(2, 4, 3, 8, 8\)") as info:
        small(cls)(torch.randn(2, 4, 3, 8, 8))
    assert "input_dim to" not in str(info.value)  # no channel count makes video a series


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (TemporalEncoder, {"pool": "last"}),
        (TemporalEncoder, {"pool": "mean", "cell": "lstm", "bidirectional": True}),
        (TCNEncoder, {"pool": "max", "causal": True}),
        (TCNEncoder, {"pool": "mean", "causal": True}),
        (PatchTransformerEncoder, {"pool": "mean"}),
        (PatchTransformerEncoder, {"pool": "max", "channel_independent": True}),
    ],
)
def test_padding_does_not_change_a_series_embedding(cls, params):
    """A short series padded into a longer batch embeds as it does alone."""
    encoder = small(cls, **params)
    short = torch.randn(1, 16, 3)
    alone = encoder(short)
    padded = torch.cat([short, torch.randn(1, 8, 3)], dim=1)  # garbage after the end
    padding_mask = torch.zeros(1, 24, dtype=torch.bool)
    padding_mask[:, 16:] = True
    with_mask = encoder(padded, padding_mask=padding_mask)
    nan_padded = torch.cat([short, torch.full((1, 8, 3), NAN)], dim=1)
    torch.testing.assert_close(with_mask, alone, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(encoder(nan_padded), alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cls", ENCODERS)
def test_variable_length_batch_matches_one_by_one(cls):
    encoder = small(cls, pool="mean") if cls is not TemporalEncoder else small(cls)
    lengths = [24, 9, 17]
    series = [torch.randn(1, n, 3) for n in lengths]
    batch = torch.full((3, 24, 3), NAN)
    for i, s in enumerate(series):
        batch[i, : lengths[i]] = s[0]
    together = encoder(batch)
    if cls is TCNEncoder:  # non-causal convolutions see the (blank) padding as context
        encoder = small(cls, pool="mean", causal=True)
        together = encoder(batch)
    for i, s in enumerate(series):
        torch.testing.assert_close(together[i], encoder(s)[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("cls", ENCODERS)
def test_missing_values_never_become_nan_outputs_or_gradients(cls):
    encoder = small(cls).train()
    x = torch.randn(4, 24, 3)
    x[0, 3:7, 1] = NAN  # a gap in one channel
    x[1, :, :] = NAN  # nothing observed at all
    x[2, 10, :] = float("inf")
    out = encoder(x)
    assert torch.isfinite(out).all()
    out.pow(2).sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in encoder.parameters() if p.grad is not None)
    torch.testing.assert_close(out[1], torch.zeros(16))  # nothing observed: a defined, empty embedding


@pytest.mark.parametrize("cls", ENCODERS)
def test_missing_values_are_not_read_as_zero(cls):
    """With the observed flags a NaN differs from a real 0: the gap is explicit."""
    encoder = small(cls)
    x = torch.randn(2, 24, 3)
    zeros, gaps = x.clone(), x.clone()
    zeros[:, 5:9] = 0.0
    gaps[:, 5:9] = NAN
    assert not torch.allclose(encoder(zeros), encoder(gaps))


def test_padding_mask_must_match_the_series():
    with pytest.raises(ValueError, match="padding_mask"):
        small(TCNEncoder)(torch.randn(2, 10, 3), padding_mask=torch.zeros(2, 9, dtype=torch.bool))


def test_causal_tcn_tokens_depend_on_the_past_only():
    encoder = small(TCNEncoder, pool="none", causal=True)
    x = torch.randn(2, 40, 3)
    changed = x.clone()
    changed[:, 25:] = torch.randn(2, 15, 3)
    a, b = encoder(x), encoder(changed)
    torch.testing.assert_close(a[:, :25], b[:, :25])
    assert not torch.allclose(a[:, 25:], b[:, 25:])


@pytest.mark.parametrize(
    ("cls", "params", "tokens"),
    [
        (TCNEncoder, {"num_tokens": 24}, 24),
        (TemporalEncoder, {"num_tokens": 24}, 24),
        (PatchTransformerEncoder, {"seq_len": 24}, 6),
        (PatchTransformerEncoder, {"seq_len": 24, "channel_independent": True}, 18),
    ],
)
def test_masked_encoding_reads_only_the_kept_tokens(cls, params, tokens):
    encoder = small(cls, pool="none", **params)
    assert encoder.num_tokens == tokens
    x = torch.randn(3, 24, 3)
    keep = torch.tensor([[0, 1, 2, 3], [1, 2, 4, 5], [0, 2, 3, 5]])
    out = encoder(x, mask=keep)
    assert out.shape == (3, 4, 16)
    # scramble everything the kept tokens do not cover: the output must not move
    covered = torch.zeros(3, 24, 3, dtype=torch.bool)
    for b in range(3):
        for token in keep[b].tolist():
            if cls is PatchTransformerEncoder:
                channel, patch = divmod(token, 6)
                channels = [channel] if params.get("channel_independent") else [0, 1, 2]
                for c in channels:
                    covered[b, patch * 4 : patch * 4 + 4, c] = True
            else:
                covered[b, token] = True
    scrambled = torch.where(covered, x, torch.randn_like(x))
    torch.testing.assert_close(encoder(scrambled, mask=keep), out, atol=1e-5, rtol=1e-4)


def test_bad_mask_indices_are_refused():
    with pytest.raises(ValueError, match="mask indices"):
        small(TCNEncoder, pool="none")(torch.randn(1, 8, 3), mask=torch.tensor([[0, 8]]))


def test_channel_independent_patches_keep_channels_apart():
    encoder = small(PatchTransformerEncoder, pool="none", seq_len=24, channel_independent=True)
    assert encoder.grid == (3, 6)
    x = torch.randn(2, 24, 3)
    changed = x.clone()
    changed[..., 2] = torch.randn(2, 24)
    a, b = encoder(x), encoder(changed)
    torch.testing.assert_close(a[:, :12], b[:, :12])  # channels 0 and 1 untouched
    assert not torch.allclose(a[:, 12:], b[:, 12:])


def test_patch_transformer_pads_short_series_and_refuses_long_ones():
    encoder = small(PatchTransformerEncoder, pool="none", seq_len=24, patch_len=8, stride=4)
    assert encoder.num_tokens == 5
    assert encoder(torch.randn(2, 13, 3)).shape == (2, 5, 16)
    with pytest.raises(ValueError, match="seq_len"):
        encoder(torch.randn(2, 25, 3))


def test_pool_override_and_masked_pool_helpers():
    encoder = small(TCNEncoder, pool="none")
    x = torch.randn(2, 20, 3)
    tokens = encoder(x)
    torch.testing.assert_close(encoder(x, pool="max"), tokens.amax(dim=1))
    valid = torch.tensor([[True] * 5 + [False] * 15, [False] * 20])
    torch.testing.assert_close(masked_pool(tokens, valid, "mean")[0], tokens[0, :5].mean(0))
    torch.testing.assert_close(masked_pool(tokens, valid, "last")[0], tokens[0, 4])
    assert torch.equal(masked_pool(tokens, valid, "max")[1], torch.zeros(16))
    series = as_series_batch(torch.tensor([[1.0, NAN, 3.0]]), 1)
    assert series.values.tolist() == [[[1.0], [0.0], [3.0]]]
    assert series.valid.tolist() == [[True, False, True]]


@pytest.mark.parametrize(
    ("encoder", "params", "predictor", "masker"),
    [
        ("tcn", {"depth": 2}, "attention", "time_block"),
        ("temporal", {}, "recurrent", "forecast"),
        (
            "patch_transformer",
            {"seq_len": 32, "patch_len": 4, "depth": 1, "channel_independent": True},
            "attention",
            "time_block",
        ),
        ("patch_transformer", {"seq_len": 32, "patch_len": 4, "depth": 1}, "recurrent", "forecast"),
    ],
)
def test_masked_jepa_trains_on_series_with_gaps(fresh_registry, encoder, params, predictor, masker):
    torch.manual_seed(0)
    params = {"input_dim": 2, "hidden_dim": 16, "pool": "none", **params}
    if encoder != "patch_transformer":
        params["num_tokens"] = 32
    if masker == "time_block":  # 8 patches hold fewer target blocks than the default 4
        masker = {"name": "time_block", "params": {"num_targets": 2}}
    model = jepa.build(
        encoder, predictor, masker=masker, encoder=params, predictor={"depth": 1} if predictor == "attention" else {}
    )
    x = torch.randn(6, 32, 2)
    x[0, 20:] = NAN  # a shorter series
    x[1, 4:9, 0] = NAN  # a gap in one channel
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.01)
    for step in range(2):
        out = model.step(x)
        assert torch.isfinite(out.loss)
        optimizer.zero_grad()
        out.loss.backward()
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        optimizer.step()
        model.update_target(progress=step / 2)
    assert model.embed(x).shape == (6, 16)
