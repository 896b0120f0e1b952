"""Map raw EventSub frames onto the *same* warehouse rows as IRC (migration 0001).

``classify`` is the EventSub twin of :func:`streamscope.twitch.irc.rows.classify`: same
:class:`~streamscope.twitch.irc.rows.RowBatch`, same ``MESSAGE_COLUMNS``/``EVENT_COLUMNS``, same
kinds, so the API and every query treat a message or a sub the same whichever way it arrived.

* ``channel.chat.message`` -> a ``chat_messages`` row. ``message_id`` is the event's
  ``message_id``, which is the IRC ``id`` tag of the same message. ``sent_at`` is
  ``metadata.message_timestamp`` (ms): EventSub does not carry IRC's ``tmi-sent-ts``, so the
  (channel_id, sent_at, message_id) key only collapses an IRC copy and an EventSub copy of one
  message when both clocks agree to the millisecond; re-deliveries of the same frame always do.
  Fields IRC keeps in tags are stored under the IRC tag names (``reply-parent-*``,
  ``source-room-id``, ``source-id``, ``custom-reward-id``, ``msg-id``, ``first-msg``), IRC-escaped
  as the ``tags`` column requires; badges/badge-info/emotes use the IRC tag formats (emote ranges
  are computed from the fragments). ``tag_layout`` is empty and ``raw_fallback`` holds the frame
  JSON as received, so the raw data is kept and ``rebuild_message_line`` returns it unchanged.
* ``channel.chat.notification`` -> ``chat_events`` with ``command='USERNOTICE'`` and ``kind`` the
  IRC ``msg-id`` of the same notice (:data:`NOTICE_KINDS`; an unknown ``notice_type`` is kept as
  its own kind); the notice's fields become IRC ``msg-param-*`` tags (:data:`MSG_PARAMS`).
* ``channel.chat.message_delete`` -> kind ``delete`` (CLEARMSG); ``channel.chat.clear`` -> kind
  ``clear`` (CLEARCHAT); ``channel.ban`` -> ``timeout`` (with ``duration_s``) or ``ban``;
  ``channel.chat.clear_user_messages`` -> kind ``clear_user_messages`` (CLEARCHAT): Twitch sends it
  for timeouts and bans alike without saying which, so it is not guessed.
* ``raw`` of every event row is the frame JSON; ``event_id`` is Twitch's id (event ``message_id``
  for notices, ``metadata.message_id`` otherwise), or a UUID derived from it when it is not one.
* Session frames, revocations and the non-chat types (``stream.*``, ``channel.update``: the
  streams pipeline reads those) are only counted in ``control``; malformed JSON, missing fields and
  unsupported subscription types become dead letters with ``stage='parse'`` and the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from streamscope.records import RawEvent
from streamscope.twitch.eventsub.events import (
    Badge,
    Ban,
    ChatClear,
    ChatMessage,
    ChatNotification,
    ClearUserMessages,
    Fragment,
    MessageDelete,
    User,
    decode,
)
from streamscope.twitch.eventsub.frames import EventSubParseError, Frame, parse_frame
from streamscope.twitch.irc.fields import split_action
from streamscope.twitch.irc.rows import ID_NAMESPACE, RowBatch
from streamscope.twitch.irc.tags import escape_tag_value
from streamscope.warehouse.rows import DeadLetterRow, EventRow, MessageRow

__all__ = ["CHAT_TYPES", "MSG_PARAMS", "NOTICE_KINDS", "NON_CHAT_TYPES", "classify"]

#: Subscription types that become chat rows.
CHAT_TYPES = frozenset(
    {
        "channel.chat.message",
        "channel.chat.notification",
        "channel.chat.message_delete",
        "channel.chat.clear_user_messages",
        "channel.chat.clear",
        "channel.ban",
    }
)
#: Known types that are not chat: counted in ``control``, handled by the streams pipeline.
NON_CHAT_TYPES = frozenset({"stream.online", "stream.offline", "channel.update"})

#: EventSub ``notice_type`` -> IRC USERNOTICE ``msg-id`` (chat_events.kind).
NOTICE_KINDS = {
    "sub": "sub",
    "resub": "resub",
    "sub_gift": "subgift",
    "community_sub_gift": "submysterygift",
    "gift_paid_upgrade": "giftpaidupgrade",
    "prime_paid_upgrade": "primepaidupgrade",
    "raid": "raid",
    "unraid": "unraid",
    "pay_it_forward": "communitypayforward",
    "announcement": "announcement",
    "bits_badge_tier": "bitsbadgetier",
    "charity_donation": "charitydonation",
}

#: Per notice object: EventSub field -> IRC ``msg-param-*`` name (without the prefix).
MSG_PARAMS: dict[str, dict[str, str]] = {
    "sub": {"sub_tier": "sub-plan", "duration_months": "multimonth-duration"},
    "resub": {
        "cumulative_months": "cumulative-months",
        "streak_months": "streak-months",
        "duration_months": "multimonth-duration",
        "sub_tier": "sub-plan",
        "is_gift": "was-gifted",
        "gifter_is_anonymous": "anon-gift",
        "gifter_user_id": "gifter-id",
        "gifter_user_login": "gifter-login",
        "gifter_user_name": "gifter-name",
    },
    "sub_gift": {
        "duration_months": "gift-months",
        "cumulative_total": "sender-count",
        "recipient_user_id": "recipient-id",
        "recipient_user_login": "recipient-user-name",
        "recipient_user_name": "recipient-display-name",
        "sub_tier": "sub-plan",
        "community_gift_id": "community-gift-id",
    },
    "community_sub_gift": {
        "id": "community-gift-id",
        "total": "mass-gift-count",
        "cumulative_total": "sender-count",
        "sub_tier": "sub-plan",
    },
    "gift_paid_upgrade": {"gifter_user_login": "sender-login", "gifter_user_name": "sender-name"},
    "prime_paid_upgrade": {"sub_tier": "sub-plan"},
    "raid": {
        "user_login": "login",
        "user_name": "displayName",
        "viewer_count": "viewerCount",
        "profile_image_url": "profileImageURL",
    },
    "pay_it_forward": {
        "gifter_is_anonymous": "prior-gifter-anonymous",
        "gifter_user_id": "prior-gifter-id",
        "gifter_user_login": "prior-gifter-user-name",
        "gifter_user_name": "prior-gifter-display-name",
        "recipient_user_id": "recipient-id",
        "recipient_user_login": "recipient-user-name",
        "recipient_user_name": "recipient-display-name",
    },
    "announcement": {"color": "color"},
    "bits_badge_tier": {"tier": "threshold"},
}
_MESSAGE_TYPE_MSG_ID = {
    "channel_points_highlighted": "highlighted-message",
    "channel_points_sub_only": "skip-subs-mode-message",
    "user_intro": "user-intro",
    "power_ups_message_effect": "animated-message",
    "power_ups_gigantified_emote": "gigantified-emote-message",
}
_UINT32 = 2**32
_Row = tuple[Any, ...]


def _uuid(value: str) -> str:
    """Twitch's id as a lowercase UUID, or a UUID derived from it (stable across re-deliveries)."""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return str(uuid.uuid5(ID_NAMESPACE, "eventsub:" + value))


