"""Values as ``plan`` prints them, with no rich: the JSON Lines and plain-text paths use it."""

from __future__ import annotations

import json
import re
from typing import Any

from fieldline.planning.intents import Ref
from fieldline.values import MISSING

__all__ = ["format_value"]


def format_value(value: Any, *, limit: int = 60) -> str:
    """A short, unambiguous rendering: ``MISSING`` and null and ``""`` all look different."""
    if value is MISSING:
        return "(missing)"
    if isinstance(value, Ref):
        return str(value)
    if value is None:
        return "null"
    if value.__class__ is str and _PLAIN.fullmatch(value):
        text = f'"{value}"'  # what json.dumps gives, without its cost (a plan prints millions)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# text json.dumps writes as it is: no quote, backslash or control character
_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\x9f\u2028\u2029]*')
