"""Building blocks for components: the ones the core and first-party plugins use.

A plugin's encoders and predictors may reuse them (``import jepa.layers``), so
that a ViT in a plugin positions and attends exactly as the core's transformer:

* :func:`sincos_1d` and :func:`sincos_table`: fixed sine-cosine positions, 1-D or
  factorised over a token grid (I-JEPA's 2-D table);
* :func:`gather_tokens`: the kept tokens of a mask, ``tokens[b, index[b]]``;
* :func:`masked_mean`: pooling tokens to one vector, padded positions left out;
* :class:`Block` (pre-norm transformer block) on :class:`Attention` (fused
  ``scaled_dot_product_attention``), with :func:`key_padding_to_attn_mask` for
  padded sequences;
* :func:`init_weights`: the ViT/I-JEPA initialisation of linear and norm layers.

>>> import torch, jepa.layers
>>> jepa.layers.sincos_table(6, 8, grid=(2, 3)).shape
torch.Size([6, 8])
>>> block = jepa.layers.Block(8, heads=2)
>>> block(torch.zeros(1, 6, 8)).shape
torch.Size([1, 6, 8])
"""

from jepa_core.layers import (
    Attention,
    Block,
    gather_tokens,
    init_weights,
    key_padding_to_attn_mask,
    masked_mean,
    sincos_1d,
    sincos_table,
)

__all__ = [
    "Attention",
    "Block",
    "gather_tokens",
    "init_weights",
    "key_padding_to_attn_mask",
    "masked_mean",
    "sincos_1d",
    "sincos_table",
]
