"""Helpers for components that wrap a Hugging Face ``transformers`` model.

A plugin whose encoder or predictor wraps a ``transformers`` model uses them so that
it behaves as the first-party ones do (``transformers`` itself stays the plugin's
own dependency, typically in an ``[hf]`` extra):

* :func:`import_transformers`: the module, or an ImportError naming what to install;
* :func:`load_model`: an ``AutoModel`` from a checkpoint or from a config dict, never
  running code outside ``transformers`` unless the spec sets ``trust_remote_code``
  (:func:`refuse_remote_code` is that check alone);
* :func:`saved_config`: the model's config as plain values, for the component's
  ``architecture_params()``, so that a saved model rebuilds without the checkpoint;
* :func:`quiet_loading`: no progress bars while loading.
"""

from jepa_core.hf import import_transformers, load_model, quiet_loading, refuse_remote_code, saved_config

__all__ = ["import_transformers", "load_model", "quiet_loading", "refuse_remote_code", "saved_config"]
