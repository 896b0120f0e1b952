"""Warehouse rows and raw IRC lines -> :class:`FileMessage`: the one file record of a stored row.

:func:`chat_message` (a :class:`~streamscope.warehouse.rows.MessageRow`) and :func:`event_message`
(an :class:`~streamscope.warehouse.rows.EventRow`) are the only functions that build the file
record of a chat message or event. Both paths go through them: :func:`messages_from_lines`
classifies lines with the ingest's own :func:`~streamscope.twitch.irc.rows.classify` (so ids,
timestamps and fallbacks are exactly what the warehouse would store), and the archive export
(:mod:`streamscope.query.archive`) reads the same rows back from ClickHouse. A message therefore
looks the same in a live capture and in an export of the archive, except for the moderation marks
(unknown, ``None``, while capturing).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from streamscope.records import RawLine
from streamscope.sinks.files.schema import Author, FileMessage
from streamscope.twitch.irc.fields import parse_badges, parse_emotes
from streamscope.twitch.irc.rows import classify
from streamscope.twitch.irc.tags import unescape_tag_value
from streamscope.warehouse.rows import EventRow, MessageRow

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


def _reply(tags: dict[str, str]) -> dict[str, Any] | None:
    """The reply of a message whose raw (escaped) tags are ``tags``; None when it is no reply."""
    if not tags.get(_REPLY_TAGS[0]):
        return None
    u = [unescape_tag_value(v) if v else None for v in (tags.get(t) for t in _REPLY_TAGS)]
    user_id = u[1]
    return {
        "parent_id": u[0],
        "parent_user_id": int(user_id) if user_id and user_id.isascii() and user_id.isdigit() else None,
        "parent_login": u[2],
        "parent_display_name": u[3],
        "parent_text": u[4],
        "thread_parent_id": u[5],
    }


def chat_message(row: MessageRow, raw: str | None = None) -> FileMessage:
    """The file record of a stored chat message (moderation marks unknown: ``None``); ``raw`` is its
    raw IRC line when the caller has it (only the ``irc`` format writes it)."""
    text = row.text
    return FileMessage(
        message_id=row.message_id,
        message=text,
        timestamp=int(row.sent_at),
        message_type="text_message",
        channel=row.channel,
        channel_id=int(row.channel_id) or None,
        author=Author(
            int(row.user_id) or None,
            row.user_login,
            row.display_name,
            [{"name": n, "version": ver} for n, ver in parse_badges(row.badges)],
            row.color or None,
        ),
        emotes=parse_emotes(row.emotes, text) if row.emotes else [],
        reply=_reply(row.tags),
        bits=int(row.bits),
        is_action=bool(row.is_action),
        raw=raw,
    )


def event_message(row: EventRow) -> FileMessage | None:
    """The file record of a stored event (as :func:`classify` makes it, or as the archive export
    reads it back); None when the event is not something a chat user sees (ROOMSTATE, NOTICE,
    JOIN, ...)."""
    command, kind = row.command, row.kind
    tags = row.tags  # unescaped values
    author = Author(None, "", "")
    target: dict[str, Any] | None = None
    duration: int | None = None
    text = row.text
    if command == "USERNOTICE":
        message_type = USERNOTICE_TYPES.get(kind, kind)
        badges = [{"name": n, "version": ver} for n, ver in parse_badges(tags.get("badges"))]
        color = tags.get("color") or None
        author = Author(int(row.user_id) or None, row.user_login, row.display_name, badges, color)
        if row.target_login:
            target = {"id": int(row.target_user_id) or None, "name": row.target_login, "message_id": None}
    elif command in ("CLEARCHAT", "CLEARMSG") and kind in MODERATION_TYPES:
        message_type = MODERATION_TYPES[kind]
        if kind in ("timeout", "ban"):
            target = {"id": int(row.target_user_id) or None, "name": row.target_login, "message_id": None}
            duration = int(row.duration_s) if kind == "timeout" else None
        elif kind == "delete":
            target = {"id": None, "name": row.target_login, "message_id": row.target_message_id or None}
    else:
        return None
    return FileMessage(
        message_id=row.event_id,
        message=text,
        timestamp=int(row.at),
        message_type=message_type,
        channel=row.channel,
        channel_id=int(row.channel_id) or None,
        author=author,
        emotes=parse_emotes(tags.get("emotes"), text) if command == "USERNOTICE" else [],
        system_message=row.system_message or None,
        target=target,
        duration_s=duration,
        raw=row.raw,
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
        for stored in batch.messages:
            yield chat_message(stored, raw.line)
        for event in batch.events:
            message = event_message(event)
            if message is not None:
                yield message
