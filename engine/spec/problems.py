"""Show located problems to people and machines: rich text, JSON, GitHub workflow annotations.

All three formats come from the same :class:`~fieldline.errors.Problem` values, so what a person
reads in a terminal and what CI or an editor parses never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypedDict

from rich.console import Console
from rich.text import Text

from fieldline.errors import Problem, Severity

__all__ = ["Summary", "format_github", "format_json", "print_text", "sort_problems", "summarize"]


class Summary(TypedDict):
    """Counts over one validation run (the ``summary`` of the JSON format)."""

    files: int
    errors: int
    warnings: int
    valid: bool


def sort_problems(problems: Sequence[Problem]) -> list[Problem]:
    """By file, then position, then message: the order editors and reviewers expect."""
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.col or 0, p.message))


def summarize(problems: Sequence[Problem], *, files: int) -> Summary:
    """How many files were checked and how many errors and warnings were found."""
    errors = sum(1 for problem in problems if problem.severity is Severity.ERROR)
    warnings = sum(1 for problem in problems if problem.severity is not Severity.ERROR)
    return Summary(files=files, errors=errors, warnings=warnings, valid=errors == 0)


def print_text(problems: Sequence[Problem], *, files: int, console: Console) -> None:
    """One block per problem (``file:line:col: severity: path: message`` + hint), then a summary."""
    for problem in sort_problems(problems):
        line = Text()
        line.append(problem.where, style="bold")
        line.append(": ")
        if problem.severity is Severity.ERROR:
            line.append("error", style="bold red")
        else:
            line.append(problem.severity, style="bold yellow")
        line.append(": ")
        if problem.json_path:
            line.append(problem.json_path, style="cyan")
            line.append(": ")
        line.append(problem.message)
        console.print(line, soft_wrap=True)
        if problem.hint:
            console.print(Text.assemble("  hint: ", (problem.hint, "green")), soft_wrap=True)
    summary = summarize(problems, files=files)
    console.print(_summary_text(summary), soft_wrap=True)


def _summary_text(summary: Summary) -> Text:
    files = f"{summary['files']} file{'s' if summary['files'] != 1 else ''}"
    if summary["errors"] == 0 and summary["warnings"] == 0:
        return Text(f"{files} checked: no problems", style="bold green")
    parts = [_count(summary["errors"], "error"), _count(summary["warnings"], "warning")]
    style = "bold red" if summary["errors"] else "bold yellow"
    return Text(f"{files} checked: {', '.join(parts)}", style=style)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'s' if number != 1 else ''}"


def format_json(problems: Sequence[Problem], *, files: int) -> str:
    """``{"problems": [Problem.as_dict(), ...], "summary": {...}}`` as indented JSON."""
    document: dict[str, Any] = {
        "problems": [problem.as_dict() for problem in sort_problems(problems)],
        "summary": summarize(problems, files=files),
    }
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def format_github(problems: Sequence[Problem]) -> str:
    """GitHub Actions workflow commands: ``::error file=..,line=..,col=..,title=..::message``.

    Warnings become ``::warning``. Values are escaped as the runner expects (``%``, line breaks,
    and in properties ``:`` and ``,``).
    """
    lines = []
    for problem in sort_problems(problems):
        command = problem.severity.value
        properties = []
        if problem.file:
            properties.append(f"file={_escape_property(problem.file)}")
        if problem.line is not None:
            properties.append(f"line={problem.line}")
            if problem.col is not None:
                properties.append(f"col={problem.col}")
        title = f"fieldline {problem.code}" + (f": {problem.json_path}" if problem.json_path else "")
        properties.append(f"title={_escape_property(title)}")
        message = problem.message + (f" ({problem.hint})" if problem.hint else "")
        lines.append(f"::{command} {','.join(properties)}::{_escape_data(message)}")
    return "\n".join(lines)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
