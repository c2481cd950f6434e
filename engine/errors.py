"""Every error fieldline raises on purpose.

One root, branches by phase and by what the caller can do about it::

    FieldlineError
    ├── ConfigError                 settings, credentials, command-line usage
    ├── SpecError                   the mapping spec is wrong (located; may hold many problems)
    │   └── ExpressionError         a JMESPath expression does not compile or names an unknown function
    ├── EvaluationError             an expression failed on one source document (record key known)
    ├── PlanError                   the planner cannot decide for one record (e.g. several matches)
    ├── AdapterError                talking to a source or target went wrong
    │   ├── TransientAdapterError   retry later (timeouts, 5xx, lock errors, Retry-After)
    │   └── FatalAdapterError       retrying will not help (auth, permissions, bad request)
    │       └── BudgetExhaustedError  the API budget or the org's daily limit is used up
    ├── WebhookError                an incoming webhook was refused (auth or payload)
    └── QueueError                  the durable queue could not store or hand out a job

Context is keyword-only and structured so that text and JSON output come from the same data.
Third-party exceptions are translated once, at the boundary, and chained with ``raise ... from``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldline.contracts import Stop, StopReason

__all__ = [
    "AdapterError",
    "BudgetExhaustedError",
    "ConfigError",
    "EvaluationError",
    "ExpressionError",
    "FatalAdapterError",
    "FieldlineError",
    "PlanError",
    "Problem",
    "QueueError",
    "Severity",
    "SpecError",
    "TransientAdapterError",
    "WebhookError",
]


class Severity(enum.StrEnum):
    """How bad a :class:`Problem` is: an error makes the spec invalid, a warning does not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One located problem in a spec (or other user input).

    ``line`` and ``col`` are 1-based, as editors show them. ``json_path`` is the dotted path
    inside the document (``records[1].fields.Status__c``).
    """

    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    json_path: str = ""
    hint: str | None = None
    code: str = "invalid"
    severity: Severity = Severity.ERROR

    @property
    def where(self) -> str:
        parts = [self.file or "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.where}: "
        if self.json_path:
            text += f"{self.json_path}: "
        text += self.message
        if self.hint:
            text += f" ({self.hint})"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "json_path": self.json_path,
            "message": self.message,
            "hint": self.hint,
            "code": self.code,
            "severity": self.severity.value,
        }


class FieldlineError(Exception):
    """Root of every error fieldline raises on purpose.

    ``hint`` says what to do about it; ``context`` holds structured details (record key,
    object, HTTP status, ...) for logs and machine-readable output. Secrets never go here.
    """

    def __init__(self, message: str, *, hint: str | None = None, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context: dict[str, Any] = context

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class ConfigError(FieldlineError):
    """Settings, credentials or command-line usage are wrong."""


class SpecError(FieldlineError):
    """The mapping spec is invalid. Holds every problem found, each located."""

    def __init__(
        self,
        message: str,
        *,
        problems: Sequence[Problem] = (),
        hint: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, **context)
        self.problems: tuple[Problem, ...] = tuple(problems)

    def __str__(self) -> str:
        if not self.problems:
            return super().__str__()
        return "\n".join(str(problem) for problem in self.problems)


class ExpressionError(SpecError):
    """A JMESPath expression does not compile or uses an unknown function.

    ``position`` is the 0-based character offset of the problem inside the expression.
    """

    def __init__(
        self,
        message: str,
        *,
        expression: str,
        position: int | None = None,
        hint: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, expression=expression, **context)
        self.expression = expression
        self.position = position


class EvaluationError(FieldlineError):
    """An expression failed on one source document (e.g. a function got the wrong type)."""


class PlanError(FieldlineError):
    """The planner cannot decide what to do with one record."""


class AdapterError(FieldlineError):
    """A source or target adapter failed to talk to its system."""

    retriable: bool = False


class TransientAdapterError(AdapterError):
    """Worth retrying later. ``retry_after`` is the server's advice in seconds, if any."""

    retriable = True

    def __init__(
        self, message: str, *, retry_after: float | None = None, hint: str | None = None, **context: Any
    ) -> None:
        super().__init__(message, hint=hint, **context)
        self.retry_after = retry_after


class FatalAdapterError(AdapterError):
    """Retrying will not help: fix credentials, permissions, or the data."""


class BudgetExhaustedError(FatalAdapterError):
    """The run's API budget or the org's daily API limit is used up: a pause, not a failure.

    Raised inside adapters, and from calls that return no outcomes (``describe``, ``lookup``,
    a source's ``fetch``); ``apply`` and the runner return it as a :class:`~fieldline.contracts.Stop`
    (:meth:`as_stop`) with the results so far. ``reason`` says which limit.
    """

    def __init__(
        self,
        message: str,
        *,
        reason: StopReason = StopReason.BUDGET,
        retry_after: float | None = None,
        hint: str | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, **context)
        self.reason = reason
        self.retry_after = retry_after

    def as_stop(self) -> Stop:
        """The stop value a run reports instead of raising."""
        return Stop(reason=self.reason, message=str(self), retry_after=self.retry_after)


class WebhookError(FieldlineError):
    """An incoming webhook request was refused. ``status`` is the HTTP status to answer.

    ``headers`` go into the answer (e.g. ``WWW-Authenticate`` on a 401); ``details`` are extra
    JSON members of the answer's body beside ``error`` (e.g. every schema error of a 422).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        hint: str | None = None,
        headers: Mapping[str, str] | None = None,
        details: Mapping[str, Any] | None = None,
        **context: Any,
    ) -> None:
        super().__init__(message, hint=hint, status=status, **context)
        self.status = status
        self.headers: dict[str, str] = dict(headers or {})
        self.details: dict[str, Any] = dict(details or {})


class QueueError(FieldlineError):
    """The durable queue could not store, hand out or settle a job."""
