"""The chat dataflow: raw IRC lines → parse → enrich → batched ClickHouse sink.

Items flowing through it are batches (lists of :class:`~streamscope.records.RawLine`), so the
per-item cost of the dataflow is paid per batch. ``parse_enrich`` turns a batch into a
:class:`~streamscope.twitch.irc.rows.RowBatch` (message rows, event rows, dead letters, control-line
count); the sink buffers rows and inserts thousands at a time.

Run it inside one process with :func:`run` (embedded mode); :func:`build_flow` takes any Bytewax
source of raw-line batches and any sink of row batches, so the distributed mode plugs Kafka in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import Sink
from bytewax.testing import run_main
from clickhouse_connect.driver.client import Client

from sinks.clickhouse import ClickHouseSink, FlushReport
from sources.bus_input import BusInput
from streamscope.bus import TOPIC_IRC_RAW, Bus
from streamscope.records import RawLine
from streamscope.twitch.irc.rows import RowBatch, classify


class ParseEnrich:
    """Parse a batch of raw lines and enrich it with channel ids.

    Keeps a login → room-id cache learned from the lines themselves (PRIVMSG, ROOMSTATE, ... carry
    ``room-id``), so lines that lack it (CLEARMSG sends ``room-id=``) still get their channel id. The
    cache is only an optimisation of enrichment: losing it on restart loses nothing stored.
    """

    def __init__(self, channel_ids: dict[str, int] | None = None) -> None:
        self.channel_ids: dict[str, int] = channel_ids if channel_ids is not None else {}
        self._lock = threading.Lock()

    def __call__(self, lines: Sequence[RawLine]) -> RowBatch:
        with self._lock:
            return classify(lines, self.channel_ids)


def build_flow(source: Source[list[RawLine]], sink: Sink[RowBatch], *, flow_id: str = "chat") -> Dataflow:
    """The chat dataflow from any source of raw-line batches to any sink of row batches."""
    flow = Dataflow(flow_id)
    raw = op.input("raw_lines", flow, source)
    rows = op.map("parse_enrich", raw, ParseEnrich())
    op.output("warehouse", rows, sink)
    return flow


def run(
    bus: Bus[RawLine],
    client_factory: Callable[[], Client],
    *,
    topic: str = TOPIC_IRC_RAW,
    batch_rows: int = 5000,
    flush_interval_s: float = 1.0,
    on_flush: Callable[[FlushReport], None] | None = None,
) -> None:
    """Run the chat dataflow in this thread until ``topic`` is closed and drained (embedded mode)."""
    source = BusInput(bus, topic, batch_size=min(batch_rows, 5000), tick_s=flush_interval_s / 2)
    sink = ClickHouseSink(
        client_factory, batch_rows=batch_rows, flush_interval_s=flush_interval_s, on_flush=on_flush
    )
    run_main(build_flow(source, sink))
