"""Composite components whose parts are themselves component specs.

Advanced patterns, buildable by name from a config:

* ``jepa:multiscale`` (encoder): a local and a global encoder read the same input;
  their outputs are fused (concatenation, sum or a learned gate).
* ``jepa:cross_modal`` (encoder): one encoder per modality; the query modality's
  tokens attend to the tokens of every modality present (cross-attention).
  Its input is a mapping ``{"image": ..., "text": ...}``, which the engine passes
  as keyword arguments.
* ``jepa:hierarchical`` (predictor): a coarse predictor's guess is handed to a
  fine predictor, which refines it (coarse-to-fine).

Each part is a nested spec (``{"name": "cnn", "params": {...}}``), validated with
the composite, so a bad value deep inside reports its full dotted path, and a
saved model records every part by its qualified name.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import torch
from pydantic import Field
from torch import nn

from jepa_core.contracts import (
    accepted_keywords,
    embedding_width,
    encode_state,
    example_maker,
    token_count,
    token_grid,
)
from jepa_core.errors import SpecError, short_repr
from jepa_core.layers import init_weights, masked_mean
from jepa_core.limits import Depth, Grid, Heads, MLPRatio, Tokens, Width
from jepa_core.registry import capture_arguments
from jepa_core.specs import ComponentSpec, EncoderSpec, PredictorSpec, component_field
from jepa_core.validation import validate_spec

_RESERVED_INPUTS = frozenset({"mask"})


def _as_spec(value: Any, kind: str, path: str) -> ComponentSpec:
    """A validated spec from a name, dict or spec (direct Python construction skips
    the params model, so validate here too)."""
    if isinstance(value, ComponentSpec) and value.kind == kind:
        return value
    from pydantic import TypeAdapter

    return validate_spec(TypeAdapter(component_field(kind)).validate_python, value, path, component_field(kind))


def _build_part(spec: ComponentSpec, path: str, **wired: Any) -> nn.Module:
    """Create a part; ``wired`` values fill its fields that are unset (None) and exist."""
    component = spec.resolve()
    params = dict(spec.params)
    for name, value in wired.items():
        if name in component.params_model.model_fields and params.get(name) is None and value is not None:
            params[name] = value
    try:
        return component.create(params, f"{path}.params")
    except SpecError as exc:
        if exc.path:
            raise
        raise exc.prefixed(f"{path}.params") from exc


def _width(part: nn.Module, path: str) -> int:
    """An encoder part's ``embed_dim``, which sizes the layers that read its output."""
    width = embedding_width(part)
    try:
        return operator.index(width)  # an int, or an integer that nn.Linear takes as one (numpy)
    except TypeError:
        raise ValueError(f"{path}: the encoder has no integer embed_dim (got {short_repr(width)})") from None


def _as_tokens(z: torch.Tensor) -> torch.Tensor:
    return z.unsqueeze(1) if z.dim() == 2 else z


