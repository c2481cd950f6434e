"""The source adapter conformance suite: standard tests every :class:`SourceAdapter` should pass.

Templates assembled by :func:`get_source_test_class` into a pytest class::

    from fieldline.testing import get_source_test_class

    TestMySource = get_source_test_class(
        make_source=lambda request: MySource(...),  # a fresh source holding a few documents
        make_unready_source=lambda: MySource(api_key=None),  # optional: check_ready must refuse
    )

``make_source`` must give a source whose ``read()`` yields at least one document. With
``rereadable=True`` (the default) every ``read()`` call is a fresh pass over the same documents,
as a file or an API listing is; set it to ``False`` for a stream that hands each document out
once (then a second ``read()`` must still work, and may be empty).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import ClassVar

from fieldline.contracts import SourceAdapter, SourceDocument
from fieldline.testing.assertions import expect_config_error
from fieldline.testing.factories import build_test_class, suite_config

__all__ = ["TEMPLATES", "SourceTestConfig", "SourceTestTemplate", "get_source_test_class"]


@dataclass(frozen=True, slots=True)
class SourceTestConfig:
    """What the suite needs to know about the source under test.

    ``max_documents`` bounds how many documents the suite reads (a large source is not read
    to the end); ``unknown_key`` is a key the source has no document for.
    """

    make_source: Callable[..., SourceAdapter]
    make_unready_source: Callable[[], SourceAdapter] | None = None
    rereadable: bool = True
    max_documents: int = 50
    unknown_key: str = ""

    def absent_key(self) -> str:
        return self.unknown_key or f"fieldline-conformance-absent-{uuid.uuid4().hex}"


class SourceTestTemplate:
    """One standard test. Subclasses set ``name`` and implement :meth:`run`."""

    name: ClassVar[str] = ""

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        """Exercise ``source``; fail with ``AssertionError``."""
        raise NotImplementedError


# --- helpers -------------------------------------------------------------------------------


def _take(documents: Iterable[SourceDocument], limit: int) -> list[SourceDocument]:
    taken: list[SourceDocument] = []
    for document in documents:
        taken.append(document)
        if len(taken) >= limit:
            break
    return taken


def read_some(source: SourceAdapter, config: SourceTestConfig) -> list[SourceDocument]:
    """Up to ``max_documents`` documents of one ``read()``; at least one."""
    documents = _take(source.read(), config.max_documents)
    assert documents, "read() yielded no documents: make_source must give a source holding some"
    return documents


def check_document(document: object, where: str) -> None:
    """Fail unless ``document`` is a well-formed :class:`SourceDocument`."""
    assert isinstance(document, SourceDocument), f"{where}: expected a SourceDocument, got {document!r}"
    assert isinstance(document.key, str), f"{where}: key {document.key!r} is not a string"
    assert document.key, f"{where}: the key is empty"
    version = document.version
    if version is not None:
        assert isinstance(version, int | float), f"{where}: version {version!r} is not a number"
        assert not isinstance(version, bool), f"{where}: version {version!r} is a bool, not a number"
        assert math.isfinite(version), f"{where}: version {version!r} is not finite"


# --- templates -----------------------------------------------------------------------------


class ImplementsTheContract(SourceTestTemplate):
    """The source satisfies ``SourceAdapter`` and has a name."""

    name = "implements_the_contract"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        assert isinstance(source, SourceAdapter), "the source lacks a SourceAdapter method"
        assert isinstance(source.name, str), f"name {source.name!r} is not a string"
        assert source.name, "the source needs a non-empty name"


class ReadYieldsDocuments(SourceTestTemplate):
    """``read()`` yields ``SourceDocument``s with non-empty string keys and finite versions."""

    name = "read_yields_documents"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        for index, document in enumerate(read_some(source, config)):
            check_document(document, f"read()[{index}]")


class ReadAgain(SourceTestTemplate):
    """A second ``read()`` gives the same documents in the same order (a stream: it works)."""

    name = "read_again"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        first = read_some(source, config)
        second = _take(source.read(), config.max_documents)
        for index, document in enumerate(second):
            check_document(document, f"second read()[{index}]")
        if not config.rereadable:
            return
        assert [doc.key for doc in second] == [doc.key for doc in first], (
            "a second read() must give the same documents in the same order "
            "(pass rereadable=False for a source that streams each document once)"
        )
        assert [doc.data for doc in second] == [doc.data for doc in first], "a second read() changed data"


class FetchReturnsTheReadDocument(SourceTestTemplate):
    """``fetch(key)`` of a document ``read()`` gave returns that document's data."""

    name = "fetch_returns_the_read_document"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        for document in read_some(source, config)[:5]:
            fetched = source.fetch(document.key)
            assert fetched is not None, f"fetch({document.key!r}) is None for a document read() gave"
            check_document(fetched, f"fetch({document.key!r})")
            assert fetched.key == document.key, f"fetch({document.key!r}) returned key {fetched.key!r}"
            assert fetched.data == document.data, f"fetch({document.key!r}) data differs from read()"


class FetchUnknownIsNone(SourceTestTemplate):
    """``fetch`` of a key the source does not have is ``None``, not an error."""

    name = "fetch_unknown_is_none"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        key = config.absent_key()
        assert source.fetch(key) is None, f"fetch({key!r}) of an unknown key must be None"


class CheckReady(SourceTestTemplate):
    """``check_ready()`` passes for a configured source; an unready one raises ``ConfigError``."""

    name = "check_ready"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        source.check_ready()  # a configured source must be ready
        if config.make_unready_source is None:
            return
        with closing(config.make_unready_source()) as unready:
            expect_config_error(unready.check_ready, "check_ready() of make_unready_source()")


class CloseIsIdempotent(SourceTestTemplate):
    """``close()`` after a read, twice, is fine."""

    name = "close_is_idempotent"

    def run(self, source: SourceAdapter, config: SourceTestConfig) -> None:
        read_some(source, config)
        source.close()
        source.close()


TEMPLATES: tuple[type[SourceTestTemplate], ...] = (
    ImplementsTheContract,
    ReadYieldsDocuments,
    ReadAgain,
    FetchReturnsTheReadDocument,
    FetchUnknownIsNone,
    CheckReady,
    CloseIsIdempotent,
)


def get_source_test_class(
    *,
    make_source: Callable[..., SourceAdapter],
    make_unready_source: Callable[[], SourceAdapter] | None = None,
    rereadable: bool = True,
    max_documents: int = 50,
    unknown_key: str = "",
    templates: Sequence[type[SourceTestTemplate]] = TEMPLATES,
    class_name: str = "TestSourceConformance",
) -> type:
    """A pytest test class with one ``test_<template>`` per template.

    ``make_source`` returns a fresh source for each test (closed afterwards); if it takes one
    argument it receives pytest's ``request``, so it can use fixtures. ``make_unready_source``
    (no arguments) gives one lacking a setting, whose ``check_ready()`` must raise.
    """
    config = suite_config(SourceTestConfig, locals())
    return build_test_class(class_name=class_name, config=config, make=make_source, templates=templates)
