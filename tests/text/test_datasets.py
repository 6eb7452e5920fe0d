"""text_lines and jsonl: truncation, splitting, packing, paired segments, labels, errors."""

from __future__ import annotations

import json
from pathlib import Path

import jepa
import pytest
import torch
from jepa_core.specs import ComponentSpec

from jepa_plugins_text import BPETokenizer, BytesTokenizer, TextDataset


def build_dataset(name: str, **params):
    return ComponentSpec(name=name, params=params, kind="dataset").build()


def write_jsonl(path, records) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def test_text_lines_truncates_and_pads(tmp_path, fresh_registry):
    file = tmp_path / "lines.txt"
    file.write_text("hello\n\n   \nsecond line, longer than eight bytes\n", encoding="utf-8")
    data = build_dataset("text_lines", path=str(file), max_length=8)
    assert len(data) == 2  # blank lines are skipped
    item = data[0]
    assert item["x"].shape == (8,) and item["padding_mask"].tolist() == [False] * 5 + [True] * 3
    assert BytesTokenizer().decode(data[1]["x"]) == "second l"
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=2)))
    assert batch["x"].shape == (2, 8) and batch["padding_mask"].dtype == torch.bool


def test_text_lines_reads_labels(tmp_path, fresh_registry):
    file = tmp_path / "labelled.tsv"
    file.write_text("pos\tgood movie\nneg\tbad movie\npos\tgreat\n", encoding="utf-8")
    data = build_dataset("text_lines", path=str(file), label_separator="\t", max_length=16)
    assert data.classes == ["neg", "pos"]
    state, label = data[1]
    assert label == 0 and BytesTokenizer().decode(state["x"]) == "bad movie"
    # every item's label up front, as the other labelled datasets hold them: `jepa train` checks
    # eval.shots against them before training, naming the class
    assert data.labels.tolist() == [data[i][1] for i in range(len(data))] == [1, 0, 1]
    from jepa_core.runs import _class_labels, _few_shot_draw

    with pytest.raises(jepa.SpecError, match=r"eval.shots: class 0 \('neg'\) has 1 examples, fewer than shots=2"):
        _few_shot_draw(_class_labels(data), 2, seed=0, class_names=data.classes)


def test_split_overflow_keeps_every_token(tmp_path, fresh_registry):
    path = write_jsonl(tmp_path / "d.jsonl", [{"body": "abcdefghij", "y": 3}, {"body": "xy", "y": 1}])
    data = build_dataset("jsonl", path=path, field="body", label_field="y", max_length=4, overflow="split")
    texts = [BytesTokenizer().decode(data[i][0]["x"]) for i in range(len(data))]
    assert texts == ["abcd", "efgh", "ij", "xy"]
    assert [data[i][1] for i in range(len(data))] == [1, 1, 1, 0]  # classes sorted: 1, 3
    assert data.classes == [1, 3]
    Path(path).write_text(Path(path).read_text(), encoding="utf-8-sig")  # a byte-order mark first (Excel, Notepad)
    assert len(build_dataset("jsonl", path=path, field="body", label_field="y", max_length=4)) == 2


def test_packing_fills_every_block(fresh_registry):
    data = TextDataset(["abc", "defgh", "ij"], "bytes", max_length=4, pack=True)
    tokenizer = BytesTokenizer()
    stream = [t for text in ["abc", "defgh", "ij"] for t in tokenizer.encode(text) + [tokenizer.eos_id]]
    assert len(data) == len(stream) // 4
    for i in range(len(data)):
        assert not data[i]["padding_mask"].any()
        assert data[i]["x"].tolist() == stream[4 * i : 4 * i + 4]


def test_paired_items_are_a_segment_and_the_next(fresh_registry):
    data = TextDataset(["0123456789", "ab", "ABCDEFGH"], "bytes", max_length=4, paired=True)
    tokenizer = BytesTokenizer()
    pairs = [
        (tokenizer.decode(data[i]["state_t"]["x"]), tokenizer.decode(data[i]["state_t1"]["x"]))
        for i in range(len(data))
    ]
    assert pairs == [("0123", "4567"), ("4567", "89"), ("ABCD", "EFGH")]  # never across texts
    packed = TextDataset(["abc", "def"], "bytes", max_length=2, paired=True, pack=True)
    assert tokenizer.decode(packed[0]["state_t1"]["x"]) == "c"  # "c" then eos


def test_paired_training_step(fresh_registry):
    data = TextDataset(["some text that is long enough to pair"] * 4, "bytes", max_length=8, paired=True)
    batch = next(iter(torch.utils.data.DataLoader(data, batch_size=4)))
    model = jepa.build(
        "text_transformer", "mlp", encoder={"tokenizer": "bytes", "hidden_dim": 16, "heads": 2, "depth": 1}
    )
    out = model.step(batch)
    out.loss.backward()
    assert torch.isfinite(out.loss)


