"""``fieldline schema``: print (or write) the mapping spec JSON Schema shipped with fieldline."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("schema")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the schema to this file instead of standard output.",
)
@click.option(
    "--with-adapters",
    is_flag=True,
    help="Add the installed adapters' names and option schemas (for editors).",
)
@click.pass_context
def schema(ctx: click.Context, output: Path | None, with_adapters: bool) -> None:
    """Print the mapping spec JSON Schema (Draft 2020-12).

    Point your editor at it for completion and inline docs, e.g. with the first line
    `# yaml-language-server: $schema=mapping.schema.json` in a YAML spec. With
    --with-adapters, editors also complete adapter names and check their options.
    """
    from fieldline.spec.json_schema import mapping_schema_text

    text = mapping_schema_text()
    if with_adapters:
        import json

        from fieldline.errors import FieldlineError
        from fieldline.plugins.manager import adapter_registry, get_plugin_manager
        from fieldline.spec.json_schema import mapping_schema_with_adapters

        try:
            adapters = adapter_registry(get_plugin_manager())
        except FieldlineError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        text = json.dumps(mapping_schema_with_adapters(adapters), indent=2) + "\n"
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        click.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        ctx.exit(2)
    click.echo(f"wrote {output}", err=True)
