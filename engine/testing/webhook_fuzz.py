"""Requests a webhook parser must survive: near misses of a valid one, and noise.

Random bytes mostly test the JSON parser; the bugs that turn into 500s hide one step further,
where a parser trusts the shape of a document (``body["data"]["id"]``, ``float(body["at"])``).
So :func:`near_misses` changes the valid sample one place at a time, every place, to every
:data:`HOSTILE_VALUES` value or away (deterministic, exhaustive), and :func:`requests_like`
lets Hypothesis combine such changes with odd headers and arbitrary bodies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

if TYPE_CHECKING:
    from fieldline.testing.webhook_suite import WebhookRequest

__all__ = ["HOSTILE_VALUES", "json_documents", "near_misses", "requests_like"]

_DELETED = object()

HOSTILE_VALUES: tuple[Any, ...] = (
    None,
    True,
    0,
    -1,
    1.5,
    10**400,  # beyond float: float() overflows
    -(10**400),
    float("nan"),  # json.dumps writes NaN / Infinity, which json.loads reads back by default
    float("inf"),
    "",
    " ",
    "\x00",
    "NaN",
    "9" * 400,
    [],
    {},
    [None],
    {"": None},
)
"""Values a parser tends to trust wrongly: wrong types, blanks, numbers beyond float."""


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _parsed(request: WebhookRequest) -> tuple[bool, Any]:
    try:
        return True, json.loads(request.body)
    except ValueError:
        return False, None  # not JSON: only noise applies


def _places(node: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """``(path, replace)`` for ``node`` and everything in it; ``replace(value)`` gives a copy
    of ``node`` with that place set to ``value`` (or removed, for ``_DELETED``)."""
    yield path, lambda value: value
    children: list[tuple[Any, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node))
    for key, child in children:
        child_path = f"{path}.{key}" if isinstance(node, dict) else f"{path}[{key}]"
        for inner_path, replace_inner in _places(child, child_path):
            yield inner_path, _replacer(node, key, replace_inner)


def _replacer(node: Any, key: Any, replace_inner: Any) -> Any:
    def replace(value: Any) -> Any:
        copy = dict(node) if isinstance(node, dict) else list(node)
        new = replace_inner(value)
        if new is _DELETED:
            del copy[key]
        else:
            copy[key] = new
        return copy

    return replace


def near_misses(valid: WebhookRequest) -> Iterator[tuple[str, WebhookRequest]]:
    """``(what changed, request)`` for every place of the valid JSON body set to every hostile
    value or removed, each with the valid headers."""
    from fieldline.testing.webhook_suite import WebhookRequest

    is_json, document = _parsed(valid)
    if not is_json:
        return
    for path, replace in _places(document):
        for value in (_DELETED, *HOSTILE_VALUES):
            if value is _DELETED and path == "$":
                continue
            what = f"{path} removed" if value is _DELETED else f"{path} = {value!r:.40}"
            yield what, WebhookRequest(_json(replace(value)), dict(valid.headers))


_SCALARS = (
    st.sampled_from(HOSTILE_VALUES)
    | st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
)


def json_documents() -> st.SearchStrategy[Any]:
    """Small JSON-ish values of every type (including NaN and numbers beyond float)."""
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
    return draw(json_documents()) if draw(st.integers(0, 2)) == 0 else node


def _noise_headers() -> st.SearchStrategy[dict[str, str]]:
    return st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4)


def requests_like(valid: WebhookRequest) -> st.SearchStrategy[WebhookRequest]:
    """Mutated copies of ``valid`` with its headers (plus noise), and arbitrary requests."""
    from fieldline.testing.webhook_suite import WebhookRequest

    headers: Mapping[str, str] = dict(valid.headers)
    anything = st.builds(
        WebhookRequest,
        body=st.binary(max_size=200) | json_documents().map(_json),
        headers=_noise_headers() | st.just(dict(headers)) | st.just(dict.fromkeys(headers, "")),
    )
    is_json, document = _parsed(valid)
    if not is_json:
        return anything
    near = st.builds(
        WebhookRequest,
        body=_mutated(document).map(_json),
        headers=st.just(dict(headers)) | _noise_headers().map(lambda extra: {**extra, **headers}),
    )
    return near | near | anything  # weighted: the near misses find the most
