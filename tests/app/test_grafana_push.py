"""``streamscope grafana push`` against a loopback stand-in for Grafana's HTTP API
(tests/fixtures/grafana_server.py), through the real CLI and the real grafana-client.

What Grafana ends up holding is read back from the stand-in and compared with what the generator
makes (the dashboards) and with the command's own flags (the datasource); the request log tells a push
that wrote from one that only read.
"""

from __future__ import annotations

import copy
import socket
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from streamscope.app.cli import app
from streamscope.app.grafana.dashboards import dashboards
from streamscope.app.grafana.push import clickhouse_datasource, push
from tests.fixtures.grafana_server import GrafanaStandIn

TOKEN = "glsa_test_token"
CH_PASSWORD = "ch-secret-pw"
DATASOURCE_URL = f"http://grafana_reader:{CH_PASSWORD}@clickhouse:8123"
ROOT = Path(__file__).resolve().parents[2]


class Result:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr


def run(*args: str) -> Result:
    result = CliRunner().invoke(app, ["grafana", "push", *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Result(result.exit_code, result.stdout, result.stderr)


def push_cli(g: GrafanaStandIn, *extra: str, token: str = TOKEN) -> Result:
    return run(
        "--url",
        g.url,
        "--token",
        token,
        "--datasource-url",
        DATASOURCE_URL,
        "--database",
        "streamscope",
        *extra,
    )


def actions(stdout: str) -> dict[tuple[str, str], str]:
    """(kind, uid) -> created|updated|unchanged, from the command's lines."""
    out = {}
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0] in ("created", "updated", "unchanged"):
            out[words[1], line.rsplit("(uid ", 1)[1].rstrip(")")] = words[0]
    return out


def _without_server_fields(dash: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dash.items() if k not in ("id", "version")}


def test_first_push_creates_everything_and_grafana_holds_the_generated_dashboards(
    grafana_server: GrafanaStandIn,
) -> None:
    g = grafana_server
    result = push_cli(g)
    assert result.exit_code == 0, result.stderr
    generated = dashboards()
    expected = {("datasource", "streamscope-clickhouse"): "created", ("folder", "streamscope"): "created"}
    expected |= {("dashboard", d["uid"]): "created" for d in generated}
    assert actions(result.stdout) == expected
    assert f"{len(expected)} created, 0 updated, 0 unchanged" in result.stdout
    assert TOKEN not in result.stdout + result.stderr and CH_PASSWORD not in result.stdout + result.stderr

    (ds,) = g.datasources
    assert (ds["uid"], ds["name"], ds["type"], ds["access"]) == (
        "streamscope-clickhouse",
        "streamscope ClickHouse",
        "grafana-clickhouse-datasource",
        "proxy",
    )
    # The plugin's v4 settings, from the flags: host/port/protocol of the URL, its user, the database.
    assert ds["jsonData"] == {
        "host": "clickhouse",
        "port": 8123,
        "protocol": "http",
        "secure": False,
        "username": "grafana_reader",
        "defaultDatabase": "streamscope",
        "dialTimeout": 10,
        "queryTimeout": 60,
    }
    assert "password" not in ds["jsonData"] and g.secure_json(ds["uid"]) == {"password": CH_PASSWORD}

    (folder,) = g.folders
    assert folder["title"] == "streamscope"
    stored = {uid: d for uid, d in g.dashboards.items()}
    assert sorted(stored) == sorted(d["uid"] for d in generated)
    for d in generated:
        assert stored[d["uid"]]["folderUid"] == folder["uid"]
        assert _without_server_fields(stored[d["uid"]]["dashboard"]) == _without_server_fields(d)
    # What a Grafana user browsing the folder sees (GET /api/search).
    from grafana_client import GrafanaApi

    api = GrafanaApi.from_url(g.url, credential=TOKEN)
    hits = api.client.GET(f"/search?type=dash-db&folderUIDs={folder['uid']}")
    assert sorted((h["uid"], h["title"]) for h in hits) == sorted((d["uid"], d["title"]) for d in generated)


def test_a_second_push_changes_nothing(grafana_server: GrafanaStandIn) -> None:
    g = grafana_server
    assert push_cli(g).exit_code == 0
    before = copy.deepcopy((g.datasources, g.folders, g.dashboards))
    g.requests.clear()
    result = push_cli(g)
    assert result.exit_code == 0, result.stderr
    assert set(actions(result.stdout).values()) == {"unchanged"}
    assert len(actions(result.stdout)) == 2 + len(dashboards())
    assert g.writes() == []  # only reads: nothing was posted or put
    assert (g.datasources, g.folders, g.dashboards) == before


def test_a_changed_dashboard_is_updated_and_only_that_one(grafana_server: GrafanaStandIn) -> None:
    g = grafana_server
    ds = clickhouse_datasource(DATASOURCE_URL, "streamscope")
    push(g.url, token=TOKEN, datasources=[ds], dashboards=dashboards())
    changed = dashboards()
    changed[1]["panels"][0]["title"] = "Length of the stream"
    g.requests.clear()
    result = push(g.url, token=TOKEN, datasources=[ds], dashboards=changed)
    by_uid = {c.uid: c.action for c in result if c.kind == "dashboard"}
    assert by_uid == {d["uid"]: "updated" if d is changed[1] else "unchanged" for d in changed}
    assert g.writes() == [("POST", "/api/dashboards/db")]
    stored = g.dashboards[changed[1]["uid"]]["dashboard"]
    assert stored["panels"][0]["title"] == "Length of the stream" and stored["version"] == 2

    # An edit made in Grafana (a dashboard saved from the UI) is put back by the next push.
    edited = copy.deepcopy(g.dashboards[changed[0]["uid"]])
    edited["dashboard"]["refresh"] = "5s"
    g.dashboards[changed[0]["uid"]] = edited
    result = push(g.url, token=TOKEN, datasources=[ds], dashboards=changed)
    assert [(c.uid, c.action) for c in result if c.action != "unchanged"] == [(changed[0]["uid"], "updated")]
    assert g.dashboards[changed[0]["uid"]]["dashboard"]["refresh"] == changed[0]["refresh"]


def test_a_changed_datasource_is_updated_in_place(grafana_server: GrafanaStandIn) -> None:
    g = grafana_server
    assert push_cli(g).exit_code == 0
    g.requests.clear()
    result = run(
        "--url",
        g.url,
        "--token",
        TOKEN,
        "--datasource-url",
        "https://reader2:pw2@ch.example:8443",
        "--database",
        "other",
    )
    assert result.exit_code == 0, result.stderr
    assert actions(result.stdout)["datasource", "streamscope-clickhouse"] == "updated"
    (ds,) = g.datasources
    assert (ds["jsonData"]["host"], ds["jsonData"]["port"], ds["jsonData"]["secure"]) == (
        "ch.example",
        8443,
        True,
    )
    assert (ds["jsonData"]["username"], ds["jsonData"]["defaultDatabase"]) == ("reader2", "other")
    assert g.secure_json("streamscope-clickhouse") == {"password": "pw2"}
    assert g.writes() == [("PUT", "/api/datasources/uid/streamscope-clickhouse")]


def test_basic_auth_works_like_a_token(grafana_server: GrafanaStandIn) -> None:
    g = grafana_server
    result = run(
        "--url", g.url, "--user", "admin", "--password", "admin-password", "--datasource-url", DATASOURCE_URL,
        "--folder", "Stream analytics", "--prometheus-url", "http://prometheus:9090",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    prom = next(d for d in g.datasources if d["type"] == "prometheus")
    assert (prom["uid"], prom["url"], prom["access"]) == (
        "streamscope-prometheus",
        "http://prometheus:9090",
        "proxy",
    )
    assert [f["title"] for f in g.folders] == ["Stream analytics"]
    assert {d["folderUid"] for d in g.dashboards.values()} == {g.folders[0]["uid"]}
    assert "admin-password" not in result.stdout + result.stderr


@pytest.mark.parametrize("auth", [["--token", "glsa_wrong_token"], ["--user", "admin", "--password", "nope"]])
def test_wrong_credentials_are_one_clear_error_without_the_secret(
    grafana_server: GrafanaStandIn, auth: list[str]
) -> None:
    g = grafana_server
    result = run("--url", g.url, *auth, "--datasource-url", DATASOURCE_URL)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: Grafana at {g.url} refused the credentials (401 ")
    assert "Invalid" in lines[0]  # Grafana's own message
    assert auth[1] not in result.stderr + result.stdout and auth[-1] not in result.stderr + result.stdout
    assert g.writes() == [] and g.dashboards == {}


def test_an_unreachable_grafana_is_one_clear_error() -> None:
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = run("--url", f"http://127.0.0.1:{port}", "--token", TOKEN, "--datasource-url", DATASOURCE_URL)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: Grafana at http://127.0.0.1:{port} is unreachable: ")
    assert "refused" in lines[0].lower()
    assert TOKEN not in result.stderr


def test_an_embedded_warehouse_cannot_be_a_datasource(grafana_server: GrafanaStandIn) -> None:
    result = run("--url", grafana_server.url, "--token", TOKEN, "--datasource-url", "chdb:///tmp/warehouse")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: Grafana needs a ClickHouse server: give --datasource-url")
    assert grafana_server.writes() == []


def test_export_writes_the_committed_dashboards_and_reports_unchanged_files(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["grafana", "export", str(tmp_path)])
    assert first.exit_code == 0, first.output
    committed = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in committed]
    for p in committed:
        assert (tmp_path / p.name).read_bytes() == p.read_bytes()
    assert [line.split()[0] for line in first.stdout.splitlines()] == ["created"] * len(committed)
    (tmp_path / committed[0].name).write_text("{}", encoding="utf-8")
    second = runner.invoke(app, ["grafana", "export", str(tmp_path)])
    actions = sorted(line.split()[0] for line in second.stdout.splitlines())
    assert actions == ["unchanged"] * (len(committed) - 1) + ["updated"]
    assert (tmp_path / committed[0].name).read_bytes() == committed[0].read_bytes()


def test_push_help_explains_every_option() -> None:
    result = CliRunner().invoke(app, ["grafana", "push", "--help"])
    assert result.exit_code == 0
    for option in ("--url", "--token", "--user", "--password", "--folder", "--datasource-url", "--force"):
        assert option in result.stdout, option
