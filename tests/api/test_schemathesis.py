"""Every operation of the OpenAPI document, fuzzed by schemathesis against the in-process app.

The app serves the recorded #xqcow chat. Each operation gets a bounded, deterministic budget of
generated requests (``MAX_EXAMPLES`` valid and invalid ones, derandomised, no deadline), so the
suite stays fast. Every response must pass schemathesis' checks: no 5xx, a documented status code,
its documented content type and schema.

Nothing is excluded. ``POST /download`` starts real capture jobs when a generated body happens to
hold a supported URL, so the Twitch endpoints the jobs would reach (IRC, GQL) point at a loopback
port nothing listens on, jobs give up after 0.2 s of refused connections, and the job manager is
stopped when the module ends.

Schemathesis' lazy pytest loader (``schemathesis.pytest.from_fixture``) needs pytest's removed
``Node._nodeid``, and a module-level schema would build the app at import; so the operations are
parametrised here from the app's routers, and each test runs Hypothesis over the operation's own
strategies (``APIOperation.as_strategy``). :func:`test_every_documented_operation_is_fuzzed` keeps
that list equal to the document.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
import schemathesis
from fastapi.routing import APIRoute
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from streamscope.api import create_app
from streamscope.api.routes import ROUTERS
from streamscope.settings import Settings
from streamscope.sinks.stats_rebuild import rebuild
from streamscope.warehouse import connect, migrate
from tests.api.conftest import load_lines
from tests.data import XQCOW
from tests.fixtures.openai_server import OpenAIServer, Say

MAX_EXAMPLES = 25
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


OPERATIONS = sorted(
    (method, route.path)
    for router in ROUTERS
    for route in router.routes
    if isinstance(route, APIRoute) and route.include_in_schema
    for method in route.methods
)


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released: connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api_schema(
    warehouse_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[schemathesis.BaseSchema]:
    """The app's document, loaded by schemathesis from the in-process app over the recording (one
    database for the module: the operations only read it, and loading it per operation is slow)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    client = connect(warehouse_url, name)
    migrate(client)
    load_lines(client, XQCOW)
    rebuild(client, 71092938, "xqcow", 1568505600000, 1568506080000)  # /stats, /moments have rows
    nowhere = f"127.0.0.1:{_closed_port()}"
    # /v1/agent/*: a scripted model that answers every question at once (the analyst's 200 path).
    llm = OpenAIServer().start()
    llm.default = Say("a fuzzed question, a scripted answer")
    app = create_app(
        Settings(
            jobs_dir=str(tmp_path_factory.mktemp("jobs")),
            twitch_irc_url=f"ws://{nowhere}",
            twitch_gql_url=f"http://{nowhere}/gql",
            capture_connect_timeout_s=0.2,
            openai_base_url=llm.base_url,
            openai_model="scripted",
        ),
        client=client,
    )
    try:
        yield schemathesis.openapi.from_asgi("/openapi.json", app)
    finally:
        app.state.captures.stop()
        llm.stop()
        client.command(f"DROP DATABASE IF EXISTS `{name}`")


def test_every_documented_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    documented = sorted(
        (op.method.upper(), op.path) for op in (r.ok() for r in api_schema.get_all_operations())
    )
    assert documented == OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_the_document(
    api_schema: schemathesis.BaseSchema, method: str, path: str
) -> None:
    operation = api_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def conforms(case: schemathesis.Case) -> None:
        if path.endswith("/live"):
            _bounded_stream(case)
        case.call_and_validate(checks=CHECKS)

    conforms()


def _bounded_stream(case: schemathesis.Case) -> None:
    """The live route streams until its ``timeout``: a valid (or absent) one is cut to 0.2 s, still
    valid, so the in-process call ends; an invalid one is left for the 400 it must give."""
    query = dict(case.query or {})
    value = query.get("timeout")
    try:
        valid = value is None or 0 < float(value) <= 86_400
    except (TypeError, ValueError):
        valid = False
    if valid:
        query["timeout"] = 0.2 if value is None else min(float(value), 0.2)
        case.query = query
