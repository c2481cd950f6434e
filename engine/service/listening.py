"""Listening sockets for fieldline's servers: ``serve`` and the emulators' commands."""

from __future__ import annotations

import socket
from typing import Any

from fieldline.errors import ConfigError

__all__ = ["listen", "run_until_stopped"]


def listen(host: str, port: int, *, backlog: int = 2048) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one), or a clear ConfigError.

    Bound and listening before anything else starts, so a taken port fails at once and the
    printed URL accepts connections straight away (they queue until the server serves)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(backlog)
    except (OSError, OverflowError) as exc:
        listener.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason}",
            hint="pick another --port or --host, or stop what is using it",
        ) from exc
    return listener


def run_until_stopped(app: Any, listener: socket.socket) -> None:
    """Serve ``app`` on ``listener`` with uvicorn until Ctrl-C or SIGTERM (quiet logs)."""
    import uvicorn

    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    uvicorn.Server(config).run(sockets=[listener])
