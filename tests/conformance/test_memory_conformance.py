"""The public in-memory doubles pass the suites they stand in for."""

from __future__ import annotations

from fieldline.contracts import FieldDescription, FieldType, ObjectDescription, SourceDocument
from fieldline.testing import MemorySource, MemoryTarget, get_source_test_class, get_target_test_class

WIDGET = ObjectDescription(
    name="Widget",
    fields={
        "Id": FieldDescription(name="Id", type=FieldType.ID, createable=False, updateable=False),
        "External_Id__c": FieldDescription(name="External_Id__c", external_id=True, unique=True),
        "Description__c": FieldDescription(name="Description__c"),
        "Name": FieldDescription(name="Name", required=True),
        "Count__c": FieldDescription(name="Count__c", type=FieldType.DOUBLE),
        "Active__c": FieldDescription(name="Active__c", type=FieldType.BOOLEAN),
    },
)


def _make_target() -> MemoryTarget:
    return MemoryTarget(descriptions={"Widget": WIDGET})


def _make_source() -> MemorySource:
    return MemorySource(
        [
            SourceDocument(key="a", data={"id": "a", "n": 1}, version=1.0),
            SourceDocument(key="b", data={"id": "b", "n": 2}),
        ]
    )


TestMemoryTargetConformance = get_target_test_class(
    make_target=_make_target,
    object_name="Widget",
    external_id_field="External_Id__c",
    text_field="Description__c",
    number_field="Count__c",
    boolean_field="Active__c",
    required_fields={"Name": "Conformance"},
    class_name="TestMemoryTargetConformance",
)

TestMemorySourceConformance = get_source_test_class(
    make_source=_make_source, class_name="TestMemorySourceConformance"
)
