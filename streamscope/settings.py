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

    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_model: str | None = None
    whisper_model: str | None = None

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
