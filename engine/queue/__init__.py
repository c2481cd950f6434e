"""Storage: the durable job queue, the run log and the sync state behind one contract."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