@capture_arguments
class MultiScaleEncoder(nn.Module):
    """Fuses a local and a global encoder that read the same input.

    ``local_encoder`` and ``global_encoder`` are encoder specs (e.g. a small-kernel
    ``cnn`` and a ``vit``, or an ``mlp`` and a ``transformer``). Each output is
    projected to ``hidden_dim`` (default: the local encoder's width) and fused:
    ``concat`` (concatenate, then a linear layer), ``sum``, or ``gated`` (a learned
    sigmoid gate per feature chooses between the two scales).

    ``pool="mean"`` returns ``(B, hidden_dim)``, mean-pooling token outputs first.
    ``pool="none"`` returns tokens: every part that returns tokens must return the
    same number, and a pooled part's vector is broadcast to every token (global
    context for each local token). A ``mask`` (masked training) goes to both parts,
    so neither sees the target tokens.
    """

    def __init__(
        self,
        local_encoder: EncoderSpec,
        global_encoder: EncoderSpec,
        hidden_dim: Width | None = None,
        fusion: Literal["concat", "sum", "gated"] = "concat",
        pool: Literal["mean", "none"] = "mean",
    ) -> None:
        super().__init__()
        local_spec = _as_spec(local_encoder, "encoder", "local_encoder")
        global_spec = _as_spec(global_encoder, "encoder", "global_encoder")
        parts = [_build_part(local_spec, "local_encoder"), _build_part(global_spec, "global_encoder")]
        self.local_encoder, self.global_encoder = parts
        local_dim = _width(parts[0], "local_encoder")
        global_dim = _width(parts[1], "global_encoder")
        self.embed_dim = hidden_dim or local_dim
        self.fusion = fusion
        self.pool = pool
        counts = {count for count in map(token_count, parts) if count is not None}
        if pool == "none":
            if len(counts) > 1:
                raise ValueError(f"pool='none' needs parts with the same token count, got num_tokens {sorted(counts)}")
            self.num_tokens = next(iter(counts), None)
            self.grid = next((g for g in map(token_grid, parts) if g is not None), None)
        else:
            self.num_tokens = None
            self.grid = None
        if fusion == "concat":
            self.fuse = nn.Linear(local_dim + global_dim, self.embed_dim)
        else:
            self.local_proj = nn.Linear(local_dim, self.embed_dim)
            self.global_proj = nn.Linear(global_dim, self.embed_dim)
            if fusion == "gated":
                self.gate = nn.Linear(2 * self.embed_dim, self.embed_dim)
        self.norm = nn.LayerNorm(self.embed_dim)
        for name, module in self.named_children():  # the parts keep their own initialisation
            if name not in ("local_encoder", "global_encoder"):
                init_weights(module)

    def example_input(self, batch_size: int) -> Any:
        for part in (self.local_encoder, self.global_encoder):
            make = example_maker(part)
            if make is not None:
                return make(batch_size)
        raise AttributeError("neither part has example_input")

    def forward(self, x: Any, mask: torch.Tensor | None = None, **inputs: Any) -> torch.Tensor:
        value = {"x": x, **inputs} if inputs else x
        local = encode_state(self.local_encoder, value, mask)
        global_ = encode_state(self.global_encoder, value, mask)
        if self.pool == "mean":
            local = local.mean(dim=1) if local.dim() == 3 else local
            global_ = global_.mean(dim=1) if global_.dim() == 3 else global_
        else:
            if local.dim() == 2 and global_.dim() == 2:
                raise ValueError("multiscale pool='none' needs at least one part that returns tokens")
            if local.dim() == 2:
                local = local.unsqueeze(1).expand(-1, global_.shape[1], -1)
            if global_.dim() == 2:
                global_ = global_.unsqueeze(1).expand(-1, local.shape[1], -1)
            if local.shape[1] != global_.shape[1]:
                raise ValueError(f"multiscale parts returned {local.shape[1]} and {global_.shape[1]} tokens")
        if self.fusion == "concat":
            fused = self.fuse(torch.cat([local, global_], dim=-1))
        else:
            local, global_ = self.local_proj(local), self.global_proj(global_)
            if self.fusion == "sum":
                fused = local + global_
            else:
                gate = torch.sigmoid(self.gate(torch.cat([local, global_], dim=-1)))
                fused = gate * local + (1.0 - gate) * global_
        return self.norm(fused)


