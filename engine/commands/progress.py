"""Progress of a long run: documents done (of the total when the source can count them), rate
and time left. On a terminal a live bar; without one (CI, a log file) a plain line every few
seconds, so a job log shows the run is moving."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID

__all__ = ["RunProgress", "progress_line"]


def progress_line(what: str, done: int, total: int | None, elapsed: float) -> str:
    """``sync x: 1,500 / 4,000 documents (38%), 750/s, 0:00:03 left`` (no total: no share, no ETA)."""
    rate = done / elapsed if elapsed > 0 else 0.0
    line = f"{what}: {done:,}"
    if total is not None:
        share = f" ({100 * done // total}%)" if total else ""
        line += f" / {total:,} documents{share}"
    else:
        line += " documents"
    line += f", {rate:,.0f}/s"
    if total is not None and rate > 0 and done < total:
        line += f", {_clock((total - done) / rate)} left"
    return line + f", {_clock(elapsed)} elapsed"


def _clock(seconds: float) -> str:
    whole = int(seconds + 0.5)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class RunProgress:
    """Use as a context manager; :meth:`update` with the documents done so far."""

    def __init__(
        self,
        what: str,
        total: int | None,
        *,
        console: Console,
        every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        stream: IO[str] | None = None,
    ) -> None:
        self.what = what
        self.total = total
        self.console = console
        self.every = every
        self.clock = clock
        self.stream = stream or sys.stderr
        self.done = 0
        self._printed: int | None = None
        self._started = clock()
        self._last_line = self._started
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> RunProgress:
        self._started = self._last_line = self.clock()
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("documents"),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.what, total=self.total, rate="")
        return self

    def update(self, done: int) -> None:
        self.done = done
        now = self.clock()
        elapsed = now - self._started
        if self._bar is not None and self._task is not None:
            rate = f"{done / elapsed:,.0f}/s" if elapsed > 0 else ""
            self._bar.update(self._task, completed=done, rate=rate)
        elif now - self._last_line >= self.every:
            self._last_line = now
            self._printed = done
            print(progress_line(self.what, done, self.total, elapsed), file=self.stream, flush=True)

    def __exit__(self, *exc_info: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
        elif self._printed != self.done:  # the last line says where it ended
            elapsed = self.clock() - self._started
            print(progress_line(self.what, self.done, self.total, elapsed), file=self.stream, flush=True)
