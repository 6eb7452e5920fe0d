"""Specs: derived parameter models, round trips, wiring, nesting, and bad input."""

from __future__ import annotations

import json
import re
import shlex
import warnings
from typing import Annotated, Literal

import jepa
import pydantic
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jepa_core.validation import params_model_for
from pydantic import Field
from torch import nn

SMALL = {"input_dim": 6, "hidden_dim": 16, "depth": 1, "pool": "none", "num_tokens": 8}


def test_params_model_follows_the_constructor_signature() -> None:
    class Widget:
        def __init__(self, width: Annotated[int, Field(gt=0)], ratio: float = 0.5, name: str = "w") -> None:
            pass

    model = params_model_for(Widget, "test:widget")
    assert model.model_validate({"width": 3}).ratio == 0.5
    with pytest.raises(Exception, match="greater than 0"):
        model.model_validate({"width": 0})
    with pytest.raises(Exception, match="Extra inputs are not permitted"):
        model.model_validate({"width": 1, "colour": "red"})
    with pytest.raises(Exception, match="Field required"):
        model.model_validate({})


def test_spec_round_trips_through_json_and_yaml_to_an_identical_model(tmp_path, fresh_registry) -> None:
    torch.manual_seed(0)
    model = jepa.build(
        "transformer",
        "attention",
        masker="random",
        loss="smooth_l1",
        encoder=SMALL,
        predictor={"depth": 1},
        target={"mode": "ema", "momentum": 0.99},
    )
    spec = model.spec
    assert spec.encoder.name == "jepa:transformer" and spec.predictor.params["hidden_dim"] == 16
    assert spec.predictor.params["num_tokens"] == 8, "the token count is wired from the encoder"
    assert spec.masker.params["num_tokens"] == 8
    (tmp_path / "spec.json").write_text(spec.to_json())
    (tmp_path / "spec.yaml").write_text(spec.to_yaml())
    for path in (tmp_path / "spec.json", tmp_path / "spec.yaml"):
        torch.manual_seed(0)
        again = jepa.build(path)
        assert again.spec.to_dict() == spec.to_dict()
        for (name, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items(), strict=True):
            assert torch.equal(a, b), name
    assert jepa.build(json.loads(spec.to_json())).spec == spec
    assert jepa.ModelSpec.parse(spec.to_json()) == spec == jepa.ModelSpec.parse(spec.to_yaml()), "text round-trips"
    with pytest.raises(jepa.SpecError, match="the spec text is not valid YAML"):
        jepa.ModelSpec.parse(spec.to_json()[:-2])
    one_line = jepa.ModelSpec.parse("{encoder: {name: mlp}, predictor: {name: mlp}}")
    assert one_line == jepa.ModelSpec.parse("encoder: {name: mlp}\npredictor: {name: mlp}")
    with pytest.raises(jepa.SpecError, match="^the model spec is empty"):
        jepa.ModelSpec.parse("")
    # the files a user has next to a spec, which are not one: each says where the spec is
    saved = model.save_pretrained(tmp_path / "model")
    with pytest.raises(jepa.SpecError, match=r"^this is a saved model's config.json: jepa.load\(ITS_FOLDER\)"):
        jepa.ModelSpec.parse(saved / "config.json")
    (tmp_path / "run.json").write_text(json.dumps({"model": spec.to_dict(), "train": {"steps": 1}}))
    with pytest.raises(jepa.SpecError, match=r"^this is a run config \(jepa train's\): its 'model' section"):
        jepa.ModelSpec.parse(tmp_path / "run.json")


def test_width_is_wired_and_a_forced_mismatch_names_both_components(fresh_registry) -> None:
    model = jepa.build("mlp", "attention", encoder={"input_dim": 4, "hidden_dim": 24})
    assert model.predictor.embed_dim == 24
    with pytest.raises(jepa.WiringError) as info:
        jepa.build("mlp", "attention", encoder={"hidden_dim": 24}, predictor={"hidden_dim": 32})
    assert info.value.path == "predictor.params.hidden_dim"
    assert "jepa:attention" in str(info.value) and "jepa:mlp" in str(info.value)


def test_a_missing_parameter_says_where_its_meaning_is_written() -> None:
    """A required parameter left out (an arrays dataset without its file) points at the
    component's description, which says what to give."""
    with pytest.raises(jepa.SpecError) as info:
        jepa.build_component("dataset", {"name": "arrays"})
    assert info.value.issues == [
        ("params.path", "field required; `jepa describe dataset jepa:arrays` says what it takes")
    ]


