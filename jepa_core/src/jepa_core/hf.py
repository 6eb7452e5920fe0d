"""Loading ``transformers`` models safely, for components that wrap one.

A component that wraps a Hugging Face model (the text plugin's ``hf`` encoder, the
vision plugin's ``hf_vision``) needs the same four things: import ``transformers``
with an error that names the extra to install, build the model from a config dict
(random weights) or a checkpoint, never run code that is not part of
``transformers`` unless the spec trusts it, and give its config as plain values so
that a saved model rebuilds without the checkpoint's directory.

``transformers`` is never imported here at module level: the core does not depend on it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any


def import_transformers(install_hint: str) -> Any:
    """The ``transformers`` module, or an ImportError whose message is ``install_hint``
    (e.g. ``"pretrained backbones need transformers: pip install 'my-plugin[hf]'"``)."""
    try:
        import transformers
    except ImportError as exc:
        raise ImportError(install_hint) from exc
    return transformers


@contextlib.contextmanager
def quiet_loading(transformers: Any) -> Iterator[None]:
    """No progress bars from transformers while loading: they would land in the output
    of ``jepa train`` / ``jepa eval`` and in logs."""
    utils = transformers.utils.logging
    enabled = utils.is_progress_bar_enabled()
    utils.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            utils.enable_progress_bar()


def refuse_remote_code(transformers: Any, path: str, trust_remote_code: bool, local_files_only: bool = False) -> None:
    """Raise a ValueError naming ``path`` and the spec field to set when the model
    there needs code that is not part of transformers and the spec does not trust it.

    Reading ``config.json`` runs no code. Without this check transformers asks on
    stdin, which would hang a training job or let a piped ``y`` run the code.
    """
    if trust_remote_code:
        return
    settings, _ = transformers.PretrainedConfig.get_config_dict(path, local_files_only=local_files_only)
    model_type = settings.get("model_type")
    if settings.get("auto_map") and model_type not in transformers.CONFIG_MAPPING:
        raise ValueError(
            f"{path!r} holds a model whose code is not part of transformers (its config.json has an "
            f"auto_map for model_type {model_type!r}); jepa runs no remote code unless the spec sets "
            "trust_remote_code: true: read that code first, it runs with your permissions"
        )


def load_model(
    transformers: Any,
    *,
    path: str | None,
    config: Mapping[str, Any] | None,
    load_weights: bool = True,
    trust_remote_code: bool = False,
    local_files_only: bool = False,
    example_type: str = "bert",
    **options: Any,
) -> Any:
    """An ``AutoModel`` from ``path`` (a checkpoint: its weights when ``load_weights``,
    else only its architecture with random weights) or from ``config`` (a dict with
    ``model_type``, random weights); exactly one of the two.

    ``trust_remote_code`` is always passed on (left unset, transformers asks on stdin)
    and checked first with :func:`refuse_remote_code`. ``options`` go to the model's
    constructor (e.g. ``dtype=torch.float32``); ``example_type`` is the model type the
    error for a config without one suggests.
    """
    if (config is None) == (path is None):
        raise ValueError("give exactly one of path (a checkpoint) or config (a dict with model_type)")
    remote = {"trust_remote_code": trust_remote_code}
    with quiet_loading(transformers):
        if config is not None:
            settings = dict(config)
            model_type = settings.pop("model_type", None)
            if not model_type:
                raise ValueError(f"config needs a 'model_type' (e.g. {example_type!r})")
            hf_config = transformers.AutoConfig.for_model(model_type, **settings)
        else:
            assert path is not None  # exactly one of the two, checked above
            refuse_remote_code(transformers, path, trust_remote_code, local_files_only)
            if load_weights:
                return transformers.AutoModel.from_pretrained(
                    path, local_files_only=local_files_only, **remote, **options
                )
            hf_config = transformers.AutoConfig.from_pretrained(path, local_files_only=local_files_only, **remote)
        return transformers.AutoModel.from_config(hf_config, **remote, **options)


def saved_config(transformers: Any, hf_config: Any) -> dict[str, Any] | None:
    """The model's whole config as JSON values, to rebuild it without its directory;
    None when its code is not part of transformers (the directory stays needed).

    Every field, not only those that differ from the defaults, so that a later
    transformers with other defaults rebuilds the same network.
    """
    if hf_config.model_type not in transformers.CONFIG_MAPPING:
        return None
    settings = json.loads(hf_config.to_json_string(use_diff=False))
    for key in ("_name_or_path", "dtype", "torch_dtype"):  # where it was read from, not what it is
        settings.pop(key, None)
    return settings


__all__ = ["import_transformers", "load_model", "quiet_loading", "refuse_remote_code", "saved_config"]
