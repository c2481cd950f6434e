"""The ``fieldline`` command line (click + rich).

Commands live in their own modules and are imported only when run, so ``fieldline --help``
and ``fieldline validate`` start fast. Plugins add commands through ``register_commands``.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from fieldline import __version__
from fieldline.errors import FieldlineError

# name -> ("module:attribute" of a click command, one-line help); imported on first use.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("fieldline.commands.validate:validate", "Check mapping specs; report every problem."),
    "schema": ("fieldline.commands.schema:schema", "Print the mapping spec JSON Schema."),
    "plan": ("fieldline.commands.run:plan", "Dry run: what a sync would write, field by field."),
    "sync": ("fieldline.commands.run:sync", "Run a spec once: read, plan, write."),
    "describe": ("fieldline.commands.describe:describe", "Show a target object's fields."),
    "plugins": ("fieldline.commands.plugins:plugins", "List loaded plugins and their hooks."),
    "emulator": ("fieldline.commands.emulator:emulator", "Run a local API emulator."),
    "serve": ("fieldline.commands.service:serve", "Receive webhooks and apply them."),
    "worker": ("fieldline.commands.service:worker", "Apply queued events (extra processes)."),
    "status": ("fieldline.commands.service:status", "Show the queue: waiting, failures, dead letters."),
    "logs": ("fieldline.commands.service:logs", "Show the run log."),
    "replay": ("fieldline.commands.service:replay", "Send dead letters back to the queue."),
}


def load_command(target: str) -> click.Command:
    module_name, _, attribute = target.partition(":")
    command = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command


class LazyGroup(click.Group):
    """A group whose built-in commands are imported when invoked, plus plugin commands."""

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self._plugins_loaded = False

    def _load_plugin_commands(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from fieldline.plugins.manager import get_plugin_manager

        get_plugin_manager().hook.register_commands(cli=self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_plugin_commands()
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return load_command(self.lazy[cmd_name][0])
        self._load_plugin_commands()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Help text for built-ins comes from the table, so `--help` imports none of them.
        self._load_plugin_commands()
        rows = [(name, short_help) for name, (_, short_help) in self.lazy.items()]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=60)))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, lazy=COMMANDS)
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
