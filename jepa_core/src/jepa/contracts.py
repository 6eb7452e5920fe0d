"""The component contract: what jepa expects of an encoder, predictor, masker, loss
and dataset, as :class:`typing.Protocol` classes a plugin's components satisfy by
shape (no base class to inherit); see :mod:`jepa_core.contracts`.

``encode_state(encoder, state)`` calls an encoder on a state (a tensor, or a mapping
of its keyword inputs) as the engine does. The contract's optional attributes are
read, with their defaults, by ``token_count``, ``token_grid``, ``embedding_width``,
``example_maker``, ``token_drop_support`` and ``packs_target_blocks``; the keywords a
component's call takes by ``accepted_keywords`` and ``takes_mask``. A component made
of parts (as the core's ``multiscale``) reads its parts with them.

>>> import torch, jepa
>>> encoder = jepa.MLPEncoder(input_dim=4, hidden_dim=8)
>>> jepa.contracts.encode_state(encoder, {"x": torch.zeros(2, 4)}).shape
torch.Size([2, 8])
>>> jepa.contracts.embedding_width(encoder), jepa.contracts.token_count(encoder)
(8, None)
"""

from jepa_core.contracts import (
    PREDICTOR_KEYWORDS,
    Dataset,
    Encoder,
    Loss,
    Masker,
    Predictor,
    State,
    accepted_keywords,
    embedding_width,
    encode_state,
    example_maker,
    packs_target_blocks,
    takes_mask,
    token_count,
    token_drop_support,
    token_grid,
)

__all__ = [
    "PREDICTOR_KEYWORDS",
    "Dataset",
    "Encoder",
    "Loss",
    "Masker",
    "Predictor",
    "State",
    "accepted_keywords",
    "embedding_width",
    "encode_state",
    "example_maker",
    "packs_target_blocks",
    "takes_mask",
    "token_count",
    "token_drop_support",
    "token_grid",
]
