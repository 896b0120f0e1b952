"""Parsing of the parameters readers share (times, users) into typed values, with a useful message.

Used by the API's routes and by the CLI alike; a bad value is a
:class:`~streamscope.query.errors.BadParameter` naming the parameter (a 400 in the API, one error
line in the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass

from streamscope.query.errors import BadParameter
from streamscope.timeutil import MAX_MS, iso_ms
from streamscope.twitch.logins import is_login, normalize_login


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


def id_or_login(name: str, value: str) -> int | str:
    """Parameter ``name`` as a Twitch id or a login: an id is ASCII digits only (``str.isdigit``
    also accepts ``²`` and ``١``, which ``int`` refuses or reads as an id) below 2**64; anything else
    is a login, normalised (a leading ``@`` or ``#`` and the case are ignored). A value that is
    neither is a :class:`BadParameter` naming ``name``."""
    v = normalize_login(value.strip().lstrip("@"))
    if not v:
        raise BadParameter(name, "must be a login or a numeric id")
    if v.isascii() and v.isdigit():
        if int(v) >= 2**64:
            raise BadParameter(name, "id out of range (at most 2^64 - 1)")
        return int(v)
    if not is_login(v):
        raise BadParameter(
            name, f"{value[:40]!r} is neither a numeric id nor a Twitch login (1-25 of a-z, 0-9, _)"
        )
    return v


def user_filter(value: str | None) -> UserFilter:
    """``user`` (:func:`id_or_login`) as a filter; no value is no filter."""
    if value is None:
        return UserFilter()
    who = id_or_login("user", value)
    return UserFilter(user_id=who) if isinstance(who, int) else UserFilter(user_login=who)
