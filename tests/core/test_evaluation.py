"""Evaluation that fits the field: SVM (TS2Vec), attentive probe (V-JEPA), pooling,
raw baselines on every kind of data, and runs whose evaluation fails without losing work."""

from __future__ import annotations

import json
import math
import re
import sys

import jepa
import numpy as np
import pytest
import torch
from jepa_core.errors import SpecError
from jepa_core.evaluation import (
    RIDGE_ALPHAS,
    SVM_C_GRID,
    attentive_probe,
    check_probe_labels,
    check_regression_targets,
    embed_dataset,
    embed_tokens,
    fit_attentive_probe,
    knn_accuracy,
    linear_probe,
    pool_tokens,
    predict_attentive,
    raw_features,
    ridge_probe,
    svm_accuracy,
)
from jepa_core.runs import evaluate, evaluate_path, format_results, load_run_spec, train_run

TOKEN_MODEL = {
    "encoder": {
        "name": "transformer",
        "params": {"input_dim": 2, "hidden_dim": 16, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 8},
    },
    "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
    "masker": "random",
}
TRAIN = {"steps": 2, "batch_size": 16, "warmup_steps": 1, "progress": False, "plot": False}


def tiny_run(**eval_section) -> dict:
    return {
        "model": TOKEN_MODEL,
        "data": {"name": "sinusoids", "params": {"size": 32, "steps": 8, "channels": 2}},
        "train": TRAIN,
        "eval": {
            "train": {"name": "sinusoids", "params": {"size": 40, "steps": 8, "channels": 2}},
            "test": {"name": "sinusoids", "params": {"size": 40, "steps": 8, "channels": 2, "split": "test"}},
            **eval_section,
        },
    }


# -- svm (TS2Vec) ------------------------------------------------------------------------------------


def checkerboard(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0, 4, size=(n, 2))
    return x, ((np.floor(x[:, 0]) + np.floor(x[:, 1])) % 2).astype(int)


def test_svm_chooses_c_by_cross_validation() -> None:
    pytest.importorskip("sklearn")
    from sklearn.svm import SVC

    rng = np.random.default_rng(0)
    (train_x, train_y), (test_x, test_y) = checkerboard(200, rng), checkerboard(200, rng)
    accuracy, chosen = svm_accuracy(train_x, train_y, test_x, test_y)
    default = float((SVC(C=1.0, gamma="scale").fit(train_x, train_y).predict(test_x) == test_y).mean())
    assert chosen in SVM_C_GRID and chosen > 1.0, "a checkerboard needs a tight fit: CV must pick a large C"
    assert accuracy > default + 0.15


def test_svm_scores_separable_classes_perfectly_and_random_labels_near_chance() -> None:
    pytest.importorskip("sklearn")
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=generator) * 6
    train_y, test_y = torch.arange(3).repeat(10), torch.arange(3).repeat(20)
    train_x = centres[train_y] + torch.randn(30, 8, generator=generator)
    test_x = centres[test_y] + torch.randn(60, 8, generator=generator)
    assert svm_accuracy(train_x, train_y, test_x, test_y)[0] == 1.0

    noise_train, noise_test = torch.randn(100, 8, generator=generator), torch.randn(400, 8, generator=generator)
    labels_train = torch.randint(2, (100,), generator=generator)
    labels_test = torch.randint(2, (400,), generator=generator)
    assert abs(svm_accuracy(noise_train, labels_train, noise_test, labels_test)[0] - 0.5) < 0.1


def test_svm_with_fewer_examples_than_folds_fits_c_1() -> None:
    pytest.importorskip("sklearn")
    x = torch.tensor([[0.0], [0.1], [5.0], [5.1], [5.2], [0.2]])
    y = torch.tensor([0, 0, 1, 1, 1, 0])
    assert svm_accuracy(x, y, x, y) == (1.0, 1.0)