def test_a_bpe_tokenizer_object_is_accepted_as_the_spec(tmp_path, bpe_tokenizer, fresh_registry):
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "The quick brown fox"}])
    data = build_dataset("jsonl", path=path, tokenizer=bpe_tokenizer, max_length=16)
    assert data.tokenizer.vocab == bpe_tokenizer.vocab
    assert data[0]["x"][: len(bpe_tokenizer.encode("The quick brown fox"))].tolist() == bpe_tokenizer.encode(
        "The quick brown fox"
    )


def test_errors_name_the_file_line_and_field(tmp_path, fresh_registry):
    with pytest.raises((FileNotFoundError, jepa.SpecError), match="missing.txt"):
        build_dataset("text_lines", path=str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"txt": "typo"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:2: the record has no field 'text' \(it has txt\)"):
        build_dataset("jsonl", path=str(bad))
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match="bad.jsonl:2: not valid JSON"):
        build_dataset("jsonl", path=str(bad))
    bad.write_text('{"text": 5}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="field 'text' must be a string"):
        build_dataset("jsonl", path=str(bad))
    lines = tmp_path / "l.tsv"
    lines.write_text("pos\tfine\nno separator here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="l.tsv:2: no label separator"):
        build_dataset("text_lines", path=str(lines), label_separator="\t")
    with pytest.raises(ValueError, match="paired mode needs texts longer"):
        TextDataset(["short"], "bytes", max_length=16, paired=True)
    # packed already: the corpus is too short for two blocks, which is what to say (not "or pack=True")
    with pytest.raises(ValueError, match=r"needs more than 64 tokens in all .* it holds 12 ") as short:
        TextDataset(["hello world"], "bytes", max_length=64, paired=True, pack=True)
    assert "pack=True" not in str(short.value)
    with pytest.raises(ValueError, match="no non-empty text"):
        TextDataset([], "bytes", max_length=64, paired=True, pack=True)
    with pytest.raises(jepa.SpecError, match="max_length"):
        build_dataset("text_lines", path=str(lines), max_length=1)


def test_a_labelled_text_that_is_empty_is_an_error_naming_its_line(tmp_path, fresh_registry):
    lines = tmp_path / "labelled.tsv"
    lines.write_text("pos\tfine\nneg\t\npos\tgood\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"labelled.tsv:2: label 'neg' has no text after it"):
        build_dataset("text_lines", path=str(lines), label_separator="\t")
    path = write_jsonl(tmp_path / "labelled.jsonl", [{"text": "ok", "y": "a"}, {"text": "", "y": "b"}])
    with pytest.raises(ValueError, match=r"labelled.jsonl:2: field 'text' is empty"):
        build_dataset("jsonl", path=path, label_field="y")
    with pytest.raises(ValueError, match=r"text 1 \(label 'b'\) gives no tokens"):
        TextDataset(["ok", ""], "bytes", labels=["a", "b"])
    # unlabelled, an empty text is skipped: there is no label for the next items to be shifted off
    unlabelled = write_jsonl(tmp_path / "plain.jsonl", [{"text": "ok"}, {"text": ""}, {"text": "fine"}])
    assert len(build_dataset("jsonl", path=unlabelled)) == 2


def test_a_missing_labelled_file_says_how_a_labelled_file_is_laid_out(tmp_path, fresh_registry):
    with pytest.raises(jepa.SpecError, match=r"one text per line, its label first and '\\t' between them"):
        build_dataset("text_lines", path=str(tmp_path / "trian.tsv"), label_separator="\t")
    with pytest.raises(jepa.SpecError, match="one JSON object per line with a 'body' string and a 'y' label"):
        build_dataset("jsonl", path=str(tmp_path / "trian.jsonl"), field="body", label_field="y")


def test_data_tokenized_by_another_tokenizer_than_the_encoders_is_refused(bpe_tokenizer, fresh_registry):
    texts = ["the quick brown fox jumps over the lazy dog, again and again"] * 8
    model = jepa.build(
        "text_transformer",
        "mlp",
        encoder={"tokenizer": bpe_tokenizer, "hidden_dim": 16, "heads": 2, "depth": 1},
        loss="infonce",
        target="none",
    )
    spec = {"steps": 1, "batch_size": 4, "warmup_steps": 0}
    # byte ids are all below the BPE vocabulary's size, so nothing else would notice them
    with pytest.raises(
        jepa.SpecError, match=r"tokenized by 'text:bytes' \(260 token ids\) but encoder .* by 'text:bpe'"
    ) as error:
        jepa.Trainer(model, TextDataset(texts, "bytes", max_length=8, paired=True), spec)
    assert error.value.path == "data"
    jepa.Trainer(model, TextDataset(texts, jepa.spec_of(bpe_tokenizer), max_length=8, paired=True), spec)
    # an end-of-text mark added to the data changes no id's meaning: the same vocabulary
    with_eos = {"name": "bpe", "params": {**jepa.spec_of(bpe_tokenizer).params, "add_eos": True}}
    jepa.Trainer(model, TextDataset(texts, with_eos, max_length=8, paired=True), spec)
    other = BPETokenizer.train(texts * 20, vocab_size=300)
    with pytest.raises(jepa.SpecError, match=r"tokenized by 'text:bpe' .* as encoder .* is, but with different merges"):
        jepa.Trainer(model, TextDataset(texts, other, max_length=8, paired=True), spec)
