"""The webhook receiver: verify, persist durably, answer fast.

One app serves every spec's source: ``POST /webhooks/{source}`` goes to that source's adapter
and its jobs are queued under that name. It reads the exact bytes (up to a size limit, else 413), lets the
source adapter verify and parse them (``parse_webhook``; its :class:`WebhookError` carries the
status: 401 wrong secret, 400 malformed), and answers 200 only after the events are committed
to the queue. Requests arriving together share one commit: a single writer thread drains
every pending request into one transaction (group commit), then wakes each request.

Events the spec does not process (``source.is_enabled(type)`` is false) are stored as
``ignored``: recorded, acknowledged, never handed to a worker.

``GET /status`` gives the queue status as JSON (all sources together, and each one under
``sources``); ``GET /healthz`` says whether the writer runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue as thread_queue
import threading
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fieldline.contracts import SourceEvent, WebhookSource
from fieldline.errors import FieldlineError, WebhookError
from fieldline.queue.jobs import EnqueueGroup, EnqueueResult, JobQueue
from fieldline.queue.run_store import redact

__all__ = ["GroupCommitter", "ServiceSettings", "create_app"]

logger = logging.getLogger("fieldline.service")


@dataclass(frozen=True, slots=True)
class ServiceSettings:
    """Receiver limits and status thresholds."""

    max_body_bytes: int = 5 * 1024 * 1024  # a PassFort batch is at most 100 small envelopes
    stalled_after: float = 300.0  # status says "stalled" when the oldest waiting job is older
    max_group: int = 500  # requests per group commit


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
        except Exception as exc:  # every waiting request must hear about it
            for pending in batch:
                _resolve(pending, exception=exc)
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


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    *,
    queue: JobQueue,
    sources: Mapping[str, WebhookSource],
    settings: ServiceSettings | None = None,
    on_startup: Callable[[], None] | None = None,
    on_shutdown: Callable[[], None] | None = None,
    wake: threading.Event | None = None,
) -> Starlette:
    """The webhook service for every source in ``sources`` (endpoint name -> adapter).

    ``wake`` is set after each commit so in-process workers claim at once;
    ``on_startup``/``on_shutdown`` start and stop them."""
    config = settings or ServiceSettings()
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
            body = await _read_body(request, config.max_body_bytes)
        except _BodyTooLarge:
            logger.warning("webhook %s: refused a body over %d bytes (413)", name, config.max_body_bytes)
            return JSONResponse({"error": f"body larger than {config.max_body_bytes} bytes"}, status_code=413)
        try:
            events = source.parse_webhook(request.headers, body)
        except WebhookError as exc:
            logger.warning("webhook %s: refused (%d): %s", name, exc.status, exc)
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except Exception as exc:  # an adapter bug must not leak a traceback to the sender
            logger.error("webhook %s: the source adapter failed: %s: %s", name, type(exc).__name__, exc)
            return JSONResponse({"error": "the webhook could not be parsed"}, status_code=500)
        ignored = frozenset(event.id for event in events if not source.is_enabled(event.type))
        group = EnqueueGroup(source=name, events=[_redacted(event) for event in events], ignored=ignored)
        try:
            result = await committer.submit(group)
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
        return document

    async def status(request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(status_document))

    async def healthz(request: Request) -> Response:
        if not committer.alive:
            return JSONResponse({"ok": False, "error": "the webhook writer is not running"}, status_code=503)
        try:  # a cheap read: can this receiver reach the queue's database (a shared one may be down)?
            await run_in_threadpool(queue.state_of, 0)
        except Exception as exc:
            logger.warning("healthz: the queue cannot be read: %s", exc)
            return JSONResponse(
                {"ok": False, "error": "the queue's database cannot be reached"}, status_code=503
            )
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
            Route("/status", status, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.committer = committer
    return app


def _redacted(event: SourceEvent) -> SourceEvent:
    # The payload is kept for replay and logs: never with a shared secret or API key in it.
    return replace(event, payload=redact(dict(event.payload)))
