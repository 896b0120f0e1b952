"""Map raw Twitch IRC lines to warehouse rows (migration 0001: chat_messages, chat_events,
dead_letters) and rebuild a message's raw line from its stored row.

Row values are ready for clickhouse-connect inserts: DateTime64(3) columns as int epoch ms, UUID
columns as ``str``, Bool as ``bool``, Map as ``dict`` (insertion order = wire order), UInt as
``int`` (always in range: out-of-range values become 0 rather than failing the whole insert).

chat_messages stores each tag once. ``tag_layout`` lists the line's tag keys in wire order; a key
prefixed with ``=`` has its value in a typed column (:data:`TYPED_TAGS`) and is only prefixed when
that column gives back the exact wire text (canonical digits, lowercase UUID, canonical escaping).
All other tags sit in ``tags`` with their *raw escaped* value. The prefix is assumed to be
``login!login@login.tmi.twitch.tv``. Every row is checked with :func:`rebuild_message_line` right
away; when the rebuild differs from the line in any byte, ``raw_fallback`` keeps the raw line.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from streamscope.records import RawLine
from streamscope.timeutil import MAX_MS
from streamscope.twitch.irc.clearchat import Clearchat
from streamscope.twitch.irc.clearmsg import Clearmsg
from streamscope.twitch.irc.control import WELCOME_NUMERICS, Hosttarget
from streamscope.twitch.irc.events import decode
from streamscope.twitch.irc.fields import emote_positions, parse_badges, parse_emotes
from streamscope.twitch.irc.membership import Join, Names, Part
from streamscope.twitch.irc.message import IrcParseError, parse
from streamscope.twitch.irc.notice import Notice
from streamscope.twitch.irc.privmsg import Privmsg
from streamscope.twitch.irc.tags import escape_tag_value, unescape_tag_value, value_round_trips
from streamscope.twitch.irc.usernotice import Usernotice
from streamscope.twitch.irc.userstate import GlobalUserstate, Userstate
from streamscope.twitch.irc.whisper import Whisper
from streamscope.warehouse.rows import (
    DEAD_LETTER_COLUMNS,
    EVENT_COLUMNS,
    MESSAGE_COLUMNS,
    DeadLetterRow,
    EventRow,
    MessageRow,
)

__all__ = [
    "CONTROL_COMMANDS",
    "DEAD_LETTER_COLUMNS",
    "EVENT_COLUMNS",
    "ID_NAMESPACE",
    "MESSAGE_COLUMNS",
    "TYPED_TAGS",
    "EventRow",
    "MessageRow",
    "RowBatch",
    "classify",
    "emote_positions",
    "parse_badges",
    "parse_emotes",
    "rebuild_message_line",
]

#: Tag key -> the chat_messages column that holds its value.
TYPED_TAGS = {
    "id": "message_id",
    "tmi-sent-ts": "sent_at",
    "room-id": "channel_id",
    "user-id": "user_id",
    "display-name": "display_name",
    "color": "color",
    "badges": "badges",
    "badge-info": "badge_info",
    "emotes": "emotes",
    "bits": "bits",
}
_STRING_TAGS = ("display-name", "color", "badges", "badge-info", "emotes")

#: Connection-level lines: counted in :attr:`RowBatch.control`, never stored.
CONTROL_COMMANDS = frozenset({"PING", "PONG", "CAP", "RECONNECT"} | WELCOME_NUMERICS)

#: uuid5 namespace for ids derived from content (lines without Twitch's ``id``). Never change it:
#: re-ingesting old logs must produce the same ids so ReplacingMergeTree dedups them.
ID_NAMESPACE = uuid.UUID("6f1c3a52-5d0e-5f7b-9a43-2b8e1c7d4a10")

_UINT64 = 2**64
_UINT32 = 2**32
_MS_LIMIT = MAX_MS + 1  # an epoch-ms tag at or past this is no time the DateTime64(3) columns hold
_HEX_DASH = "0123456789abcdef-"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass(slots=True)
class RowBatch:
    """The rows for one batch of lines, typed (:mod:`streamscope.warehouse.rows`: fields in column order).

    ``control`` counts connection-level lines deliberately not stored (:data:`CONTROL_COMMANDS`);
    ``channels`` maps channel id -> login for every room-id seen in this batch (for the channels
    table). Every input line ends up in exactly one of messages/events/dead_letters/control.
    """

    messages: list[MessageRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)
    control: int = 0
    channels: dict[int, str] = field(default_factory=dict)


def _canonical_uint(value: str, limit: int) -> int | None:
    """The int when ``value`` is digits without leading zeros below ``limit`` (round-trips)."""
    if value.isascii() and value.isdigit() and (value[0] != "0" or value == "0"):
        n = int(value)
        if n < limit:
            return n
    return None


def _uint(value: str | None, limit: int) -> int:
    """Lenient UInt: any in-range decimal, else 0 (so one odd tag cannot fail an insert)."""
    if value and value.isascii() and value.isdigit():
        n = int(value)
        if n < limit:
            return n
    return 0


def _is_canonical_uuid(v: str) -> bool:
    return len(v) == 36 and v[8] == v[13] == v[18] == v[23] == "-" and not v.strip(_HEX_DASH)


def _uuid_str(value: str | None) -> str | None:
    """Twitch's id normalised to a lowercase UUID string, or None when it is not a UUID."""
    if not value:
        return None
    if _is_canonical_uuid(value):
        return value
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _resolve_channel(channel: str, room_id: str | None, ids: dict[str, int], seen: dict[int, str]) -> int:
    cid = _canonical_uint(room_id, _UINT64) if room_id else None
    if cid is None:
        return ids.get(channel, 0)
    if channel:
        ids[channel] = cid
        seen[cid] = channel
    return cid


