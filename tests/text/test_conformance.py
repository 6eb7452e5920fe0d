"""The jepa conformance suite over the text plugin's components, and its starter config."""

from __future__ import annotations

import tokenizers
from jepa.testing import conformance_suite


def tiny_wordpiece_json() -> str:
    """A checkpoint's tokenizer.json, as `hf_tokenizer` reads it (made here: nothing downloads)."""
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"]
    backend = tokenizers.Tokenizer(tokenizers.models.WordPiece({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    backend.add_special_tokens(words[:4])
    return backend.to_str()


TestTextConformance = conformance_suite(
    "text",
    params={
        "text:text_transformer": {
            "tokenizer": "bytes",
            "hidden_dim": 16,
            "depth": 1,
            "heads": 2,
            "pool": "none",
            "num_tokens": 12,
        },
        "text:hf": {
            "config": {
                "model_type": "bert",
                "hidden_size": 32,
                "num_hidden_layers": 1,
                "num_attention_heads": 2,
                "intermediate_size": 64,
                "vocab_size": 260,
                "max_position_embeddings": 64,
            },
            "tokenizer": "bytes",
            "pool": "none",
            "num_tokens": 12,
        },
        "text:hf_tokenizer": {"tokenizer_json": tiny_wordpiece_json()},
    },
)


def starter_spec(tmp_path, *changes: str, tokenizer=None):
    """`jepa init text`'s config on a small corpus, with ``changes`` as --set would give them
    (and ``tokenizer``, a spec dict, for the encoder and the data)."""
    import yaml
    from jepa_core.registry import get_registry
    from jepa_core.runs import load_run_spec

    registry = get_registry()
    registry.ensure_loaded()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(f"document {i}: the quick brown fox jumps over the lazy dog" for i in range(40)))
    config = yaml.safe_load(registry.templates["text"][1])
    if tokenizer is not None:
        config["model"]["encoder"]["params"]["tokenizer"] = config["data"]["params"]["tokenizer"] = tokenizer
    return load_run_spec(config, [f"data.params.path={corpus}", *changes])


def test_starter_config_trains_on_a_corpus(tmp_path) -> None:
    """`jepa init text` writes a config that trains on a plain text file."""
    from jepa_core.runs import train_run

    spec = starter_spec(
        tmp_path,
        "train.steps=2",
        "train.batch_size=8",
        "train.progress=false",
        "train.plot=false",
        "model.encoder.params.depth=1",
    )
    run_dir = train_run(spec, run_dir=tmp_path / "run")
    assert (run_dir / "final" / "config.json").is_file()


def test_a_run_config_whose_eval_data_another_tokenizer_made_is_refused_before_training(tmp_path, bpe_tokenizer):
    """Ids from another tokenizer than the encoder's would train and probe without any error, as other tokens:
    the eval sets below are left on the default bytes, whose ids are all valid ids of the BPE vocabulary."""
    import jepa
    import pytest
    import yaml
    from jepa_core.errors import SpecError
    from jepa_core.runs import train_run

    labelled = tmp_path / "labelled.tsv"
    labelled.write_text("".join(f"{i % 2}\tthe {'cat' if i % 2 else 'dog'} number {i}\n" for i in range(20)))
    eval_set = {"name": "text_lines", "params": {"path": str(labelled), "label_separator": "\t"}}
    spec = starter_spec(
        tmp_path,
        "train.steps=1",
        f"eval={yaml.safe_dump({'train': eval_set, 'test': eval_set, 'probes': ['knn']})}",
        tokenizer=jepa.spec_of(bpe_tokenizer).to_dict(),
    )
    with pytest.raises(
        SpecError, match=r"tokenized by 'text:bytes' \(260 token ids\) but encoder .* by 'text:bpe' \(400 token ids\)"
    ) as error:
        train_run(spec, run_dir=tmp_path / "run")
    assert error.value.path == "eval.train.params.tokenizer"
    assert not (tmp_path / "run").exists()


def test_a_masked_run_config_on_paired_data_says_the_data_is_paired(tmp_path) -> None:
    """The starter's `paired: true` left on under a masked model: the data is what is wrong, not a shape."""
    import pytest
    from jepa_core.errors import SpecError
    from jepa_core.runs import train_run

    spec = starter_spec(
        tmp_path,
        "train.steps=1",
        "model.masker=span",
        "model.encoder.params.pool=none",
        "model.predictor=attention",
        "model.loss=smooth_l1",
        "model.target={mode: ema}",
    )
    with pytest.raises(SpecError, match=r"paired items \(state_t, state_t1\) .* paired=false") as error:
        train_run(spec, run_dir=tmp_path / "run")
    assert error.value.path == "data"
