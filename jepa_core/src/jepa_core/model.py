"""The engine: :class:`BaseModel` (persistence, config, devices) and :class:`JEPA`.

A JEPA predicts the *embedding* of a target from the embedding of a context.
One model covers the three ways the field uses the idea:

* paired / temporal: ``pred, target = model(state_t, state_t1)``;
* masked (I-JEPA, V-JEPA): ``pred, target = model(x)`` with context and target
  token index sets drawn by the masker (or passed as ``masks=``);
* action-conditioned world model: ``model(state_t, state_t1, action=a)``.

Inputs are batch-first. A state is a tensor or a mapping of keyword inputs for
the encoder (e.g. ``{"x": x, "padding_mask": m}``).
"""

from __future__ import annotations

import copy
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn.functional as F
from torch import nn

from jepa_core import persistence
from jepa_core.contracts import (
    MASK_PARAMETER,
    Encoder,
    State,
    accepted_keywords,
    embedding_width,
    encode_state,
    example_maker,
    packs_target_blocks,
    takes_mask,
    token_count,
    token_grid,
    tokenizer_of,
)
from jepa_core.devices import resolve_device
from jepa_core.errors import CheckpointError, SpecError, TokenCountError, WiringError, short_message
from jepa_core.evaluation import TOKEN_POOLS, pool_tokens, token_padding
from jepa_core.layers import gather_tokens
from jepa_core.masks import Masks
from jepa_core.metrics import embedding_std, rankme
from jepa_core.registry import get_registry
from jepa_core.specs import ComponentSpec, ModelSpec, TargetSpec
from jepa_core.validation import validate_spec
from jepa_core.wiring import build_parts, token_drop_problem, token_problem, width_problem

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

#: Keys of a mapping batch that hold labels, which pretraining never feeds the encoder.
LABEL_KEYS = frozenset({"y", "label", "labels"})


@dataclass
class StepOutput:
    """What :meth:`JEPA.step` returns: the loss to backpropagate and detached
    metrics (tensors, so that logging them costs no device sync until read)."""

    loss: torch.Tensor
    metrics: dict[str, torch.Tensor]

    def scalars(self) -> dict[str, float]:
        """The metrics as Python floats (synchronises with the device)."""
        return {name: float(value) for name, value in self.metrics.items()}


