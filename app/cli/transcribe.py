"""``streamscope transcribe`` (a file or stream into the warehouse, with progress) and
``streamscope source audio`` (a channel's stream audio into Kafka, for ``pipeline transcripts``).

Both need the ``speech`` extra (faster-whisper, PyAV, streamlink, the tiny.en model); without it
they stop with one line saying what to install.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from streamscope import topics
from streamscope.app.audio import audio_capture, audio_source, channel_audio_url, describe
from streamscope.app.captures import CaptureLoop
from streamscope.app.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    app,
    console,
    guard,
    log,
    out,
    settings_from,
)
from streamscope.app.cli.distributed import (
    Kafka,
    MetricsPort,
    finish_publishers,
    kafka_runtime,
    serve_metrics_port,
    source_app,
)
from streamscope.app.cli.speech import speech_guard
from streamscope.app.runtime import Runtime
from streamscope.metrics import REGISTRY
from streamscope.pipelines.transport import Batching, BusTransport
from streamscope.pipelines.whisper import WhisperConfig, load_model
from streamscope.query.errors import QueryError
from streamscope.query.params import time_param_ms
from streamscope.settings import Settings
from streamscope.sources.audio import require
from streamscope.sources.audio.file import FileAudioSource
from streamscope.twitch.logins import normalize_logins
from streamscope.warehouse.rows import CHANNEL_COLUMNS, ChannelRow

Channel = Annotated[str, typer.Option("--channel", "-c", help="Channel login the audio belongs to.")]


def _counter(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def _file_duration_s(location: str) -> float | None:
    av = require("av")
    try:
        with av.open(location) as container:  # type: ignore[attr-defined]
            return container.duration / 1_000_000 if container.duration else None
    except Exception:  # the source reports the real error when it reads the file
        return None


def _start_ms(location: str, start: str | None, duration_s: float | None) -> int:
    if start is not None:
        try:
            return time_param_ms("--start", start)
        except QueryError as exc:
            raise CliError(exc.message) from None
    if os.path.isfile(location):  # a recording usually ends when its file was last written
        return int((os.path.getmtime(location) - (duration_s or 0)) * 1000)
    return int(time.time() * 1000)


def _transcribe(
    settings: Settings, location: str, channel: str, channel_id: int | None, start: str | None
) -> None:
    require("av")
    config = WhisperConfig.from_settings(settings)
    with console.status(f"loading the speech model {config.label} ({config.device}, {config.compute_type})"):
        load_model(config)  # fails here, in one line, rather than inside the dataflow
    # A small bus: a file is decoded only as fast as it is transcribed (bounded memory).
    runtime = Runtime(settings, BusTransport(Batching(batch_size=4, tick_s=0.5), capacity=8))
    runtime.prepare()
    if channel_id is not None and runtime._client is not None:
        now = int(time.time() * 1000)
        runtime._client.insert(
            "channels", [ChannelRow(channel_id, channel, now, now)], column_names=CHANNEL_COLUMNS
        )
    runtime.start_dataflows(["transcripts"])
    try:
        publisher = runtime.publisher(topics.AUDIO_CHUNKS, "audio")
        duration = _file_duration_s(location) if "://" not in location else None
        source = audio_source(
            location, channel, publisher.publish, start_ms=_start_ms(location, start, duration)
        )
    except BaseException:
        runtime.finish(30)  # the dataflow thread must not outlive the command
        raise
    live = not isinstance(source, FileAudioSource)
    done = threading.Event()
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            source.run()
        except BaseException as exc:
            failure.append(exc)
        finally:
            done.set()

    audio0, compute0 = (
        _counter("transcribed_audio_seconds_total"),
        _counter("transcribe_compute_seconds_total"),
    )
    started = time.monotonic()
    with Progress(
        TextColumn(f"[bold]{channel}[/bold]"),
        BarColumn(),
        TextColumn("{task.fields[audio]:.1f}s of audio transcribed"),
        TextColumn("{task.fields[rtf]:.1f}x real time"),
        TextColumn("{task.fields[segments]} segments"),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal and os.environ.get("CI") == "true",
    ) as bar:
        task = bar.add_task("transcribe", total=None if live else duration, audio=0.0, rtf=0.0, segments=0)

        def update() -> None:
            audio = _counter("transcribed_audio_seconds_total") - audio0
            spent = _counter("transcribe_compute_seconds_total") - compute0
            bar.update(
                task, completed=audio, audio=audio, rtf=audio / spent if spent else 0.0,
                segments=runtime.counters.segments,
            )  # fmt: skip

        threading.Thread(target=produce, name="audio-source", daemon=True).start()
        stored = 0
        try:
            while not done.wait(0.25):
                runtime.check()
                update()
                if runtime.counters.segments != stored:  # also said in the log (no terminal: no bar)
                    stored = runtime.counters.segments
                    log.info("progress: %d transcript segments stored; %s", stored, describe(source))
        except KeyboardInterrupt:
            source.stop()
            done.wait(30)
        counters = runtime.finish()
        update()
    if failure:
        raise CliError(f"reading {location[:200]} failed: {failure[0]}")
    audio = _counter("transcribed_audio_seconds_total") - audio0
    spent = _counter("transcribe_compute_seconds_total") - compute0
    out.print(
        f"transcribed {audio:.1f}s of audio into {counters.segments} segments ({counters.gaps} gaps) in "
        f"{time.monotonic() - started:.1f}s; the model ran at {audio / spent if spent else 0:.1f}x real time"
    )
    if channel_id is None and runtime._client is not None:
        known = runtime._client.query(
            "SELECT count() FROM channels WHERE login = {login:String}", parameters={"login": channel}
        ).result_rows[0][0]
        if not known:
            out.print(
                f"note: #{channel} is not in the warehouse's channels yet, so the API cannot find it by "
                "name; pass --channel-id ID (its Twitch id) or capture its chat once"
            )


@app.command("transcribe")
def transcribe_cmd(
    source: Annotated[
        str,
        typer.Argument(
            help="What to transcribe: an audio/video file, an hls:// or .m3u8 URL, twitch:NAME (live, via "
            "streamlink) or any http(s) URL streamlink or FFmpeg can open."
        ),
    ],
    channel: Channel,
    channel_id: Annotated[
        int | None,
        typer.Option("--channel-id", min=1, help="The channel's Twitch id, recorded so the API finds it."),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option("--model", help="faster-whisper model name or directory (default: bundled tiny.en)."),
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="cpu (default), cuda or auto.")] = None,
    compute_type: Annotated[
        str | None, typer.Option("--compute-type", help="int8 (default), float16, float32, ...")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", min=0, help="CPU threads (default 1).")] = None,
    language: Annotated[
        str | None, typer.Option("--language", help="Spoken language code; default: detected.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="When a file's audio began (ISO 8601, UTC without offset), so its transcript lands on the "
            "chat timeline. Default: the file's modification time minus its duration. Streams carry "
            "their own times.",
        ),
    ] = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Transcribe a file or a stream with faster-whisper into the warehouse (transcript_segments).

    Shows a progress bar (audio seconds transcribed, the model's real-time factor). A live stream
    runs until it ends or Ctrl-C. Running it again over the same audio stores nothing twice. Needs
    the speech extra: pip install 'streamscope[speech]'.
    """
    login = (normalize_logins([channel]) or [""])[0]
    settings = settings_from(
        clickhouse_url, database, whisper_model=model, whisper_device=device,
        whisper_compute_type=compute_type, whisper_threads=threads, whisper_language=language,
    )  # fmt: skip
    if not login:
        guard(lambda: (_ for _ in ()).throw(CliError(f"--channel {channel!r} is not a Twitch login")))
    guard(lambda: speech_guard(lambda: _transcribe(settings, source, login, channel_id, start)))


