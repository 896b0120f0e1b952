"""Running the model's SQL: the guard first, then a read-only execution with hard limits.

:func:`run` is the only place the analyst executes SQL text that came from the model. It calls
:func:`streamscope.agent.guard.check` (a refusal raises :class:`~streamscope.agent.guard.SqlRefused`
and nothing runs), then runs the *checked* SQL with :func:`limit_settings`: ``readonly=1`` (no
write, no DDL, no setting changes, whatever got past the guard), ``max_execution_time``,
``max_result_rows``/``max_result_bytes`` with ``result_overflow_mode='break'`` (a huge result is cut,
not an error), ``max_memory_usage`` and ``max_rows_to_read``. ``readonly`` comes last on purpose:
ClickHouse applies a query's settings in order and, once ``readonly=1`` is in force, refuses to
change any other. On a ClickHouse server the analyst also connects as its own read-only user
(``STREAMSCOPE_AGENT_CLICKHOUSE_URL``; docker-compose creates it), so even a guard bug cannot write.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from streamscope.agent.guard import CheckedQuery, check
from streamscope.warehouse.shared import Warehouse


@dataclass(frozen=True, slots=True)
class SqlLimits:
    """Per-query bounds of the model's SQL."""

    max_rows: int = 500
    timeout_s: float = 10.0
    max_result_bytes: int = 10_000_000
    max_memory_bytes: int = 500_000_000
    max_rows_to_read: int = 200_000_000


@dataclass(frozen=True, slots=True)
class SqlResult:
    """What a query returned: ``sql`` as run, JSON-ready ``rows`` (at most ``max_rows``)."""

    sql: str
    columns: list[str]
    rows: list[list[Any]]


class SqlFailed(RuntimeError):
    """The checked query ran and ClickHouse refused or failed it; the message is its first line."""


def limit_settings(limits: SqlLimits) -> dict[str, Any]:
    """ClickHouse settings of one analyst query (``readonly`` last, see the module docstring)."""
    return {
        "max_execution_time": max(1, math.ceil(limits.timeout_s)),
        "max_result_rows": limits.max_rows,
        "max_result_bytes": limits.max_result_bytes,
        "result_overflow_mode": "break",
        "max_memory_usage": limits.max_memory_bytes,
        "max_rows_to_read": limits.max_rows_to_read,
        "readonly": 1,
    }


def checked(sql: str, tables: Collection[str], database: str, limits: SqlLimits) -> CheckedQuery:
    """:func:`~streamscope.agent.guard.check` with these limits."""
    return check(sql, tables, database, limits.max_rows)


def run(
    warehouse: Warehouse, sql: str, tables: Collection[str], database: str, limits: SqlLimits
) -> SqlResult:
    """Check ``sql`` and run it read-only; :class:`SqlRefused` (not run) or :class:`SqlFailed`."""
    query = checked(sql, tables, database, limits)
    try:
        with warehouse.reader() as client:
            result = client.query(query.sql, settings=limit_settings(limits))
            columns = list(result.column_names)
            rows = result.result_rows
    except Exception as exc:  # clickhouse-connect raises many types; the model gets one line
        raise SqlFailed(_first_line(exc)) from None
    return SqlResult(query.sql, columns, [[jsonable(v) for v in row] for row in rows[: limits.max_rows]])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        # clickhouse-connect prefixes the server's message with its own context lines.
        if "DB::Exception" in line or "Code:" in line:
            return line.strip()[:400]
    return (text.splitlines()[0] if text else type(exc).__name__)[:400]


def jsonable(value: Any) -> Any:
    """A result value as JSON: times as ISO 8601 strings (UTC), UUIDs and decimals as strings,
    tuples as lists, maps as objects, NaN/inf as null."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal | IPv4Address | IPv6Address):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [jsonable(v) for v in value]
    return str(value)
