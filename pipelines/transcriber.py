"""Per-channel transcription of a stream of audio chunks: windows cut at silences (or with overlap),
seams de-duplicated, a bounded lag, and gaps said out loud.

:class:`Transcriber` is pure logic over a :class:`ChannelAudio` state (picklable: the dataflow
snapshots it), an engine (:func:`streamscope.pipelines.whisper.engine`) and a clock. Contract:

* Audio is buffered contiguously in absolute time. A chunk that continues the buffer (within
  ``join_tolerance_ms``) is appended; one that starts later closes the buffer (transcribed now) and
  the hole becomes a ``missing`` gap (up to ``max_missing_ms``: longer means the stream was off);
  audio before what was already transcribed (a re-read, a restart) is dropped.
* Once a window's worth is buffered (``min_window_ms`` live, growing with the lag when the model is
  behind; ``max_window_ms - overlap_ms`` for files: :meth:`Transcriber._window_ms`), the buffer is
  cut in the middle of the last pause of at least
  ``silence_ms`` (frame energy well below the window's speech) and the part before it transcribed;
  with no pause by ``max_window_ms``, that window is transcribed and only the segments ending before
  its last ``overlap_ms`` are kept: the next window starts where the last kept segment ended, so a
  word cut at the seam is heard whole next time, and never twice.
* A live chunk that arrives more than ``max_lag_ms`` after it was spoken is skipped and recorded
  as a ``behind`` gap (logged, metric ``transcript_gap_seconds``): a model that cannot keep up
  falls behind by at most that much, never silently.
* On its first chunk near a time it has not looked at, the state asks ``covered_until(channel,
  from_ms, until_ms)`` how far the warehouse already holds that channel's transcript (the latest
  end of the stored segments and gaps between those times); audio before that is
  not transcribed again (after kill -9, a restart re-reads the stream and stores nothing twice), and
  a hole between the stored transcript and the first audio after a restart is a ``restart`` gap.
* Every segment's start is absolute (window start + the model's offset), so its id
  (:func:`segment_id`, from channel and start) is the same however often it is transcribed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from streamscope import metrics
from streamscope.pipelines.whisper import Engine, Spoken
from streamscope.records import AUDIO_BYTES_PER_MS, AudioChunk

log = logging.getLogger(__name__)

_NAMESPACE = uuid.UUID("6f1c2f7e-4b1a-5d7e-9a53-7d8f0c3b2a11")


def segment_id(channel: str, start_ms: int) -> str:
    """The id of the segment of ``channel`` starting at ``start_ms`` (same inputs, same id)."""
    return str(uuid.uuid5(_NAMESPACE, f"{channel}:{start_ms}"))


@dataclass(frozen=True, slots=True)
class Chunking:
    """The windowing, gap and lag limits of :class:`Transcriber` (what each bounds: the module
    docstring)."""

    min_window_ms: int = 5000
    max_window_ms: int = 28000
    overlap_ms: int = 3000
    silence_ms: int = 400
    join_tolerance_ms: int = 600
    max_missing_ms: int = 600_000
    max_lag_ms: int = 120_000
    idle_flush_ms: int = 3000
    lookahead_ms: int = 600_000


@dataclass(frozen=True, slots=True)
class Segment:
    """A transcribed segment, absolute epoch ms (words too)."""

    channel: str
    start: int
    end: int
    text: str
    words: tuple[tuple[str, int, int, float], ...]
    avg_logprob: float
    no_speech_prob: float
    language: str
    source: str

    @property
    def id(self) -> str:
        return segment_id(self.channel, self.start)


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of ``channel`` with no transcript, absolute epoch ms, and why: ``missing`` (no audio
    arrived), ``behind`` (skipped to keep the lag bounded) or ``restart`` (see the module docstring)."""

    channel: str
    start: int
    end: int
    reason: str
    source: str


@dataclass(slots=True)
class Output:
    """What one step of a channel's transcription produced."""

    segments: list[Segment] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    audio_ms: int = 0  # audio run through the model
    compute_s: float = 0.0

    def __bool__(self) -> bool:
        return bool(self.segments or self.gaps)


@dataclass(slots=True)
class ChannelAudio:
    """The transcription state of one channel (snapshotted for recovery)."""

    channel: str
    source: str = ""
    start: int | None = None  # absolute time of pcm[0]
    pcm: bytearray = field(default_factory=bytearray)
    done_until: int | None = None  # audio before this is transcribed or gapped
    checked_until: int | None = None  # covered_until was asked up to here
    last_end: int = 0  # end of the last segment emitted (seam de-dup)
    last_text: str = ""
    behind: tuple[int, int] | None = None  # a behind-gap being extended
    last_chunk_wall: float = 0.0

    @property
    def end(self) -> int | None:
        return None if self.start is None else self.start + len(self.pcm) // AUDIO_BYTES_PER_MS


