"""`make demo` stays working: the whole pair on both emulators with a real `fieldline serve`."""

from __future__ import annotations

import io

from rich.console import Console

from fieldline.adapters import demo


def test_demo_ends_with_right_records() -> None:
    output = io.StringIO()
    assert demo.run(Console(file=output, width=200)) == 0, output.getvalue()
    text = output.getvalue()
    assert "demo ok" in text
    assert "Queue: Empty" in text