def test_masked_training_needs_a_token_encoder(fresh_registry) -> None:
    with pytest.raises(
        jepa.WiringError,
        match=r"set pool='none' and num_tokens in its params \(in a run config, jepa train measures num_tokens "
        r"on the data when it is left out\) \(`jepa describe encoder jepa:transformer` explains them\)",
    ):
        jepa.build("transformer", "attention", masker="random")
    with pytest.raises(jepa.WiringError, match="none of its parameters sets a token count"):
        jepa.build("mlp", "attention", masker="random")

    @jepa.register("encoder", "pooled_only")
    class PooledOnly(nn.Module):
        """Pooled output only."""

        def __init__(self, hidden_dim: int = 4, pool: str = "mean", image_size: int | None = None) -> None:
            super().__init__()
            self.embed_dim, self.num_tokens, self.grid = hidden_dim, None, None

    with pytest.raises(
        jepa.WiringError,
        match=r"set pool='none' and image_size in its params \("
        r"`jepa.describe\('encoder', 'local:pooled_only'\)`",
    ):
        jepa.build("pooled_only", "attention", masker="random")
    with pytest.raises(jepa.SpecError, match="cannot do masked training: its forward takes no 'target_idx'"):
        jepa.build("transformer", "mlp", masker="random", encoder=SMALL)


def test_nested_component_specs_build_composites(fresh_registry) -> None:
    @jepa.register("encoder", "concat_pair")
    class ConcatPair(nn.Module):
        """Two encoders side by side; widths add up."""

        num_tokens = None
        grid = None

        def __init__(self, left: jepa.EncoderSpec, right: jepa.EncoderSpec) -> None:
            super().__init__()
            self.left, self.right = left.build(), right.build()
            self.embed_dim = self.left.embed_dim + self.right.embed_dim

        def forward(self, x):
            return torch.cat([self.left(x), self.right(x)], dim=-1)

    model = jepa.build(
        "concat_pair",
        "mlp",
        encoder={
            "left": {"name": "mlp", "params": {"input_dim": 5, "hidden_dim": 8}},
            "right": {"name": "jepa:mlp", "params": {"input_dim": 5, "hidden_dim": 4, "depth": 1}},
        },
    )
    assert model.predictor.embed_dim == 12
    assert model(torch.randn(2, 5), torch.randn(2, 5))[0].shape == (2, 12)
    saved = model.spec.to_dict()["encoder"]["params"]
    assert saved["left"]["name"] == "jepa:mlp" and saved["right"]["params"]["depth"] == 1
    with pytest.raises(jepa.SpecError) as info:
        jepa.build("concat_pair", "mlp", encoder={"left": "mlp", "right": {"name": "mlp", "params": {"depth": 0}}})
    assert info.value.path == "encoder.params.right.params.depth"
    with pytest.raises(jepa.UnknownComponentError) as info:
        jepa.build("concat_pair", "mlp", encoder={"left": "mlpp", "right": "mlp"})
    assert info.value.path == "encoder.params.left.name"


def test_an_unknown_parameter_suggests_the_closest_and_a_command_that_lists_them(fresh_registry, capsys) -> None:
    from jepa_core.cli import main

    with pytest.raises(jepa.SpecError) as info:
        jepa.build("transformer", "attention", encoder={"depht": 2})
    assert info.value.path == "encoder.params.depht"
    assert "unknown field; did you mean 'depth'?" in str(info.value)
    command = re.search(r"\(`(jepa [^`]+)` lists the fields\)", str(info.value)).group(1)
    assert command == "jepa describe encoder jepa:transformer"
    assert main(shlex.split(command)[1:]) == 0, "the suggested command runs as written"
    assert "  depth: integer" in capsys.readouterr().out


