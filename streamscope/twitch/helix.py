"""Helix ``GET /streams`` payloads: the published envelope and its parsing into viewer samples.

The poller publishes one envelope per request (the :data:`streamscope.topics.HELIX_STREAMS` value):
``{"polled_at": ms, "logins": [requested logins], "body": <the response body as Twitch sent it>}``.
``logins`` is what makes absence meaningful: a requested login missing from ``body.data`` is not
live at ``polled_at``. An envelope of a request that did not filter by login (discovery's top-streams
pages) has ``"logins": []`` and says nothing about absent channels.

Parsing is strict about what a sample needs (``user_id`` digits, ``user_login``, ``id``,
``viewer_count``, ``started_at``) and reports every stream object it cannot use with a reason, so
the caller can dead-letter it without losing the rest of the page. Values must also fit the
warehouse columns (:func:`check_id`, :func:`check_ms`): one that does not would be refused by the
INSERT or break every later read of the row, so it is rejected here, with the value in the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from streamscope.timeutil import MAX_MS, iso_ms
from streamscope.twitch.logins import normalize_login


@dataclass(frozen=True, slots=True)
class StreamSample:
    """One live stream as seen by one poll (a ``viewer_samples`` row)."""

    channel_id: int
    channel: str
    sampled_at: int
    viewers: int
    stream_id: str
    started_at: int
    game_id: str
    game: str
    title: str
    language: str


@dataclass(slots=True)
class StreamsPoll:
    """A parsed envelope: the samples, the requested logins, and the stream objects rejected."""

    polled_at: int
    logins: tuple[str, ...]
    samples: list[StreamSample] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    """(reason, the stream object as JSON text) for every unusable item of ``data``."""
    named: set[str] = field(default_factory=set)
    """Lower-cased ``user_login`` (else ``user_name``) of every item, usable or not: live channels."""
    unnamed: int = 0
    """Items naming no channel at all: then no requested login can be taken for absent."""

    def absent(self) -> list[str]:
        """Requested logins certainly not live at ``polled_at`` (none when an item names no one)."""
        if self.unnamed:
            return []
        return [login for login in self.logins if login not in self.named]

    cursor: str | None = None


#: Ids are ``UInt64`` columns.
MAX_ID = 2**64 - 1


def check_id(text: object, what: str) -> int:
    """``text`` as a numeric Twitch id (ASCII digits, fits UInt64); ValueError naming ``what``."""
    digits = text.lstrip("0") if isinstance(text, str) and text.isascii() and text.isdigit() else None
    if digits is None or len(digits) > 20 or int(digits or "0") > MAX_ID:  # no int() of huge strings
        raise ValueError(f"{what} {text!r} is not a numeric id"[:300])
    return int(digits or "0")


def check_ms(value: int, what: str) -> int:
    """``value`` if it is epoch ms from 1970 up to :data:`~streamscope.timeutil.MAX_MS` (end of 2299,
    what the warehouse's ``DateTime64(3)`` columns hold)."""
    if not 0 <= value <= MAX_MS:
        raise ValueError(f"{what} {value} is not epoch ms between 1970 and 2299")
    return value


class HelixPayloadError(ValueError):
    """The envelope or body is not a Helix ``/streams`` answer at all (the whole payload is bad)."""


def envelope(polled_at: int, logins: Sequence[str], body: bytes | str) -> str:
    """The HELIX_STREAMS message for one response body (kept byte-for-byte inside the JSON)."""
    parsed = orjson.loads(body)
    return orjson.dumps({"polled_at": polled_at, "logins": list(logins), "body": parsed}).decode()


def _sample(item: Mapping[str, Any], polled_at: int) -> StreamSample:
    uid = check_id(item.get("user_id"), "user_id")
    login = item.get("user_login")
    if not isinstance(login, str) or not login.strip():
        raise ValueError("user_login missing")
    sid = item.get("id")
    if not isinstance(sid, str) or not sid:
        raise ValueError("stream id missing")
    viewers = item.get("viewer_count")
    if not isinstance(viewers, int) or isinstance(viewers, bool) or not 0 <= viewers < 2**32:
        raise ValueError(f"viewer_count {viewers!r} is not a count")
    started = item.get("started_at")
    if not isinstance(started, str):
        raise ValueError("started_at missing")
    return StreamSample(
        channel_id=uid,
        channel=normalize_login(login),
        sampled_at=polled_at,
        viewers=viewers,
        stream_id=sid,
        started_at=check_ms(iso_ms(started), "started_at"),
        game_id=str(item.get("game_id") or ""),
        game=str(item.get("game_name") or ""),
        title=str(item.get("title") or ""),
        language=str(item.get("language") or ""),
    )


def parse_body(body: Mapping[str, Any], polled_at: int, logins: Sequence[str] = ()) -> StreamsPoll:
    """Samples from a ``GET /streams`` body; one stream twice in a page counts once."""
    data = body.get("data")
    if not isinstance(data, list):
        raise HelixPayloadError("body has no data array")
    poll = StreamsPoll(polled_at, tuple(normalize_login(login) for login in logins))
    pagination = body.get("pagination")
    if isinstance(pagination, dict) and isinstance(pagination.get("cursor"), str):
        poll.cursor = pagination["cursor"] or None
    seen: set[int] = set()
    for item in data:
        if not isinstance(item, dict):
            poll.rejected.append(("stream item is not an object", orjson.dumps(item).decode()))
            poll.unnamed += 1
            continue
        name = item.get("user_login") or item.get("user_name")
        if isinstance(name, str) and name.strip():
            poll.named.add(normalize_login(name))
        else:
            poll.unnamed += 1
        try:
            sample = _sample(item, polled_at)
        except ValueError as exc:
            poll.rejected.append((f"helix stream item: {exc}", orjson.dumps(item).decode()))
            continue
        if sample.channel_id not in seen:
            seen.add(sample.channel_id)
            poll.samples.append(sample)
    return poll


def parse_envelope(payload: str | bytes) -> StreamsPoll:
    """Parse one HELIX_STREAMS message; :class:`HelixPayloadError` when it is not one."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise HelixPayloadError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise HelixPayloadError("envelope is not an object")
    polled_at, logins, body = doc.get("polled_at"), doc.get("logins"), doc.get("body")
    if not isinstance(polled_at, int) or isinstance(polled_at, bool) or not 0 <= polled_at <= MAX_MS:
        raise HelixPayloadError(f"envelope polled_at {polled_at!r} is not epoch ms between 1970 and 2299")
    if not isinstance(logins, list) or not all(isinstance(x, str) for x in logins):
        raise HelixPayloadError("envelope logins is not a list of logins")
    if not isinstance(body, dict):
        raise HelixPayloadError("envelope body is not an object")
    return parse_body(body, polled_at, logins)


@dataclass(frozen=True, slots=True)
class HelixErrorBody:
    """Twitch's error shape: ``{"error": "Unauthorized", "status": 401, "message": "..."}``."""

    status: int
    error: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.status} {self.error}: {self.message}" if self.message else f"{self.status} {self.error}"
        )


def parse_error(status: int, text: str | bytes) -> HelixErrorBody:
    """The error a Helix/OAuth error response states (any body: falls back to the HTTP status)."""
    try:
        doc = orjson.loads(text) if text else None
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        code = doc.get("status")
        return HelixErrorBody(
            status=code if isinstance(code, int) and not isinstance(code, bool) else status,
            error=str(doc.get("error") or ""),
            message=str(doc.get("message") or ""),
        )
    snippet = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return HelixErrorBody(status, "", snippet.strip()[:200])
