"""The transcripts dataflow on Kafka (real broker, Bytewax recovery, real faster-whisper), and the
audio topic's wire format."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from confluent_kafka import Producer

from streamscope import topics
from streamscope.app.runtime import Runtime
from streamscope.kafka import decode_audio, encode_audio, ensure_topics, topic_name
from streamscope.pipelines.transport import Batching, KafkaTransport
from streamscope.records import AudioChunk
from streamscope.settings import Settings
from streamscope.sources.audio.file import FileAudioSource
from tests.data import JFK_FLAC, JFK_TEXT
from tests.fixtures.kafka_broker import KafkaBroker
from tests.speech_oracle import stored_segments, wer


def test_audio_chunks_travel_as_pcm_with_their_times_in_headers() -> None:
    chunk = AudioChunk("chan", 1_700_000_000_123, b"\x01\x00\xff\x7f" * 100, "hls", True, 1_700_000_000_999)
    wire = encode_audio(chunk)
    assert (wire.key, wire.value, wire.timestamp) == (b"chan", chunk.pcm, chunk.received_at)
    assert dict(wire.headers) == {
        "source": b"hls", "started-at": b"1700000000123", "sample-rate": b"16000", "live": b"1"
    }  # fmt: skip
    assert decode_audio(wire.key, wire.value, wire.timestamp, wire.headers) == chunk
    file_chunk = AudioChunk("chan", 5, b"\x00\x00", "file", False, 7)
    w = encode_audio(file_chunk)
    assert decode_audio(w.key, w.value, w.timestamp, w.headers) == file_chunk
    headers = wire.headers
    for value, hdrs, why in [
        (b"\x00" * 3, headers, "even number"),
        (b"\x00" * 320_002, headers, "more than 10 s"),
        (b"\x00\x00", [("started-at", b"1"), ("sample-rate", b"44100")], "sample-rate"),
        (b"\x00\x00", [("sample-rate", b"16000")], "started-at"),
        (None, headers, "tombstone"),
    ]:
        with pytest.raises(ValueError, match=why):
            decode_audio(b"chan", value, 1, hdrs)


def _flow(broker: KafkaBroker, prefix: str, client: Client, url: str, tmp: Path) -> Runtime:
    settings = Settings(
        clickhouse_url=url, clickhouse_database=client.database or "", sink_flush_interval_s=0.2,
        recovery_dir=str(tmp / "recovery"), snapshot_interval_s=1, kafka_brokers=broker.bootstrap,
        kafka_topic_prefix=prefix,
    )  # fmt: skip
    transport = KafkaTransport(broker.bootstrap, prefix=prefix, batching=Batching(batch_size=8, tick_s=0.2))
    return Runtime(settings, transport).start_dataflows(["transcripts"])


def _wait(predicate: Callable[[], bool], what: str, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_kafka_flow_transcribes_dead_letters_bad_chunks_and_resumes_without_duplicates(
    kafka_broker: KafkaBroker, warehouse: Client, warehouse_url: str, tmp_path: Path
) -> None:
    prefix = f"speech-{time.monotonic_ns()}."
    ensure_topics(kafka_broker.bootstrap, [topics.AUDIO_CHUNKS, topics.DEAD_LETTERS], prefix=prefix)
    publisher = KafkaTransport(kafka_broker.bootstrap, prefix=prefix).publisher(topics.AUDIO_CHUNKS, "audio")
    FileAudioSource(str(JFK_FLAC), "chan", publisher.publish, start_ms=1_700_000_000_000).run()
    assert publisher.close(30) == 0
    bad = Producer({"bootstrap.servers": kafka_broker.bootstrap})
    bad.produce(
        topic_name(topics.AUDIO_CHUNKS, prefix),
        b"\x00\x00\x00",
        key=b"chan",
        headers=[("sample-rate", b"16000")],
    )
    bad.flush(10)

    runtime = _flow(kafka_broker, prefix, warehouse, warehouse_url, tmp_path)
    _wait(
        lambda: (
            wer(JFK_TEXT.read_text(), " ".join(s.text for s in stored_segments(warehouse, "chan"))) == 0.0
        ),
        "jfk",
    )
    _wait(
        lambda: (
            warehouse.query("SELECT count() FROM dead_letters FINAL WHERE stage = 'decode'").result_rows[0][0]
            == 1
        ),
        "the dead letter",
    )
    time.sleep(2.5)  # past a snapshot
    runtime.finish(60)
    first = stored_segments(warehouse, "chan")

    # A restart resumes from the recovery store: nothing is read, transcribed or stored again.
    again = _flow(kafka_broker, prefix, warehouse, warehouse_url, tmp_path)
    time.sleep(5)
    again.finish(60)
    assert stored_segments(warehouse, "chan") == first
    assert len({s.segment_id for s in first}) == len(first)
