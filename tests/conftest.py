"""Shared fixtures: the real warehouse (chDB, or a server from STREAMSCOPE_TEST_CLICKHOUSE_URL).

chDB allows one engine directory per process, so the whole test session shares one directory and
each test gets its own freshly migrated database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from clickhouse_connect.driver.client import Client

from streamscope.settings import get_settings
from streamscope.warehouse import connect, migrate
from tests.fixtures.eventsub_server import eventsub_server
from tests.fixtures.grafana_server import grafana_server
from tests.fixtures.helix_server import helix_server_factory
from tests.fixtures.hls_server import hls_server_factory
from tests.fixtures.kafka_broker import kafka_broker, topic_factory
from tests.fixtures.stack import stack
from tests.fixtures.twitch_cli import twitch_cli_binary, twitch_mock_api
from tests.fixtures.twitch_gql_server import twitch_gql_server
from tests.fixtures.twitch_irc_server import twitch_irc_server, twitch_irc_server_factory

__all__ = [
    "eventsub_server",
    "grafana_server",
    "helix_server_factory",
    "hls_server_factory",
    "kafka_broker",
    "stack",
    "topic_factory",
    "twitch_cli_binary",
    "twitch_gql_server",
    "twitch_irc_server",
    "twitch_irc_server_factory",
    "twitch_mock_api",
]


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The warehouse URL all tests share: a server when configured, else one chDB directory."""
    return os.environ.get("STREAMSCOPE_TEST_CLICKHOUSE_URL") or f"chdb://{tmp_path_factory.mktemp('chdb')}"


@pytest.fixture
def warehouse_factory(warehouse_url: str) -> Iterator[Callable[[], Client]]:
    """Make migrated, empty databases (one per call), dropped after the test."""
    made: list[tuple[Client, str]] = []

    def make() -> Client:
        name = f"t_{uuid.uuid4().hex[:12]}"
        client = connect(warehouse_url, name)
        migrate(client)
        made.append((client, name))
        return client

    yield make
    for client, name in made:
        client.command(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def warehouse(warehouse_factory: Callable[[], Client]) -> Client:
    """A migrated, empty database of its own for this test."""
    return warehouse_factory()


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings are re-read from the environment in every test (tests change it with monkeypatch)."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
