"""Benchmark: speech to text with faster-whisper (tiny.en int8, the bundled model).

1. Real-time factor per core: every reference clip (tests/data/audio) transcribed by tiny.en int8 on
   ONE CPU thread (goal: >= 15x real time), with and without the VAD filter; reference measured in
   the same run: decoding + resampling the same clips with PyAV (what any pipeline pays before the
   model). A larger model (base.en) is measured too when the Hugging Face hub serves it.
2. Speech-to-queryable delay: a live loopback HLS stream (tests/fixtures/hls_server.py, 2 s segments
   with EXT-X-PROGRAM-DATE-TIME, real time) through the HLS source and the embedded transcripts
   dataflow into chDB; for each segment, the wall time it first appears in a query minus the
   absolute time its speech ended. Reference in the same run: the segment duration plus the
   playlist reload interval, the delay before any HLS client can hear the audio at all.
3. WER (jiwer, normalised text) on the reference clips.

Not a test: prints figures, asserts nothing. Run: ``python bench/transcribe.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # a script's sys.path starts at bench/

import numpy as np  # noqa: E402

from streamscope import topics  # noqa: E402
from streamscope.app.runtime import Runtime  # noqa: E402
from streamscope.pipelines.transcriber import Chunking  # noqa: E402
from streamscope.pipelines.whisper import WhisperConfig, engine, load_model  # noqa: E402
from streamscope.settings import Settings  # noqa: E402
from streamscope.sources.audio import MissingExtra  # noqa: E402
from streamscope.sources.audio.hls import HlsAudioSource  # noqa: E402
from streamscope.sources.audio.pcm import iter_pcm  # noqa: E402
from streamscope.warehouse import connect  # noqa: E402
from tests.data import (  # noqa: E402
    GOFORWARD_TEXT,
    GOFORWARD_WAV,
    JFK_FLAC,
    JFK_TEXT,
    LIBRIVOX_CLIPS,
    STEREO_TEXT,
    STEREO_WAV,
)
from tests.fixtures.hls_server import HlsServer, Program, load_pcm  # noqa: E402
from tests.speech_oracle import normalize, wer  # noqa: E402

T = TypeVar("T")

CLIPS = [
    (JFK_FLAC, JFK_TEXT.read_text().strip()),
    (GOFORWARD_WAV, GOFORWARD_TEXT.read_text().strip()),
    *[(wav, txt.read_text().strip()) for wav, txt in LIBRIVOX_CLIPS],
    (STEREO_WAV, " ".join(line.split(":", 1)[1] for line in STEREO_TEXT.read_text().splitlines())),
]


def decode_all() -> list[np.ndarray]:
    out = []
    for path, _ in CLIPS:
        pcm = b"".join(iter_pcm(str(path)))
        out.append(np.frombuffer(pcm, "<i2").astype(np.float32) / 32768.0)
    return out


def _timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    """``fn()``, its wall-clock seconds and the CPU seconds the process spent on it (all threads):
    on a shared machine the CPU time is what one core's worth of work costs."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def rtf(config: WhisperConfig, runs: int) -> tuple[float, float, float, float, list[str]]:
    """(audio s, median transcribe wall s, its CPU s, median decode CPU s, texts) over all clips."""
    run = engine(config)
    clips = decode_all()
    audio = sum(len(c) for c in clips) / 16000
    run(clips[0][:16000])  # warm-up: model load, first-call allocations
    wall, cpu, decode_cpu, texts = [], [], [], []
    for _ in range(runs):
        clips, _, d_cpu = _timed(decode_all)
        texts, m_wall, m_cpu = _timed(lambda cl=clips: [" ".join(s.text for s in run(c)[0]) for c in cl])
        wall.append(m_wall)
        cpu.append(m_cpu)
        decode_cpu.append(d_cpu)
    return audio, statistics.median(wall), statistics.median(cpu), statistics.median(decode_cpu), texts


def report_rtf(runs: int) -> list[str]:
    print(
        f"== real-time factor, one CPU thread "
        f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores) =="
    )
    texts: list[str] = []
    configs = [
        ("tiny.en int8, greedy, words, VAD on  (default)", WhisperConfig()),
        ("tiny.en int8, greedy, words, VAD off         ", WhisperConfig(vad=False)),
        ("tiny.en int8, greedy, no words, VAD off      ", WhisperConfig(vad=False, word_timestamps=False)),
        ("tiny.en int8, beam 5, words, VAD on          ", WhisperConfig(beam_size=5)),
    ]
    for label, config in configs:
        audio, wall, cpu, decode_cpu, got = rtf(config, runs)
        texts = texts or got
        print(
            f"{label}: {audio:.1f}s of audio: {audio / cpu:.1f}x real time per core (CPU time; goal >= 15x), "
            f"{audio / wall:.1f}x by the wall clock; same-run reference, decode+resample only: "
            f"{audio / decode_cpu:.0f}x (the model costs {cpu / decode_cpu:.0f}x the decoding)"
        )
    try:
        load_model(WhisperConfig(model="base.en"))
    except MissingExtra as exc:
        print(f"base.en: not measured ({exc})")
    else:
        audio, wall, cpu, decode_cpu, _ = rtf(WhisperConfig(model="base.en"), runs)
        print(f"base.en int8: {audio / cpu:.1f}x real time per core (decode only {audio / decode_cpu:.0f}x)")
    return texts


