"""TwitchDownloader's chat JSON, so its renderer (TwitchDownloaderCLI chatrender) can draw our chat.

The structure follows ``TwitchDownloaderCore/TwitchObjects/ChatRoot.cs`` (lay295/TwitchDownloader)
and the real file committed by LiveStreamDVR (``tests/data/vod/twitchdownloader``)::

    {"streamer": {"name", "id"},
     "comments": [{"_id", "created_at", "updated_at", "channel_id", "content_type": "video",
                   "content_id", "content_offset_seconds",
                   "commenter": {"display_name", "_id", "name", "type", "bio", "logo"},
                   "source": "chat", "state": "published",
                   "message": {"body", "bits_spent", "fragments": [{"text", "emoticon"}], "is_action",
                               "user_badges": [{"_id", "version"}], "user_color",
                               "user_notice_params": {"msg_id"}, "emoticons": [{"_id", "begin", "end"}]},
                   "more_replies": false}, ...],
     "video": {"title", "created_at", "start", "end", "length"},
     "embeddedData": null, "emotes": null}

``video`` comes after ``comments`` (as in the LiveStreamDVR file) because its end is only known at
the end of a streamed file. Offsets are seconds since ``start_ms`` (the export's start), else since the
first message. Chat messages and USERNOTICE events (subs, raids, ...: ``user_notice_params.msg_id``
is Twitch's msg-id) become comments; moderation events are not comments in TwitchDownloader's model
and are skipped (not counted in ``messages_written``). The commenter's account dates and logo are
unknown to chat and left out (the reader's defaults apply). Emote offsets are code points.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, BinaryIO

import orjson

from streamscope.sinks.files.convert import MODERATION_TYPES, USERNOTICE_TYPES
from streamscope.sinks.files.schema import FileMessage, iso_time
from streamscope.sinks.files.writers import BaseWriter

_SKIPPED = frozenset(MODERATION_TYPES.values())
_MSG_IDS = {v: k for k, v in USERNOTICE_TYPES.items()}


def fragments(text: str, emotes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``text`` split into plain and emote fragments (TwitchDownloader's ``Fragment`` list)."""
    out: list[dict[str, Any]] = []
    pos = 0
    for e in emotes:
        start, end = int(e["start"]), int(e["end"])
        if start < pos or end >= len(text):
            continue  # overlapping or out of range: keep it as plain text
        if start > pos:
            out.append({"text": text[pos:start], "emoticon": None})
        out.append(
            {"text": text[start : end + 1], "emoticon": {"emoticon_id": str(e["id"]), "emoticon_set_id": ""}}
        )
        pos = end + 1
    if pos < len(text) or not out:
        out.append({"text": text[pos:], "emoticon": None})
    return out


def comment(m: FileMessage, origin_ms: int) -> dict[str, Any]:
    """The TwitchDownloader comment of one message; offsets are seconds since ``origin_ms``."""
    created = iso_time(m.timestamp)
    author = m.author
    body = m.message
    if m.message_type != "text_message":
        body = f"{m.system_message} {m.message}".strip() if m.system_message else m.message
    return {
        "_id": m.message_id,
        "created_at": created,
        "updated_at": created,
        "channel_id": str(m.channel_id or ""),
        "content_type": "video",
        "content_id": "",
        "content_offset_seconds": round((m.timestamp - origin_ms) / 1000, 3),
        "commenter": {
            "display_name": author.display_name or author.name,
            "_id": str(author.id or ""),
            "name": author.name,
            "type": "user",
            "bio": None,
            "logo": None,
        },
        "source": "chat",
        "state": "published",
        "message": {
            "body": body,
            "bits_spent": m.bits,
            "fragments": fragments(body, m.emotes) if body == m.message else fragments(body, []),
            "is_action": m.is_action,
            "user_badges": [{"_id": b["name"], "version": b["version"]} for b in author.badges],
            "user_color": author.color,
            "user_notice_params": {
                "msg_id": None
                if m.message_type == "text_message"
                else _MSG_IDS.get(m.message_type, m.message_type)
            },
            "emoticons": [{"_id": str(e["id"]), "begin": e["start"], "end": e["end"]} for e in m.emotes]
            if body == m.message
            else [],
        },
        "more_replies": False,
    }


class TwitchDownloaderWriter(BaseWriter):
    """Streams a ChatRoot object: the head is written with the first comment (it needs the
    channel id), ``video`` and the rest at :meth:`close`."""

    def __init__(self, fp: BinaryIO, channel: str | None = None, start_ms: int | None = None) -> None:
        super().__init__(fp)
        self.channel = channel
        self.origin_ms = start_ms
        self._comments = 0
        self._last_ms: int | None = None
        self._streamer_id: int | None = None

    def write(self, messages: Iterable[FileMessage]) -> None:
        kept = [m for m in messages if m.message_type not in _SKIPPED]
        super().write(kept)

    def _head(self, first: FileMessage | None) -> bytes:
        if first is not None:
            self._streamer_id = first.channel_id
            if self.channel is None:
                self.channel = first.channel
        streamer = {"name": self.channel or "", "id": self._streamer_id or 0}
        return b'{"streamer":' + orjson.dumps(streamer) + b',"comments":['

    def _encode(self, messages: list[FileMessage]) -> bytes:
        if not messages:
            return b""
        parts: list[bytes] = []
        if self._comments == 0:
            if self.origin_ms is None:
                self.origin_ms = messages[0].timestamp
            parts.append(self._head(messages[0]))
        origin = self.origin_ms or 0
        for m in messages:
            parts.append((b"\n" if self._comments == 0 else b",\n") + orjson.dumps(comment(m, origin)))
            self._comments += 1
        self._last_ms = messages[-1].timestamp
        return b"".join(parts)

    def _trailer(self) -> bytes:
        head = self._head(None) if self._comments == 0 else b""
        origin = self.origin_ms or 0
        end = round(max(0, (self._last_ms or origin) - origin) / 1000, 3)
        video = {
            "title": f"{self.channel or ''} chat from {iso_time(origin)}",
            "created_at": iso_time(origin),
            "start": 0.0,
            "end": end,
            "length": end,
        }
        return head + b"\n],\n" + b'"video":' + orjson.dumps(video) + b',"embeddedData":null,"emotes":null}\n'
