"""Does a text JEPA learn anything? Pretrain on the docstrings shipped with Python,
then probe the frozen encoder on a task built from the same text.

Corpus: every docstring (module, class, function; at least 40 characters) in the
standard library's source, read with ``ast`` (nothing is imported or downloaded),
plus the reference-manual topics of ``pydoc_data.topics``.

Task: which standard-library package a docstring comes from (the ten largest
packages, balanced, split in half). The test half is left out of pretraining and
of the BPE vocabulary, so the encoder never saw a test text.

Pretraining (default ``--objective next``, the seed's paired form): the corpus is
packed into 64-token blocks in file order, and the JEPA predicts the pooled
embedding of the *next* block from the current one (``text_transformer`` encoder
over a byte-level BPE vocabulary, ``mlp`` predictor, ``infonce`` loss: each
prediction must pick its own next block among the batch's, so nothing collapses).
``--objective spans`` is the masked form instead (``span`` masker, ``attention``
predictor, EMA target and smooth-L1, or ``--regulariser sigreg``); in runs of a
few hundred CPU steps it did not beat the random-init encoder (see the README).

Evaluation: a logistic-regression probe and a k-NN vote on the frozen, mean-pooled
embeddings, compared with the same encoder at its random initialisation and with a
bag-of-bytes histogram, on the same split.

    .venv/bin/python examples/text_stdlib.py             # a few CPU minutes
    .venv/bin/python examples/text_stdlib.py --steps 20  # a smoke run
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import math
import random
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

import jepa
import torch
from jepa_core.evaluation import embed_dataset, knn_accuracy, linear_probe
from jepa_core.persistence import atomic_write_bytes
from jepa_core.specs import ComponentSpec

from jepa_plugins_text import BPETokenizer

SKIPPED_DIRECTORIES = {"site-packages", "test", "tests", "idle_test", "lib2to3"}


def stdlib_docstrings(min_chars: int = 40) -> list[tuple[str, str]]:
    """``(package, docstring)`` for every docstring in the standard library's source;
    a top-level module's package is its own name."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for file in sorted(root.rglob("*.py")):
        parts = file.relative_to(root).parts
        if SKIPPED_DIRECTORIES.intersection(parts):
            continue
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        package = parts[0] if len(parts) > 1 else file.stem
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= min_chars:
                    found.append((package, doc))
    return found


