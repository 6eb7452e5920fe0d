"""jepa-plugins-text: text components for jepa.

Installed, it registers (through the ``jepa.plugins`` entry point ``text``):
tokenizers ``bytes`` and ``bpe``, encoders ``text_transformer`` and ``hf``, the
masker ``span`` and the datasets ``text_lines`` and ``jsonl``::

    >>> import jepa
    >>> model = jepa.build("text_transformer", "attention", masker="span",
    ...                    encoder={"tokenizer": "bytes", "pool": "none", "num_tokens": 128})
"""

from __future__ import annotations

import warnings
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version
from typing import Any

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

try:  # one version source: the distribution's metadata (pyproject.toml)
    __version__ = _distribution_version("jepa-plugins-text")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    # The token encoder used to be exported as TransformerEncoder too, the name of the core's
    # encoder for float sequences (jepa.TransformerEncoder); the old name still works, with a warning.
    if name == "TransformerEncoder":
        warnings.warn(
            "jepa_plugins_text.TransformerEncoder is deprecated: it is TextTransformerEncoder (token ids; "
            "component 'text_transformer'); jepa.TransformerEncoder is the core's encoder for float sequences",
            DeprecationWarning,
            stacklevel=2,
        )
        return TextTransformerEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BPETokenizer",
    "BytesTokenizer",
    "HFEncoder",
    "SpanMasker",
    "TextDataset",
    "TextTransformerEncoder",
    "Tokenizer",
    "TokenizerSpec",
    "__version__",
    "jsonl",
    "make_tokenizer",
    "masked_mean",
    "pad_sequences",
    "text_lines",
]
