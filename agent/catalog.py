"""What the analyst may read, and what it means: the table allowlist and the column meanings.

The meanings come from where the schema is written, the migrations
(``streamscope/warehouse/migrations/*.sql``): a column's ``COMMENT '...'``, else the ``-- ...`` at
the end of its line, else the ``--`` lines just above it, joined with what a later
``ALTER TABLE ... COMMENT COLUMN c '...'`` says (0007 comments the core tables); a table's
description is the ``--`` block just above its ``CREATE TABLE``. A later migration that
recreates a table (``CREATE TABLE channels_0003`` swapped in by ``EXCHANGE``) describes it from
then on. Types come from the live
table (``system.columns``, read by this module with bound parameters: the model itself can never
read ``system.*``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from streamscope.warehouse.migrate import available
from streamscope.warehouse.shared import Warehouse

#: The analytic tables the analyst may read (the guard's allowlist), in the order list_tables shows
#: them. Not here: ``dead_letters`` (unparsed raw lines, nothing to analyse), ``schema_migrations``
#: and materialized views' plumbing.
ANALYTIC_TABLES: tuple[str, ...] = (
    "chat_messages",
    "chat_events",
    "channels",
    "streams",
    "viewer_samples",
    "room_states",
    "chat_stats",
    "chat_moments",
    "transcript_segments",
    "transcript_gaps",
)

_CREATE = re.compile(r"^\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?", re.I)
_COLUMN = re.compile(r"^\s*`?([A-Za-z_]\w*)`?\s+([A-Z]\w*)")
_COMMENT_CLAUSE = re.compile(r"\bCOMMENT\s+'((?:[^'\\]|''|\\.)*)'")
_NOT_COLUMNS = {"INDEX", "PROJECTION", "CONSTRAINT", "ENGINE", "PRIMARY", "ORDER", "PARTITION", "SETTINGS"}
_SCRATCH = re.compile(r"^(\w+?)_\d{4}$")
_ALTER = re.compile(r"^\s*ALTER\s+TABLE\s+`?(\w+)`?", re.I | re.M)
_COMMENT_COLUMN = re.compile(
    r"COMMENT\s+COLUMN\s+(?:IF\s+EXISTS\s+)?`?(\w+)`?\s+'((?:[^'\\]|''|\\.)*)'", re.I
)


@dataclass(frozen=True, slots=True)
class TableDoc:
    """A table as the migrations describe it: ``about`` the comment above CREATE TABLE,
    ``columns`` name → meaning (empty string when none was written)."""

    name: str
    about: str
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str
    meaning: str


def migration_docs() -> dict[str, TableDoc]:
    """Every table created by a shipped migration, by name, as its newest migration describes it."""
    docs: dict[str, TableDoc] = {}
    for migration in available():
        for statement in migration.statements:
            doc = _parse_create(statement)
            if doc is not None:
                docs[doc.name] = doc
            altered = _ALTER.search(statement)
            if altered is not None and altered.group(1) in docs:
                columns = docs[altered.group(1)].columns
                for name, text in _COMMENT_COLUMN.findall(statement):
                    text = text.replace("''", "'")
                    before = columns.get(name, "")
                    columns[name] = f"{text}. {before}" if before and before != text else text
    return docs


def _parse_create(statement: str) -> TableDoc | None:
    lines = statement.splitlines()
    above: list[str] = []
    for i, line in enumerate(lines):
        m = _CREATE.match(line)
        if m is None:
            above = [*above, _comment_text(line)] if line.strip().startswith("--") else []
            continue
        name = m.group(1)
        scratch = _SCRATCH.match(name)
        if scratch is not None:
            name = scratch.group(1)
        return TableDoc(name, " ".join(t for t in above if t), _parse_columns(lines[i + 1 :]))
    return None


def _parse_columns(lines: list[str]) -> dict[str, str]:
    columns: dict[str, str] = {}
    pending: list[str] = []
    depth = 0
    for line in lines:
        stripped = line.strip()
        if depth == 0 and stripped.startswith("("):
            depth = 1
            continue
        if depth == 0:
            continue
        if stripped.startswith(")") and _balance(stripped) < 0:
            break
        if stripped.startswith("--"):
            pending.append(_comment_text(stripped))
            continue
        m = _COLUMN.match(line)
        if m is None or m.group(1).upper() in _NOT_COLUMNS:
            pending = []
            continue
        clause = _COMMENT_CLAUSE.search(line)
        if clause is not None:
            meaning = clause.group(1).replace("''", "'")
        elif "--" in line:
            meaning = _comment_text(line[line.index("--") :])
        else:
            meaning = " ".join(t for t in pending if t)
        columns[m.group(1)] = meaning
        pending = []
    return columns


def _balance(text: str) -> int:
    return text.count("(") - text.count(")")


def _comment_text(line: str) -> str:
    return line.strip().lstrip("-").strip()


def existing_tables(warehouse: Warehouse, database: str) -> list[str]:
    """The allowlisted tables present in ``database``, in :data:`ANALYTIC_TABLES` order."""
    rows = warehouse.rows(
        "SELECT name FROM system.tables WHERE database = {db:String} AND name IN {names:Array(String)}",
        {"db": database, "names": list(ANALYTIC_TABLES)},
    )
    present = {str(r[0]) for r in rows}
    return [t for t in ANALYTIC_TABLES if t in present]


def table_rows(warehouse: Warehouse, database: str, tables: list[str]) -> dict[str, int]:
    """Approximate row counts (parts' rows, before deduplication) of ``tables``."""
    rows = warehouse.rows(
        "SELECT table, sum(rows) FROM system.parts WHERE database = {db:String} AND active"
        " AND table IN {names:Array(String)} GROUP BY table",
        {"db": database, "names": tables},
    )
    return {str(r[0]): int(r[1]) for r in rows}


def describe(warehouse: Warehouse, database: str, table: str) -> tuple[str, list[Column]]:
    """``(about, columns)`` of an allowlisted table: live types, meanings from the migrations (or
    the live column comment). A table that is not allowlisted or not present is a ``KeyError``."""
    if table not in ANALYTIC_TABLES:
        raise KeyError(table)
    rows = warehouse.rows(
        "SELECT name, type, comment FROM system.columns WHERE database = {db:String}"
        " AND table = {t:String} ORDER BY position",
        {"db": database, "t": table},
    )
    if not rows:
        raise KeyError(table)
    doc = migration_docs().get(table, TableDoc(table, ""))
    columns = [
        Column(str(name), str(type_), doc.columns.get(str(name)) or str(comment))
        for name, type_, comment in rows
    ]
    return doc.about, columns