def labelled_split(
    docs: list[tuple[str, str]], classes: int, per_class: int, seed: int
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Balanced train/test halves over the ``classes`` packages with the most docstrings."""
    rng = random.Random(seed)
    counts = Counter(package for package, _ in docs)
    chosen = [package for package, n in counts.most_common() if n >= per_class][:classes]
    train, test = [], []
    for package in sorted(chosen):
        members = sorted({doc for p, doc in docs if p == package})  # exact duplicates once
        rng.shuffle(members)
        members = members[:per_class]
        half = len(members) // 2
        train += [(package, doc) for doc in members[:half]]
        test += [(package, doc) for doc in members[half:]]
    return train, test


def write_jsonl(path: Path, records: list[dict[str, str]]) -> str:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return str(path)


def dataset(**params) -> torch.utils.data.Dataset:
    """A registered dataset by name, as a config file would build it."""
    return ComponentSpec(name="jsonl", params=params, kind="dataset").build()


def bag_of_bytes(texts: list[str]) -> torch.Tensor:
    """Normalised byte histograms (256 features) of the same texts the encoder sees."""
    features = torch.zeros(len(texts), 256)
    for row, text in enumerate(texts):
        data = torch.tensor(list(text.encode("utf-8")), dtype=torch.long)
        features[row] = torch.bincount(data, minlength=256).float() / max(len(data), 1)
    return features


def probe_scores(model_or_encoder, train_data, test_data) -> tuple[float, float]:
    train_x, train_y = embed_dataset(model_or_encoder, train_data)
    test_x, test_y = embed_dataset(model_or_encoder, test_data)
    return linear_probe(train_x, train_y, test_x, test_y), knn_accuracy(train_x, train_y, test_x, test_y, k=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--hidden-dim", type=int, default=128)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=4096)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--per-class", type=int, default=120)
    parser.add_argument("--objective", choices=["next", "spans"], default="next")
    parser.add_argument("--regulariser", choices=["ema", "sigreg"], default="ema")
    parser.add_argument("--lam", type=float, default=0.05)
    parser.add_argument("--probe-length", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0, help="weights, data order and masks")
    parser.add_argument("--split-seed", type=int, default=0, help="which docstrings are labelled train/test")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--results", help="also write the scores to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()

    # -- data -----------------------------------------------------------------------------
    import pydoc_data.topics

    docs = stdlib_docstrings()
    train, test = labelled_split(docs, args.classes, args.per_class, args.split_seed)
    held_out = {doc for _, doc in test}
    corpus = [doc for _, doc in docs if doc not in held_out] + list(pydoc_data.topics.topics.values())
    tokenizer = BPETokenizer.train(corpus, vocab_size=args.vocab_size)
    tokens_seen = sum(len(ids) for ids in tokenizer.encode_many(corpus))
    print(f"corpus: {len(corpus)} texts, {sum(map(len, corpus)) / 1e6:.2f}M characters, {tokens_seen / 1e3:.0f}k "
          f"BPE tokens (vocab {tokenizer.vocab_size}); task: {len(set(p for p, _ in train))} packages, "
          f"{len(train)} train / {len(test)} test docstrings")

    directory = Path(tempfile.mkdtemp(prefix="text-stdlib-"))
    corpus_file = write_jsonl(directory / "corpus.jsonl", [{"text": text} for text in corpus])
    train_file = write_jsonl(directory / "train.jsonl", [{"text": d, "package": p} for p, d in train])
    test_file = write_jsonl(directory / "test.jsonl", [{"text": d, "package": p} for p, d in test])
    pretrain = dataset(path=corpus_file, tokenizer=tokenizer, max_length=args.max_length, pack=True,
                       paired=args.objective == "next")
    probe_train = dataset(path=train_file, label_field="package", tokenizer=tokenizer, max_length=args.probe_length)
    probe_test = dataset(path=test_file, label_field="package", tokenizer=tokenizer, max_length=args.probe_length)

    # -- model ----------------------------------------------------------------------------
    encoder = {"tokenizer": tokenizer, "hidden_dim": args.hidden_dim, "depth": args.depth,
               "heads": max(1, args.hidden_dim // 32)}
    if args.objective == "spans":
        model = jepa.build(
            "text_transformer",
            "attention",
            masker={"name": "span", "params": {"target_ratio": 0.5, "num_targets": 4}},
            **({"loss": "smooth_l1", "normalize_targets": True,
                "target": {"mode": "ema", "momentum": 0.99, "final_momentum": 1.0}}
               if args.regulariser == "ema" else
               {"loss": {"name": "sigreg", "params": {"lam": args.lam}}, "target": "none"}),
            encoder={**encoder, "pool": "none", "num_tokens": args.max_length},
            predictor={"depth": 2},
        )
    else:  # next segment: predict the pooled embedding of the following block among the batch's
        model = jepa.build("text_transformer", "mlp", loss="infonce", target="none",
                           encoder={**encoder, "pool": "mean"})
    random_init = copy.deepcopy(model.encoder).eval()
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=args.lr, weight_decay=0.05)
    warmup = max(1, args.steps // 10)

    def learning_rate(step: int) -> float:  # linear warm-up, cosine decay
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, args.steps - warmup)))

    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, learning_rate)
    loader = torch.utils.data.DataLoader(pretrain, batch_size=args.batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(args.seed))
    print(f"pretraining a {model.num_parameters(trainable=True) / 1e6:.2f}M-parameter JEPA for {args.steps} steps "
          f"on {len(pretrain)} packed blocks of {args.max_length} tokens")
    train_started = time.perf_counter()
    step = 0
    model.train()
    while step < args.steps:
        for batch in loader:
            out = model.step(batch, collapse_metrics=step % 100 == 0)
            optimizer.zero_grad(set_to_none=True)
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            schedule.step()
            model.update_target(progress=step / args.steps)
            if step % 100 == 0 or step == args.steps - 1:
                m = out.scalars()
                extra = ""
                if "context_std" in m:
                    extra = f"  context std {m['context_std']:.3f}  rankme {m['context_rankme']:.1f}"
                print(f"  step {step:4d}  loss {m['loss']:.4f}{extra}  ({time.perf_counter() - train_started:.0f}s)")
            step += 1
            if step >= args.steps:
                break
    train_seconds = time.perf_counter() - train_started

    # -- evaluation -----------------------------------------------------------------------
    model.eval()
    if model.target_encoder is None:
        rows = [("JEPA (pretrained, frozen)", *probe_scores(model, probe_train, probe_test))]
    else:
        rows = [("JEPA, EMA target encoder", *probe_scores(model, probe_train, probe_test)),
                ("JEPA, online encoder", *probe_scores(model.encoder, probe_train, probe_test))]
    rows.append(("same encoder, random init", *probe_scores(random_init, probe_train, probe_test)))
    train_bytes, test_bytes = bag_of_bytes([d for _, d in train]), bag_of_bytes([d for _, d in test])
    labels_train = torch.tensor([probe_train.classes.index(p) for p, _ in train])
    labels_test = torch.tensor([probe_test.classes.index(p) for p, _ in test])
    rows.append(("bag of bytes", linear_probe(train_bytes, labels_train, test_bytes, labels_test),
                 knn_accuracy(train_bytes, labels_train, test_bytes, labels_test, k=10)))
    chance = max(Counter(p for p, _ in test).values()) / len(test)

    print(f"\nwhich package is a docstring from? ({len(probe_train.classes)} classes, chance {chance:.3f})")
    print(f"{'features':<28}{'linear probe':>14}{'10-NN':>10}")
    for name, probe, knn in rows:
        print(f"{name:<28}{probe:>14.3f}{knn:>10.3f}")
    print(f"\npretraining {train_seconds:.0f}s, total wall time {time.perf_counter() - started:.0f}s "
          f"({torch.get_num_threads()} threads)")
    if args.results:
        scores = {name: {"linear": probe, "knn": knn} for name, probe, knn in rows}
        atomic_write_bytes(args.results, json.dumps({
            "jepa": scores[rows[0][0]], "random_init": scores["same encoder, random init"],
            "bag_of_bytes": scores["bag of bytes"], "chance": chance, "pretrain_seconds": train_seconds,
        }, indent=2).encode())


if __name__ == "__main__":
    main()
