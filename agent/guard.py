"""The SQL guard: what the analyst may run, decided by construction, never trusted to the model.

:func:`check` parses the model's text with sqlglot's ClickHouse dialect and accepts it only when

* the text is at most :data:`MAX_SQL_CHARS` long and holds no control or invisible format
  characters (zero-width spaces, bidi overrides, NUL: the tricks that make text read differently
  to a person, a parser and the server);
* it is exactly one statement whose root is a SELECT (with or without WITH) or a UNION of them;
* no node anywhere is a write, DDL, SET/USE, a command sqlglot could not parse, a bound parameter
  placeholder, a SETTINGS or FORMAT clause, or INTO (OUTFILE);
* every table read is a CTE of the query or a table of the allowlist in our database: no table
  function (``url``, ``file``, ``s3``, ``remote``, ``cluster``, ``mysql``, ``postgresql``,
  ``executable``, ``input``, ``numbers``, ... are all functions in FROM), no ``system.*``, no other
  database;
* no function call is one that reaches outside the query's tables or the server's own state
  (dictionaries, joinGet, file, url, server settings and identity, sleep): :data:`DENIED_FUNCTIONS`;
* no ``x IN t`` / ``x IN (t)`` naming a table (ClickHouse reads any table there; ``IN (SELECT ...)``
  is checked like every other subquery).

What runs is then the query *as sqlglot understood it*: the checked tree, regenerated without
comments, with a LIMIT of at most ``limit`` rows forced on it (a UNION is wrapped in
``SELECT * FROM (...) LIMIT n``, since ClickHouse binds a trailing LIMIT to the UNION's last
SELECT). So a comment, a quote or a unicode trick that would make ClickHouse see something other
than what was checked cannot survive: ClickHouse never receives the model's text. A refusal is a
:class:`SqlRefused` whose message tells the model what to change; nothing that fails the check is
ever executed (:mod:`streamscope.agent.sql` is the only caller that runs SQL).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

MAX_SQL_CHARS = 8000
DIALECT = "clickhouse"

# Names (lower case, without underscores) of functions refused anywhere in a query.
DENIED_FUNCTIONS = frozenset(
    {
        # files, URLs and other servers (scalar forms; the table forms are refused as table functions)
        "file", "url", "urlcluster", "s3", "s3cluster", "gcs", "hdfs", "hdfscluster", "remote",
        "remotesecure", "cluster", "clusterallreplicas", "mysql", "postgresql", "mongodb", "redis",
        "sqlite", "jdbc", "odbc", "executable", "executablepool", "input", "azureblobstorage",
        "iceberg", "deltalake", "hudi", "mergetreeindex", "loop", "fuzzjson", "generaterandom",
        # dictionaries and Join-engine tables: reads outside the allowlisted tables
        "joinget", "joingetornull",
        # server state, identity and configuration
        "getsetting", "getsettingordefault", "getserversetting", "getmergetreesetting", "getmacro",
        "hostname", "fqdn", "currentuser", "currentprofiles", "enabledprofiles", "defaultprofiles",
        "currentroles", "enabledroles", "defaultroles", "serveruuid", "uptime", "tcpport",
        "getserverport", "getclienthttpheader", "initialqueryid", "queryid", "initialquerystarttime",
        "filesystemavailable", "filesystemcapacity", "filesystemunreserved", "getoskernelversion",
        "displayname", "buildid", "zookeepersessionuptime", "currentschemas", "currentdatabase",
        "shardnum", "shardcount", "getsubcolumn",
        # introspection and stalling
        "addresstoline", "addresstolinewithinlines", "addresstosymbol", "demangle", "sleep",
        "sleepeachrow", "catboostevaluate", "evalmlmethod", "transactionid", "transactionlatestsnapshot",
        "transactionoldestsnapshot", "getscalar", "globalvariable", "hascolumnintable", "showcertificate",
        "connectionid",
        # IN in function form: its second argument may name any table
        "in", "notin", "globalin", "globalnotin", "nullin", "notnullin", "globalnullin", "globalnotnullin",
        "inignoreset", "notinignoreset", "globalinignoreset", "globalnotinignoreset",
    }
)  # fmt: skip
# Families refused by prefix: every dictGet*/dictHas/dictIsIn..., every s3*/hdfs*/azure* variant.
DENIED_PREFIXES = ("dict", "s3", "hdfs", "azure", "remote", "cluster", "url", "file", "iceberg", "mysql")

# Node types that have no business in a read: writes, DDL, session changes, unparsed commands.
_DENIED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Insert,
    exp.Delete,
    exp.Update,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Set,
    exp.Use,
    exp.Into,
    exp.Placeholder,
    exp.Parameter,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Copy,
    exp.LoadData,
    exp.Grant,
    exp.Pragma,
    exp.Describe,
    exp.Show,
)

_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class SqlRefused(ValueError):
    """The query was not run: ``reason`` says what to change (it is sent to the model as is)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class CheckedQuery:
    """A query that passed :func:`check`: ``sql`` is what runs (regenerated, LIMIT forced),
    ``tables`` the allowlisted tables it reads."""

    sql: str
    tables: tuple[str, ...]


