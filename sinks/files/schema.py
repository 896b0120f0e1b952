"""The one message schema of every chat file streamscope writes (captures and archive exports).

A :class:`FileMessage` is one line of chat as a user sees it: a chat message, or a user-visible
event (sub, raid, announcement, timeout, ban, deletion). ``to_dict()`` is the JSON/JSONL object::

    message_id      str   Twitch's message id (events without one: a UUID derived from the raw line,
                          the same id the warehouse stores)
    message         str   the text, without the /me wrapper (events: the user's own text, or for a
                          deletion the deleted text; may be "")
    timestamp       int   Unix epoch milliseconds (Twitch's tmi-sent-ts; the warehouse's unit)
    time            str   the same instant as ISO 8601 UTC, e.g. "2019-09-15T00:00:00.501Z"
    message_type    str   "text_message", a USERNOTICE kind ("subscription", "resubscription",
                          "subscription_gift", "mystery_subscription_gift", "raid", "announcement", ...;
                          unknown msg-ids pass through as sent), "timeout", "ban", "clear_chat",
                          "delete_message"
    channel         str   channel login;  channel_id  int|null  its numeric id
    author          {id int|null, name (login), display_name, badges [{name, version}], color str|null}
    emotes          [{id, start, end, text}]  inclusive code-point offsets into ``message``
    reply           null or {parent_id, parent_user_id, parent_login, parent_display_name, parent_text,
                          thread_parent_id}
    bits            int   bits cheered (0 when none)
    is_action       bool  the message was a /me action
    system_message  str|null  Twitch's wording of an event ("X subscribed at Tier 1 ..."), else null
    target          null or {id, name, message_id}: who a timeout/ban/gift/deletion was aimed at
    duration_s      int|null  timeout length
    deleted, timed_out, banned   bool|null  moderation marks: true/false on chat messages in archive
                          exports (see query.moderation for the rule); null on events, and in live
                          captures (not known yet)

``raw`` (the raw IRC line) is not part of the object; only the ``irc`` format writes it.

CSV flattens the object to :data:`CSV_COLUMNS` (nested values as below, booleans ``true``/``false``,
null as an empty cell): ``author_badges`` is Twitch's ``name/version,name/version``; ``emotes`` is
Twitch's tag form ``id:start-end,start-end/id:start-end``.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field
from typing import Any

#: Column list of the CSV format, in order.
CSV_COLUMNS = (
    "message_id", "timestamp", "time", "message_type", "channel", "channel_id", "author_id",
    "author_name", "author_display_name", "author_color", "author_badges", "message", "emotes", "bits",
    "is_action", "reply_parent_id", "reply_parent_login", "reply_parent_text", "system_message",
    "target_id", "target_name", "target_message_id", "duration_s", "deleted", "timed_out", "banned",
)  # fmt: skip


@dataclass(slots=True)
class Author:
    """Who wrote the message (for an event: whom Twitch names as its user; may be empty)."""

    id: int | None
    name: str
    display_name: str
    badges: list[dict[str, str]] = field(default_factory=list)  # [{name, version}] in wire order
    color: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "display_name": self.display_name,
            "badges": self.badges,
            "color": self.color,
        }


@dataclass(slots=True)
class FileMessage:
    """One chat message or user-visible event; see the module docstring for every field."""

    message_id: str
    message: str
    timestamp: int
    message_type: str
    channel: str
    channel_id: int | None
    author: Author
    emotes: list[dict[str, Any]] = field(default_factory=list)
    reply: dict[str, Any] | None = None
    bits: int = 0
    is_action: bool = False
    system_message: str | None = None
    target: dict[str, Any] | None = None
    duration_s: int | None = None
    deleted: bool | None = None
    timed_out: bool | None = None
    banned: bool | None = None
    raw: str | None = None

    @property
    def time(self) -> str:
        return iso_time(self.timestamp)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this message (key order as documented; no ``raw``)."""
        return {
            "message_id": self.message_id,
            "message": self.message,
            "timestamp": self.timestamp,
            "time": iso_time(self.timestamp),
            "message_type": self.message_type,
            "channel": self.channel,
            "channel_id": self.channel_id,
            "author": self.author.to_dict(),
            "emotes": self.emotes,
            "reply": self.reply,
            "bits": self.bits,
            "is_action": self.is_action,
            "system_message": self.system_message,
            "target": self.target,
            "duration_s": self.duration_s,
            "deleted": self.deleted,
            "timed_out": self.timed_out,
            "banned": self.banned,
        }

    def csv_row(self) -> list[str]:
        """The CSV cells of this message, in :data:`CSV_COLUMNS` order."""
        a = self.author
        reply = self.reply or {}
        target = self.target or {}
        return [
            self.message_id,
            str(self.timestamp),
            iso_time(self.timestamp),
            self.message_type,
            self.channel,
            _cell(self.channel_id),
            _cell(a.id),
            a.name,
            a.display_name,
            a.color or "",
            ",".join(f"{b['name']}/{b['version']}" for b in a.badges),
            self.message,
            emotes_tag(self.emotes),
            str(self.bits),
            "true" if self.is_action else "false",
            reply.get("parent_id") or "",
            reply.get("parent_login") or "",
            reply.get("parent_text") or "",
            self.system_message or "",
            _cell(target.get("id")),
            target.get("name") or "",
            target.get("message_id") or "",
            _cell(self.duration_s),
            _cell(self.deleted),
            _cell(self.timed_out),
            _cell(self.banned),
        ]


def _cell(value: int | bool | None) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def emotes_tag(emotes: list[dict[str, Any]]) -> str:
    """``[{id, start, end}]`` -> Twitch's ``emotes`` tag form (ids in first-seen order)."""
    if not emotes:
        return ""
    ranges: dict[str, list[str]] = {}
    for e in emotes:
        ranges.setdefault(str(e["id"]), []).append(f"{e['start']}-{e['end']}")
    return "/".join(f"{eid}:{','.join(r)}" for eid, r in ranges.items())


_second_cache: tuple[int, str] = (-1, "")


def iso_time(ms: int) -> str:
    """Epoch ms -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC). Consecutive chat shares its second: cached."""
    global _second_cache
    s, rest = divmod(ms, 1000)
    cached_s, prefix = _second_cache
    if s != cached_s:
        prefix = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(s))
        _second_cache = (s, prefix)
    return f"{prefix}.{rest:03d}Z"
