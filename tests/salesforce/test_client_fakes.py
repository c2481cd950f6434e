"""Client policy against a fake Salesforce: login flows, re-login, retries, limits, per-record retries."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fieldline.adapters.salesforce.settings import SalesforceSettings
from fieldline.adapters.salesforce.target import SalesforceTarget
from fieldline.config import Secret
from fieldline.contracts import StopReason, Write, WriteOperation
from fieldline.errors import BudgetExhaustedError, ConfigError, FatalAdapterError, TransientAdapterError
from tests.apply_results import finished
from tests.salesforce.fakes import FakeTransport, Reply, Seen

INSTANCE = "https://acme.my.salesforce.com"
PASSWORD_SETTINGS = SalesforceSettings(
    username="int@acme.com",
    password=Secret("pw-secret"),
    security_token=Secret("TOKEN123"),
    client_id="cid",
    client_secret=Secret("csecret"),
)
DESCRIBE = {
    "name": "Thing__c",
    "fields": [
        {
            "name": "Id",
            "type": "id",
            "nillable": False,
            "createable": False,
            "updateable": False,
            "defaultedOnCreate": True,
        },
        {"name": "Name", "type": "string", "length": 80, "nillable": True},
    ],
}
SESSION_EXPIRED = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


class FakeOrg:
    """Routes requests; ``script`` lists replies for the next data calls (then success)."""

    def __init__(self, script: list[Reply] | None = None) -> None:
        self.script = list(script or [])
        self.tokens = 0
        self.creates: list[list[dict[str, Any]]] = []
        self.lock_plan: list[set[str]] = []  # per create call: names answered UNABLE_TO_LOCK_ROW
        self.refuse_plan: list[dict[str, str]] = []  # per create call: name -> statusCode answered

    def __call__(self, seen: Seen) -> Reply:
        if seen.path == "/services/oauth2/token":
            self.tokens += 1
            return 200, {"access_token": f"token-{self.tokens}", "instance_url": INSTANCE}
        if self.script:
            return self.script.pop(0)
        if seen.path.endswith("/composite") and seen.method == "POST":
            return 200, {
                "compositeResponse": [self._subrequest(seen, sub) for sub in seen.json["compositeRequest"]]
            }
        if seen.path.endswith("/describe"):
            return 200, DESCRIBE
        if seen.path.endswith("/composite/sobjects") and seen.method == "POST":
            records = seen.json["records"]
            self.creates.append(records)
            refused = dict.fromkeys(self.lock_plan.pop(0) if self.lock_plan else (), "UNABLE_TO_LOCK_ROW")
            refused.update(self.refuse_plan.pop(0) if self.refuse_plan else {})
            return 200, [
                {
                    "id": None,
                    "success": False,
                    "errors": [{"statusCode": refused[record["Name"]], "message": "refused", "fields": []}],
                }
                if record["Name"] in refused
                else {"id": f"a0X{record['Name']:0>15}", "success": True, "errors": []}
                for record in records
            ]
        return 404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

    def _subrequest(self, seen: Seen, sub: dict[str, Any]) -> dict[str, Any]:
        """One composite subrequest, answered as the same request on its own would be."""
        inner = copy.copy(seen)
        inner.method, inner.path, inner.json = sub["method"], sub["url"].split("?")[0], sub.get("body")
        reply = self(inner)
        return {
            "body": reply[1],
            "httpHeaders": {},
            "httpStatusCode": reply[0],
            "referenceId": sub["referenceId"],
        }


def _target(
    org: FakeOrg, settings: SalesforceSettings = PASSWORD_SETTINGS, **options: Any
) -> tuple[SalesforceTarget, FakeTransport, list[float]]:
    slept: list[float] = []
    transport = FakeTransport(org)
    target = SalesforceTarget(options, settings=settings, sleep=slept.append, transport=transport)
    return target, transport, slept


def _creates(*names: str) -> list[Write]:
    return [
        Write(key=name, object="Thing__c", operation=WriteOperation.CREATE, fields={"Name": name})
        for name in names
    ]


def test_password_login_then_bearer_calls() -> None:
    org = FakeOrg()
    target, transport, _ = _target(org)
    target.describe("Thing__c")
    target.describe("thing__c")  # cached, case-insensitively
    login, describe = transport.seen
    assert login.form == {
        "grant_type": "password",
        "username": "int@acme.com",
        "password": "pw-secretTOKEN123",
        "client_id": "cid",
        "client_secret": "csecret",
    }
    assert login.url == "https://login.salesforce.com/services/oauth2/token"
    assert describe.url == f"{INSTANCE}/services/data/v59.0/sobjects/Thing__c/describe"
    assert describe.headers["Authorization"] == "Bearer token-1"
    target.close()


def test_expired_session_logs_in_again_and_repeats_the_write() -> None:
    org = FakeOrg(script=[(200, DESCRIBE), (401, SESSION_EXPIRED)])
    target, transport, _ = _target(org)
    results = finished(target.apply(_creates("a", "b")))
    assert [result.ok for result in results] == [True, True]
    assert org.tokens == 2
    assert len(org.creates) == 1  # the refused call never reached the org; the retry did
    create_calls = [seen for seen in transport.seen if seen.path.endswith("/composite/sobjects")]
    assert [seen.headers["Authorization"] for seen in create_calls] == ["Bearer token-1", "Bearer token-2"]
    assert create_calls[0].json == create_calls[1].json
    target.close()


def test_fixed_access_token_cannot_log_in_again() -> None:
    settings = SalesforceSettings(instance_url=INSTANCE, access_token=Secret("fixed-secret-token"))
    org = FakeOrg(script=[(401, SESSION_EXPIRED)])
    target, _, _ = _target(org, settings)
    with pytest.raises(FatalAdapterError) as caught:
        target.describe("Thing__c")
    assert "ACCESS_TOKEN" in str(caught.value)
    assert "fixed-secret-token" not in str(caught.value)
    assert org.tokens == 0
    target.close()


def test_login_failure_is_fatal_and_keeps_secrets_out() -> None:
    def refuse(seen: Seen) -> Reply:
        return 400, {"error": "invalid_grant", "error_description": "authentication failure"}

    target = SalesforceTarget({}, settings=PASSWORD_SETTINGS, transport=FakeTransport(refuse))
    with pytest.raises(FatalAdapterError) as caught:
        target.describe("Thing__c")
    text = str(caught.value)
    assert "invalid_grant: authentication failure" in text
    assert "pw-secret" not in text
    assert "TOKEN123" not in text
    target.close()


def test_503_retry_after_is_honoured() -> None:
    busy: Reply = (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}], {"Retry-After": "7"})
    org = FakeOrg(script=[busy, busy])
    target, _, slept = _target(org)
    assert target.describe("Thing__c").name == "Thing__c"
    assert slept == [7.0, 7.0]
    target.close()


def test_persistent_5xx_becomes_transient_error_with_retry_after() -> None:
    busy: Reply = (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}], {"Retry-After": "3"})
    org = FakeOrg(script=[busy] * 10)
    target, transport, slept = _target(org, max_retries=2)
    with pytest.raises(TransientAdapterError) as caught:
        target.describe("Thing__c")
    assert caught.value.retry_after == 3.0
    assert len(slept) == 2
    assert len(transport.seen) == 1 + 3  # login + three attempts
    target.close()


@pytest.mark.parametrize(("retry_after", "slept_first"), [("20", [20.0]), ("120", [])])
def test_long_retry_after_is_left_to_the_queue(retry_after: str, slept_first: list[float]) -> None:
    # waiting in place holds a worker thread (and a graceful shutdown): at most 30 s per call
    busy: Reply = (
        503,
        [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}],
        {"Retry-After": retry_after},
    )
    org = FakeOrg(script=[busy] * 10)
    target, _, slept = _target(org)
    with pytest.raises(TransientAdapterError) as caught:
        target.describe("Thing__c")
    assert slept == slept_first
    assert caught.value.retry_after == float(retry_after)
    target.close()


def test_request_limit_exceeded_is_not_retried() -> None:
    org = FakeOrg(
        script=[(403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}])]
    )
    target, transport, slept = _target(org)
    with pytest.raises(BudgetExhaustedError, match="TotalRequests") as caught:
        target.describe("Thing__c")  # no outcomes to return: a pause, raised
    assert caught.value.reason is StopReason.DAILY_LIMIT
    assert slept == []
    assert len(transport.seen) == 2
    target.close()


def test_locked_records_are_resent_alone() -> None:
    org = FakeOrg()
    org.lock_plan = [{"b", "d"}, {"d"}]
    target, _, slept = _target(org)
    results = finished(target.apply(_creates("a", "b", "c", "d")))
    assert [result.key for result in results] == ["a", "b", "c", "d"]
    assert all(result.ok for result in results)
    assert [[record["Name"] for record in call] for call in org.creates] == [
        ["a", "b", "c", "d"],
        ["b", "d"],
        ["d"],
    ]
    assert results[3].target_id == "a0X00000000000000d"
    assert len(slept) == 2
    target.close()


def test_lock_errors_out_of_retries_are_retriable_failures() -> None:
    org = FakeOrg()
    org.lock_plan = [{"b"}] * 5
    target, _, _ = _target(org, max_retries=2)
    results = finished(target.apply(_creates("a", "b")))
    assert results[0].ok
    assert not results[1].ok
    assert results[1].error is not None
    assert results[1].error.code == "UNABLE_TO_LOCK_ROW"
    assert results[1].error.retriable
    assert results[1].error.stage == "target"
    target.close()


@pytest.mark.parametrize(
    ("code", "sends"),
    [
        pytest.param("UNKNOWN_EXCEPTION", 2, id="unknown-exception-is-sent-again"),
        pytest.param("SERVER_UNAVAILABLE", 2, id="server-unavailable-is-sent-again"),
        pytest.param("ALL_OR_NONE_OPERATION_ROLLED_BACK", 2, id="rolled-back-is-sent-again"),
        pytest.param("REQUIRED_FIELD_MISSING", 1, id="required-field-is-not"),
        pytest.param("DUPLICATE_VALUE", 1, id="duplicate-is-not"),
    ],
)
def test_records_refused_for_a_passing_reason_are_resent(code: str, sends: int) -> None:
    org = FakeOrg()
    org.refuse_plan = [{"b": code}]
    target, _, _ = _target(org)
    results = finished(target.apply(_creates("a", "b")))
    assert [[record["Name"] for record in call] for call in org.creates] == [["a", "b"], ["b"]][:sends]
    assert results[1].ok is (sends == 2)
    if sends == 1:
        assert results[1].error is not None
        assert (results[1].error.code, results[1].error.retriable) == (code, False)
    target.close()


def test_a_per_record_limit_is_retriable_later_not_resent_at_once() -> None:
    org = FakeOrg()
    org.refuse_plan = [{"b": "REQUEST_LIMIT_EXCEEDED"}]
    target, _, slept = _target(org)
    results = finished(target.apply(_creates("a", "b")))
    assert len(org.creates) == 1
    assert slept == []
    assert results[1].error is not None
    assert results[1].error.retriable  # the queue tries again after its own backoff
    target.close()


def test_budget_share_stops_the_run_with_partial_results() -> None:
    def usage(seen: Seen) -> Reply:
        reply = org(seen)
        return reply[0], reply[1], {"Sforce-Limit-Info": "api-usage=96/100"}  # 4 left

    org = FakeOrg()
    target = SalesforceTarget(
        {"budget_share": 0.5, "batch_size": 2}, settings=PASSWORD_SETTINGS, transport=FakeTransport(usage)
    )
    # describe (1 call) + one composite call (five 2-record creates) use the 2 allowed calls;
    # the sixth chunk must not go out.
    names = [f"n{i:02d}" for i in range(12)]
    applied = target.apply(_creates(*names))
    assert applied.stopped is not None
    assert applied.stopped.reason is StopReason.BUDGET
    assert "API budget: 2 of 2 calls" in applied.stopped.message
    assert [result.key for result in applied.results] == names[:10], "the last two were not sent"
    assert all(result.ok for result in applied.results)
    assert len(org.creates) == 5
    target.close()


def _parser_error_org(bad: set[str]) -> tuple[FakeOrg, Any]:
    org = FakeOrg()

    def handler(seen: Seen) -> Reply:
        if seen.path.endswith("/composite/sobjects") and any(r["Name"] in bad for r in seen.json["records"]):
            return 400, [
                {"errorCode": "JSON_PARSER_ERROR", "message": "Cannot deserialize instance of string"}
            ]
        return org(seen)

    return org, handler


def test_a_wholly_refused_call_is_split_to_find_the_bad_record() -> None:
    org, handler = _parser_error_org({"n5"})
    transport = FakeTransport(handler)
    target = SalesforceTarget({}, settings=PASSWORD_SETTINGS, transport=transport)
    results = finished(target.apply(_creates(*(f"n{i}" for i in range(8)))))
    target.close()
    assert [result.ok for result in results] == [True] * 5 + [False] + [True] * 2
    error = results[5].error
    assert error is not None
    assert error.code == "JSON_PARSER_ERROR"
    assert "other records" not in error.message
    creates = [seen for seen in transport.seen if seen.path.endswith("/composite/sobjects")]
    assert len(creates) <= 1 + 2 * 3  # halving 8 records takes at most three levels
    assert sorted(record["Name"] for call in org.creates for record in call) == [
        f"n{i}" for i in range(8) if i != 5
    ]


def test_isolation_is_bounded_when_everything_is_bad() -> None:
    names = [f"n{i}" for i in range(200)]
    _, handler = _parser_error_org(set(names))
    transport = FakeTransport(handler)
    target = SalesforceTarget({}, settings=PASSWORD_SETTINGS, transport=transport)
    results = finished(target.apply(_creates(*names)))
    target.close()
    assert not any(result.ok for result in results)
    assert all(result.error is not None and result.error.code == "JSON_PARSER_ERROR" for result in results)
    creates = [seen for seen in transport.seen if seen.path.endswith("/composite/sobjects")]
    assert len(creates) <= 1 + 32


def test_forbidden_call_is_not_split() -> None:
    def handler(seen: Seen) -> Reply:
        if seen.path.endswith("/composite/sobjects"):
            return 403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no access to Thing__c"}]
        return FakeOrg()(seen)

    transport = FakeTransport(handler)
    target = SalesforceTarget({}, settings=PASSWORD_SETTINGS, transport=transport)
    results = finished(target.apply(_creates("a", "b", "c")))
    target.close()
    assert [result.error.code if result.error else None for result in results] == ["INSUFFICIENT_ACCESS"] * 3
    assert len([seen for seen in transport.seen if seen.path.endswith("/composite/sobjects")]) == 1


def test_check_ready_fails_before_any_call_without_usable_credentials(tmp_path: Path) -> None:
    transport = FakeTransport(FakeOrg())
    nothing = SalesforceTarget({}, settings=SalesforceSettings(), transport=transport)
    with pytest.raises(ConfigError, match="no Salesforce credentials are configured"):
        nothing.check_ready()
    missing_key = SalesforceSettings(
        username="u@x.io", consumer_key="ck", private_key_file=str(tmp_path / "absent.pem")
    )
    jwt = SalesforceTarget({}, settings=missing_key, transport=transport)
    with pytest.raises(ConfigError, match="cannot read the Salesforce private key file"):
        jwt.check_ready()
    SalesforceTarget({}, settings=PASSWORD_SETTINGS, transport=transport).check_ready()
    assert transport.seen == [], "checking settings makes no call"


@pytest.mark.parametrize(
    ("reply", "retried_in_place"),
    [
        pytest.param(
            (500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "boom"}]), False, id="500-may-be-done"
        ),
        pytest.param((504, [{"errorCode": "UNKNOWN", "message": "gateway"}]), False, id="504-may-be-done"),
        pytest.param(
            (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}], {"Retry-After": "1"}),
            True,
            id="503-not-done",
        ),
    ],
)
def test_a_plain_create_is_not_repeated_blindly(reply: Reply, retried_in_place: bool) -> None:
    # a create that may have been carried out goes back to the queue, whose next plan looks it up
    org = FakeOrg()
    target, transport, slept = _target(org)
    target.describe("Thing__c")
    org.script = [reply]
    before = len(transport.seen)
    if retried_in_place:
        [result] = finished(target.apply(_creates("a")))
        assert result.ok
        assert slept == [1.0]
    else:
        with pytest.raises(TransientAdapterError, match="not sent again blindly"):
            target.apply(_creates("a"))
        assert slept == []
        assert len(transport.seen) == before + 1, "sent once"
    target.close()