def _message_row(ev: Privmsg, raw: RawLine, ids: dict[str, int], seen: dict[int, str]) -> MessageRow:
    msg = ev.msg
    channel = ev.channel or raw.channel
    values: dict[str, Any] = {}
    layout: list[str] = []
    extra: dict[str, str] = {}
    # The columns rebuild the tag section exactly when every item is `key=value` (the lengths
    # add up) and no key repeats; each typed value is only taken when it round-trips itself.
    tags_exact = True
    if msg.raw_tags is not None:
        items = [item.split("=", 1) for item in msg.raw_tags.split(";")]
        wire_len = len(items) - 1
        for item in items:
            if len(item) != 2:
                tags_exact = False
                item.append("")
            key, value = item
            wire_len += len(key) + 1 + len(value)
            if key in values or key in extra:
                # A repeated key: the last value wins (IRCv3), and the row keeps the raw line.
                values.pop(key, None)
                extra.pop(key, None)
            typed: Any = None
            if key in TYPED_TAGS:
                if key == "id":
                    typed = value if _is_canonical_uuid(value) else None
                elif key == "tmi-sent-ts":
                    typed = _canonical_uint(value, _MS_LIMIT)
                elif key in ("room-id", "user-id"):
                    typed = _canonical_uint(value, _UINT64)
                elif key == "bits":
                    typed = _canonical_uint(value, _UINT32)
                elif "\\" not in value:
                    typed = value  # nothing escaped: the wire value is the value
                elif value_round_trips(value):
                    typed = unescape_tag_value(value)
            if typed is None:
                layout.append(key)
                extra[key] = value
            else:
                layout.append("=" + key)
                values[key] = typed
        tags_exact = tags_exact and wire_len == len(msg.raw_tags) and len(extra) + len(values) == len(items)
    tags = msg.tags
    room_id = values.get("room-id")
    if room_id is not None:
        channel_id = room_id
        if channel:
            ids[channel] = room_id
            seen[room_id] = channel
    else:
        channel_id = _resolve_channel(channel, tags.get("room-id"), ids, seen)
    sent_at = values.get("tmi-sent-ts")
    if sent_at is None:
        sent_at = _uint(tags.get("tmi-sent-ts"), _MS_LIMIT) or raw.received_at
    user_id = values.get("user-id")
    if user_id is None:
        user_id = _uint(tags.get("user-id"), _UINT64)
    message_id = values.get("id") or _uuid_str(tags.get("id"))
    if message_id is None:
        # Old logs have no id: derive one from what identifies the message so a re-ingest dedups.
        key = f"{channel}\x00{sent_at}\x00{user_id}\x00{ev.text}"
        message_id = str(uuid.uuid5(ID_NAMESPACE, key))
    bits = values.get("bits")
    if bits is None:
        bits = _uint(tags.get("bits"), _UINT32)
    strings = [values.get(k, tags.get(k, "")) for k in _STRING_TAGS]
    row = [
        channel_id, channel, sent_at, message_id, user_id, ev.login, strings[0], ev.text, ev.is_action,
        bits, strings[1], strings[2], strings[3], strings[4], ",".join(layout), extra, "",
        raw.received_at, raw.source,
    ]  # fmt: skip
    # The row rebuilds the line iff the tag section does (checked above) and the rest of the line is
    # the standard PRIVMSG form; comparing strings here is much cheaper than a full rebuild.
    text = "\x01ACTION " + ev.text + "\x01" if ev.is_action else ev.text
    login = ev.login
    tail = f":{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{channel} :{text}"
    line = raw.line
    if msg.raw_tags is None:
        exact = line == tail
    else:
        exact = (
            tags_exact
            and len(line) == len(msg.raw_tags) + 2 + len(tail)
            and line.endswith(tail)
            and line[len(msg.raw_tags) + 1] == " "
        )
    if not exact:
        row[16] = line
    return MessageRow._make(row)


