"""``fieldline validate PATH...``: check mapping specs and report every problem, located.

Exit status: 0 when no file has an error (warnings are fine), 1 when some spec has problems,
2 when a path cannot be read (missing, unreadable, binary, a folder without specs) or, with
``--against``, the target cannot be reached.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pluggy

from fieldline.errors import Problem, Severity

if TYPE_CHECKING:
    from fieldline.spec.model import Spec
    from fieldline.spec.positions import PositionIndex

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"  # a PATH of "-" reads one YAML spec from standard input (editors, pipes)
# The codes of problems that are about the environment, not the spec: exit status 2.
ENVIRONMENT_CODES = frozenset({"io", "config", "connection", "internal"})
_LOOKS_LIKE_SPEC = re.compile(r"""(?m)^\s*[{,]?\s*["']?fieldline["']?\s*:""")


@click.command("validate")
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "github"]),
    default="text",
    help="text for people, json for tools, github for workflow annotations.",
)
@click.option(
    "--against",
    metavar="ADAPTER",
    help="Also check objects, fields and values against what this target adapter describes.",
)
@click.pass_context
def validate(ctx: click.Context, paths: Sequence[str], output_format: str, against: str | None) -> None:
    """Check mapping specs (YAML or JSON) and report every problem with file:line:col.

    A PATH may be a folder: every *.yaml, *.yml and *.json file below it that has a top-level
    `fieldline:` key is checked (other files, e.g. org files, are left out). "-" reads one spec
    from standard input.

    Exit status: 0 no errors (warnings allowed), 1 some spec has errors, 2 a path cannot be
    read or the --against target cannot be reached.
    """
    from fieldline.errors import FieldlineError
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.spec.loader import analyze_spec_text, read_spec_file

    try:
        manager = get_plugin_manager()
    except FieldlineError as exc:
        click.echo(f"error: {exc}", err=True)
        ctx.exit(2)
    except Exception as exc:  # a broken plugin installation, not the spec: say so, no traceback
        click.echo(f"error: cannot load the installed plugins: {exc!r}", err=True)
        ctx.exit(2)
    files, problems = expand_paths(paths)
    for file in files:
        try:
            text = _read_stdin() if str(file) == STDIN else read_spec_file(file)
        except FieldlineError as exc:
            problems.extend(getattr(exc, "problems", ()) or [Problem(str(exc), file=str(file), code="io")])
            continue
        try:
            result = analyze_spec_text(text, file=str(file), plugin_manager=manager)
        except FieldlineError as exc:  # e.g. two plugins registering one function: not the spec's fault
            problems.append(Problem(exc.message, file=str(file), hint=exc.hint, code="config"))
            continue
        except Exception as exc:  # a bug in fieldline or a plugin: report it, keep checking the rest
            problems.append(
                Problem(
                    f"fieldline failed while checking this file: {exc!r}",
                    file=str(file),
                    hint="this is a bug; please report it with the spec",
                    code="internal",
                )
            )
            continue
        problems.extend(result.problems)
        if against is not None and result.spec is not None:
            problems.extend(_check_against(result.spec, result.positions, against, str(file), manager))
    _emit(problems, files=len(files), output_format=output_format)
    if any(problem.code in ENVIRONMENT_CODES for problem in problems):
        ctx.exit(2)
    if any(problem.severity is Severity.ERROR for problem in problems):
        ctx.exit(1)


def expand_paths(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """The spec files named by ``paths`` (folders expanded), and a problem per unusable path."""
    files: list[Path] = []
    problems: list[Problem] = []
    for name in paths:
        path = Path(name)
        if name == STDIN:
            files.append(path)
        elif path.is_dir():
            found = [candidate for candidate in _spec_files_below(path) if _looks_like_spec(candidate)]
            if not found:
                problems.append(
                    Problem(
                        "is a folder without spec files",
                        file=name,
                        hint="a spec is a .yaml, .yml or .json file with a top-level 'fieldline:' key",
                        code="io",
                    )
                )
            files.extend(found)
        elif not path.exists():
            problems.append(Problem("no such file", file=name, hint="check the path", code="io"))
        else:
            files.append(path)
    unique = list(dict.fromkeys(files))
    return unique, problems


def _read_stdin() -> str:
    from fieldline.errors import SpecError
    from fieldline.spec.limits import max_spec_bytes, too_large

    limit = max_spec_bytes()
    try:
        # A character is at least one byte: reading one past the limit is enough to tell.
        text = sys.stdin.read(limit + 1).removeprefix("\ufeff")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(f"cannot read standard input: {exc}", file=STDIN, code="io")
        raise SpecError(problem.message, problems=[problem]) from exc
    if len(text) > limit:
        problem = too_large(STDIN, None, limit)
        raise SpecError(problem.message, problems=[problem])
    return text


def _spec_files_below(folder: Path) -> list[Path]:
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in SPEC_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def _looks_like_spec(path: Path) -> bool:
    try:
        with path.open("rb") as stream:  # the head only: a huge file is refused when read
            head = stream.read(65536).decode("utf-8-sig", errors="replace")
    except OSError:
        return True  # let the reader report why it cannot be read
    return bool(_LOOKS_LIKE_SPEC.search(head))


def _check_against(
    spec: Spec, positions: PositionIndex, adapter_name: str, file: str, manager: pluggy.PluginManager
) -> list[Problem]:
    from fieldline.contracts import AdapterKind, TargetAdapter
    from fieldline.errors import FieldlineError
    from fieldline.spec.against_target import check_against_target
    from fieldline.spec.model import AdapterSpec
    from fieldline.sync.adapter_builder import build_adapter

    adapter = spec.target if spec.target is not None and spec.target.adapter == adapter_name else None
    adapter = adapter or AdapterSpec(adapter=adapter_name)
    try:
        target: TargetAdapter = build_adapter(adapter, AdapterKind.TARGET, manager, spec=spec)
    except FieldlineError as exc:
        return [
            Problem(
                f"cannot use target adapter {adapter_name!r}: {exc.message}",
                file=file,
                hint=exc.hint,
                code="connection",
            )
        ]
    except Exception as exc:  # a plugin's factory failing must not print a traceback
        return [
            Problem(f"target adapter {adapter_name!r} failed to start: {exc}", file=file, code="connection")
        ]
    try:
        return check_against_target(spec, target, positions, file=file)
    except FieldlineError as exc:
        return [
            Problem(
                f"cannot check against {adapter_name!r}: {exc.message}",
                file=file,
                hint=exc.hint or "check the connection settings (FIELDLINE_<ADAPTER>_* or the config file)",
                code="connection",
            )
        ]
    except Exception as exc:  # same: report, never crash
        return [Problem(f"target adapter {adapter_name!r} failed: {exc}", file=file, code="connection")]
    finally:
        with contextlib.suppress(Exception):  # closing is best effort; the check result stands
            target.close()


def _emit(problems: list[Problem], *, files: int, output_format: str) -> None:
    from fieldline.spec.problems import format_github, format_json, print_text

    if output_format == "json":
        click.echo(format_json(problems, files=files))
    elif output_format == "github":
        text = format_github(problems)
        if text:
            click.echo(text)
    else:
        from rich.console import Console

        print_text(problems, files=files, console=Console(highlight=False, soft_wrap=True))
