"""Helpers shared by commands: load a spec or exit with its located problems."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click
import pluggy

from fieldline.errors import SpecError
from fieldline.spec.model import Spec


def load_spec_or_exit(path: Path, manager: pluggy.PluginManager) -> Spec:
    """The spec at ``path``; on problems print each (file:line:col) and exit with status 1,
    or 2 when the file cannot be read at all (as ``validate`` does)."""
    from fieldline.spec.loader import load_spec

    try:
        return load_spec(path, plugin_manager=manager)
    except SpecError as exc:
        for problem in exc.problems or ():
            click.echo(str(problem), err=True)
        if not exc.problems:
            click.echo(f"error: {exc}", err=True)
        if any(problem.code == "io" for problem in exc.problems):
            sys.exit(2)
        click.echo(f"{path}: the spec has problems; run `fieldline validate {path}` for details", err=True)
        sys.exit(1)


SPEC_SUFFIXES = (".yaml", ".yml", ".json")


def spec_files(paths: Sequence[Path]) -> list[Path]:
    """The spec files ``paths`` name: files as given, folders as the specs directly inside them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                child for child in path.iterdir() if child.suffix in SPEC_SUFFIXES and child.is_file()
            )
            if not found:
                raise click.UsageError(f"{path}: the folder holds no spec (*.yaml, *.yml, *.json)")
            files.extend(found)
        else:
            files.append(path)
    return list(dict.fromkeys(files))


def load_specs_or_exit(paths: Sequence[Path], manager: pluggy.PluginManager) -> list[Spec]:
    """Every spec ``paths`` name (files or folders); exits as :func:`load_spec_or_exit` does."""
    return [load_spec_or_exit(path, manager) for path in spec_files(paths)]
