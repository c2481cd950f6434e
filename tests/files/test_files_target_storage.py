"""The files target at scale: indexes kept current by every write, and files appended per batch
(a folder's JSONL, a JSON state file's journal) and written whole once, when it closes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import given, settings, strategies as st

from fieldline.adapters.files.target import FilesTarget
from fieldline.contracts import LookupRequest, Write, WriteOperation
from tests.apply_results import finished

OBJECTS = {"Account": {"fields": {"Name": "string", "Ext__c": {"type": "string", "external_id": True}}}}


def _ids(target: FilesTarget, value: str) -> list[str]:
    found = target.lookup([LookupRequest("Account", "Ext__c", frozenset({value}), frozenset())])
    return [str(record["Id"]) for record in found[("Account", "Ext__c", ())].get(value, [])]


def test_an_update_moves_the_record_in_every_index(tmp_path: Path) -> None:
    target = FilesTarget(tmp_path / "s.json", objects=OBJECTS)
    assert _ids(target, "e1") == []  # the index is built, then kept current
    finished(target.apply([Write("a", "Account", WriteOperation.CREATE, {"Name": "A", "Ext__c": "e1"})]))
    assert _ids(target, "e1") == ["Account-000001"]
    finished(
        target.apply(
            [Write("b", "Account", WriteOperation.UPDATE, {"Ext__c": "e2"}, target_id="Account-000001")]
        )
    )
    assert (_ids(target, "e1"), _ids(target, "e2")) == ([], ["Account-000001"])
    (upsert, duplicate) = finished(
        target.apply(
            [
                Write(
                    "c",
                    "Account",
                    WriteOperation.UPSERT,
                    {"Ext__c": "e2", "Name": "C"},
                    external_id_field="Ext__c",
                ),
                Write("d", "Account", WriteOperation.CREATE, {"Name": "D", "Ext__c": "e2"}),
            ]
        )
    )
    assert (upsert.ok, upsert.created, upsert.target_id) == (True, False, "Account-000001")
    assert duplicate.error is not None
    assert duplicate.error.code == "DUPLICATE_VALUE"
    created = finished(
        target.apply([Write("e", "Account", WriteOperation.CREATE, {"Name": "E", "Ext__c": "e1"})])
    )
    assert created[0].target_id == "Account-000002"  # the counter goes on from the highest id


def test_a_json_state_file_is_not_rewritten_per_batch_and_a_journal_keeps_the_batches(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    existing = [{"Id": f"Account-{n:06d}", "Name": f"Old {n}", "Ext__c": f"old{n}"} for n in range(100, 120)]
    path.write_text(json.dumps({"Account": existing}), encoding="utf-8")
    target = FilesTarget(path, objects=OBJECTS)
    for index in range(3):
        write = Write(
            f"w{index}", "Account", WriteOperation.CREATE, {"Name": f"N{index}", "Ext__c": f"e{index}"}
        )
        finished(target.apply([write]))
    assert len(json.loads(path.read_text(encoding="utf-8"))["Account"]) == 20  # not rewritten per batch
    assert len(target.journal.read_text(encoding="utf-8").splitlines()) == 3
    # a run that stopped without closing: the next one reads the journal too
    with target.journal.open("a", encoding="utf-8") as journal:
        journal.write('{"object": "Account", "rec')  # torn by a kill mid-write
    reopened = FilesTarget(path, objects=OBJECTS)
    assert _ids(reopened, "e2") == ["Account-000122"]
    reopened.close()
    assert not reopened.journal.exists()
    names = [record["Name"] for record in json.loads(path.read_text(encoding="utf-8"))["Account"]]
    assert names[20:] == ["N0", "N1", "N2"]


def test_the_state_is_written_whole_only_when_the_writes_double_it(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    target = FilesTarget(path, objects=OBJECTS)
    folds = 0
    for index in range(400):
        write = Write(f"w{index}", "Account", WriteOperation.CREATE, {"Name": "N", "Ext__c": f"e{index}"})
        finished(target.apply([write]))
        folds += not target.journal.exists()
    # geometric: the state doubles between rewrites (after 1, 2, 4, 8, ..., 256 records)
    assert folds == 9, folds
    target.close()
    assert len(json.loads(path.read_text(encoding="utf-8"))["Account"]) == 400


def test_a_folder_gets_lines_appended_and_compacted_on_close(tmp_path: Path) -> None:
    folder = tmp_path / "crm"
    target = FilesTarget(folder)
    finished(target.apply([Write("a", "Lead", WriteOperation.CREATE, {"Company": "Acme"})]))
    finished(
        target.apply(
            [Write("b", "Lead", WriteOperation.UPDATE, {"Company": "Acme Ltd"}, target_id="Lead-000001")]
        )
    )
    lines = (folder / "Lead.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["Company"] for line in lines] == ["Acme Ltd"]  # one record: written whole
    assert FilesTarget(folder)._by_id("Lead", "Lead-000001") == {"Id": "Lead-000001", "Company": "Acme Ltd"}
    target.close()
    lines = (folder / "Lead.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"Id": "Lead-000001", "Company": "Acme Ltd"}]


_EXTERNAL_IDS = st.sampled_from(["e1", "e2", "E1", "e3"])
_WRITES = st.lists(
    st.tuples(st.sampled_from(["create", "upsert", "update"]), _EXTERNAL_IDS, st.integers(0, 4)), max_size=12
)


@settings(max_examples=60, deadline=None)
@given(writes=_WRITES)
def test_indexed_lookups_agree_with_a_scan_after_any_writes(
    tmp_path_factory: object, writes: list[tuple[str, str, int]]
) -> None:

    with tempfile.TemporaryDirectory() as folder:
        target = FilesTarget(Path(folder) / "s.json", objects=OBJECTS)
        for value in ("e1", "e2", "E1", "e3"):
            _ids(target, value)  # every index exists before the writes, so they must keep it current
        for number, (operation, ext, which) in enumerate(writes):
            fields = {"Name": f"N{number}", "Ext__c": ext}
            if operation == "create":
                write = Write(f"w{number}", "Account", WriteOperation.CREATE, fields)
            elif operation == "upsert":
                write = Write(
                    f"w{number}", "Account", WriteOperation.UPSERT, fields, external_id_field="Ext__c"
                )
            else:
                write = Write(
                    f"w{number}",
                    "Account",
                    WriteOperation.UPDATE,
                    fields,
                    target_id=f"Account-{which + 1:06d}",
                )
            finished(target.apply([write]))
        stored = FilesTarget(Path(folder) / "s.json", objects=OBJECTS)  # built fresh from the journal
        for value in ("e1", "e2", "E1", "e3"):
            scanned = sorted(
                str(r["Id"]) for r in stored._tables.get("Account", ()) if r.get("Ext__c") == value
            )
            assert _ids(target, value) == scanned
            assert _ids(stored, value) == scanned
