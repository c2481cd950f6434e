"""The mapping spec: load YAML/JSON with positions, the typed model, its JSON Schema, checks,
hints and located problems."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
