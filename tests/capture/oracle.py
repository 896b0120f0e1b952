"""An independent reading of recorded IRC lines and of capture files, for the capture tests.

:func:`expected` turns raw lines into what a capture must contain, with nothing but ``str`` methods
(so a bug in the project's parser cannot make both sides agree); :func:`read_file` parses a file of
any capture format back into comparable records.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

from tests.oracle import split_line

_NOTICE_TYPES = {"sub": "subscription", "resub": "resubscription"}


def privmsg(line: str) -> dict[str, Any]:
    """The fields a file must hold for one PRIVMSG line."""
    tags, nick, _command, params = split_line(line)
    text = params[1]
    is_action = text.startswith("\x01ACTION ") and text.endswith("\x01")
    if is_action:
        text = text[len("\x01ACTION ") : -1]
    emotes = sorted(
        (eid, int(a), int(b))
        for group in filter(None, tags.get("emotes", "").split("/"))
        for eid, spans in [group.split(":", 1)]
        for a, b in (span.split("-") for span in spans.split(","))
    )
    return {
        "message_type": "text_message",
        "message_id": tags["id"],
        "timestamp": int(tags["tmi-sent-ts"]),
        "message": text,
        "is_action": is_action,
        "author_id": int(tags["user-id"]),
        "author_name": nick,
        "author_display_name": tags.get("display-name", ""),
        "author_color": tags.get("color") or None,
        "author_badges": [b.split("/", 1) for b in filter(None, tags.get("badges", "").split(","))],
        "emotes": emotes,
    }


#: The reply-parent tags, in the order of the JSON ``reply`` object's fields.
_REPLY_FIELDS = {
    "parent_id": "reply-parent-msg-id",
    "parent_user_id": "reply-parent-user-id",
    "parent_login": "reply-parent-user-login",
    "parent_display_name": "reply-parent-display-name",
    "parent_text": "reply-parent-msg-body",
    "thread_parent_id": "reply-thread-parent-msg-id",
}


def reply(line: str) -> dict[str, Any] | None:
    """The JSON ``reply`` object of a PRIVMSG line: its unescaped reply-parent tags, absent or empty
    ones null, the user id a number; None when the line is no reply."""
    tags = split_line(line)[0]
    if not tags.get("reply-parent-msg-id"):
        return None
    out: dict[str, Any] = {name: tags.get(tag) or None for name, tag in _REPLY_FIELDS.items()}
    if out["parent_user_id"] is not None:
        out["parent_user_id"] = int(out["parent_user_id"])
    return out


def reply_cells(line: str) -> dict[str, str]:
    """The CSV reply columns of a PRIVMSG line (the CSV carries three of the reply's fields)."""
    r = reply(line) or {}
    return {
        "reply_parent_id": r.get("parent_id") or "",
        "reply_parent_login": r.get("parent_login") or "",
        "reply_parent_text": r.get("parent_text") or "",
    }


def system_message(line: str) -> str | None:
    """The ``system_message`` of a USERNOTICE line: its unescaped ``system-msg`` tag (null if empty)."""
    return split_line(line)[0].get("system-msg") or None


def expected(lines: list[str]) -> list[dict[str, Any]]:
    """What a live capture of ``lines`` writes, in order: every PRIVMSG with all its fields, and
    the user-visible events (USERNOTICE subs, CLEARCHAT timeouts/bans) with their kind and target."""
    out: list[dict[str, Any]] = []
    for line in lines:
        tags, _nick, command, params = split_line(line)
        if command == "PRIVMSG":
            out.append(privmsg(line))
        elif command == "USERNOTICE":
            kind = tags["msg-id"]
            out.append({"message_type": _NOTICE_TYPES.get(kind, kind), "timestamp": int(tags["tmi-sent-ts"])})
        elif command == "CLEARCHAT":
            target = params[1] if len(params) > 1 else ""
            kind = "timeout" if "ban-duration" in tags else "ban" if target else "clear_chat"
            out.append({"message_type": kind, "timestamp": int(tags["tmi-sent-ts"]), "target": target})
    return out


def _txt_stamp(ms: int) -> str:
    return time.strftime("[%Y-%m-%d %H:%M:%S]", time.gmtime(ms // 1000))


def read_file(fmt: str, data: bytes) -> list[dict[str, Any]]:
    """A capture file parsed back to records comparable with :func:`expected` (txt: fewer fields)."""
    text = data.decode("utf-8")
    if fmt in ("json", "jsonl"):
        objects = json.loads(text) if fmt == "json" else [json.loads(x) for x in text.split("\n") if x]
        return [_from_object(o) for o in objects]
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
        return [_from_csv(r) for r in rows]
    assert fmt == "txt"
    return [{"line": x} for x in text.split("\n") if x]


def _from_object(o: dict[str, Any]) -> dict[str, Any]:
    a = o["author"]
    record: dict[str, Any] = {"message_type": o["message_type"], "timestamp": o["timestamp"]}
    if o["message_type"] == "text_message":
        record.update(
            message_id=o["message_id"],
            message=o["message"],
            is_action=o["is_action"],
            author_id=a["id"],
            author_name=a["name"],
            author_display_name=a["display_name"],
            author_color=a["color"],
            author_badges=[[b["name"], b["version"]] for b in a["badges"]],
            emotes=sorted((e["id"], e["start"], e["end"]) for e in o["emotes"]),
        )
    elif o["message_type"] in ("timeout", "ban"):
        record["target"] = o["target"]["name"]
    return record


def _from_csv(r: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {"message_type": r["message_type"], "timestamp": int(r["timestamp"])}
    if r["message_type"] == "text_message":
        record.update(
            message_id=r["message_id"],
            message=r["message"],
            is_action=r["is_action"] == "true",
            author_id=int(r["author_id"]),
            author_name=r["author_name"],
            author_display_name=r["author_display_name"],
            author_color=r["author_color"] or None,
            author_badges=[b.split("/", 1) for b in filter(None, r["author_badges"].split(","))],
            emotes=sorted(
                (eid, int(a), int(b))
                for group in filter(None, r["emotes"].split("/"))
                for eid, spans in [group.split(":", 1)]
                for a, b in (span.split("-") for span in spans.split(","))
            ),
        )
    elif r["message_type"] in ("timeout", "ban"):
        record["target"] = r["target_name"]
    return record


def txt_lines(records: list[dict[str, Any]]) -> list[str]:
    """The txt lines of the chat messages among ``records`` (events are worded by the writer)."""
    return [
        f"{_txt_stamp(r['timestamp'])} {r['author_display_name'] or r['author_name']}: {r['message']}"
        for r in records
        if r["message_type"] == "text_message"
    ]
