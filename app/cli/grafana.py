"""``streamscope grafana``: the dashboards as code — export them as JSON, push them to a Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from streamscope.app.cli.common import Database, app, fail, out, settings_from
from streamscope.app.grafana.dashboards import dashboards, export
from streamscope.app.grafana.push import (
    PushError,
    clickhouse_datasource,
    prometheus_datasource,
    public_url,
    push,
)

grafana_app = typer.Typer(
    help="Grafana dashboards as code: write them as JSON, or create/update them in a Grafana.",
    no_args_is_help=True,
)
app.add_typer(grafana_app, name="grafana")


@grafana_app.command("export")
def export_cmd(
    directory: Annotated[
        Path, typer.Argument(help="Directory to write the dashboard JSON files to (created if missing).")
    ] = Path("grafana/dashboards"),
) -> None:
    """Write every generated dashboard as a JSON file (what docker-compose provisions).

    Prints created/updated/unchanged per file; other files in DIRECTORY are left alone.
    """
    try:
        done = export(directory)
    except OSError as exc:
        fail(f"cannot write the dashboards to {directory}: {exc.strerror or exc}")
    for path, action in done:
        out.print(f"{action:<9} {escape(str(path))}")


@grafana_app.command("push")
def push_cmd(
    url: Annotated[
        str | None,
        typer.Option(
            "--url", help="Grafana base URL, e.g. http://localhost:3000 (default $STREAMSCOPE_GRAFANA_URL)."
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help="Service account token, sent as Bearer (default $STREAMSCOPE_GRAFANA_TOKEN; prefer the "
            "variable: a flag is visible to other users in the process list).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", help="Basic auth user instead of a token (default $STREAMSCOPE_GRAFANA_USER)."
        ),
    ] = None,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            help="Password of --user (default $STREAMSCOPE_GRAFANA_PASSWORD).",
            show_default=False,
        ),
    ] = None,
    folder: Annotated[
        str, typer.Option("--folder", help="Folder the dashboards go to (by title).")
    ] = "streamscope",
    datasource_url: Annotated[
        str | None,
        typer.Option(
            "--datasource-url",
            help="ClickHouse as Grafana reaches it, http(s)://USER:PASSWORD@HOST:PORT "
            "(default: the warehouse, $STREAMSCOPE_CLICKHOUSE_URL).",
            show_default=False,
        ),
    ] = None,
    database: Database = None,
    prometheus_url: Annotated[
        str | None,
        typer.Option(
            "--prometheus-url",
            help="Also create/update a Prometheus datasource at this URL (as Grafana reaches it) for the "
            "Platform health dashboard's metrics panels.",
        ),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write every object even when it looks unchanged (after changing the ClickHouse "
            "password, which Grafana never shows back).",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds to wait for each answer.")
    ] = 10.0,
) -> None:
    """Create or update the ClickHouse datasource, the folder and every dashboard in a Grafana.

    Dashboards are matched by uid. Idempotent: prints created/updated/unchanged per object, and a
    second push changes nothing. Exit code 2 with one line on a wrong token (401) or an
    unreachable Grafana; the token is never printed.
    """
    settings = settings_from(
        datasource_url,
        database,
        grafana_url=url,
        grafana_token=token,
        grafana_user=user,
        grafana_password=password,
    )
    if not settings.grafana_url:
        fail("give the Grafana URL: --url http://HOST:3000 (or set STREAMSCOPE_GRAFANA_URL)")
    secret = settings.grafana_token or None
    pw = settings.grafana_password
    try:
        sources = [clickhouse_datasource(settings.clickhouse_url, settings.clickhouse_database)]
        if prometheus_url:
            sources.append(prometheus_datasource(prometheus_url))
        changes = push(
            settings.grafana_url,
            token=secret.get_secret_value() if secret else None,
            user=settings.grafana_user,
            password=pw.get_secret_value() if pw else None,
            folder=folder,
            datasources=sources,
            dashboards=dashboards(),
            force=force,
            timeout=timeout,
        )
    except PushError as exc:
        fail(str(exc))
    for c in changes:
        out.print(f"{c.action:<9} {c.kind:<10} {escape(c.name)} (uid {escape(c.uid)})")
    counts = {a: sum(c.action == a for c in changes) for a in ("created", "updated", "unchanged")}
    summary = ", ".join(f"{n} {a}" for a, n in counts.items())
    out.print(f"{escape(public_url(settings.grafana_url))}: {summary}")
