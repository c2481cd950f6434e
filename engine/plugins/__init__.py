"""Plugins: the hook specifications, the plugin manager factory and fieldline's own built-ins."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
