"""The component contract, written down once: what the engine, the factory, the
composites and the conformance suite (:mod:`jepa_core.testing`) expect of each kind.

These are :class:`typing.Protocol` classes: a component satisfies one by having the
attributes and call signature, not by inheriting from it, so a plugin's
``torch.nn.Module`` needs nothing from jepa to be one. The conformance suite checks
the behaviour the types cannot say (shapes, masks, gradients, seeds).

Some attributes are optional; the functions below the protocols read each of them,
with its default, and are the only places that do: :func:`token_count`,
:func:`token_grid`, :func:`embedding_width`, :func:`example_maker`,
:func:`token_drop_support`, :func:`tokenizer_of`, :func:`packs_target_blocks`, and, for the keywords a
call takes, :func:`accepted_keywords`, :func:`takes_mask` and
:func:`required_parameters`.

Inputs are batch-first. A *state* is a tensor or a mapping of the encoder's keyword
inputs (``{"x": x, "padding_mask": m}``); :func:`encode_state` calls an encoder on
either.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

if TYPE_CHECKING:  # annotations only: jepa-core's pytest plugin reads this module without loading torch
    import torch

    from jepa_core.masks import Masks

State: TypeAlias = "torch.Tensor | Mapping[str, Any]"


class Encoder(Protocol):
    """Maps a state to embeddings: pooled ``(B, embed_dim)`` or tokens
    ``(B, num_tokens, embed_dim)``.

    ``mask`` (masked training) is an ``int64`` ``(B, K)`` tensor of the indices of
    the tokens to keep; the encoder returns only those ``K`` tokens, and their
    encoding must not depend on the dropped tokens' inputs. Every encoder's forward
    takes ``mask`` as a keyword (one with no tokens may refuse a mask that is not
    None).

    Required: ``embed_dim`` (the width ``D``). Optional, each read by one function
    of this module:

    * ``num_tokens`` (default None; :func:`token_count`): how many tokens it returns.
      None for a pooled encoder or one whose token count follows its input (it cannot
      be used with a masker).
    * ``grid`` (default None; :func:`token_grid`): the tokens' layout, row-major
      (``(H, W)`` for an image's patches, ``(T, H, W)`` for video; None for a 1-D
      sequence, token ``i`` being step ``i``), which maskers draw blocks on.
    * ``supports_token_drop`` (default True) and ``token_drop_reason`` (default None;
      :func:`token_drop_support`): False when it cannot encode only the kept tokens
      of a mask, and why; a model that gives it a masker is refused.
    * ``example_input(batch_size)`` (:func:`example_maker`): a batch of example
      inputs, which the conformance suite feeds it and error messages show the
      shape of.
    * ``target`` as a keyword of forward: the engine passes ``target=True`` when
      it encodes the target branch (an encoder may give the target another output).
    """

    embed_dim: int
    num_tokens: int | None
    grid: tuple[int, ...] | None

    def forward(self, x: Any, mask: torch.Tensor | None = None) -> torch.Tensor: ...


class Predictor(Protocol):
    """Maps context embeddings ``(B, N, D)`` to predictions ``(B, T, D)`` for the ``T``
    target positions given as the keyword ``target_idx`` (or ``(B, D)`` to ``(B, D)``
    in paired mode). The keywords ``target_idx`` (masked training), ``context_idx``
    (the positions of the context tokens, given only with ``target_idx``) and
    ``action`` (:data:`PREDICTOR_KEYWORDS`) are passed only to a predictor whose
    forward takes them; any other parameter of its forward needs a default.

    Optional, each read by one function of this module:

    * ``embed_dim`` (default None; :func:`embedding_width`): the width of its
      predictions, which must be the encoder's.
    * ``packed`` (default False; :func:`packs_target_blocks`): True when its forward
      takes every target block at once (``target_idx`` a tuple of ``(B, T_k)``
      tensors) and returns their predictions concatenated in order; otherwise it
      is called once per block.
    """

    def forward(self, context: torch.Tensor, **keywords: Any) -> torch.Tensor: ...


class Masker(Protocol):
    """Draws context and target token indices for a batch: disjoint, in range, of equal
    length within the batch, and the same for the same ``generator`` seed.
    ``padding_mask`` ``(B, N)`` is passed only to a masker whose call takes it.
    ``num_tokens`` (:func:`token_count`) is the token count it draws for."""

    num_tokens: int

    def __call__(self, batch_size: int, generator: torch.Generator | None = None) -> Masks: ...


class Loss(Protocol):
    """Scores predictions against targets: a finite scalar (or a dict holding one
    under ``"loss"``, plus metrics) whose gradient reaches ``pred``. ``context`` (the
    context embeddings, for regularisers) is passed only to a loss whose call takes it."""

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor | dict[str, torch.Tensor]: ...


class Dataset(Protocol):
    """Has a length, and yields ``x``, ``(x, label)`` or a mapping of the encoder's
    keyword inputs (labels under ``"y"``, ``"label"`` or ``"labels"``)."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> Any: ...


#: The keywords the engine may pass to a predictor's forward, each only to one whose
#: forward takes it: ``context_idx`` and ``target_idx`` in masked training, ``action``
#: when the model is given one.
PREDICTOR_KEYWORDS = ("context_idx", "target_idx", "action")


