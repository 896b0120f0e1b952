"""``streamscope db``: warehouse administration."""

from __future__ import annotations

import typer

from streamscope.app.cli.common import ClickHouseUrl, Database, app, guard, out, settings_from
from streamscope.warehouse import connect, migrate

db_app = typer.Typer(help="Warehouse administration.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("migrate")
def db_migrate_cmd(clickhouse_url: ClickHouseUrl = None, database: Database = None) -> None:
    """Create or upgrade the warehouse schema (idempotent; applied versions are recorded)."""
    settings = settings_from(clickhouse_url, database)

    def run() -> None:
        client = connect(settings.clickhouse_url, settings.clickhouse_database)
        applied = migrate(client)
        out.print(f"applied: {', '.join(applied)}" if applied else "schema is up to date")

    guard(run)