def check(sql: str, allowed: Collection[str], database: str, limit: int) -> CheckedQuery:
    """``sql`` made safe to run with at most ``limit`` result rows, or a :class:`SqlRefused`.

    ``allowed`` are the table names the query may read, in ``database`` (a qualified name must
    name that database).
    """
    _check_text(sql)
    tree = _parse_one(sql)
    if not isinstance(tree, exp.Select | exp.Union):
        raise SqlRefused(
            f"only one SELECT (optionally WITH ... SELECT, or a UNION of SELECTs) may run, not {_kind(tree)}"
        )
    for node in tree.walk():
        _check_node(node)
    tables = _check_tables(tree, {name.lower(): name for name in allowed}, database)
    return CheckedQuery(_with_limit(tree, limit), tables)


def _check_text(sql: str) -> None:
    if not sql.strip():
        raise SqlRefused("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlRefused(f"the query is longer than {MAX_SQL_CHARS} characters")
    if _BAD_CHARS.search(sql) or any(unicodedata.category(ch) in ("Cf", "Co", "Cs") for ch in sql):
        raise SqlRefused("the query contains control or invisible unicode characters; use plain text")
    for ch in ("\u2028", "\u2029", "\u0085"):
        if ch in sql:
            raise SqlRefused("the query contains unicode line separators; use plain newlines")


def _parse_one(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SqlRefused(f"the query does not parse as ClickHouse SQL: {first[:200]}") from None
    if len(statements) != 1:
        raise SqlRefused(f"exactly one statement may run, this text holds {len(statements)}")
    return statements[0]


def _kind(node: exp.Expr) -> str:
    if isinstance(node, exp.Command):
        return f"a {str(node.this).upper()} command"
    return f"a {node.key.upper()} statement"


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, _DENIED_NODES):
        raise SqlRefused(f"{_kind(node)} is not allowed: the analyst only reads")
    if isinstance(node, exp.Select | exp.Union) and (node.args.get("settings") or node.args.get("format")):
        raise SqlRefused("SETTINGS and FORMAT clauses are not allowed; the server sets the limits")
    if isinstance(node, exp.In) and _in_names_a_table(node):
        # ClickHouse reads `x IN t`, `x IN (t)`, `x IN db.t` as membership in table t: any table.
        raise SqlRefused("IN <table> is not allowed; write IN (SELECT column FROM <analytic table>)")
    if isinstance(node, exp.Func):
        name = _function_name(node)
        if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
            raise SqlRefused(f"function {name}() is not allowed: it reaches outside the analytic tables")


def _in_names_a_table(node: exp.In) -> bool:
    names = (exp.Column, exp.Identifier, exp.Dot, exp.Table)
    field = node.args.get("field")
    # Without parentheses only a literal set (tuple(...), [...]) may follow IN: anything else is a
    # table or a table-like call.
    if field is not None and not isinstance(field, exp.Struct | exp.Array | exp.Tuple | exp.Literal):
        return True
    items = node.expressions
    return len(items) == 1 and isinstance(items[0], names)


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower().replace("_", "")
    return str(node.sql_name()).lower().replace("_", "")


def _cte_in_scope(table: exp.Table) -> bool:
    """Whether ``table`` (unqualified) names a CTE of an enclosing query. Names are compared exactly
    (ClickHouse identifiers are case-sensitive) and only CTEs of the table's own query or of queries
    around it count: a CTE defined inside one subquery does not hide a table of the same name
    elsewhere."""
    node: exp.Expr | None = table.parent
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with")
        if isinstance(with_, exp.With) and any(cte.alias == table.name for cte in with_.expressions):
            return True
        node = node.parent
    return False


def _check_tables(tree: exp.Expr, allowed: dict[str, str], database: str) -> tuple[str, ...]:
    read: list[str] = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            raise SqlRefused(
                f"table functions such as {table.this.sql(DIALECT)[:60]} are not allowed; "
                "read the analytic tables (call list_tables)"
            )
        if table.args.get("catalog") is not None:
            raise SqlRefused(f"{table.sql(DIALECT)[:80]}: three-part names are not allowed")
        name, db = table.name, table.db
        if db:
            if db.lower() == "system" or db.lower() == "information_schema":
                raise SqlRefused(f"{db}.* tables are not allowed; call list_tables/describe_table instead")
            if db != database:
                raise SqlRefused(f"only tables of the database {database!r} may be read, not {db!r}")
        elif _cte_in_scope(table):
            continue
        if name not in allowed.values():
            hint = f" (did you mean {allowed[name.lower()]}?)" if name.lower() in allowed else ""
            raise SqlRefused(
                f"table {name!r} is not one of the analytic tables{hint}; call list_tables to see them"
            )
        read.append(name)
    return tuple(dict.fromkeys(read))


def _with_limit(tree: exp.Expr, limit: int) -> str:
    if isinstance(tree, exp.Select):
        current = tree.args.get("limit")
        if current is None:
            return tree.limit(limit, copy=True).sql(DIALECT, comments=False)
        value = current.expression if isinstance(current, exp.Limit) else None
        by = current.args.get("expressions") if isinstance(current, exp.Limit) else None
        if not by and isinstance(value, exp.Literal) and value.is_int and 0 <= int(value.name) <= limit:
            return tree.sql(DIALECT, comments=False)
        if not by:
            return tree.limit(limit, copy=True).sql(DIALECT, comments=False)
    # LIMIT n BY caps rows per group, not the result; a UNION's trailing LIMIT binds to its last
    # SELECT in ClickHouse: both get an outer LIMIT.
    inner = tree.sql(DIALECT, comments=False)
    return f"SELECT * FROM ({inner}) LIMIT {int(limit)}"
