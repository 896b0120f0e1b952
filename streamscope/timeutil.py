"""Times as streamscope stores them: Unix epoch milliseconds, and the range the warehouse holds.

Every time column is ``DateTime64(3, 'UTC')``, whose range ends at 2299-12-31 23:59:59.999 UTC; a
value past it is refused by the insert or read back wrong, so every check of a time that is going
to be stored, and every clamp of a time that is going to be queried, uses :data:`MAX_MS`. Times
before 1970 are not a Twitch clock: the code treats 0 as the lower bound.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["MAX_MS", "iso_ms"]

#: The last millisecond a ``DateTime64(3)`` column holds: 2299-12-31T23:59:59.999Z (inclusive).
MAX_MS = 10_413_791_999_999

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def iso_ms(value: str, *, naive_is_utc: bool = False) -> int:
    """Epoch milliseconds of an ISO 8601 / RFC 3339 date-time such as ``2018-03-06T15:07:45.123Z``.

    * The offset is ``Z``/``z`` or ``+hh:mm``/``-hh:mm``. Without one (``2019-09-15T12:00``, or a
      date alone, which means its midnight) the time is UTC when ``naive_is_utc``, else ValueError.
    * Any number of fraction digits (EventSub sends nanoseconds); the result is truncated to the
      millisecond with exact integer arithmetic, never rounded, so one instant always gives the same
      value.
    * Surrounding whitespace is ignored. No range check: see :data:`MAX_MS`.

    Raises :class:`ValueError` (its message quotes at most 40 characters of ``value``).
    """
    text = value.strip()
    if text.endswith("z"):  # RFC 3339 allows a lower-case z; fromisoformat does not
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        if not naive_is_utc:
            raise ValueError(f"{value[:40]!r} has no UTC offset")
        parsed = parsed.replace(tzinfo=UTC)
    return (parsed - _EPOCH) // _MS
