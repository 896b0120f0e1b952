"""The tool registry: the tools the model may call, their JSON schemas, and dispatch.

The names and arguments are a public contract: ``list_tables()``, ``describe_table(table)``,
``run_sql(sql)`` and the domain tools of :mod:`streamscope.agent.domain`. Each tool is a pydantic
model of its arguments (the JSON schema the model sees) and a handler. :func:`call` never raises
for anything the model did: an unknown tool, arguments that are not a JSON object or do not fit the
schema, a refused or failing query, a reader's bad-parameter error all come back as a
:class:`ToolResult` with ``error`` set, which the loop sends to the model so it can try again.

Results go to the model as JSON, cut to :attr:`ToolContext.max_chars` characters and
:attr:`ToolContext.model_rows` rows. Every result is framed as data (``"untrusted": true``): chat
text in it is written by anyone in chat and is never an instruction (see
:mod:`streamscope.agent.prompt`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from streamscope.agent import catalog
from streamscope.agent.guard import SqlRefused
from streamscope.agent.sql import SqlFailed, SqlLimits, jsonable, run
from streamscope.query.channels import Channel, list_channels, resolve
from streamscope.query.errors import QueryError
from streamscope.warehouse.shared import Warehouse


@dataclass
class ToolContext:
    """What the tools work on: never settings or secrets, only the warehouse handle and bounds."""

    warehouse: Warehouse
    database: str
    channel: str | None = None
    limits: SqlLimits = field(default_factory=SqlLimits)
    model_rows: int = 50
    max_chars: int = 6000


@dataclass
class ToolResult:
    """One tool call's outcome: ``content`` for the model; ``sql``/``columns``/``rows`` when a query
    ran (``rows`` in full, not truncated); ``error`` when the call failed or was refused."""

    content: str
    sql: str | None = None
    columns: list[str] | None = None
    rows: list[list[Any]] | None = None
    error: str | None = None


class ToolFailed(Exception):
    """A handler's refusal; the message goes to the model."""


class NoArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DescribeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str = Field(description="A table name from list_tables.", max_length=128)


class SqlArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: str = Field(
        description="One ClickHouse SELECT (WITH and UNION allowed) over the tables of list_tables. "
        "Read ReplacingMergeTree tables with FINAL. A LIMIT is forced; SETTINGS/FORMAT are refused.",
    )


Handler = Callable[[ToolContext, Any], ToolResult]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    handler: Handler

    def spec(self) -> dict[str, Any]:
        """The tool as a chat-completions ``tools`` item."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema.setdefault("properties", {})
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": schema},
        }


def data_result(value: Any, ctx: ToolContext, **extra: Any) -> ToolResult:
    """``value`` as the model sees it (framed as untrusted data, cut to ``ctx.max_chars``)."""
    body = json.dumps({"untrusted": True, "data": jsonable(value)}, ensure_ascii=False, separators=(",", ":"))
    if len(body) > ctx.max_chars:
        body = body[: ctx.max_chars] + f"... [cut: {len(body) - ctx.max_chars} more characters]"
    return ToolResult(body, **extra)


def table_result(value: Any, ctx: ToolContext, records: list[dict[str, Any]]) -> ToolResult:
    """:func:`data_result` of ``value`` that also carries ``records`` (dicts with the same keys) as the
    answer's table."""
    columns = list(records[0]) if records else []
    rows = [[jsonable(r[c]) for c in columns] for r in records]
    return data_result(value, ctx, columns=columns, rows=rows)


def error_result(message: str) -> ToolResult:
    return ToolResult(json.dumps({"error": message}, ensure_ascii=False), error=message)


def channel_of(ctx: ToolContext, given: str | None) -> Channel:
    """The channel a domain tool works on: the argument, else the question's channel, else the
    warehouse's only channel."""
    name = given or ctx.channel
    if name:
        return resolve(ctx.warehouse, name)
    known = list_channels(ctx.warehouse)
    if len(known) == 1:
        return Channel(known[0].id, known[0].login)
    logins = ", ".join(c.login for c in known[:20]) or "none captured yet"
    raise ToolFailed(f"channel: required, one of {logins}")


def _list_tables(ctx: ToolContext, _: NoArgs) -> ToolResult:
    tables = catalog.existing_tables(ctx.warehouse, ctx.database)
    counts = catalog.table_rows(ctx.warehouse, ctx.database, tables)
    docs = catalog.migration_docs()
    return data_result(
        [
            {"table": t, "rows": counts.get(t, 0), "about": docs[t].about[:300] if t in docs else ""}
            for t in tables
        ],
        ctx,
    )


def _describe_table(ctx: ToolContext, args: DescribeArgs) -> ToolResult:
    try:
        about, columns = catalog.describe(ctx.warehouse, ctx.database, args.table)
    except KeyError:
        raise ToolFailed(f"table: {args.table!r} is not an analytic table; call list_tables") from None
    return data_result(
        {
            "table": args.table,
            "about": about,
            "columns": [{"name": c.name, "type": c.type, "meaning": c.meaning} for c in columns],
        },
        ctx,
    )


def _run_sql(ctx: ToolContext, args: SqlArgs) -> ToolResult:
    tables = catalog.existing_tables(ctx.warehouse, ctx.database)
    try:
        result = run(ctx.warehouse, args.sql, tables, ctx.database, ctx.limits)
    except SqlRefused as exc:
        return error_result(f"refused, nothing was run: {exc.reason}")
    except SqlFailed as exc:
        return error_result(f"ClickHouse error: {exc}")
    shown = result.rows[: ctx.model_rows]
    note = {"row_count": len(result.rows), "rows_shown": len(shown)}
    return data_result(
        {"columns": result.columns, "rows": shown, **note},
        ctx,
        sql=result.sql,
        columns=result.columns,
        rows=result.rows,
    )


CORE_TOOLS: tuple[Tool, ...] = (
    Tool(
        "list_tables",
        "The analytic tables you may query, with approximate row counts and what each holds.",
        NoArgs,
        _list_tables,
    ),
    Tool(
        "describe_table",
        "The columns of one analytic table: name, ClickHouse type and meaning.",
        DescribeArgs,
        _describe_table,
    ),
    Tool(
        "run_sql",
        "Run one read-only ClickHouse SELECT and get its columns and rows (at most 50 rows are shown "
        "to you). Refused queries are not run; the error says why, fix the query and try again.",
        SqlArgs,
        _run_sql,
    ),
)


def call(
    tools: dict[str, Tool], ctx: ToolContext, name: str, raw_arguments: str
) -> tuple[dict[str, Any], ToolResult]:
    """Run tool ``name`` with the model's JSON ``raw_arguments``: ``(parsed arguments, result)``.
    Never raises for the model's mistakes (see the module docstring)."""
    tool = tools.get(name)
    try:
        parsed = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError as exc:
        return {"_raw": raw_arguments[:2000]}, error_result(
            f"arguments are not valid JSON ({exc.msg}); send a JSON object"
        )
    if not isinstance(parsed, dict):
        return {"_raw": raw_arguments[:2000]}, error_result("arguments must be a JSON object")
    if tool is None:
        return parsed, error_result(f"unknown tool {name[:80]!r}; the tools are: {', '.join(tools)}")
    try:
        args = tool.args.model_validate(parsed)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        return parsed, error_result(f"bad arguments for {name}: {problems}")
    try:
        return parsed, tool.handler(ctx, args)
    except ToolFailed as exc:
        return parsed, error_result(str(exc))
    except QueryError as exc:
        return parsed, error_result(exc.message)
