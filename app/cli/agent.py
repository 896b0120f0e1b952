"""``streamscope ask`` and ``streamscope agent eval``: the AI analyst on the command line.

Both need the ``agent`` extra (``pip install 'streamscope[agent]'``: openai, sqlglot) and a model
(``STREAMSCOPE_OPENAI_MODEL``, ``_BASE_URL``, ``_API_KEY``, or the flags).
"""

from __future__ import annotations

import logging
import statistics
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from streamscope.app.cli.common import (
    ClickHouseUrl,
    CliError,
    Database,
    app,
    console,
    guard,
    out,
    settings_from,
)
from streamscope.settings import Settings
from streamscope.warehouse import connect, migrate
from streamscope.warehouse.shared import Warehouse

#: Where ``agent eval`` loads the demo recording unless ``--database`` is given.
EVAL_DATABASE = "streamscope_eval"

agent_app = typer.Typer(help="The AI analyst: evaluation against the gold set.", no_args_is_help=True)
app.add_typer(agent_app, name="agent")

Model = Annotated[
    str | None,
    typer.Option("--model", help="Model name (default $STREAMSCOPE_OPENAI_MODEL).", show_default=False),
]
BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 "
        "(default $STREAMSCOPE_OPENAI_BASE_URL).",
        show_default=False,
    ),
]


def _analyst(settings: Settings) -> Any:
    try:
        from streamscope.agent.config import AgentUnconfigured, agent_warehouse, build
    except ImportError:
        raise CliError("the AI analyst needs the agent extra: pip install 'streamscope[agent]'") from None
    # One INFO line per model request from the SDK's HTTP client drowns the steps; -v shows them.
    if logging.getLogger().level > logging.DEBUG:
        for name in ("httpx", "httpx2", "openai"):
            logging.getLogger(name).setLevel(logging.WARNING)
    client = connect(settings.clickhouse_url, settings.clickhouse_database)
    migrate(client)
    try:
        return build(settings, agent_warehouse(settings, Warehouse(client)))
    except AgentUnconfigured as exc:
        raise CliError(str(exc)) from None


def _table(columns: list[str], rows: list[list[Any]], limit: int = 50) -> Table:
    table = Table(*[escape(c) for c in columns], show_lines=False)
    for row in rows[:limit]:
        table.add_row(*[escape("" if v is None else str(v)) for v in row])
    if len(rows) > limit:
        table.caption = f"{limit} of {len(rows)} rows"
    return table


@app.command("ask")
def ask_cmd(
    question: Annotated[str, typer.Argument(help="The question, in plain language.")],
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel login or id the question is about.")
    ] = None,
    model: Model = None,
    base_url: BaseUrl = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Ask the AI analyst a question about the captured data: prints the steps as they happen, then
    the answer, the SQL it ran and the last table. Only checked, read-only SELECTs ever run."""
    settings = settings_from(clickhouse_url, database, openai_model=model, openai_base_url=base_url)

    def run() -> None:
        from streamscope.agent.model import ModelError

        analyst = _analyst(settings)

        def show(step: Any) -> None:
            what = step.error and f"[red]{escape(step.error[:200])}[/red]" or f"{step.rows or 0} rows"
            console.print(f"[dim]step[/dim] {escape(step.tool)} {escape(str(step.arguments)[:120])}: {what}")

        try:
            answer = analyst.ask(question, channel, on_step=show)
        except ModelError as exc:
            raise CliError(
                f"{exc}; check STREAMSCOPE_OPENAI_BASE_URL and that the model server runs"
            ) from None
        out.print(escape(answer.answer))
        for sql in answer.sql:
            out.print(f"[bold]SQL[/bold] {escape(sql)}")
        if answer.columns:
            out.print(_table(answer.columns, answer.rows))

    guard(run)


@agent_app.command("eval")
def eval_cmd(
    channel: Annotated[
        str, typer.Option("--channel", help="Channel the gold questions are about.")
    ] = "xqcow",
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N questions.", min=1)] = None,
    load: Annotated[
        bool,
        typer.Option("--load/--no-load", help="Load the demo recording first when the warehouse lacks it."),
    ] = True,
    model: Model = None,
    base_url: BaseUrl = None,
    clickhouse_url: ClickHouseUrl = None,
    database: Database = None,
) -> None:
    """Run the gold set (>= 40 questions over the demo #xqcow recording, each with reference SQL and
    its result) against the configured model; print execution accuracy (result-set equality),
    latency and tokens per question. The data lives in the database streamscope_eval unless
    --database names another, so the demo recording never lands in a production database."""
    settings = settings_from(
        clickhouse_url, database or EVAL_DATABASE, openai_model=model, openai_base_url=base_url
    )

    def run() -> None:
        try:
            from streamscope.agent import gold
        except ImportError:
            raise CliError("the AI analyst needs the agent extra: pip install 'streamscope[agent]'") from None
        questions = gold.load()[:limit] if limit else gold.load()
        if load:
            _ensure_demo(settings)
        analyst = _analyst(settings)
        table = Table("id", "ok", "latency s", "tokens", "steps", "question")

        def show(q: Any, o: Any) -> None:
            mark = "[green]yes[/green]" if o.correct else "[red]no[/red]"
            console.print(f"{escape(q.id)} {mark} {o.latency_s:.1f}s {o.tokens} tokens {o.steps} steps")
            table.add_row(
                q.id, mark, f"{o.latency_s:.2f}", str(o.tokens), str(o.steps), escape(q.question[:60])
            )

        outcomes = gold.evaluate(analyst, questions, channel, on_outcome=show)
        out.print(table)
        correct = sum(o.correct for o in outcomes)
        latency = statistics.median(o.latency_s for o in outcomes)
        tokens = statistics.mean(o.tokens for o in outcomes)
        out.print(
            f"execution accuracy: {correct}/{len(outcomes)} = {100 * correct / len(outcomes):.1f}% "
            f"(model {settings.openai_model}); latency median {latency:.2f}s; "
            f"tokens mean {tokens:.0f} per question"
        )

    guard(run)


def _ensure_demo(settings: Settings) -> None:
    from importlib import resources
    from pathlib import Path

    from streamscope.app.cli.ingest import _replay_files

    client = connect(settings.clickhouse_url, settings.clickhouse_database)
    migrate(client)
    have = client.query("SELECT count() FROM chat_messages WHERE channel_id = 71092938").result_rows[0][0]
    if int(have):
        return
    recording = resources.files("streamscope.demo").joinpath("xqcow_2019-09-15.log")
    with resources.as_file(recording) as path:
        _replay_files(settings, [Path(path)], None, "demo")
