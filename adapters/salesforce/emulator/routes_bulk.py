"""Bulk API 2.0 ingest jobs (filled in below)."""

from __future__ import annotations

from starlette.routing import Route

routes: list[Route] = []
