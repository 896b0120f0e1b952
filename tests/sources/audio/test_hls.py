"""The HLS audio source against the loopback live HLS server: program date-times, the audio-only
rendition, a clean end, a broken segment, a stall."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from streamscope.metrics import REGISTRY
from streamscope.records import AudioChunk
from streamscope.sources.audio.hls import HlsAudioSource
from streamscope.sources.audio.playlist import MasterPlaylist, MediaPlaylist, parse, pick_audio
from tests.data import GOFORWARD_TEXT, GOFORWARD_WAV
from tests.fixtures.hls_server import HlsServer, Program, load_pcm

MasterText = """#EXTM3U
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="chunked",NAME="1080p60 (source)"
#EXT-X-STREAM-INF:BANDWIDTH=6000000,CODECS="avc1.64002A,mp4a.40.2",VIDEO="chunked"
chunked/index.m3u8
#EXT-X-MEDIA:TYPE=VIDEO,GROUP-ID="audio_only",NAME="audio_only"
#EXT-X-STREAM-INF:BANDWIDTH=160000,CODECS="mp4a.40.2",VIDEO="audio_only"
https://cdn.example/audio_only/index.m3u8
"""


def test_playlists_parse_as_rfc_8216_says() -> None:
    master = parse(MasterText, "https://usher.example/x/master.m3u8")
    assert isinstance(master, MasterPlaylist)
    chosen = pick_audio(master)
    assert (chosen.name, chosen.uri) == ("audio_only", "https://cdn.example/audio_only/index.m3u8")
    media = parse(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
        "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00.500Z\n#EXTINF:2.000,\na.ts\n"
        "#EXTINF:1.5,\nb.ts\n#EXT-X-DISCONTINUITY\n#EXTINF:2.0,\nc.ts\n#EXT-X-ENDLIST\n",
        "https://cdn.example/v/index.m3u8",
    )
    assert isinstance(media, MediaPlaylist)
    assert media.ended and media.target_duration_s == 2.0
    base = 1704067200500  # 2024-01-01T00:00:00.500Z
    # The date-time applies to its segment and runs on through the following ones (§4.3.2.6).
    assert [(s.uri[-4:], s.sequence, s.program_date_time, s.discontinuity) for s in media.segments] == [
        ("a.ts", 7, base, False),
        ("b.ts", 8, base + 2000, False),
        ("c.ts", 9, base + 3500, True),
    ]


def _collect() -> tuple[list[AudioChunk], Callable[[Sequence[AudioChunk]], None]]:
    got: list[AudioChunk] = []
    return got, lambda chunks: got.extend(chunks)


def _program() -> Program:
    clip = load_pcm(GOFORWARD_WAV)
    return Program().pause(0.5).say("goforward", clip, GOFORWARD_TEXT.read_text().strip()).pause(0.5)


def test_live_stream_is_read_at_its_program_date_times_from_the_audio_only_rendition(
    hls_server_factory: Callable[..., HlsServer],
) -> None:
    server = hls_server_factory(_program(), segment_s=1.0, window=3, speed=2.0)
    got, publish = _collect()
    stats = HlsAudioSource(lambda: server.url, "chan", publish, max_backoff_s=0.5).run()
    assert stats.ended and stats.skipped == 0
    assert "/audio_only/live.m3u8" in server.requests and "/chunked/live.m3u8" not in server.requests
    # One chunk per segment, each starting at its segment's EXT-X-PROGRAM-DATE-TIME.
    assert [c.started_at for c in got] == [server.segment_start_ms(i) for i in range(len(server.segments))]
    assert all(c.channel == "chan" and c.live and c.source == "hls" for c in got)
    # Each segment's audio comes back whole (its frames decoded and resampled to 16 kHz).
    for chunk, seconds in zip(got, server.durations_s, strict=True):
        assert abs(chunk.duration_ms - seconds * 1000) <= 2
    # ...and it is the program's audio: the decoded PCM correlates with the original.
    decoded = np.concatenate(
        [np.frombuffer(c.pcm, "<i2")[: len(p)] for c, p in zip(got, server.pieces, strict=True)]
    )
    original = np.concatenate(server.pieces)[: len(decoded)].astype(np.float64)
    assert np.corrcoef(original, decoded.astype(np.float64))[0, 1] > 0.9


def test_broken_segment_is_skipped_counted_and_the_rest_flows(
    hls_server_factory: Callable[..., HlsServer],
) -> None:
    before = REGISTRY.get_sample_value("audio_segments_skipped_total", {"source": "hls"}) or 0
    server = hls_server_factory(_program(), segment_s=1.0, window=3, speed=2.0, broken=frozenset({1}))
    got, publish = _collect()
    stats = HlsAudioSource(lambda: server.media_url, "chan", publish).run()
    assert stats.ended and stats.skipped == 1 and stats.segments == len(server.segments) - 1
    assert REGISTRY.get_sample_value("audio_segments_skipped_total", {"source": "hls"}) == before + 1
    expected = [server.segment_start_ms(i) for i in range(len(server.segments)) if i != 1]
    assert [c.started_at for c in got] == expected  # a hole where segment 1 was


def test_stall_reconnects_with_backoff_and_reads_everything(
    hls_server_factory: Callable[..., HlsServer],
) -> None:
    server = hls_server_factory(_program(), segment_s=1.0, window=10, speed=1.0, stall=(1.2, 1.5))
    got, publish = _collect()
    stats = HlsAudioSource(lambda: server.url, "chan", publish, max_backoff_s=0.4).run()
    assert stats.reconnects >= 1 and stats.ended and stats.skipped == 0
    assert [c.started_at for c in got] == [server.segment_start_ms(i) for i in range(len(server.segments))]
    total_ms = sum(c.duration_ms for c in got)
    assert total_ms >= len(np.concatenate(server.pieces)) / 16


def test_stop_ends_a_live_stream_that_never_ends(hls_server_factory: Callable[..., HlsServer]) -> None:
    server = hls_server_factory(_program(), segment_s=1.0, window=3, speed=4.0, ends=False)
    got, publish = _collect()
    source = HlsAudioSource(lambda: server.url, "chan", publish)
    runner = threading.Thread(target=source.run)
    runner.start()
    threading.Timer(server.duration_s + 1.0, source.stop).start()
    runner.join(15)
    assert not runner.is_alive() and not source.stats.ended
    assert [c.started_at for c in got] == [server.segment_start_ms(i) for i in range(len(server.segments))]