def _badges(badges: Sequence[Badge]) -> tuple[str, str]:
    """IRC ``badges`` and ``badge-info`` tag values."""
    return (
        ",".join(f"{b.set_id}/{b.id}" for b in badges),
        ",".join(f"{b.set_id}/{b.info}" for b in badges if b.info),
    )


def _emotes(fragments: Sequence[Fragment], shift: int) -> str:
    """The IRC ``emotes`` tag: ``id:start-end,...`` (inclusive code point offsets) per emote id."""
    ranges: dict[str, list[str]] = {}
    pos = -shift
    for f in fragments:
        if f.emote_id and f.text and pos >= 0:
            ranges.setdefault(f.emote_id, []).append(f"{pos}-{pos + len(f.text) - 1}")
        pos += len(f.text)
    return "/".join(f"{emote}:{','.join(r)}" for emote, r in ranges.items())


def _channel(user: User, raw: RawEvent, ids: dict[str, int], seen: dict[int, str]) -> tuple[int, str]:
    channel = user.login or raw.channel
    cid = user.id
    if cid is None:
        return ids.get(channel, 0), channel
    if channel:
        ids[channel] = cid
        seen[cid] = channel
    return cid, channel


def _message_row(
    frame: Frame, ev: ChatMessage, raw: RawEvent, ids: dict[str, int], seen: dict[int, str]
) -> MessageRow:
    channel_id, channel = _channel(ev.broadcaster, raw, ids, seen)
    text, is_action = split_action(ev.text)
    badges, badge_info = _badges(ev.badges)
    tags: dict[str, str] = {}
    if ev.reply is not None:
        r = ev.reply
        pairs = (
            ("reply-parent-msg-id", r.parent_message_id),
            ("reply-parent-user-id", str(r.parent_user.id or "")),
            ("reply-parent-user-login", r.parent_user.login),
            ("reply-parent-display-name", r.parent_user.name),
            ("reply-parent-msg-body", r.parent_message_body),
            ("reply-thread-parent-msg-id", r.thread_message_id),
            ("reply-thread-parent-user-id", str(r.thread_user.id or "")),
            ("reply-thread-parent-user-login", r.thread_user.login),
            ("reply-thread-parent-display-name", r.thread_user.name),
        )
        tags.update((k, escape_tag_value(v)) for k, v in pairs)
    if ev.source_broadcaster is not None:
        tags["source-room-id"] = str(ev.source_broadcaster.id or "")
        tags["source-id"] = ev.source_message_id or ""
    if ev.reward_id:
        tags["custom-reward-id"] = escape_tag_value(ev.reward_id)
    msg_id = _MESSAGE_TYPE_MSG_ID.get(ev.message_type)
    if msg_id:
        tags["msg-id"] = msg_id
    if ev.message_type == "user_intro":
        tags["first-msg"] = "1"
    chatter = ev.chatter
    return MessageRow(
        channel_id, channel, frame.timestamp_ms, _uuid(ev.message_id), chatter.id or 0, chatter.login,
        chatter.name, text, is_action, min(ev.bits, _UINT32 - 1), ev.color, badges, badge_info,
        _emotes(ev.fragments, 8 if is_action else 0), "", tags, raw.payload, raw.received_at, raw.source,
    )  # fmt: skip


