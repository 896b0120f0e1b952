"""The per-channel session state machine (rules in streamscope.twitch.sessions)."""

from __future__ import annotations

from streamscope.twitch.helix import StreamSample
from streamscope.twitch.sessions import ABSENCE_GRACE_MS, Absent, ChannelState, Offline, Online

MIN = 60_000


def sample(at: int, viewers: int, stream_id: str = "s1", started_at: int = 0) -> StreamSample:
    return StreamSample(7, "chan", at, viewers, stream_id, started_at, "g", "Game", "title", "en")


def last(rows: list[tuple[object, ...]]) -> dict[str, object]:
    from streamscope.warehouse.rows import STREAM_COLUMNS

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


def test_a_stale_sample_does_not_reopen_a_vanished_session() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10))
    state.step(sample(3 * MIN, 30))
    closed = last(state.step(Absent("chan", 4 * MIN)))
    assert (closed["ended_at"], closed["end_reason"]) == (4 * MIN, "vanished")
    # The 2-minute poll arrives late (another Kafka partition): it falls inside the closed session,
    # so it is counted there, and the session stays closed at its end.
    late = last(state.step(sample(2 * MIN, 50)))
    assert (late["ended_at"], late["end_reason"]) == (4 * MIN, "vanished")
    assert (late["samples"], late["viewer_sum"], late["peak_viewers"]) == (3, 90, 50)
    assert late["version"] > closed["version"]  # type: ignore[operator]
    assert state.step(sample(2 * MIN, 50)) == []  # delivered again: counted once


def test_a_stale_absence_does_not_close_a_session_sampled_after_it() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10))
    state.step(sample(3 * MIN, 30))
    assert state.step(Absent("chan", 2 * MIN)) == []
    assert state.current is not None and state.current.ended_at is None


def test_out_of_order_samples_count_once_each_into_peak_and_average() -> None:
    state = ChannelState()
    for at, viewers in [(1, 10), (3, 30), (2, 70), (5, 50), (4, 40), (3, 30), (2, 70), (6, 60)]:
        state.step(sample(at * MIN, viewers))
    s = state.current
    assert s is not None
    assert (s.samples, s.viewer_sum, s.peak_viewers, s.last_sample_at) == (6, 260, 70, 6 * MIN)


def test_a_late_sample_does_not_bring_back_an_old_title() -> None:
    state = ChannelState()
    state.step(sample(1 * MIN, 10))
    newer = StreamSample(7, "chan", 3 * MIN, 30, "s1", 0, "g2", "Game 2", "new title", "en")
    state.step(newer)
    row = last(state.step(sample(2 * MIN, 20)))  # the old title, from a poll before the change
    assert row["segments"] == [(0, "title", "g", "Game"), (3 * MIN, "new title", "g2", "Game 2")]
    assert (state.title, state.game) == ("new title", "Game 2")


def test_a_late_event_of_an_older_stream_leaves_the_live_one_alone() -> None:
    state = ChannelState()
    state.step(sample(10 * MIN, 10, "s2", 9 * MIN))
    assert state.step(Online(7, "chan", "s1", 1 * MIN, 1 * MIN)) == []
    assert state.step(sample(2 * MIN, 5, "s1", 1 * MIN)) == []
    assert state.step(Offline(7, "chan", 3 * MIN)) == []
    assert state.current is not None
    assert (state.current.stream_id, state.current.ended_at, state.current.samples) == ("s2", None, 1)
