"""The ``streamscope`` command line, run in-process against the session's real warehouse.

chDB allows one engine directory per process, so every command gets ``--clickhouse-url`` set to
the session's ``warehouse_url`` and a database of its own.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client
from typer.testing import CliRunner

from streamscope import __version__
from streamscope.app.cli import app
from streamscope.warehouse import connect
from tests.data import XQCOW

SUMMARY = re.compile(
    r"read (\d+) lines, stored (\d+) messages and (\d+) events, rejected (\d+) \(dead-lettered\), "
    r"skipped (\d+) connection lines in [\d.]+s"
)

Run = Callable[..., "RunResult"]


class RunResult:
    """What one CLI invocation produced."""

    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.stdout = stdout
        self.stderr = stderr
        self.output = stdout + stderr


@pytest.fixture
def database(warehouse_url: str) -> Iterator[str]:
    """A fresh database name for the CLI to create; dropped after the test."""
    name = f"cli_{uuid.uuid4().hex[:12]}"
    yield name
    connect(warehouse_url, name).command(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def cli(warehouse_url: str, database: str) -> Run:
    """Run ``streamscope ARGS...``; ``warehouse=True`` appends this test's URL and database."""
    runner = CliRunner()

    def run(*args: str, warehouse: bool = True) -> RunResult:
        argv = [*args, "--clickhouse-url", warehouse_url, "--database", database] if warehouse else [*args]
        result = runner.invoke(app, argv)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return RunResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def db(warehouse_url: str, database: str) -> Callable[[], Client]:
    """A client on the CLI's database (call it after the CLI created the database)."""
    return lambda: connect(warehouse_url, database, create=False)


def _count(client: Client, sql: str) -> int:
    return int(client.query(sql).result_rows[0][0])


def _visible_messages(client: Client) -> int:
    return _count(client, "SELECT count() FROM chat_messages FINAL")


def _summary(stdout: str) -> tuple[int, ...]:
    match = SUMMARY.search(stdout)
    assert match, f"no one-line replay summary in {stdout!r}"
    return tuple(int(g) for g in match.groups())


# --- replay -----------------------------------------------------------------------------------


def test_replay_stores_the_recording_once(cli: Run, db: Callable[[], Client]) -> None:
    first = cli("replay", str(XQCOW))
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("read 5000 lines, stored 4933 messages and 67 events, rejected 0")
    assert _summary(first.stdout) == (5000, 4933, 67, 0, 0)
    assert _visible_messages(db()) == 4933
    assert _count(db(), "SELECT count() FROM chat_events FINAL WHERE kind = 'timeout'") > 0

    second = cli("replay", str(XQCOW))
    assert second.exit_code == 0, second.output
    assert _visible_messages(db()) == 4933
    assert _count(db(), "SELECT count() FROM dead_letters") == 0


def test_replay_dead_letters_broken_lines(cli: Run, db: Callable[[], Client], tmp_path: Path) -> None:
    real = XQCOW.read_text(encoding="utf-8").split("\n")[:40]
    broken = ["@a=b", "garbage", "@badges=;color= :x!x@x.tmi.twitch.tv PRIVMSG"]
    mixed = real[:10] + broken[:1] + real[10:25] + broken[1:] + real[25:]
    log = tmp_path / "mixed.log"
    log.write_text("\n".join(mixed) + "\n", encoding="utf-8")

    result = cli("replay", str(log))

    assert result.exit_code == 0, result.output
    lines, messages, events, rejected, _ = _summary(result.stdout)
    assert (lines, rejected) == (len(mixed), len(broken))
    assert messages + events == len(real)
    payloads = {r[0] for r in db().query("SELECT raw FROM dead_letters").result_rows}
    assert payloads == set(broken)


# --- db migrate -------------------------------------------------------------------------------


def test_db_migrate_applies_once_then_reports_up_to_date(cli: Run) -> None:
    first = cli("db", "migrate")
    assert first.exit_code == 0, first.output
    from streamscope.warehouse.migrate import available

    shipped = [f"{m.version:04d}_{m.name}" for m in available()]
    assert shipped[:2] == ["0001_chat", "0002_streams"]
    assert first.stdout.strip() == f"applied: {', '.join(shipped)}"
    second = cli("db", "migrate")
    assert second.exit_code == 0, second.output
    assert second.stdout.strip() == "schema is up to date"


# --- errors -----------------------------------------------------------------------------------


def test_missing_file_is_one_clear_error(cli: Run, tmp_path: Path) -> None:
    missing = tmp_path / "no such dir [x]" / "nothing-here.log"
    result = cli("replay", str(missing))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_unsupported_warehouse_url_is_one_clear_error(cli: Run, database: str) -> None:
    result = cli("db", "migrate", "--clickhouse-url", "ftp://x", "--database", database, warehouse=False)
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: ")
    assert "ftp://x" in result.stderr
    assert "chdb://" in result.stderr  # says what to use instead


def test_up_without_a_channel_is_a_usage_error(cli: Run) -> None:
    result = cli("up")
    assert result.exit_code == 2
    assert "--channel" in result.output
    assert "Traceback" not in result.output


def test_up_with_only_blank_channels_is_one_clear_error(cli: Run) -> None:
    result = cli("up", "--channel", " ")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "--channel" in result.stderr


# --- demo, help, version ----------------------------------------------------------------------


def test_demo_no_serve_loads_the_bundled_recording(cli: Run, db: Callable[[], Client]) -> None:
    result = cli("demo", "--no-serve")
    assert result.exit_code == 0, result.output
    assert _summary(result.stdout)[:4] == (5000, 4933, 67, 0)
    assert _visible_messages(db()) == 4933


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ([], ["demo", "up", "replay", "serve", "db", "--version"]),
        (["demo"], ["--no-serve", "--clickhouse-url", "--database", "--port"]),
        (["up"], ["--channel", "--irc-url", "--clickhouse-url", "--database"]),
        (["replay"], ["files...", "--speed", "--clickhouse-url", "--database"]),
        (["serve"], ["--host", "--port", "--clickhouse-url", "--database"]),
        (["db"], ["migrate"]),
        (["db", "migrate"], ["--clickhouse-url", "--database"]),
    ],
)
def test_help_explains_every_command(cli: Run, command: list[str], options: list[str]) -> None:
    result = cli(*command, "--help", warehouse=False)
    assert result.exit_code == 0, result.output
    for option in options:
        assert option in result.stdout, f"{option} missing from `{' '.join(command)} --help`"


def test_version(cli: Run) -> None:
    result = cli("--version", warehouse=False)
    assert result.exit_code == 0
    assert result.stdout.strip() == f"streamscope {__version__}" == "streamscope 0.1.0"
