"""Who the emulated user is: the seeded ``User`` and ``Organization`` records, the identity URL
``/id/{org}/{user}`` every token response hands out, and OpenID Connect's ``/services/oauth2/userinfo``.

Shapes follow Salesforce's "Identity URLs" and "UserInfo endpoint" help pages: both take the access
token as ``Authorization: Bearer`` (or the ``oauth_token`` parameter), answer ``403 Bad_OAuth_Token``
for a bad one, and the identity URL answers ``404 Bad_Id`` for another org's or user's ids.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from fieldline.adapters.salesforce.emulator.context import Emulator, json_response
from fieldline.adapters.salesforce.emulator.ids import normalize_id
from fieldline.adapters.salesforce.emulator.routing import resource
from fieldline.adapters.salesforce.emulator.state import LATEST_VERSION
from fieldline.adapters.salesforce.emulator.store import Record, Store, now_iso

__all__ = ["routes", "seed_identity"]

ORGANIZATION_NAME = "fieldline emulator"


def seed_identity(store: Store, org_id: str, user_id: str, username: str) -> None:
    """Put the built-in user and its org in the store, unless an org file left the objects out."""
    now = now_iso()
    system = {"IsDeleted": False, "CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now}
    seeds: list[tuple[str, Record]] = [
        (
            "User",
            {
                "Id": user_id,
                "FirstName": "Integration",
                "LastName": "User",
                "Name": "Integration User",
                "Username": username,
                "Email": username,
                "Alias": "integ",
                "IsActive": True,
                "UserType": "Standard",
                "TimeZoneSidKey": "GMT",
                "LocaleSidKey": "en_US",
                "LanguageLocaleKey": "en_US",
            },
        ),
        (
            "Organization",
            {
                "Id": org_id,
                "Name": ORGANIZATION_NAME,
                "IsSandbox": False,
                "OrganizationType": "Developer Edition",
                "InstanceName": "EMU1",
                "NamespacePrefix": None,
                "TrialExpirationDate": None,
                "LanguageLocaleKey": "en_US",
                "TimeZoneSidKey": "GMT",
            },
        ),
    ]
    for object_name, record in seeds:
        table = store.table(object_name)
        if table is not None and record["Id"] not in table.rows:
            table.put({**system, **record})


def _bearer(request: Request, emu: Emulator) -> str | None:
    token = emu.sessions.token_from_header(request.headers.get("authorization"))
    token = token or request.query_params.get("oauth_token")
    return token if token and emu.sessions.is_valid(token) else None


def _urls(base: str, version: str, org_id: str, user_id: str) -> dict[str, str]:
    data = f"{base}/services/data/v{version}"
    return {
        "enterprise": f"{base}/services/Soap/c/{version}/{org_id[:15]}",
        "metadata": f"{base}/services/Soap/m/{version}/{org_id[:15]}",
        "partner": f"{base}/services/Soap/u/{version}/{org_id[:15]}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "profile": f"{base}/{user_id}",
        "custom_domain": base,
    }


def _user_facts(request: Request, emu: Emulator) -> dict[str, Any]:
    settings = emu.settings
    table = emu.store.table("User")
    user = table.rows.get(settings.user_id, {}) if table is not None else {}
    base = str(request.base_url).rstrip("/")
    # Without ?version= the URLs keep the literal "{version}", as Salesforce's do.
    version = request.query_params.get("version", "{version}")
    version = LATEST_VERSION if version == "latest" else version
    return {
        "identity": f"{base}/id/{settings.org_id}/{settings.user_id}",
        "user_id": settings.user_id,
        "organization_id": settings.org_id,
        "username": user.get("Username", settings.username),
        "display_name": user.get("Name", "Integration User"),
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "email": user.get("Email", settings.username),
        "urls": _urls(base, version, settings.org_id, settings.user_id),
        "last_modified": user.get("LastModifiedDate", now_iso()),
    }


def _bad_token() -> Response:
    return PlainTextResponse("Bad_OAuth_Token", 403)


# The emulated user's account settings, the same in the identity URL's answer and in userinfo.
_USER_SETTINGS = {
    "active": True,
    "user_type": "STANDARD",
    "language": "en_US",
    "locale": "en_US",
    "utcOffset": 0,
}


async def identity(request: Request) -> Response:
    """``GET /id/{orgId}/{userId}``: the user's details and the org's API endpoints."""
    emu: Emulator = request.app.state.emulator
    emu.count("identity")
    if _bearer(request, emu) is None:
        return _bad_token()
    settings = emu.settings
    asked = (normalize_id(request.path_params["org_id"]), normalize_id(request.path_params["user_id"]))
    if asked != (settings.org_id, settings.user_id):
        return PlainTextResponse("Bad_Id", 404)
    facts = _user_facts(request, emu)
    return json_response(
        {
            "id": facts["identity"],
            "asserted_user": True,
            "user_id": facts["user_id"],
            "organization_id": facts["organization_id"],
            "username": facts["username"],
            "nick_name": facts["username"].partition("@")[0],
            "display_name": facts["display_name"],
            "email": facts["email"],
            "email_verified": True,
            "first_name": facts["first_name"],
            "last_name": facts["last_name"],
            "timezone": "GMT",
            "photos": {},
            "addr_street": None,
            "addr_city": None,
            "addr_state": None,
            "addr_country": None,
            "addr_zip": None,
            "mobile_phone": None,
            "mobile_phone_verified": False,
            "is_lightning_login_user": False,
            "status": {"created_date": None, "body": None},
            "urls": facts["urls"],
            **_USER_SETTINGS,
            "last_modified_date": facts["last_modified"],
            "is_app_installed": True,
        }
    )


async def userinfo(request: Request) -> Response:
    """``GET|POST /services/oauth2/userinfo``: the OpenID Connect claims of the token's user."""
    emu: Emulator = request.app.state.emulator
    emu.count("identity")
    if _bearer(request, emu) is None:
        return _bad_token()
    facts = _user_facts(request, emu)
    return json_response(
        {
            "sub": facts["identity"],
            "user_id": facts["user_id"],
            "organization_id": facts["organization_id"],
            "preferred_username": facts["username"],
            "nickname": facts["username"].partition("@")[0],
            "name": facts["display_name"],
            "email": facts["email"],
            "email_verified": True,
            "given_name": facts["first_name"],
            "family_name": facts["last_name"],
            "zoneinfo": "GMT",
            "photos": {},
            "profile": facts["urls"]["profile"],
            "picture": None,
            "address": {},
            "urls": facts["urls"],
            **_USER_SETTINGS,
            "updated_at": facts["last_modified"],
        }
    )


routes = [
    *resource("/id/{org_id}/{user_id}", slash=True, GET=identity, POST=identity),
    *resource("/services/oauth2/userinfo", GET=userinfo, POST=userinfo),
]
