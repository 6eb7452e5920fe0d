"""Fixtures of the text plugin's tests: a small BPE vocabulary trained once."""

from __future__ import annotations

import pytest

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Return the number of items in a container; raise TypeError for bad input.",
    "Encode the string using the codec registered for encoding.",
    "caf\u00e9, na\u00efve, r\u00e9sum\u00e9 \u2014 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "and \U0001f600 emoji",
] * 20


@pytest.fixture(scope="session")
def bpe_tokenizer():
    pytest.importorskip("tokenizers")
    from jepa_plugins_text import BPETokenizer

    return BPETokenizer.train(CORPUS, vocab_size=400)
