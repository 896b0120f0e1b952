"""``streamscope pipeline chat|streams``: one Bytewax dataflow from Kafka into the warehouse.

Both run with Bytewax recovery (a store per dataflow under ``--recovery-dir``): killed at any moment
and restarted, a dataflow resumes from its last snapshot, every record is stored and none is visible
twice. ``-w`` runs more workers in the process, ``-i/-a`` makes the process one of a cluster.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

import typer
from bytewax.dataflow import Dataflow
from streamscope.app.cli.common import ClickHouseUrl, CliError, Database, guard, migrated, out, settings_from
from streamscope.app.cli.distributed import (
    Kafka,
    MetricsPort,
    kafka_settings,
    pipeline_app,
    serve_metrics_port,
    terminate_like_interrupt,
)

from streamscope import topics
from streamscope.settings import Settings
from streamscope.warehouse.client import redact

Workers = Annotated[
    int | None,
    typer.Option(
        "--workers", "-w", min=1, help="Bytewax workers in this process (default 1).", show_default=False
    ),
]
ProcessId = Annotated[
    int | None,
    typer.Option(
        "--process-id", "-i", min=0, help="This process's index in a Bytewax cluster.", show_default=False
    ),
]
Addresses = Annotated[
    str | None,
    typer.Option("--addresses", "-a", help='Cluster addresses "host:port;host:port;..." (with -i).',
                 show_default=False),
]  # fmt: skip
RecoveryDir = Annotated[
    str | None,
    typer.Option("--recovery-dir", help="Recovery store directory (default $STREAMSCOPE_RECOVERY_DIR).",
                 show_default=False),
]  # fmt: skip
SnapshotInterval = Annotated[
    float | None,
    typer.Option("--snapshot-interval", min=1.0, help="Seconds between recovery snapshots (default 10).",
                 show_default=False),
]  # fmt: skip


def _run_pipeline(
    name: str,
    build: Callable[[Settings, int], Dataflow],
    settings: Settings,
    process_id: int | None,
    addresses: str | None,
    metrics_port: int | None,
) -> None:
    from bytewax.run import cli_main
    from streamscope.app.runtime import recovery_config

    from streamscope.kafka import ensure_topics

    if (process_id is None) != (addresses is None):
        raise CliError("--process-id and --addresses go together (a Bytewax cluster)")
    assert settings.kafka_brokers
    migrated(settings)
    ensure_topics(settings.kafka_brokers, topics.ALL, prefix=settings.kafka_topic_prefix)
    serve_metrics_port(metrics_port)
    addr = addresses.split(";") if addresses else None
    flow = build(settings, settings.pipeline_workers * (len(addr) if addr else 1))
    out.print(
        f"{name} dataflow: Kafka {settings.kafka_brokers} → {redact(settings.clickhouse_url)} "
        f"({settings.pipeline_workers} worker(s), recovery in {settings.recovery_dir}/{name})"
    )
    terminate_like_interrupt()
    try:
        cli_main(
            flow,
            workers_per_process=settings.pipeline_workers,
            process_id=process_id,
            addresses=addr,
            epoch_interval=timedelta(seconds=settings.snapshot_interval_s),
            recovery_config=recovery_config(settings, name),
        )
    except KeyboardInterrupt:
        out.print("stopped; a restart resumes from the last snapshot")


def _settings(
    kafka: str | None,
    clickhouse_url: str | None,
    database: str | None,
    workers: int | None,
    recovery_dir: str | None,
    snapshot_interval: float | None,
) -> Settings:
    updates = {
        k: v
        for k, v in {
            "pipeline_workers": workers,
            "recovery_dir": recovery_dir,
            "snapshot_interval_s": snapshot_interval,
        }.items()
        if v is not None
    }
    return kafka_settings(settings_from(clickhouse_url, database).model_copy(update=updates), kafka)


@pipeline_app.command("chat")
def pipeline_chat_cmd(
    kafka: Kafka = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    workers: Workers = None,
    process_id: ProcessId = None,
    addresses: Addresses = None,
    recovery_dir: RecoveryDir = None,
    snapshot_interval: SnapshotInterval = None,
    metrics_port: MetricsPort = None,
) -> None:
    """Run the chat dataflow: Kafka twitch.irc.raw → parse → ClickHouse, with recovery.

    Killed at any moment and restarted, it resumes from its last snapshot: every message is stored
    and none is visible twice. With an embedded chDB warehouse no other process may open it.
    """

    def build(settings: Settings, writers: int) -> Dataflow:
        from streamscope.app.runtime import count_flush
        from streamscope.pipelines import chat

        return chat.flow(settings, writers=writers, on_flush=count_flush)

    def run() -> None:
        settings = _settings(kafka, clickhouse_url, database, workers, recovery_dir, snapshot_interval)
        _run_pipeline("chat", build, settings, process_id, addresses, metrics_port)

    guard(run)


@pipeline_app.command("streams")
def pipeline_streams_cmd(
    kafka: Kafka = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
    workers: Workers = None,
    process_id: ProcessId = None,
    addresses: Addresses = None,
    recovery_dir: RecoveryDir = None,
    snapshot_interval: SnapshotInterval = None,
    metrics_port: MetricsPort = None,
) -> None:
    """Run the streams dataflow: Kafka Helix samples + EventSub events → sessions, viewers, chat.

    Reads twitch.helix.streams and twitch.eventsub.raw; writes viewer_samples, streams (sessions)
    and EventSub chat rows to ClickHouse, with recovery (the per-channel session state included).
    """

    def build(settings: Settings, writers: int) -> Dataflow:
        from streamscope.app.runtime import count_flush
        from streamscope.pipelines import streams

        return streams.flow(settings, on_flush=count_flush)

    def run() -> None:
        settings = _settings(kafka, clickhouse_url, database, workers, recovery_dir, snapshot_interval)
        _run_pipeline("streams", build, settings, process_id, addresses, metrics_port)

    guard(run)
