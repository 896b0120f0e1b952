"""Versioned, idempotent migrations recorded in ``schema_migrations``.

Migrations are the numbered ``migrations/NNNN_name.sql`` files shipped with the package. Each file's
statements are separated by lines holding only ``;`` and are idempotent themselves, so a migration
cut off half-way is completed by running again; a version is recorded only after all its statements
succeeded, and recorded versions are never re-run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from clickhouse_connect.driver.client import Client

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def available() -> list[Migration]:
    """All migrations shipped with this version, in order."""
    found = []
    for entry in resources.files("streamscope.warehouse.migrations").iterdir():
        m = _FILE.match(entry.name)
        if not m:
            continue
        body = entry.read_text(encoding="utf-8")
        statements = tuple(s.strip() for s in re.split(r"^\s*;\s*$", body, flags=re.M) if _has_sql(s))
        found.append(Migration(int(m.group(1)), m.group(2), statements))
    return sorted(found, key=lambda mig: mig.version)


def _has_sql(chunk: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in chunk.splitlines())


def applied(client: Client) -> set[int]:
    client.command(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = MergeTree ORDER BY version"
    )
    return {int(row[0]) for row in client.query("SELECT version FROM schema_migrations").result_rows}


def migrate(client: Client) -> list[str]:
    """Apply every migration not yet recorded; returns the names applied now (empty when current)."""
    done = applied(client)
    newly = []
    for mig in available():
        if mig.version in done:
            continue
        for statement in mig.statements:
            client.command(statement)
        client.insert("schema_migrations", [[mig.version, mig.name]], column_names=["version", "name"])
        newly.append(f"{mig.version:04d}_{mig.name}")
    return newly
