"""The per-channel session state machine (rules in streamscope.twitch.sessions)."""

from __future__ import annotations

from streamscope.twitch.helix import StreamSample
from streamscope.twitch.sessions import ABSENCE_GRACE_MS, Absent, ChannelState, Offline, Online

MIN = 60_000


def sample(at: int, viewers: int, stream_id: str = "s1", started_at: int = 0) -> StreamSample:
    return StreamSample(7, "chan", at, viewers, stream_id, started_at, "g", "Game", "title", "en")


def last(rows: list[tuple[object, ...]]) -> dict[str, object]:
    from streamscope.twitch.sessions import STREAM_COLUMNS

    return dict(zip(STREAM_COLUMNS, rows[-1], strict=True))


def test_vanished_session_reopens_when_the_stream_comes_back() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10))
    closed = last(state.step(Absent("chan", 2 * MIN)))
    assert (closed["ended_at"], closed["end_reason"]) == (2 * MIN, "vanished")
    back = last(state.step(sample(3 * MIN, 30)))
    assert (back["ended_at"], back["end_reason"], back["samples"], back["peak_viewers"]) == (None, "", 2, 30)
    assert back["version"] > closed["version"]  # type: ignore[operator]


def test_offline_corrects_the_end_of_a_vanished_session() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10))
    state.step(Absent("chan", 5 * MIN))
    fixed = last(state.step(Offline(7, "chan", 2 * MIN)))
    assert (fixed["ended_at"], fixed["end_reason"]) == (2 * MIN, "offline")


def test_absence_right_after_online_waits_for_helix_to_catch_up() -> None:
    state = ChannelState()
    state.step(Online(7, "chan", "s1", 1 * MIN, 1 * MIN))
    assert state.step(Absent("chan", 2 * MIN)) == []  # Helix lags EventSub: not an end yet
    ended = last(state.step(Absent("chan", 1 * MIN + ABSENCE_GRACE_MS)))
    assert ended["end_reason"] == "vanished"


def test_a_new_stream_id_replaces_the_open_session() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10, "s1", 0))
    rows = state.step(sample(9 * MIN, 20, "s2", 8 * MIN))
    old, new = (dict(zip(("id", "end", "reason"), (r[2], r[4], r[5]), strict=True)) for r in rows)
    assert old == {"id": "s1", "end": 8 * MIN, "reason": "replaced"}
    assert new == {"id": "s2", "end": None, "reason": ""}
    # A late sample of the replaced stream does not reopen it.
    assert state.step(sample(10 * MIN, 5, "s1", 0)) == []
