"""The text transformer (and the hf wrapper): contract, padding invariance, masks, text input."""

from __future__ import annotations

import json
import shutil
import textwrap

import jepa
import pytest
import torch
from jepa_core.errors import SpecError

import jepa_plugins_text
from jepa_plugins_text import BytesTokenizer, TextTransformerEncoder


def small(**overrides) -> TextTransformerEncoder:
    torch.manual_seed(0)
    params = {"tokenizer": "bytes", "hidden_dim": 32, "depth": 2, "heads": 4, "pool": "none"}
    return TextTransformerEncoder(**{**params, **overrides}).eval()


def test_the_seed_constructor_works():
    encoder = TextTransformerEncoder(vocab_size=30000, hidden_dim=768, depth=1)
    assert encoder.embed_dim == 768 and encoder.vocab_size == 30000 and encoder.tokenizer is None
    ids = torch.randint(0, 30000, (2, 5))
    assert encoder(ids).shape == (2, 768)


def test_the_old_text_transformer_encoder_name_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="TransformerEncoder is deprecated: it is TextTransformerEncoder"):
        alias = jepa_plugins_text.TransformerEncoder
    assert alias is TextTransformerEncoder
    assert "TransformerEncoder" not in jepa_plugins_text.__all__
    assert jepa.TransformerEncoder is not TextTransformerEncoder


def test_float_states_are_refused_with_the_encoder_that_takes_them():
    encoder = TextTransformerEncoder(vocab_size=50, hidden_dim=16, heads=2, depth=1)
    with pytest.raises(
        ValueError,
        match=r"takes integer token ids \(batch, tokens\) or a list of str, got a "
        r"float32 tensor of shape \(4, 10, 8\); for float sequences use the "
        r"core's encoder 'transformer' \(jepa.TransformerEncoder\)",
    ):
        encoder(torch.randn(4, 10, 8))
    model = jepa.build("text_transformer", "mlp", encoder={"vocab_size": 50, "hidden_dim": 16, "heads": 2, "depth": 1})
    with pytest.raises(ValueError, match="for float sequences use the core's encoder 'transformer'"):
        model(torch.randn(4, 10, 8), torch.randn(4, 10, 8))


def test_pooled_and_token_outputs():
    ids = torch.randint(4, 260, (3, 7))
    assert small(pool="mean")(ids).shape == (3, 32)
    tokens = small(pool="none", num_tokens=7)
    assert tokens(ids).shape == (3, 7, 32)
    assert tokens.num_tokens == 7 and small(pool="mean", num_tokens=7).num_tokens is None


def test_a_padded_token_changes_no_other_token():
    encoder = small()
    ids = torch.randint(4, 260, (2, 6))
    base = encoder(ids)
    # more padding on the right, with arbitrary ids under the mask
    padded = torch.cat([ids, torch.randint(4, 260, (2, 5))], dim=1)
    padding = torch.zeros(2, 11, dtype=torch.bool)
    padding[:, 6:] = True
    out = encoder(padded, padding_mask=padding)
    torch.testing.assert_close(out[:, :6], base, atol=1e-5, rtol=1e-5)
    # changing what sits under the padding changes nothing at all
    other = padded.clone()
    other[:, 6:] = 0
    torch.testing.assert_close(encoder(other, padding_mask=padding), out, atol=1e-6, rtol=1e-6)
    # the pooled embedding ignores padding too
    pooled = small(pool="mean")
    torch.testing.assert_close(pooled(padded, padding_mask=padding), pooled(ids), atol=1e-5, rtol=1e-5)


def test_left_padding_changes_nothing_either():
    # rotary positions depend on offsets only, so shifting a text right is harmless
    encoder = small(pool="mean")
    ids = torch.randint(4, 260, (1, 6))
    shifted = torch.cat([torch.zeros(1, 3, dtype=torch.long), ids], dim=1)
    torch.testing.assert_close(encoder(shifted), encoder(ids), atol=1e-5, rtol=1e-5)


def test_padding_comes_from_the_pad_id_when_no_mask_is_given():
    encoder = small(pool="mean")
    batch = BytesTokenizer()(["a longer text here", "short"])
    torch.testing.assert_close(encoder(batch["x"]), encoder(batch["x"], padding_mask=batch["padding_mask"]))
    torch.testing.assert_close(encoder(batch["x"][1:, :5]), encoder(batch["x"])[1:], atol=1e-5, rtol=1e-5)


