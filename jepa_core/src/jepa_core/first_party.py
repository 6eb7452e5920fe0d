"""Names our first-party plugin distributions provide, so that an unknown-name
error can say which distribution to ``pip install``.

Kept by hand: each plugin's tests check that every name it registers is listed
here under its distribution, and nothing more.
"""

from __future__ import annotations

import json
import shlex
from importlib.metadata import Distribution, PackageNotFoundError, distribution
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

#: The entry-point group plugins declare themselves in (``[project.entry-points."jepa.plugins"]``).
ENTRY_POINT_GROUP = "jepa.plugins"

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
    ("tokenizer", "hf_tokenizer"): _TEXT,
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
    ("tokenizer", "hf_tokenizer"): "bpe",
    ("encoder", "hf"): "hf",
    ("encoder", "hf_vision"): "hf",
}

#: The starter configs (``jepa init NAME``) of first-party plugins: distribution and
#: the extras its recipe needs (the ``# Needs:`` line of the template).
STARTERS: dict[str, tuple[str, str]] = {
    "vision": (_VISION, "digits"),
    "vision-vit": (_VISION, "digits"),
    "video": (_VISION, "digits"),
    "text": (_TEXT, ""),
    "timeseries": (_TIMESERIES, "aeon,eval"),
}


def install_command(distribution: str, extras: str = "") -> str:
    """The pip command that installs ``distribution`` with ``extras``, in the one form every
    install hint uses: ``pip install jepa-plugins-text``, ``pip install
    'jepa-plugins-vision[digits]'`` (quoted, so that shells such as zsh do not read the
    brackets as a pattern). A distribution installed from a local folder (a checkout, as
    on no package index) is named by that folder, ``pip install -e '/src/plugin[video]'``,
    and so is one not installed whose folder sits beside jepa-core's checkout: the name
    alone would not install either."""
    folder = _local_folder(distribution) or _sibling_folder(distribution, _local_folder(CORE_DISTRIBUTION))
    if folder is not None:
        path, editable = folder
        return f"pip install {'-e ' if editable else ''}{shlex.quote(f'{path}[{extras}]' if extras else path)}"
    return index_install_command(distribution, extras)


def index_install_command(distribution: str, extras: str = "") -> str:
    """The command by name, from a package index (the form the READMEs and the starters'
    ``# Needs:`` lines use)."""
    return f"pip install '{distribution}[{extras}]'" if extras else f"pip install {distribution}"


def installed_from(distribution: Distribution) -> str | None:
    """``pip install``'s argument that installs ``distribution`` again, when it was not
    installed from a package index, read from PEP 610's ``direct_url.json``: the local
    folder (``-e FOLDER`` when editable), ``git+URL@COMMIT``, or the archive's URL. A
    plugin author's own distribution is often on no index, so its bare name would not
    install it elsewhere."""
    try:
        recorded = json.loads(distribution.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("url"), str):
        return None
    url: str = recorded["url"]
    if isinstance(recorded.get("dir_info"), dict):
        folder = url2pathname(urlparse(url).path) if url.startswith("file:") else url
        return f"-e {folder}" if recorded["dir_info"].get("editable") else folder
    vcs = recorded.get("vcs_info")
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id")
        return f"{vcs.get('vcs', 'git')}+{url}" + (f"@{commit}" if commit else "")
    return url


def _local_folder(name: str) -> tuple[str, bool] | None:
    """``(folder, editable)`` of an installed distribution that came from a local folder."""
    try:
        return _as_folder(installed_from(distribution(name)))
    except PackageNotFoundError:
        return None


def _as_folder(source: str | None) -> tuple[str, bool] | None:
    """``(folder, editable)`` when an :func:`installed_from` source is a local folder
    (not a URL, a VCS link or an index)."""
    if source is None or "://" in source or source.startswith(("git+", "hg+", "svn+", "bzr+")):
        return None
    editable = source.startswith("-e ")
    return (source[3:] if editable else source), editable


def _sibling_folder(name: str, core: tuple[str, bool] | None) -> tuple[str, bool] | None:
    """The folder of distribution ``name`` beside jepa-core's local folder ``core`` (our
    repository's layout: ``jepa_core/``, ``jepa_plugins_vision/``, ...), when it is
    there and its ``pyproject.toml`` names it; editable when jepa-core is."""
    if core is None or name == CORE_DISTRIBUTION:
        return None
    folder = Path(core[0]).parent / name.replace("-", "_")
    try:
        declared = (folder / "pyproject.toml").read_text()
    except OSError:
        return None
    return (str(folder), core[1]) if f'name = "{name}"' in declared else None


def reinstall_command(distribution: str, installed_from: str | None, extras: str = "") -> str:
    """The command that installs ``distribution`` (with ``extras``) as it was installed
    where a model was saved: from ``installed_from`` (a folder, ``-e FOLDER``,
    ``git+URL@COMMIT`` or an archive's URL; see :func:`installed_from`) when it did not
    come from a package index, else by name."""
    if not installed_from:
        return install_command(distribution, extras)
    folder = _as_folder(installed_from)
    if folder is None:  # a URL: pip takes extras only in the `name[extras] @ URL` form
        target = f"{distribution}[{extras}] @ {installed_from}" if extras else installed_from
        return f"pip install {shlex.quote(target)}"
    path, editable = folder
    if not Path(path).is_dir():  # moved or deleted since: that command cannot work
        return f"{install_command(distribution, extras)} (it was installed from {path}, which is not here)"
    return f"pip install {'-e ' if editable else ''}{shlex.quote(f'{path}[{extras}]' if extras else path)}"


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
