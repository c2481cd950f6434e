"""Hypothesis strategies for webhook requests: noise, odd JSON, and near-misses of a valid one.

Random bytes mostly test the JSON parser; the bugs that turn into 500s hide one step further,
where a parser trusts the shape of a document (``body["data"]["id"]``). So most examples keep
the valid sample's headers and mutate its JSON: keys dropped, values replaced by any JSON value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from fieldline.testing.webhook_suite import WebhookRequest

__all__ = ["json_documents", "requests_like"]

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)  # beyond float: overflow on conversion
    | st.floats()  # NaN and infinities: json.dumps writes NaN / Infinity, which is not JSON
    | st.text(max_size=20)
)


def json_documents() -> st.SearchStrategy[Any]:
    """Small JSON-ish values of every type (including NaN and huge numbers)."""
    return st.recursive(
        _SCALARS,
        lambda children: (
            st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )


@st.composite
def _mutated(draw: st.DrawFn, node: Any) -> Any:
    """``node`` with some keys dropped, some values replaced, some list items removed."""
    if isinstance(node, dict):
        mutated: dict[str, Any] = {}
        for key, value in node.items():
            choice = draw(st.integers(0, 5))
            if choice == 0:
                continue  # drop the key
            mutated[key] = draw(json_documents()) if choice == 1 else draw(_mutated(value))
        return mutated
    if isinstance(node, list):
        return [draw(_mutated(item)) for item in node if draw(st.integers(0, 5))]
    return draw(json_documents()) if draw(st.integers(0, 3)) == 0 else node


def _headers(valid: Mapping[str, str]) -> st.SearchStrategy[dict[str, str]]:
    noise = st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4)
    return st.one_of(
        st.just(dict(valid)),
        noise,
        noise.map(lambda extra: {**valid, **extra}),
        st.just(dict.fromkeys(valid, "")),
    )


def requests_like(valid: WebhookRequest) -> st.SearchStrategy[WebhookRequest]:
    """Requests near ``valid`` and far from it (see the module docstring)."""
    from fieldline.testing.webhook_suite import WebhookRequest

    headers = dict(valid.headers)
    bodies: list[st.SearchStrategy[bytes]] = [
        st.binary(max_size=200),
        json_documents().map(lambda document: json.dumps(document).encode("utf-8")),
    ]
    try:
        document = json.loads(valid.body)
    except ValueError:
        document = None  # a non-JSON format: noise only
    if document is not None:
        mutated = _mutated(document).map(lambda value: json.dumps(value).encode("utf-8"))
        bodies.extend([mutated, mutated])  # weighted: the near misses find the most
    return st.builds(WebhookRequest, body=st.one_of(bodies), headers=_headers(headers))
