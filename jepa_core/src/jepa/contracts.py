"""The component contract: what jepa expects of an encoder, predictor, masker, loss
and dataset, as :class:`typing.Protocol` classes a plugin's components satisfy by
shape (no base class to inherit); see :mod:`jepa_core.contracts`.

``encode_state(encoder, state)`` calls an encoder on a state (a tensor, or a mapping
of its keyword inputs) as the engine does.

>>> import torch, jepa
>>> encoder = jepa.MLPEncoder(input_dim=4, hidden_dim=8)
>>> jepa.contracts.encode_state(encoder, {"x": torch.zeros(2, 4)}).shape
torch.Size([2, 8])
"""

from jepa_core.contracts import Dataset, Encoder, Loss, Masker, Predictor, State, encode_state

__all__ = ["Dataset", "Encoder", "Loss", "Masker", "Predictor", "State", "encode_state"]
