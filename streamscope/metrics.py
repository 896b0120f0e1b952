"""Prometheus metrics of sources and dataflows, in the process-wide :data:`REGISTRY`.

The API renders :data:`REGISTRY` at ``GET /metrics``; a distributed-mode process without the API
(``streamscope source ...``, ``streamscope pipeline ...``) serves it with :func:`serve_metrics`.
Label values are bounded: channels are the tracked ones, topics and partitions come from the
contract in :mod:`streamscope.topics`, never from user input.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

INGEST_RESULTS = ("stored", "rejected", "control")

INGESTED_LINES = Counter(
    "ingested_lines",
    "Raw chat lines ingested, by outcome: stored (a row in chat_messages/chat_events), rejected "
    "(dead-lettered), control (connection-level lines such as PING that are not stored).",
    ["result"],
    registry=REGISTRY,
)
for _result in INGEST_RESULTS:
    # Pre-create the series so dashboards see 0 rather than "no data" before the first line.
    INGESTED_LINES.labels(result=_result)

CAPTURED_LINES = Counter(
    "captured_lines",
    "Raw lines a source captured, by source and channel (empty channel: connection-level lines).",
    ["source", "channel"],
    registry=REGISTRY,
)
PRODUCED_MESSAGES = Counter(
    "kafka_produced_messages",
    "Messages the broker acknowledged, by topic.",
    ["topic"],
    registry=REGISTRY,
)
PRODUCE_ERRORS = Counter(
    "kafka_produce_errors",
    "Messages the producer could not deliver, and broker errors, by topic and error name.",
    ["topic", "error"],
    registry=REGISTRY,
)
PRODUCER_BUFFERED = Gauge(
    "kafka_producer_buffered_messages",
    "Messages waiting in a producer's local buffer for the broker to acknowledge them, by topic.",
    ["topic"],
    registry=REGISTRY,
)
BACKPRESSURE_SECONDS = Counter(
    "kafka_producer_backpressure_seconds",
    "Time a source spent blocked because the producer's local buffer was full (capture paused).",
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag",
    "Messages on the broker not yet read by the dataflow, by topic and partition.",
    ["topic", "partition"],
    registry=REGISTRY,
)
BATCH_LINES = Histogram(
    "pipeline_batch_lines",
    "Records per batch handed to the dataflow's parse step.",
    buckets=(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000),
    registry=REGISTRY,
)
FLUSH_SECONDS = Histogram(
    "warehouse_flush_seconds",
    "Time one warehouse flush (all tables of one buffer) took, retries included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
    registry=REGISTRY,
)
FLUSH_ROWS = Histogram(
    "warehouse_flush_rows",
    "Rows written by one warehouse flush.",
    buckets=(1, 10, 100, 1000, 5000, 10000, 50000, 100000),
    registry=REGISTRY,
)
DEAD_LETTERS = Counter(
    "dead_letters",
    "Records dead-lettered, by stage (parse: not a valid line; decode: not UTF-8 or not one line; "
    "insert: the warehouse rejected the row).",
    ["stage"],
    registry=REGISTRY,
)


# Stream audio and transcription (issue 12).
AUDIO_SECONDS = Counter(
    "audio_captured_seconds",
    "Seconds of audio an audio source decoded and published, by source (hls, twitch, file).",
    ["source"],
    registry=REGISTRY,
)
AUDIO_SEGMENTS_SKIPPED = Counter(
    "audio_segments_skipped",
    "Media segments an audio source could not fetch or decode and skipped, by source.",
    ["source"],
    registry=REGISTRY,
)
AUDIO_RECONNECTS = Counter(
    "audio_reconnects",
    "Times an audio source reconnected after its stream stalled or failed, by source.",
    ["source"],
    registry=REGISTRY,
)
TRANSCRIBED_SECONDS = Counter(
    "transcribed_audio_seconds",
    "Seconds of audio run through the speech model.",
    registry=REGISTRY,
)
TRANSCRIBE_SECONDS = Counter(
    "transcribe_compute_seconds",
    "Wall-clock seconds the speech model spent (transcribed_audio_seconds / this = real-time factor).",
    registry=REGISTRY,
)
TRANSCRIPT_SEGMENTS = Counter(
    "transcript_segments",
    "Transcript segments emitted by the transcripts dataflow.",
    registry=REGISTRY,
)
TRANSCRIPT_GAP_SECONDS = Counter(
    "transcript_gap_seconds",
    "Seconds of audio recorded as not transcribed (transcript_gaps), by reason: behind (the model "
    "fell more than STREAMSCOPE_WHISPER_MAX_LAG_S behind live), missing (the source had no audio "
    "for a span, e.g. a broken segment or a stall), restart (audio lost across a restart).",
    ["reason"],
    registry=REGISTRY,
)
TRANSCRIBE_LAG = Gauge(
    "transcribe_lag_seconds",
    "How far behind real time the newest live audio handed to the transcriber was.",
    registry=REGISTRY,
)


def serve_metrics(port: int, host: str = "0.0.0.0") -> None:
    """Serve :data:`REGISTRY` at ``http://host:port/metrics`` from a daemon thread."""
    start_http_server(port, addr=host, registry=REGISTRY)
