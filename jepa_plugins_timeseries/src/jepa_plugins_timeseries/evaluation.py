"""The TS2Vec evaluation protocol: frozen encoder -> one embedding per series -> RBF
SVM with ``C`` chosen by 5-fold grid search on the train split -> test accuracy.

Needs scikit-learn (``pip install 'jepa-plugins-timeseries[eval]'``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

# TS2Vec's grid (its np.inf aside: a hard margin adds nothing on these sets)
SVM_C_GRID: tuple[float, ...] = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4)


@torch.no_grad()
def embed_series(
    encoder: torch.nn.Module, data: Any, *, pool: str | None = None, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(N, D)`` embeddings of a dataset's items (and their labels when labelled).

    ``pool`` overrides the encoder's pooling (``"max"``, ``"mean"``...); token
    outputs are otherwise mean-pooled.
    """
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


def svm_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    *,
    folds: int = 5,
    jobs: int | None = None,
) -> tuple[float, float]:
    """``(test accuracy, chosen C)`` of an RBF SVM whose ``C`` is picked by
    ``folds``-fold cross-validated grid search on the train split.

    As TS2Vec: with fewer than ``folds`` examples in some class the grid search
    cannot stratify, and the SVM is fitted with the default ``C=1``.
    """
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    train_x = np.asarray(train_x, dtype=np.float64).reshape(len(train_x), -1)
    test_x = np.asarray(test_x, dtype=np.float64).reshape(len(test_x), -1)
    for name, values in (("train", train_x), ("test", test_x)):
        if not np.isfinite(values).all():
            raise ValueError(f"{name} features hold NaN/inf; mask missing values before the SVM")
    _, counts = np.unique(train_y, return_counts=True)
    if counts.min() < folds:
        model = SVC(kernel="rbf", gamma="scale", C=1.0).fit(train_x, train_y)
        chosen = 1.0
    else:
        search = GridSearchCV(SVC(kernel="rbf", gamma="scale"), {"C": list(SVM_C_GRID)}, cv=folds, n_jobs=jobs)
        search.fit(train_x, train_y)
        model, chosen = search.best_estimator_, float(search.best_params_["C"])
    return float((model.predict(test_x) == test_y).mean()), chosen
