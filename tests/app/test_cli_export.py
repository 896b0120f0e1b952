"""``streamscope export``, in-process against the session's warehouse, after a real ``replay``.

chDB allows one engine directory per process, so the commands get the session's ``warehouse_url``
and a database of their own (as in test_cli.py).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from streamscope.api import create_app
from streamscope.app.cli import app
from streamscope.settings import Settings
from streamscope.warehouse import connect
from tests.data import XQCOW

Run = Callable[..., Result]


@pytest.fixture
def cli(warehouse_url: str) -> Iterator[Run]:
    database = f"cli_{uuid.uuid4().hex[:12]}"
    runner = CliRunner()

    def run(*args: str) -> Result:
        return runner.invoke(app, [*args, "--clickhouse-url", warehouse_url, "--database", database])

    yield run
    connect(warehouse_url, database).command(f"DROP DATABASE IF EXISTS `{database}`")


def _privmsg_ids(path: Path) -> list[str]:
    ids = []
    for line in path.read_text(encoding="utf-8").split("\n"):
        if " PRIVMSG #" in line:
            tags = dict(item.partition("=")[::2] for item in line[1:].split(" ", 1)[0].split(";"))
            ids.append(tags["id"])
    return ids


def test_export_writes_the_replayed_channel(cli: Run, tmp_path: Path) -> None:
    assert cli("replay", str(XQCOW)).exit_code == 0
    out = tmp_path / "xqcow.jsonl"

    result = cli("export", "xqcow", "--format", "jsonl", "-o", str(out))

    assert result.exit_code == 0, result.output
    objs = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    chat = [o for o in objs if o["message_type"] == "text_message"]
    assert len(objs) == 5000 and len(chat) == 4933
    assert sorted(o["message_id"] for o in chat) == sorted(_privmsg_ids(XQCOW))
    assert [o["timestamp"] for o in objs] == sorted(o["timestamp"] for o in objs)
    assert Counter(o["message_type"] for o in objs if o not in chat) == {
        "timeout": 57,
        "ban": 1,
        "resubscription": 8,
        "subscription": 1,
    }
    assert f"exported 4933 messages and 67 events ({out.stat().st_size:,} bytes) to {out}" in result.stderr

    # onche's raw lines: their messages and the CLEARCHATs timing them out, in time order.
    irc = tmp_path / "xqcow.log"
    assert cli("export", "71092938", "-f", "irc", "--user", "onche", "-o", str(irc)).exit_code == 0
    recorded = [
        line
        for line in XQCOW.read_text(encoding="utf-8").split("\n")
        if ":onche!" in line or line.endswith(" CLEARCHAT #xqcow :onche")
    ]
    got = irc.read_text(encoding="utf-8").splitlines()
    assert sorted(got) == sorted(recorded) and any(" CLEARCHAT " in line for line in got)
    assert got == sorted(got, key=lambda line: int(line.split("tmi-sent-ts=")[1].split(";")[0].split(" ")[0]))

    no_events = cli("export", "xqcow", "-f", "irc", "--no-events", "--user", "onche", "-o", "-")
    assert no_events.exit_code == 0, no_events.output
    assert no_events.stdout.splitlines() == [line for line in got if " PRIVMSG " in line]


def test_export_to_stdout_with_a_time_range(cli: Run) -> None:
    assert cli("replay", str(XQCOW)).exit_code == 0
    result = cli(
        "export",
        "xqcow",
        "-f",
        "txt",
        "--start",
        "2019-09-15T00:00:00Z",
        "--end",
        "2019-09-15T00:00:01Z",
        "-o",
        "-",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("[2019-09-15 00:00:00] Onche: DEVIL MAY CRY 5 gachiBASS")
    assert lines[1].startswith("[2019-09-15 00:00:00] MintyFiveGum: WHERES M0XY WeirdChamp")
    # 3 messages in that second, and onche timed out between the second and the third.
    assert lines[2:] == [
        "[2019-09-15 00:00:00] onche was timed out for 150s",
        "[2019-09-15 00:00:00] DevilBalrog: !#showemote xqcT",
    ]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("nobody", "-o", "-"), "channel 'nobody' has not been captured"),
        (("xqcow", "-f", "xml", "-o", "-"), "unknown format 'xml'"),
        (("xqcow", "--start", "soon", "-o", "-"), "start: 'soon' is not an ISO 8601 date-time"),
    ],
)
def test_bad_input_is_one_error_line(cli: Run, args: tuple[str, ...], needle: str) -> None:
    assert cli("replay", str(XQCOW)).exit_code == 0
    result = cli("export", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and needle in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "irc", "twitchdownloader"])
def test_the_cli_writes_the_bytes_the_export_route_serves(
    warehouse_url: str, tmp_path: Path, fmt: str
) -> None:
    """Both go through the same reader (``streamscope.query``): same parameters, same file."""
    database = f"cli_{uuid.uuid4().hex[:12]}"
    runner = CliRunner()
    where = ["--clickhouse-url", warehouse_url, "--database", database]
    try:
        assert runner.invoke(app, ["replay", str(XQCOW), *where]).exit_code == 0
        out = tmp_path / f"onche.{fmt}"
        bounds = {"start": "2019-09-15T00:00:00Z", "end": "2019-09-15T00:30:00+00:00", "user": "ONCHE"}
        args = [f"--{k}={v}" for k, v in bounds.items()]
        result = runner.invoke(app, ["export", "xqcow", "-f", fmt, *args, "-o", str(out), *where])
        assert result.exit_code == 0, result.output
        client = connect(warehouse_url, database)
        with TestClient(create_app(Settings(), client=client)) as api:
            served = api.get("/v1/channels/71092938/export", params={"format": fmt, **bounds})
        assert served.status_code == 200, served.text
        assert out.read_bytes() == served.content and len(served.content) > 500
    finally:
        connect(warehouse_url, database).command(f"DROP DATABASE IF EXISTS `{database}`")