def _scalar(value: Any) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _notice_tags(ev: ChatNotification) -> dict[str, str]:
    names = MSG_PARAMS.get(ev.notice_type.removeprefix("shared_chat_"))
    tags: dict[str, str] = {}
    for key, value in ev.detail.items():
        text = _scalar(value)
        if text is None:
            continue
        # Unknown notice types keep every scalar field, named the IRC way (hyphens).
        name = names.get(key) if names is not None else key.replace("_", "-")
        if name:
            tags["msg-param-" + name] = text
    if ev.notice_type.endswith(("sub", "resub")) and ev.detail.get("is_prime"):
        tags["msg-param-sub-plan"] = "Prime"
    if "msg-param-streak-months" in tags:
        tags["msg-param-should-share-streak"] = "1"
    return tags


def _notice_row(
    frame: Frame, ev: ChatNotification, raw: RawEvent, ids: dict[str, int], seen: dict[int, str]
) -> EventRow:
    channel_id, channel = _channel(ev.broadcaster, raw, ids, seen)
    notice = ev.notice_type
    kind = "sharedchatnotice" if notice.startswith("shared_chat_") else NOTICE_KINDS.get(notice, notice)
    detail = ev.detail
    if notice == "gift_paid_upgrade" and detail.get("gifter_is_anonymous"):
        kind = "anongiftpaidupgrade"
    if notice == "pay_it_forward" and detail.get("recipient_user_id"):
        kind = "standardpayforward"
    target = User(None, "", "")
    if detail.get("recipient_user_id"):
        target = User(
            int(detail["recipient_user_id"])
            if str(detail["recipient_user_id"]).isascii() and str(detail["recipient_user_id"]).isdigit()
            else None,
            str(detail.get("recipient_user_login") or ""),
            str(detail.get("recipient_user_name") or ""),
        )
    badges, badge_info = _badges(ev.badges)
    chatter = ev.chatter
    tags = {
        "badge-info": badge_info,
        "badges": badges,
        "color": ev.color,
        "display-name": chatter.name,
        "id": ev.message_id,
        "login": chatter.login,
        "msg-id": kind,
        "room-id": str(channel_id),
        "system-msg": ev.system_message,
        "user-id": str(chatter.id or ""),
    }
    if ev.source_broadcaster is not None:
        tags["source-room-id"] = str(ev.source_broadcaster.id or "")
        tags["source-id"] = ev.source_message_id or ""
        tags["source-msg-id"] = NOTICE_KINDS.get(notice.removeprefix("shared_chat_"), notice)
    tags.update(_notice_tags(ev))
    return EventRow(
        channel_id, channel, frame.timestamp_ms, _uuid(ev.message_id), "USERNOTICE", kind, chatter.id or 0,
        chatter.login, chatter.name, target.id or 0, target.login, "", 0, ev.text, ev.system_message,
        tags, raw.payload, raw.received_at, raw.source,
    )  # fmt: skip


