"""fieldline: keep a CRM in step with the systems around it, declared once in a mapping spec."""

import importlib.metadata

from fieldline.errors import FieldlineError
from fieldline.plugins.hookspecs import hookimpl

__all__ = ["FieldlineError", "__version__", "hookimpl"]

try:
    __version__ = importlib.metadata.version("fieldline")
except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
