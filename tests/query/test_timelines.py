"""The moderation and room timelines kept between pages (:mod:`streamscope.query.timelines`) and the
table versions that guard them (:meth:`Warehouse.version`): a CLEARMSG, CLEARCHAT or ROOMSTATE
stored after a page was read shows on the very next read, and a kept timeline gives every message
the same marks and room as the per-page queries.

Expected marks and rooms come from the raw lines written here, not from the code under test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.query import timelines as timelines_module
from streamscope.query.cursor import decode
from streamscope.query.messages import CURSOR_SCOPE, MessageQuery, fetch_page
from streamscope.query.timelines import Timelines, timelines
from streamscope.records import RawLine
from streamscope.twitch.irc.rows import EVENT_COLUMNS, MESSAGE_COLUMNS, classify
from streamscope.warehouse.shared import Warehouse

T = 1_700_000_000_000
CID = 4242
A, B = 111, 222  # two users
IDS = [str(uuid.UUID(int=i + 1)) for i in range(6)]


def _privmsg(login: str, uid: int, ts: int, mid: str) -> str:
    return (
        f"@badges=;color=;display-name={login};emotes=;id={mid};room-id={CID};tmi-sent-ts={ts};"
        f"user-id={uid} :{login}!{login}@{login}.tmi.twitch.tv PRIVMSG #fuzz :hi {mid[-1]}"
    )


def _clearmsg(mid: str, ts: int) -> str:
    """A CLEARMSG as Twitch sends it (empty room-id: the ingest takes the channel's id)."""
    return f"@login=x;room-id=;target-msg-id={mid};tmi-sent-ts={ts} :tmi.twitch.tv CLEARMSG #fuzz :x"


def _clearchat(ts: int, user: int = 0, duration: int | None = None) -> str:
    """A CLEARCHAT: a ban of ``user``, a timeout with ``duration``, or a channel clear without user."""
    tags = f"room-id={CID};tmi-sent-ts={ts}"
    if user:
        tags = f"{tags};target-user-id={user}"
    if duration is not None:
        tags = f"ban-duration={duration};{tags}"
    return f"@{tags} :tmi.twitch.tv CLEARCHAT #fuzz" + (" :someone" if user else "")


def _roomstate(tags: str) -> str:
    return f"@{tags};room-id={CID} :tmi.twitch.tv ROOMSTATE #fuzz"


def _store(client: Client, lines: Sequence[str], received_ms: int = 0) -> None:
    """Store lines as the ingest does (``classify``), all received at ``received_ms``."""
    batch = classify([RawLine("fuzz", line, received_ms, "test") for line in lines], {"fuzz": CID})
    if batch.messages:
        client.insert("chat_messages", batch.messages, column_names=list(MESSAGE_COLUMNS))
    if batch.events:
        client.insert("chat_events", batch.events, column_names=list(EVENT_COLUMNS))


# a: IDS 0, 2, 4 at T, T+20, T+40; b: IDS 1, 3, 5 at T+10, T+30, T+50.
MESSAGES = [_privmsg(*(("a", A) if i % 2 == 0 else ("b", B)), T + 10 * i, IDS[i]) for i in range(6)]


def _marks(page: list[dict[str, Any]]) -> dict[str, tuple[bool, bool, bool, bool]]:
    return {m["id"]: (m["deleted"], m["timed_out"], m["banned"], m["cleared"]) for m in page}


def _page(warehouse: Warehouse, shape: str = "v1") -> list[dict[str, Any]]:
    return fetch_page(warehouse, MessageQuery(CID), 100, shape=shape).messages  # type: ignore[arg-type]


@pytest.fixture
def shared(warehouse: Client) -> Iterator[Warehouse]:
    """One handle for the whole test, as the API keeps one: its timelines live between reads."""
    if not warehouse.uri.startswith("chdb://"):
        pytest.skip("the directory checks are chDB's; a server's version is a system.parts query")
    handle = Warehouse(warehouse)
    yield handle
    handle.close()


def test_version_changes_with_every_write_and_only_then(warehouse: Client, shared: Warehouse) -> None:
    versions = [shared.version("chat_events")]
    assert versions[0] is not None and shared.version("chat_events") == versions[0]
    _store(warehouse, MESSAGES[:1])  # chat_messages only
    assert shared.version("chat_events") == versions[0]
    _store(warehouse, [_clearchat(T + 5)])
    versions.append(shared.version("chat_events"))
    _store(warehouse, [_clearchat(T + 6)])
    versions.append(shared.version("chat_events"))
    warehouse.command("OPTIMIZE TABLE chat_events FINAL")  # a merge: same rows, new part
    versions.append(shared.version("chat_events"))
    warehouse.command("ALTER TABLE chat_events DELETE WHERE duration_s = 0 SETTINGS mutations_sync = 1")
    versions.append(shared.version("chat_events"))
    warehouse.command("TRUNCATE TABLE chat_events")
    versions.append(shared.version("chat_events"))
    assert len(set(versions)) == len(versions), versions
    assert shared.version("chat_events") == versions[-1]
    assert shared.version("no_such_table") is None


def test_a_table_created_again_gets_a_new_version(warehouse: Client, shared: Warehouse) -> None:
    warehouse.command("CREATE TABLE scratch (n UInt64) ENGINE = MergeTree ORDER BY n")
    warehouse.command("INSERT INTO scratch VALUES (1)")
    first = shared.version("scratch")
    # Dropped and made again with the same part names: the old directory may linger (Atomic
    # databases delete it later), so the version must not come from it.
    warehouse.command("DROP TABLE scratch")
    assert shared.version("scratch") is None
    warehouse.command("CREATE TABLE scratch (n UInt64) ENGINE = MergeTree ORDER BY n")
    warehouse.command("INSERT INTO scratch VALUES (1)")
    second = shared.version("scratch")
    assert second is not None and second != first
    warehouse.command("INSERT INTO scratch VALUES (2)")
    assert shared.version("scratch") not in (first, second)


def test_moderation_stored_after_a_read_shows_on_the_next_read(
    warehouse: Client, shared: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Read, store a CLEARMSG, read; store a CLEARCHAT timeout, read; a channel clear, read: each new
    action marks its messages on the next read, with the timelines kept and read again at once."""
    monkeypatch.setattr(timelines_module, "MIN_RELOAD_S", 0.0)
    _store(warehouse, MESSAGES)
    none = (False, False, False, False)
    assert _marks(_page(shared)) == dict.fromkeys(IDS, none)
    kept = timelines(shared).moderation(CID)
    assert kept is not None and timelines(shared).moderation(CID) is kept  # kept, not read again

    _store(warehouse, [_clearmsg(IDS[3], T + 60)])
    assert _marks(_page(shared)) == {**dict.fromkeys(IDS, none), IDS[3]: (True, False, False, False)}
    assert timelines(shared).moderation(CID) is not kept

    # a timed out at T+20, the millisecond of a's second message: that one and the earlier one.
    _store(warehouse, [_clearchat(T + 20, A, 60)])
    timed_out = (False, True, False, False)
    assert _marks(_page(shared, "seed")) == {
        **dict.fromkeys(IDS, none),
        IDS[0]: timed_out,
        IDS[2]: timed_out,
        IDS[3]: (True, False, False, False),
    }

    _store(warehouse, [_clearchat(T + 45)])
    assert _marks(_page(shared, "seed")) == {
        IDS[0]: (False, True, False, True),
        IDS[1]: (False, False, False, True),
        IDS[2]: (False, True, False, True),
        IDS[3]: (True, False, False, True),
        IDS[4]: (False, False, False, True),
        IDS[5]: none,
    }


def test_a_change_right_after_a_read_is_read_per_page(
    warehouse: Client, shared: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within ``min_reload_s`` of the last full read, a changed table is not read whole again: the
    page reads its own actions, and they are just as current."""
    monkeypatch.setattr(timelines_module, "MIN_RELOAD_S", 3600.0)
    _store(warehouse, MESSAGES)
    assert _marks(_page(shared))[IDS[1]] == (False, False, False, False)
    assert timelines(shared).moderation(CID) is not None
    _store(warehouse, [_clearchat(T + 10, B)])
    assert timelines(shared).moderation(CID) is None  # changed a moment ago: per page
    assert _marks(_page(shared))[IDS[1]] == (False, False, True, False)


def test_a_roomstate_stored_after_a_read_shows_on_the_next_read(
    warehouse: Client, shared: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(timelines_module, "MIN_RELOAD_S", 0.0)
    _store(warehouse, MESSAGES)
    _store(warehouse, [_roomstate("emote-only=0;followers-only=-1;r9k=0;slow=0;subs-only=0")], T - 1000)
    assert {m["room"]["slow"] for m in _page(shared, "seed")} == {0}
    assert timelines(shared).rooms(CID) is not None
    _store(warehouse, [_roomstate("slow=30")], T + 25)
    rooms = [(m["id"], m["room"]["slow"], m["room"]["is_followers_only"]) for m in _page(shared, "seed")]
    assert rooms == [(mid, 30 if i >= 3 else 0, False) for i, mid in enumerate(IDS)]


def test_kept_and_per_page_timelines_give_the_same_pages(
    warehouse: Client, shared: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of 1, 2 and 4 (boundaries everywhere) from the kept timelines and from the per-page
    queries (a channel over ``max_rows``) are the same, marks and rooms included."""
    _store(warehouse, MESSAGES)
    _store(
        warehouse,
        [
            _clearmsg(IDS[1], T + 12),
            _clearchat(T + 30, B),
            _clearchat(T + 41, A, 5),
            _clearchat(T + 20),
        ],
    )
    _store(warehouse, [_roomstate("followers-only=10;slow=0")], T + 10)

    def pages(handle: Warehouse, limit: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = fetch_page(handle, MessageQuery(CID, after=cursor), limit, shape="seed")
            out += page.messages
            if page.cursor is None:
                return out
            cursor = decode(CURSOR_SCOPE, page.cursor)

    monkeypatch.setattr(timelines_module, "MAX_ROWS", 0)  # every channel is too big: per page
    per_page = Warehouse(warehouse)
    assert timelines(per_page).moderation(CID) is None and timelines(per_page).rooms(CID) is None
    for limit in (1, 2, 4):
        assert pages(shared, limit) == pages(per_page, limit) == pages(shared, 100)
    per_page.close()
    assert _marks(pages(shared, 100)) == {
        IDS[0]: (False, True, False, True),  # a's first action at or after T: the timeout at T+41
        IDS[1]: (True, False, True, True),
        IDS[2]: (False, True, False, True),
        IDS[3]: (False, False, True, False),
        IDS[4]: (False, True, False, False),
        IDS[5]: (False, False, False, False),
    }
    assert [m["room"]["follower_only_delay"] for m in pages(shared, 100)] == [0, 10, 10, 10, 10, 10]


def test_timelines_are_bounded(warehouse: Client, shared: Warehouse) -> None:
    _store(warehouse, MESSAGES)
    _store(warehouse, [_clearchat(T + 5)])
    small = Timelines(shared, max_channels=1, max_rows=1)
    assert small.moderation(CID) is not None
    assert small.moderation(CID + 1) is not None  # an empty channel; the first one is dropped
    assert len(small._moderation) == 1
    _store(warehouse, [_clearchat(T + 6)])
    assert Timelines(shared, max_rows=1).moderation(CID) is None  # two actions: not kept


def test_a_table_written_all_the_time_is_read_whole_less_and_less_often(
    warehouse: Client, shared: Warehouse
) -> None:
    """A changed timeline is read again after ``min_reload_s``; when the read it replaces served no
    page (the table changed again at once), the wait doubles up to ``max_reload_s``; a read that
    served pages brings it back to ``min_reload_s``. Pages in between read per page."""
    now = [0.0]
    kept = Timelines(shared, min_reload_s=1.0, max_reload_s=4.0, clock=lambda: now[0])
    _store(warehouse, MESSAGES)

    def write() -> None:
        _store(warehouse, [_clearchat(T + int(now[0] * 1000) + 100)])

    def at(t: float) -> object:
        now[0] = t
        return kept.moderation(CID)

    first = at(0.0)
    assert first is not None
    write()
    assert at(0.9) is None  # changed within 1 s of the read: per page
    second = at(1.0)
    assert second is not None and second is not first  # read again; `first` served no page
    write()
    assert at(2.9) is None  # now 2 s
    third = at(3.0)
    assert third is not None
    write()
    assert at(6.9) is None  # 4 s (the ceiling)
    fourth = at(7.0)
    assert fourth is not None and at(7.5) is fourth  # unchanged: served from the kept timeline
    write()
    assert at(7.9) is None
    assert at(8.0) is not None  # the last read served a page: back to 1 s
