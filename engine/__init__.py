"""fieldline: keep a CRM in step with the systems around it, declared once in a mapping spec."""

from fieldline.errors import FieldlineError
from fieldline.plugins.hookspecs import hookimpl

__all__ = ["FieldlineError", "__version__", "hookimpl"]

__version__ = "0.1.0"
