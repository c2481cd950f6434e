"""The ``fieldline`` command line (click + rich).

Commands live in their own modules and are imported only when run, so ``fieldline --help``
and ``fieldline validate`` start fast. Plugins add commands through ``register_commands``
(``cli.add_lazy_command`` keeps theirs lazy too).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import click

from fieldline import __version__
from fieldline.errors import FieldlineError


class LazyCommand(NamedTuple):
    """A command imported on first use: ``target`` is ``"module:attribute"`` of a click command,
    ``short_help`` the line ``--help`` shows without importing it."""

    target: str
    short_help: str


# name -> the built-in command; plugins add theirs through ``register_commands``.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("fieldline.commands.validate:validate", "Check mapping specs; report every problem."),
    "schema": ("fieldline.commands.schema:schema", "Print the mapping spec JSON Schema."),
    "plan": ("fieldline.commands.run:plan", "Dry run: what a sync would write, field by field."),
    "sync": ("fieldline.commands.batch:sync", "Run a spec once: read, plan, write (recorded)."),
    "runs": ("fieldline.commands.runs:runs", "Show recorded sync runs and their records."),
    "describe": ("fieldline.commands.describe:describe", "Show a target object's fields."),
    "lookup": ("fieldline.commands.lookup:lookup", "Answer a spec's lookup: one record's fields."),
    "plugins": ("fieldline.commands.plugins:plugins", "List loaded plugins and their hooks."),
    "emulator": ("fieldline.commands.emulator:emulator", "Run a local API emulator."),
    "serve": ("fieldline.commands.service:serve", "Receive webhooks and apply them."),
    "worker": ("fieldline.commands.service:worker", "Apply queued events (extra processes)."),
    "status": ("fieldline.commands.service:status", "Show the queue: waiting, failures, dead letters."),
    "logs": ("fieldline.commands.service:logs", "Show the run log."),
    "replay": ("fieldline.commands.service:replay", "Send dead letters back to the queue."),
    "console": ("fieldline.commands.console:console", "Serve the operator's console in a browser."),
    "db": ("fieldline.commands.db:db", "Create or migrate the storage database's schema."),
    "connections": (
        "fieldline.commands.tenant_connections:connections",
        "List or check tenants' connections.",
    ),
}


def load_command(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


def add_plugin_commands(group: LazyGroup) -> None:
    """The root group's extension: every plugin's ``register_commands``."""
    from fieldline.plugins.manager import collect, get_plugin_manager

    collect(get_plugin_manager(), "register_commands", cli=group)


class LazyGroup(click.Group):
    """A group whose commands are imported when invoked.

    ``lazy`` maps a name to ``("module:attribute", short help)``; ``extend`` runs once, before
    the commands are first listed or looked up, to add more (e.g. from plugins).
    """

    def __init__(
        self,
        *args: Any,
        lazy: dict[str, tuple[str, str]],
        extend: Callable[[LazyGroup], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)
        self._extend = extend

    def add_lazy_command(self, name: str, command: LazyCommand | tuple[str, str]) -> None:
        """Add a command that is imported only when run, so ``--help`` stays fast."""
        self.lazy[name] = (command[0], command[1])

    def _load_extensions(self) -> None:
        extend, self._extend = self._extend, None  # once
        if extend is not None:
            extend(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_extensions()
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:  # a built-in runs without loading the plugins first
            self._load_extensions()
        if cmd_name in self.lazy:
            return load_command(self.lazy[cmd_name][0])
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text for lazy commands comes from the table, so `--help` imports none of them.
        self._load_extensions()
        rows = [(name, short_help) for name, (_, short_help) in self.lazy.items()]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=60)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(sorted(rows))


# Every option of every command shows its default in --help (click passes the setting down).
@click.group(
    cls=LazyGroup, lazy=COMMANDS, extend=add_plugin_commands, context_settings={"show_default": True}
)
@click.version_option(__version__, prog_name="fieldline")
def cli() -> None:
    """Keep a CRM in step with the systems around it, declared once in a mapping spec."""


def main() -> None:
    """Console entry point: a FieldlineError becomes a clear message and exit status 2."""
    try:
        status = cli.main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except FieldlineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except Exception as exc:
        # A bug, not bad input: say so plainly; the traceback is one variable away.
        if os.environ.get("FIELDLINE_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in fieldline or a plugin. Set FIELDLINE_DEBUG=1 to see the traceback "
            "and please report it.",
            err=True,
        )
        sys.exit(3)
    sys.exit(status if isinstance(status, int) else 0)
