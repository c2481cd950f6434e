"""The mapping spec: load YAML/JSON with positions, the typed model, its JSON Schema, checks,
hints and located problems."""

from fieldline.exports import lazy_package

__all__, __getattr__ = lazy_package(__name__, __file__)
