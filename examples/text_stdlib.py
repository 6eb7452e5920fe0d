"""Does a text JEPA learn anything? Pretrain on the docstrings shipped with Python,
then probe the frozen encoder on a task built from the same text.

Corpus: every docstring (module, class, function; at least 40 characters) in the
standard library's source, read with ``ast`` (nothing is imported or downloaded),
plus the reference-manual topics of ``pydoc_data.topics``.

Task: which standard-library package a docstring comes from (the ten largest
packages, balanced, split in half). The test half is left out of pretraining and
of the BPE vocabulary, so the encoder never saw a test text.

Pretraining (default ``--objective next``, the paired form and the ``jepa init
text`` starter): the corpus is packed into 64-token blocks in file order, and the JEPA
predicts the pooled embedding of the *next* block from the current one
(``text_transformer`` encoder over a byte-level BPE vocabulary, ``mlp`` predictor,
``infonce`` loss: each prediction must pick its own next block among the batch's, so
nothing collapses). ``--objective spans`` is the masked form instead (``span`` masker,
``attention`` predictor; EMA target with smooth-L1/MSE, data2vec targets with
``--target-layers K``, or ``--regulariser sigreg``); at this budget none of its
settings beat the random-init encoder on validation (see the README). Training runs
through the library's ``jepa.Trainer`` (warm-up and cosine lr, EMA schedule, clipping).

Choosing settings: ``--validation`` never reads the test half. It splits the labelled
TRAIN half into two folds (each fits the probes and is scored by the other) and keeps
both out of pretraining and of the BPE vocabulary, as the test half is kept out.
``--probe-layers`` also probes every layer's mean pool (token embeddings = L0).

Evaluation: a logistic-regression probe and a k-NN vote on the frozen, mean-pooled
embeddings, compared with the same encoder at its random initialisation and with a
bag-of-bytes histogram, on the same split.

    .venv/bin/python examples/text_stdlib.py                      # a few CPU minutes
    .venv/bin/python examples/text_stdlib.py --steps 20           # a smoke run
    .venv/bin/python examples/text_stdlib.py --validation --objective spans --target-layers 2

Needs ``pip install 'jepa-plugins-text[bpe]'`` (the BPE vocabulary).
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import sysconfig
import tempfile
import time
from collections import Counter
from pathlib import Path

import jepa
import torch
from jepa.evaluation import embed_dataset, knn_accuracy, linear_probe

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
    return jepa.build_component("dataset", {"name": "jsonl", "params": params})


def bag_of_bytes(texts: list[str]) -> torch.Tensor:
    """Normalised byte histograms (256 features) of the same texts the encoder sees."""
    features = torch.zeros(len(texts), 256)
    for row, text in enumerate(texts):
        data = torch.tensor(list(text.encode("utf-8")), dtype=torch.long)
        features[row] = torch.bincount(data, minlength=256).float() / max(len(data), 1)
    return features


def jsonl_file(path: Path, pairs: list[tuple[str, str]]) -> str:
    return write_jsonl(path, [{"text": doc, "package": package} for package, doc in pairs])


def build_model(args: argparse.Namespace, tokenizer: BPETokenizer) -> jepa.JEPA:
    """The JEPA of the chosen objective (the same encoder architecture for both)."""
    encoder = {
        "tokenizer": tokenizer,
        "hidden_dim": args.hidden_dim,
        "depth": args.depth,
        "heads": max(1, args.hidden_dim // 32),
    }
    if args.objective == "next":  # predict the pooled embedding of the following block among the batch's
        return jepa.build("text_transformer", "mlp", loss="infonce", target="none", encoder={**encoder, "pool": "mean"})
    masker = {
        "name": "span",
        "params": {"target_ratio": args.mask_ratio, "num_targets": args.num_targets, "span_length": args.span_length},
    }
    encoder = {
        **encoder,
        "pool": "none",
        "num_tokens": args.max_length,
        "target_layers": None if args.target_layers < 0 else args.target_layers,
        "target_norm": args.target_norm,
    }
    target = {"mode": "ema", "momentum": args.momentum, "final_momentum": 1.0}
    if args.regulariser in ("sigreg", "ema+sigreg"):  # LeJEPA: SIGReg on the context embeddings
        loss = {"name": "sigreg", "params": {"lam": args.lam, "num_slices": args.slices}}
        target = "none" if args.regulariser == "sigreg" else target
    else:
        loss = {"name": "smooth_l1", "params": {"beta": args.beta}} if args.loss == "smooth_l1" else args.loss
        target = "none" if args.regulariser == "none" else target
    return jepa.build(
        "text_transformer",
        "attention",
        masker=masker,
        loss=loss,
        target=target,
        normalize_targets=args.normalize_targets,
        encoder=encoder,
        predictor={"depth": args.predictor_depth},
    )


@torch.no_grad()
def embed(module: torch.nn.Module, data, *, layers: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean-pooled embeddings of a labelled dataset: the encoder's output, or with
    ``layers`` the average of its ``target_layers`` normalised block outputs."""
    if not layers:
        return embed_dataset(module, data)
    module.eval()
    features, labels = [], []
    for state, label in torch.utils.data.DataLoader(data, batch_size=256):
        tokens = module(state["x"], padding_mask=state["padding_mask"], target=True)
        features.append(tokens.mean(dim=1) if tokens.dim() == 3 else tokens)  # padded slots hold the mean
        labels.append(label)
    return torch.cat(features), torch.cat(labels)


