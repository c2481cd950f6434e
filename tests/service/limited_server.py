"""A receiver with few file descriptors, as a separate process: ``python -m
tests.service.limited_server DB [--no-limits]`` prints its port, then serves until terminated.

A descriptor limit of 64 makes the exhaustion that 1,100 half-sent connections cause in a
real deployment (1,024 descriptors) reproducible with a few dozen connections.
"""

from __future__ import annotations

import resource
import socket
import sys
from pathlib import Path

DESCRIPTORS = 64


def main(db: str, *, limits: bool) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTORS, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    import uvicorn

    from fieldline.queue.sqlite_queue import SQLiteJobQueue
    from fieldline.service.app import create_app
    from fieldline.service.connections import ConnectionLimits, uvicorn_options
    from tests.service.fakes import FakeWebhookSource

    queue = SQLiteJobQueue(Path(db))
    app = create_app(queue=queue, sources={"fake": FakeWebhookSource()})
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1024)
    options = uvicorn_options(ConnectionLimits(header_timeout=1.0, max_connections=20)) if limits else {}
    config = uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False, **options)
    print(listener.getsockname()[1], flush=True)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main(sys.argv[1], limits="--no-limits" not in sys.argv[2:])
