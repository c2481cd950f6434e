"""Progress of a long sync: total, rate and time left; plain lines without a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from fieldline.commands.progress import RunProgress, progress_line


def test_progress_line_with_and_without_a_total() -> None:
    assert progress_line("sync x", 1500, 4000, 2.0) == (
        "sync x: 1,500 / 4,000 documents (37%), 750/s, 0:00:03 left, 0:00:02 elapsed"
    )
    assert progress_line("sync x", 1500, None, 2.0) == "sync x: 1,500 documents, 750/s, 0:00:02 elapsed"
    assert progress_line("sync x", 0, 0, 0.0) == "sync x: 0 / 0 documents, 0/s, 0:00:00 elapsed"


def test_without_a_terminal_a_plain_line_every_few_seconds_and_one_at_the_end() -> None:
    now = [100.0]
    stream = io.StringIO()
    console = Console(file=io.StringIO(), force_terminal=False)
    with RunProgress(
        "sync x", 1000, console=console, every=5.0, clock=lambda: now[0], stream=stream
    ) as progress:
        for done in range(100, 1001, 100):
            now[0] += 1.0
            progress.update(done)
    lines = stream.getvalue().splitlines()
    assert lines == [
        "sync x: 500 / 1,000 documents (50%), 100/s, 0:00:05 left, 0:00:05 elapsed",
        "sync x: 1,000 / 1,000 documents (100%), 100/s, 0:00:10 elapsed",
    ]


def test_the_end_is_always_said_without_a_terminal() -> None:
    now = [0.0]
    stream = io.StringIO()
    console = Console(file=io.StringIO(), force_terminal=False)
    with RunProgress("sync x", None, console=console, clock=lambda: now[0], stream=stream) as progress:
        now[0] = 1.0
        progress.update(7)
    assert stream.getvalue() == "sync x: 7 documents, 7/s, 0:00:01 elapsed\n"