def test_unknown_fields_of_specs_and_run_configs_suggest_the_closest(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    def message(**changes) -> str:
        config = {
            "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
            "data": {"name": "sinusoids", "params": {"channels": 2}},
        }
        for key, value in changes.items():
            config[key] = value
        with pytest.raises(jepa.SpecError) as info:
            load_run_spec(config)
        return str(info.value)

    assert message(trian={}) == "trian: unknown field; did you mean 'train'?"
    assert message(train={"stpes": 3}) == "train.stpes: unknown field; did you mean 'steps'?"
    # what other trainers call a setting leads to ours, though the spelling is closer to another
    assert message(train={"grad_accum": 2}) == "train.grad_accum: unknown field; did you mean 'accumulate'?"
    assert message(train={"learning_rate": 1e-3}) == "train.learning_rate: unknown field; did you mean 'lr'?"
    assert message(data={"name": "sinusoids", "parms": {}}) == "data.parms: unknown field; did you mean 'params'?"
    assert message(data={"name": "sinusoids", "params": {"sise": 3}}) == (
        "data.params.sise: unknown field; did you mean 'size', 'noise'? (`jepa describe dataset jepa:sinusoids` "
        "lists the fields)"
    )
    # nothing close: the fields that are valid there, for a component's parameters too
    assert message(data={"name": "sinusoids", "params": {"file": "x"}}) == (
        "data.params.file: unknown field; the fields here are size, steps, channels, num_classes, noise, paired, "
        "split, seed, max_gap (`jepa describe dataset jepa:sinusoids` explains them)"
    )
    assert message(train={"xyzzy": 1}).startswith("train.xyzzy: unknown field; the fields here are steps, batch_size")
    with pytest.raises(jepa.SpecError, match=r"target.momentm: unknown field; did you mean 'momentum'"):
        jepa.build("mlp", "mlp", target={"momentm": 0.9})


def test_renaming_a_component_with_set_says_its_old_params_stayed(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 2, "size": 64}},
    }
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(config, ["data.name=arrays"])
    assert info.value.path.startswith("data.params.")
    hint = (
        "(--set data.name=arrays kept the params written for 'sinusoids'; replace the whole section: "
        "--set 'data={name: arrays}')"
    )
    assert str(info.value).count(hint) == 1, "said once, not after every leftover field"
    # the replacement the hint gives is one that loads
    spec = load_run_spec(config, ["data={name: arrays, params: {path: x.npz}}"])
    assert spec.data.name == "jepa:arrays" and "channels" not in spec.data.params
    # an error elsewhere, or a --set that keeps the name, gets no such hint
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(config, ["data.name=sinusoids", "train.stpes=3"])
    assert "kept the params" not in str(info.value)


def test_a_set_that_replaces_a_section_an_earlier_set_wrote_into_says_what_it_drops(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 2, "size": 64}},
    }
    with pytest.warns(
        UserWarning,
        match=r"--set 'model.loss=mse' replaces the whole model.loss section, dropping "
        r"what the earlier --set 'model.loss.params.beta=2' wrote into it",
    ) as seen:
        spec = load_run_spec(config, ["model.loss.params.beta=2", "model.loss=mse"])
    assert spec.model.loss.params.get("beta") is None and seen[0].filename == __file__
    # the other order is what the message asks for, and it keeps both
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        spec = load_run_spec(config, ["model.loss=smooth_l1", "model.loss.params.beta=2"])
        assert spec.model.loss.params["beta"] == 2
        # setting a value twice is not a replacement: the last one wins
        assert load_run_spec(config, ["data.params.size=8", "data.params.size=16"]).data.params["size"] == 16


def test_a_set_mapping_without_spaces_after_colons_says_so(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 3, "size": 64}},
    }
    with pytest.raises(
        jepa.SpecError,
        match=r"^model.encoder.params: the --set value holds 'input_dim:3', which YAML "
        r"reads as one key with no value; write a space after the colon \(input_dim: 3\)",
    ):
        load_run_spec(config, ["model.encoder.params={input_dim:3, hidden_dim: 8}"])
    spec = load_run_spec(config, ["model.encoder.params={input_dim: 3, hidden_dim: 8}"])
    assert (spec.model.encoder.params["input_dim"], spec.model.encoder.params["hidden_dim"]) == (3, 8)


def test_a_set_with_nothing_after_the_equals_sign_says_it_read_as_null(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 2, "size": 64}},
    }
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(config, ["train.lr="])
    assert str(info.value) == (
        "train.lr: Input should be a valid number (got None); --set train.lr= has nothing after '=', which "
        "reads as null: write the value"
    )
    assert load_run_spec(config, ["train.grad_clip="]).train.grad_clip is None  # where null is valid it stays one


def test_a_set_key_with_an_empty_part_or_into_a_value_is_refused(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 2, "size": 64}},
        "train": {"steps": 3},
    }
    for key in ("train..steps", ".train.steps", "train.steps."):  # a typo, not the key it resembles
        with pytest.raises(jepa.SpecError, match=f"^--set key '{re.escape(key)}' has an empty part between dots"):
            load_run_spec(config, [f"{key}=5"])
    with pytest.raises(jepa.SpecError) as info:
        load_run_spec(config, ["train.steps.value=5"])
    assert str(info.value) == (
        "train.steps.value: --set reaches only into sections, and train.steps holds 3: set it whole "
        "(--set 'train.steps=...')"
    )


