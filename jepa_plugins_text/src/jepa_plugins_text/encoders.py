"""Text encoders: ``text_transformer`` (:class:`TextTransformerEncoder`, over token ids)
and ``hf`` (a ``transformers`` model built from a local config).

Both follow the jepa encoder contract: ``forward(x, mask=None, padding_mask=None)``
with ``x`` the ``(B, N)`` token ids (or raw text when the encoder holds a
tokenizer), ``padding_mask`` ``(B, N)`` True at padding, and ``mask`` ``(B, K)``
indices of the tokens to keep. They return pooled ``(B, D)`` embeddings with
``pool="mean"`` or the tokens ``(B, N, D)`` with ``pool="none"`` (masked training).

Padded positions of a token output hold the mean of that sequence's real tokens:
then any plain mean over the token axis (``JEPA.embed``, the evaluation helpers)
is exactly the padding-aware mean pool, and a predictor that reads padded context
slots sees a summary of the sequence rather than arbitrary values.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from jepa import capture_arguments, install_command, spec_of
from jepa.hf import import_transformers, load_model, saved_config
from jepa.layers import gather_tokens, init_weights, masked_mean
from jepa.limits import MAX_DEPTH, MAX_FEATURES, Depth, Features, Heads, MLPRatio, Tokens, Width
from pydantic import Field
from torch import nn

from jepa_plugins_text.tokenization import Tokenizer, TokenizerSpec, make_tokenizer

Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
TokenId = Annotated[int, Field(ge=0, lt=MAX_FEATURES)]
Pool = Literal["mean", "none"]
TargetNorm = Literal["layer", "instance"]


def _fill_padding_with_mean(tokens: torch.Tensor, padding_mask: torch.Tensor | None) -> torch.Tensor:
    if padding_mask is None:
        return tokens
    pooled = masked_mean(tokens, padding_mask)
    return torch.where(padding_mask.bool().unsqueeze(-1), pooled.unsqueeze(1), tokens)


def normalise_layer(tokens: torch.Tensor, padding_mask: torch.Tensor | None, how: str = "layer") -> torch.Tensor:
    """One layer's ``(B, N, D)`` output normalised without parameters: ``"layer"`` per
    token over the features (data2vec's text and vision targets), ``"instance"`` per
    feature over the sequence's real tokens (data2vec's speech form), padding left out
    of the statistics."""
    if how == "layer":
        return F.layer_norm(tokens, tokens.shape[-1:])
    if how != "instance":
        raise ValueError(f"normalisation must be 'layer' or 'instance', got {how!r}")
    keep = (
        torch.ones_like(tokens[..., :1])
        if padding_mask is None
        else (~padding_mask.bool()).unsqueeze(-1).to(tokens.dtype)
    )
    count = keep.sum(dim=1, keepdim=True).clamp_min(1.0)
    mean = (tokens * keep).sum(dim=1, keepdim=True) / count
    variance = ((tokens - mean) ** 2 * keep).sum(dim=1, keepdim=True) / count
    return (tokens - mean) * torch.rsqrt(variance + 1e-5)


def _key_mask(padding_mask: torch.Tensor | None) -> torch.Tensor | None:
    """SDPA boolean mask ``(B, 1, 1, N)`` (True = attend) that never attends to padding.

    A sequence that is all padding would attend to nothing (NaN); it attends to its
    first slot instead, which cannot affect any other sequence.
    """
    if padding_mask is None:
        return None
    keep = ~padding_mask.bool()
    empty = ~keep.any(dim=1)
    if bool(empty.any()):
        keep = keep.clone()
        keep[empty, 0] = True
    return keep[:, None, None, :]


class _TextInput:
    """Turns what a caller passes (ids or text) into ids plus a padding mask."""

    tokenizer: Tokenizer | None
    pad_id: int | None
    vocab_size: int | None
    num_tokens: int | None

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random token ids ``(batch_size, num_tokens)`` (16 tokens when the count is free),
        none of them padding: the shape this encoder takes."""
        if self.vocab_size is None:
            raise ValueError("this encoder's model config has no vocab_size to draw example ids from")
        ids = torch.randint(0, self.vocab_size, (batch_size, self.num_tokens or 16))
        if self.pad_id is not None:
            ids[ids == self.pad_id] = (self.pad_id + 1) % self.vocab_size
        return ids

    def _ids_and_padding(
        self, x: Any, padding_mask: torch.Tensor | None, device: torch.device
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if isinstance(x, Mapping):  # a whole state, e.g. a collated dataset batch
            if padding_mask is not None:
                raise ValueError("give padding_mask inside the state mapping or as a keyword, not both")
            x, padding_mask = x["x"], x.get("padding_mask")
        if isinstance(x, str) or (isinstance(x, Sequence) and x and all(isinstance(t, str) for t in x)):
            if self.tokenizer is None:
                raise ValueError(
                    "this encoder has no tokenizer, so it takes token ids, not text; "
                    "build it with tokenizer='bytes' (or a bpe tokenizer) to pass text"
                )
            if padding_mask is not None:
                raise ValueError("padding_mask goes with token ids; text is padded by the tokenizer")
            batch = self.tokenize(x)
            return batch["x"].to(device), batch["padding_mask"].to(device)
        if isinstance(x, torch.Tensor) and x.is_floating_point():
            # the usual mix-up: the core's transformer takes (batch, time, features) floats
            raise ValueError(
                f"{type(self).__name__} takes integer token ids (batch, tokens) or a list of str, got a "
                f"{str(x.dtype).removeprefix('torch.')} tensor of shape {tuple(x.shape)}; for float sequences "
                "use the core's encoder 'transformer' (jepa.TransformerEncoder)"
            )
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.dtype not in (torch.long, torch.int32, torch.int64):
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"text encoders take (batch, tokens) integer token ids or a list of str, got {shape}")
        if padding_mask is None and self.pad_id is not None:
            padding_mask = x == self.pad_id
        elif padding_mask is not None and padding_mask.shape != x.shape:
            raise ValueError(f"padding_mask shape {tuple(padding_mask.shape)} does not match ids {tuple(x.shape)}")
        if self.vocab_size and x.numel() and int(x.max()) >= self.vocab_size:
            own = spec_of(self.tokenizer) if self.tokenizer is not None else None
            raise ValueError(
                f"token id {int(x.max())} is outside vocab_size={self.vocab_size}: the ids come from another "
                "tokenizer than the encoder's; give the data the encoder's tokenizer"
                + (f" ({own.name})" if own is not None else "")
            )
        return x, padding_mask

    def tokenize(self, texts: str | Sequence[str], max_length: int | None = None) -> dict[str, torch.Tensor]:
        """``{"x", "padding_mask"}`` for ``texts`` with this encoder's tokenizer; a text that gives
        no tokens (an empty string) is an error, as it would embed as zeros."""
        if self.tokenizer is None:
            raise ValueError("this encoder has no tokenizer")
        batch = self.tokenizer(texts, max_length=max_length)
        empty = batch["padding_mask"].all(dim=1).nonzero().flatten().tolist()
        if empty:  # no token to embed: its embedding would be a meaningless zero vector
            which = ", ".join(map(str, empty[:5])) + (f" and {len(empty) - 5} more" if len(empty) > 5 else "")
            one = len(empty) == 1
            at = f"the text at index {which}" if one else f"the texts at indices {which}"
            raise ValueError(
                f"{at} (of {len(batch['x'])}) {'gives' if one else 'give'} no tokens (an empty string), so there is "
                f"nothing to embed; leave {'it' if one else 'them'} out or give {'it' if one else 'them'} some text"
            )
        return batch


