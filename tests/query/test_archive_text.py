"""Exports of hostile text equal a capture of the same lines, byte for byte, in every format.

Exports once had a second renderer: ClickHouse built json/jsonl/csv/txt records itself, which
differed from the Python writers in JSON escaping (``\\u001F`` against ``\\u001f``, escaped
U+2028/U+2029). It is gone: every record of an export is built by the one converter of stored rows
(:func:`streamscope.sinks.files.convert.chat_message`, as a live capture does). This test is that
decision's guard: seeded random chat made of the characters renderers disagree on (control
characters, U+2028/U+2029, quotes, backslashes, text that looks like JSON escapes of lone surrogates,
emoji and other astral characters, IRCv3 tag escapes in display names and reply bodies, emote
ranges over astral text, ``/me`` actions), with timeouts, bans, a clear and a deletion, goes through
the ingest's ``classify`` into chDB and out through :class:`ArchiveExport`; each format must be the
bytes :func:`open_writer` writes for ``messages_from_lines`` of the same lines with the moderation
marks an independent reading of the moderation lines gives.
"""

from __future__ import annotations

import io
import json
import random
import uuid
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.query.archive import ArchiveExport
from streamscope.query.archive_query import ArchiveQuery
from streamscope.records import RawLine
from streamscope.sinks.files import FORMATS, FileMessage, messages_from_lines, open_writer
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify

CHANNEL, CHANNEL_ID = "fuzz", 4242
T0 = 1_700_000_000_000
# What JSON, CSV and txt writers treat specially, and what tends to break them.
PIECES = [
    *(chr(c) for c in range(0x00, 0x20) if chr(c) not in "\r\n"),  # IRC lines cannot hold CR/LF
    "\x7f", "\x85", "\xa0", "\u2028", "\u2029", "\ufeff", "\ufffd",
    '"', "'", "\\", "\\\\", '\\"', "\\ud800", "\\udfff", "\\u2028", "\\u001f", "\\n", "\\s", "\\:",
    ",", ";", ":", "/", "</script>", "&amp;", "{", "}", "[", "]",
    "é", "ß", "Ω", "中文", "😀", "👍🏽", "👨‍👩‍👧", "𝕏", "\U0010ffff", "\U0001f600\u200d",
]  # fmt: skip
WORDS = ["Kappa", "PogChamp", "gg", "LUL", "a", "hello", "x"]


def _text(rnd: random.Random) -> str:
    n = rnd.randint(1, 12)
    parts = [rnd.choice(PIECES) if rnd.random() < 0.6 else rnd.choice(WORDS) for _ in range(n)]
    text = "".join(p if rnd.random() < 0.5 else p + " " for p in parts)
    return text if text.strip(" ") else text + "x"  # an empty trailing parameter is no PRIVMSG text


def _tag(value: str) -> str:
    """``value`` escaped as IRCv3 tag values are on the wire (independently of the code under test)."""
    return value.replace("\\", "\\\\").replace(";", "\\:").replace(" ", "\\s")


def _emotes(rnd: random.Random, text: str) -> str:
    """An emotes tag over ``text``'s code points: valid ranges, and now and then one past the end."""
    if rnd.random() < 0.5 or not text:
        return ""
    groups = []
    for eid in rnd.sample(["25", "1902", "emotesv2_abc123", "300354391"], rnd.randint(1, 2)):
        start = rnd.randrange(len(text))
        end = min(start + rnd.randint(0, 4), len(text) - 1) if rnd.random() < 0.9 else len(text) + 3
        groups.append(f"{eid}:{start}-{end}")
    return "/".join(groups)


