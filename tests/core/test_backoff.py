"""fieldline.backoff: the retry delays and Retry-After parsing every adapter and the queue share."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, strategies as st

from fieldline.backoff import backoff_delay, parse_retry_after


@given(
    attempt=st.integers(0, 10_000),
    base=st.floats(0.001, 10),
    cap=st.floats(0.001, 600),
    draw=st.floats(0, 1, exclude_max=True),
)
def test_delay_is_between_half_and_all_of_the_capped_step(
    attempt: int, base: float, cap: float, draw: float
) -> None:
    step = min(cap, base * 2.0 ** min(attempt, 62))
    delay = backoff_delay(attempt, base=base, cap=cap, rng=lambda: draw)
    assert step / 2 <= delay <= step
    assert delay <= cap


def test_delays_double_until_the_cap() -> None:
    delays = [backoff_delay(n, base=0.5, cap=4.0, rng=lambda: 1.0) for n in range(6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_retry_after_seconds_and_http_dates() -> None:
    now = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Sun, 29 Nov 2026 10:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Sun, 29 Nov 2026 09:59:00 GMT", now=now) == 0.0


def test_unusable_retry_after_is_none() -> None:
    for value in (None, "", "  ", "soon", "inf", "nan", "Mon, 99 Foo 2026"):
        assert parse_retry_after(value) is None, value
