"""Helpers shared by commands: load a spec or exit with its located problems."""

from __future__ import annotations

import sys
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
