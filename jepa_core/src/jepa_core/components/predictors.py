"""Core predictors: ``mlp`` (also known as ``Predictor``), ``attention`` (I-JEPA style)
and ``recurrent`` (rolls the context forward).

Predictor contract: ``forward(context, *, context_idx=None, target_idx=None,
action=None)`` maps context embeddings to predicted target embeddings of the
same width ``hidden_dim``. The engine passes only the keywords the predictor's
``forward`` accepts and that apply to the mode (masked: ``context_idx`` and
``target_idx``; action-conditioned: ``action``).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from jepa_core.layers import Block, gather_tokens, init_weights, sincos_table
from jepa_core.limits import Depth, Features, Grid, Heads, MLPRatio, Tokens, Width
from jepa_core.registry import capture_arguments


def _require_width(hidden_dim: int | None, name: str) -> int:
    if hidden_dim is None:
        raise ValueError(f"{name} predictor needs hidden_dim (jepa.build sets it to the encoder's embed_dim)")
    return hidden_dim


def _broadcast_action(action: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``(B, A)`` action repeated over the token axis of ``like`` when it has one."""
    if like.dim() == 3:
        return action.unsqueeze(1).expand(-1, like.shape[1], -1)
    return action


@capture_arguments
class MLPPredictor(nn.Module):
    """Two-layer MLP applied to each embedding (pooled or per token).

    With ``action_dim`` set, the action ``(B, A)`` is concatenated to the input.
    """

    def __init__(
        self,
        hidden_dim: Width | None = None,
        mlp_dim: Width | None = None,
        depth: Depth = 2,
        action_dim: Features | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = _require_width(hidden_dim, "mlp")
        self.action_dim = action_dim
        width = mlp_dim or 2 * self.embed_dim
        size = self.embed_dim + (action_dim or 0)
        layers: list[nn.Module] = []
        for _ in range(depth - 1):
            layers += [nn.Linear(size, width), nn.GELU()]
            size = width
        layers.append(nn.Linear(size, self.embed_dim))
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, context: torch.Tensor, *, action: torch.Tensor | None = None) -> torch.Tensor:
        if self.action_dim is not None:
            if action is None:
                raise ValueError("this mlp predictor was built with action_dim and needs an action")
            context = torch.cat([context, _broadcast_action(action, context)], dim=-1)
        elif action is not None:
            raise ValueError("got an action but the mlp predictor has no action_dim; set predictor action_dim")
        return self.net(context)


