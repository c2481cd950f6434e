""" "Did you mean ...?" hints: the closest known name to a misspelt one."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean", "one_of"]


def closest(name: str, candidates: Iterable[str], *, ignore_case: bool = True) -> str | None:
    """The candidate most like ``name`` (compared case-insensitively by default), or ``None``."""
    pool = sorted(set(candidates))
    if not pool:
        return None
    if ignore_case:
        by_folded: dict[str, str] = {}
        for candidate in pool:
            by_folded.setdefault(candidate.casefold(), candidate)
        if name.casefold() in by_folded:
            return by_folded[name.casefold()]
        matches = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
        return by_folded[matches[0]] if matches else None
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, candidates: Iterable[str], *, ignore_case: bool = True) -> str | None:
    """``"did you mean 'lower'?"`` for the closest candidate, or ``None`` when none is close."""
    match = closest(name, candidates, ignore_case=ignore_case)
    return None if match is None or match == name else f"did you mean {match!r}?"


def one_of(candidates: Iterable[str], *, limit: int = 12) -> str:
    """``"'a', 'b' or 'c'"`` (shortened after ``limit`` names)."""
    names = [repr(candidate) for candidate in candidates]
    if not names:
        return "none"
    if len(names) > limit:
        return ", ".join(names[:limit]) + f" (and {len(names) - limit} more)"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " or " + names[-1]