def test_a_missing_scikit_learn_names_the_extra(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn now raises ImportError
    hint = re.escape(jepa.install_command("jepa-core", "eval"))  # names the folder jepa-core came from, if one
    with pytest.raises(jepa.SpecError, match=hint) as info:
        svm_accuracy(np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros((2, 2)), np.array([0, 1]))
    assert info.value.path == "eval.probes"
    spec = load_run_spec(tiny_run(probes=["svm"]))
    with pytest.raises(jepa.SpecError, match=hint):
        train_run(spec, run_dir=tmp_path / "run")  # before training, not after
    assert not (tmp_path / "run").exists()


def test_unlabelled_eval_data_and_too_many_shots_fail_before_training(tmp_path) -> None:
    unlabelled = tmp_path / "series.npz"
    np.savez(unlabelled, x=np.random.default_rng(0).normal(size=(12, 8, 2)).astype("float32"))
    config = tiny_run()
    config["eval"]["test"] = {"name": "arrays", "params": {"path": str(unlabelled), "y_key": None}}
    with pytest.raises(jepa.SpecError) as info:
        train_run(load_run_spec(config), run_dir=tmp_path / "run")
    assert info.value.path == "eval.test" and "not labelled" in str(info.value)
    assert "set eval.test.params.y_key (`jepa describe dataset jepa:arrays` lists its parameters)" in str(info.value)
    # 40 items of 4 classes: no class holds 30
    with pytest.raises(jepa.SpecError, match=r"fewer than shots=30; lower eval.shots") as info:
        train_run(load_run_spec(tiny_run(shots=30)), run_dir=tmp_path / "run")
    assert info.value.path == "eval.shots"
    assert not (tmp_path / "run").exists(), "found before training: nothing written"


def test_a_knn_k_that_reaches_every_labelled_example_is_refused_by_name(tmp_path) -> None:
    """k-NN with k >= the labelled examples gives every test item the same vote: it used to be
    scored as the commonest class's share, silently. Now a warning before training, and the
    knn probe fails with the reason while the others score."""
    with pytest.warns(UserWarning, match=r"eval.knn_k: k=8 reaches all 8 labelled examples") as caught:
        run_dir = train_run(load_run_spec(tiny_run(shots=2, knn_k=8, baselines=["raw"])), run_dir=tmp_path / "run")
    message = str(caught[0].message)
    assert "eval.shots=2 of each of 4 classes" in message and "set eval.knn_k below 8" in message
    results = json.loads((run_dir / "eval.json").read_text())
    assert results["errors"]["jepa/knn"].startswith("SpecError: eval.knn_k: k=8 reaches all 8 labelled examples")
    assert "raw/knn" in results["errors"] and "linear" in results["jepa"] and "linear" in results["raw"]
    spec = load_run_spec(tiny_run(knn_k=40, probes=["knn"], baselines=[]))
    scored = evaluate(jepa.build(TOKEN_MODEL), spec)
    assert "(all of eval.train)" in scored["errors"]["jepa/knn"]
    with pytest.raises(jepa.SpecError, match=r"eval.knn_k: k=40 reaches all 40"):  # knn alone: nothing to score
        train_run(spec, run_dir=tmp_path / "alone")
    assert not (tmp_path / "alone").exists(), "nothing to score: refused before training"
    scored = evaluate(jepa.build(TOKEN_MODEL), load_run_spec(tiny_run(knn_k=39, probes=["knn"])))
    assert "knn" in scored["jepa"]
    # the results say which k scored them (and the linear probe's strength, when it ran)
    assert scored["protocol"]["knn_k"] == 39 and "weight_decay" not in scored["protocol"]
    both = evaluate(jepa.build(TOKEN_MODEL), load_run_spec(tiny_run(probes=["linear"], weight_decay=0.5)))
    assert both["protocol"]["weight_decay"] == 0.5 and "knn_k" not in both["protocol"]


# -- labels a probe cannot score ------------------------------------------------------------------------


def test_every_probe_refuses_train_labels_of_one_class() -> None:
    """One class: every prediction is right, so each probe scored 1.000 whatever the embeddings."""
    generator = torch.Generator().manual_seed(0)
    train_x, test_x = torch.randn(12, 4, generator=generator), torch.randn(6, 4, generator=generator)
    one_class = torch.zeros(12, dtype=torch.long)
    probes = [
        lambda y, test_y: linear_probe(train_x, y, test_x, test_y),
        lambda y, test_y: knn_accuracy(train_x, y, test_x, test_y),
        lambda y, test_y: attentive_probe(train_x, y, test_x, test_y, steps=2),
    ]
    try:
        import sklearn  # noqa: F401
    except ImportError:
        pass
    else:
        probes.append(lambda y, test_y: svm_accuracy(train_x, y, test_x, test_y)[0])
    for probe in probes:
        with pytest.raises(jepa.SpecError) as info:
            probe(one_class, torch.zeros(6, dtype=torch.long))
        assert info.value.path == "eval.train"
        assert str(info.value).startswith(
            "eval.train: its labels hold one class (label 0) over 12 items, and a probe needs at least two classes"
        )
        with pytest.raises(jepa.SpecError) as info:  # a class the probe was never fitted on
            probe(torch.arange(12) % 2, torch.tensor([0, 1, 2, 0, 1, 3]))
        assert info.value.path == "eval.test"
        assert str(info.value).startswith("eval.test: its labels hold classes 2, 3 that eval.train's labels lack")
        assert 0.0 <= probe(torch.arange(12) % 2, torch.arange(6) % 2) <= 1.0  # two classes on both sides: scored
    with pytest.raises(jepa.SpecError, match="one class"):
        fit_attentive_probe(train_x, one_class, steps=2)
    # with the class names (a UCR .tsv numbers the labels of both files): the label as the file writes it
    with pytest.raises(
        jepa.SpecError, match=r"hold class 2='5' that eval.train's labels lack \(those hold 0='-1', 1='1'\)"
    ):
        check_probe_labels(torch.arange(12) % 2, torch.tensor([0, 2]), names=("-1", "1", "5"))


def test_probes_take_arrays_and_score_the_classes_not_their_numbers() -> None:
    """A probe called on NumPy arrays, or on classes numbered 3/13/23 instead of 0/1/2,
    scores exactly as on tensors numbered from 0; features it cannot read are refused."""
    generator = torch.Generator().manual_seed(0)
    train_y, test_y = torch.arange(30) % 3, torch.arange(15) % 3
    centres = torch.randn(3, 6, generator=generator)
    train_x = centres[train_y] + torch.randn(30, 6, generator=generator)
    test_x = centres[test_y] + torch.randn(15, 6, generator=generator)
    probes = {
        "linear": linear_probe,
        "knn": knn_accuracy,
        "attentive": lambda *data: attentive_probe(*data, steps=20),
    }
    for name, probe in probes.items():
        score = probe(train_x, train_y, test_x, test_y)
        assert probe(train_x.numpy(), train_y.numpy(), test_x.numpy(), test_y.numpy()) == score, name
        assert probe(train_x, train_y * 10 + 3, test_x, test_y * 10 + 3) == score, name
    with pytest.raises(ValueError, match=r"k=30 must be from 1 to 29: the vote is among the 30 train examples"):
        knn_accuracy(train_x, train_y, test_x, test_y, k=30)
    with pytest.raises(ValueError, match="k=0 must be from 1 to 29"):
        knn_accuracy(train_x, train_y, test_x, test_y, k=0)
    with pytest.raises(ValueError, match="train features hold 30 items but train labels 29; give one label per item"):
        linear_probe(train_x, train_y[:-1], test_x, test_y)
    with pytest.raises(ValueError, match=r"test features must be \(items, features\), got shape \(15, 1, 6\); flatten"):
        knn_accuracy(train_x, train_y, test_x[:, None], test_y)
    with pytest.raises(ValueError, match="train features are 6 wide and test features 5; embed both"):
        linear_probe(train_x, train_y, test_x[:, :5], test_y)
    with pytest.raises(ValueError, match="k=2.5 must be from 1 to 29"):
        knn_accuracy(train_x, train_y, test_x, test_y, k=2.5)
    with pytest.raises(ValueError, match="test features hold NaN/inf; mask missing values"):
        knn_accuracy(train_x, train_y, test_x.clone().fill_(float("nan")), test_y)
    kept = fit_attentive_probe(train_x.numpy(), train_y.numpy(), padding_mask=np.zeros((30, 1), bool), steps=5)
    assert predict_attentive(kept, test_x.numpy(), np.zeros((15, 1), bool)).shape == (15, 3)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return
    with pytest.raises(ValueError, match=r"train features must be \(items, features\), got shape \(30, 1, 6\)"):
        svm_accuracy(train_x[:, None], train_y, test_x[:, None], test_y)  # was flattened and scored silently


def test_pooling_asked_of_an_encoder_that_pools_itself_is_said_to_change_nothing() -> None:
    encoder = jepa.build_component("encoder", {"name": "mlp", "params": {"input_dim": 4, "hidden_dim": 8}})
    items = [(torch.randn(4), index % 2) for index in range(6)]
    with pytest.warns(UserWarning, match=r"pools its own tokens .* pooling them 'flatten' .* changes nothing"):
        flat, _ = embed_dataset(encoder, items, tokens="flatten")
    assert torch.equal(flat, embed_dataset(encoder, items)[0])  # the encoder's own vector either way


def test_evaluating_a_config_whose_eval_train_holds_one_class_fails_instead_of_scoring_one(tmp_path) -> None:
    """`jepa eval CONFIG` (and a run's probes): the trained model's row fails with the
    reason, no 1.000 in it."""
    import yaml
    from jepa_core.runs import evaluate_path, failed_probes

    generator = np.random.default_rng(0)
    x = generator.standard_normal((24, 8, 2)).astype("float32")
    np.savez(tmp_path / "one.npz", x=x, y=np.zeros(24, dtype=int))
    np.savez(tmp_path / "two.npz", x=x, y=np.arange(24) % 2)
    config = tiny_run(probes=["linear", "knn"], baselines=["raw"])
    config["eval"]["train"] = {"name": "arrays", "params": {"path": str(tmp_path / "one.npz")}}
    config["eval"]["test"] = {"name": "arrays", "params": {"path": str(tmp_path / "one.npz")}}
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    results = evaluate_path(tmp_path / "run.yaml")
    assert "jepa" not in results or "linear" not in results["jepa"]
    assert failed_probes(results) == ["jepa/linear", "jepa/knn"]
    assert results["errors"]["jepa/linear"].startswith("SpecError: eval.train: its labels hold one class (label 0)")
    assert "raw/linear" in results["errors"], "the baselines are not scored on one class either"

    config["eval"]["train"]["params"]["path"] = str(tmp_path / "two.npz")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(config))
    results = evaluate_path(tmp_path / "run.yaml")
    assert "errors" not in results
    # a config probed as it builds the model: nothing was trained, and the table does not say it was
    assert results["protocol"]["trained"] is False
    table = format_results({**results, "raw": {"linear": 1.0, "knn": 1.0}})
    assert table.splitlines()[1].startswith("model ") and "\njepa " not in table
    assert "note: raw probes at least as well as the model (" in table
    assert table.splitlines()[-1] == "note: nothing was trained: model is the model as its config builds it"
    # beside a random_init row, the note says why two untrained models of one architecture differ
    table = format_results({**results, "random_init": {"linear": 0.5, "knn": 0.5}})
    assert table.splitlines()[-2:] == [
        "note: nothing was trained: model is the model as its config builds it",
        "note: random_init is that architecture with other random weights (train.seed + 1)",
    ]


