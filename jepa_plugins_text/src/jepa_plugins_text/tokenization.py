"""Tokenizers: text <-> token ids, and padded batches for the encoders.

Three registered tokenizers (component kind ``tokenizer``):

* ``bytes``: the UTF-8 bytes of the text, shifted past the special tokens. No
  dependency, no training, and every Unicode string round-trips.
* ``bpe``: byte-level BPE trained on your corpus with the ``tokenizers`` package
  (``pip install 'jepa-plugins-text[bpe]'``). Its vocabulary and merges *are* its
  parameters, so a model whose encoder holds one saves it in ``config.json`` and
  a loaded model encodes text exactly as the saved one did.
* ``hf_tokenizer``: a ``transformers`` checkpoint's own ``tokenizer.json``, for a pretrained
  ``hf`` encoder; its ids and special tokens are the checkpoint's.

``bytes`` and ``bpe`` share one id layout for the special tokens: pad 0, bos 1, eos 2, unk 3.
The module is not called ``tokenizers`` so that it never shadows that package.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import torch
from jepa import ComponentSpec, build_component, capture_arguments, component_field, install_command, spec_of

PAD_ID, BOS_ID, EOS_ID, UNK_ID = 0, 1, 2, 3
NUM_SPECIAL = 4


class Tokenizer:
    """What every text tokenizer provides (``bytes`` and ``bpe`` subclass it).

    Subclasses implement :meth:`_encode_text` and :meth:`_decode_ids` for ordinary
    tokens; this base adds the optional bos/eos tokens, truncation and padding.
    """

    pad_id = PAD_ID
    bos_id = BOS_ID
    eos_id = EOS_ID
    unk_id = UNK_ID
    first_ordinary_id = NUM_SPECIAL  # decode drops the ids below it (the specials)
    vocab_size: int

    def __init__(self, add_bos: bool = False, add_eos: bool = False) -> None:
        self.add_bos = add_bos
        self.add_eos = add_eos

    # -- what subclasses provide ---------------------------------------------------------
    def _encode_text(self, text: str) -> list[int]:
        raise NotImplementedError

    def _encode_texts(self, texts: Sequence[str]) -> list[list[int]]:
        return [self._encode_text(text) for text in texts]

    def _decode_ids(self, ids: list[int]) -> str:
        raise NotImplementedError

    # -- public API ------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (with bos/eos when the tokenizer adds them)."""
        return self._with_specials(self._encode_text(_check_text(text)))

    def encode_many(self, texts: Iterable[str]) -> list[list[int]]:
        """Token ids of each text (batched where the backend can)."""
        texts = [_check_text(text) for text in texts]
        return [self._with_specials(ids) for ids in self._encode_texts(texts)]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The text of ``ids``; special tokens (padding included) are dropped."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        for i in ids:
            if not 0 <= int(i) < self.vocab_size:
                raise ValueError(f"token id {i} is outside this tokenizer's vocabulary of {self.vocab_size}")
        return self._decode_ids([int(i) for i in ids if int(i) >= self.first_ordinary_id])

    def __call__(
        self,
        texts: str | Sequence[str],
        max_length: int | None = None,
        padding: Literal["longest", "max_length"] = "longest",
    ) -> dict[str, torch.Tensor]:
        """A padded batch ``{"x": (B, N) ids, "padding_mask": (B, N) True at padding}``,
        the state the text encoders take. Texts longer than ``max_length`` are cut."""
        if isinstance(texts, str):
            texts = [texts]
        if padding == "max_length" and max_length is None:
            raise ValueError("padding='max_length' needs max_length")
        sequences = self.encode_many(texts)
        if max_length is not None:
            sequences = [ids[:max_length] for ids in sequences]
        length = max_length if padding == "max_length" else None
        return pad_sequences(sequences, self.pad_id, length)

    def same_ids_as(self, other: object) -> bool:
        """Whether ``other`` means the same tokens by the same ids: the same registered
        tokenizer with the same settings, whether bos/eos are added aside (that changes
        no id's meaning). jepa asks it of an encoder's tokenizer and its data's."""
        mine, theirs = spec_of(self), spec_of(other)
        if mine is None or theirs is None:
            return other is self
        specials = ("add_bos", "add_eos")
        return mine.name == theirs.name and {k: v for k, v in mine.params.items() if k not in specials} == {
            k: v for k, v in theirs.params.items() if k not in specials
        }

    def _with_specials(self, ids: list[int]) -> list[int]:
        return [self.bos_id] * self.add_bos + ids + [self.eos_id] * self.add_eos


