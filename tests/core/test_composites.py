"""The composite components (multiscale, cross_modal, hierarchical): parts are specs."""

from __future__ import annotations

import jepa
import pytest
import torch
from jepa.testing import ConformanceSuite
from jepa_core.registry import get_registry

SEQUENCE = {"name": "transformer", "params": {"input_dim": 4, "hidden_dim": 16, "depth": 1}}
SEQUENCE_TOKENS = {
    "name": "transformer",
    "params": {"input_dim": 4, "hidden_dim": 16, "depth": 1, "pool": "none", "num_tokens": 6},
}
FLAT = {"name": "mlp", "params": {"input_dim": 24, "hidden_dim": 8, "depth": 1}}
PAIR = {"left": {"name": "mlp", "params": {"input_dim": 5, "hidden_dim": 8}}, "right": SEQUENCE_TOKENS}


def sequences(batch: int = 3) -> torch.Tensor:
    return torch.randn(batch, 6, 4)


def pair(batch: int = 3) -> dict[str, torch.Tensor]:
    return {"left": torch.randn(batch, 5), "right": torch.randn(batch, 6, 4)}


# -- multiscale ------------------------------------------------------------------------------


@pytest.mark.parametrize("fusion", ["concat", "sum", "gated"])
def test_multiscale_fuses_a_local_and_a_global_encoder(fusion: str) -> None:
    model = jepa.build(
        "multiscale",
        "mlp",
        encoder={"local_encoder": FLAT, "global_encoder": SEQUENCE, "fusion": fusion, "hidden_dim": 12},
    )
    assert model.encoder.embed_dim == model.predictor.embed_dim == 12
    pred, target = model(sequences(), sequences())
    assert pred.shape == target.shape == (3, 12)


def test_multiscale_tokens_broadcast_the_global_vector_and_train_masked() -> None:
    model = jepa.build(
        "multiscale",
        "attention",
        masker="random",
        encoder={"local_encoder": SEQUENCE_TOKENS, "global_encoder": SEQUENCE, "pool": "none"},
    )
    assert model.encoder.num_tokens == 6 and model.predictor.num_tokens == 6
    assert model.encoder(sequences()).shape == (3, 6, 16)
    out = model.step(sequences())
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_multiscale_refuses_parts_with_different_token_counts() -> None:
    other = {
        "name": "transformer",
        "params": {"input_dim": 4, "hidden_dim": 16, "depth": 1, "pool": "none", "num_tokens": 5},
    }
    with pytest.raises(jepa.SpecError, match="same token count"):
        jepa.build(
            "multiscale", "mlp", encoder={"local_encoder": SEQUENCE_TOKENS, "global_encoder": other, "pool": "none"}
        )