def _moderation_row(
    frame: Frame, ev: Any, raw: RawEvent, ids: dict[str, int], seen: dict[int, str]
) -> EventRow:
    channel_id, channel = _channel(ev.broadcaster, raw, ids, seen)
    at = frame.timestamp_ms
    user = target = User(None, "", "")
    target_msg = text = ""
    duration = 0
    tags: dict[str, str] = {"room-id": str(channel_id)}
    if isinstance(ev, MessageDelete):
        command, kind, target, target_msg = "CLEARMSG", "delete", ev.target, ev.message_id
        tags.update({"login": target.login, "target-msg-id": target_msg})
    elif isinstance(ev, ClearUserMessages):
        command, kind, target = "CLEARCHAT", "clear_user_messages", ev.target
        tags["target-user-id"] = str(target.id or "")
    elif isinstance(ev, Ban):
        command, user, target, text, at = "CLEARCHAT", ev.moderator, ev.user, ev.reason, ev.banned_at_ms
        tags["target-user-id"] = str(target.id or "")
        if ev.ends_at_ms is None:
            kind = "ban"
        else:
            kind = "timeout"
            duration = min(max((ev.ends_at_ms - ev.banned_at_ms + 500) // 1000, 0), _UINT32 - 1)
            tags["ban-duration"] = str(duration)
    else:
        command, kind = "CLEARCHAT", "clear"
    return EventRow(
        channel_id, channel, at, _uuid(frame.message_id), command, kind, user.id or 0, user.login, user.name,
        target.id or 0, target.login, target_msg, duration, text, "", tags, raw.payload, raw.received_at,
        raw.source,
    )  # fmt: skip


def _dead(raw: RawEvent, reason: str) -> _Row:
    return (raw.received_at, raw.source, raw.channel, "parse", reason, raw.payload)


def classify(events: Sequence[RawEvent], channel_ids: dict[str, int]) -> RowBatch:
    """Parse EventSub frames into chat rows (see the module docstring for the mapping).

    ``channel_ids`` is the caller's login -> id cache, updated from each event's broadcaster and
    used when an event has no broadcaster id. Every input ends up in exactly one of
    messages/events/dead_letters/control; one bad frame never affects the others.
    """
    batch = RowBatch()
    seen = batch.channels
    for raw in events:
        try:
            frame = parse_frame(raw.payload)
            if frame.message_type != "notification" or frame.subscription_type in NON_CHAT_TYPES:
                batch.control += 1
                continue
            if frame.subscription_type not in CHAT_TYPES:
                raise EventSubParseError(f"unsupported subscription type {frame.subscription_type[:60]!r}")
            ev = decode(frame)
            if isinstance(ev, ChatMessage):
                batch.messages.append(_message_row(frame, ev, raw, channel_ids, seen))
            elif isinstance(ev, ChatNotification):
                batch.events.append(_notice_row(frame, ev, raw, channel_ids, seen))
            elif isinstance(ev, (MessageDelete, ClearUserMessages, ChatClear, Ban)):
                batch.events.append(_moderation_row(frame, ev, raw, channel_ids, seen))
            else:  # pragma: no cover - CHAT_TYPES and decode agree
                raise EventSubParseError(f"unexpected event {type(ev).__name__}")
        except EventSubParseError as e:
            batch.dead_letters.append(
                DeadLetterRow(raw.received_at, raw.source, raw.channel, "parse", e.reason, raw.payload)
            )
        except Exception as e:  # noqa: BLE001 - a decoder bug must dead-letter the frame, not the batch
            reason = f"{type(e).__name__}: {e}".splitlines()[0] if str(e) else type(e).__name__
            batch.dead_letters.append(
                DeadLetterRow(raw.received_at, raw.source, raw.channel, "parse", reason, raw.payload)
            )
    return batch