@torch.no_grad()
def embed_layers(module: torch.nn.Module, data) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Padding-aware mean pools of every layer of a text_transformer: the token
    embeddings (layer 0), then each block's output, read with forward hooks."""
    module.eval()
    per_layer: list[list[torch.Tensor]] = [[] for _ in range(len(module.blocks) + 1)]
    labels = []
    for state, label in torch.utils.data.DataLoader(data, batch_size=256):
        seen: list[torch.Tensor] = []
        parts = [module.token_embedding, *module.blocks]
        hooks = [part.register_forward_hook(lambda _m, _i, out, seen=seen: seen.append(out)) for part in parts]
        try:
            module(state["x"], padding_mask=state["padding_mask"])
        finally:
            for hook in hooks:
                hook.remove()
        keep = (~state["padding_mask"]).unsqueeze(-1).float()
        for layer, tokens in enumerate(seen):
            per_layer[layer].append((tokens * keep).sum(1) / keep.sum(1).clamp_min(1.0))
        labels.append(label)
    y = torch.cat(labels)
    return [(torch.cat(chunks), y) for chunks in per_layer]


def probe(features: list[tuple[torch.Tensor, torch.Tensor]], folds: list[tuple[int, int]]) -> tuple[float, float]:
    """Linear-probe and 10-NN accuracy, averaged over ``(fit on i, score on j)`` folds."""
    linear, knn = [], []
    for fit, score in folds:
        (train_x, train_y), (test_x, test_y) = features[fit], features[score]
        linear.append(linear_probe(train_x, train_y, test_x, test_y))
        knn.append(knn_accuracy(train_x, train_y, test_x, test_y, k=10))
    return sum(linear) / len(linear), sum(knn) / len(knn)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=" ".join(__doc__.split("\n\n")[0].split()), formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument(
        "--objective",
        choices=["next", "spans"],
        default="next",
        help="next: predict the next block (InfoNCE); spans: masked spans",
    )
    parser.add_argument("--steps", type=int, default=300, help="training steps")
    parser.add_argument("--batch-size", type=int, default=64, help="docstrings per step")
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--warmup", type=float, default=0.1, help="warm-up, as a fraction of the steps")
    parser.add_argument("--weight-decay", type=float, default=0.05, help="AdamW weight decay")
    parser.add_argument("--max-length", type=int, default=64, help="tokens per training sequence")
    parser.add_argument("--hidden-dim", type=int, default=128, help="encoder width")
    parser.add_argument("--depth", type=int, default=2, help="encoder layers")
    parser.add_argument("--vocab-size", type=int, default=4096, help="BPE vocabulary size")
    # masked objective (--objective spans)
    parser.add_argument("--mask-ratio", type=float, default=0.5, help="span masker target_ratio")
    parser.add_argument("--num-targets", type=int, default=4, help="span masker num_targets")
    parser.add_argument("--span-length", type=int, default=None, help="span masker span_length")
    parser.add_argument("--predictor-depth", type=int, default=2, help="predictor layers")
    parser.add_argument(
        "--target-layers",
        type=int,
        default=-1,
        help="data2vec targets: average of the top K normalised layers (0: the token embeddings; -1: the final output)",
    )
    parser.add_argument(
        "--target-norm", choices=["layer", "instance"], default="layer", help="how target layers are normalised"
    )
    parser.add_argument(
        "--regulariser",
        choices=["ema", "none", "sigreg", "ema+sigreg"],
        default="ema",
        help="EMA target; no target branch; SIGReg with no target branch; EMA plus SIGReg",
    )
    parser.add_argument("--slices", type=int, default=256, help="SIGReg's random directions")
    parser.add_argument("--loss", choices=["smooth_l1", "mse", "infonce"], default="smooth_l1", help="spans' loss")
    parser.add_argument("--beta", type=float, default=1.0, help="smooth_l1 beta")
    parser.add_argument("--momentum", type=float, default=0.99, help="EMA start (to 1.0 by the end)")
    parser.add_argument(
        "--normalize-targets", action=argparse.BooleanOptionalAction, default=True, help="layer-norm the targets"
    )
    parser.add_argument("--lam", type=float, default=0.05, help="SIGReg weight")
    parser.add_argument(
        "--probe",
        choices=["auto", "online", "target", "target_layers"],
        default="auto",
        help="features scored as 'jepa': JEPA.embed (auto), an encoder's mean-pooled output, "
        "or the target encoder's averaged target_layers",
    )
    parser.add_argument("--probe-layers", action="store_true", help="also probe every layer's mean pool")
    # task and protocol
    parser.add_argument("--classes", type=int, default=10, help="packages in the probe task")
    parser.add_argument("--per-class", type=int, default=120, help="docstrings per package")
    parser.add_argument("--probe-length", type=int, default=128, help="tokens per probed docstring")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="choose settings: split the TRAIN half in two folds (each fits the probes and "
        "scores the other; both kept out of pretraining); the test half is never read",
    )
    parser.add_argument("--seed", type=int, default=0, help="weights, data order and masks")
    parser.add_argument("--split-seed", type=int, default=0, help="which docstrings are labelled train/test")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--results", help="also write the scores to this JSON file")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    started = time.perf_counter()

    # -- data -----------------------------------------------------------------------------
    import pydoc_data.topics

    docs = stdlib_docstrings()
    train, test = labelled_split(docs, args.classes, args.per_class, args.split_seed)
    if args.validation:  # two folds of the train half, alternating within each package
        by_package: dict[str, list[tuple[str, str]]] = {}
        for package, doc in train:
            by_package.setdefault(package, []).append((package, doc))
        parts = [[pair for members in by_package.values() for pair in members[k::2]] for k in (0, 1)]
        folds, held_out = [(0, 1), (1, 0)], {doc for _, doc in train + test}
        split = f"validation: {len(parts[0])} + {len(parts[1])} train-half docstrings, two folds"
    else:
        parts, folds, held_out = [train, test], [(0, 1)], {doc for _, doc in test}
        split = f"{len(train)} train / {len(test)} test docstrings"
    corpus = [doc for _, doc in docs if doc not in held_out] + list(pydoc_data.topics.topics.values())
    tokenizer = BPETokenizer.train(corpus, vocab_size=args.vocab_size)
    tokens_seen = sum(len(ids) for ids in tokenizer.encode_many(corpus))
    print(
        f"corpus: {len(corpus)} texts, {sum(map(len, corpus)) / 1e6:.2f}M characters, {tokens_seen / 1e3:.0f}k "
        f"BPE tokens (vocab {tokenizer.vocab_size}); task: {len(set(p for p, _ in train))} packages, {split}"
    )

    directory = Path(tempfile.mkdtemp(prefix="text-stdlib-"))
    corpus_file = write_jsonl(directory / "corpus.jsonl", [{"text": text} for text in corpus])
    pretrain = dataset(
        path=corpus_file, tokenizer=tokenizer, max_length=args.max_length, pack=True, paired=args.objective == "next"
    )
    labelled = [
        dataset(
            path=jsonl_file(directory / f"part{i}.jsonl", part),
            label_field="package",
            tokenizer=tokenizer,
            max_length=args.probe_length,
        )
        for i, part in enumerate(parts)
    ]

    # -- model and pretraining (the library's Trainer) -------------------------------------
    model = build_model(args, tokenizer)
    random_init = copy.deepcopy(model.encoder).eval()
    print(
        f"pretraining a {model.num_parameters(trainable=True) / 1e6:.2f}M-parameter JEPA ({args.objective}) "
        f"for {args.steps} steps on {len(pretrain)} packed blocks of {args.max_length} tokens"
    )
    trainer = jepa.Trainer(
        model,
        pretrain,
        {
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "min_lr": 0.0,
            "warmup_steps": max(1, round(args.warmup * args.steps)),
            "weight_decay": args.weight_decay,
            "final_weight_decay": args.weight_decay,
            "grad_clip": 1.0,
            "seed": args.seed,
            "device": "cpu",
            "progress": False,
            "plot": False,
        },
    )
    train_started = time.perf_counter()
    history = trainer.fit()
    train_seconds = time.perf_counter() - train_started
    for m in history:
        if m["step"] % 100 == 1 or m["step"] == args.steps:
            print(
                f"  step {m['step']:4d}  loss {m['loss']:.4f}  context std {m['context_std']:.3f}  "
                f"rankme {m['context_rankme']:.1f}"
            )

    # -- evaluation -----------------------------------------------------------------------
    model.eval()
    candidates = {"auto": ("JEPA (pretrained, frozen)", model, False)}
    if model.target_encoder is not None:
        candidates = {
            "auto": ("JEPA, EMA target encoder", model, False),
            "online": ("JEPA, online encoder", model.encoder, False),
        }
        if getattr(model.target_encoder, "target_layers", None) is not None:
            candidates["target_layers"] = ("JEPA, target's top layers", model.target_encoder, True)
    candidates.setdefault("target", candidates["auto"])
    candidates.setdefault("online", candidates["auto"])
    if args.probe not in candidates:
        parser.error(f"--probe {args.probe} needs a model with target_layers")
    rows = []
    for key in [args.probe, *candidates]:
        name, module, layers = candidates[key]
        if all(name != row[0] for row in rows):
            rows.append((name, *probe([embed(module, part, layers=layers) for part in labelled], folds)))
    if args.probe_layers:
        target_encoder = model.target_encoder if model.target_encoder is not None else model.encoder
        encoders = {"auto": target_encoder, "online": model.encoder}
        for key in ("auto", "online") if model.target_encoder is not None else ("auto",):
            name, module = candidates[key][0], encoders[key]
            layered = [embed_layers(module, part) for part in labelled]
            for layer in range(len(layered[0])):
                rows.append((f"{name[:18]} L{layer}", *probe([parts_[layer] for parts_ in layered], folds)))
        layered = [embed_layers(random_init, part) for part in labelled]
        for layer in range(len(layered[0])):
            rows.append((f"random init L{layer}", *probe([parts_[layer] for parts_ in layered], folds)))
    rows.append(("same encoder, random init", *probe([embed_dataset(random_init, part) for part in labelled], folds)))
    rows.append(
        (
            "bag of bytes",
            *probe(
                [
                    (bag_of_bytes([d for _, d in pairs]), torch.tensor([part.classes.index(p) for p, _ in pairs]))
                    for pairs, part in zip(parts, labelled, strict=True)
                ],
                folds,
            ),
        )
    )
    scored = parts[1]
    chance = max(Counter(p for p, _ in scored).values()) / len(scored)

    what = "validation (train half, 2 folds)" if args.validation else "test"
    print(f"\nwhich package is a docstring from? ({len(labelled[0].classes)} classes, chance {chance:.3f}; {what})")
    print(f"{'features':<28}{'linear probe':>14}{'10-NN':>10}")
    for name, linear, knn in rows:
        print(f"{name:<28}{linear:>14.3f}{knn:>10.3f}")
    print(
        f"\npretraining {train_seconds:.0f}s, total wall time {time.perf_counter() - started:.0f}s "
        f"({torch.get_num_threads()} thread{'s' if torch.get_num_threads() > 1 else ''})"
    )
    if args.results:
        scores = {name: {"linear": linear, "knn": knn} for name, linear, knn in rows}
        record = {
            "jepa": scores[rows[0][0]],
            "random_init": scores["same encoder, random init"],
            "bag_of_bytes": scores["bag of bytes"],
            "all": scores,
            "chance": chance,
            "split": what,
            "pretrain_seconds": train_seconds,
            "args": vars(args),
        }
        partial = Path(f"{args.results}.partial")  # never a half-written results file
        partial.write_text(json.dumps(record, indent=2) + "\n")
        os.replace(partial, args.results)


if __name__ == "__main__":
    main()