class Transcriber:
    """Turns chunks into segments and gaps (see the module docstring)."""

    def __init__(
        self,
        engine: Engine,
        chunking: Chunking | None = None,
        *,
        covered_until: Callable[[str, int, int], int | None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine = engine
        self.c = chunking or Chunking()
        self._covered = covered_until
        self._clock = clock

    # -- input ---------------------------------------------------------------------------------

    def feed(self, st: ChannelAudio, chunk: AudioChunk) -> Output:
        out = Output()
        st.channel = st.channel or chunk.channel
        st.source = chunk.source
        st.last_chunk_wall = self._clock()
        lag = 0.0
        if chunk.live:
            lag = st.last_chunk_wall * 1000 - chunk.ended_at
            metrics.TRANSCRIBE_LAG.set(max(0.0, lag / 1000))
            if lag > self.c.max_lag_ms:
                self._behind(st, chunk, out)
                return out
        self._close_behind(st, out)
        self._check_coverage(st, chunk.started_at, out)
        start, pcm = chunk.started_at, chunk.pcm
        floor = max(st.done_until or 0, st.end or 0) if st.start is not None else st.done_until
        if floor is not None and start < floor:  # audio already heard: drop it
            cut = (floor - start) * AUDIO_BYTES_PER_MS
            if cut >= len(pcm):
                return out
            start, pcm = floor, pcm[cut:]
        if st.start is not None:
            hole = start - (st.end or start)
            if hole <= self.c.join_tolerance_ms:
                st.pcm += bytes(hole * AUDIO_BYTES_PER_MS) + pcm  # a jitter-sized hole is silence
            else:
                self._transcribe_all(st, out)
                self._missing(st, st.done_until or start, start, out)
                st.start, st.pcm = start, bytearray(pcm)
        else:
            if st.done_until is not None and start - st.done_until > self.c.join_tolerance_ms:
                self._missing(st, st.done_until, start, out)
            st.start, st.pcm = start, bytearray(pcm)
        self._windows(st, out, self._window_ms(chunk.live, lag))
        return out

    def _window_ms(self, live: bool, lag_ms: float) -> int:
        """How much audio to buffer before cutting a window. Whisper pads every call to 30 s, so a
        longer window costs little more than a short one: live and keeping up, windows stay short
        for a low delay; behind by ``lag_ms``, they grow with the lag (up to the longest window that
        still leaves room for the overlap), so the model catches up; a file or recording has no
        delay to keep low and always takes long windows."""
        longest = self.c.max_window_ms - self.c.overlap_ms
        if not live:
            return longest
        return int(min(max(self.c.min_window_ms, lag_ms), longest))

    def flush(self, st: ChannelAudio) -> Output:
        """Transcribe whatever is buffered (stream end, idle, shutdown)."""
        out = Output()
        self._close_behind(st, out)
        self._transcribe_all(st, out)
        return out

    def idle_deadline(self, st: ChannelAudio) -> float | None:
        """Wall-clock time (s) at which a buffered but idle channel should be flushed."""
        if not st.pcm:
            return None
        return st.last_chunk_wall + self.c.idle_flush_ms / 1000

    # -- gaps ----------------------------------------------------------------------------------

    def _behind(self, st: ChannelAudio, chunk: AudioChunk, out: Output) -> None:
        self._transcribe_all(st, out)
        lo = chunk.started_at if st.behind is None else st.behind[0]
        st.behind = (lo, max(chunk.ended_at, st.behind[1] if st.behind else 0))
        st.done_until = max(st.done_until or 0, chunk.ended_at)
        metrics.TRANSCRIPT_GAP_SECONDS.labels(reason="behind").inc(chunk.duration_ms / 1000)

    def _close_behind(self, st: ChannelAudio, out: Output) -> None:
        if st.behind is not None:
            lo, hi = st.behind
            log.warning(
                "transcription of #%s fell more than %.0fs behind live: skipped %.1fs of audio "
                "(recorded as a gap)", st.channel, self.c.max_lag_ms / 1000, (hi - lo) / 1000,
            )  # fmt: skip
            out.gaps.append(Gap(st.channel, lo, hi, "behind", st.source))
            st.behind = None

    def _missing(self, st: ChannelAudio, lo: int, hi: int, out: Output, reason: str = "missing") -> None:
        if 0 < hi - lo <= self.c.max_missing_ms:
            out.gaps.append(Gap(st.channel, lo, hi, reason, st.source))
            metrics.TRANSCRIPT_GAP_SECONDS.labels(reason=reason).inc((hi - lo) / 1000)
            log.info(
                "no audio of #%s for %.1fs (%s): recorded as a gap", st.channel, (hi - lo) / 1000, reason
            )

    def _check_coverage(self, st: ChannelAudio, at: int, out: Output) -> None:
        if self._covered is None or (st.checked_until is not None and at < st.checked_until):
            return
        first = st.checked_until is None
        st.checked_until = at + self.c.lookahead_ms
        # Looking back too: after a restart the stored transcript may end before the first audio.
        stored = self._covered(st.channel, at - (self.c.max_missing_ms if first else 0), st.checked_until)
        if stored is None:
            return
        if stored > (st.done_until or 0):
            st.done_until = stored
            st.last_end = max(st.last_end, stored)
        if first and st.start is None and at - stored > self.c.join_tolerance_ms:
            self._missing(st, stored, at, out, "restart")
            st.done_until = at  # recorded: not a second (missing) gap

    # -- windows -------------------------------------------------------------------------------

    def _windows(self, st: ChannelAudio, out: Output, window_ms: int) -> None:
        c = self.c
        while st.start is not None and len(st.pcm) // AUDIO_BYTES_PER_MS >= window_ms:
            samples = _floats(st.pcm)
            cut = _pause(samples, c.silence_ms, window_ms // 3)
            buffered = len(samples) * 1000 // 16000
            if cut is not None:
                self._run(st, cut, out, keep_until=None)
            elif buffered >= c.max_window_ms:
                self._run(st, c.max_window_ms, out, keep_until=c.max_window_ms - c.overlap_ms)
            else:
                return

    def _transcribe_all(self, st: ChannelAudio, out: Output) -> None:
        if st.start is not None and len(st.pcm) // AUDIO_BYTES_PER_MS >= 200:
            self._run(st, len(st.pcm) // AUDIO_BYTES_PER_MS, out, keep_until=None)
        if st.start is not None:
            st.done_until = max(st.done_until or 0, st.end or 0)
        st.start, st.pcm = None, bytearray()

    def _run(self, st: ChannelAudio, length_ms: int, out: Output, keep_until: int | None) -> None:
        """Transcribe the first ``length_ms`` of the buffer and advance it (see the module docstring)."""
        assert st.start is not None
        base = st.start
        samples = _floats(st.pcm[: length_ms * AUDIO_BYTES_PER_MS])
        began = time.perf_counter()
        spoken, language = self._engine(samples)
        spent = time.perf_counter() - began
        out.audio_ms += length_ms
        out.compute_s += spent
        metrics.TRANSCRIBED_SECONDS.inc(length_ms / 1000)
        metrics.TRANSCRIBE_SECONDS.inc(spent)
        advance = length_ms
        if keep_until is not None:
            kept = [s for s in spoken if s.end <= keep_until] or spoken[:1]
            advance = kept[-1].end if kept and kept[-1].end > 0 else keep_until
            advance = min(max(advance, 1), length_ms)
            spoken = kept
        for s in spoken:
            self._emit(st, base, s, language, out)
        st.start = base + advance
        del st.pcm[: advance * AUDIO_BYTES_PER_MS]
        st.done_until = max(st.done_until or 0, st.start)
        if not st.pcm:
            st.start = None

    def _emit(self, st: ChannelAudio, base: int, s: Spoken, language: str, out: Output) -> None:
        start, end = base + s.start, base + max(s.end, s.start)
        if end <= st.last_end or (s.text == st.last_text and start < st.last_end):
            return  # heard already (a seam, a restart)
        start = max(start, st.last_end)
        words = tuple((w, base + a, base + b, p) for w, a, b, p in s.words)
        out.segments.append(
            Segment(
                st.channel, start, end, s.text, words, s.avg_logprob, s.no_speech_prob, language, st.source
            )
        )
        metrics.TRANSCRIPT_SEGMENTS.inc()
        st.last_end, st.last_text = end, s.text


def _floats(pcm: bytes | bytearray) -> np.ndarray:
    return np.frombuffer(bytes(pcm), dtype="<i2").astype(np.float32) / 32768.0


def _pause(samples: np.ndarray, silence_ms: int, min_at_ms: int) -> int | None:
    """The middle (ms) of the last pause of ``silence_ms`` or more starting after ``min_at_ms``.

    A pause is a run of 20 ms frames whose RMS is under a tenth of the loud frames' level (the
    90th percentile), and under an absolute floor for near-silent input."""
    frame = 320  # 20 ms at 16 kHz
    n = len(samples) // frame
    if n < 2:
        return None
    rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1))
    threshold = max(0.003, 0.1 * float(np.percentile(rms, 90)))
    quiet = rms < threshold
    need = max(1, silence_ms // 20)
    run_end = None
    run = 0
    best: int | None = None
    for i in range(n - 1, -1, -1):
        if quiet[i]:
            if run == 0:
                run_end = i
            run += 1
        else:
            if run >= need and run_end is not None:
                best = (i + 1 + run_end + 1) // 2
                break
            run = 0
    else:
        if run >= need and run_end is not None:
            best = (run_end + 1) // 2
    if best is None or best * 20 < min_at_ms:
        return None
    return best * 20
