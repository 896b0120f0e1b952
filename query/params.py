"""Parsing of the parameters readers share (times, users) into typed values, with a useful message.

Used by the API's routes and by the CLI alike; a bad value is a
:class:`~streamscope.query.errors.BadParameter` naming the parameter (a 400 in the API, one error
line in the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.query.errors import BadParameter
from streamscope.timeutil import MAX_MS, iso_ms


def time_param_ms(name: str, value: str) -> int:
    """Epoch ms of the ISO 8601 query parameter ``name`` (:func:`streamscope.timeutil.iso_ms`;
    without an offset the time is UTC, a date alone means its midnight UTC).

    Values before 1970 clamp to the epoch ("from the beginning") and values past 2299 to
    :data:`~streamscope.timeutil.MAX_MS` (the columns' range), which cannot change any answer.
    A value that is no date-time is a :class:`BadParameter` naming ``name``.
    """
    if not value.strip():
        raise BadParameter(name, "must be an ISO 8601 date-time such as 2019-09-15T00:00:00Z")
    try:
        ms = iso_ms(value, naive_is_utc=True)
    except ValueError:
        raise BadParameter(
            name, f"{value[:40]!r} is not an ISO 8601 date-time (e.g. 2019-09-15T00:00:00Z)"
        ) from None
    return min(max(ms, 0), MAX_MS)


def time_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """Parsed ``start``/``end`` (either may be absent); ``end`` must be after ``start``."""
    start_ms = time_param_ms("start", start) if start is not None else None
    end_ms = time_param_ms("end", end) if end is not None else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise BadParameter("end", "must be after start")
    return start_ms, end_ms


@dataclass(frozen=True, slots=True)
class UserFilter:
    """A ``user`` parameter: a numeric Twitch user id or a login (lowercased), never both."""

    user_id: int | None = None
    user_login: str | None = None


def user_filter(value: str | None) -> UserFilter:
    """``user`` (an id when all digits, else a login; a leading ``@`` is ignored) as a filter; no
    value is no filter, an empty one or an id past UInt64 a :class:`BadParameter`."""
    if value is None:
        return UserFilter()
    v = value.strip().lstrip("@")
    if not v:
        raise BadParameter("user", "must be a login or a numeric user id")
    if v.isdigit():
        if int(v) >= 2**64:
            raise BadParameter("user", "user id out of range")
        return UserFilter(user_id=int(v))
    return UserFilter(user_login=v.lower())