def test_a_part_without_an_integer_width_is_named(fresh_registry) -> None:
    @jepa.register("encoder", "widthless")
    class Widthless(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    with pytest.raises(jepa.SpecError, match="global_encoder: the encoder has no integer embed_dim"):
        jepa.build("multiscale", "mlp", encoder={"local_encoder": FLAT, "global_encoder": "widthless"})
    with pytest.raises(jepa.SpecError, match="modalities.right: the encoder has no integer embed_dim"):
        jepa.build("cross_modal", "mlp", encoder={"modalities": {"left": FLAT, "right": "widthless"}})


# -- cross_modal -------------------------------------------------------------------------------


def cross_modal_params(**extra: object) -> dict[str, object]:
    return {"modalities": {"left": PAIR["left"], "right": PAIR["right"]}, "hidden_dim": 16, **extra}


def test_cross_modal_takes_a_mapping_and_any_subset_of_modalities() -> None:
    model = jepa.build("cross_modal", "mlp", encoder=cross_modal_params())
    both = pair()
    pred, target = model(both, {"right": both["right"]})  # predict one modality's embedding from both
    assert pred.shape == target.shape == (3, 16)
    assert model.encoder(left=both["left"]).shape == (3, 16)
    with pytest.raises(ValueError, match="modalities are"):
        model.encoder(middle=both["left"])
    with pytest.raises(ValueError, match=r"different batch sizes \(left 3, right 2\); give every modality one item"):
        model.encoder(left=both["left"], right=both["right"][:2])


def test_cross_modal_mixes_modalities_through_attention() -> None:
    encoder = jepa.build("cross_modal", "mlp", encoder=cross_modal_params(query="left")).encoder.eval()
    x = pair()
    changed = {"left": x["left"], "right": torch.randn_like(x["right"])}
    with torch.no_grad():
        assert not torch.allclose(encoder(**x), encoder(**changed)), "the query ignores the other modality"


def test_cross_modal_hides_padded_tokens() -> None:
    encoder = jepa.build("cross_modal", "mlp", encoder=cross_modal_params()).encoder.eval()
    x = pair(2)
    padding = torch.zeros(2, 6, dtype=torch.bool)
    padding[:, 4:] = True
    noisy = x["right"].clone()
    noisy[:, 4:] = 100.0
    # the padded steps are masked inside the transformer part and in the fusion's attention
    first = encoder(left=x["left"], right={"x": x["right"], "padding_mask": padding})
    second = encoder(left=x["left"], right={"x": noisy, "padding_mask": padding})
    assert torch.allclose(first, second, atol=1e-5)


def test_cross_modal_tokens_train_masked_on_the_query_modality() -> None:
    model = jepa.build(
        "cross_modal", "attention", masker="random", encoder=cross_modal_params(query="right", pool="none")
    )
    assert model.encoder.num_tokens == 6
    pred, target = model(pair(4))  # masked mode: the mapping goes to the encoder as keyword arguments
    assert pred.shape == target.shape and pred.shape[-1] == 16
    out = model.step(pair(4))
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_cross_modal_rejects_bad_modalities() -> None:
    with pytest.raises(jepa.SpecError, match="query 'nope'"):
        jepa.build("cross_modal", "mlp", encoder=cross_modal_params(query="nope"))
    with pytest.raises(jepa.SpecError, match="reserved"):
        jepa.build("cross_modal", "mlp", encoder={"modalities": {"mask": FLAT}})


# -- hierarchical ------------------------------------------------------------------------------


def test_hierarchical_masked_coarse_guesses_join_the_fine_context() -> None:
    model = jepa.build(
        "transformer",
        "hierarchical",
        masker="random",
        encoder={"input_dim": 4, "hidden_dim": 16, "depth": 1, "pool": "none", "num_tokens": 6},
    )
    assert model.predictor.coarse.embed_dim == 16 and model.predictor.fine.num_tokens == 6
    out = model.step(sequences())
    out.loss.backward()
    assert all(p.grad is not None for p in model.predictor.coarse.parameters())


@pytest.mark.parametrize("parts", [{}, {"coarse": "mlp", "fine": "mlp"}, {"coarse": "recurrent", "fine": "mlp"}])
def test_hierarchical_paired_mode_on_pooled_embeddings(parts: dict[str, str]) -> None:
    model = jepa.build("transformer", "hierarchical", encoder=SEQUENCE["params"], predictor=parts)
    pred, target = model(sequences(), sequences())
    assert pred.shape == target.shape == (3, 16)
    model.loss(pred, target).backward()
    assert all(p.grad is not None for p in model.predictor.parameters())


def test_hierarchical_width_follows_the_encoder_unless_a_part_disagrees() -> None:
    with pytest.raises(jepa.SpecError) as info:
        jepa.build(
            "transformer",
            "hierarchical",
            encoder=SEQUENCE["params"],
            predictor={"fine": {"name": "mlp", "params": {"hidden_dim": 8}}},
        )
    assert "width 8" in str(info.value)


# -- nested spec errors name the full path ------------------------------------------------------


@pytest.mark.parametrize(
    ("encoder", "predictor", "options", "path"),
    [
        (
            "multiscale",
            "mlp",
            {"encoder": {"local_encoder": {"name": "mlp", "params": {"depth": 0}}, "global_encoder": "mlp"}},
            "encoder.params.local_encoder.params.depth",
        ),
        ("multiscale", "mlp", {"encoder": {"local_encoder": "mlp"}}, "encoder.params.global_encoder"),
        (
            "cross_modal",
            "mlp",
            {"encoder": {"modalities": {"image": {"name": "mlp", "params": {"colour": 1}}}}},
            "encoder.params.modalities.image.params.colour",
        ),
        ("cross_modal", "mlp", {"encoder": {"modalities": {"image": "mpl"}}}, "encoder.params.modalities.image.name"),
        (
            "mlp",
            "hierarchical",
            {"predictor": {"coarse": {"name": "attention", "params": {"heads": -1}}}},
            "predictor.params.coarse.params.heads",
        ),
    ],
)
def test_nested_spec_errors_carry_field_paths(encoder: str, predictor: str, options: dict, path: str) -> None:
    with pytest.raises(jepa.SpecError) as info:
        jepa.build(encoder, predictor, **options)
    assert info.value.path == path


def test_unknown_part_suggests_the_closest_name() -> None:
    with pytest.raises(jepa.UnknownComponentError, match="did you mean 'jepa:attention'|did you mean 'attention'"):
        jepa.build("mlp", "hierarchical", predictor={"fine": "atention"})


# -- persistence -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoder", "predictor", "options", "example"),
    [
        (
            "multiscale",
            "hierarchical",
            {"encoder": {"local_encoder": FLAT, "global_encoder": SEQUENCE, "fusion": "gated"}},
            sequences,
        ),
        ("cross_modal", "mlp", {"encoder": cross_modal_params()}, pair),
    ],
)
def test_save_load_round_trip_records_parts_by_qualified_name(tmp_path, encoder, predictor, options, example) -> None:
    model = jepa.build(encoder, predictor, **options).eval()
    loaded = jepa.load(model.save_pretrained(tmp_path / "model"))
    x = example()
    with torch.no_grad():
        assert torch.equal(model.embed(x), loaded.embed(x))
    saved = loaded.spec.to_dict()
    parts = saved["encoder"]["params"]
    names = (
        [parts["local_encoder"]["name"]]
        if encoder == "multiscale"
        else [spec["name"] for spec in parts["modalities"].values()]
    )
    assert all(name.startswith("jepa:") for name in names)


