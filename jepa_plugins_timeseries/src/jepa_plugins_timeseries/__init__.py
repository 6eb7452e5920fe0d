"""Time-series components for jepa.

Registered through the ``jepa.plugins`` entry point (scope ``timeseries``):

* encoders ``temporal`` (GRU/LSTM), ``tcn`` (dilated convolutions) and
  ``patch_transformer`` (PatchTST-style patches as tokens);
* maskers ``time_block`` (contiguous time blocks as targets) and ``forecast``
  (past -> future);
* datasets ``series_csv``, ``series_numpy`` and ``ucr`` (UCR/UEA ``.ts`` files or the
  UCR archive 2018's ``.tsv``, by default the ``.ts`` files shipped inside aeon).

Series are batch-first ``(B, T, C)``; NaN marks a missing value or padding, and the
encoders mask it out explicitly.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version

from jepa_plugins_timeseries.datasets import SeriesDataset, series_csv, series_numpy, ucr
from jepa_plugins_timeseries.encoders import PatchTransformerEncoder, TCNEncoder, TemporalEncoder
from jepa_plugins_timeseries.maskers import ForecastMasker, TimeBlockMasker
from jepa_plugins_timeseries.ts_format import TSData, TSFormatError, parse_ts, parse_ucr_tsv, read_ts, read_ucr_tsv

try:  # one version source: the distribution's metadata (pyproject.toml)
    __version__ = _distribution_version("jepa-plugins-timeseries")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = [
    "ForecastMasker",
    "PatchTransformerEncoder",
    "SeriesDataset",
    "TCNEncoder",
    "TSData",
    "TSFormatError",
    "TemporalEncoder",
    "TimeBlockMasker",
    "__version__",
    "parse_ts",
    "parse_ucr_tsv",
    "read_ts",
    "read_ucr_tsv",
    "series_csv",
    "series_numpy",
    "ucr",
]
