"""Keep looked-up values out of other libraries' log lines.

The value is in the request path (uvicorn's access log) and in the SOQL of the outbound query
(urllib3's debug log of each URL): both are rewritten before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["install_log_filters"]

_LOOKUP_PATH = re.compile(r"(/lookup/[^/\s]+/)\S*")
_QUERY_TEXT = re.compile(r"([?&]q=)[^&\s\"]*")
_LOGGERS = ("uvicorn.access", "urllib3.connectionpool")


class _RedactLookupValues(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _redacted(record.msg)
        return True


def _redacted(text: str) -> str:
    return _QUERY_TEXT.sub(r"\1<query>", _LOOKUP_PATH.sub(r"\1<value>", text))


_FILTER = _RedactLookupValues()


def install_log_filters() -> None:
    """Add the filter to the loggers that would print values (once, however often called)."""
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