# -- attentive probe (V-JEPA) --------------------------------------------------------------------------


def one_informative_token(n: int, seed: int, count: int = 8, width: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise tokens but one, at a random position: it carries a flag and the class
    (the sign of channel 1), a signal that averaging over the tokens drowns."""
    generator = torch.Generator().manual_seed(seed)
    tokens = torch.randn(n, count, width, generator=generator)
    tokens[..., 0] = 0.0
    labels = torch.randint(2, (n,), generator=generator)
    rows, position = torch.arange(n), torch.randint(count, (n,), generator=generator)
    tokens[rows, position, 0] = 3.0
    tokens[rows, position, 1] = 2.0 * labels - 1.0 + 0.1 * torch.randn(n, generator=generator)
    return tokens, labels


def test_the_attentive_probe_finds_the_one_token_that_mean_pooling_drowns() -> None:
    (train, train_y), (test, test_y) = one_informative_token(300, 0), one_informative_token(300, 1)
    pooled = linear_probe(train.mean(1), train_y, test.mean(1), test_y)
    attentive = attentive_probe(train, train_y, test, test_y, steps=200, seed=0)
    assert pooled < 0.7 and attentive > 0.85, (pooled, attentive)


def test_the_attentive_probe_ignores_padded_tokens_and_is_deterministic() -> None:
    tokens, labels = one_informative_token(64, 0, count=6, width=8)
    padding = torch.zeros(64, 6, dtype=torch.bool)
    padding[::2, 4:] = True  # every other item has two padded tokens
    padding[3] = True  # and one item is all padding
    changed = tokens.clone()
    changed[padding] = torch.randn(int(padding.sum()), 8) * 100
    changed[0, 5] = float("nan")
    first = fit_attentive_probe(tokens, labels, padding_mask=padding, steps=20, seed=3)
    second = fit_attentive_probe(changed, labels, padding_mask=padding, steps=20, seed=3)
    logits = predict_attentive(first, tokens, padding)
    torch.testing.assert_close(predict_attentive(first, changed, padding), logits, rtol=0, atol=0)
    torch.testing.assert_close(predict_attentive(second, changed, padding), logits, rtol=0, atol=0)
    other_seed = fit_attentive_probe(tokens, labels, padding_mask=padding, steps=20, seed=4)
    assert not torch.equal(predict_attentive(other_seed, tokens, padding), logits)


def test_pooled_embeddings_are_one_token_for_the_attentive_probe() -> None:
    (train, train_y), (test, test_y) = one_informative_token(60, 0), one_informative_token(60, 1)

    def flagged(tokens: torch.Tensor) -> torch.Tensor:  # (N, D): each series' informative token alone
        return tokens[torch.arange(len(tokens)), tokens[..., 0].argmax(dim=1)]

    accuracy = attentive_probe(flagged(train), train_y, flagged(test), test_y, steps=100)
    assert accuracy >= 0.9  # the class is the sign of one channel: a (N, D) input is read as one token


# -- pooling and embedding -----------------------------------------------------------------------------


class StepEncoder(torch.nn.Module):
    """One token per time step; NaN (missing or padding) read as 0."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 4)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        return self.linear(torch.nan_to_num(x))


def test_embed_pools_mean_and_max_over_unpadded_tokens_only() -> None:
    model = jepa.build(
        "transformer",
        "attention",
        masker="random",
        encoder={"input_dim": 3, "hidden_dim": 8, "depth": 1, "heads": 2, "pool": "none", "num_tokens": 6},
        predictor={"depth": 1, "heads": 2},
    ).eval()
    x, padding = torch.randn(2, 6, 3), torch.zeros(2, 6, dtype=torch.bool)
    padding[1, 4:] = True
    state = {"x": x, "padding_mask": padding}
    tokens = model.embed(state, tokens="none")
    assert tokens.shape == (2, 6, 8)
    torch.testing.assert_close(model.embed(state, tokens="max")[1], tokens[1, :4].amax(0))
    torch.testing.assert_close(model.embed(state, tokens="mean")[1], tokens[1, :4].mean(0))
    assert torch.equal(model.embed(state, tokens="flatten").reshape(2, 6, 8)[1, 4:], torch.zeros(2, 8))
    with pytest.raises(ValueError, match="'max'"):
        model.embed(state, tokens="sum")


def test_nan_padded_series_embed_without_their_padding() -> None:
    model = jepa.JEPA(StepEncoder(), torch.nn.Linear(4, 4), target="shared").eval()
    series = torch.randn(3, 10, 2)
    series[1, 6:] = float("nan")  # a shorter series, padded at the end
    tokens = model.encoder(series)
    torch.testing.assert_close(model.embed(series, tokens="max")[1], tokens[1, :6].amax(0))
    torch.testing.assert_close(model.embed(series, tokens="mean")[1], tokens[1, :6].mean(0))
    grid, padding, _ = embed_tokens(model, [(s, 0) for s in series])
    assert padding[1].tolist() == [False] * 6 + [True] * 4 and not padding[0].any()


def test_a_pool_window_averages_the_pooled_stretches_of_each_series() -> None:
    tokens = torch.randn(4, 10, 3)
    padding = torch.zeros(4, 10, dtype=torch.bool)
    padding[1, 7:] = True  # 7 real tokens: stretches of 4 and 3 with window 4
    padding[2, 4:] = True  # 4 real tokens: one stretch, pooled as without a window
    padding[3] = True  # nothing real: zeros
    tokens[padding] = float("nan")
    windowed = pool_tokens(tokens, padding, "max", window=4)
    # 10 tokens, ceil(10 / 4) = 3 stretches of equal length: 4, 3 and 3 tokens
    expected = torch.stack([tokens[0, :4].amax(0), tokens[0, 4:7].amax(0), tokens[0, 7:].amax(0)]).mean(0)
    torch.testing.assert_close(windowed[0], expected)
    torch.testing.assert_close(windowed[1], (tokens[1, :4].amax(0) + tokens[1, 4:7].amax(0)) / 2)
    torch.testing.assert_close(windowed[2], pool_tokens(tokens, padding, "max")[2])
    assert torch.equal(windowed[3], torch.zeros(3))
    means = pool_tokens(tokens, padding, "mean", window=4)
    torch.testing.assert_close(means[1], (tokens[1, :4].mean(0) + tokens[1, 4:7].mean(0)) / 2)
    assert torch.equal(pool_tokens(tokens, padding, "max", window=10), pool_tokens(tokens, padding, "max"))
    with pytest.raises(ValueError, match="'mean' or 'max'; 'flatten' takes no window"):
        pool_tokens(tokens, padding, "flatten", window=4)
    with pytest.raises(ValueError, match="a whole number of at least 1; got 2.5"):
        pool_tokens(tokens, padding, "max", window=2.5)


def test_eval_pool_window_reaches_the_probes_and_is_refused_with_flatten(tmp_path, capsys) -> None:
    spec = load_run_spec(tiny_run(probes=["linear"], features="max", pool_window=3))
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    assert "jepa: probing (linear on max over stretches of at most 3 tokens; " in capsys.readouterr().err
    results = json.loads((run_dir / "eval.json").read_text())
    assert results["protocol"]["pool_window"] == 3
    whole = evaluate_path(run_dir, overrides=["eval.pool_window=null"])
    assert "pool_window" not in whole["protocol"]
    with pytest.raises(SpecError, match=r"pool_window pools stretches of tokens, and features 'flatten'.*--set eval"):
        load_run_spec(tiny_run(features="flatten", pool_window=3))


def test_any_iterable_of_items_embeds_like_a_list_of_them() -> None:
    # a generator has no len(): a DataLoader given one directly raised TypeError
    encoder = torch.nn.Linear(4, 3)
    items = [(torch.randn(4), label) for label in (0, 1, 1, 0, 2)]
    features, labels = embed_dataset(encoder, items, batch_size=2)
    for data in (iter(items), (item for item in items)):
        streamed, streamed_labels = embed_dataset(encoder, data, batch_size=2)
        assert torch.equal(streamed, features) and torch.equal(streamed_labels, labels)
    tokens, padding, token_labels = embed_tokens(encoder, (item for item in items), batch_size=2)
    assert tokens.shape == (5, 1, 3) and not padding.any() and torch.equal(token_labels, labels)
    assert [x.tolist() for x, _ in raw_features(iter(items))] == [x.tolist() for x, _ in raw_features(items)]


# -- the raw baseline ------------------------------------------------------------------------------------


def test_raw_features_of_nan_padded_series_are_zero_padded() -> None:
    lengths = [12, 7, 12, 4]
    items = []
    for index, length in enumerate(lengths):
        series = torch.full((12, 2), float("nan"))
        series[:length] = torch.randn(length, 2)
        series[0, 1] = float("nan") if index == 2 else series[0, 1]  # a missing value inside
        items.append((series, index % 2))
    (x, y), (test_x, _) = raw_features(items, items[:2])
    assert x.shape == (4, 24) and test_x.shape == (2, 24) and torch.isfinite(x).all()
    assert torch.equal(x[1].reshape(12, 2)[7:], torch.zeros(5, 2)) and x[2, 1] == 0
    assert torch.equal(x[0], items[0][0].reshape(-1)) and y.tolist() == [0, 1, 0, 1]


def text_items(n: int, seed: int, length: int = 12) -> list:
    """Token ids with padding (id 0) at the end; the class is which of ids 5 and 6 occurs."""
    generator = torch.Generator().manual_seed(seed)
    items = []
    for index in range(n):
        label = index % 2
        real = int(torch.randint(4, length + 1, (1,), generator=generator))
        ids = torch.zeros(length, dtype=torch.long)
        ids[:real] = torch.randint(7, 30, (real,), generator=generator)
        ids[int(torch.randint(real, (1,), generator=generator))] = 5 + label
        padding = torch.arange(length) >= real
        items.append(({"x": ids, "padding_mask": padding}, label))
    return items


def test_raw_features_of_text_are_token_frequencies_over_unpadded_positions() -> None:
    train, test = text_items(80, 0), text_items(40, 1)
    (train_x, train_y), (test_x, test_y) = raw_features(train, test)
    assert train_x.shape[1] == test_x.shape[1] <= 25, "one column per id seen in train; padding id 0 never counts"
    torch.testing.assert_close(train_x.sum(1), torch.ones(80))
    assert linear_probe(train_x, train_y, test_x, test_y) == 1.0

    item = ({"x": torch.tensor([7, 7, 9, 0, 0]), "padding_mask": torch.tensor([0, 0, 0, 1, 1]).bool()}, 1)
    unseen = ({"x": torch.tensor([7, 3, 0, 0, 0]), "padding_mask": torch.tensor([0, 0, 1, 1, 1]).bool()}, 0)
    (x, _), (y, _) = raw_features([item], [unseen])
    assert x[0].tolist() == pytest.approx([2 / 3, 1 / 3]), "columns: ids 7 and 9; the padding id 0 never counts"
    assert y.tolist() == [[0.5, 0.0]], "id 3, unseen in train, has no column"


# -- runs: every probe, every dataset kind, and failures that lose nothing -------------------------------


def test_a_run_reports_every_probe_in_its_table(tmp_path, capsys) -> None:
    pytest.importorskip("sklearn")
    spec = load_run_spec(
        tiny_run(probes=["linear", "knn", "svm", "attentive"], features="max", seeds=[0, 1], attentive={"steps": 10})
    )
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert "errors" not in results
    for probe in ("linear", "knn", "svm", "attentive"):
        assert 0.0 <= results["jepa"][probe] <= 1.0 and 0.0 <= results["random_init"][probe] <= 1.0
    assert set(results["raw"]) >= {"linear", "knn", "svm"} and "attentive" not in results["raw"]
    assert len(results["jepa"]["svm_c"]) == 1, "the C chosen, once: without shots each seed would fit the same svm"
    assert results["protocol"]["features"] == "max" and results["protocol"]["attentive"]["steps"] == 10
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["linear", "knn", "svm", "attentive"]
    assert table[3].split()[0] == "raw" and table[3].split()[-1] == "-"


def test_unequal_length_series_train_probe_and_baseline_end_to_end(tmp_path) -> None:
    pytest.importorskip("jepa_plugins_timeseries")
    pytest.importorskip("sklearn")
    generator = np.random.default_rng(0)
    x = generator.standard_normal((48, 16, 1)).astype("float32")
    y = np.arange(48) % 2
    x[y == 1] += 1.0
    for row in range(48):
        x[row, 8 + row % 8 :] = np.nan  # lengths 8..15, NaN-padded at the end
    np.savez(tmp_path / "series.npz", x=x, y=y)
    arrays = {"name": "arrays", "params": {"path": str(tmp_path / "series.npz")}}
    spec = load_run_spec(
        {
            "model": {
                "encoder": {
                    "name": "tcn",
                    "params": {
                        "input_dim": 1,
                        "hidden_dim": 16,
                        "channels": 8,
                        "depth": 2,
                        "pool": "none",
                        "num_tokens": 16,
                    },
                },
                "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
                "masker": {"name": "time_block", "params": {"num_targets": 1}},
                "target": "none",
                "loss": "sigreg",
            },
            "data": arrays,
            "train": TRAIN,
            "eval": {
                "train": arrays,
                "test": arrays,
                "probes": ["linear", "svm", "attentive"],
                "features": "max",
                "attentive": {"steps": 10},
            },
        }
    )
    results = json.loads((train_run(spec, run_dir=tmp_path / "run") / "eval.json").read_text())
    assert "errors" not in results, results.get("errors")
    assert all(math.isfinite(results[name]["linear"]) for name in ("jepa", "random_init", "raw"))
    assert results["raw"]["svm"] > 0.8, "the zero-padded series keep the class offset"


def test_a_text_run_gets_a_bag_of_tokens_raw_baseline(tmp_path) -> None:
    pytest.importorskip("jepa_plugins_text")
    lines = [f"{'a' if i % 2 else 'b'}\t{'x' * (3 + i % 5)} {'hello' if i % 2 else 'world'}" for i in range(40)]
    (tmp_path / "labelled.txt").write_text("\n".join(lines) + "\n")
    text = {
        "name": "text_lines",
        "params": {"path": str(tmp_path / "labelled.txt"), "max_length": 16, "label_separator": "\t"},
    }
    spec = load_run_spec(
        {
            "model": {
                "encoder": {
                    "name": "text_transformer",
                    "params": {
                        "tokenizer": "bytes",
                        "hidden_dim": 16,
                        "depth": 1,
                        "heads": 2,
                        "pool": "none",
                        "num_tokens": 16,
                    },
                },
                "predictor": {"name": "attention", "params": {"depth": 1, "heads": 2}},
                "masker": "random",
            },
            "data": text,
            "train": TRAIN,
            "eval": {"train": text, "test": text, "probes": ["linear", "attentive"], "attentive": {"steps": 10}},
        }
    )
    results = json.loads((train_run(spec, run_dir=tmp_path / "run") / "eval.json").read_text())
    assert "errors" not in results, results.get("errors")
    assert results["raw"]["linear"] == 1.0, "the words tell the classes apart"


_passes = {"count": 0}


class FlakySinusoids(torch.utils.data.Dataset):
    """Sinusoids whose storage fails during the second full pass (the random_init baseline),
    the first read of item 0 being `jepa train`'s check of the eval sets before training."""

    def __init__(self, split: str = "train") -> None:
        from jepa_core.components.datasets import Sinusoids

        self.inner = Sinusoids(size=40, steps=8, channels=2, split=split)

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, index: int):
        if index == 0:
            _passes["count"] += 1
        if _passes["count"] == 3 and index == 5:
            raise OSError("the disk went away")
        return self.inner[index]


