"""Stored rows -> the JSON objects the API returns: one function per shape.

* :func:`message_object`: the message object of ``/v1/channels/{channel}/messages``, from a
  :class:`~streamscope.warehouse.rows.MessageRow` and its
  :class:`~streamscope.query.moderation.MessageMarks`;
* :func:`seed_message_object`: the message object of ``/v1.0/{broadcaster_id}/chat`` (served as a
  JSON string), the seed "Twitch Chat Ingestor" shape, from the same row and marks plus the
  :class:`~streamscope.query.rooms.RoomModes` in force when it was sent;
* :func:`event_object`: the event object of ``/v1/channels/{channel}/events``, from an
  :class:`~streamscope.warehouse.rows.EventRow`.

(The file record of exports and captures is :func:`streamscope.sinks.files.convert.chat_message`.)

A message row's typed columns hold the common fields (text without the ``/me`` wrapper plus
``is_action``, the raw ``badges``, ``badge-info`` and ``emotes`` tag values); every other tag Twitch
sent is in ``tags`` with its value as sent, i.e. IRCv3-escaped, so values read from it are unescaped
here. Absent tags are JSON null, never an empty string.

The ``/v1`` message object::

    id, text, is_me, bits, sent_timestamp (ms), received_timestamp (ms),
    reply_parent_msg_id, reply_parent_user_id, reply_parent_user_login, reply_parent_display_name,
    reply_parent_msg_body, reply_thread_parent_msg_id, reply_thread_parent_user_login,
    emotes [{id, start, end, text}] (inclusive code-point offsets into text), room {id, login},
    user {id, login, display_name, color, badges [{name, version}], badge_info [{name, version}],
          is_broadcaster, is_mod, is_subscriber, is_vip, is_turbo, is_first_message,
          is_returning_chatter, user_type},
    source_room_id, source_message_id (shared chat), flags,
    deleted, timed_out, banned, cleared, moderation [{kind, at, duration_s}]  (see query.moderation)

The seed message object (key order as the seed served it; ids and emote positions are strings)::

    text, is_me, bits, sent_timestamp (ms), reply_parent_msg_id, reply_parent_user_id,
    reply_parent_user_login, reply_parent_display_name, reply_parent_msg_body (unescaped, where the
    seed served the raw ``\\s``), reply_thread_parent_msg_id, reply_thread_parent_user_login,
    emotes {emote id: [{start_position, end_position}]} | null (inclusive; in the tag's order), id,
    room {name, is_emote_only, is_subs_only, is_followers_only, is_unique_only,
          follower_only_delay (minutes), room_id, slow (seconds)},
    user {name (login), badge_info {name: version} | null, badges {name: version}, color,
          display_name, mod, subscriber, turbo, id, user_type, vip},
    then, beside the seed's keys: source_room_id, source_message_id, flags and the moderation marks
"""

from __future__ import annotations

from typing import Any

from streamscope.query.moderation import MessageMarks
from streamscope.query.rooms import RoomModes
from streamscope.twitch.irc.fields import emote_positions_as_sent, parse_badges, parse_emotes
from streamscope.twitch.irc.tags import unescape_tag_value
from streamscope.warehouse.rows import EventRow, MessageRow

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


def message_object(row: MessageRow, marks: MessageMarks) -> dict[str, Any]:
    """The message object of one stored message with its moderation marks."""
    tags = row.tags
    badges = badge_list(row.badges)
    badge_names = {b["name"] for b in badges}
    user_id = int(row.user_id)
    mod = _flag(tags, "mod")
    sub = _flag(tags, "subscriber")
    vip = _flag(tags, "vip")
    turbo = _flag(tags, "turbo")
    obj: dict[str, Any] = {
        "id": row.message_id,
        "text": row.text,
        "is_me": bool(row.is_action),
        "bits": int(row.bits),
        "sent_timestamp": int(row.sent_at),
        "received_timestamp": int(row.received_at),
    }
    for key in _REPLY_TAGS:
        obj[key.replace("-", "_")] = _tag(tags, key)
    obj["emotes"] = parse_emotes(row.emotes, row.text)
    obj["room"] = {"id": int(row.channel_id), "login": row.channel}
    obj["user"] = {
        "id": user_id,
        "login": row.user_login,
        "display_name": row.display_name or None,
        "color": row.color or None,
        "badges": badges,
        "badge_info": badge_list(row.badge_info),
        "is_broadcaster": user_id == int(row.channel_id) or "broadcaster" in badge_names,
        # Old lines lack some tags (vip before 2023); the badge says the same thing then.
        "is_mod": mod if mod is not None else "moderator" in badge_names,
        "is_subscriber": sub if sub is not None else bool({"subscriber", "founder"} & badge_names),
        "is_vip": vip if vip is not None else "vip" in badge_names,
        "is_turbo": turbo if turbo is not None else "turbo" in badge_names,
        "is_first_message": _flag(tags, "first-msg") or False,
        "is_returning_chatter": _flag(tags, "returning-chatter") or False,
        "user_type": _tag(tags, "user-type") or None,
    }
    _add_extras(obj, tags, marks)
    return obj


