"""The ``jepa.plugins`` entry point of jepa-plugins-timeseries: registers its components."""

from __future__ import annotations

from importlib.resources import files

import jepa

from jepa_plugins_timeseries import datasets, encoders, maskers

# the plugin API versions this plugin was written for (checked when jepa loads it)
JEPA_PLUGIN_API = ">=1,<2"


@jepa.hookimpl
def jepa_register(registry) -> None:
    registry.add("encoder", "temporal", encoders.TemporalEncoder)
    registry.add("encoder", "tcn", encoders.TCNEncoder)
    registry.add("encoder", "patch_transformer", encoders.PatchTransformerEncoder)
    registry.add("masker", "time_block", maskers.TimeBlockMasker)
    registry.add("masker", "forecast", maskers.ForecastMasker)
    registry.add("dataset", "series_csv", datasets.series_csv)
    registry.add("dataset", "series_numpy", datasets.series_numpy)
    registry.add("dataset", "ucr", datasets.ucr)
    template = files("jepa_plugins_timeseries").joinpath("templates/timeseries.yaml").read_text()
    registry.add_template("timeseries", template)
