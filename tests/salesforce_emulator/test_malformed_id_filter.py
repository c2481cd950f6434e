"""Salesforce refuses a query whose WHERE compares an id field with a malformed id."""

from __future__ import annotations

import httpx

from fieldline.adapters.salesforce.emulator.server import running_emulator


def test_malformed_id_literal_fails_the_query() -> None:
    with (
        running_emulator() as emulator,
        httpx.Client(
            base_url=f"{emulator.url}/services/data/v59.0",
            headers={"Authorization": f"Bearer {emulator.token}"},
        ) as client,
    ):
        bad = client.get(
            "/query", params={"q": "SELECT Id FROM Account WHERE Id IN ('001000000000001AAA', 'Acct-1')"}
        )
        assert bad.status_code == 400
        (error,) = bad.json()
        assert error["errorCode"] == "INVALID_QUERY_FILTER_OPERATOR"
        assert "invalid ID field: Acct-1" in error["message"]
        good = client.get("/query", params={"q": "SELECT Id FROM Account WHERE Id = '001000000000001'"})
        assert good.status_code == 200
        assert good.json()["totalSize"] == 0
