"""Stream sessions from viewer samples and EventSub stream events: one channel's state machine.

Inputs (all for one channel, keyed by login): a Helix viewer sample, "absent from a /streams answer
that asked for it", EventSub ``stream.online`` / ``stream.offline`` / ``channel.update``. Output:
snapshots of the sessions that changed, as ``streams`` rows
(:class:`~streamscope.warehouse.rows.StreamRow`), each with a larger ``version``
than the last (ReplacingMergeTree keeps the newest).

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
* A ``vanished`` session whose stream id shows up again in a sample or ``stream.online`` later than
  its end is reopened (Helix answers sometimes miss a live stream); a later ``stream.offline`` that
  falls inside a vanished session corrects its end to the earlier time.
* Inputs arrive out of order (Helix envelopes spread over Kafka partitions, replays after a
  restart), so nothing moves backwards: an absence no later than the last sample closes nothing;
  a sample, ``stream.online`` or ``stream.offline`` of a stream older than the newest one known
  changes no other session; a title/game older than the one known is not taken.
* Peak/average viewers come from the samples, each poll time counted once per session: a late
  sample that falls inside a session (open, or closed and not after its end) is counted into it; a
  re-delivered one is recognised by its poll time among the last ``SAMPLE_WINDOW`` counted. A sample
  older than that window (or, for a session loaded from the warehouse, at or before its
  ``last_sample_at``) cannot be told from a re-delivery and is ignored (see :attr:`Session.floor`).
* Segments: a new (at, title, game_id, game) whenever the title or game changes (channel.update or
  a newest sample showing a new one); the first segment starts at the session start.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

from streamscope.twitch.helix import StreamSample
from streamscope.warehouse.rows import StreamRow

ABSENCE_GRACE_MS = 10 * 60 * 1000
#: Closed sessions kept per channel (late inputs, reopening), also what is loaded at start.
KEEP_CLOSED = 4
#: Poll times remembered per session to count a late sample once (an hour of one-minute polls).
SAMPLE_WINDOW = 64

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
class TitleAndGame:
    """The title and game the channel shows from ``at`` on (an EventSub ``channel.update``)."""

    channel_id: int
    login: str
    title: str
    game_id: str
    game: str
    at: int


SessionInput = StreamSample | Absent | Online | Offline | TitleAndGame
StreamEvent = Online | Offline | TitleAndGame


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
    counted: list[int] = field(default_factory=list)
    """Poll times counted above :attr:`floor`, ascending, at most ``SAMPLE_WINDOW``."""
    floor: int | None = None
    """Samples at or before this time are not in ``counted`` and may have been counted: a late one
    is ignored. None: every counted poll time is in ``counted``."""

    def row(self, version: int) -> StreamRow:
        return StreamRow(
            self.channel_id, self.channel, self.stream_id, self.started_at, self.ended_at,
            self.end_reason, self.last_sample_at, self.peak_viewers, self.viewer_sum, self.samples,
            list(self.segments), version,
        )  # fmt: skip

    def close(self, at: int, reason: str) -> None:
        self.ended_at = max(at, self.started_at)
        self.end_reason = reason

    def count(self, at: int, viewers: int) -> bool:
        """Count the sample polled at ``at`` unless its poll time was counted (or may have been)."""
        if self.floor is not None and at <= self.floor:
            return False
        i = bisect_left(self.counted, at)
        if i < len(self.counted) and self.counted[i] == at:
            return False
        self.counted.insert(i, at)
        if len(self.counted) > SAMPLE_WINDOW:
            self.floor = self.counted.pop(0)
        self.samples += 1
        self.viewer_sum += viewers
        self.peak_viewers = max(self.peak_viewers, viewers)
        if self.last_sample_at is None or at > self.last_sample_at:
            self.last_sample_at = at
        return True

    def note(self, at: int, title: str, game_id: str, game: str) -> bool:
        """Start a segment when title or game differ from the current one; True if one started.
        Information older than the current segment is not taken (segments stay in time order)."""
        if self.segments and (self.segments[-1][1:] == (title, game_id, game) or at < self.segments[-1][0]):
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
    title_at: int = 0
    """When ``title``/``game`` were current (older information does not replace them)."""
    version: int = 0

    @classmethod
    def resume(cls, sessions: Sequence[Session], version: int) -> ChannelState:
        """The state of a channel whose newest sessions (as stored) are ``sessions``, the newest
        stored row version ``version``: the newest open session continues, samples at or before
        a session's ``last_sample_at`` are taken as counted, and new rows get larger versions."""
        ordered = sorted(sessions, key=lambda s: s.started_at)
        state = cls(version=version)
        for s in ordered:
            s.floor, s.counted = s.last_sample_at, []
        live = [s for s in ordered if s.ended_at is None]
        state.current = live[-1] if live else None
        state.closed = [s for s in ordered if s is not state.current][-KEEP_CLOSED:]
        if ordered:
            newest = ordered[-1]
            state.channel_id, state.channel = newest.channel_id, newest.channel
            if newest.segments:
                state.title_at, state.title, state.game_id, state.game = newest.segments[-1]
        return state

    def step(self, item: SessionInput) -> list[StreamRow]:
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
            if (
                s is not None
                and at > s.started_at
                and at > (s.last_sample_at or 0)
                and (s.samples or at - s.started_at >= ABSENCE_GRACE_MS)
            ):
                s.close(at, "vanished")
                self._retire(changed)
        elif isinstance(item, Online):
            self._open(item.stream_id, item.started_at, at, changed)
        elif isinstance(item, Offline):
            self._offline(item, changed)
        else:
            self._info(at, item.title, item.game_id, item.game)
            if self.current is not None and self.current.note(at, item.title, item.game_id, item.game):
                changed.append(self.current)
        rows = []
        for s in changed:
            self.version = max(self.version + 1, at)
            rows.append(s.row(self.version))
        return rows

    def _info(self, at: int, title: str, game_id: str, game: str) -> None:
        if self.title is None or at >= self.title_at:
            self.title, self.game_id, self.game, self.title_at = title, game_id, game, at

    def _retire(self, changed: list[Session]) -> None:
        assert self.current is not None
        changed.append(self.current)
        self.closed = [*self.closed, self.current][-KEEP_CLOSED:]
        self.current = None

    def _known(self, stream_id: str) -> Session | None:
        if self.current is not None and self.current.stream_id == stream_id:
            return self.current
        return next((s for s in self.closed if s.stream_id == stream_id), None)

    def _open(self, stream_id: str, started_at: int, at: int, changed: list[Session]) -> Session | None:
        """The session ``stream_id`` is live in at ``at``: the current one, a vanished one reopened
        (only by news later than its end, when nothing else is live), or a new one replacing the
        current. None when the news is late: about a finished stream or one older than the newest."""
        s = self._known(stream_id)
        if s is not None:
            if s is self.current:
                return s
            if s.end_reason != "vanished" or self.current is not None or at <= (s.ended_at or 0):
                return None
            self.closed.remove(s)
            s.ended_at, s.end_reason = None, ""
            self.current = s
            changed.append(s)
            return s
        if any(started_at < k.started_at for k in [*self.closed, *([self.current] if self.current else [])]):
            return None  # a stream before the newest one: its session was closed or never seen
        if self.current is not None:
            self.current.close(started_at, "replaced")
            self._retire(changed)
        self.current = Session(self.channel_id, self.channel, stream_id, started_at)
        if self.title is not None:
            self.current.note(started_at, self.title, self.game_id, self.game)
        changed.append(self.current)
        return self.current

    def _sample(self, sample: StreamSample, changed: list[Session]) -> None:
        at = sample.sampled_at
        s = self._known(sample.stream_id)
        if s is not None and s.ended_at is not None and at <= s.ended_at:
            # A late poll from while the (now closed) stream was live: counted there, nothing else.
            if s.count(at, sample.viewers):
                changed.append(s)
            return
        s = self._open(sample.stream_id, sample.started_at, at, changed)
        if s is None:
            return  # a late sample of a finished stream
        newest = s.last_sample_at is None or at > s.last_sample_at
        if not s.count(at, sample.viewers):
            return  # a poll delivered again
        if newest:
            self._info(at, sample.title, sample.game_id, sample.game)
            s.note(at, sample.title, sample.game_id, sample.game)
        if s not in changed:
            changed.append(s)

    def _offline(self, item: Offline, changed: list[Session]) -> None:
        s = self.current
        if s is not None and item.at >= s.started_at:
            s.close(item.at, "offline")
            self._retire(changed)
            return
        # A late notification: it corrects the end of the vanished session it falls in.
        for c in reversed(self.closed):
            if c.end_reason == "vanished" and c.ended_at is not None and c.started_at <= item.at < c.ended_at:
                c.close(item.at, "offline")
                changed.append(c)
                return
