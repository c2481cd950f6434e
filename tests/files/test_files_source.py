from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldline.adapters.files.source import FilesSource
from fieldline.errors import ConfigError, FieldlineError


def test_jsonl_documents_keyed_by_expression(tmp_path: Path) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('{"id": "a", "n": 1}\n\n{"id": "b", "n": 2}\n{"n": 3}\n', encoding="utf-8")
    documents = list(FilesSource(path).read())
    assert [document.key for document in documents] == ["a", "b", "line-4"]
    assert documents[1].data == {"id": "b", "n": 2}


def test_version_option_reads_a_number(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"id": 1, "updated": 1700000000}]), encoding="utf-8")
    (document,) = FilesSource(path, version="updated").read()
    assert document.key == "1"
    assert document.version == 1700000000.0


def test_version_that_is_not_a_number_is_located(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 1, "updated": "yesterday"}\n', encoding="utf-8")
    with pytest.raises(FieldlineError, match=r"p\.jsonl:1: version 'yesterday' is not a number"):
        list(FilesSource(path, version="updated").read())


def test_csv_headers_with_dots_nest_and_cells_stay_strings(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("id,metadata.name,metadata.number,empty\n7,Acme,0042,\n", encoding="utf-8")
    (document,) = FilesSource(path).read()
    assert document.data == {"id": "7", "metadata": {"name": "Acme", "number": "0042"}, "empty": ""}


def test_invalid_jsonl_line_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": 1}\n{"id": \n', encoding="utf-8")
    with pytest.raises(FieldlineError, match=r"bad\.jsonl:2:\d+: invalid JSON"):
        list(FilesSource(path).read())


def test_json_source_must_be_a_list(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text('{"id": 1}', encoding="utf-8")
    with pytest.raises(FieldlineError, match="must hold a list"):
        list(FilesSource(path).read())


def test_unknown_extension_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\.txt"):
        FilesSource(tmp_path / "x.txt")
    with pytest.raises(ConfigError, match="cannot read source file"):
        list(FilesSource(tmp_path / "absent.jsonl").read())


def test_fetch_finds_one_document(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a"}\n{"id": "b"}\n', encoding="utf-8")
    source = FilesSource(path)
    fetched = source.fetch("b")
    assert fetched is not None
    assert fetched.data == {"id": "b"}
    assert source.fetch("zzz") is None


def test_key_option_uses_the_engines_expression_functions(tmp_path: Path) -> None:
    from fieldline.plugins.manager import get_plugin_manager
    from fieldline.spec.loader import load_spec
    from fieldline.sync.adapter_builder import build_source

    (tmp_path / "companies.jsonl").write_text(
        '{"website": "https://www.Acme.co.uk/about"}\n', encoding="utf-8"
    )
    spec_file = tmp_path / "spec.yaml"
    spec_file.write_text(
        "fieldline: 1\nname: t\n"
        "source: {adapter: files, options: {path: companies.jsonl, key: 'root_domain(website)'}}\n"
        "target: {adapter: files, options: {path: out.json}}\n"
        "records:\n  - {name: a, object: Account, match: [{field: Name, value: website}],"
        " fields: {Name: website}}\n",
        encoding="utf-8",
    )
    manager = get_plugin_manager()
    source = build_source(load_spec(spec_file, plugin_manager=manager), manager)
    assert [document.key for document in source.read()] == ["acme.co.uk"]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        pytest.param("c.jsonl", '{"id": 1}\n\n{"id": 2}\n{"id": 3}\n', id="jsonl"),
        pytest.param("c.json", '[{"id": 1}, {"id": 2}, {"id": 3}]', id="json"),
        pytest.param("c.csv", "id\n1\n2\n3\n", id="csv"),
    ],
)
def test_count_is_the_number_of_documents_read(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    source = FilesSource(path)
    assert source.count() == len(list(source.read())) == 3