def test_a_boolean_is_not_taken_for_a_number(fresh_registry) -> None:
    from jepa_core.runs import load_run_spec

    # pydantic alone reads true as 1: a model one unit wide, or a run of one step
    with pytest.raises(jepa.SpecError, match=r"^encoder.params.hidden_dim: expects a number, got true \(a boolean\)"):
        jepa.build("mlp", "mlp", encoder={"input_dim": 2, "hidden_dim": True})
    config = {
        "model": {"encoder": {"name": "mlp", "params": {"input_dim": 2}}, "predictor": "mlp"},
        "data": {"name": "sinusoids", "params": {"channels": 2, "size": 64}},
    }
    with pytest.raises(jepa.SpecError, match=r"^train.steps: expects a number, got true"):
        load_run_spec(config, ["train.steps=true"])
    with pytest.raises(jepa.SpecError, match=r"^train.lr: expects a number, got false"):
        load_run_spec(config, ["train.lr=false"])
    assert load_run_spec(config, ["model.normalize_targets=false"]).model.normalize_targets is False
    # nor for one of a choice of numbers (true == 1)

    def grey_or_colour(channels: Literal[1, 3] = 3) -> None: ...

    params = params_model_for(grey_or_colour, "dataset 'grey_or_colour'")
    with pytest.raises(pydantic.ValidationError, match=r"expects a number, got true \(a boolean\)"):
        params(channels=True)
    assert params(channels=1).channels == 1
    # a tuple field reads as the YAML list it takes
    with pytest.raises(jepa.SpecError, match=r"^train.betas: Input should be a list \(\[a, b, ...\]\) \(got 0.9\)"):
        load_run_spec(config, ["train.betas=0.9"])


def test_bad_spec_files_name_the_file(tmp_path, fresh_registry) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("encoder: [unclosed\n")
    with pytest.raises(jepa.SpecError, match="broken.yaml.*is not valid") as info:
        jepa.build(broken)
    # where, counted from 1 as an editor does, and no "<unicode string>" from the parser
    assert str(info.value).endswith(
        "is not valid YAML: line 2, column 1: did not find expected ',' or ']' "
        "(while parsing a flow sequence at line 1, column 10)"
    )
    broken.write_text("encoder: \x01\n")
    with pytest.raises(jepa.SpecError, match="control characters are not allowed at position 9$"):
        jepa.build(broken)
    with pytest.raises(jepa.SpecError, match="missing.json.*does not exist"):
        jepa.build(tmp_path / "missing.json")
    with pytest.raises(jepa.SpecError, match="needs a predictor too"):
        jepa.build("mlp")


# -- property-based: whatever garbage goes in, only SpecError comes out -----------------

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(-2, 3), max_size=3),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
names = st.one_of(
    st.sampled_from(["mlp", "transformer", "attention", "recurrent", "jepa:mlp", "vit", "x:y", ""]),
    st.text(max_size=6),
    st.integers(),
)
param_keys = st.sampled_from(
    [
        "hidden_dim",
        "input_dim",
        "depth",
        "heads",
        "pool",
        "num_tokens",
        "width",
        "cell",
        "steps",
        "action_dim",
        "grid",
        "mlp_ratio",
        "dropout",
        "bogus",
    ]
)
params = st.dictionaries(param_keys, values, max_size=4)
components = st.one_of(names, st.fixed_dictionaries({"name": names, "params": params}), values)
specs = st.fixed_dictionaries(
    {"encoder": components, "predictor": components},
    optional={
        "loss": components,
        "masker": components,
        "target": st.one_of(st.sampled_from(["ema", "shared", "none", "bad"]), values),
        "normalize_targets": values,
        "extra_key": values,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=specs)
def test_random_bad_specs_raise_only_spec_errors(spec) -> None:
    try:
        jepa.build(spec)
    except jepa.SpecError:
        pass


def test_keys_indented_one_level_too_little_are_pointed_out(tmp_path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(
        "model:\n"
        "  encoder: {name: mlp, params: {input_dim: 4, hidden_dim: 8}}\n"
        "  predictor:\n"
        "  name: mlp\n"  # meant under predictor
        "  params: {depth: 1}\n"
        "data: {name: sinusoids, params: {channels: 4}}\n"
    )
    from jepa_core.runs import load_run_spec

    with pytest.raises(
        jepa.SpecError, match=r"model.predictor: .*\(got None\); name, params sit beside it at model: indent them under"
    ) as info:
        load_run_spec(config)
    assert info.value.path == "model.predictor"