def test_an_all_padding_row_does_not_produce_nan():
    encoder = small(pool="mean")
    ids = torch.zeros(2, 4, dtype=torch.long)
    ids[0] = torch.tensor([10, 11, 12, 13])
    out = encoder(ids)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[0], encoder(ids[:1])[0])


def test_a_mask_encodes_only_the_kept_tokens():
    encoder = small()
    ids = torch.randint(4, 260, (2, 10))
    keep = torch.tensor([[0, 2, 3, 7], [1, 4, 5, 9]])
    out = encoder(ids, mask=keep)
    assert out.shape == (2, 4, 32)
    changed = ids.clone()
    dropped = torch.ones_like(ids, dtype=torch.bool)
    dropped.scatter_(1, keep, False)
    changed[dropped] = 5  # tokens outside the mask cannot matter
    torch.testing.assert_close(encoder(changed, mask=keep), out)


def test_text_input_equals_tokenized_input():
    encoder = small(pool="mean")
    texts = ["caf\u00e9 \U0001f600", "a much longer second text"]
    batch = encoder.tokenize(texts)
    expected = encoder(batch["x"], padding_mask=batch["padding_mask"])
    torch.testing.assert_close(encoder(texts), expected)
    torch.testing.assert_close(encoder(batch), expected)  # a state mapping works too
    torch.testing.assert_close(encoder.embed_text(texts), expected)


def test_bad_inputs_say_what_is_wrong():
    encoder = small()
    with pytest.raises(ValueError, match="outside vocab_size"):
        encoder(torch.tensor([[300]]))
    with pytest.raises(ValueError, match="token ids"):
        encoder(torch.randn(2, 3))
    with pytest.raises(ValueError, match="no tokenizer"):
        TextTransformerEncoder(vocab_size=50, hidden_dim=16, heads=2, depth=1)(["text"])
    with pytest.raises(ValueError, match="vocab_size or a tokenizer"):
        TextTransformerEncoder(hidden_dim=16)


def test_build_validates_parameters_by_name(fresh_registry):
    with pytest.raises(SpecError) as error:
        jepa.build("text_transformer", "mlp", encoder={"tokenizer": "bytes", "hidden_dim": 30, "heads": 4})
    assert "divisible" in str(error.value)
    with pytest.raises(SpecError) as error:
        jepa.build("text_transformer", "mlp", encoder={"tokenizer": "nope"})
    assert "encoder.params.tokenizer" in str(error.value)
    model = jepa.build("text_transformer", "mlp", encoder={"tokenizer": "bytes", "hidden_dim": 32, "depth": 1})
    assert model.predictor.embed_dim == 32
    assert model.spec.encoder.params["tokenizer"].name == "text:bytes"