def _lines(seed: int, n: int) -> tuple[list[str], dict[str, tuple[bool, bool, bool]]]:
    """``n`` PRIVMSGs by 8 users plus moderation lines, and each message's expected
    (deleted, timed_out, banned) by message id."""
    rnd = random.Random(seed)
    users = [(1000 + i, f"user{i}") for i in range(8)]
    messages: list[dict[str, Any]] = []
    lines = []
    for i in range(n):
        uid, login = rnd.choice(users)
        ts = T0 + i * 7 + rnd.randint(0, 3)
        text = _text(rnd)
        mid = str(uuid.UUID(int=rnd.getrandbits(128)))
        tags = [
            "badge-info=subscriber/" + str(rnd.randint(1, 40)),
            "badges=" + rnd.choice(["", "subscriber/12,premium/1", "moderator/1", "vip/1,bits/100"]),
            "color=" + rnd.choice(["", "#FF0000", "#1E90FF"]),
            "display-name=" + _tag(rnd.choice([login.upper(), login + " " + rnd.choice(PIECES), ""])),
            "emotes=" + _emotes(rnd, text),
            f"id={mid}",
            f"room-id={CHANNEL_ID}",
            f"tmi-sent-ts={ts}",
            f"user-id={uid}",
            "flags=" + rnd.choice(["", "0-4:P.3"]),
        ]
        if rnd.random() < 0.3:
            tags += [
                f"reply-parent-msg-id={uuid.UUID(int=rnd.getrandbits(128))}",
                f"reply-parent-user-id={rnd.choice(['77', 'abc', ''])}",
                "reply-parent-user-login=someone",
                "reply-parent-display-name=" + _tag("Some One" + rnd.choice(PIECES)),
                "reply-parent-msg-body=" + _tag(_text(rnd)) + rnd.choice(["", "\\", "\\q"]),
                f"reply-thread-parent-msg-id={uuid.UUID(int=rnd.getrandbits(128))}",
            ]
        body = f"\x01ACTION {text}\x01" if rnd.random() < 0.1 else text
        lines.append(f"@{';'.join(tags)} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #{CHANNEL} :{body}")
        messages.append({"id": mid, "ts": ts, "uid": uid, "login": login})
    # Timeouts and bans, some in the very millisecond of a message of their target; one clear; one
    # deletion. CLEARCHAT lines have no id: the ingest derives one from the line.
    actions: list[tuple[int, int, str]] = []
    for m in rnd.sample(messages, 12):
        at = m["ts"] + rnd.choice([0, 0, 1, 50])
        kind = rnd.choice(["timeout", "ban"])
        actions.append((at, m["uid"], kind))
        duration = f"ban-duration={rnd.randint(1, 600)};" if kind == "timeout" else ""
        lines.append(
            f"@{duration}room-id={CHANNEL_ID};target-user-id={m['uid']};tmi-sent-ts={at} "
            f":tmi.twitch.tv CLEARCHAT #{CHANNEL} :{m['login']}"
        )
    lines.append(f"@room-id={CHANNEL_ID};tmi-sent-ts={T0 + n * 3} :tmi.twitch.tv CLEARCHAT #{CHANNEL}")
    gone = rnd.choice(messages)
    lines.append(
        f"@login={gone['login']};room-id=;target-msg-id={gone['id']};tmi-sent-ts={gone['ts'] + 9} "
        f":tmi.twitch.tv CLEARMSG #{CHANNEL} :{_text(rnd)}"
    )
    actions.sort()
    marks = {}
    for m in messages:
        first = next((kind for at, uid, kind in actions if uid == m["uid"] and at >= m["ts"]), None)
        marks[m["id"]] = (m["id"] == gone["id"], first == "timeout", first == "ban")
    return lines, marks


def _order(m: FileMessage) -> tuple[int, bool, int, int]:
    n = uuid.UUID(m.message_id).int
    return m.timestamp, m.message_type != "text_message", n & (2**64 - 1), n >> 64


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_hostile_text_exports_as_a_capture_writes_it(warehouse: Client, seed: int) -> None:
    lines, marks = _lines(seed, 400)
    raw = [RawLine(CHANNEL, line, 0, "test") for line in lines]
    batch = classify(raw, {})
    assert not batch.dead_letters and len(batch.messages) == 400
    warehouse.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    warehouse.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))
    captured = sorted(messages_from_lines(raw), key=_order)
    for m in captured:
        if m.message_type == "text_message":
            m.deleted, m.timed_out, m.banned = marks[m.message_id]
    assert sum(m.timed_out or m.banned or m.deleted or False for m in captured) >= 8
    for fmt in FORMATS:
        body = b"".join(ArchiveExport(warehouse, ArchiveQuery(CHANNEL_ID, CHANNEL), fmt).chunks())
        buf = io.BytesIO()
        writer = open_writer(fmt, buf, channel=CHANNEL)
        writer.write(captured)
        writer.close()
        assert body == buf.getvalue(), fmt
        if fmt == "jsonl":
            # The characters that renderers disagree on reached the file, as the writer writes them.
            assert "\u2028".encode() in body and b"\\u001f" in body and b"\\u001F" not in body
            texts = [json.loads(line)["message"] for line in body.splitlines()]
            assert texts == [m.message for m in captured]
