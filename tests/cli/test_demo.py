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
    assert "Queue passfort: Empty" in text
    assert "Queue appevents: Empty" in text
    assert "each app user's Leads are in its own org" in text
    assert "Lead Created refused (422)" in text
