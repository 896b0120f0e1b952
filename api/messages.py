"""Stored rows -> the JSON objects the API returns.

What is read from ``chat_messages`` (the column list is :data:`MESSAGE_COLUMNS`): typed columns
hold the common fields (text without the ``/me`` wrapper plus ``is_action``, the raw ``badges``,
``badge-info`` and ``emotes`` tag values); every other tag Twitch sent is in the ``tags`` Map with
its value as sent, i.e. IRCv3-escaped, so values read from it are unescaped here. Absent tags are
JSON null, never an empty string.

The message object (the ``message`` JSON string of ``/v1.0`` and the items of ``/v1``)::

    id, text, is_me, bits, sent_timestamp (ms), received_timestamp (ms),
    reply_parent_msg_id, reply_parent_user_id, reply_parent_user_login, reply_parent_display_name,
    reply_parent_msg_body, reply_thread_parent_msg_id, reply_thread_parent_user_login,
    emotes [{id, start, end, text}] (inclusive code-point offsets into text), room {id, login},
    user {id, login, display_name, color, badges [{name, version}], badge_info [{name, version}],
          is_broadcaster, is_mod, is_subscriber, is_vip, is_turbo, is_first_message,
          is_returning_chatter, user_type},
    source_room_id, source_message_id (shared chat), flags,
    deleted, timed_out, banned, cleared, moderation [{kind, at, duration_s}]  (see api.moderation)
"""

from __future__ import annotations

from typing import Any

from streamscope.twitch.irc.fields import parse_badges, parse_emotes
from streamscope.twitch.irc.tags import unescape_tag_value

# Selected in this order by every message query; sent_at/received_at come back as epoch ms so
# no timezone or sub-second precision is lost between ClickHouse and Python. Aliases never reuse a
# column name: ClickHouse resolves WHERE names to SELECT aliases first.
MESSAGE_COLUMNS = (
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
    "badge_info",
    "emotes",
    "tags",
    "toUnixTimestamp64Milli(received_at) AS received_ms",
)
MESSAGE_SELECT = ", ".join(MESSAGE_COLUMNS)

_REPLY_TAGS = (
    "reply-parent-msg-id",
    "reply-parent-user-id",
    "reply-parent-user-login",
    "reply-parent-display-name",
    "reply-parent-msg-body",
    "reply-thread-parent-msg-id",
    "reply-thread-parent-user-login",
)


def _tag(tags: dict[str, str], key: str) -> str | None:
    value = tags.get(key)
    if value is None:
        return None
    return unescape_tag_value(value)


def _flag(tags: dict[str, str], key: str) -> bool | None:
    value = tags.get(key)
    return None if value is None else value == "1"


def badge_list(value: str) -> list[dict[str, str]]:
    """``subscriber/12,premium/1`` -> ``[{name, version}, ...]`` in the order sent."""
    return [{"name": name, "version": version} for name, version in parse_badges(value)]


def message_object(row: dict[str, Any]) -> dict[str, Any]:
    """The message object for one row selected with :data:`MESSAGE_SELECT` (no moderation yet)."""
    tags: dict[str, str] = row["tags"]
    badges = badge_list(row["badges"])
    badge_names = {b["name"] for b in badges}
    user_id = int(row["user_id"])
    mod = _flag(tags, "mod")
    sub = _flag(tags, "subscriber")
    vip = _flag(tags, "vip")
    turbo = _flag(tags, "turbo")
    obj: dict[str, Any] = {
        "id": row["message_uuid"],
        "text": row["text"],
        "is_me": bool(row["is_action"]),
        "bits": int(row["bits"]),
        "sent_timestamp": int(row["sent_ms"]),
        "received_timestamp": int(row["received_ms"]),
    }
    for key in _REPLY_TAGS:
        obj[key.replace("-", "_")] = _tag(tags, key)
    obj["emotes"] = parse_emotes(row["emotes"], row["text"])
    obj["room"] = {"id": int(row["channel_id"]), "login": row["channel"]}
    obj["user"] = {
        "id": user_id,
        "login": row["user_login"],
        "display_name": row["display_name"] or None,
        "color": row["color"] or None,
        "badges": badges,
        "badge_info": badge_list(row["badge_info"]),
        "is_broadcaster": user_id == int(row["channel_id"]) or "broadcaster" in badge_names,
        # Old lines lack some tags (vip before 2023); the badge says the same thing then.
        "is_mod": mod if mod is not None else "moderator" in badge_names,
        "is_subscriber": sub if sub is not None else bool({"subscriber", "founder"} & badge_names),
        "is_vip": vip if vip is not None else "vip" in badge_names,
        "is_turbo": turbo if turbo is not None else "turbo" in badge_names,
        "is_first_message": _flag(tags, "first-msg") or False,
        "is_returning_chatter": _flag(tags, "returning-chatter") or False,
        "user_type": _tag(tags, "user-type") or None,
    }
    obj["source_room_id"] = _tag(tags, "source-room-id")
    obj["source_message_id"] = _tag(tags, "source-id")
    obj["flags"] = _tag(tags, "flags") or None
    obj["deleted"] = False
    obj["timed_out"] = False
    obj["banned"] = False
    obj["cleared"] = False
    obj["moderation"] = []
    return obj
