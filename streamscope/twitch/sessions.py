"""Stream sessions from viewer samples and EventSub stream events: one channel's state machine.

Inputs (all for one channel, keyed by login): a Helix viewer sample, "absent from a /streams answer
that asked for it", EventSub ``stream.online`` / ``stream.offline`` / ``channel.update``. Output:
snapshots of the sessions that changed, as ``streams`` rows (:data:`STREAM_COLUMNS`), each with a
larger ``version`` than the last (ReplacingMergeTree keeps the newest).

Rules:
* A session opens on ``stream.online`` or on the first sample with a stream id not seen before;
  a different stream id while one is open closes the old one first (``replaced``, ended at the new
  stream's start).
* It closes on ``stream.offline`` (ended at the notification's ``message_timestamp``) or when the
  channel is absent from a ``/streams`` answer that requested it (``vanished``, ended at that poll's
  time: the stream was live at its last sample and gone at that poll, and the later bound keeps the
  chat written until the end inside the session; ``last_sample_at`` keeps the earlier bound). Helix
  lags EventSub by a minute or two, so absence closes a session only once Helix has seen it
  (a sample) or ``ABSENCE_GRACE_MS`` after it started.
* A ``vanished`` session whose stream id shows up again is reopened (Helix answers sometimes miss a
  live stream); a later ``stream.offline`` corrects a vanished session's end to the earlier time.
* Peak/average viewers come from the samples; a repeated sample (same or older poll time) is
  ignored, so re-delivered polls count once.
* Segments: a new (at, title, game_id, game) whenever the title or game changes (channel.update or
  a sample showing a new one); the first segment starts at the session start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from streamscope.twitch.helix import StreamSample

STREAM_COLUMNS = (
    "channel_id", "channel", "stream_id", "started_at", "ended_at", "end_reason", "last_sample_at",
    "peak_viewers", "viewer_sum", "samples", "segments", "version",
)  # fmt: skip

ABSENCE_GRACE_MS = 10 * 60 * 1000
_KEEP_CLOSED = 4

Segment = tuple[int, str, str, str]


@dataclass(frozen=True, slots=True)
class Absent:
    """The channel was requested from Helix at ``at`` (ms) and was not live."""

    login: str
    at: int


@dataclass(frozen=True, slots=True)
class Online:
    channel_id: int
    login: str
    stream_id: str
    started_at: int
    at: int


@dataclass(frozen=True, slots=True)
class Offline:
    channel_id: int
    login: str
    at: int


@dataclass(frozen=True, slots=True)
class ChannelUpdate:
    channel_id: int
    login: str
    title: str
    game_id: str
    game: str
    at: int


SessionInput = StreamSample | Absent | Online | Offline | ChannelUpdate
StreamEvent = Online | Offline | ChannelUpdate


@dataclass(slots=True)
class Session:
    channel_id: int
    channel: str
    stream_id: str
    started_at: int
    ended_at: int | None = None
    end_reason: str = ""
    last_sample_at: int | None = None
    peak_viewers: int = 0
    viewer_sum: int = 0
    samples: int = 0
    segments: list[Segment] = field(default_factory=list)

    def row(self, version: int) -> tuple[Any, ...]:
        return (
            self.channel_id, self.channel, self.stream_id, self.started_at, self.ended_at,
            self.end_reason, self.last_sample_at, self.peak_viewers, self.viewer_sum, self.samples,
            list(self.segments), version,
        )  # fmt: skip

    def close(self, at: int, reason: str) -> None:
        self.ended_at = max(at, self.started_at)
        self.end_reason = reason

    def note(self, at: int, title: str, game_id: str, game: str) -> bool:
        """Start a segment when title or game differ from the current one; True if one started."""
        if self.segments and self.segments[-1][1:] == (title, game_id, game):
            return False
        # The first segment covers the session from its start, whenever its title became known.
        start = max(at, self.started_at) if self.segments else self.started_at
        self.segments.append((start, title, game_id, game))
        return True


@dataclass(slots=True)
class ChannelState:
    """Everything the dataflow keeps per channel (picklable: Bytewax state)."""

    channel_id: int = 0
    channel: str = ""
    current: Session | None = None
    closed: list[Session] = field(default_factory=list)
    title: str | None = None
    game_id: str = ""
    game: str = ""
    version: int = 0

    def step(self, item: SessionInput) -> list[tuple[Any, ...]]:
        """Apply one input; the rows of the sessions it changed (newest state, new version)."""
        at = item.sampled_at if isinstance(item, StreamSample) else item.at
        if not isinstance(item, Absent):
            self.channel_id = item.channel_id
            self.channel = item.channel if isinstance(item, StreamSample) else item.login
        changed: list[Session] = []
        if isinstance(item, StreamSample):
            self._sample(item, changed)
        elif isinstance(item, Absent):
            s = self.current
            if s is not None and at > s.started_at and (s.samples or at - s.started_at >= ABSENCE_GRACE_MS):
                s.close(at, "vanished")
                self._retire(changed)
        elif isinstance(item, Online):
            self._online(item, changed)
        elif isinstance(item, Offline):
            self._offline(item, changed)
        else:
            self.title, self.game_id, self.game = item.title, item.game_id, item.game
            if self.current is not None and self.current.note(at, item.title, item.game_id, item.game):
                changed.append(self.current)
        rows = []
        for s in changed:
            self.version = max(self.version + 1, at)
            rows.append(s.row(self.version))
        return rows

    def _retire(self, changed: list[Session]) -> None:
        assert self.current is not None
        changed.append(self.current)
        self.closed = [*self.closed, self.current][-_KEEP_CLOSED:]
        self.current = None

    def _reopen(self, stream_id: str) -> Session | None:
        """The closed session of ``stream_id`` (reopened if it had only vanished), else None."""
        for s in self.closed:
            if s.stream_id == stream_id:
                if s.end_reason == "vanished" and self.current is None:
                    self.closed.remove(s)
                    s.ended_at, s.end_reason = None, ""
                    self.current = s
                return s
        return None

    def _open(self, stream_id: str, started_at: int, changed: list[Session]) -> Session | None:
        s = self.current
        if s is not None and s.stream_id == stream_id:
            return s
        # A stream seen before: reopened if it had only vanished and nothing else is live, else a
        # late or repeated input about a finished stream, which changes no session.
        old = self._reopen(stream_id)
        if old is not None:
            if old is self.current:
                changed.append(old)
                return old
            return None
        if s is not None:
            s.close(started_at, "replaced")
            self._retire(changed)
        self.current = Session(self.channel_id, self.channel, stream_id, started_at)
        if self.title is not None:
            self.current.note(started_at, self.title, self.game_id, self.game)
        changed.append(self.current)
        return self.current

    def _sample(self, sample: StreamSample, changed: list[Session]) -> None:
        s = self._open(sample.stream_id, sample.started_at, changed)
        self.title, self.game_id, self.game = sample.title, sample.game_id, sample.game
        if s is None or (s.last_sample_at is not None and sample.sampled_at <= s.last_sample_at):
            return  # a late sample of a finished stream, or a poll delivered again
        s.last_sample_at = sample.sampled_at
        s.samples += 1
        s.viewer_sum += sample.viewers
        s.peak_viewers = max(s.peak_viewers, sample.viewers)
        s.note(sample.sampled_at, sample.title, sample.game_id, sample.game)
        if s not in changed:
            changed.append(s)

    def _online(self, item: Online, changed: list[Session]) -> None:
        self._open(item.stream_id, item.started_at, changed)

    def _offline(self, item: Offline, changed: list[Session]) -> None:
        if self.current is not None:
            self.current.close(item.at, "offline")
            self._retire(changed)
            return
        if self.closed:
            last = self.closed[-1]
            if last.end_reason == "vanished" and last.ended_at is not None and item.at < last.ended_at:
                last.close(item.at, "offline")
                changed.append(last)
