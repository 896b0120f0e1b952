"""The *Platform health* dashboard: is chat arriving, stored, turned into stats, served?

The top half reads the warehouse, so it works everywhere (embedded chDB behind a ClickHouse server
too): lines stored per minute by receive time, the delay from Twitch's timestamp to capture, dead
letters, and how far the stats windows are behind the chat. The bottom half reads the processes'
Prometheus metrics (``/metrics`` of the API, ``--metrics-port`` of sources and pipelines), scraped by
the compose file's Prometheus: ingest outcomes, Kafka consumer lag and producer buffers, dead letters,
warehouse flush time and API latency. Its panels use the ``prometheus`` datasource variable.
"""

from __future__ import annotations

from streamscope.app.grafana.chat import CHANNELS, DEAD_LETTERS_BY_STAGE
from streamscope.app.grafana.panels import (
    Json,
    channel_variable,
    dashboard,
    prometheus_variable,
    promql,
    sql,
    table,
    timeseries,
)

# Tables are ordered by event time, not receive time: a 1-day margin on sent_at/at lets the primary
# key skip old data while still counting lines that arrived up to a day late.
STORED = f"""
SELECT time, stored_in, count() * 60 / $__interval_s AS lines_per_min
FROM
(
    SELECT $__timeInterval(received_at) AS time, 'chat_messages' AS stored_in
    FROM chat_messages FINAL
    WHERE $__timeFilter(received_at) AND sent_at >= $__fromTime - INTERVAL 1 DAY AND {CHANNELS}
    UNION ALL
    SELECT $__timeInterval(received_at) AS time, 'chat_events' AS stored_in
    FROM chat_events FINAL
    WHERE $__timeFilter(received_at) AND at >= $__fromTime - INTERVAL 1 DAY AND {CHANNELS}
)
GROUP BY time, stored_in
ORDER BY time, stored_in
"""
CAPTURE_DELAY = f"""
SELECT
    $__timeInterval(received_at) AS time,
    quantileExact(0.5)(delay_ms) / 1000 AS p50,
    quantileExact(0.95)(delay_ms) / 1000 AS p95,
    max(delay_ms) / 1000 AS maximum
FROM
(
    SELECT received_at, toUnixTimestamp64Milli(received_at) - toUnixTimestamp64Milli(sent_at) AS delay_ms
    FROM chat_messages FINAL
    WHERE $__timeFilter(received_at) AND sent_at >= $__fromTime - INTERVAL 1 DAY AND {CHANNELS}
)
GROUP BY time
ORDER BY time
"""
FRESHNESS = f"""
SELECT
    m.login AS channel,
    m.newest_message,
    s.newest_window_end,
    greatest(0, dateDiff('second', s.newest_window_end, m.newest_message)) AS stats_behind_s
FROM
(
    SELECT channel_id, argMax(channel, sent_at) AS login, max(sent_at) AS newest_message
    FROM chat_messages FINAL
    WHERE $__timeFilter(sent_at) AND {CHANNELS}
    GROUP BY channel_id
) AS m
LEFT JOIN
(
    SELECT channel_id, max(at) + INTERVAL 60 SECOND AS newest_window_end
    FROM chat_stats FINAL
    WHERE step_s = 60 AND $__timeFilter(at) AND messages > 0
    GROUP BY channel_id
) AS s ON s.channel_id = m.channel_id
ORDER BY channel
"""
RATE = "[$__rate_interval]"


def _latency(q: str, ref: str) -> Json:
    expr = f"histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{RATE})))"
    return promql(expr, f"p{round(float(q) * 100)}", ref)


def health() -> Json:
    """The *Platform health* dashboard (uid ``streamscope-health``)."""
    panels = [
        timeseries(
            "Lines stored per minute",
            "Rows written to chat_messages and chat_events per minute, by the time the line was received "
            "(warehouse).",
            (12, 8),
            [sql(STORED, series=True)],
        ),
        timeseries(
            "Capture delay",
            "Seconds from Twitch's tmi-sent-ts to the line's receipt, median, 95th percentile and maximum "
            "per bucket (warehouse; replays receive at the line's own timestamp).",
            (12, 8),
            [sql(CAPTURE_DELAY, series=True)],
            unit="s",
        ),
        timeseries(
            "Dead letters by stage",
            "Dead-lettered lines per bucket by the stage that rejected them (warehouse, all channels).",
            (12, 8),
            [sql(DEAD_LETTERS_BY_STAGE, series=True)],
            bars=True,
        ),
        table(
            "Stats freshness",
            "Per channel: the newest stored message, the end of the newest 1-minute stats window, and how "
            "many seconds the stats are behind the chat (0: the newest window holds the newest message; "
            "warehouse).",
            (12, 8),
            sql(FRESHNESS, series=False),
        ),
        timeseries(
            "Ingested lines per second",
            "Raw chat lines through the chat dataflow by outcome: stored, rejected (dead-lettered), "
            "control (Prometheus: ingested_lines_total).",
            (12, 8),
            [promql(f"sum by (result) (rate(ingested_lines_total{RATE}))", "{{result}}")],
        ),
        timeseries(
            "Captured lines per second",
            "Lines the sources captured per channel (Prometheus: captured_lines_total).",
            (12, 8),
            [
                promql(
                    f'sum by (channel) (rate(captured_lines_total{{channel=~"$channel"}}{RATE}))',
                    "{{channel}}",
                )
            ],
        ),
        timeseries(
            "Kafka consumer lag",
            "Messages on the broker not yet read by the dataflows, per topic "
            "(Prometheus: kafka_consumer_lag).",
            (12, 8),
            [promql("sum by (topic) (kafka_consumer_lag)", "{{topic}}")],
        ),
        timeseries(
            "Dead letters per second",
            "Records dead-lettered by stage (Prometheus: dead_letters_total).",
            (12, 8),
            [promql(f"sum by (stage) (rate(dead_letters_total{RATE}))", "{{stage}}")],
        ),
        timeseries(
            "API latency",
            "Time to the response's start over all routes: median, 95th and 99th percentile "
            "(Prometheus: http_request_duration_seconds).",
            (12, 8),
            [_latency("0.5", "A"), _latency("0.95", "B"), _latency("0.99", "C")],
            unit="s",
        ),
        timeseries(
            "API requests per second",
            "HTTP requests by status code (Prometheus: http_requests_total).",
            (12, 8),
            [promql(f"sum by (status) (rate(http_requests_total{RATE}))", "{{status}}")],
            unit="reqps",
        ),
        timeseries(
            "Warehouse flush time",
            "95th percentile of one warehouse flush, retries included (Prometheus: warehouse_flush_seconds).",
            (12, 8),
            [
                promql(
                    f"histogram_quantile(0.95, sum by (le) (rate(warehouse_flush_seconds_bucket{RATE})))",
                    "p95",
                )
            ],
            unit="s",
        ),
        timeseries(
            "Kafka producer buffer",
            "Messages waiting in the sources' producer buffers for the broker's acknowledgement, per topic "
            "(Prometheus: kafka_producer_buffered_messages).",
            (12, 8),
            [promql("sum by (topic) (kafka_producer_buffered_messages)", "{{topic}}")],
        ),
    ]
    return dashboard(
        uid="streamscope-health",
        title="Platform health",
        description="streamscope: ingest rate, capture delay, dead letters and stats freshness from the "
        "warehouse; consumer lag, flushes and API latency from Prometheus.",
        tags=["health"],
        variables=[channel_variable(multi=True), prometheus_variable()],
        panels=panels,
        time_from="now-3h",
    )
