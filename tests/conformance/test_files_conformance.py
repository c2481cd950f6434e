"""The conformance suites against the files adapters (the reference implementations)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fieldline.adapters.files.source import FilesSource
from fieldline.adapters.files.target import FilesTarget
from fieldline.testing import get_source_test_class
from fieldline.testing.target_suite import get_target_test_class

OBJECTS = {
    "Widget": {
        "fields": {
            "External_Id__c": {"type": "string", "external_id": True, "unique": True, "length": 80},
            "Description__c": {"type": "string", "length": 255},
            "Count__c": "double",
            "Active__c": "boolean",
        }
    }
}

DOCUMENTS = [
    {"id": "w1", "name": "First", "updated": 1_700_000_000, "tags": ["a"]},
    {"id": 2, "name": "Second", "updated": 1_700_000_100.5, "meta": {"kind": "x"}},
    {"id": "w3", "name": "Third", "updated": 1_700_000_200},
]


def _make_target(request: pytest.FixtureRequest) -> FilesTarget:
    folder: Path = request.getfixturevalue("tmp_path")
    return FilesTarget(folder / "state.json", objects=OBJECTS)


def _make_jsonl_source(request: pytest.FixtureRequest) -> FilesSource:
    path: Path = request.getfixturevalue("tmp_path") / "widgets.jsonl"
    path.write_text("".join(json.dumps(document) + "\n" for document in DOCUMENTS), encoding="utf-8")
    return FilesSource(path, version="updated")


def _make_csv_source(request: pytest.FixtureRequest) -> FilesSource:
    path: Path = request.getfixturevalue("tmp_path") / "widgets.csv"
    path.write_text("id,name,meta.kind\nw1,First,x\nw2,Second,\n", encoding="utf-8")
    return FilesSource(path)


TestFilesTargetConformance = get_target_test_class(
    make_target=_make_target,
    object_name="Widget",
    external_id_field="External_Id__c",
    text_field="Description__c",
    number_field="Count__c",
    boolean_field="Active__c",
    class_name="TestFilesTargetConformance",
)

TestFilesJsonlSourceConformance = get_source_test_class(
    make_source=_make_jsonl_source, class_name="TestFilesJsonlSourceConformance"
)

TestFilesCsvSourceConformance = get_source_test_class(
    make_source=_make_csv_source, class_name="TestFilesCsvSourceConformance"
)
