"""Each registered graph runs over any transport: driven here by ``bytewax.testing`` with fixed
batches, into the real warehouse, it stores exactly what the recordings hold."""

from __future__ import annotations

import re

from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client

from streamscope import topics
from streamscope.app.runtime import DATAFLOWS
from streamscope.pipelines import chat
from streamscope.pipelines.context import FlowContext
from streamscope.sinks.clickhouse import FlushReport
from streamscope.sources.replay import read_lines
from streamscope.warehouse import connect
from tests.data import XQCOW
from tests.fixtures.embedded import TestingTransport

ID_TAG = re.compile(r"(?:^@|;)id=([0-9a-f-]{36})")


def test_the_registry_names_each_graph_by_its_dataflow_id() -> None:
    transport = TestingTransport({})
    ctx = FlowContext(
        transport, warehouse=lambda: (_ for _ in ()).throw(AssertionError("no I/O while building"))
    )
    for name, graph in DATAFLOWS.items():
        assert graph(ctx).flow_id == name


def test_the_chat_graph_stores_every_message_of_the_batches_once(
    warehouse: Client, warehouse_url: str
) -> None:
    records = list(read_lines([XQCOW]))
    batches = [records[i : i + 700] for i in range(0, len(records), 700)]
    # The last batch again: a re-delivery stores nothing twice.
    transport = TestingTransport({topics.IRC_RAW.name: [*batches, batches[-1]]})
    flushes: list[FlushReport] = []
    database = warehouse.database or ""
    ctx = FlowContext(
        transport, lambda: connect(warehouse_url, database), flush_interval_s=0.1, on_flush=flushes.append
    )
    run_main(chat.graph(ctx))

    want = {m.group(1) for r in records if " PRIVMSG " in r.line and (m := ID_TAG.search(r.line))}
    stored = warehouse.query("SELECT message_id FROM chat_messages FINAL").result_rows
    assert sorted(str(r[0]) for r in stored) == sorted(want) and len(want) == 4933
    assert sum(f.messages for f in flushes) == 4933 + len([r for r in batches[-1] if " PRIVMSG " in r.line])