def test_directly_constructed_composites_save_and_load(tmp_path) -> None:
    from jepa_core.components.composites import HierarchicalPredictor, MultiScaleEncoder

    with pytest.raises(jepa.SpecError) as info:  # parts are validated in direct construction too
        MultiScaleEncoder(local_encoder=FLAT, global_encoder={"name": "mlp", "params": {"depth": "deep"}})
    assert info.value.path == "global_encoder.params.depth"
    encoder = MultiScaleEncoder(
        local_encoder=FLAT, global_encoder={"name": "mlp", "params": {"input_dim": 24, "hidden_dim": 8}}
    )
    model = jepa.JEPA(encoder, HierarchicalPredictor(hidden_dim=8, coarse="mlp", fine="mlp")).eval()
    loaded = jepa.load(model.save_pretrained(tmp_path / "direct"))
    x = sequences()
    with torch.no_grad():
        assert torch.equal(model.embed(x), loaded.embed(x))


# -- the conformance rules every component meets ----------------------------------------------------

CONFORMANCE_PARAMS = {
    "jepa:multiscale": {"local_encoder": SEQUENCE_TOKENS, "global_encoder": SEQUENCE, "pool": "none"},
    "jepa:cross_modal": cross_modal_params(query="right", pool="none"),
}
CONFORMANCE_INPUTS = {"jepa:multiscale": sequences, "jepa:cross_modal": pair}
ENCODER_RULES = [
    "test_builds_from_its_default_spec",
    "test_schema_is_json",
    "test_encoder_output_shape_and_width",
    "test_encoder_masked_encoding_keeps_only_kept_tokens",
    "test_encoder_gradients_reach_every_parameter",
    "test_encoder_save_load_round_trip",
    "test_encoder_is_deterministic_under_a_seed",
]
PREDICTOR_RULES = ["test_builds_from_its_default_spec", "test_schema_is_json", "test_predictor_maps_context_to_targets"]


class _Suite(ConformanceSuite):
    plugin = "jepa"
    params = CONFORMANCE_PARAMS
    inputs = CONFORMANCE_INPUTS


@pytest.mark.parametrize(
    ("name", "rule"),
    [(f"encoder:{n}", r) for n in ("jepa:multiscale", "jepa:cross_modal") for r in ENCODER_RULES]
    + [("predictor:jepa:hierarchical", r) for r in PREDICTOR_RULES],
)
def test_composites_meet_the_conformance_rules(name: str, rule: str, tmp_path) -> None:
    kind, _, qualname = name.partition(":")
    component = get_registry().resolve(kind, qualname)
    method = getattr(_Suite(), rule)
    if "tmp_path" in method.__code__.co_varnames:
        method(component, tmp_path)
    else:
        method(component)