def test_an_evaluation_failure_keeps_the_other_results_and_the_model(tmp_path, capsys) -> None:
    _passes["count"] = 0
    jepa.register("dataset", "flaky_sinusoids")(FlakySinusoids)
    config = tiny_run()
    config["eval"]["train"] = {"name": "sinusoids", "params": {"size": 40, "steps": 8, "channels": 2}}
    config["eval"]["test"] = {"name": "flaky_sinusoids", "params": {"split": "test"}}
    run_dir = train_run(load_run_spec(config), run_dir=tmp_path / "run")
    results = json.loads((run_dir / "eval.json").read_text())
    assert set(results["jepa"]) >= {"linear", "knn"} and set(results["raw"]) >= {"linear", "knn"}
    assert "random_init" not in results
    assert results["errors"]["random_init"] == "eval.test: OSError: the disk went away", "names the set it read"
    assert "failed" in capsys.readouterr().out
    assert jepa.load(run_dir / "final").num_parameters() > 0


def test_a_failing_probe_is_recorded_and_the_others_still_run(tmp_path, monkeypatch) -> None:
    import jepa_core.evaluation

    def broken(*args, **kwargs):
        raise RuntimeError("knn is broken")

    monkeypatch.setattr(jepa_core.evaluation, "knn_accuracy", broken)
    spec = load_run_spec(tiny_run(baselines=["raw"]))
    model = jepa.build(TOKEN_MODEL)
    snapshots = []
    results = evaluate(model, spec, on_update=lambda r: snapshots.append(json.loads(json.dumps(r))))
    assert [sorted(k for k in s if k in ("jepa", "raw")) for s in snapshots] == [["jepa"], ["jepa", "raw"]]
    assert results["errors"] == {"jepa/knn": "RuntimeError: knn is broken", "raw/knn": "RuntimeError: knn is broken"}
    assert "linear" in results["jepa"] and "knn" not in results["jepa"]
    assert "knn is broken" in format_results(results)


