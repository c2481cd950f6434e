"""Match normalizers: applied to both sides of a match rule before comparing.

Each takes one value and returns the key to compare, or ``None`` when the value cannot be a key
(``None``, ``""``, a list, an e-mail address without exactly one ``@``, ...): ``None`` never
matches. Because both the source value and the target field go through the same normalizer,
every normalizer is idempotent: ``n(n(x)) == n(x)`` (property-tested).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "BUILTIN_NORMALIZERS",
    "collapse_whitespace",
    "digits",
    "email",
    "lower",
    "root_domain",
    "trim",
    "upper",
]

_NOT_DIGITS = re.compile(r"[^0-9]")


def _scalar_key(value: Any) -> Any:
    """Numbers stay keys as they are; booleans, containers, null, NaN and infinities never are."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    return None


def lower(value: Any) -> Any:
    """Lower-case a string (``None`` for blank strings); numbers unchanged."""
    if isinstance(value, str):
        return value.lower() if value.strip() else None
    return _scalar_key(value)


def upper(value: Any) -> Any:
    """Upper-case a string (``None`` for blank strings); numbers unchanged."""
    if isinstance(value, str):
        return value.upper() if value.strip() else None
    return _scalar_key(value)


def trim(value: Any) -> Any:
    """Strip surrounding white space (``None`` if nothing is left); numbers unchanged."""
    if isinstance(value, str):
        return value.strip() or None
    return _scalar_key(value)


def collapse_whitespace(value: Any) -> Any:
    """Strip, and turn every run of white space inside into one space; numbers unchanged."""
    if isinstance(value, str):
        return " ".join(value.split()) or None
    return _scalar_key(value)


def email(value: Any) -> str | None:
    """Trim and lower-case an e-mail address; ``None`` unless it is ``local@domain``.

    Exactly one ``@``, with something on both sides and no white space inside.
    """
    if not isinstance(value, str):
        return None
    address = value.strip().lower()
    local, at, domain = address.partition("@")
    if not at or not local or not domain or "@" in domain or any(ch.isspace() for ch in address):
        return None
    return address


def digits(value: Any) -> str | None:
    """A phone number's digits, keeping a leading ``+``: ``+1 (555) 010-9999`` -> ``+15550109999``."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    kept = _NOT_DIGITS.sub("", text)
    if not kept:
        return None
    return "+" + kept if text.startswith("+") else kept


@functools.cache
def _extractor() -> Callable[[str], Any]:
    # Built once, lazily (loading the public suffix list takes ~25 ms) and offline: the bundled
    # snapshot, no network, no disk cache.
    import tldextract

    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@functools.lru_cache(maxsize=16384)
def _registered_domain(text: str) -> str | None:
    domain = _extractor()(text).top_domain_under_public_suffix
    domain = _unicode_labels(domain.lower().rstrip("."))
    return domain or None


def _unicode_labels(domain: str) -> str:
    """``xn--bcher-kva.de`` -> ``bücher.de``: one form for both spellings of an IDN domain."""
    if "xn--" not in domain:
        return domain
    return ".".join(_unicode_label(label) for label in domain.split("."))


def _unicode_label(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna").lower()
    except (UnicodeError, ValueError):
        return label  # not valid punycode: keep it as written


def root_domain(value: Any) -> str | None:
    """The registered domain of a URL, e-mail address or host name, lower-cased.

    ``https://www.test.com/app`` -> ``test.com``; ``jane@Mail.Example.co.uk`` ->
    ``example.co.uk``. ``None`` for blanks, IP addresses, ``localhost`` and bare suffixes.
    Internationalized domains come out in Unicode whichever way they were written
    (``xn--bcher-kva.de`` and ``Bücher.de`` are both ``bücher.de``).
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    return _registered_domain(text)


BUILTIN_NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    "lower": lower,
    "upper": upper,
    "trim": trim,
    "email": email,
    "root_domain": root_domain,
    "digits": digits,
    "collapse_whitespace": collapse_whitespace,
}