def _add_extras(obj: dict[str, Any], tags: dict[str, str], marks: MessageMarks) -> None:
    """The shared-chat source, flags and moderation marks, last in both message shapes."""
    obj["source_room_id"] = _tag(tags, "source-room-id")
    obj["source_message_id"] = _tag(tags, "source-id")
    obj["flags"] = _tag(tags, "flags") or None
    obj["deleted"] = marks.deleted
    obj["timed_out"] = marks.timed_out
    obj["banned"] = marks.banned
    obj["cleared"] = marks.cleared
    obj["moderation"] = [{"kind": a.kind, "at": a.at_ms, "duration_s": a.duration_s} for a in marks.actions]


def seed_message_object(row: MessageRow, marks: MessageMarks, room: RoomModes) -> dict[str, Any]:
    """The ``/v1.0`` message object of one stored message: the seed's shape (module docstring), with
    ``room`` from the modes in force when it was sent and the moderation marks beside it.

    ``mod``, ``subscriber`` and ``turbo`` are their tags (``1`` = true; absent = false); ``vip`` is
    true when the ``vip`` tag is present or a ``vip`` badge is shown (old lines have no vip tag).
    """
    tags = row.tags
    badges = dict(parse_badges(row.badges))
    obj: dict[str, Any] = {
        "text": row.text,
        "is_me": bool(row.is_action),
        "bits": int(row.bits),
        "sent_timestamp": int(row.sent_at),
    }
    for key in _REPLY_TAGS:
        obj[key.replace("-", "_")] = _tag(tags, key)
    emotes: dict[str, list[dict[str, str]]] = {}
    for emote_id, start, end in emote_positions_as_sent(row.emotes):
        emotes.setdefault(emote_id, []).append({"start_position": str(start), "end_position": str(end)})
    obj["emotes"] = emotes or None
    obj["id"] = row.message_id
    obj["room"] = {
        "name": row.channel,
        "is_emote_only": room.emote_only,
        "is_subs_only": room.subs_only,
        "is_followers_only": room.followers_only >= 0,
        "is_unique_only": room.r9k,
        "follower_only_delay": max(room.followers_only, 0),
        "room_id": str(row.channel_id),
        "slow": room.slow,
    }
    obj["user"] = {
        "name": row.user_login,
        "badge_info": dict(parse_badges(row.badge_info)) or None,
        "badges": badges,
        "color": row.color or None,
        "display_name": row.display_name or None,
        "mod": tags.get("mod") == "1",
        "subscriber": tags.get("subscriber") == "1",
        "turbo": tags.get("turbo") == "1",
        "id": str(row.user_id),
        "user_type": _tag(tags, "user-type") or None,
        "vip": "vip" in tags or "vip" in badges,
    }
    _add_extras(obj, tags, marks)
    return obj


def event_object(row: EventRow) -> dict[str, Any]:
    """One event: who acted (``user``), on whom (``target``), and the notice's params.

    Unlike chat_messages, chat_events keeps whole raw lines and stores its ``tags`` unescaped.
    """
    user = None
    if row.user_id or row.user_login:
        user = {
            "id": int(row.user_id) or None,
            "login": row.user_login or None,
            "display_name": row.display_name or None,
        }
    target = None
    if row.target_user_id or row.target_login or row.target_message_id:
        target = {
            "id": int(row.target_user_id) or None,
            "login": row.target_login or None,
            "message_id": row.target_message_id or None,
        }
    return {
        "id": row.event_id,
        "kind": row.kind,
        "command": row.command,
        "at": int(row.at),
        "user": user,
        "target": target,
        "duration_s": int(row.duration_s) if row.kind == "timeout" else None,
        "text": row.text or None,
        "system_message": row.system_message or None,
        "msg_params": {
            key[len("msg-param-") :]: value for key, value in row.tags.items() if key.startswith("msg-param-")
        },
    }