@capture_arguments
class AttentionPredictor(nn.Module):
    """Narrow transformer that predicts target tokens from context tokens (I-JEPA).

    Context embeddings are projected to ``width`` and tagged with their positions;
    one learned mask token per target position, tagged with that position, is
    appended; the sequence goes through ``depth`` pre-norm blocks and the mask
    tokens' outputs are projected back to ``hidden_dim``. Positions are fixed
    sin-cos over ``num_tokens`` (2-D when ``grid`` is set). Given a pooled
    ``(B, D)`` context it predicts a pooled target from one query token.

    Target blocks (masked training): by default (``packed=True``) all target blocks
    of a sample go in one sequence, each block's mask tokens seeing the context and
    their own block, the context seeing only itself. That gives the same
    predictions as one pass per block with ``isolate_context=True``, with the
    context processed once instead of once per block. ``packed=False`` makes one
    pass per block in which, unless ``isolate_context``, every token sees every
    other: I-JEPA's reference predictor, where the context also attends to the
    block's mask tokens. With one target block the two cost the same; with I-JEPA's
    four, a step of the digits recipe took 0.65 of the reference's time.
    ``isolate_context`` also applies to paired prediction of every position.

    With ``action_dim`` set, the action ``(B, A)`` is embedded into one more input
    token (V-JEPA 2-AC); ``action_queries=True`` also adds that embedding to every
    query, so each prediction sees the action from the first block on.

    Paired mode predicts every position of the next state. By default mask tokens
    query the context for each position; with ``in_place=True`` the context tokens
    themselves go through the blocks and each one's output is the prediction for its
    own position (V-JEPA 2-AC's predictor), so the predictor starts from the current
    state and learns how it changes. For a world model on moving digits that is what
    made the action count: top-1 retrieval of the next clip 78% with the true actions
    against 20% shuffled, where the query form reached 7% against 7%
    (``examples/video_world_model.py``, validation split).
    """

    def __init__(
        self,
        hidden_dim: Width | None = None,
        width: Width | None = None,
        depth: Depth = 4,
        heads: Heads = 4,
        mlp_ratio: MLPRatio = 4.0,
        num_tokens: Tokens | None = None,
        grid: Grid | None = None,
        action_dim: Features | None = None,
        action_queries: bool = False,
        isolate_context: bool = False,
        packed: bool = True,
        in_place: bool = False,
    ) -> None:
        super().__init__()
        self.embed_dim = _require_width(hidden_dim, "attention")
        if width is None:  # I-JEPA's predictor is narrower than its encoder
            width = max(heads * 8, self.embed_dim // 2)
            width += (-width) % (2 * heads)
        if width % heads:
            raise ValueError(f"attention predictor width={width} must be divisible by heads={heads}")
        self.width = width
        self.num_tokens = num_tokens
        self.grid = tuple(grid) if grid else None
        self.action_dim = action_dim
        self.action_queries = action_queries
        self.isolate_context = isolate_context
        self.packed = packed
        self.in_place = in_place
        self.embed = nn.Linear(self.embed_dim, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.action_embed = nn.Linear(action_dim, width) if action_dim else None
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width)
        self.out = nn.Linear(width, self.embed_dim)
        if num_tokens is not None:
            self.register_buffer("positions", sincos_table(num_tokens, width, self.grid), persistent=False)
        else:
            self.positions = None
        self._masks: dict[tuple[int, tuple[int, ...], torch.device], torch.Tensor] = {}
        init_weights(self)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def _position_table(self, context_idx: torch.Tensor, target_idx: torch.Tensor, length: int) -> torch.Tensor:
        if self.positions is not None:
            return self.positions  # no max() over the indices: that would cost a host sync per call
        needed = max(length, int(max(context_idx.max(), target_idx.max())) + 1)
        return sincos_table(needed, self.width).to(context_idx.device)

    def _predict_in_place(self, x: torch.Tensor, action: torch.Tensor | None) -> torch.Tensor:
        """Paired mode with ``in_place``: the context tokens themselves, with the action
        token beside them (and added to each with ``action_queries``), go through the
        blocks, and each one's output is the prediction for its own position."""
        if self.action_embed is not None:
            if action is None:
                raise ValueError("this attention predictor was built with action_dim and needs an action")
            action_token = self.action_embed(action).unsqueeze(1)
            if self.action_queries:
                x = x + action_token
        elif action is not None:
            raise ValueError("got an action but the attention predictor has no action_dim; set it")
        tokens = x.shape[1]
        if self.action_embed is not None:
            x = torch.cat([action_token, x], dim=1)
        for block in self.blocks:
            x = block(x)
        return self.out(self.norm(x[:, -tokens:]))

    def _attention_mask(self, prefix: int, blocks: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """Boolean ``(L, L)`` mask, True = may attend: everyone sees the prefix (context
        and action), each block's queries also see their own block."""
        key = (prefix, blocks, device)
        if key not in self._masks:
            total = prefix + sum(blocks)
            allowed = torch.zeros(total, total, dtype=torch.bool, device=device)
            allowed[:, :prefix] = True
            start = prefix
            for size in blocks:
                allowed[start : start + size, start : start + size] = True
                start += size
            self._masks[key] = allowed
        return self._masks[key]

    def forward(
        self,
        context: torch.Tensor,
        *,
        context_idx: torch.Tensor | None = None,
        target_idx: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
        action: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predicted embeddings ``(B, T, D)`` for ``target_idx (B, T)``; with a tuple of
        target blocks (packed mode) their predictions concatenated in order."""
        pooled = context.dim() == 2
        if self.in_place and (pooled or target_idx is not None):
            raise ValueError(
                "attention predictor in_place=True predicts each context token's own next state: it needs "
                "token states (B, N, D) in paired mode (no masker); "
                + ("got a pooled (B, D) context" if pooled else "got target_idx from a masker")
                + ", so drop in_place"
            )
        x = self.embed(context.unsqueeze(1) if pooled else context)
        batch, length, _ = x.shape
        blocks: tuple[int, ...] | None = None
        if pooled:
            queries = self.mask_token.expand(batch, 1, -1)
        else:
            if context_idx is None:
                context_idx = torch.arange(length, device=x.device).expand(batch, -1)
            if target_idx is None and self.in_place:  # paired mode, each token predicts its own next state
                if self.num_tokens is not None and length != self.num_tokens:
                    raise ValueError(
                        f"attention predictor in_place=True predicts each of the {length} context tokens' "
                        f"own next state, but the target has num_tokens={self.num_tokens}; use in_place=False "
                        "when the two sides have different token counts"
                    )
                table = self._position_table(context_idx, context_idx, length).to(x.dtype)
                return self._predict_in_place(x + gather_tokens(table.expand(batch, -1, -1), context_idx), action)
            if target_idx is None:  # paired mode: predict every position of the next state
                total = self.num_tokens or length
                target_idx = torch.arange(total, device=x.device).expand(batch, -1)
            if isinstance(target_idx, (tuple, list)):
                blocks = tuple(block.shape[1] for block in target_idx)
                target_idx = torch.cat(list(target_idx), dim=1)
            table = self._position_table(context_idx, target_idx, length)
            table = table.to(x.dtype).unsqueeze(0).expand(batch, -1, -1)
            x = x + gather_tokens(table, context_idx)
            queries = self.mask_token + gather_tokens(table, target_idx)
        parts = [x, queries]
        if self.action_embed is not None:
            if action is None:
                raise ValueError("this attention predictor was built with action_dim and needs an action")
            action_token = self.action_embed(action).unsqueeze(1)
            parts.insert(1, action_token)
            if self.action_queries:  # every query also carries the action, not only the one action token
                parts[-1] = queries + action_token
        elif action is not None:
            raise ValueError("got an action but the attention predictor has no action_dim; set it")
        sequence = torch.cat(parts, dim=1)
        attn_mask = None
        if blocks is not None or self.isolate_context:
            prefix = sequence.shape[1] - queries.shape[1]
            attn_mask = self._attention_mask(prefix, blocks or (queries.shape[1],), sequence.device)
        for block in self.blocks:
            sequence = block(sequence, attn_mask)
        predicted = self.out(self.norm(sequence[:, -queries.shape[1] :]))
        return predicted.squeeze(1) if pooled else predicted


@capture_arguments
class RecurrentPredictor(nn.Module):
    """GRU/LSTM that reads the context and rolls it forward one embedding per step.

    Tokens ``(B, N, D)``: the context sequence primes the recurrent state, then it
    predicts as many next embeddings as ``target_idx`` has columns (else ``steps``),
    feeding each prediction back in. Pooled ``(B, D)``: one step per ``steps``,
    returning ``(B, D)`` when ``steps == 1``. An action ``(B, A)`` joins every input.
    """

    def __init__(
        self,
        hidden_dim: Width | None = None,
        cell: Literal["gru", "lstm"] = "gru",
        state_dim: Width | None = None,
        layers: Depth = 1,
        steps: Tokens = 1,
        action_dim: Features | None = None,
    ) -> None:
        super().__init__()
        self.embed_dim = _require_width(hidden_dim, "recurrent")
        self.steps = steps
        self.action_dim = action_dim
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(self.embed_dim + (action_dim or 0), state_dim or self.embed_dim, layers, batch_first=True)
        self.out = nn.Linear(state_dim or self.embed_dim, self.embed_dim)

    def forward(
        self,
        context: torch.Tensor,
        *,
        target_idx: torch.Tensor | None = None,
        action: torch.Tensor | None = None,
    ) -> torch.Tensor:
        pooled = context.dim() == 2
        sequence = context.unsqueeze(1) if pooled else context
        steps = target_idx.shape[1] if target_idx is not None else self.steps
        if (action is None) != (self.action_dim is None):
            raise ValueError("recurrent predictor: pass an action exactly when action_dim is set")

        def with_action(x: torch.Tensor) -> torch.Tensor:
            return x if action is None else torch.cat([x, _broadcast_action(action, x)], dim=-1)

        output, state = self.rnn(with_action(sequence))
        # the first prediction comes from the state after the whole context
        current = context[:, None, :] if pooled else context[:, -1:, :]
        current = current + self.out(output[:, -1:, :])
        predictions = [current]
        for _ in range(steps - 1):
            output, state = self.rnn(with_action(current), state)
            current = current + self.out(output)
            predictions.append(current)
        predicted = torch.cat(predictions, dim=1)
        return predicted.squeeze(1) if pooled and steps == 1 else predicted
