"""``streamscope pipeline NAME``: one Bytewax dataflow from Kafka into the warehouse (a command for
each dataflow of :data:`streamscope.app.runtime.DATAFLOWS`: chat, streams).

Both run with Bytewax recovery (a store per dataflow under ``--recovery-dir``): killed at any moment
and restarted, a dataflow resumes from its last snapshot, every record is stored and none is visible
twice. ``-w`` runs more workers in the process, ``-i/-a`` makes the process one of a cluster.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from streamscope.app.captures import terminate_like_interrupt
from streamscope.app.cli.common import ClickHouseUrl, CliError, Database, guard, out, settings_from
from streamscope.app.cli.distributed import (
    Kafka,
    MetricsPort,
    kafka_settings,
    pipeline_app,
    serve_metrics_port,
)
from streamscope.app.runtime import DATAFLOWS, Runtime
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
    name: str, settings: Settings, process_id: int | None, addresses: str | None, metrics_port: int | None
) -> None:
    if (process_id is None) != (addresses is None):
        raise CliError("--process-id and --addresses go together (a Bytewax cluster)")
    runtime = Runtime(settings)
    runtime.prepare()
    serve_metrics_port(metrics_port)
    out.print(
        f"{name} dataflow: Kafka {settings.kafka_brokers} → {redact(settings.clickhouse_url)} "
        f"({settings.pipeline_workers} worker(s), recovery in {settings.recovery_dir}/{name})"
    )
    terminate_like_interrupt()
    try:
        runtime.run_dataflow(
            name, process_id=process_id, addresses=addresses.split(";") if addresses else None
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
    settings = settings_from(
        clickhouse_url,
        database,
        pipeline_workers=workers,
        recovery_dir=recovery_dir,
        snapshot_interval_s=snapshot_interval,
    )
    return kafka_settings(settings, kafka)


def _register(name: str) -> None:
    """``streamscope pipeline NAME`` for the dataflow of :data:`~streamscope.app.runtime.DATAFLOWS`
    called ``name``; its help is the first paragraph of the dataflow module's docstring."""
    graph = DATAFLOWS[name]
    summary = (sys.modules[graph.__module__].__doc__ or f"The {name} dataflow.").split("\n\n")[0]
    summary = " ".join(summary.split())

    def command(
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
        def run() -> None:
            settings = _settings(kafka, clickhouse_url, database, workers, recovery_dir, snapshot_interval)
            _run_pipeline(name, settings, process_id, addresses, metrics_port)

        guard(run)

    command.__doc__ = (
        f"Run {summary[0].lower()}{summary[1:]}\n\n"
        "Reads Kafka, writes the warehouse, with Bytewax recovery: killed at any moment and restarted, "
        "it resumes from its last snapshot; every record is stored and none is visible twice. With an "
        "embedded chDB warehouse no other process may open it."
    )
    pipeline_app.command(name)(command)


for _name in DATAFLOWS:
    _register(_name)
