"""Collect located problems while walking one spec document.

The validators (JSON Schema translation, semantic checks, the check against a target) all
report the same way: a path into the document, what is wrong and what to do. The collector
finds the line and column of the path and builds the :class:`~fieldline.errors.Problem`.
"""

from __future__ import annotations

from fieldline.errors import Problem, Severity
from fieldline.spec.positions import PathKey, PositionIndex, format_path

__all__ = ["ProblemCollector"]


class ProblemCollector:
    """The problems found so far in one document, each located through ``positions``.

    ``code`` is what this validator's problems are called unless a report says otherwise
    (``schema``, ``invalid``, ``target``, ...).
    """

    def __init__(self, positions: PositionIndex, *, file: str | None, code: str) -> None:
        self.positions = positions
        self.file = file
        self.code = code
        self.problems: list[Problem] = []

    def report(
        self,
        path: PathKey,
        message: str,
        *,
        hint: str | None = None,
        at_key: bool = False,
        code: str | None = None,
        severity: Severity = Severity.ERROR,
        position: tuple[int | None, int | None] | None = None,
    ) -> None:
        """Record a problem at ``path`` (at its key when ``at_key``; ``position`` overrides
        both, e.g. a character inside an expression)."""
        line, col = position if position is not None else self.positions.locate(path, at_key=at_key)
        self.problems.append(
            Problem(
                message=message,
                file=self.file,
                line=line,
                col=col,
                json_path=format_path(path),
                hint=hint,
                code=code or self.code,
                severity=severity,
            )
        )
