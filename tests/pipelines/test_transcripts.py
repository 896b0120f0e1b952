"""The transcripts dataflow with real faster-whisper (tiny.en int8, the bundled model) over a live
loopback HLS stream: the jfk clip comes back as its reference sentence at its absolute time, WER
on the reference clips is printed and bounded, a broken segment is a gap row, a model that falls
behind records gap rows instead of dropping audio silently."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.pipelines.transcriber import ChannelAudio, Chunking, Transcriber
from streamscope.pipelines.whisper import WhisperConfig, engine
from streamscope.records import AudioChunk
from streamscope.sources.audio.hls import HlsAudioSource
from tests.data import GOFORWARD_TEXT, GOFORWARD_WAV, JFK_FLAC, JFK_TEXT, LIBRIVOX_CLIPS
from tests.fixtures.embedded import embedded_runtime
from tests.fixtures.hls_server import HlsServer, Program, espeak, load_pcm
from tests.speech_oracle import speech_span_s, stored_gaps, stored_segments, wer

ESPEAK_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Every message in the chat is stored forever.",
)


def transcribe(warehouse: Client, url: str, server: HlsServer, channel: str = "chan") -> None:
    """The stream of ``server`` through the embedded transcripts dataflow into ``warehouse``."""
    runtime = embedded_runtime(warehouse, url).start_dataflows(["transcripts"])
    publisher = runtime.publisher(topics.AUDIO_CHUNKS, "audio")
    stats = HlsAudioSource(lambda: server.url, channel, publisher.publish).run()
    assert stats.ended
    runtime.finish(120)


def test_jfk_comes_back_as_its_reference_sentence_at_its_absolute_time(
    warehouse: Client, warehouse_url: str, hls_server_factory: Callable[..., HlsServer]
) -> None:
    jfk = load_pcm(JFK_FLAC)
    reference = JFK_TEXT.read_text().strip()
    server = hls_server_factory(Program().pause(1.0).say("jfk", jfk, reference).pause(1.5), speed=2.0)
    transcribe(warehouse, warehouse_url, server)
    segments = stored_segments(warehouse, "chan")
    text = " ".join(s.text for s in segments)
    print(f"jfk over live HLS: {text!r} (WER {wer(reference, text):.3f})")
    assert wer(reference, text) == 0.0
    onset, offset = speech_span_s(jfk)
    assert abs(segments[0].start - (server.t0_ms + 1000 + onset * 1000)) <= 1000
    assert abs(segments[-1].end - (server.t0_ms + 1000 + offset * 1000)) <= 1000
    assert stored_gaps(warehouse, "chan") == []  # the stream ended cleanly, nothing left out


def test_word_error_rate_on_the_reference_clips_is_bounded(
    warehouse: Client, warehouse_url: str, hls_server_factory: Callable[..., HlsServer]
) -> None:
    program = Program().pause(0.5)
    for wav, txt in LIBRIVOX_CLIPS:
        program.say(wav.stem[-4:], load_pcm(wav), txt.read_text().strip()).pause(1.2)
    program.say("goforward", load_pcm(GOFORWARD_WAV), GOFORWARD_TEXT.read_text().strip()).pause(1.2)
    for i, sentence in enumerate(ESPEAK_SENTENCES):
        program.say(f"espeak{i}", espeak(sentence), sentence).pause(1.2)
    server = hls_server_factory(program, speed=4.0, window=8)
    transcribe(warehouse, warehouse_url, server)
    segments = stored_segments(warehouse, "chan")
    total_errors = total_words = 0.0
    for piece in program.pieces:
        lo, hi = server.t0_ms + piece.start_s * 1000, server.t0_ms + piece.end_s * 1000
        heard = " ".join(s.text for s in segments if lo - 300 <= (s.start + s.end) / 2 <= hi + 300)
        rate = wer(piece.text, heard)
        words = len(piece.text.split())
        total_errors += rate * words
        total_words += words
        print(f"{piece.name:>10}: WER {rate:.3f}  ref {piece.text!r}  heard {heard!r}")
        assert rate <= 0.5, piece.name
    overall = total_errors / total_words
    print(f"overall WER {overall:.3f} over {int(total_words)} words")
    assert overall <= 0.2


def test_a_broken_segment_becomes_a_gap_row_and_the_rest_is_transcribed(
    warehouse: Client, warehouse_url: str, hls_server_factory: Callable[..., HlsServer]
) -> None:
    clip = load_pcm(GOFORWARD_WAV)
    reference = GOFORWARD_TEXT.read_text().strip()
    program = Program().pause(0.5).say("a", clip, reference).pause(3.0).say("b", clip, reference).pause(1.0)
    server = hls_server_factory(program, segment_s=1.0, speed=3.0, broken=frozenset({5}))
    transcribe(warehouse, warehouse_url, server)
    gaps = stored_gaps(warehouse, "chan")
    assert len(gaps) == 1 and gaps[0][2] == "missing"
    assert abs(gaps[0][0] - server.segment_start_ms(5)) <= 30
    assert abs(gaps[0][1] - server.segment_start_ms(6)) <= 30
    text = " ".join(s.text for s in stored_segments(warehouse, "chan"))
    assert wer(f"{reference} {reference}", text) <= 0.25


def test_a_model_that_falls_behind_records_gap_rows_and_catches_up() -> None:
    clip = load_pcm(GOFORWARD_WAV)
    pcm = np.concatenate([np.zeros(8000, np.int16), clip, np.zeros(16000, np.int16)]).tobytes()
    now = [1_700_000_100.0]  # wall clock, seconds
    transcriber = Transcriber(
        engine(WhisperConfig()), Chunking(max_lag_ms=5000, min_window_ms=3000), clock=lambda: now[0]
    )
    state = ChannelAudio("chan")
    segments, gaps = [], []

    def feed(start_ms: int) -> None:
        for i in range(0, len(pcm), 32000):  # 1 s chunks
            chunk = AudioChunk("chan", start_ms + i // 32, pcm[i : i + 32000], "hls", True)
            out = transcriber.feed(state, chunk)
            segments.extend(out.segments)
            gaps.extend(out.gaps)

    duration = len(pcm) // 32
    late = 1_700_000_000_000  # spoken 100 s before "now": past the 5 s bound, skipped
    feed(late)
    on_time = late + duration  # the stream goes on; the model has caught up with it
    now[0] = (on_time + duration) / 1000 + 0.5
    feed(on_time)
    out = transcriber.flush(state)
    segments.extend(out.segments)
    gaps.extend(out.gaps)
    assert [(g.start, g.end, g.reason) for g in gaps] == [(late, late + duration, "behind")]
    assert all(s.start >= on_time for s in segments)
    assert wer(GOFORWARD_TEXT.read_text(), " ".join(s.text for s in segments)) <= 0.25


def test_windows_are_long_for_files_short_live_and_grow_with_the_lag() -> None:
    # The five LibriVox clips twice, as one 49 s stream with their own pauses, fed as 1 s chunks;
    # the real model, wrapped to note the length of every window it is given.
    pcm = np.concatenate([load_pcm(wav) for wav, _ in LIBRIVOX_CLIPS * 2]).tobytes()
    reference = " ".join(txt.read_text().strip() for _, txt in LIBRIVOX_CLIPS * 2)
    model = engine(WhisperConfig())
    t0 = 1_700_000_000_000

    def windows(live: bool, lag_ms: int) -> tuple[list[int], str]:
        seen: list[int] = []

        def noting(audio: np.ndarray) -> Any:
            seen.append(len(audio) * 1000 // 16000)
            return model(audio)

        chunk_ms = 1000
        duration = len(pcm) // 32
        clock = [0.0]
        transcriber = Transcriber(noting, Chunking(), clock=lambda: clock[0])
        state = ChannelAudio("chan")
        texts = []
        for i in range(0, len(pcm), 32 * chunk_ms):
            chunk = AudioChunk("chan", t0 + i // 32, pcm[i : i + 32 * chunk_ms], "test", live)
            clock[0] = (chunk.ended_at + lag_ms) / 1000  # the chunk reaches the model lag_ms late
            texts += [s.text for s in transcriber.feed(state, chunk).segments]
        texts += [s.text for s in transcriber.flush(state).segments]
        assert sum(seen) >= duration - 1000  # every second heard (a seam's overlap may repeat)
        return seen[:-1], " ".join(texts)  # the last window is whatever the flush found

    longest = Chunking().max_window_ms - Chunking().overlap_ms
    files, file_text = windows(live=False, lag_ms=0)
    live, live_text = windows(live=True, lag_ms=500)
    behind, behind_text = windows(live=True, lag_ms=20_000)
    assert files and all(w >= longest // 3 for w in files) and max(files) >= 20_000
    assert live and max(live) < longest and len(live) > 2 * len(files)
    assert behind and all(w >= 20_000 // 3 for w in behind) and len(behind) < len(live)
    for text in (file_text, live_text, behind_text):
        assert wer(reference, text) <= 0.2
