"""The streams dataflow: recorded Helix pages and EventSub frames → Bytewax → chDB sessions and samples."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import orjson
import pytest
from bytewax.run import cli_main
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.pipelines import streams
from streamscope.pipelines.transport import Received
from streamscope.records import RawEvent
from streamscope.twitch.sessions import ChannelState
from tests.data import EVENTSUB
from tests.fixtures.embedded import embedded_runtime
from tests.fixtures.helix_server import NINJA_PAGE, recorded

FRAMES = EVENTSUB / "chatterino2" / "ws-messages"


def ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def frame(name: str, *, at: str | None = None, **event: Any) -> dict[str, Any]:
    """A recorded EventSub frame; ``at``/``event`` change its timestamp/fields (said where used)."""
    doc = json.loads((FRAMES / f"{name}.json").read_text())
    if at is not None or event:
        doc = copy.deepcopy(doc)
        if at is not None:
            doc["metadata"]["message_timestamp"] = at
        doc["payload"]["event"].update(event)
    return doc


def eventsub(doc: dict[str, Any], received_at: int = 0) -> RawEvent:
    return RawEvent(
        doc["payload"]["event"]["broadcaster_user_login"], doc["metadata"]["subscription_type"],
        json.dumps(doc), received_at or ms(doc["metadata"]["message_timestamp"]), "eventsub",
    )  # fmt: skip


def helix(polled_at: int, logins: list[str], data: list[dict[str, Any]]) -> RawEvent:
    payload = orjson.dumps(
        {"polled_at": polled_at, "logins": logins, "body": {"data": data, "pagination": {}}}
    )
    return RawEvent("", "helix.streams", payload.decode(), polled_at, "helix")


def run_flow(
    client: Client,
    warehouse_url: str,
    helix_events: list[RawEvent],
    eventsub_events: list[RawEvent],
    seed: dict[str, ChannelState] | None = None,
) -> None:
    runtime = embedded_runtime(client, warehouse_url, batch_rows=100)
    flow = streams.graph(runtime.context(), seed=(lambda: seed) if seed is not None else None)
    bus = runtime.transport.bus  # type: ignore[attr-defined]
    bus.publish(topics.HELIX_STREAMS.name, helix_events)
    bus.publish(topics.EVENTSUB_RAW.name, eventsub_events)
    runtime.transport.stop()  # the inputs end once they have drained what was published
    cli_main(flow)


def sessions(client: Client) -> list[dict[str, Any]]:
    result = client.query(
        "SELECT channel_id, channel, stream_id, toUnixTimestamp64Milli(started_at) AS started,"
        " toUnixTimestamp64Milli(ended_at) AS ended, end_reason, peak_viewers, viewer_sum, samples,"
        " arrayMap(s -> (toUnixTimestamp64Milli(s.1), s.2, s.3, s.4), segments) AS segs"
        " FROM streams FINAL ORDER BY channel_id, started"
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def test_online_update_offline_makes_one_closed_session_with_segments(
    warehouse: Client, warehouse_url: str
) -> None:
    # The recorded frames share one message_timestamp; copies are re-timed to give them an order,
    # and the second channel.update is the recorded one with another title and category.
    t_online, t_update, t_update2, t_offline = (
        "2020-10-11T10:11:13.000Z", "2020-10-11T10:30:00.000Z", "2020-10-11T11:00:00.5Z",
        "2020-10-11T12:00:00.123456789Z",
    )  # fmt: skip
    events = [
        eventsub(frame("stream.online", at=t_online)),
        eventsub(frame("channel.update", at=t_update)),
        eventsub(frame("channel.update", at=t_update2, title="Just Chatting now", category_id="509658",
                       category_name="Just Chatting")),
        eventsub(frame("stream.offline", at=t_offline)),
        eventsub(frame("stream.offline", at=t_offline)),  # delivered twice: changes nothing
    ]  # fmt: skip
    run_flow(warehouse, warehouse_url, [], events)
    assert sessions(warehouse) == [
        {
            "channel_id": 1337, "channel": "cool_user", "stream_id": "9001",
            "started": ms("2020-10-11T10:11:12.123Z"), "ended": ms("2020-10-11T12:00:00.123Z"),
            "end_reason": "offline", "peak_viewers": 0, "viewer_sum": 0, "samples": 0,
            "segs": [
                (ms("2020-10-11T10:11:12.123Z"), "Best Stream Ever", "21779", "Fortnite"),
                (ms("2020-10-11T11:00:00.500Z"), "Just Chatting now", "509658", "Just Chatting"),
            ],
        }
    ]  # fmt: skip
    assert warehouse.query("SELECT count() FROM dead_letters").result_rows == [(0,)]


def test_vanished_stream_gets_its_end_and_samples_are_stored(warehouse: Client, warehouse_url: str) -> None:
    ninja, dr = recorded(NINJA_PAGE)["data"]
    t0 = ms("2018-03-06T16:00:00Z")
    second = dict(ninja, viewer_count=80000, title="new title")  # the recorded object, later poll
    polls = [
        helix(t0, ["ninja", "drdisrespect"], [ninja, dr]),
        helix(t0 + 60_000, ["ninja"], [second]),
        helix(t0 + 60_000, ["ninja"], [second]),  # the same poll delivered again
        helix(t0 + 120_000, ["ninja"], []),  # requested and absent: ended
    ]
    run_flow(warehouse, warehouse_url, polls, [])
    assert sessions(warehouse) == [
        {
            "channel_id": 19571641, "channel": "ninja", "stream_id": "27833742640",
            "started": ms("2018-03-06T15:07:45Z"), "ended": t0 + 120_000, "end_reason": "vanished",
            "peak_viewers": 80000, "viewer_sum": 72124 + 80000, "samples": 2,
            "segs": [
                (ms("2018-03-06T15:07:45Z"), ninja["title"], "33214", "Tekken"),
                (t0 + 60_000, "new title", "33214", "Tekken"),
            ],
        }
    ]  # fmt: skip
    samples = warehouse.query(
        "SELECT channel, toUnixTimestamp64Milli(sampled_at), viewers, stream_id, game, source"
        " FROM viewer_samples FINAL ORDER BY sampled_at"
    ).result_rows
    assert samples == [
        ("ninja", t0, 72124, "27833742640", "Tekken", "helix"),
        ("ninja", t0 + 60_000, 80000, "27833742640", "Tekken", "helix"),
    ]
    # The recorded DrDisrespect item has no user_login: dead-lettered with the reason and the item.
    dead = warehouse.query("SELECT stage, reason, raw FROM dead_letters").result_rows
    assert [(d[0], d[1]) for d in dead] == [("streams", "helix stream item: user_login missing")]
    assert json.loads(dead[0][2]) == dr
    channels = warehouse.query("SELECT channel_id, login FROM channels FINAL").result_rows
    assert channels == [(19571641, "ninja")]


def test_malformed_payloads_are_dead_lettered(warehouse: Client, warehouse_url: str) -> None:
    online = frame("stream.online")
    del online["payload"]["event"]["id"]
    bad = [
        RawEvent("", "helix.streams", "{not json", 1000, "helix"),
        RawEvent("", "helix.streams", '{"polled_at": 1, "logins": []}', 2000, "helix"),
    ]
    run_flow(
        warehouse,
        warehouse_url,
        bad,
        [eventsub(online, 3000), RawEvent("x", "stream.offline", "[]", 4000, "eventsub")],
    )
    dead = warehouse.query(
        "SELECT received_at, stage, reason FROM dead_letters ORDER BY received_at"
    ).result_rows
    assert dead[0][2].startswith("helix.streams: not JSON: ")  # then orjson's own words
    assert [(d[1], d[2]) for d in dead[1:]] == [
        ("streams", "helix.streams: envelope body is not an object"),
        ("streams", "stream.online: id or started_at missing"),
        ("streams", "stream.offline: payload is not an object"),
    ]
    assert sessions(warehouse) == []


def test_eventsub_chat_goes_to_the_chat_tables(warehouse: Client, warehouse_url: str) -> None:
    pytest.importorskip("streamscope.twitch.eventsub.rows")
    doc = json.loads((FRAMES / "channel.chat.message.json").read_text())
    event = RawEvent(
        doc["payload"]["event"]["broadcaster_user_login"],
        "channel.chat.message",
        json.dumps(doc),
        5000,
        "eventsub",
    )
    run_flow(warehouse, warehouse_url, [], [event])
    rows = warehouse.query("SELECT channel_id, text FROM chat_messages FINAL").result_rows
    assert rows == [
        (int(doc["payload"]["event"]["broadcaster_user_id"]), doc["payload"]["event"]["message"]["text"])
    ]


def test_values_the_warehouse_cannot_store_are_dead_lettered_not_crashing_the_flow(
    warehouse: Client, warehouse_url: str
) -> None:
    ninja = recorded(NINJA_PAGE)["data"][0]
    t0 = ms("2018-03-06T16:00:00Z")
    huge_id = dict(ninja, user_id="18446744073709551616")  # 2**64: one more than UInt64 holds
    year_one = dict(ninja, started_at="0001-01-01T00:00:00Z")  # before 1970: not a stream's start
    polls = [
        helix(t0, ["ninja"], [ninja]),
        helix(t0 + 60_000, ["ninja"], [huge_id]),
        helix(t0 + 120_000, ["ninja"], [year_one]),
        helix(10**18, ["ninja"], [ninja]),  # polled_at past year 2299
    ]
    split = streams.Splitter()(Received("t", polls[1:]))
    assert (split.samples.samples, split.keyed) == ([], [])
    # stream.online of a broadcaster id beyond UInt64 and another stamped in year 1.
    events = [
        eventsub(frame("stream.online", broadcaster_user_id="18446744073709551616"), 5000),
        eventsub(frame("stream.online", at="0001-01-01T00:00:00Z"), 6000),
    ]
    run_flow(warehouse, warehouse_url, polls, events)
    dead = warehouse.query(
        "SELECT stage, reason, raw FROM dead_letters ORDER BY received_at, reason"
    ).result_rows
    assert [(d[0], d[1]) for d in dead] == [
        ("streams", "stream.online: broadcaster_user_id '18446744073709551616' is not a numeric id"),
        ("streams", "stream.online: message_timestamp -62135596800000 is not epoch ms between 1970 and 2299"),
        ("streams", "helix stream item: user_id '18446744073709551616' is not a numeric id"),
        ("streams", "helix stream item: started_at -62135596800000 is not epoch ms between 1970 and 2299"),
        ("streams", "helix.streams: envelope polled_at 1000000000000000000 is not epoch ms"
                    " between 1970 and 2299"),
    ]  # fmt: skip
    assert [json.loads(d[2]) for d in dead[2:4]] == [huge_id, year_one]
    # The good poll is stored; the rejected items said the channel was live, so nothing ended.
    assert warehouse.query("SELECT viewers FROM viewer_samples FINAL").result_rows == [(72124,)]
    (session,) = sessions(warehouse)
    assert (session["samples"], session["ended"], session["peak_viewers"]) == (1, None, 72124)


def test_late_polls_from_another_partition_count_into_their_session(
    warehouse: Client, warehouse_url: str
) -> None:
    ninja = recorded(NINJA_PAGE)["data"][0]
    t0 = ms("2018-03-06T16:00:00Z")
    polls = [
        helix(t0, ["ninja"], [ninja]),
        helix(t0 + 120_000, ["ninja"], [dict(ninja, viewer_count=75000)]),
        helix(t0 + 180_000, ["ninja"], []),  # ended
        helix(t0 + 60_000, ["ninja"], [dict(ninja, viewer_count=90000)]),  # late: inside the session
        helix(t0 + 60_000, ["ninja"], [dict(ninja, viewer_count=90000)]),  # and delivered twice
    ]
    run_flow(warehouse, warehouse_url, polls, [])
    (session,) = sessions(warehouse)
    assert (session["ended"], session["end_reason"]) == (t0 + 180_000, "vanished")
    assert (session["samples"], session["viewer_sum"], session["peak_viewers"]) == (
        3, 72124 + 75000 + 90000, 90000
    )  # fmt: skip


def test_a_restart_continues_the_stored_sessions(warehouse: Client, warehouse_url: str) -> None:
    ninja = recorded(NINJA_PAGE)["data"][0]
    t0 = ms("2018-03-06T16:00:00Z")
    renamed = dict(ninja, viewer_count=80000, title="new title")

    def up(polls: list[RawEvent]) -> None:
        """One run of ``streamscope up``'s streams dataflow (a Runtime), stopped after the polls."""
        runtime = embedded_runtime(warehouse, warehouse_url).start_dataflows(["streams"])
        runtime.publisher(topics.HELIX_STREAMS, "helix").publish(polls)
        runtime.finish(60)

    up([helix(t0, ["ninja"], [ninja]), helix(t0 + 60_000, ["ninja"], [renamed])])
    # Restarted: the next polls (and one delivered again) continue the session stored before.
    up(
        [
            helix(t0 + 120_000, ["ninja"], [dict(renamed, viewer_count=60000)]),
            helix(t0 + 60_000, ["ninja"], [renamed]),
        ]
    )
    (session,) = sessions(warehouse)
    assert (session["ended"], session["samples"], session["peak_viewers"], session["viewer_sum"]) == (
        None, 3, 80000, 72124 + 80000 + 60000
    )  # fmt: skip
    assert session["segs"] == [
        (ms("2018-03-06T15:07:45Z"), ninja["title"], "33214", "Tekken"),
        (t0 + 60_000, "new title", "33214", "Tekken"),
    ]
    # The stream ended while nothing ran: the first poll after the next restart closes it.
    up([helix(t0 + 600_000, ["ninja"], [])])
    (session,) = sessions(warehouse)
    assert (session["ended"], session["end_reason"], session["samples"]) == (t0 + 600_000, "vanished", 3)


def test_a_vanished_stream_coming_back_after_a_restart_reopens_its_session(
    warehouse: Client, warehouse_url: str
) -> None:
    ninja = recorded(NINJA_PAGE)["data"][0]
    t0 = ms("2018-03-06T16:00:00Z")
    run_flow(warehouse, warehouse_url, [helix(t0, ["ninja"], [ninja]), helix(t0 + 60_000, ["ninja"], [])], [])
    assert sessions(warehouse)[0]["end_reason"] == "vanished"
    # The recorded times are from 2018: load the closed sessions of any age.
    seed = streams.load_open_sessions(warehouse, closed_within_s=None)
    assert set(seed) == {"ninja"} and seed["ninja"].current is None
    back = helix(t0 + 120_000, ["ninja"], [dict(ninja, viewer_count=70000)])
    run_flow(warehouse, warehouse_url, [back], [], seed=seed)
    (session,) = sessions(warehouse)
    assert (session["ended"], session["end_reason"], session["samples"], session["viewer_sum"]) == (
        None, "", 2, 72124 + 70000
    )  # fmt: skip
    # Without closed_within_s=None, sessions closed long ago (this one, in 2018) are not loaded.
    assert streams.load_open_sessions(warehouse)["ninja"].closed == []
