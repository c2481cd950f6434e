"""Per-record error codes, classified permanent or retriable the same way for Collections and Bulk.

One case per code documented in ``../shared/reference/salesforce.md`` (and the 5xx family the
Salesforce docs call retriable): ``retriable`` says whether the record may succeed if sent again;
``now`` whether it is sent again at once (with backoff) rather than left to the queue.
"""

from __future__ import annotations

import pytest

from fieldline.adapters.salesforce.apply import record_error
from fieldline.adapters.salesforce.bulk import _bulk_error
from fieldline.adapters.salesforce.retry import RESEND_NOW_RECORD_CODES

CASES = [
    # code, retriable, sent again at once
    pytest.param("UNABLE_TO_LOCK_ROW", True, True, id="UNABLE_TO_LOCK_ROW"),
    pytest.param("UNKNOWN_EXCEPTION", True, True, id="UNKNOWN_EXCEPTION-500"),
    pytest.param("SERVER_UNAVAILABLE", True, True, id="SERVER_UNAVAILABLE-503"),
    pytest.param("API_TEMPORARILY_UNAVAILABLE", True, True, id="API_TEMPORARILY_UNAVAILABLE"),
    pytest.param("REQUEST_RUNNING_TOO_LONG", True, True, id="REQUEST_RUNNING_TOO_LONG"),
    pytest.param("ALL_OR_NONE_OPERATION_ROLLED_BACK", True, True, id="ALL_OR_NONE_OPERATION_ROLLED_BACK"),
    pytest.param("REQUEST_LIMIT_EXCEEDED", True, False, id="REQUEST_LIMIT_EXCEEDED-403"),
    pytest.param("INVALID_SESSION_ID", True, False, id="INVALID_SESSION_ID-401"),
    pytest.param("NOT_FOUND", False, False, id="NOT_FOUND-404"),
    pytest.param("MALFORMED_QUERY", False, False, id="MALFORMED_QUERY-400"),
    pytest.param("INVALID_FIELD", False, False, id="INVALID_FIELD-400"),
    pytest.param("REQUIRED_FIELD_MISSING", False, False, id="REQUIRED_FIELD_MISSING-400"),
    pytest.param("DUPLICATE_VALUE", False, False, id="DUPLICATE_VALUE-400"),
    pytest.param("FIELD_CUSTOM_VALIDATION_EXCEPTION", False, False, id="undocumented-is-permanent"),
]


@pytest.mark.parametrize(("code", "retriable", "now"), CASES)
def test_collections_record_error(code: str, retriable: bool, now: bool) -> None:
    error = record_error({"success": False, "errors": [{"statusCode": code, "message": "m", "fields": []}]})
    assert (error.code, error.retriable) == (code, retriable)
    assert (code in RESEND_NOW_RECORD_CODES) is now


@pytest.mark.parametrize(("code", "retriable", "now"), CASES)
def test_bulk_row_error(code: str, retriable: bool, now: bool) -> None:
    error = _bulk_error(f"{code}:something went wrong:--")
    assert (error.code, error.retriable) == (code, retriable)
    assert (code in RESEND_NOW_RECORD_CODES) is now
