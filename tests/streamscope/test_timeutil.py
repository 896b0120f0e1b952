"""The one ISO 8601 parser and the one time bound (``streamscope.timeutil``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from streamscope.timeutil import MAX_MS, iso_ms

SENT = 1568505600000  # 2019-09-15T00:00:00Z


def test_max_ms_is_the_last_millisecond_of_2299() -> None:
    assert datetime.fromtimestamp(MAX_MS / 1000, UTC).isoformat(timespec="milliseconds") == (
        "2299-12-31T23:59:59.999+00:00"
    )
    assert int(datetime(2300, 1, 1, tzinfo=UTC).timestamp()) * 1000 == MAX_MS + 1


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-09-15T00:00:00Z", SENT),
        ("2019-09-15T00:00:00z", SENT),
        (" 2019-09-15T02:00:00+02:00 ", SENT),
        ("2019-09-15T00:00:00.123Z", SENT + 123),
        ("2019-09-15T00:00:00.9Z", SENT + 900),
        ("2019-09-15T00:00:00.999999999Z", SENT + 999),  # EventSub's nanoseconds: truncated, not rounded
        ("1969-12-31T23:59:59.5Z", -500),
    ],
)
def test_iso_ms(value: str, expected: int) -> None:
    assert iso_ms(value) == expected


def test_without_an_offset_only_when_asked_to_read_utc() -> None:
    with pytest.raises(ValueError, match="'2019-09-15T00:00:00' has no UTC offset"):
        iso_ms("2019-09-15T00:00:00")
    assert iso_ms("2019-09-15T00:00:00", naive_is_utc=True) == SENT
    assert iso_ms("2019-09-15", naive_is_utc=True) == SENT


@pytest.mark.parametrize("value", ["", "yesterday", "2019-09-15Z", "2019-13-01T00:00:00Z"])
def test_not_a_date_time(value: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601 date-time"):
        iso_ms(value, naive_is_utc=True)
