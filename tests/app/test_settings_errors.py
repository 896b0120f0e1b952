"""A bad setting, in the environment or a flag, ends any command with one ``error:`` line naming the
``STREAMSCOPE_*`` variable and exit code 2: no traceback, and never the value (it may be a secret)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError

from streamscope.app.cli.common import settings_error, settings_from
from streamscope.settings import Settings

INT_ERROR = "Input should be a valid integer, unable to parse string as an integer"


def run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``streamscope ARGS`` in a fresh process with only ``env`` as its ``STREAMSCOPE_*`` settings."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STREAMSCOPE_")}
    return subprocess.run(
        [sys.executable, "-m", "streamscope.app.cli", *args],
        env={**clean, **env},
        cwd=tmp_path,  # should a command get past its settings, it writes nothing into the repo
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_environment_value_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    done = run_cli(tmp_path, {"STREAMSCOPE_SINK_BATCH_ROWS": "abc"}, "serve")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [f"error: STREAMSCOPE_SINK_BATCH_ROWS: {INT_ERROR}"]
    assert done.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--no-serve"],
        ["up", "--channel", "xqcow"],
        ["replay", "chat.log"],
        ["export", "xqcow", "-o", "out.jsonl"],
        ["capture", "https://www.twitch.tv/xqcow"],
        ["db", "migrate"],
        ["source", "irc", "--channel", "xqcow", "--kafka", "127.0.0.1:9"],
        ["source", "helix", "--channel", "xqcow", "--kafka", "127.0.0.1:9"],
        ["source", "eventsub", "--channel", "xqcow", "--kafka", "127.0.0.1:9"],
        ["source", "replay", "chat.log", "--kafka", "127.0.0.1:9"],
        ["pipeline", "chat", "--kafka", "127.0.0.1:9"],
        ["pipeline", "streams", "--kafka", "127.0.0.1:9"],
    ],
    ids=" ".join,
)
def test_every_command_reports_a_bad_setting_the_same_way(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "chat.log").write_text("", encoding="utf-8")
    done = run_cli(tmp_path, {"STREAMSCOPE_PIPELINE_WORKERS": "0"}, *args)
    assert (done.returncode, done.stderr.splitlines()) == (
        2,
        ["error: STREAMSCOPE_PIPELINE_WORKERS: Input should be greater than or equal to 1"],
    )


def test_values_are_never_echoed(tmp_path: Path) -> None:
    secrets = {
        "STREAMSCOPE_TWITCH_USER_TOKEN": "oauth-token-7f3a9c",
        "STREAMSCOPE_TWITCH_CLIENT_SECRET": "client-secret-51be0d",
        "STREAMSCOPE_OPENAI_API_KEY": "sk-api-key-e02c44",
        "STREAMSCOPE_CLICKHOUSE_URL": "http://default:db-password-9d1e@127.0.0.1:9",
    }
    # A secret pasted into the wrong variable is a bad value that must not be shown either.
    bad = {"STREAMSCOPE_API_PORT": "oauth-token-7f3a9c", "STREAMSCOPE_SINK_BATCH_ROWS": "sk-api-key-e02c44"}
    done = run_cli(tmp_path, {**secrets, **bad}, "serve")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"error: STREAMSCOPE_SINK_BATCH_ROWS: {INT_ERROR}; STREAMSCOPE_API_PORT: {INT_ERROR}"
    ]
    for value in secrets.values():
        assert value not in done.stderr + done.stdout
    assert "db-password-9d1e" not in done.stderr + done.stdout


def test_a_bad_secret_field_names_its_variable_without_its_value() -> None:
    # The environment always gives a string, which a SecretStr accepts; any other bad input
    # must still leave the value out of the message.
    with pytest.raises(ValidationError) as caught:
        Settings(twitch_user_token=["oauth-token-2b8e61"])  # type: ignore[arg-type]
    message = settings_error(caught.value)
    assert message == "STREAMSCOPE_TWITCH_USER_TOKEN: Input should be a valid string"
    assert "oauth-token-2b8e61" not in message


def test_a_bad_flag_is_checked_like_its_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in [k for k in os.environ if k.startswith("STREAMSCOPE_")]:
        monkeypatch.delenv(name)
    with pytest.raises(typer.Exit) as caught:
        settings_from(None, None, pipeline_workers=0)
    assert caught.value.exit_code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: STREAMSCOPE_PIPELINE_WORKERS: Input should be greater than or equal to 1"
    ]
    assert settings_from(None, "other_db", pipeline_workers=3).pipeline_workers == 3
