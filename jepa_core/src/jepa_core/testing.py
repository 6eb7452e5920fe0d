"""Conformance suite for jepa plugins (also a pytest plugin: jepa-core's ``pytest11``).

One line in a plugin's own tests runs every rule the framework relies on, for
every component the plugin registers::

    # tests/test_conformance.py
    from jepa.testing import conformance_suite

    TestConformance = conformance_suite("myplugin")

``params`` gives parameters for components that cannot be built from their
defaults (a dataset that needs a file path); ``inputs`` gives a callable
returning an example batch for an encoder that has no ``example_input(batch_size)``
method. Each failure names the component and the rule it breaks.

Rules:

==========================  ==========================================================
the plugin                  loads, registers a component, and is refused nothing it
                            tries (a starter name another plugin has, a starter that
                            is not YAML, another scope's registrar)
all components              build from their default spec; the parameter schema is JSON;
                            the bare name is not one the core or a first-party plugin
                            uses (theirs win bare lookups, so users would have to type
                            ``scope:name``)
encoder                     forward takes ``mask`` as a keyword; output width equals
                            ``embed_dim``; pooled ``(B, D)`` or tokens
                            ``(B, num_tokens, D)``; with ``mask`` it returns only the kept
                            tokens, and keeping all tokens changes nothing; the kept tokens'
                            encoding does not change when only the dropped tokens' inputs
                            do (nothing leaks from what the predictor must predict); gradients reach
                            every trainable parameter; a save/load round trip gives
                            identical outputs; the same seed builds the same weights
predictor                   forward takes the context first, and as keywords what the
                            engine passes it (``target_idx`` with ``context_idx``,
                            ``action`` with ``action_dim``), every other parameter having
                            a default; maps ``(B, N, D)`` context to ``(B, T, D)`` for ``T`` target
                            positions (or ``(B, D)`` to ``(B, D)``); gradients reach every
                            trainable parameter
loss                        returns a finite scalar (or a dict with one under ``"loss"``)
                            whose gradient reaches the prediction, for masked ``(B, T, D)``
                            and paired ``(B, D)`` embeddings, called with ``context=`` when
                            it takes it, as the engine calls it
masker                      context and targets are disjoint, in range, equal-length per
                            batch, and the same generator seed draws the same masks
dataset                     has a length; items are ``x``, ``(x, label)`` or a mapping
starter configs             each one the plugin adds validates as a run config (its
                            components and their parameters exist)
==========================  ==========================================================
"""

from __future__ import annotations

import contextlib
import json
import os
import sysconfig
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic
import pytest
import torch

from jepa_core.contracts import (
    MASK_PARAMETER,
    PREDICTOR_KEYWORDS,
    Encoder,
    State,
    accepted_keywords,
    encode_state,
    example_maker,
    required_parameters,
    takes_mask,
    token_count,
    token_grid,
)
from jepa_core.first_party import FIRST_PARTY
from jepa_core.masks import Masks

if TYPE_CHECKING:
    from jepa_core.registry import Registry

__all__ = ["ConformanceSuite", "conformance_suite"]


def conformance_suite(
    plugin: str,
    *,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    inputs: Mapping[str, Callable[[int], Any]] | None = None,
) -> type:
    """A pytest test class checking every component of ``plugin`` (its scope name)."""
    return type(
        f"TestJEPAConformance_{plugin}",
        (ConformanceSuite,),
        {"plugin": plugin, "params": dict(params or {}), "inputs": dict(inputs or {}), "__test__": True},
    )


@contextlib.contextmanager
def _rule(component: Any, rule: str) -> Iterator[None]:
    broken = None
    try:
        yield
    except pytest.skip.Exception:
        raise
    except Exception as exc:
        broken = f"{component.kind} {component.qualname} breaks rule '{rule}': {type(exc).__name__}: {exc}"
        broken += _plugin_line(exc)
    if broken is not None:  # failed outside the handler: the report shows the rule once, not chained to its cause
        pytest.fail(broken, pytrace=False)


