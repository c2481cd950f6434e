"""A throwaway PostgreSQL server for tests and benchmarks, from the ``pgserver`` wheel's binaries.

No system install and no root needed. ``postgres`` refuses to run as root, and tests here (and
in CI containers) often run as root: then the server runs as the unprivileged ``nobody`` user,
with its data folder owned by that user. It listens on loopback TCP only, on a free port.
``fieldline[dev]`` installs ``pgserver``; only its binaries are used (its own Python API
manages servers shared between processes, registers ``atexit`` hooks and adds system users).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

__all__ = ["PostgresServer", "PostgresUnavailable", "pg_binaries"]

_UNPRIVILEGED_USER = "nobody"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server can be started here (the reason says why)."""


def pg_binaries() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``postgres`` shipped in the ``pgserver`` wheel."""
    # find_spec, not import: importing pgserver warns (platformdirs) and registers atexit hooks.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailable("the pgserver package is not installed (pip install -e '.[dev]')")
    binaries = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (binaries / "pg_ctl").exists():
        raise PostgresUnavailable(f"pgserver has no PostgreSQL binaries at {binaries}")
    return binaries


def _reachable_by_others(binaries: Path) -> Path:
    """``binaries``, or a world-readable copy of the install they belong to when a folder on the
    way there is closed to other users (a checkout in a ``mktemp -d`` folder is ``0700``): the
    server runs as an unprivileged user, who must be able to run them."""
    install = binaries.parent
    closed = [folder for folder in (install, *install.parents) if not folder.stat().st_mode & stat.S_IXOTH]
    if not closed:
        return binaries
    digest = hashlib.sha256(str(install).encode()).hexdigest()[:16]
    copy = Path(tempfile.gettempdir()) / f"fieldline-pginstall-{digest}"
    # The wheel's binaries find their libraries at $ORIGIN/../../../pgserver.libs: keep that layout.
    copied_bin = copy / "pgserver" / install.name / "bin"
    if not (copied_bin / "pg_ctl").exists():
        staging = Path(tempfile.mkdtemp(prefix="fieldline-pginstall-"))
        shutil.copytree(install, staging / "copy" / "pgserver" / install.name, symlinks=True)
        libs = install.parent.parent / "pgserver.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "copy" / "pgserver.libs", symlinks=True)
        for folder in (staging, staging / "copy", staging / "copy" / "pgserver"):
            folder.chmod(0o755)
        with contextlib.suppress(OSError):  # another process made the copy meanwhile
            (staging / "copy").rename(copy)
    return copied_bin


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temp folder; ``start``/``stop``/``restart`` drive ``pg_ctl``.

    ``fsync=off`` by default: a test server trades crash safety of the whole machine for speed
    (a SIGKILL of fieldline's processes or a fast restart of the server loses nothing either way).
    """

    def __init__(self, *, fsync: bool = False, settings: Mapping[str, str] | None = None) -> None:
        self._as_root = os.geteuid() == 0
        self.binaries = _reachable_by_others(pg_binaries()) if self._as_root else pg_binaries()
        self.port = _free_port()
        self.fsync = fsync
        self.settings = dict(settings or {})
        self.root = Path(tempfile.mkdtemp(prefix="fieldline-pg-"))
        self.root.chmod(0o755)  # the unprivileged server user must reach its data folder
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._user = pwd.getpwnam(_UNPRIVILEGED_USER) if self._as_root else None

    def url(self, database: str = "postgres", **options: str) -> str:
        query = "&".join(f"{key}={value}" for key, value in options.items())
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}" + (f"?{query}" if query else "")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        extra: dict[str, Any] = {}
        if self._user is not None:
            extra = {"user": self._user.pw_uid, "group": self._user.pw_gid, "extra_groups": []}
        return subprocess.run(
            [str(self.binaries / args[0]), *args[1:]],
            check=check,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.root,
            env={**os.environ, "LC_ALL": "C", "LANG": "C"},
            **extra,
        )

    def init(self) -> None:
        self.data.mkdir(mode=0o700)
        if self._user is not None:
            os.chown(self.data, self._user.pw_uid, self._user.pw_gid)
            self.log.touch()
            os.chown(self.log, self._user.pw_uid, self._user.pw_gid)
        self._checked(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"
        )

    def start(self) -> None:
        options = [f"-h 127.0.0.1 -p {self.port} -k {self.data}", f"-c fsync={'on' if self.fsync else 'off'}"]
        options += [f"-c {key}={value}" for key, value in self.settings.items()]
        self._checked(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "-o", " ".join(options),
            "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _checked(self, *args: str) -> None:
        try:
            self._run(*args)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            output = getattr(exc, "stderr", "") or ""
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PostgresUnavailable(f"{args[0]} failed: {exc}\n{output}\n{log}".strip()) from exc

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def running(cls, **kwargs: Any) -> Iterator[PostgresServer]:
        """A started server, stopped and deleted afterwards."""
        server = cls(**kwargs)
        try:
            server.init()
            server.start()
            yield server
        finally:
            server.remove()
