"""The tests' own chat statistics: windows computed straight from raw IRC lines with plain string
splitting (:mod:`tests.oracle`), independent of the parser and of the stats code under test. A
message counts once per ``id`` tag and an event once per ``id`` tag (or per identical raw line when
it has none, as CLEARCHAT), which is what "duplicates never count twice" means.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from clickhouse_connect.driver.client import Client

from tests.oracle import split_line

COUNTED = {
    "sub": "new_subs",
    "resub": "resubs",
    "subgift": "gift_subs",
    "anonsubgift": "gift_subs",
    "raid": "raids",
    "timeout": "timeouts",
    "ban": "bans",
    "clear": "clears",
    "delete": "deletions",
}
FIELDS = (
    "messages", "chatters", "first_time_chatters", "actions", "replies", "chatter_ids",
    "first_time_chatter_ids", "emotes", "emote_counts", "top_emotes", "bits", "subs", "new_subs", "resubs",
    "gift_subs", "raids", "raid_viewers", "timeouts", "bans", "deletions", "clears", "message_length_sum",
)  # fmt: skip


def relevant(line: str) -> bool:
    """Lines whose time and channel the oracle can know: a counted command with tmi-sent-ts and room-id."""
    tags, _, command, _ = split_line(line)
    return (
        command in ("PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG")
        and "tmi-sent-ts" in tags
        and (tags.get("room-id", "").isdigit())
    )


def _empty() -> dict[str, Any]:
    return {
        "ids": set(), "first_ids": set(), "emote_counts": Counter(), "messages": 0, "actions": 0,
        "replies": 0, "bits": 0, "message_length_sum": 0, "raid_viewers": 0,
        **{f: 0 for f in set(COUNTED.values())},
    }  # fmt: skip


def windows(
    lines: Iterable[str], step_s: int, emote_words: frozenset[str] = frozenset()
) -> dict[tuple[int, int], dict[str, Any]]:
    """``(channel id, window start ms)`` → the window's expected chat_stats values."""
    messages: dict[str, tuple[int, int, dict[str, str], str, bool]] = {}
    events: dict[str, tuple[int, int, str, dict[str, str]]] = {}
    for line in lines:
        tags, _, command, params = split_line(line)
        if "tmi-sent-ts" not in tags or not tags.get("room-id", "").isdigit():
            continue
        ts, room = int(tags["tmi-sent-ts"]), int(tags["room-id"])
        if command == "PRIVMSG":
            text = params[1]
            is_me = text.startswith("\x01ACTION ") and text.endswith("\x01")
            messages.setdefault(tags["id"], (room, ts, tags, text[8:-1] if is_me else text, is_me))
        elif command in ("USERNOTICE", "CLEARCHAT", "CLEARMSG"):
            if command == "USERNOTICE":
                kind = tags.get("msg-id", "")
            elif command == "CLEARMSG":
                kind = "delete"
            else:
                target = params[1] if len(params) > 1 else ""
                kind = "clear" if not target else ("timeout" if tags.get("ban-duration") else "ban")
            if kind in COUNTED:
                events.setdefault(tags.get("id") or line, (room, ts, kind, tags))
    ms = step_s * 1000
    out: dict[tuple[int, int], dict[str, Any]] = {}
    for room, ts, tags, text, is_me in messages.values():
        w = out.setdefault((room, ts - ts % ms), _empty())
        w["messages"] += 1
        w["ids"].add(int(tags["user-id"]))
        if tags.get("first-msg") == "1":
            w["first_ids"].add(int(tags["user-id"]))
        w["actions"] += is_me
        w["replies"] += bool(tags.get("reply-parent-msg-id"))
        w["bits"] += int(tags.get("bits") or 0)
        w["message_length_sum"] += len(text)
        names = Counter()
        pending = ""
        for piece in filter(None, tags.get("emotes", "").split("/")):
            if ":" not in piece:  # an emote id with a "/" in it (80481_/3:7-14)
                pending += piece + "/"
                continue
            _, ranges = (pending + piece).rsplit(":", 1)
            pending = ""
            for r in ranges.split(","):
                a, b = (int(x) for x in r.split("-"))
                if text[a : b + 1]:
                    names[text[a : b + 1]] += 1
        for word in text.split():
            if word in emote_words and word not in names:
                w["emote_counts"][word] += 1
        w["emote_counts"].update(names)
    for room, ts, kind, tags in events.values():
        w = out.setdefault((room, ts - ts % ms), _empty())
        w[COUNTED[kind]] += 1
        if kind == "raid":
            w["raid_viewers"] += int(tags.get("msg-param-viewerCount") or 0)
    return {key: _finish(w) for key, w in out.items()}


def _finish(w: dict[str, Any]) -> dict[str, Any]:
    counts = {k: v for k, v in w["emote_counts"].items() if v}
    return {
        "messages": w["messages"],
        "chatters": len(w["ids"]),
        "first_time_chatters": len(w["first_ids"]),
        "actions": w["actions"],
        "replies": w["replies"],
        "chatter_ids": sorted(w["ids"]),
        "first_time_chatter_ids": sorted(w["first_ids"]),
        "emotes": sum(counts.values()),
        "emote_counts": counts,
        "top_emotes": sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        "bits": w["bits"],
        "subs": w["new_subs"] + w["resubs"] + w["gift_subs"],
        **{k: w[k] for k in ("new_subs", "resubs", "gift_subs", "raids", "raid_viewers", "timeouts", "bans")},
        **{k: w[k] for k in ("deletions", "clears", "message_length_sum")},
    }


def stored(client: Client, step_s: int) -> dict[tuple[int, int], dict[str, Any]]:
    """What chat_stats holds (FINAL), in the oracle's shape; all-zero rows of emptied windows skipped."""
    cols = ", ".join(FIELDS)
    rows = client.query(
        f"SELECT channel_id, toUnixTimestamp64Milli(at), {cols} FROM chat_stats FINAL "
        "WHERE step_s = {s:UInt32} ORDER BY channel_id, at",
        parameters={"s": step_s},
    ).result_rows
    out = {}
    for row in rows:
        values = dict(zip(FIELDS, row[2:], strict=True))
        values["emote_counts"] = dict(values["emote_counts"])
        values["top_emotes"] = [
            (t[0], t[1]) if isinstance(t, tuple) else (t["name"], t["count"]) for t in values["top_emotes"]
        ]
        values["chatter_ids"] = list(values["chatter_ids"])
        values["first_time_chatter_ids"] = list(values["first_time_chatter_ids"])
        if any(values[k] for k in FIELDS if k not in ("emote_counts", "top_emotes")):
            out[(int(row[0]), int(row[1]))] = values
    return out
