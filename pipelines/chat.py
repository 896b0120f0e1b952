"""The chat dataflow: raw IRC lines → parse → enrich → batched ClickHouse writer.

Items flowing through it are batches (:class:`~streamscope.pipelines.transport.Received` of
:class:`~streamscope.records.RawLine`), so the per-item cost of the dataflow is paid per batch.
:class:`ParseEnrich` turns a batch into a :class:`~streamscope.twitch.irc.rows.RowBatch` (message
rows, event rows, dead letters, control-line count), and the sink buffers rows and inserts thousands
at a time.

:func:`graph` is the one graph, over any transport (:mod:`streamscope.pipelines.transport`): the
in-process bus in embedded mode, Kafka with Bytewax recovery in distributed mode, where a crash
stores every message and shows none twice. ``python -m bytewax.run streamscope.pipelines.chat:flow``
runs it on Kafka from the environment's settings (:func:`flow`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import bytewax.operators as op
from bytewax.dataflow import Dataflow
from clickhouse_connect.driver.client import Client

from streamscope import metrics, topics
from streamscope.pipelines.context import FlowContext
from streamscope.pipelines.transport import KafkaTransport, Received
from streamscope.records import RawLine
from streamscope.settings import get_settings
from streamscope.twitch.irc.rows import RowBatch, classify


def known_channels(client: Client) -> dict[str, int]:
    """login → channel id for every channel the warehouse has seen (its latest id per login)."""
    rows = client.query(
        "SELECT login, argMax(channel_id, last_seen) FROM channels GROUP BY login"
    ).result_rows
    return {str(login): int(cid) for login, cid in rows if login}


class ParseEnrich:
    """Parse a batch of raw lines and enrich it with channel ids.

    Keeps a login → room-id cache learned from the lines themselves (PRIVMSG, ROOMSTATE, ... carry
    ``room-id``), so lines that lack it (CLEARMSG sends ``room-id=``) still get their channel id.
    The cache starts from ``seed()`` (the channels the warehouse knows), called with the first batch,
    so a CLEARMSG seen first after a restart still finds its channel. Thread-safe.
    """

    def __init__(self, seed: Callable[[], dict[str, int]] | None = None) -> None:
        self._seed = seed
        self.channel_ids: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, batch: Received[RawLine]) -> tuple[str, RowBatch]:
        metrics.BATCH_LINES.observe(len(batch.records))
        with self._lock:
            if self._seed is not None:
                self.channel_ids.update(self._seed())
                self._seed = None
            rows = classify(batch.records, self.channel_ids)
        rows.dead_letters.extend(batch.rejected)
        return batch.key, rows


def seed_from(ctx: FlowContext) -> Callable[[], dict[str, int]]:
    """The :class:`ParseEnrich` seed of a dataflow: :func:`known_channels` read once, with a
    warehouse client of its own (closed after), when the first batch arrives."""

    def seed() -> dict[str, int]:
        client = ctx.warehouse()
        try:
            return known_channels(client)
        finally:
            client.close()

    return seed


def graph(ctx: FlowContext) -> Dataflow:
    """The chat dataflow: ``twitch.irc.raw`` from ``ctx.transport`` into the chat tables."""
    flow = Dataflow("chat")
    raw = ctx.transport.inbound(flow, "raw_lines", topics.IRC_RAW)
    rows = op.map("parse_enrich", raw, ParseEnrich(seed_from(ctx)))
    op.output("warehouse", rows, ctx.chat_sink())
    return flow


def flow() -> Dataflow:
    """The chat dataflow on Kafka, as the environment's settings describe it.

    The entry point of ``python -m bytewax.run streamscope.pipelines.chat:flow``, which gives it
    nothing else: this is the one place a dataflow reads the environment. ``streamscope pipeline
    chat`` and ``streamscope up`` build :func:`graph` from their own Settings.
    """
    settings = get_settings()
    return graph(FlowContext.from_settings(settings, KafkaTransport.from_settings(settings)))
