"""EventSubSource against the loopback EventSub peer (tests/fixtures/eventsub_server.py), which sends
the recorded frames of tests/data/eventsub: exact published RawEvents, reconnect hand-over (frames on
the old socket inside it published once, in order), resubscription after a dropped socket, refused
subscriptions, and no token in any log line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

import pytest

from streamscope.records import RawEvent
from streamscope.sources.eventsub import EventSubSource
from streamscope.sources.eventsub.users import HelixUsersError
from tests.data import EVENTSUB
from tests.fixtures.eventsub_server import EventSubServer, wait_until

WS = EVENTSUB / "chatterino2" / "ws-messages"
CHANNELS = {"cool_user": "1337", "amar": "67931625"}
READER = "27620241"
EXPECTED_SUBS = sorted(
    [(t, v, {"broadcaster_user_id": cid}) for cid in CHANNELS.values() for t, v in
     (("stream.online", "1"), ("stream.offline", "1"), ("channel.update", "2"))]
    + [(t, "1", {"broadcaster_user_id": cid, "user_id": READER}) for cid in CHANNELS.values() for t in
       ("channel.chat.message", "channel.chat.notification", "channel.chat.message_delete",
        "channel.chat.clear_user_messages", "channel.chat.clear")],
    key=str,
)  # fmt: skip


def recorded(name: str) -> str:
    return (WS / f"{name}.json").read_text(encoding="utf-8")


class Capture:
    def __init__(self) -> None:
        self.events: list[RawEvent] = []

    def __call__(self, batch: list[RawEvent]) -> None:
        self.events.extend(batch)


@pytest.fixture
async def running(eventsub_server: EventSubServer) -> AsyncIterator[tuple[EventSubSource, Capture]]:
    capture = Capture()
    source = EventSubSource(
        CHANNELS, capture, user_id=READER, client_id=eventsub_server.client_id, token=eventsub_server.token,
        url=eventsub_server.url, helix_url=eventsub_server.helix_url, backoff_initial_s=0.05,
    )  # fmt: skip
    task = asyncio.create_task(source.run())
    await wait_until(lambda: source.stats().subscriptions == 16 or task.done())
    try:
        yield source, capture
    finally:
        await source.stop()
        await asyncio.wait_for(task, 10)


def created(server: EventSubServer, start: int = 0) -> list[tuple[str, str, dict[str, str]]]:
    return sorted(
        [(b["type"], b["version"], b["condition"]) for status, b in server.requests[start:] if status == 202],
        key=str,
    )


def check(events: list[RawEvent], sent: list[str], channel: str, kind: str, t0: int) -> None:
    assert [(e.channel, e.kind, e.payload, e.source) for e in events] == [
        (channel, kind, t, "eventsub") for t in sent
    ]
    assert all(t0 <= e.received_at <= time.time_ns() // 1_000_000 for e in events)


async def test_subscribes_and_publishes_frames_as_received(
    eventsub_server: EventSubServer,
    running: tuple[EventSubSource, Capture],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    source, capture = running
    assert created(eventsub_server) == EXPECTED_SUBS
    session = source.stats().session_id
    assert session is not None and list(eventsub_server.sessions) == [session]
    t0 = time.time_ns() // 1_000_000
    names = ["stream.online", "channel.update", "channel.chat.notification-resub-msg", "stream.offline"]
    sent = [await eventsub_server.notify(recorded(n)) for n in names]
    assert [len(s) for s in sent] == [1, 1, 1, 1]
    await wait_until(lambda: len(capture.events) == 4)
    check(capture.events[0:1], sent[0], "cool_user", "stream.online", t0)
    check(capture.events[1:2], sent[1], "cool_user", "channel.update", t0)
    check(capture.events[2:3], sent[2], "amar", "channel.chat.notification", t0)
    check(capture.events[3:4], sent[3], "cool_user", "stream.offline", t0)
    # A chat message for a channel nobody subscribed to is not delivered by Twitch.
    assert await eventsub_server.notify(recorded("channel.chat.message")) == []
    # Junk on the socket is still published, for the pipeline's dead letters.
    await eventsub_server.send_raw("{oops")
    await wait_until(lambda: len(capture.events) == 5)
    assert capture.events[4].payload == "{oops" and capture.events[4].kind == ""
    assert source.stats().notifications == 4 and source.stats().unparsable == 1
    assert eventsub_server.token not in caplog.text


async def test_follows_session_reconnect_without_resubscribing(
    eventsub_server: EventSubServer, running: tuple[EventSubSource, Capture]
) -> None:
    source, capture = running
    old = source.stats().session_id
    requests = len(eventsub_server.requests)
    assert await eventsub_server.reconnect() == [old]
    await wait_until(lambda: source.stats().reconnects == 1 and old in eventsub_server.closed)
    new = source.stats().session_id
    assert new != old and list(eventsub_server.sessions) == [new]
    assert len(eventsub_server.requests) == requests  # Twitch kept the subscriptions
    assert len(eventsub_server.sessions[new].subscriptions) == 16
    t0 = time.time_ns() // 1_000_000
    sent = await eventsub_server.notify(recorded("stream.online"))
    assert len(sent) == 1 and f'"session_id": "{new}"' in sent[0]
    await wait_until(lambda: len(capture.events) == 1)
    check(capture.events, sent, "cool_user", "stream.online", t0)
    assert source.stats().resubscribes == 0


async def test_frames_on_the_old_socket_during_a_hand_over_are_published_once_in_order(
    eventsub_server: EventSubServer, running: tuple[EventSubSource, Capture]
) -> None:
    """Twitch keeps writing to the old socket until the new one is welcomed, and what it wrote just
    before the welcome can still be in flight on the old socket after it: all of it is published,
    before anything of the new session, and a notification re-delivered on the new session (same
    message_id) is not published again."""
    source, capture = running
    old = source.stats().session_id
    assert old is not None
    eventsub_server.hold_welcomes = True
    assert await eventsub_server.reconnect() == [old]
    await wait_until(lambda: len(eventsub_server.held) == 1)  # the client is on the reconnect_url
    (new,) = eventsub_server.held
    t0 = time.time_ns() // 1_000_000
    before = await eventsub_server.notify(recorded("stream.online"))  # only the old session has it
    assert len(before) == 1 and f'"session_id": "{old}"' in before[0]
    await wait_until(lambda: len(capture.events) == 1)
    # The welcome, then two frames on the old socket with no turn of the event loop in between: the
    # client sees the welcome first or not, either way the old socket still delivers them.
    await eventsub_server.welcome(new)
    in_flight = [
        *await eventsub_server.notify(recorded("channel.update"), to=old),
        *await eventsub_server.notify(recorded("channel.chat.notification-resub-msg"), to=old),
    ]
    again = await eventsub_server.notify(recorded("channel.chat.notification-resub-msg"))  # re-delivery
    assert len(in_flight) == 2 and len(again) == 1 and f'"session_id": "{new}"' in again[0]
    await wait_until(lambda: source.stats().reconnects == 1 and old in eventsub_server.closed)
    after = await eventsub_server.notify(recorded("stream.offline"))
    assert len(after) == 1 and f'"session_id": "{new}"' in after[0]
    await wait_until(lambda: source.stats().notifications == 4 and source.stats().duplicates == 1)
    await asyncio.sleep(0.2)  # nothing more comes
    check(capture.events[0:1], before, "cool_user", "stream.online", t0)
    check(capture.events[1:2], in_flight[:1], "cool_user", "channel.update", t0)
    check(capture.events[2:3], in_flight[1:], "amar", "channel.chat.notification", t0)
    check(capture.events[3:], after, "cool_user", "stream.offline", t0)
    assert source.stats().session_id == new and source.stats().resubscribes == 0


async def test_resubscribes_on_a_new_session_after_a_drop(
    eventsub_server: EventSubServer, running: tuple[EventSubSource, Capture]
) -> None:
    source, capture = running
    old = source.stats().session_id
    requests = len(eventsub_server.requests)
    await eventsub_server.drop()
    assert await eventsub_server.notify(recorded("stream.offline")) == []  # nobody subscribed now
    await wait_until(lambda: source.stats().resubscribes == 1 and source.stats().subscriptions == 16)
    new = source.stats().session_id
    assert new not in (None, old) and list(eventsub_server.sessions) == [new]
    assert created(eventsub_server, requests) == EXPECTED_SUBS
    t0 = time.time_ns() // 1_000_000
    sent = await eventsub_server.notify(recorded("stream.offline"))
    await wait_until(lambda: len(capture.events) == 1)
    check(capture.events, sent, "cool_user", "stream.offline", t0)


async def test_refused_token_is_counted_and_never_logged(
    eventsub_server: EventSubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "not-the-token-b81c2e"
    source = EventSubSource(
        {"cool_user": "1337"}, Capture(), user_id=READER, client_id=eventsub_server.client_id, token=wrong,
        url=eventsub_server.url, helix_url=eventsub_server.helix_url, chat=False,
    )  # fmt: skip
    task = asyncio.create_task(source.run())
    await wait_until(lambda: source.stats().subscribe_errors == 3)
    await source.stop()
    await asyncio.wait_for(task, 10)
    assert [status for status, _ in eventsub_server.requests] == [401, 401, 401]
    assert [(r.type, r.status, r.error) for r in source.last_subscribe] == [
        ("stream.online", 401, "Invalid OAuth token"),
        ("stream.offline", 401, "Invalid OAuth token"),
        ("channel.update", 401, "Invalid OAuth token"),
    ]
    assert "Invalid OAuth token" in caplog.text and wrong not in caplog.text


async def test_unreachable_server_backs_off_until_stopped() -> None:
    source = EventSubSource(
        {"cool_user": "1337"}, Capture(), user_id=READER, client_id="c", token="t",
        url="ws://127.0.0.1:9/ws", helix_url="http://127.0.0.1:9/helix", backoff_initial_s=0.05,
    )  # fmt: skip
    task = asyncio.create_task(source.run())
    await asyncio.sleep(0.3)
    assert not task.done()
    await source.stop()
    await asyncio.wait_for(task, 5)
    assert source.stats().sessions == 0


def test_requires_credentials() -> None:
    with pytest.raises(ValueError, match="STREAMSCOPE_TWITCH_USER_TOKEN"):
        EventSubSource(
            {"cool_user": "1337"}, Capture(), user_id=READER, client_id="c", token=None,
            url="ws://127.0.0.1:9/ws", helix_url="http://127.0.0.1:9/helix",
        )  # fmt: skip


async def test_for_logins_resolves_ids_and_reader(eventsub_server: EventSubServer) -> None:
    source, found = await EventSubSource.for_logins(
        ["Summit1G", "#sodapoppin", "nobody_here"], Capture(), client_id=eventsub_server.client_id,
        token=eventsub_server.token, url=eventsub_server.url, helix_url=eventsub_server.helix_url,
    )  # fmt: skip
    # The recorded GET /users answer: sodapoppin 26301881 (the token's user here), summit1g 26490481.
    assert (found.user_id, found.user_login) == ("26301881", "sodapoppin")
    assert found.channels == {"summit1g": "26490481", "sodapoppin": "26301881"}
    assert found.missing == ("nobody_here",)
    task = asyncio.create_task(source.run())
    await wait_until(lambda: source.stats().subscriptions == 16)
    await source.stop()
    await asyncio.wait_for(task, 10)
    chat = [b for _, b in eventsub_server.requests if b["type"] == "channel.chat.message"]
    assert sorted(b["condition"]["broadcaster_user_id"] for b in chat) == ["26301881", "26490481"]
    assert {b["condition"]["user_id"] for b in chat} == {"26301881"}


async def test_for_logins_refused_token(eventsub_server: EventSubServer) -> None:
    with pytest.raises(HelixUsersError, match="401: Invalid OAuth token") as e:
        await EventSubSource.for_logins(
            ["summit1g"], Capture(), client_id=eventsub_server.client_id, token="wrong-token-5d1e",
            helix_url=eventsub_server.helix_url,
        )  # fmt: skip
    assert "wrong-token-5d1e" not in str(e.value)
