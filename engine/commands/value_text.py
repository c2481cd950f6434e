"""Values and actions as ``plan`` prints them, with no rich: the JSON Lines and plain-text paths,
the rich tables and the console use it."""

from __future__ import annotations

import json
import re
from typing import Any

from fieldline.planning.intents import Ref
from fieldline.planning.plans import Action
from fieldline.values import MISSING

__all__ = ["ACTION_STYLES", "format_value"]

# each action's (rich) style where plans are printed in colour
ACTION_STYLES = {
    Action.CREATE: "bold green",
    Action.UPDATE: "bold yellow",
    Action.NOOP: "dim",
    Action.SKIP: "cyan",
    Action.ERROR: "bold red",
    Action.INVALID: "bold magenta",
}


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