def _event_row(ev: Any, raw: RawLine, ids: dict[str, int], seen: dict[int, str]) -> EventRow:
    msg = ev.msg
    tags = msg.tags
    channel = ev.channel or raw.channel
    channel_id = _resolve_channel(channel, tags.get("room-id"), ids, seen)
    at = _uint(tags.get("tmi-sent-ts"), _MS_LIMIT) or raw.received_at
    event_id = _uuid_str(tags.get("id")) or str(uuid.uuid5(ID_NAMESPACE, raw.line))
    kind = msg.command.lower()
    user_id = target_user_id = duration_s = 0
    user_login = display_name = target_login = target_message_id = text = system_message = ""
    if isinstance(ev, Usernotice):
        kind = ev.msg_id or kind
        user_id, user_login, display_name = ev.user_id or 0, ev.login, ev.display_name
        text, system_message = ev.text, ev.system_msg
        recipient = ev.recipient
        if recipient is not None:
            target_user_id, target_login = recipient[0] or 0, recipient[1]
    elif isinstance(ev, Clearchat):
        kind, target_login, duration_s = ev.kind, ev.target_login, ev.duration_s or 0
        target_user_id = ev.target_user_id or 0
    elif isinstance(ev, Clearmsg):
        kind, target_login, target_message_id, text = "delete", ev.login, ev.target_msg_id, ev.text
    elif isinstance(ev, Notice):
        text = ev.text
    elif isinstance(ev, (Userstate, GlobalUserstate)):
        display_name = ev.display_name
        user_id = _uint(tags.get("user-id"), _UINT64)
    elif isinstance(ev, Whisper):
        user_id, user_login, display_name = ev.user_id or 0, ev.from_login, ev.display_name
        target_login, text = ev.to_login, ev.text
    elif isinstance(ev, (Join, Part)):
        user_login = ev.login
    elif isinstance(ev, Names):
        text = " ".join(ev.logins)
    elif isinstance(ev, Hosttarget):
        target_login = ev.target or ""
        text = msg.params[1] if len(msg.params) > 1 else ""
    return EventRow(
        channel_id, channel, at, event_id, msg.command, kind,
        user_id if user_id < _UINT64 else 0, user_login, display_name,
        target_user_id if target_user_id < _UINT64 else 0, target_login, target_message_id,
        min(max(duration_s, 0), _UINT32 - 1), text, system_message, dict(tags), raw.line,
        raw.received_at, raw.source,
    )  # fmt: skip


def classify(lines: Sequence[RawLine], channel_ids: dict[str, int]) -> RowBatch:
    """Parse and decode ``lines`` into warehouse rows.

    PRIVMSG -> chat_messages; every other known command -> chat_events (``kind`` = USERNOTICE
    msg-id, timeout/ban/clear, delete, else the lowercased command); PING/PONG/CAP/RECONNECT and
    welcome numerics -> only counted; anything unparsable or unknown -> dead_letters with
    ``stage='parse'`` and a one-line reason. One bad line never affects the others.

    ``channel_ids`` is the caller's login -> id cache: room-id tags update it, and it fills
    channel_id for lines without a usable room-id (e.g. CLEARMSG's ``room-id=``); 0 when unknown.
    """
    batch = RowBatch()
    seen = batch.channels
    for raw in lines:
        try:
            msg = parse(raw.line)
            if msg.command in CONTROL_COMMANDS:
                batch.control += 1
                continue
            ev = decode(msg)
            if isinstance(ev, Privmsg):
                batch.messages.append(_message_row(ev, raw, channel_ids, seen))
            else:
                batch.events.append(_event_row(ev, raw, channel_ids, seen))
        except IrcParseError as e:
            batch.dead_letters.append(
                DeadLetterRow(raw.received_at, raw.source, raw.channel, "parse", e.reason, raw.line)
            )
        except Exception as e:  # noqa: BLE001 - a decoder bug must dead-letter the line, not the batch
            reason = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
            batch.dead_letters.append(
                DeadLetterRow(raw.received_at, raw.source, raw.channel, "parse", reason, raw.line)
            )
    return batch


def _epoch_ms(value: Any) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # ClickHouse DateTime64(3, 'UTC') read back naive means UTC
            value = value.replace(tzinfo=UTC)
        return (value - _EPOCH) // _MS
    return int(value)


def _typed_tag(key: str, row: Mapping[str, Any]) -> str:
    if key == "id":
        return str(row["message_id"])
    if key == "tmi-sent-ts":
        return str(_epoch_ms(row["sent_at"]))
    if key in ("room-id", "user-id", "bits"):
        return str(int(row[TYPED_TAGS[key]]))
    return escape_tag_value(row[TYPED_TAGS[key]])


def rebuild_message_line(row: Mapping[str, Any]) -> str:
    """The raw IRC line of a chat_messages row (column name -> value, as read from ClickHouse).

    Returns ``raw_fallback`` when it is non-empty. Accepts ``sent_at`` as int ms or datetime
    (naive = UTC), ``message_id`` as str or uuid.UUID, ``tags`` as any mapping.
    Raises KeyError when the row is inconsistent (a layout key missing from ``tags``).
    """
    fallback = row.get("raw_fallback")
    if fallback:
        return str(fallback)
    login = row["user_login"]
    text = row["text"]
    if row["is_action"]:
        text = "\x01ACTION " + text + "\x01"
    tail = f":{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{row['channel']} :{text}"
    layout = row["tag_layout"]
    if not layout:
        return tail
    tags = row["tags"]
    parts = [
        key[1:] + "=" + _typed_tag(key[1:], row) if key[:1] == "=" else key + "=" + tags[key]
        for key in layout.split(",")
    ]
    return "@" + ";".join(parts) + " " + tail
