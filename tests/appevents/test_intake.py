"""POST /webhooks/appevents: the JWT attack table (401, nothing queued), schema refusals (422
with every error), unknown tenants (403), and accepted events (200, queued, deduped by id)."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.appevents.conftest import Receiver
from tests.appevents.support import bearer, body, event, key_pair, lead, token


def _b64(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).rstrip(b"=").decode()


def _unsigned(header: dict[str, object], claims: dict[str, object], signature: str = "") -> str:
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


NOW = int(time.time())
GOOD_CLAIMS = {"sub": "user-1", "iat": NOW, "exp": NOW + 600}


def _hs256(secret: str | bytes) -> str:
    # PyJWT refuses a PEM as an HMAC secret, so the attacker's token is assembled by hand
    import hashlib
    import hmac

    key = secret.encode() if isinstance(secret, str) else secret
    head = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{_b64(GOOD_CLAIMS)}"
    mac = hmac.new(key, head.encode(), hashlib.sha256).digest()
    return f"{head}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


ATTACKS = [
    pytest.param(dict, "no Authorization header", id="no-header"),
    pytest.param(lambda: {"Authorization": f"Basic {token()}"}, "Bearer", id="basic-scheme"),
    pytest.param(lambda: {"Authorization": "Bearer"}, "Bearer", id="empty-bearer"),
    pytest.param(lambda: bearer(_unsigned({"alg": "none", "typ": "JWT"}, GOOD_CLAIMS)), "alg", id="alg-none"),
    pytest.param(lambda: bearer(_unsigned({"alg": "None"}, GOOD_CLAIMS)), "alg", id="alg-None"),
    pytest.param(lambda: bearer(_hs256("a-guessed-secret")), "alg", id="hs256"),
    pytest.param(lambda: bearer(_hs256(key_pair(0).public_pem)), "alg", id="hs256-public-key-as-secret"),
    pytest.param(lambda: bearer(token(number=1)), "signature", id="signed-by-another-key"),
    pytest.param(lambda: bearer(token(exp=NOW - 3600)), "'exp'", id="expired"),
    pytest.param(lambda: bearer(token(iat=NOW + 3600, exp=NOW + 7200)), "'iat'", id="issued-in-the-future"),
    pytest.param(lambda: bearer(token(nbf=NOW + 3600)), "'nbf'", id="not-yet-valid"),
    pytest.param(lambda: bearer(token(sub=None)), "'sub'", id="no-sub"),
    pytest.param(lambda: bearer(token(iat=None)), "'iat'", id="no-iat"),
    pytest.param(lambda: bearer(token(exp=None)), "'exp'", id="no-exp"),
    pytest.param(lambda: bearer(token(iat="yesterday")), "'iat'", id="iat-not-a-number"),
    pytest.param(lambda: bearer(token(sub=42)), "'sub'", id="sub-not-a-string"),
    pytest.param(lambda: bearer("not-a-jwt"), "not a JWT", id="not-a-jwt"),
    pytest.param(lambda: bearer("a.b.c"), "malformed", id="malformed-header"),
    pytest.param(
        lambda: bearer(_unsigned({"alg": "RS256"}, GOOD_CLAIMS, "c2ln")), "signature", id="bad-signature"
    ),
    pytest.param(lambda: bearer("eyJhbGciOiJSUzI1NiJ9" + "." * 2), "signature", id="empty-parts"),
    pytest.param(
        lambda: bearer(token()[:-6] + ("AAAAAA" if not token().endswith("AAAAAA") else "BBBBBB")),
        "signature",
        id="tampered-signature",
    ),
    pytest.param(
        lambda: bearer(
            jwt.encode(GOOD_CLAIMS, key_pair(0).private_pem, algorithm="RS256").split(".")[0]
            + "."
            + _b64({**GOOD_CLAIMS, "sub": "user-2"})
            + "."
            + jwt.encode(GOOD_CLAIMS, key_pair(0).private_pem, algorithm="RS256").split(".")[2]
        ),
        "signature",
        id="sub-swapped-after-signing",
    ),
]


@pytest.mark.parametrize(("headers", "reason"), ATTACKS)
def test_every_attack_is_401_with_the_challenge_and_nothing_is_queued(
    receiver: Receiver, headers: object, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    sent = headers()  # type: ignore[operator]
    answer = receiver.post(body(event()), sent)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert reason in answer.json()["error"]
    assert "Traceback" not in answer.text
    assert receiver.queued == 0
    authorization = sent.get("Authorization", "")
    credential = authorization.partition(" ")[2]
    if len(credential) > 8:
        assert credential not in caplog.text  # the token never reaches the log
        assert credential not in answer.text


def test_several_keys_need_a_kid_that_names_one_of_them(tmp_path: object) -> None:
    from pathlib import Path

    from tests.appevents.support import make_source

    folder = Path(str(tmp_path))
    (folder / "jwks.json").parent.mkdir(parents=True, exist_ok=True)
    (folder / "jwks.json").write_text(
        json.dumps({"keys": [key_pair(0).jwk("2026-11"), key_pair(1).jwk("2026-12")]})
    )
    source = make_source(folder, public_keys="jwks.json")
    from fieldline.errors import WebhookError

    for sent, reason in [
        (token(), "no kid"),
        (token(kid="2025-01"), "names no configured key"),
        (token(kid="2026-12"), "signature"),  # key 0 signed, but the kid names key 1
    ]:
        with pytest.raises(WebhookError) as refused:
            source.parse_webhook(bearer(sent), body(event()))
        assert refused.value.status == 401
        assert reason in str(refused.value)
    # rotation: both the old and the new key verify their own tokens
    assert source.parse_webhook(bearer(token(kid="2026-11")), body(event()))
    assert source.parse_webhook(bearer(token(number=1, kid="2026-12")), body(event()))


def test_audience_and_issuer_are_checked_when_configured(tmp_path: object) -> None:
    from pathlib import Path

    from fieldline.errors import WebhookError
    from tests.appevents.support import make_source

    source = make_source(Path(str(tmp_path)), audience="fieldline", issuer="https://app.example")
    good = token(aud="fieldline", iss="https://app.example")
    assert source.parse_webhook(bearer(good), body(event()))
    for sent, claim in [
        (token(iss="https://app.example"), "'aud'"),
        (token(aud="someone-else", iss="https://app.example"), "'aud'"),
        (token(aud="fieldline"), "'iss'"),
        (token(aud="fieldline", iss="https://evil.example"), "'iss'"),
    ]:
        with pytest.raises(WebhookError, match=claim) as refused:
            source.parse_webhook(bearer(sent), body(event()))
        assert refused.value.status == 401


def test_leeway_accepts_small_clock_skew_only(tmp_path: object) -> None:
    from pathlib import Path

    from fieldline.errors import WebhookError
    from tests.appevents.support import make_source

    source = make_source(Path(str(tmp_path)), leeway=30)
    assert source.parse_webhook(bearer(token(exp=NOW - 10)), body(event()))  # within the leeway
    assert source.parse_webhook(bearer(token(iat=NOW + 10)), body(event()))
    with pytest.raises(WebhookError, match="expired"):
        source.parse_webhook(bearer(token(exp=NOW - 60)), body(event()))


def test_a_payload_failing_its_schema_is_422_with_every_error(receiver: Receiver) -> None:
    payload = {"email": "not-an-address", "lst_name": "Lovelace", "source": "tv"}
    answer = receiver.post(body(event(payload=payload)), bearer(token()))
    assert answer.status_code == 422
    [failure] = answer.json()["failed"]
    assert failure["index"] == 0
    assert failure["name"] == "Lead Created"
    assert {(error["pointer"], error["keyword"]) for error in failure["errors"]} == {
        ("/payload", "additionalProperties"),
        ("/payload", "required"),
        ("/payload/email", "format"),
        ("/payload/source", "enum"),
    }
    assert all(error["message"] for error in failure["errors"])
    assert receiver.queued == 0


def test_an_unknown_event_name_is_422_naming_the_known_ones(receiver: Receiver) -> None:
    answer = receiver.post(body(event(name="Trial Started")), bearer(token()))
    assert answer.status_code == 422
    message = answer.json()["failed"][0]["errors"][0]["message"]
    assert "'Trial Started'" in message
    assert "'Lead Created', 'Lead Updated'" in message
    assert receiver.queued == 0


def test_a_batch_is_all_or_nothing_and_names_the_failing_elements(receiver: Receiver) -> None:
    batch = [
        event(payload=lead("a@example.com")),
        event(payload={"email": "b@example.com"}),  # no last_name
        event(name="Lead Updated", payload=lead("c@example.com")),
        event(name="Lead Updated", payload={"email": "d@example.com"}),  # minProperties
    ]
    answer = receiver.post(body(batch), bearer(token()))
    assert answer.status_code == 422
    assert [failure["index"] for failure in answer.json()["failed"]] == [1, 3]
    assert "elements 1, 3" in answer.json()["error"]
    assert receiver.queued == 0
    good = receiver.post(body([batch[0], batch[2]]), bearer(token()))
    assert good.status_code == 200
    assert good.json()["queued"] == 2


def test_a_tenant_without_a_connection_is_403_and_nothing_is_queued(receiver: Receiver) -> None:
    answer = receiver.post(body(event()), bearer(token(sub="user-9")))
    assert answer.status_code == 403
    assert "'user-9'" in answer.json()["error"]
    assert receiver.queued == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="not-json"),
        pytest.param(b"[]", id="empty-batch"),
        pytest.param(b'"Lead Created"', id="a-string"),
        pytest.param(body({"payload": lead()}), id="no-name"),
        pytest.param(body({"name": "Lead Created", "payload": [1]}), id="payload-not-an-object"),
        pytest.param(body({**event(), "sub": "user-2"}), id="sub-in-the-body"),
        pytest.param(body({**event(), "extra": 1}), id="unknown-member"),
        pytest.param(body({**event(), "id": {"a": 1}}), id="id-not-a-string"),
        pytest.param(body({**event(), "timestamp": "tomorrow"}), id="bad-timestamp"),
    ],
)
def test_a_malformed_body_is_400_after_authentication(receiver: Receiver, content: bytes) -> None:
    assert receiver.post(content, bearer(token())).status_code == 400
    assert receiver.post(content, {}).status_code == 401  # an unauthenticated sender learns nothing
    assert receiver.queued == 0


def test_an_accepted_event_is_queued_with_its_tenant_and_deduplicated_by_id(receiver: Receiver) -> None:
    sent = body(event(payload=lead("Ada@Example.com"), id="evt-1"))
    first = receiver.post(sent, bearer(token()))
    again = receiver.post(sent, bearer(token(iat=NOW - 5)))  # a retry, with a fresh token
    other_tenant = receiver.post(sent, bearer(token(sub="user-2")))
    assert first.json() == {"accepted": 1, "queued": 1, "duplicates": 0, "ignored": 0}
    assert again.json()["duplicates"] == 1
    assert other_tenant.json()["queued"] == 1  # the same id from another tenant is another event
    jobs = receiver.queue.claim("t", limit=10, lease_seconds=30)
    assert sorted((job.tenant, job.event_id, job.lock_key) for job in jobs) == [
        ("user-1", "user-1/evt-1", "user-1/ada@example.com"),
        ("user-2", "user-2/evt-1", "user-2/ada@example.com"),
    ]
    assert jobs[0].payload["payload"]["email"] == "Ada@Example.com"
    assert jobs[0].payload["sub"] == jobs[0].tenant
