"""The ``jepa.plugins`` entry point of jepa-plugins-text: registers its components.

The names are the ones jepa-core reserves for this distribution (scope ``text``).
"""

from __future__ import annotations

from importlib.resources import files

import jepa

from jepa_plugins_text import datasets, encoders, maskers, tokenization

# the plugin API versions this plugin was written for (checked when jepa loads it)
JEPA_PLUGIN_API = ">=1,<2"


@jepa.hookimpl
def jepa_register(registry) -> None:
    registry.add("tokenizer", "bytes", tokenization.BytesTokenizer)
    registry.add("tokenizer", "bpe", tokenization.BPETokenizer)
    registry.add("tokenizer", "hf_tokenizer", tokenization.HFTokenizer)
    registry.add("encoder", "text_transformer", encoders.TextTransformerEncoder)
    registry.add("encoder", "hf", encoders.HFEncoder)
    registry.add("masker", "span", maskers.SpanMasker)
    registry.add("dataset", "text_lines", datasets.text_lines)
    registry.add("dataset", "jsonl", datasets.jsonl)
    registry.add_template("text", files("jepa_plugins_text").joinpath("templates/text.yaml").read_text())
