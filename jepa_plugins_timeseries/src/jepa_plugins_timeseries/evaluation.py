"""The TS2Vec evaluation protocol: frozen encoder -> one embedding per series -> RBF
SVM with ``C`` chosen by 5-fold grid search on the train split -> test accuracy.

The SVM lives in :mod:`jepa.evaluation` (also the ``svm`` probe of a run
config's ``eval`` section); needs scikit-learn
(``pip install 'jepa-plugins-timeseries[eval]'`` or ``'jepa-core[eval]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# one implementation of the protocol, in the core; re-exported under the names this module had
from jepa.evaluation import SVM_C_GRID, svm_accuracy


@torch.no_grad()
def embed_series(
    encoder: torch.nn.Module, data: Any, *, pool: str | None = None, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(N, D)`` embeddings of a dataset's items (and their labels when labelled).

    ``pool`` overrides the encoder's pooling (``"max"``, ``"mean"``...); token
    outputs are otherwise mean-pooled.
    """
    if hasattr(encoder, "encoder") and hasattr(encoder, "predictor"):  # a whole JEPA, not its encoder
        raise TypeError(
            "embed_series takes an encoder, got a whole model: pass model.encoder, or use "
            "jepa.evaluation.embed_dataset(model, data) for the embeddings the probes read"
        )
    was_training = encoder.training
    encoder.eval()
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    features, labels = [], []
    device = next(encoder.parameters()).device
    for batch in loader:
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        z = encoder(x.to(device), pool=pool) if pool is not None else encoder(x.to(device))
        features.append((z.mean(dim=1) if z.dim() == 3 else z).float().cpu())
        if y is not None:
            labels.append(y)
    encoder.train(was_training)
    return torch.cat(features).numpy(), (torch.cat(labels).numpy() if labels else None)


__all__ = ["SVM_C_GRID", "embed_series", "svm_accuracy"]