def test_an_interrupted_evaluation_has_saved_what_it_scored(tmp_path, monkeypatch) -> None:
    import jepa_core.evaluation

    def interrupted(*datasets):
        raise KeyboardInterrupt

    monkeypatch.setattr(jepa_core.evaluation, "raw_features", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_run(load_run_spec(tiny_run()), run_dir=tmp_path / "run")
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert set(results) >= {"jepa", "random_init", "protocol"} and "raw" not in results
    assert jepa.load(tmp_path / "run" / "final").num_parameters() > 0


def test_an_eval_dataset_that_cannot_be_built_fails_before_training(tmp_path) -> None:
    config = tiny_run()
    config["eval"]["test"] = {"name": "arrays", "params": {"path": str(tmp_path / "missing.npz")}}
    with pytest.raises(jepa.SpecError, match="missing.npz") as info:
        train_run(load_run_spec(config), run_dir=tmp_path / "run")
    assert info.value.path == "eval.test.params"
    assert not (tmp_path / "run").exists(), "the eval sets are checked before anything is trained or written"


def test_probing_a_run_another_way_never_replaces_its_own_results(tmp_path) -> None:
    from jepa_core.runs import evaluate_path

    run_dir = train_run(load_run_spec(tiny_run(baselines=["raw"])), run_dir=tmp_path / "run")
    own = (run_dir / "eval.json").read_text()
    other = evaluate_path(run_dir, overrides=["eval.features=max"])
    assert other["protocol"]["features"] == "max"
    assert (run_dir / "eval.json").read_text() == own  # the run's results stand
    evaluate_path(run_dir, overrides=["eval.features=max"], output=tmp_path / "max.json")
    assert json.loads((tmp_path / "max.json").read_text())["protocol"]["features"] == "max"
    # a trained model's own settings cannot change: refused, not silently ignored
    with pytest.raises(jepa.SpecError, match="evaluating a saved model changes only its eval section") as info:
        evaluate_path(run_dir, overrides=["eval.features=max", "model.encoder.params.hidden_dim=32"])
    assert info.value.path == "model.encoder.params.hidden_dim"


def test_a_run_config_alone_is_probed_as_it_builds_the_model(tmp_path, capsys, monkeypatch) -> None:
    """`jepa eval CONFIG`: the model the config builds, untrained, against its baselines;
    the same initial weights train_run would start from (the config's train.seed)."""
    import yaml
    from jepa_core.cli import main
    from jepa_core.factory import build_model

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(tiny_run(probes=["linear"], seeds=[0])))
    assert main(["eval", str(config), "--output", "eval.json"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[1].startswith("model ") and "random_init" in table and "raw" in table
    results = json.loads((tmp_path / "eval.json").read_text())
    spec = load_run_spec(config)
    torch.manual_seed(spec.train.seed)
    assert evaluate(build_model(spec.model), spec)["jepa"]["linear"] == results["jepa"]["linear"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["eval.json", "run.yaml"]  # nothing trained
    assert main(["eval", str(config), "--config", str(config)]) != 0
    assert "is a run config already" in capsys.readouterr().err
    # nothing trains, so no pretraining data is needed: eval.train stands in for it (num_tokens)
    without_data = {key: value for key, value in tiny_run(probes=["linear"], seeds=[0]).items() if key != "data"}
    (tmp_path / "model_eval.yaml").write_text(yaml.safe_dump(without_data))
    assert main(["eval", str(tmp_path / "model_eval.yaml"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["jepa"]["linear"] == results["jepa"]["linear"]


def test_the_random_init_baseline_is_built_from_the_architecture_spec(tmp_path, fresh_registry) -> None:
    """A component that read weights from outside its spec (architecture_params) brings
    none of them into a saved config.json or into the random-weight baseline."""
    from jepa_core.factory import build_model

    outside = {"weights": torch.full((4, 16), 0.5)}  # stands in for a pretrained checkpoint

    @jepa.register("encoder", "from_checkpoint")
    @jepa.capture_arguments  # constructed directly below
    class FromCheckpoint(torch.nn.Module):
        num_tokens = None
        grid = None

        def __init__(self, checkpoint: str | None = None) -> None:
            super().__init__()
            self.embed_dim = 16
            self.linear = torch.nn.Linear(4, 16, bias=False)
            if checkpoint is not None:
                self.linear.weight.data.copy_(outside[checkpoint].T)

        def architecture_params(self) -> dict:
            return {"checkpoint": None}

        def forward(self, x, mask=None):
            return self.linear(x)

    model = jepa.JEPA(FromCheckpoint(checkpoint="weights"), jepa.Predictor(hidden_dim=16))
    assert model.spec.encoder.params == {"checkpoint": "weights"}  # how it was built: the run's record
    assert model.architecture_spec.encoder.params == {"checkpoint": None}
    saved = json.loads((model.save_pretrained(tmp_path / "saved") / "config.json").read_text())
    assert saved["spec"]["encoder"]["params"] == {"checkpoint": None}
    torch.testing.assert_close(jepa.load(tmp_path / "saved").encoder.linear.weight, model.encoder.linear.weight)
    fresh = build_model(model.architecture_spec)
    assert not torch.equal(fresh.encoder.linear.weight, model.encoder.linear.weight)


def test_the_results_table_shows_a_spread_only_over_several_draws() -> None:
    scores = {"linear": 0.8125, "linear_std": 0.0}
    one = format_results({"protocol": {"probes": ["linear"], "seeds": [0]}, "jepa": scores})
    assert one.splitlines()[1].split() == ["jepa", "0.812"], "one draw: no '± 0.000' posing as a spread"
    several = {"protocol": {"probes": ["linear"], "seeds": [0, 1]}, "jepa": {**scores, "linear_std": 0.02}}
    assert format_results(several).splitlines()[1].split() == ["jepa", "0.812", "±", "0.020"]


def test_without_shots_only_the_attentive_probe_is_fitted_once_per_seed() -> None:
    """Without eval.shots every seed fits linear/knn to the same examples: one fit, shown with
    no spread (three seeds used to print the same fit's "± 0.000"); the attentive probe's
    own initialisation still differs by seed."""
    spec = load_run_spec(tiny_run(probes=["linear", "knn", "attentive"], seeds=[0, 1, 2], baselines=[]))
    results = evaluate(jepa.build(TOKEN_MODEL), spec)
    assert set(results["jepa"]) == {"linear", "knn", "attentive", "attentive_std"}
    row = format_results(results).splitlines()[1].split()
    assert row[:3] == ["jepa", f"{results['jepa']['linear']:.3f}", f"{results['jepa']['knn']:.3f}"]
    assert row[3:] == [f"{results['jepa']['attentive']:.3f}", "±", f"{results['jepa']['attentive_std']:.3f}"]
    drawn = evaluate(jepa.build(TOKEN_MODEL), load_run_spec(tiny_run(probes=["linear"], seeds=[0, 1], shots=3)))
    assert "linear_std" in drawn["jepa"], "with shots each seed draws other examples: a spread"


def test_a_seed_listed_twice_is_refused() -> None:
    """[0, 0, 0] printed "± 0.000", three agreeing draws that were one."""
    with pytest.raises(jepa.SpecError, match=r"eval.seeds: .*seed 0 is listed more than once") as info:
        load_run_spec(tiny_run(seeds=[0, 1, 0]))
    assert info.value.path.startswith("eval.seeds")


def test_the_probing_line_says_how_often_each_probe_is_fitted(tmp_path, capsys) -> None:
    config = tiny_run(probes=["linear", "attentive"], seeds=[0, 1, 2], baselines=[], attentive={"steps": 2})
    train_run(load_run_spec(config), run_dir=tmp_path / "a")
    assert "jepa: probing (linear, attentive; attentive: 3 seeds, the others fitted once)" in capsys.readouterr().err
    train_run(load_run_spec({**config, "eval": {**config["eval"], "shots": 2}}), run_dir=tmp_path / "b")
    assert "jepa: probing (linear, attentive; 3 draws)" in capsys.readouterr().err


def test_eval_test_the_same_data_as_eval_train_is_warned_about(tmp_path) -> None:
    config = tiny_run(probes=["linear"], baselines=[])
    config["eval"]["test"] = config["eval"]["train"]
    with pytest.warns(UserWarning, match=r"eval.test is the same data as eval.train .* measures memory"):
        train_run(load_run_spec(config), run_dir=tmp_path / "run")


def test_a_run_trained_from_python_is_probed_with_a_config(tmp_path) -> None:
    config = tiny_run()
    parts = {key: TOKEN_MODEL[key]["params"] for key in ("encoder", "predictor")}
    model = jepa.build("transformer", "attention", masker="random", **parts)
    data = jepa.build_component("dataset", config["data"])
    jepa.Trainer(model, data, TRAIN, run_dir=tmp_path / "run").fit()  # no run_spec: no run.json
    with pytest.raises(jepa.SpecError, match=r"holds a trained model \(final/\) but no run.json .* --config CONFIG"):
        evaluate_path(tmp_path / "run")
    (tmp_path / "probes.json").write_text(json.dumps({"eval": config["eval"]}))  # the eval section alone
    results = evaluate_path(tmp_path / "run", config=tmp_path / "probes.json")
    assert 0.0 <= results["jepa"]["linear"] <= 1.0
    (tmp_path / "whole.json").write_text(json.dumps(config))  # or the config the run was made from
    assert evaluate_path(tmp_path / "run", config=tmp_path / "whole.json")["jepa"] == results["jepa"]


def test_a_run_without_an_eval_section_says_so_when_a_set_changes_one(tmp_path) -> None:
    from jepa_core.runs import evaluate_path

    config = tiny_run()
    config["eval"] = None  # trained with --set eval=null
    run_dir = train_run(load_run_spec(config), run_dir=tmp_path / "run")
    with pytest.raises(jepa.SpecError, match=r"keeps no eval section .* --set eval.KEY has nothing to change") as info:
        evaluate_path(run_dir, overrides=["eval.knn_k=3"])  # was: eval.train.name: field required; ...
    assert info.value.path == "eval" and "--config CONFIG" in str(info.value)


def test_a_baseline_the_trained_model_does_not_beat_is_pointed_out() -> None:
    protocol = {"probes": ["linear", "knn"], "seeds": [0]}
    results = {
        "protocol": protocol,
        "jepa": {"linear": 0.797, "knn": 0.9},
        "random_init": {"linear": 0.956, "knn": 0.8},
        "raw": {"linear": 0.5, "knn": 0.5},
    }
    lines = format_results(results).splitlines()
    assert lines[-1] == "note: random_init probes at least as well as the trained model (linear 0.956 vs 0.797)"
    assert not any(line.startswith("note: raw") for line in lines)
    results["random_init"]["linear"] = 0.7
    assert "note:" not in format_results(results)


def test_embed_is_deterministic_with_dropout_and_leaves_the_mode_alone() -> None:
    import jepa

    model = jepa.build("transformer", "mlp", encoder={"input_dim": 3, "hidden_dim": 16, "depth": 1, "dropout": 0.5})
    x = torch.randn(4, 6, 3)
    model.train()  # as Trainer.fit() leaves it
    assert torch.equal(model.embed(x), model.embed(x)), "dropout off while embedding"
    assert model.training and model.encoder.training, "the caller's mode is kept"
    model.eval()
    first = model.embed(x)
    assert not model.training and torch.equal(first, model.embed(x))
    with pytest.raises(TypeError, match=r"given float64 values but the encoder's weights are float32: give float32"):
        model.embed(x.double())
    with pytest.raises(TypeError, match=r"takes a tensor .*, got a numpy.ndarray: convert it, torch.from_numpy"):
        model.embed(x.numpy())
    with pytest.raises(
        TypeError,
        match=r"given int64 values, shape \(4, 6, 3\), but the encoder takes inputs like .*, which are floats",
    ):
        model.embed(x.long())


def test_real_valued_labels_are_refused_as_a_regression_target() -> None:
    with pytest.raises(SpecError, match=r"its labels are real numbers \(0.5, 1.25, 2, \.\.\.\), a regression target"):
        check_probe_labels(torch.tensor([0.5, 1.25, 2.0, 3.0]), torch.tensor([1.0, 2.0]))
    with pytest.raises(SpecError, match="real numbers") as refused:
        check_probe_labels(torch.tensor([0.0, 1.0, 0.0]), torch.tensor([0.25]))
    assert refused.value.path == "eval.test"
    check_probe_labels(torch.tensor([0.0, 1.0, 0.0]), torch.tensor([1.0]))  # whole numbers are class indices


def test_ridge_probe_scores_a_target_the_features_hold_near_1_and_one_they_do_not_near_0() -> None:
    pytest.importorskip("sklearn")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(200, 16, generator=generator)
    weights = torch.randn(16, generator=generator)
    y = x @ weights + 0.1 * torch.randn(200, generator=generator)  # real-valued, mostly explained by x
    r2, alpha = ridge_probe(x[:150], y[:150], x[150:], y[150:])
    assert r2 > 0.95 and alpha in RIDGE_ALPHAS
    noise = torch.randn(200, 16, generator=generator)  # features that know nothing of y
    r2, _ = ridge_probe(noise[:150], y[:150], noise[150:], y[150:])
    assert r2 < 0.1


def test_targets_a_regression_cannot_score_are_refused_naming_the_split() -> None:
    with pytest.raises(SpecError, match="targets all equal 2") as refused:
        check_regression_targets(torch.full((5,), 2.0), "eval.train")
    assert refused.value.path == "eval.train"
    check_regression_targets(torch.full((5,), 2.0), "eval.test", varied=False)  # a test split may be constant
    with pytest.raises(SpecError, match="not all finite numbers") as refused:
        check_regression_targets(torch.tensor([0.5, float("nan")]), "eval.test", varied=False)
    assert refused.value.path == "eval.test"


def test_the_ridge_probe_runs_alone_and_on_the_whole_train_split() -> None:
    with pytest.raises(SpecError, match="ridge regresses a real-valued target and linear classifies;"):
        load_run_spec(tiny_run(probes=["ridge", "linear"]))
    with pytest.raises(SpecError, match="leave eval.shots unset with the ridge probe"):
        load_run_spec(tiny_run(probes=["ridge"], shots=5))


def test_ridge_regresses_a_real_valued_target_and_refuses_class_labels(tmp_path) -> None:
    pytest.importorskip("sklearn")
    generator = np.random.default_rng(0)
    for split, size in (("train", 64), ("test", 32)):
        x = generator.normal(size=(size, 8, 2)).astype(np.float32)
        target = x[:, :, 0].mean(axis=1) + 0.01 * generator.normal(size=size)  # floats with fractions
        np.savez(tmp_path / f"{split}.npz", x=x, y=target)
    run = tiny_run(probes=["ridge"], baselines=["raw"])
    run["eval"]["train"] = {"name": "arrays", "params": {"path": str(tmp_path / "train.npz")}}
    run["eval"]["test"] = {"name": "arrays", "params": {"path": str(tmp_path / "test.npz")}}
    train_run(load_run_spec(run), run_dir=tmp_path / "run")
    results = json.loads((tmp_path / "run" / "eval.json").read_text())
    assert "errors" not in results
    assert results["raw"]["ridge"] > 0.9, "the raw inputs hold the target linearly"
    assert results["jepa"]["ridge"] <= 1.0 and results["jepa"]["ridge_alpha"][0] in RIDGE_ALPHAS
    assert format_results(results).splitlines()[0].split() == ["ridge", "R²"], "the table says what it scores"
    # sinusoids' labels are frequency bands: classes, whose index numbers are no target
    with pytest.raises(SpecError, match=r"its labels are classes \(4 classes\), not a real-valued target") as refused:
        train_run(load_run_spec(tiny_run(probes=["ridge"])), run_dir=tmp_path / "classes")
    assert refused.value.path == "eval.train"


def test_class_names_on_one_side_only_are_refused_rather_than_matched_by_number() -> None:
    from types import SimpleNamespace

    from jepa.evaluation import aligned_labels

    named, bare = SimpleNamespace(classes=["run", "sit", "walk"]), SimpleNamespace()
    with pytest.raises(jepa.SpecError, match=r"eval.train names its classes \(run=0, sit=1, walk=2\) but eval.test"):
        aligned_labels(torch.tensor([0, 1]), named, bare)
    with pytest.raises(jepa.SpecError, match=r"eval.test names its classes \(run=0, sit=1, walk=2\) but eval.train"):
        aligned_labels(torch.tensor([0, 1]), bare, named)
    assert aligned_labels(torch.tensor([0, 1]), bare, bare).tolist() == [0, 1]
