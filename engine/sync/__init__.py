"""Running a spec: build its adapters, then batch documents through source -> plan -> target."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
