"""The webhook receiver: verify, persist durably, answer fast.

One app serves every spec's source: ``POST /webhooks/{source}`` goes to that source's adapter
and its jobs are queued under that name. It reads the exact bytes (up to a size limit, else 413), lets the
source adapter verify and parse them (``parse_webhook``; its :class:`WebhookError` carries the
status: 401 wrong secret, 400 malformed), and answers 200 only after the events are committed
to the queue. Requests arriving together share one commit: a single writer thread drains
every pending request into one transaction (group commit), then wakes each request. No request
can fail another's commit: when a group commit fails, each of its requests is committed alone,
so only the culprit hears of the failure.

Hostile input gets a 4xx and one log line, never a traceback: a body sent slower than
``body_timeout`` is 408, a client gone mid-body is logged and dropped, events the queue could
not store as text (lone surrogates, absurd nesting) are 400 whatever the source adapter let through.

Events the spec does not process (``source.is_enabled(type)`` is false) are stored as
``ignored``: recorded, acknowledged, never handed to a worker.

``GET /status`` gives the queue status as JSON (all sources together, and each one under
``sources``), to operators only (:mod:`fieldline.service.admin_auth`); ``GET /healthz`` says,
to anyone and without details, whether the writer runs and the queue can store
(:mod:`fieldline.service.health`). Requests for a ``Host`` not allowed get 400.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue as thread_queue
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from fieldline.contracts import SourceEvent, WebhookSource
from fieldline.errors import FieldlineError, WebhookError
from fieldline.lookups.auth import CallerAuth
from fieldline.lookups.directory import LookupDirectory
from fieldline.queue.jobs import EnqueueGroup, EnqueueResult, JobQueue
from fieldline.queue.run_store import redact
from fieldline.service.admin_auth import AdminAccess, HostCheck, admin_only
from fieldline.service.health import StorageProbe
from fieldline.service.lookup_routes import LookupEndpoints

__all__ = ["GroupCommitter", "ServiceSettings", "create_app"]

logger = logging.getLogger("fieldline.service")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Receiver limits and status thresholds."""

    max_body_bytes: int = 5 * 1024 * 1024  # a PassFort batch is at most 100 small envelopes
    stalled_after: float = 300.0  # status says "stalled" when the oldest waiting job is older
    max_group: int = 500  # requests per group commit
    health_probe_interval: float = 1.0  # /healthz reuses a storage probe this young (seconds)
    body_timeout: float = 30.0  # seconds to receive the whole body once the headers are in


class _Pending:
    __slots__ = ("future", "group", "loop")

    def __init__(self, group: EnqueueGroup, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]):
        self.group = group
        self.loop = loop
        self.future = future


