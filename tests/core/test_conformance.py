"""The core's own components pass the conformance suite every plugin runs."""

from __future__ import annotations

import torch
from jepa.testing import conformance_suite

TestCoreConformance = conformance_suite(
    "jepa",
    params={"jepa:transformer": {"input_dim": 6, "pool": "none", "num_tokens": 5}},
)


class LeakyConv(torch.nn.Module):
    """A conv encoder on a 4x4 token grid that gathers the kept tokens only after
    convolving the whole image: every kept token has seen its dropped neighbours."""

    num_tokens, grid = 16, (4, 4)

    def __init__(self, hidden_dim: int = 8) -> None:
        super().__init__()
        self.embed_dim = hidden_dim
        self.conv = torch.nn.Conv2d(1, hidden_dim, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.conv(x).flatten(2).transpose(1, 2)
        if mask is None:
            return tokens
        return torch.gather(tokens, 1, mask.unsqueeze(-1).expand(-1, -1, self.embed_dim))

    def example_input(self, batch_size: int) -> torch.Tensor:
        return torch.randn(batch_size, 1, 8, 8)


def test_the_suite_catches_an_encoder_whose_kept_tokens_see_the_dropped_ones(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("encoder", "leaky_conv")(LeakyConv)
    component = get_registry().resolve("encoder", "leaky_conv")
    suite = conformance_suite("local")()
    suite.test_encoder_masked_encoding_keeps_only_kept_tokens(component)  # right shapes: the old rules pass
    with pytest.raises(pytest.fail.Exception) as failed:
        suite.test_encoder_dropped_tokens_do_not_reach_kept_ones(component)
    message = str(failed.value)
    assert "dropped tokens' inputs changes the kept tokens' encoding (by up to " in message
    change = float(message.split("(by up to ")[1].split(",")[0])
    assert change > 1e-5, "the message says how large the change was"
    assert "jepa.layers.gather_tokens(tokens, mask)) before any attention, convolution or normalisation" in message


def test_the_suite_fails_a_third_party_component_whose_bare_name_the_core_or_a_first_party_plugin_takes(
    installed_plugins,
) -> None:
    import pytest
    from jepa_core.registry import get_registry

    installed_plugins("shadow")
    registry = get_registry()
    suite = conformance_suite("shadow")()
    with pytest.raises(
        pytest.fail.Exception,
        match=r"encoder shadow:mlp breaks rule 'its bare name is not a core or "
        r"first-party name'.*the bare name 'mlp' means jepa:mlp \(from jepa-core\).*users would "
        r"have to type shadow:mlp.*pick another name",
    ):
        suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow:mlp"))
    with pytest.raises(pytest.fail.Exception, match=r"'cnn' means vision:cnn \(from jepa-plugins-vision\)"):
        suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow:cnn"))
    suite.test_bare_name_is_its_own(registry.resolve("encoder", "shadow_own"))
    for name in ("jepa:mlp", "vision:cnn"):  # the core's and first-party names never fail it
        conformance_suite(name.split(":")[0])().test_bare_name_is_its_own(registry.resolve("encoder", name))


def test_the_suite_fails_a_first_party_name_even_where_that_plugin_is_not_installed(
    installed_plugins, monkeypatch
) -> None:
    import pytest
    from jepa_core.registry import get_registry

    installed_plugins("shadow")
    monkeypatch.setenv("JEPA_DISABLE_PLUGINS", "vision")
    component = get_registry().resolve("encoder", "shadow:cnn")
    assert get_registry().shadowed_by(component) is None
    with pytest.raises(
        pytest.fail.Exception,
        match=r"'cnn' means the encoder of jepa-plugins-vision wherever that "
        r"is installed",
    ):
        conformance_suite("shadow")().test_bare_name_is_its_own(component)


class MasklessEncoder(torch.nn.Module):
    """A token encoder whose forward has no ``mask`` keyword: the engine could never
    give it the kept tokens' indices."""

    num_tokens, grid = 4, None

    def __init__(self, hidden_dim: int = 8) -> None:
        super().__init__()
        self.embed_dim = hidden_dim
        self.proj = torch.nn.Linear(2, hidden_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)

    def example_input(self, batch_size: int) -> torch.Tensor:
        return torch.randn(batch_size, 4, 2)


def test_the_suite_fails_an_encoder_whose_forward_takes_no_mask(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("encoder", "maskless")(MasklessEncoder)
    suite = conformance_suite("local")()
    with pytest.raises(
        pytest.fail.Exception,
        match=r"encoder local:maskless breaks rule 'forward takes mask as a keyword'.*"
        r"MasklessEncoder.forward takes no keyword 'mask'.*add `mask: torch.Tensor \| None = None`",
    ):
        suite.test_encoder_forward_takes_mask(get_registry().resolve("encoder", "maskless"))
    jepa.register("encoder", "leaky_conv")(LeakyConv)  # forward(x, mask=None): passes
    suite.test_encoder_forward_takes_mask(get_registry().resolve("encoder", "leaky_conv"))


class StrayKeywordPredictor(torch.nn.Module):
    """A predictor that requires a keyword the engine never passes, and takes
    ``context_idx`` without ``target_idx``."""

    def __init__(self, hidden_dim: int = 16) -> None:
        super().__init__()
        self.embed_dim = hidden_dim
        self.proj = torch.nn.Linear(hidden_dim, hidden_dim)

    def forward(self, context: torch.Tensor, positions: torch.Tensor, context_idx=None) -> torch.Tensor:
        return self.proj(context)


class ContextIndexPredictor(StrayKeywordPredictor):
    def forward(self, context: torch.Tensor, context_idx=None) -> torch.Tensor:
        return self.proj(context)


def test_the_suite_fails_a_predictor_that_does_not_take_the_engine_keywords(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("predictor", "stray")(StrayKeywordPredictor)
    jepa.register("predictor", "context_only")(ContextIndexPredictor)
    suite = conformance_suite("local")()
    with pytest.raises(
        pytest.fail.Exception,
        match=r"predictor local:stray breaks rule 'forward takes the keywords the engine passes it'.*"
        r"StrayKeywordPredictor.forward requires 'positions', which the engine never passes.*give it a default",
    ):
        suite.test_predictor_forward_takes_the_engine_keywords(get_registry().resolve("predictor", "stray"))
    with pytest.raises(
        pytest.fail.Exception,
        match=r"ContextIndexPredictor.forward takes context_idx but no target_idx.*add `target_idx",
    ):
        suite.test_predictor_forward_takes_the_engine_keywords(get_registry().resolve("predictor", "context_only"))
    suite.test_predictor_forward_takes_the_engine_keywords(get_registry().resolve("predictor", "jepa:attention"))


def test_a_params_or_inputs_key_naming_no_component_of_the_plugin_fails_with_the_names_it_has(
    fresh_registry,
) -> None:
    import jepa
    import pytest

    jepa.register("encoder", "leaky_conv")(LeakyConv)
    for given in ({"params": {"leaky_cnv": {"hidden_dim": 4}}}, {"inputs": {"local:leaky_cnv": torch.randn}}):
        suite = conformance_suite("local", **given)()
        with pytest.raises(pytest.fail.Exception) as failed:
            suite.test_params_and_inputs_name_its_components()
        [(argument, keys)] = given.items()
        assert str(failed.value) == (
            f"conformance_suite({argument}=...) has the key {next(iter(keys))!r}, but plugin 'local' registers no "
            "component of that name (keys are qualified names: scope:name); its components: local:leaky_conv"
        )
    bare = conformance_suite("local", params={"leaky_conv": {"hidden_dim": 4}})()
    with pytest.raises(pytest.fail.Exception, match="did you mean local:leaky_conv"):
        bare.test_params_and_inputs_name_its_components()
    conformance_suite(
        "local", params={"local:leaky_conv": {"hidden_dim": 4}}
    )().test_params_and_inputs_name_its_components()


class ContextBreaksLoss(torch.nn.Module):
    """Passes when called as (pred, target) only; the engine gives it context= too."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor | None = None):
        if context is not None:
            context = context.reshape(context.shape[0], 3, -1)  # assumes a token count it does not get
        return (pred - target).pow(2).mean()


def test_the_suite_calls_a_loss_with_context_as_the_engine_does(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("loss", "context_breaks")(ContextBreaksLoss)
    suite = conformance_suite("local")()
    with pytest.raises(pytest.fail.Exception, match=r"local:context_breaks breaks rule .*given the context"):
        suite.test_loss_is_a_differentiable_scalar(get_registry().resolve("loss", "context_breaks"))
    suite.test_loss_is_a_differentiable_scalar(get_registry().resolve("loss", "jepa:vicreg"))


class TupleMasker:
    """Returns (context, targets) as a plain tuple, not jepa.Masks."""

    def __init__(self, num_tokens: int = 16) -> None:
        self.num_tokens = num_tokens

    def __call__(self, batch_size: int, generator=None):
        return torch.arange(8).expand(batch_size, -1), (torch.arange(8, 12).expand(batch_size, -1),)


def test_the_suite_says_a_masker_must_return_masks(fresh_registry) -> None:
    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("masker", "tuple_masker")(TupleMasker)
    suite = conformance_suite("local")()
    with pytest.raises(pytest.fail.Exception, match=r"it returned a tuple; a masker returns jepa.Masks"):
        suite.test_masker_draws_disjoint_in_range_seeded_masks(get_registry().resolve("masker", "tuple_masker"))


def test_the_suite_fails_a_starter_config_that_names_a_parameter_its_component_lacks(fresh_registry) -> None:
    import pytest
    from jepa_core.registry import get_registry

    get_registry().ensure_loaded()
    starter = get_registry().templates["sequences"][1]
    registrar = fresh_registry.registrar("mine")
    registrar.add_template("mine", starter.replace("hidden_dim: 64", "hiden_dim: 64"))
    with pytest.raises(pytest.fail.Exception) as failed:
        conformance_suite("mine")().test_starter_configs_are_run_configs()
    message = str(failed.value)
    assert "starter config 'mine' of plugin 'mine' (jepa init mine) is not a valid run config" in message
    assert "hiden_dim" in message
    fresh_registry.registrar("fixed").add_template("fixed", starter)  # spelled right: passes
    conformance_suite("fixed")().test_starter_configs_are_run_configs()


def test_the_suite_fails_a_plugin_that_was_refused_what_it_tried_to_add(installed_plugins) -> None:
    import pytest

    installed_plugins("grabber", "good")  # grabber takes the core's starter name, adds one that is not YAML, ...
    with pytest.raises(AssertionError) as failed:
        conformance_suite("grabber")().test_plugin_is_loaded()
    message = str(failed.value)
    assert message.startswith("plugin 'grabber' was refused: ")
    assert "tried to add starter config 'sequences', which 'jepa' already provides; give it another name" in message
    assert "tried to add starter config 'broken_starter', but its YAML does not parse" in message
    conformance_suite("good")().test_plugin_is_loaded()  # a plugin refused nothing passes


class PositionsMisused(torch.nn.Module):
    """An encoder whose constructor calls a layer helper with the wrong argument."""

    def __init__(self, hidden_dim: int = 8) -> None:
        super().__init__()
        from jepa.layers import sincos_1d

        self.embed_dim = hidden_dim
        self.positions = sincos_1d(4, hidden_dim)  # wants a tensor of positions: fails inside jepa

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return x


def test_a_component_that_fails_to_build_is_reported_at_its_own_line(fresh_registry) -> None:
    # the report has no traceback, so the line of the plugin's code is in the message
    import inspect

    import jepa
    import pytest
    from jepa_core.registry import get_registry

    jepa.register("encoder", "positions_misused")(PositionsMisused)
    line = inspect.getsourcelines(PositionsMisused.__init__)[1] + 5
    with pytest.raises(pytest.fail.Exception) as info:
        conformance_suite("local")().test_builds_from_its_default_spec(
            get_registry().resolve("encoder", "positions_misused")
        )
    assert "breaks rule 'builds from its default spec'" in str(info.value)
    assert str(info.value).endswith(f"(at {__file__}:{line})")
