"""The operator's console: server-rendered pages over the queue, the run log, dead letters and
lookups, behind the operator token (served at ``/ui`` by ``fieldline serve`` and by
``fieldline console``)."""

from fieldline.exports import lazy_package

__all__, __getattr__ = lazy_package(__name__, __file__)
