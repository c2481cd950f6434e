"""SOAP ``login`` (``POST /services/Soap/u/{version}``), what simple-salesforce uses for
``Salesforce(username=, password=, security_token=)``. Only login is emulated, not the SOAP API."""

from __future__ import annotations

from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fieldline.adapters.salesforce.emulator.context import Emulator

__all__ = ["routes"]

PARTNER = "urn:partner.soap.sforce.com"
ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope'
    ' xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"'
    ' xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
)
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def _fault(code: str, message: str) -> Response:
    body = (
        f"<soapenv:Fault><faultcode>sf:{code}</faultcode><faultstring>{code}: {escape(message)}</faultstring>"
        f'<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>{code}</sf:exceptionCode>'
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault>"
    )
    return Response(ENVELOPE.format(body=body), status_code=500, media_type="text/xml;charset=UTF-8")


def _text(root: ElementTree.Element, name: str) -> str | None:
    element = root.find(f".//{{{PARTNER}}}{name}")
    return None if element is None else (element.text or "")


async def soap_login(request: Request) -> Response:
    emu: Emulator = request.app.state.emulator
    emu.count("soap_login")
    try:
        root = ElementTree.fromstring(await request.body())
    except ElementTree.ParseError:
        return _fault("INVALID_REQUEST", "The request body is not a SOAP envelope")
    username, password = _text(root, "username"), _text(root, "password")
    if username is None or password is None:
        return _fault("UNKNOWN_EXCEPTION", "Only the login call is emulated")
    creds = emu.sessions.credentials
    if username != creds.username or password != creds.password + creds.security_token:
        return _fault("INVALID_LOGIN", INVALID_LOGIN)
    base = str(request.base_url).rstrip("/")
    version = request.path_params["version"]
    org_id = emu.settings.org_id
    body = (
        "<loginResponse><result>"
        f"<metadataServerUrl>{base}/services/Soap/m/{version}/{org_id}</metadataServerUrl>"
        "<passwordExpired>false</passwordExpired><sandbox>false</sandbox>"
        f"<serverUrl>{base}/services/Soap/u/{version}/{org_id}</serverUrl>"
        f"<sessionId>{escape(emu.sessions.issue())}</sessionId><userId>{emu.settings.user_id}</userId>"
        f"<userInfo><organizationId>{org_id}</organizationId><userName>{escape(creds.username)}</userName>"
        "</userInfo></result></loginResponse>"
    )
    return Response(ENVELOPE.format(body=body), media_type="text/xml;charset=UTF-8")


routes = [Route("/services/Soap/u/{version}", soap_login, methods=["POST"])]
