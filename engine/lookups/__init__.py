"""Lookups: answer "the CRM's view of this account" from a spec's named lookups, with caller
credentials, a TTL cache and call statistics (served by ``fieldline serve`` and ``fieldline lookup``)."""

from fieldline.exports import lazy_package

__getattr__, __dir__ = lazy_package(__name__, __file__)