def report_wer(texts: list[str]) -> None:
    print("== word error rate (tiny.en int8, normalised text) ==")
    errors = words = 0.0
    for (path, reference), text in zip(CLIPS, texts, strict=True):
        rate = wer(reference, text)
        n = len(normalize(reference).split())
        errors, words = errors + rate * n, words + n
        print(f"{path.name:>45}: WER {rate:.3f} ({n} words)")
    print(f"overall WER {errors / words:.3f} over {int(words)} words")


def report_delay() -> None:
    print("== speech-to-queryable delay, live loopback HLS (2 s segments, real time) ==")
    program = Program().pause(1.0)
    for wav, txt in LIBRIVOX_CLIPS:
        program.say(wav.stem, load_pcm(wav), txt.read_text()).pause(2.0)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(clickhouse_url=f"chdb://{tmp}/wh", sink_flush_interval_s=0.2)
        runtime = Runtime.embedded(settings)
        runtime.prepare()
        runtime.start_dataflows(["transcripts"])
        engine(WhisperConfig())(np.zeros(16000, np.float32))  # model loaded before the stream starts
        server = HlsServer(program, segment_s=2.0, window=6).start()
        seen: dict[str, tuple[int, float]] = {}
        stop = threading.Event()
        reader = connect(settings.clickhouse_url, settings.clickhouse_database)

        def poll() -> None:
            while not stop.is_set():
                for sid, end in reader.query(
                    "SELECT toString(segment_id), toUnixTimestamp64Milli(end) FROM transcript_segments"
                ).result_rows:
                    seen.setdefault(sid, (int(end), time.time()))
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        publisher = runtime.publisher(topics.AUDIO_CHUNKS, "audio")
        source = HlsAudioSource(lambda: server.url, "bench", publisher.publish)
        source.run()
        time.sleep(4)  # idle flush of the last words
        stop.set()
        poller.join()
        runtime.finish(60)
        server.stop()
    delays = sorted(wall - end / 1000 for end, wall in seen.values())
    if not delays:
        print("no segments seen")
        return
    reference = server.segment_s + server.segment_s / 2
    print(
        f"{len(delays)} segments: delay from end of speech to queryable: median "
        f"{statistics.median(delays):.2f}s, max {delays[-1]:.2f}s; reference: a segment is published "
        f"{server.segment_s:.0f}s after it starts and the playlist is reloaded every "
        f"{server.segment_s / 2:.0f}s, so HLS alone costs up to {reference:.1f}s"
    )


def report_windows(runs: int) -> None:
    """RTF by window length: whisper pads every call to 30 s of features, so short windows pay for
    silence. The dataflow cuts windows between ``Chunking.min_window_ms`` and ``max_window_ms`` at a
    pause: live and keeping up, windows are short (low delay); behind, the buffer grows and windows
    lengthen towards the maximum, which is the throughput the model can catch up with."""
    chunking = Chunking()
    print(
        f"== real-time factor by window length, one CPU thread, the clips as one stream "
        f"(dataflow windows: {chunking.min_window_ms / 1000:.0f}-{chunking.max_window_ms / 1000:.0f} s) =="
    )
    run = engine(WhisperConfig())
    stream = np.concatenate(decode_all()[:-1])  # the stereo mix is two speakers at once: left out
    audio = len(stream) / 16000
    run(stream[:16000])
    for window_s in (chunking.min_window_ms / 1000, 10, chunking.max_window_ms / 1000):
        n = int(window_s * 16000)
        cpus = [
            _timed(lambda n=n: [list(run(stream[i : i + n])[0]) for i in range(0, len(stream), n)])[2]
            for _ in range(runs)
        ]
        print(
            f"windows of {window_s:4.0f} s over {audio:.1f}s of audio: "
            f"{audio / statistics.median(cpus):.1f}x real time per core (CPU time; goal >= 15x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    texts = report_rtf(args.runs)
    report_windows(args.runs)
    report_wer(texts)
    report_delay()


if __name__ == "__main__":
    main()
