"""Parsing of query parameters that FastAPI's types cannot check with a useful message."""

from __future__ import annotations

from datetime import UTC, datetime

from streamscope.api.errors import bad_parameter

# DateTime64(3)'s upper bound is 2299-12-31; earlier than the epoch means "from the beginning".
MAX_MS = int(datetime(2299, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)


def iso_ms(name: str, value: str) -> int:
    """Epoch ms of an ISO 8601 date/time (``Z`` or ``+hh:mm`` offsets; naive means UTC).

    A date alone means its midnight UTC. Values before 1970 clamp to the epoch and values past
    2299 to the end of 2299 (the column's range), which cannot change any answer.
    """
    text = value.strip()
    if not text:
        raise bad_parameter(name, "must be an ISO 8601 date-time such as 2019-09-15T00:00:00Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise bad_parameter(
            name, f"{value[:40]!r} is not an ISO 8601 date-time (e.g. 2019-09-15T00:00:00Z)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        ms = int(parsed.timestamp() * 1000)
    except (OverflowError, OSError, ValueError):
        raise bad_parameter(name, f"{value[:40]!r} is out of range") from None
    return min(max(ms, 0), MAX_MS)


def time_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """Parsed ``start``/``end`` (either may be absent); ``end`` must be after ``start``."""
    start_ms = iso_ms("start", start) if start is not None else None
    end_ms = iso_ms("end", end) if end is not None else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise bad_parameter("end", "must be after start")
    return start_ms, end_ms
