"""The target conformance suite against the files target (the reference implementation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldline.adapters.files.target import FilesTarget
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


def _make_target(request: pytest.FixtureRequest) -> FilesTarget:
    folder: Path = request.getfixturevalue("tmp_path")
    return FilesTarget(folder / "state.json", objects=OBJECTS)


TestFilesTargetConformance = get_target_test_class(
    make_target=_make_target,
    object_name="Widget",
    external_id_field="External_Id__c",
    text_field="Description__c",
    number_field="Count__c",
    boolean_field="Active__c",
    class_name="TestFilesTargetConformance",
)