class BaseModel(nn.Module):
    """Persistence, configuration and device duties shared by jepa models."""

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for buffer in self.buffers():
            return buffer.device
        return torch.device("cpu")

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """As :meth:`torch.nn.Module.to`, and ``"auto"`` picks CUDA, MPS or CPU."""
        if args and isinstance(args[0], str) and args[0] == "auto":
            args = (resolve_device("auto"), *args[1:])
        if kwargs.get("device") == "auto":
            kwargs["device"] = resolve_device("auto")
        return super().to(*args, **kwargs)

    def num_parameters(self, trainable: bool = False) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable)

    @property
    def config(self) -> dict[str, Any]:
        """The model's spec as a JSON-ready dict."""
        raise NotImplementedError

    def save_pretrained(self, path: str | Path) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into the directory ``path``
        (atomically) and return it."""
        return persistence.save(self, path)

    #: kinds of the parts only training uses (no weights the model needs to embed or
    #: predict): a saved model whose part of such a kind cannot be rebuilt here loads
    #: without it (a :class:`MissingComponent` stands in), with a warning
    _TRAINING_PARTS: tuple[str, ...] = ()

    def _parts(self) -> dict[str, Any]:
        """The registered components a saved config records the provenance of, by kind."""
        return {}

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device | None = None) -> BaseModel:
        """Rebuild a saved model through the registry and load its weights. A part only
        training uses (a JEPA's masker or loss) whose component cannot be rebuilt here
        is replaced, with a warning, by a :class:`MissingComponent` (see :func:`jepa.load`)."""
        return persistence.load(cls, path, device)

    @classmethod
    def _from_spec(
        cls, spec: dict[str, Any], unavailable: Mapping[str, persistence.UnavailablePart] | None = None
    ) -> BaseModel:
        """The model a saved config's spec describes, with fresh weights; the parts in
        ``unavailable`` (kinds of :attr:`_TRAINING_PARTS`) replaced by
        :class:`MissingComponent` stand-ins."""
        raise NotImplementedError


class MissingComponent(nn.Module):
    """What a loaded model holds in place of a training-time part (masker, loss) whose
    component cannot be rebuilt here, e.g. a loss from a plugin not installed.

    It keeps the part's saved spec (so saving the model again writes it unchanged) and
    any weights the file holds for it (kept as buffers, saved again as they were), and
    raises a :class:`~jepa_core.errors.CheckpointError` naming the part and how to get
    it the moment it is used: a masker drawn from, a loss called.
    """

    def __init__(self, unavailable: persistence.UnavailablePart) -> None:
        super().__init__()
        self._jepa_unavailable = unavailable

    @property
    def spec(self) -> ComponentSpec:
        """The part's spec as saved (not validated: nothing here can)."""
        saved = self._jepa_unavailable.spec
        return ComponentSpec.model_construct(
            name=saved["name"], params=copy.deepcopy(saved["params"]), kind=self._jepa_unavailable.kind
        )

    @staticmethod
    def error(missing: list[MissingComponent]) -> CheckpointError:
        """The error for using a model loaded without the ``missing`` parts."""
        parts = [part._jepa_unavailable for part in missing]
        which = " and ".join(f"its {part.kind} {part.name!r}" for part in parts)
        why = "; ".join(part.reason for part in parts)
        kinds = [part.kind for part in parts]
        return CheckpointError(
            f"this model was loaded from {parts[0].source!r} without {which}, which cannot be rebuilt here "
            f"({why}); {persistence.without_parts_hint(kinds)}"
        )

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error([self])

    def _load_from_state_dict(
        self,
        state_dict: dict[str, Any],
        prefix: str,
        local_metadata: dict[str, Any],
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        """Keep the part's saved weights (as buffers, under the names they had), so that
        they load without a mismatch and a save writes them back."""
        for key, value in state_dict.items():
            if not key.startswith(prefix) or not isinstance(value, torch.Tensor):
                continue
            *path, name = key[len(prefix) :].split(".")
            module: nn.Module = self
            for step in path:
                child = module._modules.get(step)
                if child is None:
                    child = nn.Module()
                    module.add_module(step, child)
                module = child
            try:
                module.register_buffer(name, value.detach().clone())
            except KeyError:  # a name this class uses itself (e.g. `spec`): a mismatch to report
                unexpected_keys.append(key)

    def extra_repr(self) -> str:
        return f"{self._jepa_unavailable.kind} {self._jepa_unavailable.name!r}, not available here"


def _as_component(kind: str, value: Any) -> Any:
    """A registered component from a name, dict or ComponentSpec; objects pass through."""
    if isinstance(value, (str, Mapping, ComponentSpec)):
        spec = value if isinstance(value, ComponentSpec) else validate_spec(ComponentSpec.model_validate, value, kind)
        return get_registry().resolve(kind, spec.name, kind).create(spec.params, f"{kind}.params")
    return value


def _is_texts(value: Any) -> bool:
    """A batch of raw texts (for an encoder with a tokenizer), not an ``(x, label)`` pair."""
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(item, str) for item in value)


def _what_is(value: Any) -> str:
    return f"shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"


def _batch_size(state: State) -> int:
    if isinstance(state, torch.Tensor):
        return state.shape[0]
    if _is_texts(state):
        return len(state)
    if not isinstance(state, Mapping):
        raise TypeError(
            f"a state is a tensor or a mapping of tensors (texts: a list of strings), got a {type(state).__name__}; "
            "convert arrays and lists with torch.as_tensor"
        )
    for value in state.values():
        if isinstance(value, torch.Tensor):
            return value.shape[0]
    raise ValueError("a state mapping must hold at least one tensor")


def masked_input(batch: Any) -> State:
    """What a masked model encodes from a batch: ``x``, ``(x, ...)`` (labels ignored)
    or a mapping of the encoder's keyword inputs (labels dropped)."""
    if isinstance(batch, Mapping):
        return {key: value for key, value in batch.items() if key not in LABEL_KEYS}
    if isinstance(batch, (tuple, list)) and not _is_texts(batch):
        return batch[0]  # (x, label): the label is for probes, not for pretraining
    return batch  # a tensor, or a batch of texts for an encoder with a tokenizer


def _shapes(value: Any) -> str:
    """What a state holds, for a message: ``shape (8, 64)``, or each input of a mapping."""
    if isinstance(value, torch.Tensor):
        return f"shape {tuple(value.shape)}"
    if isinstance(value, Mapping):
        return ", ".join(f"{key} of {_shapes(item)}" for key, item in value.items()) or "an empty mapping"
    return f"a {type(value).__name__}"


def describe_state(value: Any) -> str:
    """What a state holds, for a message: ``shape (8, 64)``, or each input of a mapping."""
    return _shapes(value)


def first_state(batch: Any) -> Any:
    """The state a batch gives the encoder first: ``x`` of a masked batch, ``state_t``
    of a paired one."""
    if isinstance(batch, Mapping) and "state_t" in batch:
        return batch["state_t"]
    return masked_input(batch)


def leading_size(batch: Any, default: int) -> int:
    """How many items ``batch`` holds: the first dimension of its first tensor (or its
    length, for a list of texts); ``default`` when it holds neither."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.dim() else default
    if isinstance(batch, Mapping):
        batch = list(batch.values())
    if isinstance(batch, (list, tuple)) and batch:
        if all(isinstance(item, str) for item in batch):
            return len(batch)
        return leading_size(batch[0], default)
    return default


def _check_input_type(encoder: nn.Module, state: Any, method: str) -> None:
    """A TypeError for what no float encoder takes: a NumPy array, or floats of another
    precision than its weights (NumPy's default float64, say)."""
    if type(state).__module__ == "numpy":  # an encoder may take anything else (text, say), but not arrays
        raise TypeError(
            f"{method} takes a tensor (or a mapping of tensors), got a numpy.{type(state).__name__}: convert it, "
            "torch.from_numpy(array).float() (token ids: torch.as_tensor(array))"
        )
    wrong_dtype = _float_dtype_mismatch(encoder, state)
    if wrong_dtype is not None:
        raise TypeError(
            f"{method} was given {wrong_dtype[0]} values but the encoder's weights are {wrong_dtype[1]}: "
            f"give {wrong_dtype[1]} input (x.to(torch.{wrong_dtype[1]}); numpy's default is float64)"
        )


def part_name(part: Any) -> str:
    """A component's name for messages: its registered name, else its class's."""
    if isinstance(part, MissingComponent):
        return f"{part.spec.name!r} (not available here)"
    record = get_registry().record_of(part)
    return repr(record[0].qualname) if record is not None else type(part).__name__


def refuse_paired_batch(batch: Any) -> None:
    """A masked model reads one input per item: paired items given to it are the wrong
    data (a dataset's ``paired`` left on), which a shape error would misname."""
    if isinstance(batch, Mapping) and "state_t" in batch and "state_t1" in batch:
        raise SpecError(
            "the data gives paired items (state_t, state_t1) but this model has a masker, and masked training "
            "reads one input per item: give the data one input per item (a text dataset: paired=false), or "
            "build the model without a masker to train on the pairs",
            "data",
        )


def check_tokenizer(encoder: nn.Module | None, data: Any, field: str) -> None:
    """Token ids mean tokens only to the tokenizer that made them: when the encoder and
    the dataset feeding it both have a ``tokenizer`` (see
    :func:`~jepa_core.contracts.tokenizer_of`), refuse them unless they give the same
    ids (the encoder's tokenizer's ``same_ids_as(other)`` when it has one, else the same
    registered tokenizer with the same arguments), since the model would otherwise
    train, or be probed, on ids it reads as other tokens. ``field`` is where
    the dataset's tokenizer is set (``data.params.tokenizer``). Tokenizers the registry
    cannot describe are not compared."""
    data = getattr(data, "dataset", data)  # a DataLoader's dataset
    ours, theirs = tokenizer_of(encoder), tokenizer_of(data)
    if ours is None or theirs is None or ours is theirs:
        return
    registry = get_registry()
    own, given = registry.record_of(ours), registry.record_of(theirs)
    if own is None or given is None:
        return
    decide = getattr(ours, "same_ids_as", None)  # the tokenizer knows which of its settings change ids
    try:
        same = decide(theirs) if callable(decide) else own[0].qualname == given[0].qualname and own[1] == given[1]
    except Exception:  # arguments that do not compare (tensors, say): nothing to say
        return
    if same:
        return

    def named(record: tuple[Any, dict[str, Any]], tokenizer: Any) -> str:
        size = getattr(tokenizer, "vocab_size", None)
        return f"{record[0].qualname!r}" + (f" ({size} token ids)" if isinstance(size, int) else "")

    differing = sorted(key for key in {**own[1], **given[1]} if own[1].get(key) != given[1].get(key))
    remedy = (
        "the same tokenizer as model.encoder.params.tokenizer"
        if field.endswith(".tokenizer")  # a run config's section
        else "the encoder's own tokenizer object, or its spec: jepa.spec_of(model.encoder.tokenizer)"
    )
    if own[0].qualname == given[0].qualname:
        what = (
            f"the data is tokenized by {named(given, theirs)} as encoder {part_name(encoder)} is, but with different "
            f"{', '.join(differing) or 'setting'}"
        )
    else:
        what = f"the data is tokenized by {named(given, theirs)} but encoder {part_name(encoder)} by {named(own, ours)}"
    raise SpecError(
        f"{what}, so the encoder would read its ids as other tokens: give the data {remedy}",
        field,
    )


def data_error(encoder: nn.Module, batch: Any, exc: BaseException, field: str = "data") -> SpecError:
    """The error for a batch (of a model with this encoder) that raised ``exc``: a
    :class:`SpecError` at ``field`` (the config section the batch came from: ``data``,
    ``eval.train``, ``eval.test``) saying what it gives and, when the encoder has an
    ``example_input``, the shape it expects; or, when the encoder takes the batch (the
    predictor or the loss refused it), one that says so."""
    state = _move(first_state(batch), _device_of(encoder))
    what = "the data" if field == "data" else field
    takes = accepted_keywords(encoder)
    if isinstance(state, Mapping) and takes is not None and set(state) - takes:
        inputs = sorted(takes - {"mask", "target"})  # the engine's keywords, not inputs
        return SpecError(
            f"{what} gives mappings with keys {sorted(map(str, state))}, but encoder {part_name(encoder)} takes "
            f"{', '.join(map(repr, inputs))}: a masked model reads a mapping's encoder inputs (e.g. 'x', with "
            "'label' for probes), a paired one 'state_t' and 'state_t1' (and 'action'); rename the keys",
            field,
        )
    wrong_dtype = _float_dtype_mismatch(encoder, state)
    if wrong_dtype is not None:
        return SpecError(
            f"{what} gives {wrong_dtype[0]} values but the encoder's weights "
            f"are {wrong_dtype[1]}: give {wrong_dtype[1]} data (numpy's default is float64: "
            f"array.astype('float32'), or tensor.float())",
            field,
        )
    integers = _integer_input(encoder, state)
    if integers is not None and not integers[1]:  # token ids for an image or series encoder, say
        return SpecError(
            f"{what} gives {integers[0]} values, {_shapes(state)}{_expected_input(encoder, state)}: another kind "
            f"of data (token ids?) than encoder {part_name(encoder)} takes. Give "
            f"{'' if field == 'data' else field + ' '}data of the kind the model reads",
            field,
        )
    if integers is not None:
        convert = (
            "x.float() / 255 for 8-bit images, normalised as the encoder expects"
            if integers[0] == "uint8"
            else "x.float()"
        )
        return SpecError(
            f"{what} gives {integers[0]} values but the encoder takes floats (as its example_input is): give float "
            f"data ({convert})",
            field,
        )
    # an eval set is read by the encoder the data trains: the eval set is the part to change
    or_encoder = ", or set the encoder up for this data" if field == "data" else ", like the data it trains on"
    try:
        with torch.no_grad():
            encode_state(encoder, state)
    except Exception:  # the encoder refuses it: say what it is given and what it takes
        pass
    else:
        if _raised_in(encoder, exc):  # the encoder took it whole, but not masked (a masked conv net's sides)
            return SpecError(
                f"{what} does not fit encoder {part_name(encoder)} in masked training: a batch from {field} holds "
                f"{_shapes(state)}{_expected_input(encoder, state)}; the encoder's error: "
                f"{short_message(exc).rstrip('.')}. Make {field} give inputs of the size the encoder is set up "
                f"for{or_encoder}",
                field,
            )
        labels = _labels_as_state_t1(batch)
        return SpecError(
            f"a batch from the data does not fit the model (the encoder takes its inputs, {_shapes(state)}, "
            f"but the rest of the model does not): {labels or short_message(exc)}",
            field,
        )
    return SpecError(
        f"{what} does not fit encoder {part_name(encoder)}: a batch from {field} holds {_shapes(state)}"
        f"{_expected_input(encoder, state)}; the encoder's error: {short_message(exc).rstrip('.')}. Make {field} "
        f"give inputs of the shape the encoder takes{or_encoder}",
        field,
    )


def failing_part(model: Any, exc: BaseException) -> tuple[str, str] | None:
    """``(role, name)`` of the model's part whose own code raised ``exc`` (the deepest
    frame of its traceback that is a method of the masker, the loss, the predictor or
    an encoder), or None when none of them is on the traceback."""
    parts = {
        id(part): (role, part)
        for role, part in (
            ("encoder", getattr(model, "encoder", None)),
            ("target encoder", getattr(model, "target_encoder", None)),
            ("predictor", getattr(model, "predictor", None)),
            ("masker", getattr(model, "masker", None)),
            ("loss", getattr(model, "criterion", None)),
        )
        if part is not None
    }
    found = None
    trace = exc.__traceback__
    while trace is not None:
        owner = trace.tb_frame.f_locals.get("self")
        if id(owner) in parts:
            found = parts[id(owner)]
        trace = trace.tb_next
    return (found[0], part_name(found[1])) if found is not None else None


def _expected_input(encoder: nn.Module, state: Any) -> str:
    """`` but the encoder takes inputs like ...`` from its example_input, or nothing."""
    make = example_maker(encoder)
    if make is None:
        return ""
    try:
        return f" but the encoder takes inputs like {_shapes(make(_batch_size(state)))} (its example_input)"
    except Exception:  # an example_input that fails itself: the encoder's own message remains
        return ""


def _raised_in(module: nn.Module, exc: BaseException) -> bool:
    """Whether a method of ``module`` itself is on ``exc``'s traceback."""
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_locals.get("self") is module:
            return True
        trace = trace.tb_next
    return False


def _float_dtype_mismatch(encoder: nn.Module, state: Any) -> tuple[str, str] | None:
    """``(data dtype, weight dtype)`` when a state's floating tensors are of another
    floating dtype than the encoder's weights (float64 arrays into a float32 model)."""
    weights = next((p.dtype for p in encoder.parameters() if p.is_floating_point()), None)
    tensors = state.values() if isinstance(state, Mapping) else [state]
    for value in tensors:
        if isinstance(value, torch.Tensor) and value.is_floating_point() and weights is not None:
            if value.dtype != weights:
                return str(value.dtype).removeprefix("torch."), str(weights).removeprefix("torch.")
    return None


def _integer_input(encoder: nn.Module, state: Any) -> tuple[str, bool] | None:
    """``(dtype, same rank)`` of a state's integer tensor (8-bit images, or token ids of
    another modality when its rank differs) given to an encoder whose example input is
    floating: token encoders, whose inputs are integer ids, never match."""
    make = example_maker(encoder)
    tensor = state.get("x") if isinstance(state, Mapping) else state
    if make is None or not isinstance(tensor, torch.Tensor) or tensor.is_floating_point() or tensor.is_complex():
        return None
    try:
        example = make(1)
    except Exception:  # an example_input that fails itself: nothing to compare with
        return None
    if not example.is_floating_point():
        return None
    return str(tensor.dtype).removeprefix("torch."), tensor.dim() == example.dim()


def _note(exc: BaseException, text: str) -> None:
    """Say under an exception's traceback which component raised it (Python 3.11+)."""
    if hasattr(exc, "add_note"):
        exc.add_note(text)


def _labels_as_state_t1(batch: Any) -> str:
    """A paired model reads the second part of an ``(x, y)`` batch as ``state_t1``: when
    that part looks like class labels, say so."""
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        second = batch[1]
        if isinstance(second, torch.Tensor) and second.dim() == 1 and not second.is_floating_point():
            return (
                f"the batch's second part, {_shapes(second)} of integers, looks like labels, and a paired "
                "model reads it as state_t1: for (x, label) items build the model with a masker (masked "
                "mode ignores the labels), or give the data (state_t, state_t1) pairs"
            )
    return ""


def _device_of(module: nn.Module) -> torch.device:
    for tensor in module.parameters():
        return tensor.device
    return torch.device("cpu")


# Encoder parameters that fix how many tokens an input gives, and how to read their
# value off a batch (None: no good guess; _NOT_FOR_THIS_INPUT: the setting is not the
# one to name for such an input, as a frame count for images), for the message that
# names what to set.
_NOT_FOR_THIS_INPUT = object()
_TOKEN_SETTINGS: dict[str, Callable[[Any, int], Any]] = {
    "num_tokens": lambda x, found: found,
    "image_size": lambda x, found: list(x.shape[-2:]) if isinstance(x, torch.Tensor) and x.dim() >= 3 else None,
    "seq_len": lambda x, found: x.shape[1] if isinstance(x, torch.Tensor) and x.dim() >= 2 else None,
    "num_frames": lambda x, found: x.shape[2] if isinstance(x, torch.Tensor) and x.dim() == 5 else _NOT_FOR_THIS_INPUT,
}


def _described(part: Any) -> str:
    """A part for a wiring message: its class, and its registered name when it has one."""
    record = get_registry().record_of(part)
    return f"{type(part).__name__} ({record[0].qualname!r})" if record is not None else type(part).__name__


def _check_token_wiring(encoder: Encoder, part: Any, key: str) -> None:
    """A model built from parts whose masker or predictor is set up for another token
    count (or grid) than the encoder gives: refused, naming both and what to set."""
    problem = token_problem(encoder, part, _described(encoder), _described(part), key)
    if problem is None:
        return
    settings = [
        f"{attribute}={value!r}"
        for attribute, value in (("num_tokens", token_count(encoder)), ("grid", token_grid(encoder)))
        if value is not None and getattr(part, attribute, None) is not None
    ]
    raise WiringError(
        f"{problem}; build the {key} with {' and '.join(settings)} (the encoder's), or let jepa.build make "
        f"the parts: it sets the {key}'s from the encoder",
        key,
    )


def _same_setting(current: Any, suggested: Any) -> bool:
    """Whether an encoder parameter already holds the value a message would suggest
    (``8`` and ``[8, 8]`` are one image size)."""
    if current is None:
        return False
    if isinstance(suggested, list) and not isinstance(current, (list, tuple)):
        current = [current] * len(suggested)
    return list(current) == suggested if isinstance(current, (list, tuple)) else current == suggested


def _check_widths(encoder: Encoder, predictor: Any) -> None:
    """A model built from parts (not by :func:`jepa.build`, which wires the width) whose
    predictor says another width than the encoder: refused, with the setting to change."""
    registry = get_registry()
    names = [_described(part) for part in (encoder, predictor)]
    problem = width_problem(encoder, predictor, names[0], names[1])
    if problem is None:
        return
    record = registry.record_of(predictor)
    width = embedding_width(encoder)
    if record is None:
        setting = f"for width {width}"
    elif "hidden_dim" in record[0].params_model.model_fields:
        setting = f"hidden_dim={width}"
    else:
        setting = f"params that make it predict width {width}"
    raise WiringError(
        f"{problem}; build the predictor with {setting} (the encoder's embed_dim), or let jepa.build "
        "make both parts: it sets the predictor's width from the encoder",
        "predictor",
    )


def _move(state: Any, device: torch.device) -> Any:
    if isinstance(state, torch.Tensor):
        return state.to(device, non_blocking=True)
    if isinstance(state, Mapping):
        return {key: _move(value, device) for key, value in state.items()}
    return state


class JEPA(BaseModel):
    """Joint-Embedding Predictive Architecture.

    Args:
        encoder: the online (context) encoder, any ``nn.Module``.
        predictor: maps context embeddings to predicted target embeddings of the
            encoder's width: a predictor whose ``embed_dim`` differs from the
            encoder's is refused with a :class:`~jepa_core.errors.WiringError`
            (``jepa.build`` sets the predictor's width from the encoder).
        loss: a registered loss name, spec, or any callable ``(pred, target)``.
        masker: a registered masker (name/spec/object) for masked training. A
            masker (or an attention-style predictor) whose ``num_tokens``, or
            ``grid`` when both have one, differs from the encoder's is refused
            with a :class:`~jepa_core.errors.WiringError` naming both.
        target: ``"ema"`` (default), ``"shared"`` or ``"none"``, or a
            :class:`~jepa_core.specs.TargetSpec` / dict with momentum settings.
        normalize_targets: layer-normalise target embeddings (I-JEPA does).
    """

    def __init__(
        self,
        encoder: nn.Module,
        predictor: nn.Module,
        loss: Any = "jepa:mse",
        *,
        masker: Any = None,
        target: str | TargetSpec | Mapping[str, Any] = "ema",
        normalize_targets: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(encoder, nn.Module) or not isinstance(predictor, nn.Module):
            raise TypeError("JEPA needs an encoder and a predictor that are torch.nn.Module instances")
        # The parts stay typed nn.Module (what the engine trains, copies and moves), not
        # contracts.Encoder: to mypy a Module's attributes are `Tensor | Module`, which the
        # protocol's `embed_dim: int` is not. The functions that read the contract take
        # an Encoder, and are handed the encoder as one here.
        contract = cast(Encoder, encoder)
        _check_widths(contract, predictor)
        _check_token_wiring(contract, predictor, "predictor")
        self.encoder = encoder
        self.predictor = predictor
        self.criterion = _as_component("loss", loss)
        if not callable(self.criterion):
            raise TypeError(f"loss must be callable, got {type(self.criterion).__name__}")
        self.masker = _as_component("masker", masker) if masker is not None else None
        if self.masker is not None:
            _check_token_wiring(contract, self.masker, "masker")
        self.target_spec = (
            target if isinstance(target, TargetSpec) else validate_spec(TargetSpec.model_validate, target, "target")
        )
        self.normalize_targets = normalize_targets
        self.target_encoder: nn.Module | None = None
        if self.target_spec.mode == "ema":
            self.target_encoder = copy.deepcopy(encoder).eval()
            self.target_encoder.requires_grad_(False)
        self._predictor_keywords = accepted_keywords(predictor)
        # not to an encoder that takes **inputs: a composite would hand `target` on as an input
        self._encoder_takes_target = "target" in (accepted_keywords(encoder) or set())
        self._loss_takes_context = "context" in (accepted_keywords(self.criterion) or {"context"})
        masker_keywords = accepted_keywords(self.masker) if self.masker is not None else set()
        self._masker_takes_padding = masker_keywords is None or "padding_mask" in masker_keywords
        if self.masker is not None:
            self._check_masked_support(contract)
        self._masks_checked = False

    def train(self, mode: bool = True) -> Self:
        """Set training mode, leaving the EMA target encoder in eval mode: its targets are
        regressed as they are, so they take no dropout (and batch norm uses its running
        statistics, the online encoder's, copied at every EMA step)."""
        super().train(mode)
        if self.target_encoder is not None:
            self.target_encoder.eval()
        return self

    def check_masks(self, masks: Masks, num_tokens: int) -> None:
        """Raise a :class:`SpecError` at ``masker``, naming it, when ``masks`` break the
        masker contract for inputs of ``num_tokens`` tokens: indices that are not
        integers or fall outside ``0 .. num_tokens - 1``, an empty context, or a context
        that holds a target token (it would see what it predicts). A model checks the
        first masks its masker draws."""
        name = f"masker {part_name(self.masker)}" if self.masker is not None else "the masks"
        blocks = [("context", masks.context), *((f"target block {i}", b) for i, b in enumerate(masks.targets))]
        for label, index in blocks:
            if index.is_floating_point() or index.dtype == torch.bool or index.is_complex():
                raise SpecError(f"{name} gave {label} indices of dtype {index.dtype}; indices are integers", "masker")
            if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_tokens):
                raise SpecError(
                    f"{name} gave {label} indices from {int(index.min())} to {int(index.max())}, outside the "
                    f"{num_tokens} tokens the encoder gives (0 to {num_tokens - 1})",
                    "masker",
                )
        if masks.context.shape[1] == 0:
            raise SpecError(f"{name} gave an empty context: there is nothing to predict the targets from", "masker")
        shared = masks.overlap()
        if shared:
            raise SpecError(
                f"{name} put {shared} target token(s) in the context as well, so the context would see what it "
                "predicts; a target token must not be in the context",
                "masker",
            )

    # -- construction helpers --------------------------------------------------------
    def _check_masked_support(self, encoder: Encoder) -> None:
        if self._predictor_keywords is not None and "target_idx" not in self._predictor_keywords:
            raise SpecError(
                f"predictor {type(self.predictor).__name__} cannot do masked training: its forward "
                "takes no 'target_idx'; use a predictor that does (e.g. 'attention')",
                "predictor",
            )
        if not takes_mask(encoder):
            raise SpecError(
                f"encoder {type(encoder).__name__} cannot do masked training: its forward takes no "
                f"'mask' (indices of the tokens to keep); add `{MASK_PARAMETER}` to it",
                "encoder",
            )
        problem = token_drop_problem(encoder)
        if problem is not None:
            raise SpecError(f"encoder {type(encoder).__name__} {problem}", "encoder")

    def _predictor_kwargs(self, **candidates: Any) -> dict[str, Any]:
        given = {name: value for name, value in candidates.items() if value is not None}
        if self._predictor_keywords is None:
            return given
        if "context_idx" not in self._predictor_keywords:  # optional: e.g. a recurrent predictor
            given.pop("context_idx", None)
        refused = set(given) - self._predictor_keywords
        if refused:
            raise ValueError(
                f"predictor {type(self.predictor).__name__}.forward does not accept "
                f"{', '.join(sorted(refused))}; use a predictor that does"
            )
        return given

    # -- forward -----------------------------------------------------------------------
    def _target_embeddings(self, state: State) -> torch.Tensor:
        # an encoder whose forward takes `target` may give the target branch another output
        # (e.g. data2vec's average of its top layers)
        extra: dict[str, Any] = {"target": True} if self._encoder_takes_target else {}
        if self.target_spec.mode == "none":
            target = encode_state(self.encoder, state, **extra)
        else:
            encoder = self.target_encoder if self.target_encoder is not None else self.encoder
            with torch.no_grad():
                target = encode_state(encoder, state, **extra).detach()
        if self.normalize_targets:
            target = F.layer_norm(target, target.shape[-1:])
        return target

    def views(
        self,
        state_t: State,
        state_t1: State | None = None,
        *,
        action: torch.Tensor | None = None,
        masks: Masks | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(pred, target, context)``: :meth:`forward` plus the online context embeddings."""
        if state_t1 is not None:
            if masks is not None:
                raise ValueError("masks= applies to masked mode (one input); got state_t1 as well")
            sizes = leading_size(state_t, -1), leading_size(state_t1, -1)
            if min(sizes) >= 0 and sizes[0] != sizes[1]:
                raise ValueError(
                    f"state_t holds {sizes[0]} items and state_t1 {sizes[1]}: the two states of a pair need the "
                    "same batch size"
                )
            context = encode_state(self.encoder, state_t)
            target = self._target_embeddings(state_t1)
            pred = self.predictor(context, **self._predictor_kwargs(action=action))
            return pred, target, context
        drawn = False  # masks the caller passed are the caller's to fit to the input
        if masks is None:
            if self.masker is None:
                raise ValueError(
                    "got one input but this model has no masker: pass state_t1 (paired mode), "
                    "masks=, or build with masker=..."
                )
            if _is_texts(state_t):
                count = token_count(self.masker)
                raise ValueError(
                    "masked training draws masks over token ids and needs their padding: tokenize the texts "
                    f"first, e.g. model.encoder.tokenizer(texts, max_length={count or 'N'}, padding='max_length') "
                    "(a dict with 'x' and 'padding_mask'), or train on a text dataset, which does"
                )
            extra = {}
            if isinstance(state_t, Mapping) and "padding_mask" in state_t and self._masker_takes_padding:
                extra["padding_mask"] = state_t["padding_mask"]  # a padding-aware masker skips padded tokens
            try:
                masks = self.masker(_batch_size(state_t), **extra)
            except Exception as exc:
                _note(exc, f"raised by masker {part_name(self.masker)}, drawing masks for {_batch_size(state_t)} items")
                raise
            if not isinstance(masks, Masks):
                raise SpecError(
                    f"masker {part_name(self.masker)} returned a {type(masks).__name__}; a masker returns "
                    "jepa.Masks(context, targets)",
                    "masker",
                )
            drawn = True
        masks = masks.to(self.device)
        full_target = self._target_embeddings(state_t)
        if full_target.dim() != 3:
            raise ValueError(
                f"masked training needs token embeddings (B, N, D) from the encoder, got shape "
                f"{tuple(full_target.shape)}; configure the encoder to return tokens"
            )
        if drawn:
            self.check_token_count(full_target.shape[1], state_t)
            if not self._masks_checked:  # once per model: the checks wait for the device
                self.check_masks(masks, full_target.shape[1])
                self._masks_checked = True
        context = encode_state(self.encoder, state_t, masks.context)
        target = gather_tokens(full_target, torch.cat(list(masks.targets), dim=1))  # one gather for all blocks
        if packs_target_blocks(self.predictor):  # every target block in one predictor pass
            kwargs = self._predictor_kwargs(context_idx=masks.context, target_idx=masks.targets, action=action)
            return self.predictor(context, **kwargs), target, context
        preds = []
        for block in masks.targets:  # one predictor pass per target block (I-JEPA)
            kwargs = self._predictor_kwargs(context_idx=masks.context, target_idx=block, action=action)
            preds.append(self.predictor(context, **kwargs))
        return torch.cat(preds, dim=1), target, context

    def check_token_count(self, found: int, state: State) -> None:
        """Raise :class:`TokenCountError` when ``found`` tokens per item (of input ``state``)
        is not the count masks are drawn for: an input with more tokens would train on its
        first ones only, silently, and one with fewer would index past its end. The error
        says what to set."""
        masker_count = token_count(self.masker) if self.masker is not None else None
        encoder_count = token_count(self.encoder)
        expected = masker_count if masker_count is not None else encoder_count
        if expected is None or found == expected:
            return
        consequence = (
            f"masks would cover only its first {expected} tokens"
            if found > expected
            else "masks would point past its last token"
        )
        if masker_count is not None and encoder_count in (None, found):
            # the encoder is set up for the data (or takes any length): the masker is the part that disagrees
            record = get_registry().record_of(self.masker)
            name = record[0].qualname if record is not None else type(self.masker).__name__
            fields = record[0].params_model.model_fields if record is not None else {}
            grid = token_grid(self.encoder)
            settings = [f"num_tokens to {found}"] if "num_tokens" in fields else []
            if grid is not None and "grid" in fields and token_grid(self.masker) not in (None, grid):
                settings.append(f"grid to {list(grid)}")
            if not settings:
                fix = f"build the masker for {found} tokens, what the data gives"
            elif encoder_count is None:
                fix = f"set masker.params.{' and '.join(settings)}, what the data gives"
            else:
                fix = (
                    f"set masker.params.{' and '.join(settings)} (the encoder's), or leave "
                    f"{'them' if len(settings) > 1 else 'it'} unset: jepa.build takes the encoder's"
                )
            encoder_agrees = (
                f", as encoder {part_name(self.encoder)} is set up for,"
                if encoder_count is not None
                else f" (encoder {part_name(self.encoder)} takes any length)"
            )
            raise TokenCountError(
                f"the data gives {found} tokens per item{encoder_agrees} but masker {name!r} draws masks for "
                f"{masker_count} ({consequence}); {fix}",
                "masker.params.num_tokens" if settings else "masker",
            )
        record = get_registry().record_of(self.encoder)
        name = record[0].qualname if record is not None else type(self.encoder).__name__
        fields = record[0].params_model.model_fields if record is not None else {}
        params = record[1] if record is not None else {}
        x = state.get("x", next(iter(state.values()), None)) if isinstance(state, Mapping) else state
        suggested = [(field, _TOKEN_SETTINGS[field](x, found)) for field in _TOKEN_SETTINGS if field in fields]
        suggested = [(f, v) for f, v in suggested if v is not _NOT_FOR_THIS_INPUT]
        # the setting the data disagrees with (a clip's frame count, not the frame size it matches)
        differing = [(f, v) for f, v in suggested if v is not None and not _same_setting(params.get(f), v)]
        setting, value = (differing or suggested)[0] if suggested else (None, None)
        if setting is None or (value is not None and _same_setting(params.get(setting), value)):
            # nothing to name, or the setting already holds what the data suggests
            make, like = example_maker(self.encoder), ""
            try:
                like = f" (inputs like {_shapes(make(1))})" if make is not None else ""
            except Exception:  # an example_input that fails itself: say it without the shape
                like = ""
            fix = (
                f"configure encoder {name!r} for inputs of this size"
                if setting is not None
                else f"encoder {name!r} has no setting for another size: give it inputs of the size it is built "
                f"for{like}, e.g. with the data's image_size"
            )
            raise TokenCountError(
                f"the data gives {found} tokens per item but encoder {name!r} is set up for {expected} "
                f"({consequence}); {fix}"
            )
        to = f" to {value}" if value is not None else " to match the data"
        raise TokenCountError(
            f"the data gives {found} tokens per item but encoder {name!r} is set up for {expected} "
            f"({consequence}); set encoder.params.{setting}{to}",
            f"encoder.params.{setting}",
        )

    def forward(
        self,
        state_t: State,
        state_t1: State | None = None,
        *,
        action: torch.Tensor | None = None,
        masks: Masks | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(pred, target)`` embeddings; see the class docstring for the modes."""
        pred, target, _ = self.views(state_t, state_t1, action=action, masks=masks)
        return pred, target

    # -- loss and training step ----------------------------------------------------------
    def loss_terms(
        self, pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """The loss and its named parts (``{"loss": ...}`` for single-term losses)."""
        try:
            if self._loss_takes_context:
                result = self.criterion(pred, target, context=context)
            else:
                result = self.criterion(pred, target)
        except Exception as exc:
            with_context = "" if not self._loss_takes_context or context is None else f", context {_shapes(context)}"
            _note(
                exc,
                f"raised by loss {part_name(self.criterion)}, given pred and target of {_shapes(pred)}{with_context}",
            )
            raise
        terms = dict(result) if isinstance(result, Mapping) else {"loss": result}
        for name in ("loss", *terms):  # the loss, then the terms logged each step: scalars
            value = terms.get(name)
            if isinstance(value, torch.Tensor) and value.dim() == 0:
                continue
            if name == "loss":
                got = "a dict without 'loss'" if value is None else _what_is(value)
                what = f"returned {got}; a loss returns a scalar tensor (reduce it, e.g. with .mean()) or a dict whose "
                what += "'loss' is one"
            else:
                what = f"returned {name!r} of {_what_is(value)}; every entry of a loss's dict is a scalar tensor (it "
                what += "is logged each step): reduce it or leave it out"
            raise SpecError(f"loss {part_name(self.criterion)} {what}", "loss")
        return terms

    def loss(self, pred: torch.Tensor, target: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """Scalar loss between predicted and target embeddings."""
        return self.loss_terms(pred, target, context)["loss"]

    def step(
        self,
        batch: Any,
        state_t1: State | None = None,
        *,
        action: torch.Tensor | None = None,
        masks: Masks | None = None,
        collapse_metrics: bool = True,
    ) -> StepOutput:
        """Loss and metrics for one batch; call ``.loss.backward()`` and, after the
        optimiser step, :meth:`update_target`.

        Called like the model itself: ``model.step(state_t, state_t1)`` (paired, with
        ``action=`` for a world model) or ``model.step(x)`` (masked). A single
        ``batch`` as a data loader yields it also works: masked models read it as
        ``x``, ``(x, ...)`` (labels ignored) or a mapping with ``"x"``; paired models
        as ``(state_t, state_t1[, action])`` or a mapping with ``"state_t"``,
        ``"state_t1"`` and optionally ``"action"``.
        """
        _check_input_type(self.encoder, batch if state_t1 is not None else first_state(batch), "model.step")
        batch = _move(batch, self.device)
        if state_t1 is not None:  # two states, as in model(state_t, state_t1): paired
            state_t1, action = _move(state_t1, self.device), _move(action, self.device)
            pred, target, context = self.views(batch, state_t1, action=action, masks=masks)
        elif self.masker is not None or masks is not None:
            refuse_paired_batch(batch)
            pred, target, context = self.views(masked_input(batch), masks=masks, action=_move(action, self.device))
        else:
            if isinstance(batch, Mapping) and "state_t" in batch and "state_t1" in batch:
                state_t, state_t1, batch_action = batch["state_t"], batch["state_t1"], batch.get("action")
            elif isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
                state_t, state_t1, batch_action = batch[0], batch[1], batch[2] if len(batch) == 3 else None
            else:
                got = f"a {type(batch).__name__}" + (
                    f" of shape {tuple(batch.shape)}" if isinstance(batch, torch.Tensor) else ""
                )
                if isinstance(batch, Mapping):
                    got += f" with keys {sorted(map(str, batch))}"
                raise ValueError(
                    f"this paired model needs two states, got {got}: call model.step(state_t, state_t1) "
                    "(action=... for a world model), or pass one batch (state_t, state_t1[, action]) or "
                    "{'state_t': ..., 'state_t1': ...}; for one input per batch build the model with a masker"
                )
            if batch_action is not None and action is not None:
                raise ValueError("the action is given twice: in the batch and as action=")
            action = batch_action if batch_action is not None else _move(action, self.device)
            pred, target, context = self.views(state_t, state_t1, action=action)
        terms = self.loss_terms(pred, target, context)
        metrics = {name: value.detach() for name, value in terms.items()}
        if collapse_metrics:
            metrics["context_std"] = embedding_std(context)
            metrics["context_rankme"] = rankme(context)
            metrics["target_std"] = embedding_std(target)
        return StepOutput(loss=terms["loss"], metrics=metrics)

    # -- target encoder ----------------------------------------------------------------------
    def target_momentum(self, progress: float) -> float:
        """EMA momentum at training ``progress`` in [0, 1]: linear from
        ``target.momentum`` to ``target.final_momentum`` (I-JEPA's schedule)."""
        progress = min(max(progress, 0.0), 1.0)
        start, end = self.target_spec.momentum, self.target_spec.final_momentum
        return start + (end - start) * progress

    @torch.no_grad()
    def update_target(self, momentum: float | None = None, *, progress: float | None = None) -> float | None:
        """EMA update ``target = m * target + (1 - m) * online``; returns ``m``.

        ``momentum`` overrides the schedule; otherwise ``progress`` (0..1) picks it
        from the schedule, and without either the starting momentum is used. A no-op
        (returning None) for the ``shared`` and ``none`` target modes.
        """
        if self.target_encoder is None:
            return None
        if momentum is None:
            momentum = self.target_momentum(progress if progress is not None else 0.0)
        online: list[torch.Tensor] = list(self.encoder.parameters())
        target: list[torch.Tensor] = list(self.target_encoder.parameters())
        torch._foreach_mul_(target, momentum)
        torch._foreach_add_(target, online, alpha=1.0 - momentum)
        for t_buffer, o_buffer in zip(self.target_encoder.buffers(), self.encoder.buffers(), strict=False):
            t_buffer.copy_(o_buffer)
        return momentum

    # -- downstream use ------------------------------------------------------------------------
    @torch.no_grad()
    def embed(self, x: State, *, encoder: str = "auto", tokens: str = "mean") -> torch.Tensor:
        """One embedding per sample for downstream use (probes, retrieval).

        ``encoder="auto"`` uses the EMA target encoder when there is one (as I-JEPA
        evaluates), else the online encoder; ``"online"``/``"target"`` choose. Token
        outputs ``(B, N, D)`` are average-pooled (``tokens="mean"``, ``(B, D)``),
        max-pooled (``"max"``, as TS2Vec), kept whole (``"flatten"``, ``(B, N*D)``)
        or returned as they are (``"none"``, ``(B, N, D)``). Padded tokens (a
        ``padding_mask`` in mapping inputs, or series steps with no finite value) are
        left out of ``mean`` and ``max`` and zeroed by ``flatten``; see
        :func:`jepa_core.evaluation.pool_tokens`. Pooled ``(B, D)`` outputs are
        returned as they are. The encoder runs in eval mode (dropout off, the same
        input gives the same embedding) whatever mode the model is in, which it keeps;
        gradients flow as usual (wrap the call in ``torch.no_grad()`` when none is needed).
        """
        if tokens not in TOKEN_POOLS:
            raise ValueError(f"tokens must be one of {', '.join(map(repr, TOKEN_POOLS))}, got {tokens!r}")
        if encoder not in ("auto", "online", "target"):
            raise ValueError(f"encoder must be 'auto', 'online' or 'target', got {encoder!r}")
        if encoder == "target" and self.target_encoder is None:
            raise ValueError(f"this model has no target encoder (target mode {self.target_spec.mode!r})")
        module = self.encoder if encoder == "online" or self.target_encoder is None else self.target_encoder
        _check_input_type(module, x, "model.embed")
        integers = _integer_input(module, x)
        if integers is not None:  # token ids, or 8-bit images, for an encoder of floats
            raise TypeError(
                f"model.embed was given {integers[0]} values, {_shapes(x)},{_expected_input(module, x)}, which are "
                "floats" + (": x.float() / 255 for 8-bit images" if integers[0] == "uint8" else "")
            )
        x = _move(x, self.device)
        training = module.training
        module.eval()
        try:
            z = encode_state(module, x)
        finally:
            module.train(training)
        if z.dim() != 3 or tokens == "none":
            return z
        return pool_tokens(z, token_padding(x, z), tokens)

    # -- spec and persistence --------------------------------------------------------------------
    @property
    def spec(self) -> ModelSpec:
        """The full spec that rebuilds this model as it was built (qualified names, every
        parameter), pretrained weights it read from outside included: a run's record."""
        return self._spec(architecture=False)

    @property
    def architecture_spec(self) -> ModelSpec:
        """The spec of the same architecture with nothing read from outside the spec: a
        component that loaded pretrained weights (a checkpoint directory or hub id) is
        described by its :meth:`architecture_params` instead, so building this spec gives
        the same network with fresh random weights. A saved model's ``config.json`` holds
        it (its weights are in ``model.safetensors``), and the random-weight baseline of
        an evaluation is built from it."""
        return self._spec(architecture=True)

    def _spec(self, architecture: bool) -> ModelSpec:
        data: dict[str, Any] = {
            "encoder": component_spec(self.encoder, "encoder", architecture=architecture),
            "predictor": component_spec(self.predictor, "predictor", architecture=architecture),
            "loss": component_spec(self.criterion, "loss", architecture=architecture),
            "masker": component_spec(self.masker, "masker", architecture=architecture)
            if self.masker is not None
            else None,
            "target": self.target_spec,
            "normalize_targets": self.normalize_targets,
        }
        return ModelSpec.model_construct(**data)

    @property
    def config(self) -> dict[str, Any]:
        """:attr:`architecture_spec` as a JSON-ready dict (what ``config.json`` holds)."""
        return self.architecture_spec.to_dict()

    def _parts(self) -> dict[str, Any]:
        parts = {"encoder": self.encoder, "predictor": self.predictor, "loss": self.criterion, "masker": self.masker}
        return {kind: part for kind, part in parts.items() if part is not None}

    _TRAINING_PARTS = ("masker", "loss")

    @classmethod
    def _from_spec(
        cls, spec: dict[str, Any], unavailable: Mapping[str, persistence.UnavailablePart] | None = None
    ) -> JEPA:
        if not unavailable:
            return build_model(ModelSpec.parse(spec))
        # built without the unavailable parts (the default loss, no masker), which then
        # give way to their stand-ins
        stand_in = {key: value for key, value in spec.items() if key not in unavailable}
        if "masker" in unavailable:
            stand_in["masker"] = None
        model = build_model(ModelSpec.parse(stand_in))
        for kind, part in unavailable.items():
            setattr(model, "criterion" if kind == "loss" else kind, MissingComponent(part))
        return model

    def _check_trainable(self) -> None:
        """Raise a :class:`CheckpointError` when this model was loaded without a part
        training needs (its masker or loss: a plugin not installed here)."""
        missing = [part for part in (self.masker, self.criterion) if isinstance(part, MissingComponent)]
        if missing:
            raise MissingComponent.error(missing)


def component_spec(obj: Any, kind: str, *, architecture: bool = False) -> ComponentSpec:
    """The ComponentSpec that rebuilds ``obj``, a component of a registered class.

    With ``architecture=True``, a component that defines ``architecture_params()`` is
    described by the parameters it returns (e.g. a backbone's config in place of the
    checkpoint directory it was loaded from) instead of the ones it was built with.
    """
    if isinstance(obj, MissingComponent):
        return obj.spec  # a part loaded without its plugin: its spec as saved
    registry = get_registry()
    record = registry.record_of(obj)
    registered = registry.component_of_class(type(obj)) if record is None else None
    if registered is not None and not registered.params_model.model_fields:
        return ComponentSpec(name=registered.qualname, params={}, kind=kind)  # no arguments to remember
    if registered is not None:
        raise SpecError(
            f"{kind} {type(obj).__name__} (registered as {registered.qualname!r}) was constructed directly and "
            "does not remember its arguments, so a saved model could not rebuild it: decorate its class with "
            "@jepa.capture_arguments (in a plugin module, directly above `class`; in a notebook or script "
            "that uses @jepa.register, below it), or build it by its registered name (jepa.build, "
            "jepa.build_component)",
            kind,
        )
    if record is None and isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        name = getattr(obj, "__name__", "function")
        raise SpecError(
            f"{kind} {name} is a function, not a registered component, so a saved model could not be rebuilt "
            f"from its config; write a class whose instances are called as it is (an nn.Module whose forward "
            f"returns {name}(...)) and register that class: in a plugin, with registry.add({kind!r}, 'a_name', "
            f"TheClass) in its jepa_register hook; in a notebook or script, with @jepa.register({kind!r}, 'a_name')",
            kind,
        )
    if record is None:
        raise SpecError(
            f"{kind} {type(obj).__name__} is not a registered component, so a saved model could not "
            f"be rebuilt from its config; register its class: in a plugin, with registry.add({kind!r}, "
            f"'a_name', {type(obj).__name__}) in its jepa_register hook; in a notebook or script, with "
            f"@jepa.register({kind!r}, 'a_name')",
            kind,
        )
    component, params = record
    own = getattr(obj, "architecture_params", None) if architecture else None
    if callable(own):
        params = {**params, **own()}
    fields = component.params_model.model_fields
    filled = component.validate({name: value for name, value in params.items() if name in fields}, kind)
    return ComponentSpec(name=component.qualname, params=filled, kind=kind)


def build_model(spec: ModelSpec) -> JEPA:
    """The JEPA of a validated spec, its components created and wired (see
    :mod:`jepa_core.wiring`)."""
    encoder, predictor, loss, masker = build_parts(spec)
    try:
        return JEPA(
            encoder,
            predictor,
            loss,
            masker=masker,
            target=spec.target,
            normalize_targets=spec.normalize_targets,
        )
    except (MemoryError, RuntimeError) as exc:  # copying the encoder ran out of memory (torch: RuntimeError)
        raise SpecError(
            f"could not copy the encoder as the EMA target: {type(exc).__name__}: {short_message(exc)}", "target"
        ) from exc
