"""Names our first-party plugin distributions provide, so that an unknown-name
error can say which distribution to ``pip install``.

Kept by hand: each plugin's tests check that every name it registers is listed
here under its distribution, and nothing more.
"""

from __future__ import annotations

import shlex

#: jepa-core: its distribution, and the import packages it ships (``src/jepa``, ``src/jepa_core``).
CORE_DISTRIBUTION = "jepa-core"
CORE_PACKAGES = ("jepa", "jepa_core")

_VISION = "jepa-plugins-vision"
_TEXT = "jepa-plugins-text"
_TIMESERIES = "jepa-plugins-timeseries"

FIRST_PARTY: dict[tuple[str, str], str] = {
    ("encoder", "cnn"): _VISION,
    ("encoder", "vit"): _VISION,
    ("encoder", "hf_vision"): _VISION,
    ("predictor", "vjepa2_predictor"): _VISION,
    ("masker", "multiblock"): _VISION,
    ("masker", "tube"): _VISION,
    ("dataset", "image_array"): _VISION,
    ("dataset", "image_folder"): _VISION,
    ("dataset", "digits"): _VISION,
    ("dataset", "moving_digits"): _VISION,
    ("dataset", "video_folder"): _VISION,
    ("tokenizer", "bytes"): _TEXT,
    ("tokenizer", "bpe"): _TEXT,
    ("encoder", "text_transformer"): _TEXT,
    ("encoder", "hf"): _TEXT,
    ("masker", "span"): _TEXT,
    ("dataset", "text_lines"): _TEXT,
    ("dataset", "jsonl"): _TEXT,
    ("encoder", "temporal"): _TIMESERIES,
    ("encoder", "tcn"): _TIMESERIES,
    ("encoder", "patch_transformer"): _TIMESERIES,
    ("masker", "time_block"): _TIMESERIES,
    ("masker", "forecast"): _TIMESERIES,
    ("dataset", "series_csv"): _TIMESERIES,
    ("dataset", "series_numpy"): _TIMESERIES,
    ("dataset", "ucr"): _TIMESERIES,
}

#: The plugin (entry point) name, which is also the scope, of each first-party distribution.
SCOPES: dict[str, str] = {"vision": _VISION, "text": _TEXT, "timeseries": _TIMESERIES}

#: Extras a first-party component cannot work without (its optional dependency).
EXTRAS: dict[tuple[str, str], str] = {
    ("dataset", "digits"): "digits",
    ("dataset", "moving_digits"): "digits",
    ("dataset", "video_folder"): "video",
    ("tokenizer", "bpe"): "bpe",
    ("encoder", "hf"): "hf",
}

#: The starter configs (``jepa init NAME``) of first-party plugins: distribution and
#: the extras its recipe needs (the ``# Needs:`` line of the template).
STARTERS: dict[str, tuple[str, str]] = {
    "vision": (_VISION, "digits"),
    "video": (_VISION, "digits"),
    "text": (_TEXT, ""),
    "timeseries": (_TIMESERIES, "aeon,eval"),
}


def install_command(distribution: str, extras: str = "") -> str:
    """The one form every install hint (and the plugins' READMEs) uses:
    ``pip install jepa-plugins-text``, ``pip install 'jepa-plugins-vision[digits]'``
    (quoted, so that shells such as zsh do not read the brackets as a pattern)."""
    return f"pip install '{distribution}[{extras}]'" if extras else f"pip install {distribution}"


def reinstall_command(distribution: str, installed_from: str | None) -> str:
    """The command that installs ``distribution`` as it was installed where a model was
    saved: from ``installed_from`` (a folder, ``-e FOLDER``, ``git+URL@COMMIT`` or an
    archive's URL; see :func:`jepa_core.discovery.installed_from`) when it did not come
    from a package index, else by name."""
    if not installed_from:
        return install_command(distribution)
    if installed_from.startswith("-e "):
        return f"pip install -e {shlex.quote(installed_from[3:])}"
    return f"pip install {shlex.quote(installed_from)}"


# Each first-party plugin (entry point) name belongs to its distribution alone, whether
# or not it is installed, so another distribution can never load under it (and a saved
# ``vision:cnn`` always means ours).
FIRST_PARTY_SCOPES = SCOPES


#: The import packages of jepa's own distributions, each with its distribution (a
#: first-party plugin's is its distribution name with underscores): a package of the
#: same name elsewhere would shadow ours (``import jepa`` loading it instead).
PACKAGES: dict[str, str] = {
    **dict.fromkeys(CORE_PACKAGES, CORE_DISTRIBUTION),
    **{distribution.replace("-", "_"): distribution for distribution in FIRST_PARTY_SCOPES.values()},
}
