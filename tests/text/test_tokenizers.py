"""Tokenizers: exact round trips for any Unicode, special ids, batches, specs."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from jepa_core.registry import get_registry
from jepa_core.specs import ComponentSpec
from jepa_plugins_text.tokenization import BPE_SPECIAL_TOKENS

from jepa_plugins_text import BPETokenizer, BytesTokenizer, make_tokenizer

HARD_TEXTS = [
    "",
    "plain ascii",
    "e\u0301 (e + combining acute) vs \u00e9 (precomposed)",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a\u032f\u031e\u0320\u034d",
    "\U0001f469\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family, \U0001f44d\U0001f3fd skin tone",
    "\U0001f1eb\U0001f1f7 flag, \U0001f600 smile, \u2764\ufe0f variation selector",
    "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d \ud55c\uad6d\uc5b4",
    "  leading and trailing spaces  \n\ttabs\r\nCRLF\x00NUL",
    "looks special: <pad> <eos> \u27e8pad\u27e9 \u27e8eos\u27e9",
]


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_bytes_round_trip(text):
    tokenizer = BytesTokenizer()
    ids = tokenizer.encode(text)
    assert len(ids) == len(text.encode("utf-8"))
    assert min(ids, default=4) >= 4  # never a special id
    assert tokenizer.decode(ids) == text


@pytest.mark.parametrize("text", HARD_TEXTS)
def test_bpe_round_trip(bpe_tokenizer, text):
    ids = bpe_tokenizer.encode(text)
    assert all(i >= 4 for i in ids), "text must never turn into special tokens"
    assert bpe_tokenizer.decode(ids) == text


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_any_unicode_round_trips(text):
    tokenizer = BytesTokenizer()
    assert tokenizer.decode(tokenizer.encode(text)) == text


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_any_unicode_round_trips_through_bpe(bpe_tokenizer, text):
    assert bpe_tokenizer.decode(bpe_tokenizer.encode(text)) == text


def test_bpe_compresses_its_corpus(bpe_tokenizer):
    text = "Return the number of items in a container"
    assert len(bpe_tokenizer.encode(text)) < len(text.encode("utf-8")) / 2


def test_special_ids_are_shared_and_optional():
    tokenizer = BytesTokenizer(add_bos=True, add_eos=True)
    ids = tokenizer.encode("hi")
    assert ids[0] == tokenizer.bos_id == 1 and ids[-1] == tokenizer.eos_id == 2
    assert tokenizer.pad_id == 0 and tokenizer.vocab_size == 260
    assert tokenizer.decode(ids) == "hi"  # specials are dropped


def test_bpe_special_tokens_come_first(bpe_tokenizer):
    assert [bpe_tokenizer.token(i) for i in range(4)] == list(BPE_SPECIAL_TOKENS)
    assert bpe_tokenizer.vocab_size <= 400


def test_batch_pads_right_and_truncates():
    tokenizer = BytesTokenizer()
    batch = tokenizer(["abc", "a"], max_length=2)
    assert batch["x"].tolist() == [[ord("a") + 4, ord("b") + 4], [ord("a") + 4, 0]]
    assert batch["padding_mask"].tolist() == [[False, False], [False, True]]
    fixed = tokenizer(["a"], max_length=5, padding="max_length")
    assert fixed["x"].shape == (1, 5) and fixed["padding_mask"].sum() == 4
    assert tokenizer([""])["x"].shape == (1, 1)  # an empty text is one padded slot


def test_decode_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="outside"):
        BytesTokenizer().decode([400])
    assert BytesTokenizer().decode(torch.tensor([4 + 104, 4 + 105])) == "hi"


def test_encode_rejects_non_text():
    with pytest.raises(TypeError, match="str"):
        BytesTokenizer().encode(b"bytes")  # type: ignore[arg-type]


def test_bpe_checks_its_vocabulary():
    with pytest.raises(ValueError, match="special token"):
        BPETokenizer(vocab={"a": 0}, merges=[])
    with pytest.raises(ValueError, match="vocab_size must exceed"):
        BPETokenizer.train(["abc"], vocab_size=100)


def test_a_tokenizer_is_rebuilt_from_its_spec(bpe_tokenizer, fresh_registry):
    component, arguments = fresh_registry.record_of(bpe_tokenizer)
    assert component.qualname == "text:bpe"
    spec = ComponentSpec(name=component.qualname, params=arguments, kind="tokenizer")
    rebuilt = make_tokenizer(ComponentSpec.model_validate_json(spec.model_dump_json()))
    text = "Encode the string \U0001f600"
    assert rebuilt.encode(text) == bpe_tokenizer.encode(text)
    assert make_tokenizer("bytes").encode(text) == BytesTokenizer().encode(text)
    assert get_registry().resolve("tokenizer", "bytes").qualname == "text:bytes"
