"""Implementation package of jepa-core. The public face is :mod:`jepa`."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jepa-core")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
