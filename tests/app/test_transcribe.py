"""``streamscope transcribe`` as a user runs it: a file with its progress and summary, a live HLS
stream killed with SIGKILL mid-stream and restarted (nothing stored twice, nothing lost that no gap
row names), and the one-line errors of a missing model or source."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from streamscope.app.cli import app
from streamscope.warehouse import connect
from tests.data import GOFORWARD_WAV, JFK_TEXT, JFK_WAV
from tests.fixtures.hls_server import HlsServer, Program, espeak, load_pcm
from tests.speech_oracle import Stored, stored_segments, wer, words_between

SENTENCES = (
    "The first sentence talks about a red balloon.",
    "Then a second one mentions seven green apples.",
    "A third sentence describes a quiet blue lake.",
    "The fourth line is about a small yellow house.",
    "Number five speaks of a tall brown tree.",
    "The last sentence says goodbye to everyone.",
)


def test_transcribe_a_file_prints_progress_and_a_summary(warehouse_url: str) -> None:
    database = f"cli_{uuid.uuid4().hex[:12]}"
    result = CliRunner().invoke(
        app,
        ["transcribe", str(JFK_WAV), "--channel", "Kennedy", "--channel-id", "424242",
         "--start", "2024-01-01T00:00:00Z", "--clickhouse-url", warehouse_url, "--database", database],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = re.search(r"transcribed ([\d.]+)s of audio into (\d+) segments \((\d+) gaps\)", result.stdout)
    assert summary and float(summary.group(1)) == 11.0 and summary.group(3) == "0"
    client = connect(warehouse_url, database)
    segments = stored_segments(client, "kennedy")
    assert len(segments) == int(summary.group(2))
    assert wer(JFK_TEXT.read_text(), " ".join(s.text for s in segments)) == 0.0
    assert 1704067200000 <= segments[0].start < 1704067201000  # --start
    ids = client.query("SELECT DISTINCT channel_id FROM transcript_segments").result_rows
    assert ids == [(424242,)]
    # Running it again over the same audio stores nothing twice.
    again = CliRunner().invoke(
        app,
        ["transcribe", str(JFK_WAV), "--channel", "kennedy", "--start", "2024-01-01T00:00:00Z",
         "--clickhouse-url", warehouse_url, "--database", database],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    assert stored_segments(client, "kennedy") == segments
    client.command(f"DROP DATABASE IF EXISTS `{database}`")


def test_missing_model_or_source_is_one_clear_line(warehouse_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    common = [
        "--channel",
        "x",
        "--clickhouse-url",
        warehouse_url,
        "--database",
        f"cli_{uuid.uuid4().hex[:8]}",
    ]
    result = runner.invoke(
        app, ["transcribe", str(GOFORWARD_WAV), "--model", str(tmp_path / "none"), *common]
    )
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (
        len(lines) == 1
        and "could not load the speech model" in lines[0]
        and "STREAMSCOPE_WHISPER_MODEL" in lines[0]
    )
    result = runner.invoke(app, ["transcribe", str(tmp_path / "missing.wav"), *common])
    assert result.exit_code == 2 and "is not a file" in result.stderr


_READ = """
import json, sys
from streamscope.warehouse import connect
from tests.speech_oracle import stored_gaps, stored_segments
client = connect(sys.argv[1], sys.argv[2], create=False)
print(json.dumps([[s.__dict__ for s in stored_segments(client, "chan")], stored_gaps(client, "chan")]))
"""


def _read_back(url: str, database: str) -> tuple[list[Stored], list[tuple[int, int, str]]]:
    """Every stored segment (without FINAL) and gap, read by a process of its own: chDB opens one
    directory per process, and this one has the session's warehouse open."""
    done = subprocess.run(
        [sys.executable, "-c", _READ, url, database], capture_output=True, text=True, check=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    segments, gaps = json.loads(done.stdout.strip().splitlines()[-1])
    return [Stored(**s) for s in segments], [tuple(g) for g in gaps]  # type: ignore[misc]


def _command(url: str, database: str, server: HlsServer) -> list[str]:
    return [
        sys.executable, "-m", "streamscope.app.cli", "transcribe", server.url, "--channel", "chan",
        "--clickhouse-url", url, "--database", database,
    ]  # fmt: skip


def test_kill_9_mid_stream_then_restart_stores_no_segment_twice(
    tmp_path: Path, hls_server_factory: Callable[..., HlsServer]
) -> None:
    program = Program().pause(0.5)
    for i, sentence in enumerate(SENTENCES):
        program.say(f"s{i}", espeak(sentence), sentence).pause(1.5)
    server = hls_server_factory(program, speed=1.5, window=6)
    url, database = f"chdb://{tmp_path}/warehouse", "streamscope"
    env = {**os.environ, "CI": "true"}
    first = subprocess.Popen(
        _command(url, database, server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    stored = threading.Event()

    def watch() -> None:
        assert first.stderr is not None
        for line in first.stderr:
            if re.search(r"progress: ([2-9]|\d\d+) transcript segments stored", line):
                stored.set()
                return

    threading.Thread(target=watch, daemon=True).start()
    assert stored.wait(server.duration_s + 30), "the first run stored no segment"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = time.monotonic()
    assert killed_at - server._started < server.duration_s, "killed after the stream ended: not mid-stream"
    second = subprocess.run(
        _command(url, database, server), capture_output=True, text=True, env=env, timeout=180
    )
    assert second.returncode == 0, second.stderr[-2000:]

    segments, gaps = _read_back(url, database)
    print("segments:", [(s.start - server.t0_ms, s.end - server.t0_ms, s.text) for s in segments])
    print("gaps:", [(a - server.t0_ms, b - server.t0_ms, r) for a, b, r in gaps])
    assert len({s.segment_id for s in segments}) == len(segments)  # no row stored twice
    for before, after in zip(segments, segments[1:], strict=False):
        assert after.start >= before.end  # and no speech transcribed twice
    for piece in program.pieces:
        lo, hi = server.t0_ms + piece.start_s * 1000, server.t0_ms + piece.end_s * 1000
        heard = words_between(segments, lo - 300, hi + 300)
        gapped = any(a < hi and b > lo for a, b, _ in gaps)
        # Each sentence was heard (its words' times lie in it) once, not twice, or the audio it was
        # in is named by a gap row. (Word errors are the WER test's business: espeak is hard on tiny.en.)
        n, said = len(heard.split()), len(piece.text.split())
        assert gapped or 0.5 * said <= n <= 1.5 * said, (piece.text, heard, gaps)


def test_up_transcribe_stores_the_live_transcript_beside_the_chat(
    tmp_path: Path, hls_server_factory: Callable[..., HlsServer]
) -> None:
    jfk = load_pcm(JFK_WAV)
    # A window as long as the program (a DVR-like live playlist): `up` starts while the stream runs.
    program = Program().pause(1.0).say("jfk", jfk, JFK_TEXT.read_text()).pause(2.0)
    server = hls_server_factory(program, speed=2.0, window=20)
    url = f"chdb://{tmp_path}/warehouse"
    env = {
        **os.environ,
        "STREAMSCOPE_TWITCH_AUDIO_URL": server.url,  # the channel's "live stream": the loopback HLS
        "STREAMSCOPE_TWITCH_IRC_URL": f"ws://127.0.0.1:{_free_port()}",  # chat is not this test's business
    }
    up = subprocess.Popen(
        [sys.executable, "-m", "streamscope.app.cli", "up", "--channel", "chan", "--transcribe",
         "--port", str(_free_port()), "--clickhouse-url", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    time.sleep(server.duration_s + 15)  # the stream, the model's first load, the idle flush
    up.send_signal(signal.SIGINT)
    out, _ = up.communicate(timeout=120)
    assert up.returncode == 0, out[-3000:]
    assert re.search(r"stored [1-9]\d* transcript segments and 0 gap rows", out), out[-3000:]
    segments, gaps = _read_back(url, "streamscope")
    assert gaps == []
    assert wer(JFK_TEXT.read_text(), " ".join(s.text for s in segments)) == 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
