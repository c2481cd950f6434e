"""The ``appevents`` source: named app events from an application (a SaaS product), each sent
with an RS256 JWT whose ``sub`` is the app user (the tenant) and checked against its event's
JSON Schema before it is accepted. See ``docs/app-events.md``."""
