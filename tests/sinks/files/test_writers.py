"""The file writers and messages_from_lines, on the real xqcow recording.

Expected values come from an independent oracle (:func:`wire`: plain ``str`` splitting of the raw
lines) and from exact lines written out by hand for known recorded messages.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from streamscope.records import RawLine
from streamscope.sinks.files import CSV_COLUMNS, FORMATS, FileMessage, messages_from_lines, open_writer
from tests.data import VOD, XQCOW
from tests.oracle import split_line

SAMPLE = VOD / "twitchdownloader" / "livestreamdvr_dump_redacted.json"


def wire(line: str) -> tuple[dict[str, str], str, str, list[str]]:
    """(tags with raw values, nick, command, params) by plain splitting."""
    return split_line(line, unescape_tags=False)


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return [line for line in XQCOW.read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture(scope="module")
def messages(lines: list[str]) -> list[FileMessage]:
    return list(messages_from_lines(RawLine("xqcow", line, 0, "test") for line in lines))


def _user_visible(lines: list[str]) -> list[str]:
    return [line for line in lines if wire(line)[2] in ("PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG")]


def _write(fmt: str, messages: list[FileMessage], batch: int = 700) -> bytes:
    buf = io.BytesIO()
    writer = open_writer(fmt, buf, channel="xqcow")
    for i in range(0, len(messages), batch):
        writer.write(messages[i : i + batch])
    writer.close()
    assert writer.bytes_written == len(buf.getvalue())
    return buf.getvalue()


def test_messages_from_lines_match_the_recording(lines: list[str], messages: list[FileMessage]) -> None:
    visible = _user_visible(lines)
    assert len(messages) == len(visible) == 5000
    for m, line in zip(messages, visible, strict=True):
        tags, nick, command, params = wire(line)
        assert m.raw == line
        assert m.timestamp == int(tags["tmi-sent-ts"])
        assert m.channel == "xqcow" and m.channel_id == 71092938
        if command == "PRIVMSG":
            text = params[1]
            is_action = text.startswith("\x01ACTION ") and text.endswith("\x01")
            assert m.message_type == "text_message" and m.is_action == is_action
            assert (m.message_id, m.message, m.author.name) == (
                tags["id"],
                text[8:-1] if is_action else text,
                nick,
            )
            assert m.author.id == int(tags["user-id"])
            assert m.author.display_name == tags["display-name"]
            assert m.author.color == (tags["color"] or None)
            badges = [b.split("/") for b in tags["badges"].split(",") if b]
            assert [[b["name"], b["version"]] for b in m.author.badges] == badges
        elif command == "CLEARCHAT":
            assert m.message_type == ("timeout" if "ban-duration" in tags else "ban")
            assert m.target == {"id": int(tags["target-user-id"]), "name": params[1], "message_id": None}
            assert m.duration_s == (int(tags["ban-duration"]) if "ban-duration" in tags else None)
        else:
            assert command == "USERNOTICE"
            assert m.message_type == {"sub": "subscription", "resub": "resubscription"}[tags["msg-id"]]
            assert m.message_id == tags["id"] and m.author.name == tags["login"]
            assert m.system_message == tags["system-msg"].replace("\\s", " ")
        assert m.deleted is m.timed_out is m.banned is None  # unknown while capturing


def test_connection_lines_yield_nothing() -> None:
    raw = [
        ":tmi.twitch.tv 001 justinfan1 :Welcome, GLHF!",
        "PING :tmi.twitch.tv",
        "@emote-only=0 :tmi.twitch.tv ROOMSTATE #x",
    ]
    assert list(messages_from_lines(RawLine("x", line, 0, "t") for line in raw)) == []


def test_txt_and_csv_lines_of_known_messages(messages: list[FileMessage]) -> None:
    txt = _write("txt", messages).decode().split("\n")
    assert txt[-1] == "" and len(txt) == 5001
    assert txt[1] == "[2019-09-15 00:00:00] onche was timed out for 150s"
    assert txt[3] == "[2019-09-15 00:00:00] DevilBalrog: !#showemote xqcT"

    rows = list(csv.reader(io.StringIO(_write("csv", messages).decode())))
    assert rows[0] == list(CSV_COLUMNS) and len(rows) == 5001
    assert rows[4] == [
        "d10eb06b-2c8f-4813-95c1-e7bed5b70afa", "1568505600861", "2019-09-15T00:00:00.861Z", "text_message",
        "xqcow", "71092938", "82563640", "devilbalrog", "DevilBalrog", "#2693E2", "subscriber/9",
        "!#showemote xqcT", "932291:12-15", "0", "false", "", "", "", "", "", "", "", "", "", "", "",
    ]  # fmt: skip
    assert rows[2][3:6] == ["timeout", "xqcow", "71092938"] and rows[2][19:23] == [
        "48215771",
        "onche",
        "",
        "150",
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_parses_back_to_the_same_messages(fmt: str, messages: list[FileMessage]) -> None:
    data = _write(fmt, messages)
    text = data.decode()
    if fmt == "jsonl":
        assert [json.loads(line) for line in text.splitlines()] == [m.to_dict() for m in messages]
    elif fmt == "json":
        assert json.loads(text) == [m.to_dict() for m in messages]
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["message_id"] for r in rows] == [m.message_id for m in messages]
        assert [r["message"] for r in rows] == [m.message for m in messages]
        assert [r["author_name"] for r in rows] == [m.author.name for m in messages]
        assert [int(r["timestamp"]) for r in rows] == [m.timestamp for m in messages]
    elif fmt == "txt":
        out = text.splitlines()
        chat = [(o, m) for o, m in zip(out, messages, strict=True) if m.message_type == "text_message"]
        assert all(o.endswith(f"] {m.author.display_name}: {m.message}") for o, m in chat)
    elif fmt == "irc":
        assert text.splitlines() == [m.raw for m in messages]
    else:
        root = json.loads(text)
        comments = [m for m in messages if m.message_type not in ("timeout", "ban")]
        assert [c["_id"] for c in root["comments"]] == [m.message_id for m in comments]
        assert [c["commenter"]["name"] for c in root["comments"]] == [m.author.name for m in comments]
        assert root["streamer"] == {"name": "xqcow", "id": 71092938}


def test_twitchdownloader_follows_the_real_sample(messages: list[FileMessage]) -> None:
    sample = json.loads(SAMPLE.read_text(encoding="utf-8"))
    root = json.loads(_write("twitchdownloader", messages))
    assert set(sample) <= set(root)
    ours, theirs = root["comments"][3], sample["comments"][0]
    assert set(ours) == set(theirs)
    # The commenter's account dates are not in chat; the reader's defaults apply (documented).
    assert set(theirs["commenter"]) - set(ours["commenter"]) == {"created_at", "updated_at"}
    assert set(ours["message"]) == set(theirs["message"])
    assert set(root["video"]) >= set(sample["video"])
    first, emote = root["comments"][0], root["comments"][2]
    assert first["content_offset_seconds"] == 0.0 and first["created_at"] == "2019-09-15T00:00:00.501Z"
    assert emote["message"]["fragments"] == [
        {"text": "!#showemote ", "emoticon": None},
        {"text": "xqcT", "emoticon": {"emoticon_id": "932291", "emoticon_set_id": ""}},
    ]
    assert emote["message"]["emoticons"] == [{"_id": "932291", "begin": 12, "end": 15}]
    last = messages[-1].timestamp - messages[0].timestamp
    assert root["video"]["end"] == pytest.approx(last / 1000)
    subs = [c for c in root["comments"] if c["message"]["user_notice_params"]["msg_id"]]
    assert {c["message"]["user_notice_params"]["msg_id"] for c in subs} == {"sub", "resub"} and len(subs) == 9


@pytest.mark.parametrize("fmt", ["jsonl", "txt", "csv", "irc"])
def test_a_crash_leaves_a_valid_prefix(fmt: str, messages: list[FileMessage], tmp_path: Path) -> None:
    path = tmp_path / f"out.{fmt}"
    with path.open("wb") as fp:
        writer = open_writer(fmt, fp)
        for n in (1, 250, 1000):
            writer.write(messages[:n])
            # Read what is on disk now, as a reader of a crashed capture would (no close()).
            on_disk = path.read_bytes()
            assert on_disk.endswith(b"\n")
            parsed: list[Any]
            if fmt == "jsonl":
                parsed = [json.loads(line) for line in on_disk.splitlines()]
            elif fmt == "csv":
                parsed = list(csv.DictReader(io.StringIO(on_disk.decode())))
            else:
                parsed = on_disk.decode().splitlines()
            assert len(parsed) == writer.messages_written


def test_unknown_format_and_irc_without_raw_are_errors(messages: list[FileMessage]) -> None:
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        open_writer("xml", io.BytesIO())
    m = messages[0]
    no_raw = FileMessage(m.message_id, m.message, m.timestamp, m.message_type, m.channel, None, m.author)
    buf = io.BytesIO()
    with pytest.raises(ValueError, match="no raw IRC line"):
        open_writer("irc", buf).write([no_raw])
    assert buf.getvalue() == b""


def test_empty_files_are_valid() -> None:
    for fmt, expected in (("json", []), ("jsonl", None), ("csv", None)):
        buf = io.BytesIO()
        writer = open_writer(fmt, buf)
        writer.close()
        if expected is not None:
            assert json.loads(buf.getvalue()) == expected
    buf = io.BytesIO()
    open_writer("twitchdownloader", buf, channel="xqcow").close()
    assert json.loads(buf.getvalue())["comments"] == []
