"""Frozen-encoder evaluation: the probes of a run's ``eval`` section, as functions.

A plugin (or a script) reuses them rather than writing its own protocol:

* :func:`embed_dataset` (pooled vectors), :func:`embed_tokens` (the token grid and
  its padding) and :func:`raw_features` produce a probe's inputs;
* :func:`linear_probe`, :func:`knn_accuracy` and :func:`svm_accuracy` (TS2Vec's RBF
  SVM, ``C`` chosen from :data:`SVM_C_GRID` by 5-fold grid search; needs
  scikit-learn) score them;
* :func:`attentive_probe` is V-JEPA's attentive probe (:func:`fit_attentive_probe`
  and :func:`predict_attentive` keep the trained probe);
* :func:`ridge_probe` scores a real-valued target (a regression) by R², the ridge
  strength chosen from :data:`RIDGE_ALPHAS` by leave-one-out CV (scikit-learn);
* :func:`aligned_labels` puts a test set's labels in the train set's class
  numbering (by class name), as ``jepa eval`` does;
* :func:`pool_tokens`, :func:`token_padding` and :func:`few_shot_split` are the
  helpers those use.

>>> import torch, jepa.evaluation
>>> x = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4)
>>> y = torch.tensor([0] * 4 + [1] * 4)
>>> jepa.evaluation.knn_accuracy(x, y, x, y, k=1)
1.0
"""

from jepa_core.evaluation import (
    RIDGE_ALPHAS,
    SPLIT_NAMES,
    SVM_C_GRID,
    TOKEN_POOLS,
    AttentiveClassifier,
    aligned_labels,
    attentive_probe,
    embed_dataset,
    embed_tokens,
    few_shot_split,
    fit_attentive_probe,
    knn_accuracy,
    linear_probe,
    pool_tokens,
    predict_attentive,
    raw_features,
    require_sklearn,
    ridge_probe,
    svm_accuracy,
    token_padding,
)

__all__ = [
    "RIDGE_ALPHAS",
    "SPLIT_NAMES",
    "SVM_C_GRID",
    "TOKEN_POOLS",
    "AttentiveClassifier",
    "aligned_labels",
    "attentive_probe",
    "embed_dataset",
    "embed_tokens",
    "few_shot_split",
    "fit_attentive_probe",
    "knn_accuracy",
    "linear_probe",
    "pool_tokens",
    "predict_attentive",
    "raw_features",
    "require_sklearn",
    "ridge_probe",
    "svm_accuracy",
    "token_padding",
]
