"""JMESPath expressions: compile once at spec load, evaluate many times; extra functions and
match normalizers."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