class _CrossAttentionBlock(nn.Module):
    """Pre-norm block: queries attend to a key/value sequence, then an MLP."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float) -> None:
        super().__init__()
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, queries: torch.Tensor, context: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        kv = self.norm_kv(context)
        attended, _ = self.attention(self.norm_q(queries), kv, kv, key_padding_mask=padding, need_weights=False)
        queries = queries + attended
        return queries + self.mlp(self.norm_mlp(queries))


@capture_arguments
class CrossModalEncoder(nn.Module):
    """One encoder per modality, fused by cross-attention.

    ``modalities`` maps an input name to an encoder spec, e.g.
    ``{"image": "cnn", "text": {"name": "text_transformer", "params": {...}}}``.
    The input is a mapping with those names (``model({"image": x, "text": t}, ...)``;
    the engine passes it as keyword arguments); a value that is itself a mapping
    (``{"x": ids, "padding_mask": m}``) becomes that encoder's keyword arguments,
    and its ``padding_mask`` hides padded tokens from the attention.

    Each modality's output (tokens, or a pooled vector as one token) is projected
    to ``hidden_dim`` and tagged with a learned modality embedding. In ``depth``
    blocks the tokens of the ``query`` modality (default: the first one) attend to
    the tokens of every modality present, their own included. A modality may be
    left out of an input: with the query modality missing, the first present one
    asks. ``pool="mean"`` returns ``(B, hidden_dim)``; ``pool="none"`` the query
    tokens, and a ``mask`` (masked training) applies to the query modality.
    """

    def __init__(
        self,
        modalities: Annotated[dict[str, EncoderSpec], Field(max_length=64)],
        hidden_dim: Width | None = None,
        query: str | None = None,
        depth: Depth = 1,
        heads: Heads = 4,
        mlp_ratio: MLPRatio = 4.0,
        pool: Literal["mean", "none"] = "mean",
    ) -> None:
        super().__init__()
        if not modalities:
            raise ValueError("cross_modal needs at least one modality, e.g. {'image': 'cnn', 'text': 'transformer'}")
        reserved = _RESERVED_INPUTS & set(modalities)
        if reserved:
            raise ValueError(f"modality names {sorted(reserved)} are reserved for the engine's keywords")
        specs = {name: _as_spec(spec, "encoder", f"modalities.{name}") for name, spec in modalities.items()}
        self.names = list(specs)
        self.query = query if query is not None else self.names[0]
        if self.query not in specs:
            raise ValueError(f"query {self.query!r} is not one of the modalities {self.names}")
        self.encoders = nn.ModuleDict({name: _build_part(spec, f"modalities.{name}") for name, spec in specs.items()})
        widths = {name: _width(encoder, f"modalities.{name}") for name, encoder in self.encoders.items()}
        self.embed_dim = hidden_dim or widths[self.query]
        if self.embed_dim % heads:
            raise ValueError(f"hidden_dim={self.embed_dim} must be divisible by heads={heads}")
        self.pool = pool
        query_encoder = self.encoders[self.query]
        self.num_tokens = token_count(query_encoder) if pool == "none" else None
        self.grid = token_grid(query_encoder) if pool == "none" else None
        self.projections = nn.ModuleDict({name: nn.Linear(width, self.embed_dim) for name, width in widths.items()})
        self.modality_embeddings = nn.ParameterDict(
            {name: nn.Parameter(torch.zeros(1, 1, self.embed_dim)) for name in self.names}
        )
        self.blocks = nn.ModuleList(_CrossAttentionBlock(self.embed_dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(self.embed_dim)
        for module in (self.projections, self.blocks, self.norm):
            init_weights(module)
        for parameter in self.modality_embeddings.values():
            nn.init.trunc_normal_(parameter, std=0.02)

    def example_input(self, batch_size: int) -> dict[str, Any]:
        examples = {}
        for name, encoder in self.encoders.items():
            make = example_maker(encoder)
            if make is None:
                raise AttributeError(f"the {name!r} encoder has no example_input")
            examples[name] = make(batch_size)
        return examples

    def forward(self, mask: torch.Tensor | None = None, **inputs: Any) -> torch.Tensor:
        unknown = set(inputs) - set(self.names)
        if unknown:
            raise ValueError(f"cross_modal got inputs {sorted(unknown)}; its modalities are {self.names}")
        present = [name for name in self.names if name in inputs]
        if not present:
            raise ValueError(f"cross_modal needs at least one of the inputs {self.names}")
        query = self.query if self.query in inputs else present[0]
        tokens: dict[str, torch.Tensor] = {}
        padding: dict[str, torch.Tensor | None] = {}
        for name in present:
            value = inputs[name]
            z = _as_tokens(encode_state(self.encoders[name], value, mask if name == query else None))
            tokens[name] = self.projections[name](z) + self.modality_embeddings[name]
            pad = value.get("padding_mask") if isinstance(value, Mapping) else None
            if pad is not None and name == query and mask is not None:
                pad = torch.gather(pad, 1, mask)
            padding[name] = pad.bool() if pad is not None and pad.shape[1] == z.shape[1] else None
        sizes = {name: z.shape[0] for name, z in tokens.items()}
        if len(set(sizes.values())) > 1:  # one item of each modality per sample: torch.cat would just fail
            described = ", ".join(f"{name} {size}" for name, size in sizes.items())
            raise ValueError(
                f"cross_modal inputs hold different batch sizes ({described}); give every modality one item per sample"
            )
        queries = tokens[query]
        others = [name for name in present if name != query]
        key_padding = None
        if any(padding[name] is not None for name in present):
            masks = []
            for name in [query, *others]:
                pad = padding[name]
                masks.append(
                    pad
                    if pad is not None
                    else torch.zeros(tokens[name].shape[:2], dtype=torch.bool, device=queries.device)
                )
            key_padding = torch.cat(masks, dim=1)
        for block in self.blocks:
            context = torch.cat([queries, *(tokens[name] for name in others)], dim=1)
            queries = block(queries, context, key_padding)
        queries = self.norm(queries)
        if self.pool == "none":
            return queries
        return masked_mean(queries, padding[query])


@capture_arguments
class HierarchicalPredictor(nn.Module):
    """Coarse-to-fine prediction: a coarse predictor guesses, a fine one refines.

    ``coarse`` and ``fine`` are predictor specs; their width, token count and grid
    follow this predictor's (which ``jepa.build`` takes from the encoder).

    When the fine predictor takes target positions (e.g. ``attention``), the coarse
    guesses join its context as extra tokens placed at the target positions, so it
    attends to both the context and the first guess. Otherwise (e.g. ``mlp``) the
    context and the coarse guess are concatenated feature-wise and projected back
    to ``hidden_dim`` before the fine predictor; this needs a coarse predictor whose
    output has the context's shape. The result is the fine prediction.
    """

    def __init__(
        self,
        # the defaults are the input form of a spec, which pydantic validates into the annotated ComponentSpec
        coarse: PredictorSpec = {"name": "jepa:attention", "params": {"depth": 1}},  # type: ignore[assignment]  # noqa: B006 (pydantic copies)
        fine: PredictorSpec = {"name": "jepa:attention", "params": {"depth": 1}},  # type: ignore[assignment]  # noqa: B006
        hidden_dim: Width | None = None,
        num_tokens: Tokens | None = None,
        grid: Grid | None = None,
    ) -> None:
        super().__init__()
        if hidden_dim is None:
            raise ValueError("hierarchical predictor needs hidden_dim (jepa.build sets it to the encoder's embed_dim)")
        wired = {"hidden_dim": hidden_dim, "num_tokens": num_tokens, "grid": tuple(grid) if grid else None}
        self.coarse = _build_part(_as_spec(coarse, "predictor", "coarse"), "coarse", **wired)
        self.fine = _build_part(_as_spec(fine, "predictor", "fine"), "fine", **wired)
        for name, part in (("coarse", self.coarse), ("fine", self.fine)):
            width = embedding_width(part)
            if width is not None and width != hidden_dim:
                raise ValueError(f"{name} predictor has width {width}, not hidden_dim={hidden_dim}")
        self.embed_dim = hidden_dim
        self.num_tokens = num_tokens
        self.grid = wired["grid"]
        self._coarse_keywords = accepted_keywords(self.coarse)
        self._fine_keywords = accepted_keywords(self.fine)
        self.by_position = self._fine_keywords is None or {"target_idx", "context_idx"} <= self._fine_keywords
        if not self.by_position:
            self.merge = nn.Linear(2 * hidden_dim, hidden_dim)
            init_weights(self.merge)

    @staticmethod
    def _given(keywords: set[str] | None, **candidates: Any) -> dict[str, Any]:
        given = {name: value for name, value in candidates.items() if value is not None}
        if keywords is None:
            return given
        refused = set(given) - keywords
        if refused - {"context_idx"}:
            raise ValueError(f"a part of the hierarchical predictor does not accept {', '.join(sorted(refused))}")
        return {name: value for name, value in given.items() if name in keywords}

    def forward(
        self,
        context: torch.Tensor,
        *,
        context_idx: torch.Tensor | None = None,
        target_idx: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
    ) -> torch.Tensor:
        coarse = self.coarse(
            context,
            **self._given(self._coarse_keywords, context_idx=context_idx, target_idx=target_idx, action=action),
        )
        if not self.by_position:
            if coarse.shape != context.shape:
                raise ValueError(
                    f"with a fine predictor that takes no target positions the coarse guess must have the "
                    f"context's shape {tuple(context.shape)}, got {tuple(coarse.shape)}; use fine='attention'"
                )
            merged = self.merge(torch.cat([context, coarse], dim=-1))
            return self.fine(merged, **self._given(self._fine_keywords, target_idx=target_idx, action=action))
        if context.dim() == 2:  # pooled: the context and the guess become tokens 0 and 1; predict at 1
            positions = torch.arange(2, device=context.device).expand(context.shape[0], -1)
            refined = self.fine(
                torch.stack([context, coarse], dim=1),
                **self._given(self._fine_keywords, context_idx=positions, target_idx=positions[:, 1:], action=action),
            )
            return refined.squeeze(1)
        batch, length = context.shape[:2]
        if context_idx is None:
            context_idx = torch.arange(length, device=context.device).expand(batch, -1)
        if target_idx is None:
            total = self.num_tokens or length
            target_idx = torch.arange(total, device=context.device).expand(batch, -1)
        if coarse.shape[1] != target_idx.shape[1]:
            raise ValueError(f"coarse predictor returned {coarse.shape[1]} tokens for {target_idx.shape[1]} targets")
        return self.fine(
            torch.cat([context, coarse], dim=1),
            **self._given(
                self._fine_keywords,
                context_idx=torch.cat([context_idx, target_idx], dim=1),
                target_idx=target_idx,
                action=action,
            ),
        )
