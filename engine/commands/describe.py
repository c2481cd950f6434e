"""``fieldline describe OBJECT``: a target object's fields, as the target itself reports them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from fieldline.contracts import FieldDescription, ObjectDescription


def description_as_json(description: ObjectDescription) -> dict[str, Any]:
    """A JSON-ready form of a description (``describe --json``)."""
    return {
        "name": description.name,
        "label": description.label,
        "createable": description.createable,
        "updateable": description.updateable,
        "blank_is_null": description.blank_is_null,
        "fields": [
            {
                "name": field.name,
                "type": field.type,
                "label": field.label,
                "length": field.length,
                "required": field.required,
                "createable": field.createable,
                "updateable": field.updateable,
                "nillable": field.nillable,
                "unique": field.unique,
                "external_id": field.external_id,
                "id_lookup": field.id_lookup,
                "picklist_values": list(field.picklist_values),
                "restricted_picklist": field.restricted_picklist,
                "reference_to": list(field.reference_to),
            }
            for field in description.fields.values()
        ],
    }


def _flags(field: FieldDescription) -> str:
    access = ("C" if field.createable else "-") + ("U" if field.updateable else "-")
    return access


def _picklist(field: FieldDescription) -> str:
    if not field.picklist_values:
        return ""
    shown = ", ".join(field.picklist_values[:8])
    if len(field.picklist_values) > 8:
        shown += f", ... (+{len(field.picklist_values) - 8})"
    return shown + (" (restricted)" if field.restricted_picklist else "")


def render_description(description: ObjectDescription) -> Any:
    """A rich table of the object's fields."""
    from rich.table import Table

    title = description.name + (f" ({description.label})" if description.label else "")
    table = Table(title=title, title_justify="left")
    for column in (
        "field",
        "type",
        "label",
        "length",
        "required",
        "C/U",
        "ext id",
        "picklist",
        "reference to",
    ):
        table.add_column(column, overflow="fold")
    for field in description.fields.values():
        table.add_row(
            field.name,
            field.type,
            field.label,
            "" if field.length is None else str(field.length),
            "yes" if field.required else "",
            _flags(field),
            "yes" if field.external_id else "",
            _picklist(field),
            ", ".join(field.reference_to),
        )
    return table


@click.command()
@click.argument("object_name", metavar="OBJECT")
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Use this spec's target adapter and options.",
)
@click.option(
    "--target", "target_name", help="Use this target adapter with no options (default: salesforce)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def describe(object_name: str, spec_path: Path | None, target_name: str | None, as_json: bool) -> None:
    """Show OBJECT's fields: type, label, length, required, createable/updateable (C/U),
    external id, picklist values and references, as the target reports them.

    Connection settings come from FIELDLINE_<ADAPTER>_* variables or the config file.
    """
    from fieldline.contracts import AdapterKind
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.spec.model import AdapterSpec, Spec
    from fieldline.sync.adapter_builder import build_adapter, build_target

    if spec_path is not None and target_name is not None:
        raise click.UsageError("give either --spec or --target, not both")
    manager = get_plugin_manager()
    if spec_path is not None:
        from fieldline.commands.spec_loading import load_spec_or_exit

        target = build_target(load_spec_or_exit(spec_path, manager), manager)
    else:
        from fieldline.errors import ConfigError
        from fieldline.spec.model import Location

        name = target_name or "salesforce"
        adapter = AdapterSpec(adapter=name, location=Location(file=f"--target {name}"))
        try:
            target = build_adapter(
                adapter, AdapterKind.TARGET, manager, spec=Spec(name="describe", records=())
            )
        except ConfigError as exc:
            if "options" not in exc.message:
                raise
            raise ConfigError(
                exc.message, hint="this adapter needs options: pass --spec SPEC, whose target gives them"
            ) from exc
    try:
        description = target.describe(object_name)
    finally:
        target.close()
    if as_json:
        click.echo(json.dumps(description_as_json(description), indent=2))
        return
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 200))  # piped: keep long API names whole
    console.print(render_description(description))