#: where library code lives: a failure's own line is the last frame outside these
_LIBRARIES = tuple(
    str(Path(path).resolve()) + os.sep
    for path in (
        Path(__file__).parent,
        Path(__file__).parent.parent / "jepa",  # the public package, installed beside this one
        Path(torch.__file__).parent,
        Path(pydantic.__file__).parent,
        Path(pytest.__file__).parent,
        sysconfig.get_paths()["stdlib"],
    )
)


def _plugin_line(exc: BaseException) -> str:
    """`` (at FILE:LINE)``: the last line outside jepa, torch, pydantic and the standard
    library where the innermost cause of ``exc`` passed, which is the component's own code
    (the report shows no traceback, so this is the one place it is named); '' when none."""
    while exc.__cause__ is not None or (exc.__context__ is not None and not exc.__suppress_context__):
        exc = exc.__cause__ if exc.__cause__ is not None else exc.__context__  # type: ignore[assignment]
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not str(Path(frame.filename).resolve()).startswith(_LIBRARIES)
    ]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def _kinds(*kinds: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def mark(function: Callable[..., Any]) -> Callable[..., Any]:
        function._jepa_kinds = kinds  # type: ignore[attr-defined]
        return function

    return mark


class ConformanceSuite:
    """Subclass with ``plugin = "scope"`` (or use :func:`conformance_suite`)."""

    __test__ = False
    plugin: str = ""
    params: dict[str, dict[str, Any]] = {}
    inputs: dict[str, Callable[[int], Any]] = {}

    # -- helpers -------------------------------------------------------------------------
    def build(self, component: Any, **overrides: Any) -> Any:
        required = [n for n, f in component.params_model.model_fields.items() if f.is_required()]
        given = {**overrides, **self.params.get(component.qualname, {})}
        missing = [name for name in required if name not in given]
        if missing:
            pytest.skip(f"{component.qualname} needs {missing}; give them in conformance_suite(params=...)")
        return component.create(given)

    def example(self, component: Any, encoder: Encoder, batch_size: int = 2) -> State:
        if component.qualname in self.inputs:
            return self.inputs[component.qualname](batch_size)
        make = example_maker(encoder)
        if make is None:
            raise AssertionError(
                "no example input: define example_input(batch_size) on the encoder or pass "
                f"conformance_suite(inputs={{{component.qualname!r}: ...}})"
            )
        return make(batch_size)

    @staticmethod
    def encode(encoder: Encoder, x: State, mask: Any = None) -> Any:
        return encode_state(encoder, x, mask)

    # -- every component -------------------------------------------------------------------
    def test_plugin_is_loaded(self) -> None:
        registry = _registry()
        registry.ensure_loaded()
        if self.plugin == "jepa":  # the core is not an entry-point plugin
            assert registry.list(pattern="jepa:*")
            return
        records = [p for p in registry.plugins if p.name == self.plugin]
        assert records, f"no plugin named {self.plugin!r} is installed (entry point group jepa.plugins)"
        record = records[0]
        assert record.status == "loaded", f"plugin {self.plugin!r} is {record.status}: {record.error}"
        # a refused attempt (a starter name another plugin has, a starter that is not YAML, another
        # scope's registrar) leaves the plugin loaded without what it tried to add
        assert not record.refused, f"plugin {self.plugin!r} was refused: {'; '.join(record.refused)}"
        assert record.components, f"plugin {self.plugin!r} registers no component"

    def test_params_and_inputs_name_its_components(self) -> None:
        """A key of ``params=`` or ``inputs=`` that names no component of the plugin would
        be ignored, and the component it meant tested without it: an error instead."""
        registry = _registry()
        registry.ensure_loaded()
        names = sorted(c.qualname for c in registry if c.scope == self.plugin)
        for argument, given in (("params", self.params), ("inputs", self.inputs)):
            for key in given:
                if key in names:
                    continue
                hint = f"; did you mean {self.plugin}:{key}?" if f"{self.plugin}:{key}" in names else ""
                pytest.fail(
                    f"conformance_suite({argument}=...) has the key {key!r}, but plugin {self.plugin!r} registers "
                    f"no component of that name (keys are qualified names: scope:name); its components: "
                    f"{', '.join(names) or 'none'}{hint}",
                    pytrace=False,
                )

    def test_starter_configs_are_run_configs(self) -> None:
        """A starter config (``jepa init NAME``) that names a component or parameter
        that does not exist would fail only on a user's first ``jepa train``."""
        import yaml

        # run configs pull in the trainer's and evaluator's specs: only for this rule
        from jepa_core.runs import load_run_spec

        registry = _registry()
        registry.ensure_loaded()
        starters = sorted(name for name, (owner, _) in registry.templates.items() if owner == self.plugin)
        if not starters:
            pytest.skip(f"plugin {self.plugin!r} adds no starter config")
        for name in starters:
            problem = None
            try:
                load_run_spec(yaml.safe_load(registry.templates[name][1]))
            except Exception as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:  # failed outside the handler: the report shows the message once
                pytest.fail(
                    f"starter config {name!r} of plugin {self.plugin!r} (jepa init {name}) is not a valid run "
                    f"config: {problem}",
                    pytrace=False,
                )

    def test_builds_from_its_default_spec(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "builds from its default spec"):
            self.build(jepa_component, **self._wired(jepa_component))

    def test_schema_is_json(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "parameter schema is JSON-serialisable"):
            # lazy: see _registry (the public API imports torch)
            from jepa_core.api import describe

            json.dumps(describe(jepa_component.kind, jepa_component.qualname))

    def test_bare_name_is_its_own(self, jepa_component: Any) -> None:
        registry = _registry()
        if registry.is_protected(jepa_component):  # the core's and first-party plugins' names are theirs
            return
        with _rule(jepa_component, "its bare name is not a core or first-party name"):
            kind, name = jepa_component.kind, jepa_component.name
            winner = registry.shadowed_by(jepa_component)
            owner = FIRST_PARTY.get((kind, name))
            if winner is not None:
                means = f"{winner.qualname} (from {winner.distribution})"
            elif owner is not None:  # a first-party plugin that is not installed here has it
                means = f"the {kind} of {owner} wherever that is installed"
            else:
                return
            raise AssertionError(
                f"the bare name {name!r} means {means}, which wins bare lookups, so users would have to type "
                f"{jepa_component.qualname} to get this one; pick another name (`jepa list {kind}` shows the "
                "names taken)"
            )

    def _wired(self, component: Any) -> dict[str, Any]:
        """What build() would take from an encoder: a width and a token count (consistent
        with a grid the suite's params give)."""
        import math

        fields = component.params_model.model_fields
        grid = self.params.get(component.qualname, {}).get("grid")
        wired = {"hidden_dim": 16, "num_tokens": math.prod(grid) if grid else 16}
        return {name: value for name, value in wired.items() if name in fields and component.kind != "encoder"}

    # -- encoders -----------------------------------------------------------------------------
    @_kinds("encoder")
    def test_encoder_forward_takes_mask(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "forward takes mask as a keyword"):
            encoder = self.build(jepa_component)
            assert takes_mask(encoder), (
                f"{type(encoder).__name__}.forward takes no keyword 'mask', which the engine passes in masked "
                f"training: add `{MASK_PARAMETER}` to its parameters (the int64 (B, K) indices of the tokens to "
                "keep; an encoder with no tokens may raise ValueError when it is not None)"
            )

    @_kinds("encoder")
    def test_encoder_output_shape_and_width(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "output width equals embed_dim; pooled (B, D) or tokens (B, num_tokens, D)"):
            encoder = self.build(jepa_component).eval()
            out = self.encode(encoder, self.example(jepa_component, encoder, 3))
            assert out.shape[0] == 3, f"batch axis: got shape {tuple(out.shape)}"
            assert out.shape[-1] == encoder.embed_dim, f"width {out.shape[-1]} != embed_dim {encoder.embed_dim}"
            assert out.dim() in (2, 3), f"got {out.dim()} dimensions"
            num_tokens = token_count(encoder)
            if out.dim() == 3 and num_tokens is not None:
                assert out.shape[1] == num_tokens, f"{out.shape[1]} tokens but num_tokens={num_tokens}"

    @_kinds("encoder")
    def test_encoder_masked_encoding_keeps_only_kept_tokens(self, jepa_component: Any) -> None:
        import torch

        with _rule(jepa_component, "masked encoding returns the kept tokens only"):
            encoder = self.build(jepa_component).eval()
            num_tokens = token_count(encoder)
            if not num_tokens:
                pytest.skip(f"{jepa_component.qualname} has no fixed token count (num_tokens)")
            x = self.example(jepa_component, encoder, 2)
            with torch.no_grad():
                full = self.encode(encoder, x)
                keep = torch.stack(
                    [torch.randperm(num_tokens)[: max(1, num_tokens // 3)].sort().values for _ in range(2)]
                )
                kept = self.encode(encoder, x, keep)
                everything = self.encode(encoder, x, torch.arange(num_tokens).expand(2, -1))
            assert kept.shape == (2, keep.shape[1], encoder.embed_dim), f"got {tuple(kept.shape)}"
            assert torch.allclose(everything, full, atol=1e-5), "keeping every token changes the output"

    @_kinds("encoder")
    def test_encoder_dropped_tokens_do_not_reach_kept_ones(self, jepa_component: Any) -> None:
        import torch

        with _rule(jepa_component, "the kept tokens' encoding does not change when the dropped tokens' inputs do"):
            encoder = self.build(jepa_component).eval()
            num_tokens = token_count(encoder)
            if not num_tokens:
                pytest.skip(f"{jepa_component.qualname} has no fixed token count (num_tokens)")
            x = self.example(jepa_component, encoder, 2)
            key, values = _main_input(x)
            owner = _token_owner(values, num_tokens, token_grid(encoder))
            if owner is None:
                pytest.skip(
                    f"cannot tell which input elements of shape {tuple(values.shape)} belong to which "
                    f"of the {num_tokens} tokens (grid {token_grid(encoder)})"
                )
            generator = torch.Generator().manual_seed(0)
            keep = torch.stack(
                [
                    torch.randperm(num_tokens, generator=generator)[: max(1, num_tokens // 3)].sort().values
                    for _ in range(values.shape[0])
                ]
            )
            kept = torch.zeros(values.shape[0], num_tokens, dtype=torch.bool)
            kept.scatter_(1, keep, True)
            kept_elements = torch.gather(kept, 1, owner.flatten(1)).view_as(owner)
            with torch.no_grad():
                before = self.encode(encoder, x, keep)
                after = self.encode(encoder, _with(x, key, _scrambled(values, ~kept_elements, generator)), keep)
                moved = self.encode(encoder, _with(x, key, _scrambled(values, kept_elements, generator)), keep)
            # the context encoder must not see what the predictor is asked to predict
            if not torch.allclose(before, after, atol=1e-5):
                change = float((before - after).abs().max())
                scale = float(before.abs().max())
                raise AssertionError(
                    "changing only the dropped tokens' inputs changes the kept tokens' encoding (by up to "
                    f"{change:.3g}, outputs of magnitude up to {scale:.3g}; allowed: 1e-05): a masked encoder "
                    "must compute the kept tokens from the kept inputs alone. Fix: drop the tokens (e.g. with "
                    "jepa.layers.gather_tokens(tokens, mask)) before any attention, convolution or "
                    "normalisation across tokens, so that only per-token layers (embedding, positions) "
                    "come before the drop"
                )
            assert not torch.allclose(before, moved, atol=1e-5), (
                "changing the kept tokens' inputs does not change their encoding either: the rule cannot "
                "tell which input feeds which token; give the encoder an example_input whose token layout "
                "follows its grid"
            )

    @_kinds("encoder")
    def test_encoder_gradients_reach_every_parameter(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "gradients reach every trainable parameter"):
            encoder = self.build(jepa_component).train()
            out = self.encode(encoder, self.example(jepa_component, encoder, 2))
            (out.float() ** 2).mean().backward()
            missing = [n for n, p in encoder.named_parameters() if p.requires_grad and p.grad is None]
            assert not missing, f"no gradient for {missing[:5]}"

    @_kinds("encoder")
    def test_encoder_save_load_round_trip(self, jepa_component: Any, tmp_path: Any) -> None:
        import torch

        # lazy: see _registry (the engine imports torch)
        from jepa_core.api import load
        from jepa_core.model import JEPA

        with _rule(jepa_component, "save/load round trip gives identical outputs"):
            encoder = self.build(jepa_component)
            model = JEPA(encoder, self._predictor(encoder.embed_dim)).eval()
            loaded = load(model.save_pretrained(tmp_path / "model"))
            assert isinstance(loaded, JEPA)
            x = self.example(jepa_component, encoder, 2)
            with torch.no_grad():
                assert torch.equal(model.embed(x), loaded.embed(x))

    @staticmethod
    def _predictor(width: int) -> Any:
        return _registry().resolve("predictor", "jepa:mlp").create({"hidden_dim": width})

    @_kinds("encoder")
    def test_encoder_is_deterministic_under_a_seed(self, jepa_component: Any) -> None:
        import torch

        with _rule(jepa_component, "deterministic under a seed"):
            torch.manual_seed(0)
            first = self.build(jepa_component).eval()
            torch.manual_seed(0)
            second = self.build(jepa_component).eval()
            x = self.example(jepa_component, first, 2)
            with torch.no_grad():
                assert torch.equal(self.encode(first, x), self.encode(second, x))

    # -- predictors -----------------------------------------------------------------------------
    @_kinds("predictor")
    def test_predictor_forward_takes_the_engine_keywords(self, jepa_component: Any) -> None:
        with _rule(jepa_component, "forward takes the keywords the engine passes it"):
            predictor = self.build(jepa_component, **self._wired(jepa_component))
            name = f"{type(predictor).__name__}.forward"
            keywords = accepted_keywords(predictor)
            unpassed = [p for p in required_parameters(predictor) if p not in PREDICTOR_KEYWORDS]
            assert not unpassed, (
                f"{name} requires {', '.join(map(repr, unpassed))}, which the engine never passes (it passes the "
                f"context, then only {', '.join(PREDICTOR_KEYWORDS)}, as keywords): give "
                f"{'them' if len(unpassed) > 1 else 'it'} a default, or take the engine's keyword instead"
            )
            if keywords is None:  # **kwargs: takes whatever it is given
                return
            if "context_idx" in keywords:
                assert "target_idx" in keywords, (
                    f"{name} takes context_idx but no target_idx; the engine passes context_idx only together "
                    "with target_idx (masked training): add `target_idx: torch.Tensor | None = None`"
                )
            if "action_dim" in jepa_component.params_model.model_fields:
                assert "action" in keywords, (
                    f"{name} takes no keyword 'action', yet the predictor has an action_dim parameter; the engine "
                    "passes the action as action=: add `action: torch.Tensor | None = None`"
                )

    @_kinds("predictor")
    def test_predictor_maps_context_to_targets(self, jepa_component: Any) -> None:
        import torch

        with _rule(jepa_component, "predicts (B, T, D) for T target positions from (B, N, D) context"):
            predictor = self.build(jepa_component, hidden_dim=16, **self._only(jepa_component, num_tokens=16))
            context = torch.randn(2, 6, 16, requires_grad=True)
            accepts = accepted_keywords(predictor) or set()  # **kwargs: called as in paired mode
            if "target_idx" in accepts:
                kwargs = {"target_idx": torch.tensor([[7, 9, 12]] * 2)}
                if "context_idx" in accepts:
                    kwargs["context_idx"] = torch.arange(6).expand(2, -1)
                out = predictor(context, **kwargs)
                assert out.shape == (2, 3, 16), f"got {tuple(out.shape)}"
            else:
                out = predictor(context)
                assert out.shape == (2, 6, 16), f"got {tuple(out.shape)}"
            out.pow(2).mean().backward()
            assert context.grad is not None, "no gradient reaches the context"
            missing = [n for n, p in predictor.named_parameters() if p.requires_grad and p.grad is None]
            assert not missing, f"no gradient for {missing[:5]}"

    @staticmethod
    def _only(component: Any, **candidates: Any) -> dict[str, Any]:
        return {k: v for k, v in candidates.items() if k in component.params_model.model_fields}

    # -- losses ---------------------------------------------------------------------------------
    @_kinds("loss")
    def test_loss_is_a_differentiable_scalar(self, jepa_component: Any) -> None:
        import torch

        rule = "returns a finite scalar whose gradient reaches the prediction, given the context when it takes one"
        with _rule(jepa_component, rule):
            loss = self.build(jepa_component)
            takes_context = "context" in (accepted_keywords(loss) or {"context"})
            # masked (B, T, D) predictions with (B, N, D) context tokens; paired (B, D) embeddings
            for shape, context_shape in (((8, 4, 16), (8, 6, 16)), ((8, 16), (8, 16))):
                pred = torch.randn(*shape, requires_grad=True)
                extra = {"context": torch.randn(*context_shape, requires_grad=True)} if takes_context else {}
                result = loss(pred, torch.randn(*shape), **extra)
                value = result.get("loss") if isinstance(result, Mapping) else result
                where = f"for predictions of shape {shape}" + (" with context" if takes_context else "")
                got = (
                    "a dict without 'loss'"
                    if isinstance(result, Mapping) and value is None
                    else f"shape {tuple(value.shape)}"
                    if isinstance(value, torch.Tensor)
                    else f"a {type(value).__name__}"
                )
                assert isinstance(value, torch.Tensor) and value.dim() == 0, (
                    f"{where}: returned {got}; a loss returns a scalar tensor (reduce it, e.g. with .mean()) or a "
                    "dict whose 'loss' is one"
                )
                assert torch.isfinite(value), f"{where}: got {value}"
                for name, term in result.items() if isinstance(result, Mapping) else ():
                    got = f"shape {tuple(term.shape)}" if isinstance(term, torch.Tensor) else type(term).__name__
                    assert isinstance(term, torch.Tensor) and term.dim() == 0, (
                        f"{where}: its dict's {name!r} is {got}; every entry is a scalar (logged each step)"
                    )
                assert value.requires_grad, f"{where}: the value has no gradient (detached, or made under no_grad)"
                value.backward()
                assert pred.grad is not None and torch.isfinite(pred.grad).all(), f"{where}: no finite gradient"

    # -- maskers --------------------------------------------------------------------------------
    @_kinds("masker")
    def test_masker_draws_disjoint_in_range_seeded_masks(self, jepa_component: Any) -> None:
        import math

        import torch

        with _rule(jepa_component, "disjoint, in-range, equal-length and seeded masks"):
            fields = jepa_component.params_model.model_fields
            given = self.params.get(jepa_component.qualname, {})
            grid = given.get("grid") or ((4, 4) if "grid" in fields else None)
            num_tokens = given.get("num_tokens") or (math.prod(grid) if grid else 16)
            masker = self.build(jepa_component, **self._only(jepa_component, num_tokens=num_tokens, grid=grid))
            masks = masker(4, generator=torch.Generator().manual_seed(0))
            again = masker(4, generator=torch.Generator().manual_seed(0))
            assert isinstance(masks, Masks), f"it returned a {type(masks).__name__}; a masker returns jepa.Masks"
            assert masks.overlap() == 0, "a target token is also in the context"
            for name, block in (("context", masks.context), *((f"target {i}", b) for i, b in enumerate(masks.targets))):
                assert block.shape[0] == 4, f"{name} has {block.shape[0]} rows for a batch of 4"
                low, high = int(block.min()), int(block.max())
                assert low >= 0 and high < num_tokens, f"{name} indices {low}..{high} fall outside 0..{num_tokens - 1}"
            assert torch.equal(masks.context, again.context), "the same seed drew different masks"
            assert all(torch.equal(a, b) for a, b in zip(masks.targets, again.targets, strict=True))

    # -- datasets --------------------------------------------------------------------------------
    @_kinds("dataset")
    def test_dataset_items_have_a_known_form(self, jepa_component: Any) -> None:
        import torch

        with _rule(jepa_component, "has a length; items are x, (x, label) or a mapping"):
            dataset = self.build(jepa_component)
            assert len(dataset) > 0
            item = dataset[0]
            if isinstance(item, tuple):
                assert len(item) == 2 and isinstance(item[0], torch.Tensor), "a tuple item is (x, label)"
                int(item[1])
            else:
                assert isinstance(item, (torch.Tensor, Mapping)), f"got {type(item).__name__}"


# -- which input element feeds which token ----------------------------------------------------------


_MAIN_INPUT_KEYS = ("x", "input_ids", "pixel_values", "inputs")


def _main_input(x: Any) -> tuple[str | None, Any]:
    """The tensor the tokens are cut from: ``x`` itself, or a mapping's main entry."""
    if isinstance(x, Mapping):
        for key in _MAIN_INPUT_KEYS:
            if key in x:
                return key, x[key]
        raise AssertionError(f"example input has none of the keys {_MAIN_INPUT_KEYS}: {sorted(x)}")
    return None, x


def _with(x: Any, key: str | None, values: Any) -> Any:
    return values if key is None else {**x, key: values}


def _token_owner(values: Any, num_tokens: int, grid: Any) -> Any:
    """``(B, ...)`` int64 like ``values``: the index of the token each element feeds, or None
    when the layout cannot be read from the shape.

    Tokens tile the non-batch axes in contiguous blocks, token index = row-major
    position on ``grid`` (or on ``(num_tokens,)`` along axis 1 without one). The grid's
    axes are matched to the input's in order, the trailing axes first (images ``(B, C,
    H, W)`` on ``(h, w)``, clips ``(B, C, T, H, W)`` on ``(t, h, w)``), then any order
    (series ``(B, T, C)`` on a channel-major ``(C, n)`` grid).
    """
    import itertools
    import math

    import torch

    shape = tuple(values.shape)
    dims = tuple(grid) if grid else (num_tokens,)
    if math.prod(dims) != num_tokens or len(dims) >= len(shape):
        return None
    axes = list(range(1, len(shape)))
    trailing = tuple(axes[-len(dims) :]) if grid else (1,)
    for chosen in (trailing, *itertools.permutations(axes, len(dims))):
        if all(shape[axis] % size == 0 for axis, size in zip(chosen, dims, strict=True)):
            break
    else:
        return None
    owner = torch.zeros(shape, dtype=torch.long)
    stride = 1
    for axis, size in reversed(list(zip(chosen, dims, strict=True))):
        cell = torch.arange(shape[axis]) // (shape[axis] // size)
        view = [1] * len(shape)
        view[axis] = shape[axis]
        owner = owner + cell.view(view) * stride
        stride *= size
    return owner


def _scrambled(values: Any, where: Any, generator: Any) -> Any:
    """``values`` with the elements at ``where`` replaced: fresh noise for floats, other ids
    (from the same input) for integer token ids."""
    import torch

    if values.is_floating_point():
        noise = torch.randn(values.shape, generator=generator, dtype=values.dtype) * 3.0 + 1.0
    else:
        pool = values.flatten()
        noise = pool[torch.randint(len(pool), values.shape, generator=generator)]
        noise = torch.where(noise == values, (noise + 1) % (int(pool.max()) + 1), noise)
    return torch.where(where, noise, values)


# -- pytest plugin hooks (jepa-core's pytest11 entry point) --------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "jepa_component" not in metafunc.fixturenames:
        return
    cls = metafunc.cls
    if cls is None or not issubclass(cls, ConformanceSuite) or not cls.plugin:
        return
    kinds = getattr(metafunc.function, "_jepa_kinds", None)
    components = [c for c in _registry() if c.scope == cls.plugin and (kinds is None or c.kind in kinds)]
    if not components:  # a rule for a kind the plugin does not provide: skipped, saying so
        what = " or ".join(kinds) if kinds else "component"
        reason = f"plugin {cls.plugin!r} registers no {what}"
        metafunc.parametrize("jepa_component", [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="none")])
        return
    metafunc.parametrize("jepa_component", components, ids=[c.qualname for c in components])


def _registry() -> Registry:
    # Lazy on purpose, as every jepa import here: this module is jepa-core's pytest11
    # plugin, imported by every pytest session wherever jepa-core is installed, so it
    # loads pydantic, torch and the plugins only when a conformance test runs.
    from jepa_core.registry import get_registry

    return get_registry()