def _check_text(text: Any) -> str:
    if not isinstance(text, str):
        raise TypeError(f"tokenizers encode str, got {type(text).__name__}")
    return text


def pad_sequences(
    sequences: Sequence[Sequence[int]], pad_id: int = PAD_ID, length: int | None = None
) -> dict[str, torch.Tensor]:
    """Right-pad id sequences into ``{"x": (B, N), "padding_mask": (B, N)}``.

    ``length`` fixes ``N`` (longer sequences are an error); by default ``N`` is the
    longest sequence (at least 1, so an empty text still gives a valid batch).
    """
    longest = max((len(ids) for ids in sequences), default=0)
    width = length if length is not None else max(longest, 1)
    if longest > width:
        raise ValueError(f"a sequence of {longest} tokens does not fit length={width}")
    x = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    padding_mask = torch.ones((len(sequences), width), dtype=torch.bool)
    for row, ids in enumerate(sequences):
        x[row, : len(ids)] = torch.as_tensor(list(ids), dtype=torch.long)
        padding_mask[row, : len(ids)] = False
    return {"x": x, "padding_mask": padding_mask}


@capture_arguments
class BytesTokenizer(Tokenizer):
    """UTF-8 bytes as tokens: id = byte + 4 (ids 0-3 are pad, bos, eos, unk).

    Needs no training and no dependency; any Unicode text round-trips exactly.
    Sequences are about four times longer than with a trained BPE vocabulary.
    """

    vocab_size = NUM_SPECIAL + 256

    def __init__(self, add_bos: bool = False, add_eos: bool = False) -> None:
        super().__init__(add_bos, add_eos)

    def _encode_text(self, text: str) -> list[int]:
        return [byte + NUM_SPECIAL for byte in text.encode("utf-8")]

    def _decode_ids(self, ids: list[int]) -> str:
        # a cut through a multi-byte character cannot be decoded; show U+FFFD there
        return bytes(i - NUM_SPECIAL for i in ids).decode("utf-8", errors="replace")


# The special tokens' strings in a BPE vocabulary. U+27E8/U+27E9 are outside the
# byte-level alphabet, so no learned merge can ever spell one of them: text that
# contains "<pad>" stays text and is never read as padding.
BPE_SPECIAL_TOKENS: tuple[str, ...] = ("\u27e8pad\u27e9", "\u27e8bos\u27e9", "\u27e8eos\u27e9", "\u27e8unk\u27e9")

Merges = list[tuple[str, str]]


