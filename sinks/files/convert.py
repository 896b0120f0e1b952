"""Warehouse rows and raw IRC lines -> :class:`FileMessage`.

Both paths go through the same row functions: :func:`messages_from_lines` classifies lines with the
ingest's own :func:`~streamscope.twitch.irc.rows.classify` (so ids, timestamps and fallbacks are
exactly what the warehouse would store), and the archive export reads the same columns back from
ClickHouse (:data:`ARCHIVE_COLUMNS`). A message therefore looks the same in a live capture and in an
export of the archive, except for the moderation marks (unknown, ``None``, while capturing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from streamscope.sinks.files.schema import Author, FileMessage

from streamscope.records import RawLine
from streamscope.twitch.irc.fields import parse_badges, parse_emotes
from streamscope.twitch.irc.rows import classify
from streamscope.twitch.irc.tags import unescape_tag_value

#: USERNOTICE msg-id -> message_type (chat-downloader's names); other msg-ids pass through.
USERNOTICE_TYPES = {
    "sub": "subscription",
    "resub": "resubscription",
    "subgift": "subscription_gift",
    "anonsubgift": "anonymous_subscription_gift",
    "submysterygift": "mystery_subscription_gift",
    "anonsubmysterygift": "anonymous_mystery_subscription_gift",
    "giftpaidupgrade": "gift_paid_upgrade",
    "anongiftpaidupgrade": "anonymous_gift_paid_upgrade",
    "primepaidupgrade": "prime_paid_upgrade",
    "bitsbadgetier": "bits_badge_tier",
    "rewardgift": "reward_gift",
}
#: CLEARCHAT/CLEARMSG kinds (chat_events.kind) -> message_type.
MODERATION_TYPES = {"timeout": "timeout", "ban": "ban", "clear": "clear_chat", "delete": "delete_message"}

_REPLY_TAGS = (
    "reply-parent-msg-id",
    "reply-parent-user-id",
    "reply-parent-user-login",
    "reply-parent-display-name",
    "reply-parent-msg-body",
    "reply-thread-parent-msg-id",
)

#: What the archive export selects from ``chat_messages``, in the order :func:`chat_message` reads.
#: Aliases never reuse a column name (ClickHouse resolves WHERE names to SELECT aliases first).
ARCHIVE_COLUMNS = (
    "channel_id",
    "channel",
    "toUnixTimestamp64Milli(sent_at) AS sent_ms",
    "toString(message_id) AS message_uuid",
    "user_id",
    "user_login",
    "display_name",
    "text",
    "is_action",
    "bits",
    "color",
    "badges",
    "emotes",
    *(f"tags['{t}'] AS `{t}`" for t in _REPLY_TAGS),
)
#: Extra columns for the ``irc`` format: what :func:`rebuild_message_line` needs besides the above.
RAW_COLUMNS = ("badge_info", "tag_layout", "tags", "raw_fallback")


def _reply(values: Sequence[str]) -> dict[str, Any] | None:
    """``values`` are the raw (escaped) reply tags in :data:`_REPLY_TAGS` order; '' = absent."""
    if not values[0]:
        return None
    u = [unescape_tag_value(v) if v else None for v in values]
    user_id = u[1]
    return {
        "parent_id": u[0],
        "parent_user_id": int(user_id) if user_id and user_id.isdigit() else None,
        "parent_login": u[2],
        "parent_display_name": u[3],
        "parent_text": u[4],
        "thread_parent_id": u[5],
    }


def chat_message(v: Sequence[Any], raw: str | None = None) -> FileMessage:
    """A chat message from values in :data:`ARCHIVE_COLUMNS` order (reply tags raw, '' = absent)."""
    text = v[7]
    return FileMessage(
        message_id=v[3],
        message=text,
        timestamp=int(v[2]),
        message_type="text_message",
        channel=v[1],
        channel_id=int(v[0]) or None,
        author=Author(
            int(v[4]) or None,
            v[5],
            v[6],
            [{"name": n, "version": ver} for n, ver in parse_badges(v[11])],
            v[10] or None,
        ),
        emotes=parse_emotes(v[12], text) if v[12] else [],
        reply=_reply(v[13:19]),
        bits=int(v[9]),
        is_action=bool(v[8]),
        raw=raw,
    )


def _from_message_row(row: Sequence[Any], line: str) -> FileMessage:
    """From a :func:`classify` chat_messages row (rows.MESSAGE_COLUMNS order)."""
    extra: dict[str, str] = row[15]
    values = (
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], row[10],
        row[11], row[13], *(extra.get(t, "") for t in _REPLY_TAGS),
    )  # fmt: skip
    return chat_message(values, line)


def event_message(row: Sequence[Any]) -> FileMessage | None:
    """From a chat_events row in rows.EVENT_COLUMNS order (as :func:`classify` makes it, or as the
    archive export reads it back: ``at`` in ms, ids as str, ``tags`` unescaped); None when the event
    is not something a chat user sees (ROOMSTATE, NOTICE, JOIN, ...)."""
    command, kind = row[4], row[5]
    tags: dict[str, str] = row[15]  # unescaped values
    author = Author(None, "", "")
    target: dict[str, Any] | None = None
    duration: int | None = None
    text = row[13]
    if command == "USERNOTICE":
        message_type = USERNOTICE_TYPES.get(kind, kind)
        badges = [{"name": n, "version": ver} for n, ver in parse_badges(tags.get("badges"))]
        author = Author(int(row[6]) or None, row[7], row[8], badges, tags.get("color") or None)
        if row[10]:
            target = {"id": int(row[9]) or None, "name": row[10], "message_id": None}
    elif command in ("CLEARCHAT", "CLEARMSG") and kind in MODERATION_TYPES:
        message_type = MODERATION_TYPES[kind]
        if kind in ("timeout", "ban"):
            target = {"id": int(row[9]) or None, "name": row[10], "message_id": None}
            duration = int(row[12]) if kind == "timeout" else None
        elif kind == "delete":
            target = {"id": None, "name": row[10], "message_id": row[11] or None}
    else:
        return None
    return FileMessage(
        message_id=row[3],
        message=text,
        timestamp=int(row[2]),
        message_type=message_type,
        channel=row[1],
        channel_id=int(row[0]) or None,
        author=author,
        emotes=parse_emotes(tags.get("emotes"), text) if command == "USERNOTICE" else [],
        system_message=row[14] or None,
        target=target,
        duration_s=duration,
        raw=row[16],
    )


def messages_from_lines(lines: Iterable[RawLine]) -> Iterator[FileMessage]:
    """Chat messages (PRIVMSG) and user-visible events (USERNOTICE, timeouts, bans, clears,
    deletions) of raw IRC ``lines``, in input order; ``raw`` is set to the line.

    Connection lines, other commands and unparsable lines yield nothing (the ingest dead-letters
    the latter; a file is not the place for them). Moderation marks are ``None``: a capture does not
    know yet whether a message will be deleted.
    """
    channel_ids: dict[str, int] = {}
    for raw in lines:
        batch = classify((raw,), channel_ids)
        for row in batch.messages:
            yield _from_message_row(row, raw.line)
        for row in batch.events:
            message = event_message(row)
            if message is not None:
                yield message
