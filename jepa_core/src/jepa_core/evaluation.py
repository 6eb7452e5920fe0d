"""Frozen-encoder evaluation: embeddings, a linear probe and k-nearest neighbours.

Pure torch, so the core needs no scikit-learn. The probe is multinomial logistic
regression on standardised embeddings, fitted to convergence with L-BFGS (the
usual low-shot protocol); ``weight_decay`` is its L2 strength.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
import torch.nn.functional as F


@torch.no_grad()
def embed_dataset(
    model: Any,
    data: Iterable[Any],
    *,
    batch_size: int = 256,
    encoder: str = "auto",
    tokens: str = "mean",
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Pooled embeddings ``(N, D)`` (and labels ``(N,)`` when items are ``(x, y)``)
    of a map-style dataset or any iterable of items, in order.

    ``model`` is a :class:`~jepa_core.model.JEPA` (its :meth:`embed` is used, with
    ``tokens="mean"`` or ``"flatten"`` for token encoders) or an encoder module.
    """
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    features, labels = [], []
    for batch in loader:
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        if hasattr(model, "embed"):
            z = model.embed(x, encoder=encoder, tokens=tokens)
        else:
            z = model(x)
            if z.dim() == 3:
                z = z.mean(dim=1) if tokens == "mean" else z.flatten(1)
        features.append(z.float().cpu())
        if y is not None:
            labels.append(torch.as_tensor(y).cpu())
    if was_training and hasattr(model, "train"):
        model.train()
    return torch.cat(features), (torch.cat(labels) if labels else None)


def _standardise(train: torch.Tensor, test: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = train.mean(0, keepdim=True)
    std = train.std(0, keepdim=True).clamp_min(1e-6)
    return (train - mean) / std, (test - mean) / std


def linear_probe(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    weight_decay: float = 1e-2,
    max_iter: int = 500,
) -> float:
    """Test accuracy of an L2-regularised logistic regression fitted on the train set."""
    train_x, test_x = _standardise(train_x.double(), test_x.double())
    classes = int(max(train_y.max(), test_y.max())) + 1
    weight = torch.zeros(train_x.shape[1], classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=max_iter, line_search_fn="strong_wolfe")
    targets = train_y.long()

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, targets) + weight_decay * weight.pow(2).sum() / 2
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predicted = (test_x @ weight + bias).argmax(dim=1)
    return float((predicted == test_y.long()).double().mean())


def knn_accuracy(
    train_x: torch.Tensor,
    train_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    *,
    k: int = 5,
) -> float:
    """Test accuracy of a cosine-similarity k-nearest-neighbour majority vote."""
    a = F.normalize(train_x.float(), dim=1)
    b = F.normalize(test_x.float(), dim=1)
    k = min(k, a.shape[0])
    neighbours = (b @ a.T).topk(k, dim=1).indices
    votes = train_y.long()[neighbours]
    classes = int(max(train_y.max(), test_y.max())) + 1
    counts = F.one_hot(votes, classes).sum(dim=1)
    predicted = counts.argmax(dim=1)
    return float((predicted == test_y.long()).float().mean())


def few_shot_split(
    labels: torch.Tensor, shots: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of ``shots`` random examples per class (train) and all the others (test)."""
    train = []
    for cls in labels.unique():
        members = (labels == cls).nonzero().flatten()
        if len(members) < shots:
            raise ValueError(f"class {int(cls)} has {len(members)} examples, fewer than shots={shots}")
        train.append(members[torch.randperm(len(members), generator=generator)[:shots]])
    train_idx = torch.cat(train)
    mask = torch.ones(len(labels), dtype=torch.bool)
    mask[train_idx] = False
    return train_idx, mask.nonzero().flatten()