@capture_arguments
class BPETokenizer(Tokenizer):
    """Byte-level BPE (as GPT-2): text is split into UTF-8 bytes, then learned merges
    join frequent byte sequences into single tokens, so every string round-trips.

    ``vocab`` (token string -> id, with the four special tokens at ids 0-3) and
    ``merges`` (pairs, in the order they were learned) are the trained tokenizer;
    get them with :meth:`BPETokenizer.train` on your corpus rather than by hand.
    Needs ``pip install 'jepa-plugins-text[bpe]'``.
    """

    def __init__(
        self,
        vocab: dict[str, int],
        merges: Merges,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> None:
        super().__init__(add_bos, add_eos)
        for expected_id, token in enumerate(BPE_SPECIAL_TOKENS):
            if vocab.get(token) != expected_id:
                raise ValueError(
                    f"bpe vocab must map the special token {token!r} to id {expected_id}; "
                    "train the vocabulary with BPETokenizer.train"
                )
        ids = sorted(vocab.values())
        if ids != list(range(len(ids))):
            raise ValueError("bpe vocab ids must be 0..len(vocab)-1 without gaps or repeats")
        self.vocab = dict(vocab)
        self.merges = [tuple(pair) for pair in merges]
        self.vocab_size = len(vocab)
        self._backend = _byte_level_bpe(self.vocab, self.merges)

    @classmethod
    def train(
        cls,
        texts: Iterable[str],
        vocab_size: int = 4096,
        min_frequency: int = 2,
        add_bos: bool = False,
        add_eos: bool = False,
    ) -> BPETokenizer:
        """Learn a byte-level BPE vocabulary of at most ``vocab_size`` tokens from
        ``texts`` (offline; nothing is downloaded)."""
        tokenizers = _import_tokenizers()
        if vocab_size <= NUM_SPECIAL + 256:
            raise ValueError(f"vocab_size must exceed {NUM_SPECIAL + 256} (the specials and the 256 bytes)")
        backend = tokenizers.Tokenizer(tokenizers.models.BPE())
        backend.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
        trainer = tokenizers.trainers.BpeTrainer(
            vocab_size=vocab_size,
            min_frequency=min_frequency,
            special_tokens=list(BPE_SPECIAL_TOKENS),
            initial_alphabet=tokenizers.pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        )
        backend.train_from_iterator((_check_text(text) for text in texts), trainer=trainer)
        model = json.loads(backend.to_str())["model"]
        merges = [tuple(m.split(" ", 1)) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        return cls(vocab=model["vocab"], merges=merges, add_bos=add_bos, add_eos=add_eos)

    def _encode_text(self, text: str) -> list[int]:
        return self._backend.encode(text, add_special_tokens=False).ids

    def _encode_texts(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self._backend.encode_batch(list(texts), add_special_tokens=False)]

    def _decode_ids(self, ids: list[int]) -> str:
        return self._backend.decode(ids, skip_special_tokens=False)

    def token(self, token_id: int) -> str:
        """The vocabulary string of one id (byte-level alphabet, e.g. ``'Ġthe'``)."""
        return self._backend.id_to_token(token_id)


@capture_arguments
class HFTokenizer(Tokenizer):
    """A ``transformers`` checkpoint's own fast tokenizer (its ``tokenizer.json``), so
    that a pretrained text model (the ``hf`` encoder) reads the ids it was trained on.

    Give ``path``, a local directory holding ``tokenizer.json`` (what a fast
    tokenizer's ``save_pretrained`` writes beside the model), or ``tokenizer_json``,
    that file's text; nothing is downloaded. A saved ``hf`` encoder records the text, so
    it loads without the directory. The checkpoint's own special tokens are added as
    its post-processor adds them (BERT's ``[CLS] ... [SEP]``), its padding token pads
    (``[PAD]``, ``<pad>``), and ``decode`` drops them. Needs ``pip install
    'jepa-plugins-text[bpe]'`` (the ``tokenizers`` package).
    """

    first_ordinary_id = 0  # the checkpoint's specials lie anywhere: its backend knows and drops them

    def __init__(self, path: str | None = None, tokenizer_json: str | None = None) -> None:
        super().__init__()
        if (path is None) == (tokenizer_json is None):
            raise ValueError("give exactly one of path (a directory with tokenizer.json) or tokenizer_json (its text)")
        if path is not None:
            file = Path(path).expanduser() / "tokenizer.json"
            if not file.is_file():
                raise ValueError(
                    f"hf tokenizer path {path!r} holds no tokenizer.json (cwd {Path.cwd()}): give the directory a "
                    "fast tokenizer was saved to (AutoTokenizer.from_pretrained(...).save_pretrained(directory))"
                )
            tokenizer_json = file.read_text(encoding="utf-8")
        assert tokenizer_json is not None  # exactly one of the two, checked above
        self.tokenizer_json = tokenizer_json
        self._backend = _import_tokenizers().Tokenizer.from_str(tokenizer_json)
        self._backend.no_padding()
        self._backend.no_truncation()  # cutting and padding are the base class's, as for every tokenizer
        self.vocab_size = self._backend.get_vocab_size(with_added_tokens=True)
        found = (self._backend.token_to_id(token) for token in ("[PAD]", "<pad>", "<|pad|>", "<|padding|>"))
        pad = next((i for i in found if i is not None), None)
        if pad is None:
            raise ValueError("the hf tokenizer has no padding token ([PAD] or <pad>) to pad batches with")
        self.pad_id = pad

    def architecture_params(self) -> dict[str, Any]:
        """The tokenizer's text in place of ``path``: rebuilt with no outside file."""
        return {"path": None, "tokenizer_json": self.tokenizer_json}

    def same_ids_as(self, other: object) -> bool:
        """The same ``tokenizer.json``, whether read from ``path`` or given as text (a
        saved model holds the text where its run config names the directory)."""
        return isinstance(other, HFTokenizer) and other.tokenizer_json == self.tokenizer_json

    def encode(self, text: str) -> list[int]:
        return self._backend.encode(_check_text(text)).ids

    def encode_many(self, texts: Iterable[str]) -> list[list[int]]:
        return [e.ids for e in self._backend.encode_batch([_check_text(text) for text in texts])]

    def _decode_ids(self, ids: list[int]) -> str:
        return self._backend.decode(ids, skip_special_tokens=True)


def _import_tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError as exc:  # the optional extra is missing
        raise ImportError(
            f"the bpe tokenizer needs the `tokenizers` package: {install_command('jepa-plugins-text', 'bpe')}"
        ) from exc
    return tokenizers


def _byte_level_bpe(vocab: dict[str, int], merges: Merges) -> Any:
    tokenizers = _import_tokenizers()
    backend = tokenizers.Tokenizer(tokenizers.models.BPE(vocab=vocab, merges=merges))
    # add_prefix_space=False and no trimming: decode(encode(text)) == text exactly
    backend.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = tokenizers.decoders.ByteLevel()
    return backend


# -- tokenizers as parameters of other components ------------------------------------------


def _tokenizer_object_as_spec(value: Any) -> Any:
    """Let a tokenizer object stand where a tokenizer spec is expected: it becomes
    the spec that rebuilds it (so it can be saved in a model's config)."""
    if not isinstance(value, Tokenizer):
        return value
    spec = spec_of(value)
    if spec is None:
        raise ValueError(f"{type(value).__name__} is not a registered tokenizer, so it cannot be saved in a spec")
    return {"name": spec.name, "params": spec.params}


#: Annotation of a parameter holding a tokenizer: a name (``"bytes"``), a spec
#: (``{"name": "bpe", "params": {...}}``) or a tokenizer object.
TokenizerSpec = Annotated[component_field("tokenizer"), pydantic.BeforeValidator(_tokenizer_object_as_spec)]


def make_tokenizer(value: Tokenizer | ComponentSpec | str | Mapping[str, Any]) -> Tokenizer:
    """A tokenizer object from a tokenizer, a name or a spec."""
    if isinstance(value, Tokenizer):
        return value
    tokenizer = build_component("tokenizer", value, path="tokenizer")
    if not isinstance(tokenizer, Tokenizer):
        built = spec_of(tokenizer)
        name = built.name if built is not None else value.name if isinstance(value, ComponentSpec) else value
        raise TypeError(f"tokenizer {name!r} built a {type(tokenizer).__name__}, not a Tokenizer")
    return tokenizer
