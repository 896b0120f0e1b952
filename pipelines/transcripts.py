"""The transcripts dataflow: stream audio chunks → faster-whisper → transcript_segments, transcript_gaps.

Items are batches of :class:`~streamscope.records.AudioChunk` from ``twitch.audio.chunks``. They are
keyed by channel and fed, in order, to a Bytewax ``stateful`` step holding one
:class:`~streamscope.pipelines.transcriber.ChannelAudio` per channel; the
:class:`~streamscope.pipelines.transcriber.Transcriber` there cuts windows at pauses (or with
overlap), runs the model (:mod:`streamscope.pipelines.whisper`, loaded once per process on the first
window) and emits segments and gap rows with absolute times, which the transcripts sink writes
(:mod:`streamscope.sinks.transcripts`: channel ids and stream sessions filled in there). A channel
idle for a few seconds, and the end of the input, flush what is buffered. Chunks Kafka could not
decode are dead letters (stage ``decode``) through the chat sink.

Exactly-once as far as any read can tell: the state (buffered audio, how far it got) is in every
Bytewax snapshot with the input positions, and after a restart without a snapshot (embedded mode,
kill -9) the transcriber asks the warehouse how far each channel's transcript already goes and skips
that audio (``stored_until``); what cannot be heard again is a ``restart`` gap row.

:func:`graph` is the one graph over any transport; ``python -m bytewax.run
streamscope.pipelines.transcripts:flow`` runs it on Kafka from the environment (:func:`flow`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.pipelines.context import FlowContext
from streamscope.pipelines.transcriber import ChannelAudio, Chunking, Output, Transcriber
from streamscope.pipelines.transport import KafkaTransport, Received
from streamscope.pipelines.whisper import Engine, default_model_dir, engine
from streamscope.records import AudioChunk
from streamscope.settings import get_settings
from streamscope.sinks.clickhouse import FlushReport
from streamscope.sinks.transcripts import TranscriptBatch, TranscriptsEpochSink
from streamscope.sources.audio import require
from streamscope.twitch.irc.rows import RowBatch
from streamscope.warehouse.rows import TranscriptGapRow, TranscriptSegmentRow

_STORED_UNTIL = """
SELECT max(e) FROM (
    SELECT toUnixTimestamp64Milli(end) AS e FROM transcript_segments
    WHERE channel = {login:String} AND end > fromUnixTimestamp64Milli({at:Int64}, 'UTC')
      AND start < fromUnixTimestamp64Milli({until:Int64}, 'UTC')
    UNION ALL
    SELECT toUnixTimestamp64Milli(end) AS e FROM transcript_gaps
    WHERE channel = {login:String} AND end > fromUnixTimestamp64Milli({at:Int64}, 'UTC')
      AND start < fromUnixTimestamp64Milli({until:Int64}, 'UTC')
)
"""


def stored_until(client: Client, channel: str, from_ms: int, until_ms: int) -> int | None:
    """The latest end of the stored transcript rows (segments and gaps) of ``channel`` that end
    after ``from_ms`` and start before ``until_ms``; None when there are none."""
    rows = client.query(
        _STORED_UNTIL, parameters={"login": channel, "at": from_ms, "until": until_ms}
    ).result_rows
    value = rows[0][0] if rows else None
    return int(value) if value else None


def to_batch(out: Output, model: str) -> TranscriptBatch:
    """The sink rows of one transcriber output (channel ids and sessions are filled by the writer)."""
    return TranscriptBatch(
        [
            TranscriptSegmentRow(
                0,
                s.channel,
                s.start,
                s.end,
                s.id,
                s.text,
                [tuple(w) for w in s.words],  # type: ignore[misc]
                s.avg_logprob,
                s.no_speech_prob,
                s.language,
                "",
                s.source,
                model,
            )  # fmt: skip
            for s in out.segments
        ],
        [TranscriptGapRow(0, g.channel, g.start, g.end, g.reason, g.source) for g in out.gaps],
    )


class _Logic(op.StatefulLogic[AudioChunk, TranscriptBatch, ChannelAudio]):
    def __init__(self, transcriber: Transcriber, state: ChannelAudio, model: str) -> None:
        self._t, self._st, self._model = transcriber, state, model

    def _emit(self, out: Output, tick: bool = False) -> tuple[Iterable[TranscriptBatch], bool]:
        return ([to_batch(out, self._model)] if out or tick else []), op.StatefulLogic.RETAIN

    def on_item(self, value: AudioChunk) -> tuple[Iterable[TranscriptBatch], bool]:
        # Even an empty batch goes on: it lets the channel's writer flush on its interval (a segment
        # is queryable within a chunk's time, not at the end of the epoch).
        return self._emit(self._t.feed(self._st, value), tick=True)

    def on_notify(self) -> tuple[Iterable[TranscriptBatch], bool]:
        return self._emit(self._t.flush(self._st))

    def on_eof(self) -> tuple[Iterable[TranscriptBatch], bool]:
        return self._emit(self._t.flush(self._st))

    def notify_at(self) -> datetime | None:
        at = self._t.idle_deadline(self._st)
        return None if at is None else datetime.fromtimestamp(at, UTC)

    def snapshot(self) -> ChannelAudio:
        return copy.deepcopy(self._st)


def _by_channel(batch: Received[AudioChunk]) -> list[tuple[str, AudioChunk]]:
    return [(c.channel, c) for c in batch.records]


def _dead_letters(batch: Received[AudioChunk]) -> tuple[str, RowBatch] | None:
    return (batch.key, RowBatch(dead_letters=list(batch.rejected))) if batch.rejected else None


def transcripts_graph(
    ctx: FlowContext, make_engine: Callable[[], Engine], model: str, chunking: Chunking | None = None
) -> Dataflow:
    """The dataflow with a given engine (tests and benchmarks pass their own chunking)."""
    flow = Dataflow("transcripts")
    raw = ctx.transport.inbound(flow, "audio_chunks", topics.AUDIO_CHUNKS)
    op.output("dead_letters", op.filter_map("rejected", raw, _dead_letters), ctx.chat_sink())
    keyed = op.flat_map("by_channel", raw, _by_channel)
    warehouse = ctx.warehouse
    shared: list[Transcriber] = []

    def covered(channel: str, from_ms: int, until_ms: int) -> int | None:
        client = warehouse()
        try:
            return stored_until(client, channel, from_ms, until_ms)
        finally:
            client.close()

    def transcriber() -> Transcriber:
        if not shared:  # one per process: the model's engine is built when the first channel appears
            shared.append(Transcriber(make_engine(), chunking, covered_until=covered))
        return shared[0]

    def build(resume: ChannelAudio | None) -> _Logic:
        # A new key's state learns its channel from its first chunk (the builder is not told the key).
        return _Logic(transcriber(), resume if resume is not None else ChannelAudio(""), model)

    batches = op.stateful("transcribe", keyed, build)
    report = ctx.on_flush
    sink = TranscriptsEpochSink(
        ctx.warehouse, partitions=ctx.writers, flush_interval_s=ctx.flush_interval_s,
        on_flush=lambda segments, gaps: report(FlushReport(segments=segments, gaps=gaps)),
    )  # fmt: skip
    op.output("warehouse", batches, sink)
    return flow


def graph(ctx: FlowContext) -> Dataflow:
    """The transcripts dataflow: ``twitch.audio.chunks`` from ``ctx.transport`` into the transcript
    tables, with the model and chunking of ``ctx`` (Settings ``whisper_*``)."""
    config = ctx.whisper
    # The speech extra is checked now (one clear error before anything runs); the model loads with
    # the first window.
    require("faster_whisper")
    if config.model is None:
        default_model_dir()
    return transcripts_graph(ctx, lambda: engine(config), config.label, ctx.chunking)


def flow() -> Dataflow:
    """The transcripts dataflow on Kafka, as the environment's settings describe it (the entry point of
    ``python -m bytewax.run streamscope.pipelines.transcripts:flow``)."""
    settings = get_settings()
    return graph(FlowContext.from_settings(settings, KafkaTransport.from_settings(settings)))