class GroupCommitter:
    """One writer thread that commits the events of many concurrent requests together."""

    def __init__(
        self,
        queue: JobQueue,
        *,
        max_group: int = 500,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.queue = queue
        self.max_group = max_group
        self.on_commit = on_commit
        self._inbox: thread_queue.SimpleQueue[_Pending | None] = thread_queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.commits = 0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="fieldline-webhook-writer", daemon=True)
            self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        """Commit what is pending, then stop the writer."""
        if self._thread is not None:
            self._inbox.put(None)
            self._thread.join(timeout)
            self._thread = None

    async def submit(self, group: EnqueueGroup) -> EnqueueResult:
        """Resolve once ``group`` is committed (or raise the queue's error)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EnqueueResult] = loop.create_future()
        self._inbox.put(_Pending(group, loop, future))
        return await future

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._inbox.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_group:
                try:
                    item = self._inbox.get_nowait()
                except thread_queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: Sequence[_Pending]) -> None:
        try:
            results = self.queue.enqueue_groups([pending.group for pending in batch])
        except Exception as exc:
            if len(batch) == 1:
                _resolve(batch[0], exception=exc)
                return
            # A failed transaction stored nothing. One request's events may be what failed it:
            # commit each request alone, so only the culprits (or all, if the disk is failing) fail.
            logger.warning(
                "webhook group commit of %d requests failed (%s); committing each alone",
                len(batch),
                type(exc).__name__,
            )
            for pending in batch:
                self._commit([pending])
            return
        self.commits += 1
        for pending, result in zip(batch, results, strict=True):
            _resolve(pending, result=result)
        if self.on_commit is not None:
            self.on_commit()


def _resolve(
    pending: _Pending, *, result: EnqueueResult | None = None, exception: BaseException | None = None
) -> None:
    def settle() -> None:
        if pending.future.done():
            return  # the request was cancelled (client went away); the events are stored anyway
        if exception is not None:
            pending.future.set_exception(exception)
        else:
            pending.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop already closed at shutdown
        pending.loop.call_soon_threadsafe(settle)


class _BodyTooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The body, at most ``limit`` bytes (else :class:`_BodyTooLarge`), within ``timeout`` seconds
    (else :class:`TimeoutError`); :class:`ClientDisconnect` when the client goes away."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async with asyncio.timeout(timeout):  # a slow sender must not hold a connection for ever
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _BodyTooLarge
            chunks.append(chunk)
    return b"".join(chunks)


# Errors a queue raises for the events themselves (text it cannot encode, nesting it cannot
# serialise): retrying cannot help, so the sender is told 400, not 503.
_DATA_ERRORS = (ValueError, TypeError, RecursionError, OverflowError)

# Deeper payloads than this are refused at intake: serialising them recurses.
MAX_PAYLOAD_DEPTH = 64


def _unstorable(events: Sequence[SourceEvent], body: bytes) -> str | None:
    """Why the queue could not store ``events`` as text, or ``None``: every string must encode
    as UTF-8 and payloads nest at most :data:`MAX_PAYLOAD_DEPTH` levels. No recursion, whatever
    the source adapter let through.

    Fast for the ordinary request: nesting is counted over containers only, and text needs no
    check when the body has no ``\\u`` escape and no byte of a UTF-8-encoded surrogate (the
    events' text comes from it). Otherwise every id is checked, the payloads are encoded all at
    once (C code), and only a failure is walked string by string to name the event. (Text an
    adapter made up from nothing would still fail its own commit: 400 for that request alone.)
    """
    for index, event in enumerate(events):
        if _levels(event.payload) > MAX_PAYLOAD_DEPTH:
            return f"event {index}: its payload nests deeper than {MAX_PAYLOAD_DEPTH} levels"
    # One-byte scans (memchr): no backslash, no \\u escape; a two-byte search costs far more.
    if b"\\" not in body and b"\xed" not in body:
        return None
    for index, event in enumerate(events):
        texts = [("id", event.id), ("type", event.type), ("entity key", event.entity_key)]
        texts.extend(("ordering key", key) for key in event.ordering_keys)
        for what, text in texts:
            if not isinstance(text, str) or not _encodable(text):
                return f"event {index}: its {what} is not valid Unicode text"
    try:
        json.dumps([event.payload for event in events], ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError):
        pass
    else:
        return None
    for index, event in enumerate(events):
        stack: list[Any] = [event.payload]
        while stack:
            value = stack.pop()
            if isinstance(value, str):
                if not _encodable(value):
                    return f"event {index}: its payload holds text that is not valid Unicode"
            elif isinstance(value, Mapping):
                for key, child in value.items():
                    if isinstance(key, str) and not _encodable(key):
                        return f"event {index}: its payload holds a key that is not valid Unicode"
                    stack.append(child)
            elif isinstance(value, list | tuple):
                stack.extend(value)
    return None


def _levels(payload: Any) -> int:
    """How many levels of containers ``payload`` nests (0 for a scalar), level by level;
    exact dicts and lists (all a JSON parser makes) skip the ABC checks."""
    level = [payload] if _is_container(payload) else []
    levels = 0
    while level:
        deeper: list[Any] = []
        append = deeper.append
        for container in level:
            kind = type(container)
            children = (
                container.values()
                if kind is dict or (kind is not list and isinstance(container, Mapping))
                else container
            )
            for child in children:
                kind = type(child)
                if kind is dict or kind is list or (kind not in _SCALARS and _is_container(child)):
                    append(child)
        level = deeper
        levels += 1
        if levels > MAX_PAYLOAD_DEPTH:
            break  # too deep already: the caller refuses it
    return levels


_SCALARS = (str, int, float, bool, type(None))


def _is_container(value: Any) -> bool:
    return type(value) in (dict, list) or isinstance(value, Mapping | list | tuple)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \uD800 escape can produce
        return False
    return True


def create_app(
    *,
    queue: JobQueue,
    sources: Mapping[str, WebhookSource],
    settings: ServiceSettings | None = None,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    wake: threading.Event | None = None,
    admin: AdminAccess | None = None,
    lookups: tuple[LookupDirectory, CallerAuth] | None = None,
    console: ASGIApp | None = None,
) -> Starlette:
    """The webhook service for every source in ``sources`` (endpoint name -> adapter).

    ``wake`` is set after each commit so in-process workers claim at once;
    ``on_startup``/``on_shutdown`` start and stop them. ``admin``: the operator token and the
    ``Host`` names answered (default: no token, so admin endpoints answer loopback clients
    only; loopback names only). ``lookups``: the specs' lookups and the credentials of
    their callers (:mod:`fieldline.service.lookup_routes`); their call statistics join ``/status``.
    ``console``: the operator's console (:mod:`fieldline.console`), served under ``/ui``."""
    config = settings or ServiceSettings()
    access = admin or AdminAccess()
    probe = StorageProbe(queue, max_age=config.health_probe_interval)
    committer = GroupCommitter(queue, max_group=config.max_group, on_commit=wake.set if wake else None)
    endpoints = ", ".join(f"/webhooks/{name}" for name in sorted(sources))

    async def receive(request: Request) -> Response:
        name = request.path_params["source"]
        source = sources.get(name)
        if source is None:
            return JSONResponse(
                {"error": f"no webhook source {name!r}; this service receives {endpoints}"},
                status_code=404,
            )
        try:
            body = await _read_body(request, config.max_body_bytes, config.body_timeout)
        except _BodyTooLarge:
            logger.warning("webhook %s: refused a body over %d bytes (413)", name, config.max_body_bytes)
            return JSONResponse({"error": f"body larger than {config.max_body_bytes} bytes"}, status_code=413)
        except TimeoutError:
            logger.warning("webhook %s: the body took over %g s to arrive (408)", name, config.body_timeout)
            return JSONResponse(
                {"error": f"the body did not arrive within {config.body_timeout:g} seconds"},
                status_code=408,
                headers={"connection": "close"},
            )
        except ClientDisconnect:
            logger.info("webhook %s: the client went away before sending the whole body", name)
            return Response(status_code=400)  # nobody reads it; uvicorn drops it
        try:
            events = source.parse_webhook(request.headers, body)
        except WebhookError as exc:
            logger.warning("webhook %s: refused (%d): %s", name, exc.status, exc)
            answer = {"error": str(exc), **exc.details}
            return JSONResponse(answer, status_code=exc.status, headers=exc.headers)
        except Exception as exc:  # an adapter bug must not leak a traceback to the sender
            logger.error("webhook %s: the source adapter failed: %s: %s", name, type(exc).__name__, exc)
            return JSONResponse({"error": "the webhook could not be parsed"}, status_code=500)
        problem = _unstorable(events, body)
        if problem is not None:
            logger.warning("webhook %s: refused (400): %s", name, problem)
            return JSONResponse({"error": f"the events cannot be stored: {problem}"}, status_code=400)
        ignored = frozenset(event.id for event in events if not source.is_enabled(event.type))
        group = EnqueueGroup(source=name, events=[_redacted(event) for event in events], ignored=ignored)
        try:
            result = await committer.submit(group)
        except _DATA_ERRORS as exc:  # these events alone failed their commit: retrying cannot help
            logger.warning("webhook %s: refused (400): the events cannot be stored: %s", name, exc)
            return JSONResponse({"error": "the events cannot be stored as sent"}, status_code=400)
        except Exception as exc:  # the sender must retry; never a traceback in the answer
            reason = (
                str(exc) if isinstance(exc, FieldlineError) else f"unexpected {type(exc).__name__}: {exc}"
            )
            logger.error("webhook %s: could not store %d events: %s", name, len(events), reason)
            return JSONResponse({"error": "the events could not be stored; retry later"}, status_code=503)
        return JSONResponse(
            {
                "accepted": result.accepted,
                "queued": result.queued,
                "duplicates": result.duplicates,
                "ignored": result.ignored,
            }
        )

    def status_document() -> dict[str, Any]:
        document: dict[str, Any] = dict(queue.status(stalled_after=config.stalled_after).as_json())
        document["sources"] = {
            name: queue.status(stalled_after=config.stalled_after, source=name).as_json()
            for name in sorted(sources)
        }
        if lookups is not None:
            document.update(lookups[0].status_json())
        return document

    async def status(request: Request) -> Response:
        try:
            document = await run_in_threadpool(status_document)
        except Exception as exc:  # a failing disk: a clear 503, one log line, never a traceback
            reason = (
                str(exc) if isinstance(exc, FieldlineError) else f"unexpected {type(exc).__name__}: {exc}"
            )
            logger.error("GET /status: cannot read the queue: %s", reason)
            return JSONResponse(
                {"error": "the queue status cannot be read now; see the service log"}, status_code=503
            )
        return JSONResponse(document)

    async def healthz(request: Request) -> Response:
        # Open to anyone: ok or not, no details (the log says why).
        if not committer.alive:
            logger.error("health: the webhook writer is not running")
            return JSONResponse({"ok": False}, status_code=503)
        if not await probe.ok():
            return JSONResponse({"ok": False}, status_code=503)
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        committer.start()
        if on_startup is not None:
            on_startup()
        try:
            yield
        finally:
            if on_shutdown is not None:
                await run_in_threadpool(on_shutdown)
            await run_in_threadpool(committer.stop)

    app = Starlette(
        routes=[
            Route("/webhooks/{source}", receive, methods=["POST"]),
            Route("/status", admin_only(status, access), methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            *([Mount("/ui", app=console)] if console is not None else []),
        ],
        middleware=[
            Middleware(HostCheck, allowed_hosts=access.allowed_hosts),
            *([Middleware(LookupEndpoints, directory=lookups[0], keys=lookups[1])] if lookups else []),
        ],
        lifespan=lifespan,
    )
    app.state.committer = committer
    return app


def _redacted(event: SourceEvent) -> SourceEvent:
    # The payload is kept for replay and logs: never with a shared secret or API key in it.
    # The constructor, not dataclasses.replace: replace() costs twice as much per event.
    return SourceEvent(
        event.id,
        event.type,
        event.entity_key,
        event.occurred_at,
        redact(dict(event.payload)),
        event.ordering_keys,
        event.role,
        event.tenant,
    )