def rotary_tables(positions: torch.Tensor, head_dim: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin ``(B, 1, N, head_dim)`` of RoPE angles for integer ``positions (B, N)``."""
    inverse_frequency = 1.0 / base ** (
        torch.arange(0, head_dim, 2, device=positions.device, dtype=torch.float32) / head_dim
    )
    angles = positions.float().unsqueeze(-1) * inverse_frequency  # (B, N, head_dim / 2)
    angles = torch.cat([angles, angles], dim=-1).unsqueeze(1)
    return angles.cos(), angles.sin()


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x (B, H, N, head_dim)`` by the angles (the "rotate half" form of RoPE)."""
    first, second = x.chunk(2, dim=-1)
    return x * cos.to(x.dtype) + torch.cat([-second, first], dim=-1) * sin.to(x.dtype)


class RotaryBlock(nn.Module):
    """Pre-norm transformer block whose attention rotates queries and keys by their
    token positions (RoPE) and runs on ``F.scaled_dot_product_attention``."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.dropout = dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, dim))

    def forward(
        self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, attn_mask: torch.Tensor | None
    ) -> torch.Tensor:
        batch, length, dim = x.shape
        qkv = self.qkv(self.norm1(x)).view(batch, length, 3, self.heads, dim // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        attended = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=self.dropout if self.training else 0.0
        )
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, length, dim))
        return x + self.mlp(self.norm2(x))


@capture_arguments
class TextTransformerEncoder(_TextInput, nn.Module):
    """Transformer over token ids, e.g. ``TextTransformerEncoder(vocab_size=30000,
    hidden_dim=768)``, batch first. (Float sequences go to the core's
    ``jepa.TransformerEncoder`` instead.)

    Token embedding, rotary positions (RoPE), ``depth`` pre-norm blocks on
    scaled-dot-product attention, a final LayerNorm. Padding is never attended to
    and never pooled, so a padded token changes no other token's embedding.

    RoPE rather than learned positions: it is applied to each kept token's true
    position, so a masked context with gaps keeps its geometry in every layer; it
    depends only on relative offsets, so left or right padding changes nothing and
    texts longer than the training segments still get meaningful positions; and it
    has no position table to under-train in a short run.

    ``tokenizer`` (``"bytes"``, a bpe spec or a tokenizer object) is saved with the
    model; with one, ``vocab_size`` and ``pad_id`` follow it and ``forward`` also
    takes a list of str. Without one, pass ids and ``padding_mask`` (or ``pad_id``).
    ``pool="none"`` returns tokens (set ``num_tokens`` to the sequence length for
    masked training); ``pool="mean"`` the padding-aware mean.

    ``target_layers=K`` gives masked training data2vec's targets: the *target* output
    is the average of the last ``K`` blocks' outputs, each normalised without
    parameters (``target_norm="layer"``: per token over the features; ``"instance"``:
    per feature over the real tokens), instead of the final LayerNorm's output.
    ``forward(..., target=True)`` asks for it; the engine passes it for its target
    branch only, so the context, probes and ``JEPA.embed`` get the usual final output.
    """

    grid = None

    def __init__(
        self,
        vocab_size: Features | None = None,
        hidden_dim: Width = 256,
        depth: Depth = 4,
        heads: Heads = 4,
        mlp_ratio: MLPRatio = 4.0,
        dropout: Dropout = 0.0,
        tokenizer: TokenizerSpec | None = None,
        pad_id: TokenId | None = None,
        pool: Pool = "mean",
        num_tokens: Tokens | None = None,
        rope_base: Annotated[float, Field(gt=1.0)] = 10000.0,
        target_layers: Annotated[int, Field(ge=0, le=MAX_DEPTH)] | None = None,
        target_norm: TargetNorm = "layer",
    ) -> None:
        super().__init__()
        if target_layers is not None and target_layers > depth:
            raise ValueError(f"target_layers={target_layers} is more than the encoder's depth={depth}")
        if hidden_dim % heads:
            raise ValueError(f"hidden_dim={hidden_dim} must be divisible by heads={heads}")
        if (hidden_dim // heads) % 2:
            raise ValueError(f"the head width hidden_dim/heads={hidden_dim // heads} must be even (rotary positions)")
        self.tokenizer = make_tokenizer(tokenizer) if tokenizer is not None else None
        if vocab_size is None:
            if self.tokenizer is None:
                raise ValueError("give vocab_size or a tokenizer (e.g. tokenizer='bytes')")
            vocab_size = self.tokenizer.vocab_size
        elif self.tokenizer is not None and vocab_size < self.tokenizer.vocab_size:
            raise ValueError(f"vocab_size={vocab_size} is smaller than the tokenizer's {self.tokenizer.vocab_size}")
        if pad_id is None and self.tokenizer is not None:
            pad_id = self.tokenizer.pad_id
        if pad_id is not None and pad_id >= vocab_size:
            raise ValueError(f"pad_id={pad_id} is outside vocab_size={vocab_size}")
        self.vocab_size = vocab_size
        self.pad_id = pad_id
        self.embed_dim = hidden_dim
        self.heads = heads
        self.pool = pool
        self.num_tokens = num_tokens if pool == "none" else None
        self.rope_base = rope_base
        self.target_layers = target_layers
        self.target_norm = target_norm
        self.token_embedding = nn.Embedding(vocab_size, hidden_dim)
        self.blocks = nn.ModuleList(RotaryBlock(hidden_dim, heads, mlp_ratio, dropout) for _ in range(depth))
        self.norm = nn.LayerNorm(hidden_dim)
        init_weights(self)
        nn.init.trunc_normal_(self.token_embedding.weight, std=0.02)

    def forward(
        self,
        x: torch.Tensor | str | Sequence[str] | Mapping[str, Any],
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
        target: bool = False,
    ) -> torch.Tensor:
        """Token ``(B, N, D)`` or pooled ``(B, D)`` embeddings; ``target=True`` (the
        engine's target branch) gives the ``target_layers`` average when it is set."""
        target = target and self.target_layers is not None
        ids, padding_mask = self._ids_and_padding(x, padding_mask, self.token_embedding.weight.device)
        tokens = self.token_embedding(ids)
        positions = torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
        if mask is not None:
            tokens = gather_tokens(tokens, mask)
            positions = torch.gather(positions, 1, mask)
            if padding_mask is not None:
                padding_mask = torch.gather(padding_mask, 1, mask)
        cos, sin = rotary_tables(positions, self.embed_dim // self.heads, self.rope_base)
        attn_mask = _key_mask(padding_mask)
        if target and self.target_layers == 0:  # the token embeddings themselves: no context mixed in
            tokens = normalise_layer(tokens, padding_mask, self.target_norm)
        else:
            first_kept = len(self.blocks) - (self.target_layers or 0)
            summed = None
            for index, block in enumerate(self.blocks):
                tokens = block(tokens, cos, sin, attn_mask)
                if target and index >= first_kept:
                    layer = normalise_layer(tokens, padding_mask, self.target_norm)
                    summed = layer if summed is None else summed + layer
            tokens = summed / self.target_layers if target else self.norm(tokens)
        if self.pool == "none":
            return _fill_padding_with_mean(tokens, padding_mask)
        return masked_mean(tokens, padding_mask)

    def embed_text(self, texts: str | Sequence[str], max_length: int | None = None) -> torch.Tensor:
        """Pooled ``(B, D)`` embeddings of ``texts`` (needs a tokenizer), without gradients."""
        batch = self.tokenize(texts, max_length)
        with torch.no_grad():
            out = self(
                batch["x"].to(self.token_embedding.weight.device),
                padding_mask=batch["padding_mask"].to(self.token_embedding.weight.device),
            )
        return out.mean(dim=1) if out.dim() == 3 else out


@capture_arguments
class HFEncoder(_TextInput, nn.Module):
    """A Hugging Face ``transformers`` model as a jepa encoder (``pip install
    'jepa-plugins-text[hf]'``); nothing is ever downloaded.

    Give ``config`` (a dict with ``model_type`` and that model's settings, e.g.
    ``{"model_type": "bert", "hidden_size": 64, ...}``; randomly initialised) or
    ``path`` (a local directory with ``config.json``; its weights are loaded too
    when ``load_weights`` and the directory has them). The model's last hidden
    state is the token output. With ``mask`` only the kept tokens are fed, with
    their original ``position_ids`` (models whose forward takes them, e.g. BERT).
    A model whose code is not part of transformers (``auto_map`` in its config)
    is refused unless ``trust_remote_code`` is true; nothing ever asks on stdin.
    A saved model records the model's config rather than ``path``, so it loads
    without the original directory.
    """

    grid = None

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        path: str | None = None,
        load_weights: bool = True,
        tokenizer: TokenizerSpec | None = None,
        pad_id: TokenId | None = None,
        pool: Pool = "mean",
        num_tokens: Tokens | None = None,
        trust_remote_code: bool = False,
    ) -> None:
        super().__init__()
        transformers = import_transformers(
            f"the hf encoder needs transformers: {install_command('jepa-plugins-text', 'hf')}"
        )
        if path is not None:  # a local directory only (local_files_only): nothing downloads
            _check_model_directory(path)
        self.model = load_model(
            transformers,
            path=path,
            config=config,
            load_weights=load_weights,
            trust_remote_code=trust_remote_code,
            local_files_only=True,
        )
        if getattr(self.model, "pooler", None) is not None:
            # jepa pools the token states itself: the model's own pooler would hold parameters no loss reaches
            self.model.pooler = None
        model_vocab = getattr(self.model.config, "vocab_size", None)
        if model_vocab is None:  # an image or video backbone: no token ids to embed
            raise ValueError(
                f"{path or 'the config'} holds a {self.model.config.model_type!r} model, which takes no token ids "
                "(its config has no vocab_size): the hf encoder wraps text models such as BERT; for image and "
                "video backbones use hf_vision from jepa-plugins-vision[hf]"
            )
        # a learned position table (BERT's) holds so many positions; rotary models have none to run out of
        table = getattr(getattr(self.model, "embeddings", None), "position_embeddings", None)
        self.max_positions = table.num_embeddings if isinstance(table, nn.Embedding) else None
        if num_tokens is not None and self.max_positions is not None and num_tokens > self.max_positions:
            raise ValueError(
                f"num_tokens={num_tokens} is more than the model's max_position_embeddings={self.max_positions}: "
                f"give it at most {self.max_positions} tokens (and the data max_length={self.max_positions})"
            )
        self.tokenizer = make_tokenizer(tokenizer) if tokenizer is not None else None
        self.vocab_size = int(model_vocab) if model_vocab is not None else None
        if self.tokenizer is not None and model_vocab is not None and model_vocab < self.tokenizer.vocab_size:
            raise ValueError(
                f"the model's vocab_size={model_vocab} is smaller than the tokenizer's {self.tokenizer.vocab_size}"
            )
        if pad_id is None:
            pad_id = self.tokenizer.pad_id if self.tokenizer is not None else self.model.config.pad_token_id
        self.pad_id = pad_id
        self.embed_dim = int(self.model.config.hidden_size)
        self.pool = pool
        self.num_tokens = num_tokens if pool == "none" else None
        self._takes_positions = "position_ids" in _forward_parameters(self.model)

    def architecture_params(self) -> dict[str, Any]:
        """The model's config in place of ``path``: a saved model rebuilds the same
        network with no outside file (its weights are in ``model.safetensors``)."""
        settings = saved_config(import_transformers("transformers is missing"), self.model.config)
        own_tokenizer = getattr(self.tokenizer, "architecture_params", None)
        tokenizer = {}
        if callable(own_tokenizer):  # the checkpoint's tokenizer: its text, not its directory
            spec = spec_of(self.tokenizer)
            assert spec is not None  # a registered tokenizer: built from its spec
            tokenizer = {"tokenizer": {"name": spec.name, "params": {**spec.params, **own_tokenizer()}}}
        if settings is None:
            return {"load_weights": False, **tokenizer}  # remote code lives in the directory: it stays needed
        return {"path": None, "config": settings, **tokenizer}

    def forward(
        self,
        x: torch.Tensor | str | Sequence[str] | Mapping[str, Any],
        mask: torch.Tensor | None = None,
        padding_mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        ids, padding_mask = self._ids_and_padding(x, padding_mask, self.model.device)
        if self.max_positions is not None and ids.shape[1] > self.max_positions:
            raise ValueError(
                f"hf encoder got {ids.shape[1]} tokens a sequence, more than the model's "
                f"max_position_embeddings={self.max_positions}: cut the texts to at most {self.max_positions} "
                "tokens (the data's max_length, or the tokenizer's when calling the encoder on strings)"
            )
        positions = torch.arange(ids.shape[1], device=ids.device).expand(ids.shape[0], -1)
        if mask is not None:
            if not self._takes_positions:
                raise ValueError(
                    f"{type(self.model).__name__} takes no position_ids, so it cannot encode only "
                    "the kept tokens of a mask; use the text_transformer encoder for masked training"
                )
            ids = torch.gather(ids, 1, mask)
            positions = torch.gather(positions, 1, mask)
            if padding_mask is not None:
                padding_mask = torch.gather(padding_mask, 1, mask)
        inputs: dict[str, torch.Tensor] = {"input_ids": ids}
        if padding_mask is not None:
            attention = _key_mask(padding_mask)[:, 0, 0, :]
            inputs["attention_mask"] = attention.long()
        if self._takes_positions:
            inputs["position_ids"] = positions
        tokens = self.model(**inputs).last_hidden_state
        if self.pool == "none":
            return _fill_padding_with_mean(tokens, padding_mask)
        return masked_mean(tokens, padding_mask)


def _check_model_directory(path: str) -> None:
    """A clear error for a ``path`` that is not a saved ``transformers`` model (this
    encoder never reads the hub, so no hub id is tried)."""
    local = Path(path).expanduser()
    if not local.is_dir():
        raise ValueError(
            f"hf encoder path {path!r} is not a directory here (cwd {Path.cwd()}): give a local directory a "
            "transformers model was saved to (model.save_pretrained(directory)); nothing is downloaded"
        )
    if not (local / "config.json").is_file():
        raise ValueError(
            f"hf encoder path {path!r} has no config.json: give a directory a transformers model was saved to "
            "(model.save_pretrained(directory))"
        )


def _forward_parameters(model: nn.Module) -> Mapping[str, Any]:
    return inspect.signature(model.forward).parameters


__all__ = [
    "HFEncoder",
    "RotaryBlock",
    "TextTransformerEncoder",
    "apply_rotary",
    "masked_mean",
    "normalise_layer",
    "rotary_tables",
]
