"""Conformance suite for jepa plugins; see :mod:`jepa_core.testing`.

The pytest hooks live in ``jepa_core.testing`` (jepa-core's ``pytest11`` entry
point), which imports nothing heavy, so having jepa-core installed costs other
projects' test runs nothing.
"""

from jepa_core.testing import ConformanceSuite, conformance_suite

__all__ = ["ConformanceSuite", "conformance_suite"]
