"""list_tables/describe_table: the allowlist as present, columns with live types and the meanings
written in the migrations (comments, COMMENT clauses, 0007's COMMENT COLUMN)."""

from __future__ import annotations

import re

from clickhouse_connect.driver.client import Client

from streamscope.agent import catalog
from streamscope.warehouse.migrate import available
from streamscope.warehouse.shared import Warehouse

CORE = ("chat_messages", "chat_events", "channels", "viewer_samples", "streams", "room_states")


def test_every_core_column_has_a_meaning(warehouse: Client) -> None:
    for table in CORE:
        _, columns = catalog.describe(Warehouse(warehouse), str(warehouse.database), table)
        assert columns and all(c.meaning for c in columns), (
            table,
            [c.name for c in columns if not c.meaning],
        )


def test_meanings_are_the_migrations_words(warehouse: Client) -> None:
    # Read the files here with a regex of the test's own: each COMMENT COLUMN text must be in the meaning.
    said: dict[tuple[str, str], str] = {}
    for migration in available():
        for statement in migration.statements:
            table = re.search(r"^ALTER TABLE (\w+)", statement, re.M)
            if table:
                for col, text in re.findall(r"COMMENT COLUMN (\w+) '((?:[^']|'')*)'", statement):
                    said[(table.group(1), col)] = text.replace("''", "'")
    assert len(said) >= 50
    docs = catalog.migration_docs()
    for (table, col), text in said.items():
        assert text in docs[table].columns[col]
    about, columns = catalog.describe(Warehouse(warehouse), str(warehouse.database), "chat_events")
    assert about.startswith("Everything in chat that is not a chat message")
    by_name = {c.name: c for c in columns}
    assert by_name["duration_s"].type == "UInt32"
    assert by_name["duration_s"].meaning == "timeout length in seconds (kind = timeout), else 0"
    assert by_name["kind"].meaning.startswith("USERNOTICE msg-id; timeout/ban/clear for CLEARCHAT")


def test_unknown_or_hidden_tables_are_not_described(warehouse: Client) -> None:
    for name in ("dead_letters", "schema_migrations", "nope"):
        try:
            catalog.describe(Warehouse(warehouse), str(warehouse.database), name)
        except KeyError:
            continue
        raise AssertionError(f"{name} was described")


def test_existing_tables_follow_the_allowlist(warehouse: Client) -> None:
    present = catalog.existing_tables(Warehouse(warehouse), str(warehouse.database))
    assert present[:3] == ["chat_messages", "chat_events", "channels"]
    assert set(present) <= set(catalog.ANALYTIC_TABLES) and "dead_letters" not in present