def test_masked_training_step_with_padding(fresh_registry):
    torch.manual_seed(0)
    model = jepa.build(
        "text_transformer",
        "attention",
        masker="span",
        loss="smooth_l1",
        normalize_targets=True,
        encoder={"tokenizer": "bytes", "hidden_dim": 32, "depth": 1, "pool": "none", "num_tokens": 24},
        predictor={"depth": 1},
    )
    assert model.masker.num_tokens == 24
    batch = model.encoder.tokenizer(
        ["a short text", "another, somewhat longer text here"], max_length=24, padding="max_length"
    )
    out = model.step(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert model.encoder.token_embedding.weight.grad is not None


TINY_BERT = {
    "model_type": "bert",
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "vocab_size": 260,
    "max_position_embeddings": 64,
}


def test_hf_encoder_wraps_a_tiny_local_config(fresh_registry, tmp_path):
    pytest.importorskip("transformers")
    config = TINY_BERT
    torch.manual_seed(0)
    model = jepa.build(
        "hf",
        "attention",
        masker={"name": "span", "params": {"num_targets": 2}},
        encoder={"config": config, "tokenizer": "bytes", "pool": "none", "num_tokens": 16},
        predictor={"depth": 1},
    )
    encoder = model.encoder.eval()
    assert encoder.embed_dim == 32
    batch = encoder.tokenize(["hello there", "hi"], max_length=16)
    out = encoder(batch["x"], padding_mask=batch["padding_mask"])
    longer = encoder.tokenizer(["hello there", "hi"], max_length=16, padding="max_length")
    torch.testing.assert_close(encoder(longer)[:, : out.shape[1]][0], out[0], atol=1e-5, rtol=1e-5)
    assert encoder(batch["x"], mask=torch.tensor([[0, 1], [0, 1]])).shape == (2, 2, 32)
    model.train()
    step = model.step(encoder.tokenizer(["hello there, world", "hi, how are you"], max_length=16, padding="max_length"))
    step.loss.backward()
    path = model.save_pretrained(tmp_path / "hf")
    loaded = jepa.load(path)
    torch.testing.assert_close(loaded.embed(longer), model.eval().embed(longer))


def test_hf_encoder_refuses_remote_code_without_asking(remote_code_dir, run_answering_yes, tmp_path):
    """A directory whose model needs code outside transformers is refused, naming the
    field that would allow it; nothing reads stdin (the pipe would answer yes)."""
    pytest.importorskip("transformers")
    directory, marker = remote_code_dir
    saved = jepa.build("hf", "mlp", encoder={"config": TINY_BERT}).save_pretrained(tmp_path / "saved")
    config = json.loads((saved / "config.json").read_text())
    config["spec"]["encoder"]["params"].update(path=str(directory), config=None)
    (saved / "config.json").write_text(json.dumps(config))
    result = run_answering_yes(
        textwrap.dedent(f"""
        import jepa
        for attempt in (lambda: jepa.build("hf", "mlp", encoder={{"path": {str(directory)!r}}}),
                        lambda: jepa.load({str(saved)!r})):
            try:
                attempt()
            except jepa.JEPAError as exc:
                print("refused:", exc)
            else:
                raise SystemExit("loaded a model that needs remote code")
    """)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    refusals = [line for line in result.stdout.splitlines() if line.startswith("refused:")]
    assert len(refusals) == 2 and all(str(directory) in r and "trust_remote_code: true" in r for r in refusals)
    assert "[y/N]" not in result.stdout + result.stderr
    assert not marker.exists()


def test_hf_encoder_from_a_directory_saves_its_config_and_loads_without_it(fresh_registry, tmp_path):
    transformers = pytest.importorskip("transformers")
    torch.manual_seed(0)
    settings = {k: v for k, v in TINY_BERT.items() if k != "model_type"}
    transformers.BertModel(transformers.BertConfig(**settings)).save_pretrained(tmp_path / "bert")
    model = jepa.build("hf", "mlp", encoder={"path": str(tmp_path / "bert"), "tokenizer": "bytes"})
    path = model.save_pretrained(tmp_path / "saved")
    params = json.loads((path / "config.json").read_text())["spec"]["encoder"]["params"]
    assert params["path"] is None and params["config"]["model_type"] == "bert"
    shutil.rmtree(tmp_path / "bert")
    batch = model.encoder.tokenize(["hello there", "hi"], max_length=16)
    torch.testing.assert_close(jepa.load(path).embed(batch), model.eval().embed(batch), rtol=0, atol=0)


def test_hf_encoder_reads_its_checkpoints_own_tokenizer_and_saves_it_with_the_model(fresh_registry, tmp_path):
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "there", "hi", "##s", "how", "are", "you"]
    backend = tokenizers.Tokenizer(tokenizers.models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.normalizer = tokenizers.normalizers.BertNormalizer()
    backend.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    backend.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    backend.decoder = tokenizers.decoders.WordPiece()
    backend.add_special_tokens(words[:4])  # as a BERT checkpoint's tokenizer.json marks them
    checkpoint = tmp_path / "tiny-bert"
    transformers.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]").save_pretrained(checkpoint)
    settings = {k: v for k, v in TINY_BERT.items() if k != "model_type"}
    transformers.BertModel(transformers.BertConfig(**{**settings, "vocab_size": len(words)})).save_pretrained(
        checkpoint
    )

    model = jepa.build(
        "hf",
        "mlp",
        encoder={"path": str(checkpoint), "tokenizer": {"name": "hf_tokenizer", "params": {"path": str(checkpoint)}}},
    )
    tokenizer = model.encoder.tokenizer
    batch = tokenizer(["Hello there", "hi"])
    assert batch["x"].tolist() == [[2, 4, 5, 3], [2, 6, 3, 0]], "the checkpoint's ids, its [CLS]/[SEP], [PAD] pads"
    assert batch["padding_mask"].tolist() == [[False] * 4, [False] * 3 + [True]]
    assert tokenizer.decode(batch["x"][1]) == "hi"
    bytes_ids = jepa.build_component("tokenizer", "bytes")(["hi"])  # another tokenizer's ids
    with pytest.raises(
        ValueError, match=r"token id 109 is outside vocab_size=11: .* encoder's tokenizer \(text:hf_tok"
    ):
        model.encoder(bytes_ids)
    saved = model.save_pretrained(tmp_path / "saved")
    # a run config's eval set names the directory, the loaded model holds the text: the same ids
    by_path = jepa.build_component("tokenizer", {"name": "hf_tokenizer", "params": {"path": str(checkpoint)}})
    assert jepa.load(saved).encoder.tokenizer.same_ids_as(by_path)
    assert not by_path.same_ids_as(jepa.build_component("tokenizer", "bytes"))
    shutil.rmtree(checkpoint)  # the saved model holds the tokenizer's text, not its directory
    loaded = jepa.load(saved)
    assert loaded.encoder.tokenizer(["how are you"])["x"].tolist() == [[2, 8, 9, 10, 3]]
    torch.testing.assert_close(loaded.embed(batch), model.eval().embed(batch), rtol=0, atol=0)
    with pytest.raises(ValueError, match=r"hf tokenizer path '.*tiny-bert' holds no tokenizer.json"):
        jepa.build_component("tokenizer", {"name": "hf_tokenizer", "params": {"path": str(checkpoint)}})


def test_hf_encoder_refuses_what_is_not_a_local_text_model_and_texts_longer_than_its_positions(tmp_path):
    transformers = pytest.importorskip("transformers")
    from jepa_plugins_text.encoders import HFEncoder

    with pytest.raises(ValueError, match=r"path 'no-such-dir' is not a directory here .* nothing is downloaded"):
        HFEncoder(path="no-such-dir")
    (tmp_path / "images").mkdir()
    with pytest.raises(ValueError, match=r"path '.*images' has no config.json: give a directory a transformers model"):
        HFEncoder(path=str(tmp_path / "images"))
    vit = {"model_type": "vit", "hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 8}
    transformers.ViTModel(
        transformers.ViTConfig(**{k: v for k, v in vit.items() if k != "model_type"})
    ).save_pretrained(tmp_path / "vit")
    with pytest.raises(ValueError, match=r"holds a 'vit' model, which takes no token ids .* use hf_vision"):
        HFEncoder(path=str(tmp_path / "vit"))
    with pytest.raises(ValueError, match=r"num_tokens=128 is more than the model's max_position_embeddings=64"):
        HFEncoder(config=TINY_BERT, pool="none", num_tokens=128)
    encoder = HFEncoder(config=TINY_BERT, tokenizer="bytes")
    with pytest.raises(
        ValueError, match=r"got 200 tokens a sequence, more than the model's max_position_embeddings=64"
    ):
        encoder(["x" * 200])  # a byte a token
    assert encoder(["x" * 64]).shape == (1, 32), "a text that fills the table exactly is taken"


def test_a_batch_of_texts_trains_a_paired_model_and_is_explained_to_a_masked_one() -> None:
    import jepa
    import numpy as np
    import pytest

    encoder = {"tokenizer": "bytes", "hidden_dim": 32, "depth": 1, "heads": 2}
    paired = jepa.build("text_transformer", "mlp", encoder={**encoder, "pool": "mean"})
    assert paired.step(["a first line", "a second"], ["what follows", "and more"]).loss.isfinite()
    masked = jepa.build(
        "text_transformer",
        "attention",
        masker="span",
        encoder={**encoder, "pool": "none", "num_tokens": 16},
        predictor={"depth": 1},
    )
    texts = ["abc def ghi jkl", "mno pqr"]
    with pytest.raises(
        ValueError, match=r"tokenize the texts first, e.g. model.encoder.tokenizer\(texts, max_length=16"
    ):
        masked.step(texts)  # once read as (x, label): the first text alone
    assert masked.step(masked.encoder.tokenizer(texts, max_length=16, padding="max_length")).loss.isfinite()
    with pytest.raises(TypeError, match=r"got a numpy.ndarray: convert it, .*\(token ids: torch.as_tensor\(array\)\)"):
        masked.step(np.zeros((2, 16)))


def test_an_empty_text_is_refused_rather_than_embedded_as_zeros():
    encoder = small(pool="mean")
    with pytest.raises(ValueError, match=r"the text at index 1 \(of 3\) gives no tokens"):
        encoder(["a text", "", "another"])
    with pytest.raises(ValueError, match=r"the texts at indices 0, 2 \(of 3\)"):
        encoder.embed_text(["", "x", ""])