@source_app.command("audio")
def source_audio_cmd(
    channel: Channel,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Read this instead of the channel's live stream: an hls:// or .m3u8 URL, a file, a URL "
            "streamlink opens. Default: $STREAMSCOPE_TWITCH_AUDIO_URL for the channel (twitch.tv via "
            "streamlink).",
        ),
    ] = None,
    kafka: Kafka = None,
    status_every: Annotated[
        float, typer.Option("--status-every", min=1.0, help="Seconds between progress lines in the log.")
    ] = 30.0,
    metrics_port: MetricsPort = None,
) -> None:
    """Capture a channel's stream audio (16 kHz PCM chunks) and publish it to Kafka (twitch.audio.chunks).

    `streamscope pipeline transcripts` transcribes it. A broken segment is skipped and counted, a
    stall reconnects with backoff, the end of the stream ends the command; Ctrl-C or SIGTERM stops it
    after Kafka acknowledged what was captured.
    """

    def run() -> None:
        login = (normalize_logins([channel]) or [""])[0]
        if not login:
            raise CliError(f"--channel {channel!r} is not a Twitch login")
        runtime = kafka_runtime(kafka)
        serve_metrics_port(metrics_port)
        location = url or channel_audio_url(runtime.settings.twitch_audio_url, login)
        publisher = runtime.publisher(topics.AUDIO_CHUNKS, "audio")
        src = audio_source(location, login, publisher.publish, start_ms=int(time.time() * 1000))
        loop = CaptureLoop([audio_capture("audio", src)])
        out.print(
            f"capturing the audio of #{login} from {location} into Kafka {runtime.settings.kafka_brokers}"
        )
        loop.run(lambda: log.info("progress: %s", describe(src)), status_every)
        finish_publishers(runtime, "audio chunks")
        for name, error in loop.errors():
            raise CliError(f"the {name} source failed: {error}")
        out.print(describe(src))

    guard(lambda: speech_guard(run))
