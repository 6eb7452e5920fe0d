"""jepa-plugins-text: text components for jepa.

Installed, it registers (through the ``jepa.plugins`` entry point ``text``):
tokenizers ``bytes`` and ``bpe``, encoders ``text_transformer`` and ``hf``, the
masker ``span`` and the datasets ``text_lines`` and ``jsonl``::

    >>> import jepa
    >>> model = jepa.build("text_transformer", "attention", masker="span",
    ...                    encoder={"tokenizer": "bytes", "pool": "none", "num_tokens": 128})
"""

from __future__ import annotations

from jepa_plugins_text.datasets import TextDataset, jsonl, text_lines
from jepa_plugins_text.encoders import HFEncoder, TextTransformerEncoder, masked_mean
from jepa_plugins_text.maskers import SpanMasker
from jepa_plugins_text.tokenization import (
    BPETokenizer,
    BytesTokenizer,
    Tokenizer,
    TokenizerSpec,
    make_tokenizer,
    pad_sequences,
)

#: Familiar name: ``TransformerEncoder(vocab_size=30000, hidden_dim=768)`` for text.
TransformerEncoder = TextTransformerEncoder

__version__ = "0.1.0"

__all__ = [
    "BPETokenizer",
    "BytesTokenizer",
    "HFEncoder",
    "SpanMasker",
    "TextDataset",
    "TextTransformerEncoder",
    "Tokenizer",
    "TokenizerSpec",
    "TransformerEncoder",
    "__version__",
    "jsonl",
    "make_tokenizer",
    "masked_mean",
    "pad_sequences",
    "text_lines",
]
