"""Read source documents from JSONL, JSON or CSV files.

CSV headers with dots build nested objects (``collected_data.metadata.name``) so a CSV export can
feed the same spec as the API. Cells stay strings; an empty cell is ``""``, not null.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from fieldline.adapters.files.options import SOURCE_OPTIONS_SCHEMA
from fieldline.contracts import SourceBase, SourceDocument
from fieldline.errors import ConfigError, FieldlineError
from fieldline.expressions.compiled import CompiledExpression, FunctionRegistry, compile_expression

__all__ = ["SOURCE_OPTIONS_SCHEMA", "FilesSource"]


class FilesSource(SourceBase):
    """A :class:`~fieldline.contracts.SourceAdapter` over one file."""

    name = "files"

    def __init__(
        self,
        path: Path,
        *,
        file_format: str | None = None,
        key: str = "id",
        version: str | None = None,
        functions: FunctionRegistry | None = None,
    ) -> None:
        self.path = path
        self.format = file_format or _format_from_suffix(path)
        # the spec's own expression functions (root_domain(website) as a key), not JMESPath's only
        registry = functions if functions is not None else FunctionRegistry()
        self._key = _compile_option("key", key, registry)
        self._version = _compile_option("version", version, registry) if version else None

    def read(self) -> Iterator[SourceDocument]:
        for number, data in self._rows():
            yield self._document(number, data)

    def count(self) -> int:
        """How many documents ``read()`` gives (the file is read once more, without parsing
        JSON lines), so progress can show the total."""
        if self.format == "jsonl":
            try:
                with self.path.open("rb") as handle:
                    return sum(1 for line in handle if line.strip())
            except OSError as exc:
                raise ConfigError(f"{self.path}: cannot read source file: {exc.strerror or exc}") from exc
        return sum(1 for _ in self._rows())

    def fetch(self, key: str) -> SourceDocument | None:
        for document in self.read():
            if document.key == key:
                return document
        return None

    def close(self) -> None:
        """Nothing stays open between reads."""

    def _document(self, number: int, data: Any) -> SourceDocument:
        key = self._key.search(data)
        version = self._version.search(data) if self._version else None
        if version is not None and not isinstance(version, int | float):
            raise FieldlineError(
                f"{self.path}:{number}: version {version!r} is not a number",
                hint="point the version option at a numeric field (e.g. a Unix timestamp)",
            )
        return SourceDocument(
            key=str(key) if key is not None else f"line-{number}",
            data=data,
            version=float(version) if version is not None else None,
        )

    def _rows(self) -> Iterator[tuple[int, Any]]:
        try:
            if self.format == "jsonl":
                yield from self._jsonl_rows()
            elif self.format == "json":
                yield from self._json_rows()
            else:
                yield from self._csv_rows()
        except OSError as exc:
            raise ConfigError(f"{self.path}: cannot read source file: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{self.path}: not UTF-8 text ({exc.reason})") from exc

    def _jsonl_rows(self) -> Iterator[tuple[int, Any]]:
        with self.path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    yield number, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FieldlineError(
                        f"{self.path}:{number}:{exc.colno}: invalid JSON: {exc.msg}",
                        hint="each line of a .jsonl file must be one JSON document",
                    ) from exc

    def _json_rows(self) -> Iterator[tuple[int, Any]]:
        text = self.path.read_text(encoding="utf-8")
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FieldlineError(f"{self.path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(document, list):
            raise FieldlineError(
                f"{self.path}: a .json source must hold a list of documents",
                hint="wrap the documents in [...] or use .jsonl",
            )
        yield from enumerate(document, start=1)

    def _csv_rows(self) -> Iterator[tuple[int, Any]]:
        with self.path.open(encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.DictReader(handle), start=2):
                yield number, _nest(row)


def _nest(row: Mapping[str | None, Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for header, value in row.items():
        if header is None:
            continue  # extra cells beyond the header row
        parts = header.split(".")
        node = nested
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                child = node[part] = {"": child}
            node = child
        node[parts[-1]] = value
    return nested


def _format_from_suffix(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in {"jsonl", "ndjson"}:
        return "jsonl"
    if suffix in {"json", "csv"}:
        return suffix
    raise ConfigError(
        f"{path}: cannot tell the format from the extension {path.suffix!r}",
        hint="name the file .jsonl, .json or .csv, or set options.format",
    )


def _compile_option(name: str, text: str, registry: FunctionRegistry) -> CompiledExpression:
    try:
        return compile_expression(text, registry)
    except FieldlineError as exc:
        raise ConfigError(f"files source option {name}: {exc}") from exc