# -- the optional attributes, each read here and nowhere else --------------------------------


def token_count(component: object) -> int | None:
    """An encoder's (or masker's) ``num_tokens``: how many tokens it returns (draws
    masks for). None, also when it has no such attribute: a pooled encoder, or one whose
    token count follows its input."""
    count: int | None = getattr(component, "num_tokens", None)
    return count


def token_grid(encoder: object) -> tuple[int, ...] | None:
    """An encoder's ``grid``, the row-major layout of its tokens (``(H, W)``,
    ``(T, H, W)``), as a tuple. None, also when it has no such attribute: a 1-D
    sequence, token ``i`` being step ``i``."""
    grid = getattr(encoder, "grid", None)
    return tuple(grid) if grid is not None else None


def embedding_width(part: object) -> Any:
    """A component's ``embed_dim``: the width of the embeddings an encoder returns or a
    predictor predicts. None when it does not say (required of an encoder, optional for
    a predictor). Returned as the component holds it; callers that size layers with it
    check that it is an integer."""
    return getattr(part, "embed_dim", None)


def example_maker(encoder: object) -> Callable[[int], Any] | None:
    """An encoder's ``example_input`` method (``example_input(batch_size)`` returns a
    batch of inputs it takes), or None when it has none (optional)."""
    make = getattr(encoder, "example_input", None)
    return make if callable(make) else None


def token_drop_support(encoder: object) -> tuple[bool, str | None]:
    """``(supports, reason)``: whether ``encoder`` can encode only the kept tokens of a
    mask (its ``supports_token_drop``, default True; only False means no), and its
    ``token_drop_reason`` (default None) when it cannot."""
    if getattr(encoder, "supports_token_drop", True) is not False:
        return True, None
    reason = getattr(encoder, "token_drop_reason", None)
    return False, str(reason) if reason else None


def tokenizer_of(component: object) -> Any:
    """An encoder's or a dataset's ``tokenizer``: what turns text into the token ids it
    takes or gives (optional, default None). When an encoder and its data both have one,
    the engine checks they give the same ids before training or probing: by the
    encoder's tokenizer's ``same_ids_as(other) -> bool`` when it has that method, else
    by their registered names and arguments."""
    return getattr(component, "tokenizer", None)


def packs_target_blocks(predictor: object) -> bool:
    """Whether a predictor's forward takes every target block in one call (its
    ``packed``, default False): ``target_idx`` is then the tuple of blocks."""
    return bool(getattr(predictor, "packed", False))


# -- the keywords a call takes -------------------------------------------------------------


def _callable_of(component: Any) -> Any:
    """What is called: a torch module's ``forward`` (calling a module runs it), the
    callable itself otherwise."""
    forward = getattr(component, "forward", None)
    if inspect.ismethod(forward) and forward.__name__ != "_forward_unimplemented":  # a module that defines forward
        return forward
    return component


def accepted_keywords(component: Any) -> set[str] | None:
    """The keyword names a call of ``component`` accepts (None: any, it takes
    ``**kwargs``): which of the contract's optional keywords (``mask``,
    ``target_idx``, ``context``, ``padding_mask``, ...) it is given. ``component`` is
    a function, or a component whose ``forward`` (a torch module's) or call is read."""
    try:
        parameters = inspect.signature(_callable_of(component)).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


#: What an encoder's forward that takes no ``mask`` is missing.
MASK_PARAMETER = "mask: torch.Tensor | None = None"


def takes_mask(encoder: object) -> bool:
    """Whether ``encoder``'s forward takes ``mask`` as a keyword, as every encoder's must
    (one that takes ``**kwargs`` counts as taking it)."""
    keywords = accepted_keywords(encoder)
    return keywords is None or "mask" in keywords


def required_parameters(component: Any) -> list[str]:
    """The parameters of ``component``'s call (as :func:`accepted_keywords` reads it)
    after the first, its input, that have no default: what every call must pass. Empty
    when the signature cannot be read."""
    try:
        parameters = list(inspect.signature(_callable_of(component)).parameters.values())
    except (TypeError, ValueError):
        return []
    named = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    return [p.name for p in named[1:] if p.default is p.empty]


def encode_state(encoder: Any, state: State, mask: torch.Tensor | None = None, **extra: Any) -> torch.Tensor:
    """``encoder`` applied to ``state``: a tensor as its input, a mapping as its keyword
    inputs; ``mask`` (when given) and ``extra`` are passed by keyword."""
    if mask is not None:
        extra["mask"] = mask
    if isinstance(state, Mapping):
        return encoder(**state, **extra)
    return encoder(state, **extra)


__all__ = [
    "MASK_PARAMETER",
    "PREDICTOR_KEYWORDS",
    "Dataset",
    "Encoder",
    "Loss",
    "Masker",
    "Predictor",
    "State",
    "accepted_keywords",
    "embedding_width",
    "encode_state",
    "example_maker",
    "packs_target_blocks",
    "required_parameters",
    "takes_mask",
    "token_count",
    "token_drop_support",
    "token_grid",
]
