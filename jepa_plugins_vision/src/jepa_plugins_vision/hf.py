"""Pretrained ``transformers`` backbones: encoder ``hf_vision`` and predictor
``vjepa2_predictor`` (``pip install 'jepa-plugins-vision[hf]'``).

``hf_vision`` wraps any image or video model that ``transformers.AutoModel``
loads, from a hub id or a local directory, or builds one with random weights from
a config dict. I-JEPA (``IJepaModel``) and V-JEPA 2 (``VJEPA2Model``) are the named
cases; the ViT-family backbones listed in :data:`TOKEN_DROP_FAMILIES` can be the
context encoder of masked training: the backbone's own embeddings (patch embedding
and positions) run on every patch, only the kept tokens go through its
transformer layers and final norm, so dropped patches never reach the kept ones.

``vjepa2_predictor`` is V-JEPA 2's own predictor taken from a ``VJEPA2Model``
checkpoint, so such a checkpoint keeps training as a whole JEPA (context encoder,
predictor, EMA target encoder).

Remote code never runs unless a spec sets ``trust_remote_code: true``, and a
saved model holds the backbone's config in its own ``config.json``: loading it
needs neither the network nor the directory the backbone came from.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from jepa import capture_arguments, install_command
from jepa.hf import import_transformers, load_model, saved_config
from jepa.layers import gather_tokens
from pydantic import Field
from torch import nn

from jepa_plugins_vision._types import Grid, PositiveInt, pair


@dataclass(frozen=True)
class _Layout:
    """Where a backbone family keeps the parts the token-dropping path runs.

    Each field lists candidate attribute paths (the first one present wins), so a
    layout survives transformers versions that renamed ``encoder.layer`` to ``layers``.
    """

    embeddings: tuple[str, ...]
    layers: tuple[str, ...]
    norm: tuple[str, ...]
    video: bool = False
    # the layers take each token's index on the grid (V-JEPA 2's 3-D rotary positions),
    # so kept tokens must carry their indices through the stack
    positions: bool = False
    # submodules and parameters the encoder never uses: left in place they would get no
    # gradient, which DistributedDataParallel refuses (a classification pooler, the mask
    # token of masked-image-modelling heads, V-JEPA 2's predictor)
    unused: tuple[str, ...] = ()


_VIT_LAYOUT = _Layout(
    embeddings=("embeddings",),
    layers=("layers", "encoder.layer", "encoder.layers"),
    norm=("layernorm",),
    unused=("pooler", "embeddings.mask_token"),
)

#: Backbone families (``config.model_type``) whose kept tokens ``hf_vision`` can
#: encode alone: the layers see only the tokens they are given, with positions added
#: before them (learned or fixed tables) or passed to them (V-JEPA 2's RoPE).
TOKEN_DROP_FAMILIES: dict[str, _Layout] = {
    "ijepa": _VIT_LAYOUT,
    "vit": _VIT_LAYOUT,
    "deit": _VIT_LAYOUT,
    "dinov2": _VIT_LAYOUT,
    "dinov2_with_registers": _VIT_LAYOUT,
    "vjepa2": _Layout(
        embeddings=("encoder.embeddings",),
        layers=("encoder.layer", "encoder.layers"),
        norm=("encoder.layernorm",),
        video=True,
        positions=True,
        unused=("predictor",),
    ),
}


def _transformers() -> Any:
    return import_transformers(
        f"pretrained backbones need transformers: {install_command('jepa-plugins-vision', 'hf')}"
    )


def load_backbone(
    path: str | None,
    config: dict[str, Any] | None,
    load_weights: bool,
    trust_remote_code: bool,
) -> Any:
    """A float32 ``transformers`` model from ``path`` (hub id or directory, weights
    loaded when ``load_weights``) or from ``config`` (a dict with ``model_type``;
    random weights)."""
    transformers = _transformers()
    if path is not None and config is None:
        _check_local(path)
    # float32 whatever the checkpoint's dtype: precision is the trainer's choice
    return load_model(
        transformers,
        path=path,
        config=config,
        load_weights=load_weights,
        trust_remote_code=trust_remote_code,
        example_type="ijepa",
        dtype=torch.float32,
    )


def _check_local(path: str) -> None:
    """Clear errors for a local directory that is missing or holds no model; anything
    else that does not exist on disk is a hub id for transformers to fetch."""
    local = Path(path).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ValueError(
                f"{path!r} has no config.json: give a directory a transformers model was saved to "
                "(model.save_pretrained(directory)) or a hub id such as facebook/ijepa_vith14_1k"
            )
    elif local.exists() or local.is_absolute() or path.startswith((".", "~")):
        raise ValueError(f"{path!r} is not a directory: give a local model directory or a hub id")
    elif path.count("/") != 1:  # a mistyped directory: fail now, not after the hub's retries time out
        raise ValueError(
            f"no directory {path!r} here, and it is not a hub id (those read organisation/name, e.g. "
            "facebook/ijepa_vith14_1k): check the path"
        )


def _find(model: nn.Module, candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        try:
            model.get_submodule(name)
        except AttributeError:
            continue
        return name
    return None


def _check_takes_pixels(model: Any, source: str) -> None:
    """Refuse a backbone whose input is not pixels (a text, audio or image-text model):
    hf_vision hands it images, which it would fail on, or misread, at the first batch."""
    main_input = str(getattr(model, "main_input_name", "pixel_values"))
    if main_input.startswith("pixel_values"):
        return
    model_type = model.config.model_type
    modalities = getattr(model, "input_modalities", None) or ()
    modalities = (modalities,) if isinstance(modalities, str) else tuple(modalities)
    if main_input == "input_ids" and not {"image", "video"} & set(modalities):
        raise ValueError(
            f"{source} is a text model ({type(model).__name__}, model_type {model_type!r}), not an image "
            "backbone: hf_vision feeds it pixels; for text use the text plugin's encoder 'text:hf' "
            f"({install_command('jepa-plugins-text', 'hf')}), or give hf_vision an image or video checkpoint"
        )
    raise ValueError(
        f"{source} holds {type(model).__name__} (model_type {model_type!r}), which takes {main_input!r}, "
        "not pixels: hf_vision needs an image or video backbone, whose input is pixel_values (for an "
        "image-text model, its vision tower, e.g. model_type 'clip_vision_model')"
    )


def _width(hf_config: Any) -> int:
    width = getattr(hf_config, "hidden_size", None)
    if width is None and getattr(hf_config, "hidden_sizes", None):
        width = hf_config.hidden_sizes[-1]  # conv nets: the last stage's channels
    if width is None:
        raise ValueError(
            f"cannot tell the output width of a {hf_config.model_type!r} backbone from its config "
            "(no hidden_size or hidden_sizes)"
        )
    return int(width)


@capture_arguments
class HFVisionEncoder(nn.Module):
    """A pretrained ``transformers`` image or video backbone (I-JEPA, V-JEPA 2, ViT,
    DINOv2, any ``AutoModel``) as an encoder (needs ``jepa-plugins-vision[hf]``).

    ``path`` is a hub id or a local directory (its weights are loaded when
    ``load_weights``); ``config`` is a dict with ``model_type`` and that model's
    settings, built with random weights. Images are ``(B, C, H, W)``; video
    backbones (V-JEPA 2) take ``(B, C, T, H, W)`` as the ``vit`` encoder does.

    Tokens: one per patch (per tubelet for video), on the grid the backbone's config
    gives (``image_size / patch_size``; V-JEPA 2: ``num_frames / tubelet_size`` by
    ``crop_size / patch_size`` squared, ``num_frames`` defaulting to the config's
    ``frames_per_clip``). Without a mask the output is the backbone's own
    ``last_hidden_state`` less its class, distillation and register tokens. Given
    ``mask`` (indices of the tokens to keep) the backbone's embeddings run on every
    patch and only the kept tokens (and the class/register tokens) go through its
    layers and final norm: the context encoder of masked training. That holds for
    the families in ``TOKEN_DROP_FAMILIES`` (ijepa, vit, deit, dinov2,
    dinov2_with_registers, vjepa2); any other backbone runs its own forward, has
    ``supports_token_drop`` False and cannot be used with a masker (conv nets give
    their last feature map as tokens).

    ``pool="mean"`` averages the tokens into ``(B, D)``. Code outside transformers
    (a checkpoint whose config has ``auto_map``) runs only with
    ``trust_remote_code: true``. A saved model records the backbone's config, not
    ``path``: it loads without the original directory or the network.
    """

    def __init__(
        self,
        path: str | None = None,
        config: dict[str, Any] | None = None,
        load_weights: bool = True,
        trust_remote_code: bool = False,
        num_frames: PositiveInt | None = None,
        pool: Literal["none", "mean"] = "none",
    ) -> None:
        super().__init__()
        model = load_backbone(path, config, load_weights, trust_remote_code)
        hf_config = model.config
        self.model_type: str = hf_config.model_type
        _check_takes_pixels(model, f"{path!r}" if path is not None else "config")
        layout = TOKEN_DROP_FAMILIES.get(self.model_type)
        parts = None
        if layout is not None:
            found = (_find(model, layout.embeddings), _find(model, layout.layers), _find(model, layout.norm))
            parts = found if None not in found else None
            for name in layout.unused:
                owner, _, attribute = name.rpartition(".")
                holder = model.get_submodule(owner) if owner else model
                if getattr(holder, attribute, None) is not None:
                    setattr(holder, attribute, None)
        self.model = model
        self.pool = pool
        # attribute paths, not module references: a second reference would register
        # the same parameters twice in the state dict
        self._parts: tuple[str, str, str] | None = parts
        self._layout = layout if parts is not None else None
        self.supports_token_drop = parts is not None
        if layout is None:
            self.token_drop_reason = (
                f"{type(model).__name__} (model_type {self.model_type!r}) is not one of the backbones whose "
                f"kept tokens can be encoded alone ({', '.join(sorted(TOKEN_DROP_FAMILIES))})"
            )
        elif parts is None:
            self.token_drop_reason = (
                f"this transformers version lays out {type(model).__name__} differently from what "
                "hf_vision knows (embeddings, layers, final norm)"
            )
        else:
            self.token_drop_reason = None
        modalities = getattr(model, "input_modalities", ()) or ()
        self.video = (
            layout.video
            if layout is not None
            else ("video" in modalities or getattr(model, "main_input_name", "") == "pixel_values_videos")
        )
        if num_frames is not None and not self.video:
            raise ValueError(f"num_frames applies to video backbones; {self.model_type!r} takes images")
        self.embed_dim = _width(hf_config)
        self.input_channels = int(getattr(hf_config, "num_channels", None) or getattr(hf_config, "in_chans", 3))
        self.patch_size = pair(hf_config.patch_size) if getattr(hf_config, "patch_size", None) else None
        self.token_grid = self._grid_from_config(hf_config, num_frames) if parts is not None else None
        # build() wires these into maskers and predictors; a pooled output has no tokens to mask
        self.grid = self.token_grid if pool == "none" else None
        self.num_tokens = math.prod(self.token_grid) if self.grid is not None else None

    def _grid_from_config(self, hf_config: Any, num_frames: int | None) -> tuple[int, ...]:
        assert self.patch_size is not None
        if self.video:
            frames = num_frames or int(hf_config.frames_per_clip)
            tubelet = int(hf_config.tubelet_size)
            if frames % tubelet:
                raise ValueError(f"num_frames={frames} must be divisible by the backbone's tubelet_size={tubelet}")
            self.num_frames = frames
            self.tubelet_size = tubelet
            self.image_size = pair(hf_config.crop_size)
            return (frames // tubelet, *self._spatial(self.image_size))
        self.image_size = pair(hf_config.image_size)
        return self._spatial(self.image_size)

    def _spatial(self, size: tuple[int, int]) -> tuple[int, int]:
        assert self.patch_size is not None
        (height, width), (patch_h, patch_w) = size, self.patch_size
        if height % patch_h or width % patch_w:
            raise ValueError(f"image size {height}x{width} is not divisible by the patch size {patch_h}x{patch_w}")
        return (height // patch_h, width // patch_w)

    def architecture_params(self) -> dict[str, Any]:
        """The backbone's config in place of ``path``: a saved model rebuilds the same
        network with no outside file, its weights coming from ``model.safetensors``."""
        settings = saved_config(_transformers(), self.model.config)
        if settings is None:
            # its code lives beside its weights: the directory stays needed, its weights do not
            return {"load_weights": False}
        return {"path": None, "config": settings, "load_weights": True}

    def example_input(self, batch_size: int) -> torch.Tensor:
        """Random pixels of the size the backbone's config names."""
        config = self.model.config
        size = getattr(self, "image_size", None) or pair(
            getattr(config, "image_size", None) or getattr(config, "crop_size", None) or 64
        )
        if self.video:
            frames = getattr(self, "num_frames", None) or getattr(config, "num_frames", None) or 16
            return torch.randn(batch_size, self.input_channels, frames, *size)
        return torch.randn(batch_size, self.input_channels, *size)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        expected = 5 if self.video else 4
        if not isinstance(x, torch.Tensor) or x.dim() != expected or x.shape[1] != self.input_channels:
            layout = "(batch, channels, frames, height, width)" if self.video else "(batch, channels, height, width)"
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(
                f"hf_vision ({self.model_type}) expects {layout} with channels={self.input_channels}, got {shape}"
            )
        if not x.is_floating_point():  # else torch's "Input type (unsigned char) and bias type (float)"
            raise ValueError(
                f"hf_vision ({self.model_type}) takes float pixels, got {str(x.dtype).removeprefix('torch.')}: "
                "convert the batch to floats in [0, 1] (x.float() / 255 for 8-bit images) and normalise it "
                "as the backbone was trained (e.g. ImageNet's mean and std, what image_folder's normalize: true does)"
            )
        size = self._backbone_size()
        wrong_size = size is not None and tuple(x.shape[-2:]) != size
        if wrong_size and mask is not None:
            # kept-token indices are drawn on the grid of the backbone's size: another size misplaces them
            raise ValueError(self._size_message(x))
        try:
            if self._layout is None:
                if mask is not None:
                    raise ValueError(f"hf_vision cannot encode only kept tokens: {self.token_drop_reason}")
                tokens = self._library_tokens(x)
            else:
                tokens = self._kept_tokens(x, mask)
        except (ValueError, RuntimeError) as exc:
            if wrong_size:  # transformers' "Input image size (64*64) doesn't match model (32*32)" and kin
                raise ValueError(self._size_message(x)) from exc
            raise
        return tokens if self.pool == "none" else tokens.mean(dim=1)

    def _backbone_size(self) -> tuple[int, int] | None:
        """The height and width the backbone's config is built for (``image_size``;
        ``crop_size`` for video), or None when its config names none."""
        size = getattr(self, "image_size", None)
        if size is not None:
            return tuple(size)
        config = self.model.config
        named = getattr(config, "crop_size", None) if self.video else getattr(config, "image_size", None)
        return pair(named) if isinstance(named, (int, tuple, list)) else None

    def _size_message(self, x: torch.Tensor) -> str:
        size = self._backbone_size()
        assert size is not None
        (height, width), key = size, ("crop_size" if self.video else "image_size")
        setting = str(height) if height == width else f"[{height}, {width}]"
        return (
            f"hf_vision ({self.model_type}) got {x.shape[-2]}x{x.shape[-1]} images, but its backbone is built "
            f"for {height}x{width} (its config's {key}) and hf_vision has no setting for another size: give it "
            f"{height}x{width} images (in a run config, set data.params.image_size: {setting} and the eval "
            f"datasets' alike, eval.train.params.image_size and eval.test.params.image_size; in Python, resize "
            f"the batch, e.g. torch.nn.functional.interpolate(x, size=({height}, {width})))"
        )

    def _patch_count(self, x: torch.Tensor) -> int:
        assert self.patch_size is not None
        count = math.prod(self._spatial(tuple(x.shape[-2:])))
        return count * (x.shape[2] // self.tubelet_size if self.video else 1)

    def _kept_tokens(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        layout, (embeddings, layers, norm) = self._layout, self._parts
        assert layout is not None
        # transformers' video models take (B, T, C, H, W); ours are (B, C, T, H, W)
        pixels = x.permute(0, 2, 1, 3, 4) if layout.video else x
        hidden = self.model.get_submodule(embeddings)(pixels)
        # class / distillation / register tokens come before the patches and are always kept
        prefix = hidden.shape[1] - self._patch_count(x)
        positions = None
        if mask is not None:
            hidden = torch.cat([hidden[:, :prefix], gather_tokens(hidden[:, prefix:], mask)], dim=1)
            positions = mask
        for layer in self.model.get_submodule(layers):
            out = layer(hidden, positions) if layout.positions else layer(hidden, None)
            hidden = out[0] if isinstance(out, tuple) else out
        return self.model.get_submodule(norm)(hidden)[:, prefix:]

    def _library_tokens(self, x: torch.Tensor) -> torch.Tensor:
        pixels = x.permute(0, 2, 1, 3, 4) if x.dim() == 5 else x
        hidden = self.model(**{self.model.main_input_name: pixels}).last_hidden_state
        if hidden.dim() == 4:  # a conv net's last feature map (B, C, h, w): one token per cell
            hidden = hidden.flatten(2).transpose(1, 2)
        return hidden


@capture_arguments
class VJEPA2Predictor(nn.Module):
    """V-JEPA 2's own predictor from a ``VJEPA2Model`` checkpoint (needs
    ``jepa-plugins-vision[hf]``), so the checkpoint keeps training as a whole JEPA.

    ``path`` (hub id or local directory, weights loaded when ``load_weights``) or
    ``config`` (a ``vjepa2`` config dict, random weights). Context tokens are
    projected to the predictor's width, one learned mask token (number
    ``mask_index``; 1 as transformers' forward uses) is appended per target
    position, every token carries its grid index into the 3-D rotary attention,
    and the mask tokens' outputs are projected back to the encoder's width.
    ``hidden_dim`` and ``grid`` are wired from the encoder and must match the
    checkpoint (width ``hidden_size``; a square ``crop_size / patch_size`` grid).
    Several equal-sized target blocks go through in one pass, stacked on the batch.
    """

    packed = True

    def __init__(
        self,
        path: str | None = None,
        config: dict[str, Any] | None = None,
        load_weights: bool = True,
        hidden_dim: PositiveInt | None = None,
        grid: Grid | None = None,
        mask_index: Annotated[int, Field(ge=0)] = 1,
    ) -> None:
        super().__init__()
        model = load_backbone(path, config, load_weights, trust_remote_code=False)
        hf_config = model.config
        if hf_config.model_type != "vjepa2" or getattr(model, "predictor", None) is None:
            source = f"{path!r}" if path is not None else "config"
            raise ValueError(
                f"vjepa2_predictor needs a V-JEPA 2 checkpoint (model_type 'vjepa2'); {source} holds "
                f"model_type {hf_config.model_type!r}"
            )
        self.embed_dim = int(hf_config.hidden_size)
        if hidden_dim is not None and hidden_dim != self.embed_dim:
            raise ValueError(
                f"hidden_dim={hidden_dim} (the encoder's width) differs from the checkpoint's "
                f"hidden_size={self.embed_dim}: the predictor reads and predicts embeddings of that width"
            )
        side = int(hf_config.crop_size) // int(hf_config.patch_size)
        if grid is not None and (len(grid) not in (2, 3) or tuple(grid[-2:]) != (side, side)):
            raise ValueError(
                f"grid={tuple(grid)} does not fit the checkpoint's positions: its rotary attention reads "
                f"token indices on a (frames, {side}, {side}) grid (crop_size / patch_size)"
            )
        self.grid = tuple(grid) if grid is not None else None
        self.mask_index = mask_index % int(hf_config.pred_num_mask_tokens)
        self.hf_config = hf_config
        self.predictor = model.predictor

    def architecture_params(self) -> dict[str, Any]:
        """The checkpoint's config in place of ``path`` (see ``hf_vision``)."""
        return {"path": None, "config": saved_config(_transformers(), self.hf_config), "load_weights": True}

    def _predict(self, context: torch.Tensor, context_idx: torch.Tensor, target_idx: torch.Tensor) -> torch.Tensor:
        embeddings = self.predictor.embeddings
        x = embeddings.predictor_embeddings(context)
        queries = embeddings.mask_tokens[self.mask_index].expand(x.shape[0], target_idx.shape[1], -1)
        hidden = torch.cat([x, queries], dim=1)
        # the attention has no mask and its rotary positions come from these indices, so the
        # token order does not matter (transformers sorts by position; the result is the same)
        positions = torch.cat([context_idx, target_idx], dim=1)
        for layer in self.predictor.layer:
            out = layer(hidden, positions)
            hidden = out[0] if isinstance(out, tuple) else out
        hidden = self.predictor.layernorm(hidden)
        return self.predictor.proj(hidden[:, context.shape[1] :])

    def forward(
        self,
        context: torch.Tensor,
        *,
        context_idx: torch.Tensor | None = None,
        target_idx: torch.Tensor | tuple[torch.Tensor, ...] | None = None,
    ) -> torch.Tensor:
        """Predictions ``(B, T, D)`` for ``target_idx (B, T)``; for a tuple of target
        blocks their predictions concatenated in order."""
        if context.dim() != 3:
            raise ValueError(f"vjepa2_predictor takes context tokens (B, N, D), got shape {tuple(context.shape)}")
        if target_idx is None:
            raise ValueError("vjepa2_predictor predicts masked positions: it needs target_idx (masked training)")
        batch, length, _ = context.shape
        if context_idx is None:
            context_idx = torch.arange(length, device=context.device).expand(batch, -1)
        blocks = tuple(target_idx) if isinstance(target_idx, (tuple, list)) else (target_idx,)
        if len(blocks) > 1 and len({block.shape[1] for block in blocks}) == 1:
            # equal-sized blocks: one pass with the blocks stacked on the batch axis, as V-JEPA
            # runs its several masks
            count = len(blocks)
            stacked = self._predict(context.repeat(count, 1, 1), context_idx.repeat(count, 1), torch.cat(blocks, dim=0))
            return torch.cat(stacked.split(batch, dim=0), dim=1)
        return torch.cat([self._predict(context, context_idx, block) for block in blocks], dim=1)


__all__ = ["TOKEN_DROP_FAMILIES", "HFVisionEncoder", "VJEPA2Predictor", "load_backbone"]
