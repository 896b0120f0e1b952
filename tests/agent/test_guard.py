"""The SQL guard on the adversarial battery (every query refused, nothing run) and on legitimate
analytic queries (every one passes and runs on the demo data, its LIMIT forced)."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.agent import guard
from streamscope.agent.catalog import ANALYTIC_TABLES
from streamscope.agent.sql import SqlLimits, run
from streamscope.warehouse.shared import Warehouse
from tests.agent.battery import ADVERSARIAL, LEGITIMATE

DB = "streamscope"


def test_battery_is_large_enough() -> None:
    assert len(ADVERSARIAL) >= 60
    assert len(set(ADVERSARIAL)) == len(ADVERSARIAL)


@pytest.mark.parametrize("sql", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_adversarial_query_is_refused(sql: str) -> None:
    with pytest.raises(guard.SqlRefused) as refused:
        guard.check(sql, ANALYTIC_TABLES, DB, 100)
    assert refused.value.reason  # a message the model can act on


@pytest.mark.parametrize("sql", LEGITIMATE, ids=range(len(LEGITIMATE)))
def test_legitimate_query_passes_and_runs(sql: str, demo: Client) -> None:
    checked = guard.check(sql, ANALYTIC_TABLES, str(demo.database), 100)
    assert checked.sql.rstrip().endswith("LIMIT 100") or " LIMIT " in checked.sql
    result = run(Warehouse(demo), sql, ANALYTIC_TABLES, str(demo.database), SqlLimits(max_rows=100))
    assert result.rows, f"no rows from {checked.sql}"
    assert len(result.rows) <= 100


def test_limit_is_forced_and_capped() -> None:
    q = guard.check("SELECT text FROM chat_messages", ANALYTIC_TABLES, DB, 50)
    assert q.sql == "SELECT text FROM chat_messages LIMIT 50"
    assert guard.check("SELECT text FROM chat_messages LIMIT 10", ANALYTIC_TABLES, DB, 50).sql.endswith(
        "LIMIT 10"
    )
    assert guard.check("SELECT text FROM chat_messages LIMIT 100000", ANALYTIC_TABLES, DB, 50).sql.endswith(
        "LIMIT 50"
    )
    # LIMIT BY caps rows per group only, and a UNION's LIMIT binds to its last SELECT: wrapped.
    by = guard.check("SELECT user_id FROM chat_messages LIMIT 1 BY user_id", ANALYTIC_TABLES, DB, 50)
    assert by.sql == "SELECT * FROM (SELECT user_id FROM chat_messages LIMIT 1 BY user_id) LIMIT 50"
    union = guard.check("SELECT 1 UNION ALL SELECT 2", ANALYTIC_TABLES, DB, 50)
    assert union.sql == "SELECT * FROM (SELECT 1 UNION ALL SELECT 2) LIMIT 50"


def test_comments_never_reach_clickhouse() -> None:
    q = guard.check("SELECT 1 -- */ DROP TABLE chat_messages", ANALYTIC_TABLES, DB, 5)
    assert q.sql == "SELECT 1 LIMIT 5"


def test_qualified_names_must_be_our_database() -> None:
    assert guard.check(f"SELECT 1 FROM {DB}.chat_messages", ANALYTIC_TABLES, DB, 5).tables == (
        "chat_messages",
    )
    with pytest.raises(guard.SqlRefused, match="database"):
        guard.check("SELECT 1 FROM other.chat_messages", ANALYTIC_TABLES, DB, 5)
    with pytest.raises(guard.SqlRefused, match="did you mean chat_messages"):
        guard.check("SELECT 1 FROM CHAT_MESSAGES", ANALYTIC_TABLES, DB, 5)


def test_huge_result_is_cut_not_returned(demo: Client) -> None:
    # arrayJoin over a large range: the server stops at max_result_rows (break mode), within the LIMIT.
    result = run(
        Warehouse(demo),
        "SELECT arrayJoin(range(1000000)) AS n",
        ANALYTIC_TABLES,
        str(demo.database),
        SqlLimits(max_rows=200),
    )
    assert len(result.rows) == 200
    assert result.rows[:3] == [[0], [1], [2]]
