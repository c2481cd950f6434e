"""Run an ASGI app under uvicorn on a free loopback port in a background thread.

Used by tests, ``make demo`` and benchmarks to serve the emulators and the webhook service over
real HTTP without a subprocess::

    with serve_in_thread(app) as base_url:
        httpx.get(f"{base_url}/healthz")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["serve_in_thread"]


@contextmanager
def serve_in_thread(
    app: Any, *, host: str = "127.0.0.1", port: int = 0, startup_timeout: float = 30.0
) -> Iterator[str]:
    """Serve ``app`` until the block ends; yield its base URL (``http://127.0.0.1:PORT``).

    ``startup_timeout`` only bounds a server that never starts: it is generous, so a loaded
    machine is slow rather than failing.

    In-flight requests finish before the server stops (uvicorn's graceful shutdown).
    """
    import uvicorn

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=5,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{host}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"server for {app!r} did not start on {host}:{port}")
        time.sleep(0.01)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
