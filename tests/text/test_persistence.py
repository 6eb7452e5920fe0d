"""Save and load: the tokenizer travels in config.json; embeddings are identical."""

from __future__ import annotations

import json

import jepa
import torch
from jepa_core.components.predictors import AttentionPredictor

from jepa_plugins_text import TextTransformerEncoder

TEXTS = ["Return the number of items \U0001f600", "caf\u00e9 na\u00efve e\u0301", "x"]


def train_a_little(model, batch) -> None:
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    for _ in range(2):
        out = model.step(batch)
        optimizer.zero_grad()
        out.loss.backward()
        optimizer.step()
        model.update_target(momentum=0.5)


def test_round_trip_with_a_bpe_tokenizer(tmp_path, bpe_tokenizer, fresh_registry):
    torch.manual_seed(0)
    model = jepa.build(
        "text_transformer",
        "attention",
        masker={"name": "span", "params": {"num_targets": 2}},
        encoder={"tokenizer": bpe_tokenizer, "hidden_dim": 32, "depth": 1, "pool": "none", "num_tokens": 16},
        predictor={"depth": 1},
    )
    train_a_little(model, bpe_tokenizer(TEXTS[:2] * 2, max_length=16, padding="max_length"))
    path = model.save_pretrained(tmp_path / "text-model")

    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    saved_tokenizer = config["spec"]["encoder"]["params"]["tokenizer"]
    assert saved_tokenizer["name"] == "text:bpe"
    assert saved_tokenizer["params"]["vocab"] == bpe_tokenizer.vocab

    loaded = jepa.load(path)
    for text in TEXTS:
        assert loaded.encoder.tokenizer.encode(text) == bpe_tokenizer.encode(text)
    batch = loaded.encoder.tokenize(TEXTS)
    assert torch.equal(loaded.embed(batch), model.eval().embed(batch))
    assert torch.equal(loaded.encoder.embed_text(TEXTS), model.encoder.embed_text(TEXTS))
    assert torch.equal(loaded.encoder(TEXTS), model.encoder(TEXTS))


def test_round_trip_of_directly_constructed_components(tmp_path, bpe_tokenizer, fresh_registry):
    torch.manual_seed(0)
    encoder = TextTransformerEncoder(tokenizer=bpe_tokenizer, hidden_dim=32, depth=1, pool="mean")
    model = jepa.JEPA(encoder, AttentionPredictor(hidden_dim=32, depth=1))
    path = model.save_pretrained(tmp_path / "direct")
    loaded = jepa.load(path)
    assert loaded.encoder.tokenizer.vocab == bpe_tokenizer.vocab
    assert torch.equal(loaded.encoder(TEXTS), model.eval().encoder(TEXTS))
