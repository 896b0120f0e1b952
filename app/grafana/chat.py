"""The *Chat* dashboard: raw chat activity, top chatters, chat events and dead letters.

Reads the chat tables themselves (``chat_messages``, ``chat_events``, ``dead_letters``), so it works
before any stats are computed; the *Channel overview* reads the windowed ``chat_stats`` instead.
"""

from __future__ import annotations

from streamscope.app.grafana.panels import Json, channel_variable, dashboard, sql, stat, table, timeseries

# $__conditionalAll: with "All" selected the filter becomes 1=1 (no IN list of every channel).
CHANNELS = "$__conditionalAll(channel IN (${channel:singlequote}), $channel)"


def chat() -> Json:
    """The *Chat* dashboard (uid ``streamscope-chat``)."""
    in_range = f"WHERE $__timeFilter(sent_at) AND {CHANNELS}"
    panels = [
        stat(
            "Messages",
            "Chat messages stored in the time range (each message once, even if captured twice).",
            (8, 4),
            sql(f"SELECT count() AS messages\nFROM chat_messages FINAL\n{in_range}", series=False),
        ),
        stat(
            "Chatters",
            "Distinct users who sent at least one message in the time range.",
            (8, 4),
            sql(f"SELECT uniqExact(user_id) AS chatters\nFROM chat_messages FINAL\n{in_range}", series=False),
        ),
        stat(
            "Dead letters",
            "Lines or rows that could not be parsed or stored (all channels); see the table below for "
            "reasons.",
            (8, 4),
            sql(
                "SELECT count() AS dead_letters\nFROM dead_letters FINAL\nWHERE $__timeFilter(received_at)",
                series=False,
            ),
        ),
        timeseries(
            "Messages per minute",
            "Chat rate per channel, as messages per minute whatever the bucket size Grafana picks.",
            (16, 9),
            [
                sql(
                    f"""
SELECT
    $__timeInterval(sent_at) AS time,
    channel,
    count() * 60 / $__interval_s AS messages_per_min
FROM chat_messages FINAL
{in_range}
GROUP BY time, channel
ORDER BY time, channel
""",
                    series=True,
                )
            ],
        ),
        table(
            "Top chatters",
            "Users with the most messages in the time range (newest login and display name).",
            (8, 9),
            sql(
                f"""
SELECT
    argMax(user_login, sent_at) AS chatter,
    argMax(display_name, sent_at) AS display_name,
    count() AS messages
FROM chat_messages FINAL
{in_range}
GROUP BY user_id
ORDER BY messages DESC, chatter
LIMIT 25
""",
                series=False,
            ),
        ),
        timeseries(
            "Subs, gifted subs, raids, timeouts and bans",
            "Chat events per bucket: subs and resubs, gifted subs (one per recipient), raids, timeouts, "
            "bans.",
            (24, 9),
            [
                sql(
                    f"""
SELECT
    $__timeInterval(at) AS time,
    multiIf(kind IN ('sub', 'resub'), 'subs',
            kind IN ('subgift', 'anonsubgift'), 'gifted subs',
            kind = 'raid', 'raids',
            kind = 'timeout', 'timeouts',
            'bans') AS event,
    count() AS events
FROM chat_events FINAL
WHERE $__timeFilter(at) AND {CHANNELS}
    -- submysterygift only announces a batch whose subgift lines follow one by one: not counted twice.
    AND kind IN ('sub', 'resub', 'subgift', 'anonsubgift', 'raid', 'timeout', 'ban')
GROUP BY time, event
ORDER BY time, event
""",
                    series=True,
                )
            ],
            bars=True,
            stacked=True,
        ),
        timeseries(
            "Dead letters by stage",
            "Dead-lettered lines per bucket by the stage that rejected them (parse, insert, ...).",
            (10, 8),
            [sql(DEAD_LETTERS_BY_STAGE, series=True)],
            bars=True,
        ),
        table(
            "Latest dead letters",
            "The newest dead letters with the reason and the raw payload (first 500 characters).",
            (14, 8),
            sql(LATEST_DEAD_LETTERS, series=False),
        ),
    ]
    return dashboard(
        uid="streamscope-chat",
        title="Chat",
        description=(
            "streamscope: chat activity, chatters, subs/raids/moderation and dead letters, from the "
            "warehouse."
        ),
        tags=["chat"],
        variables=[channel_variable(multi=True)],
        panels=panels,
    )


DEAD_LETTERS_BY_STAGE = """
SELECT
    $__timeInterval(received_at) AS time,
    stage,
    count() AS dead_letters
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
GROUP BY time, stage
ORDER BY time, stage
"""

LATEST_DEAD_LETTERS = """
SELECT
    received_at,
    source,
    channel,
    stage,
    reason,
    left(raw, 500) AS raw_line
FROM dead_letters FINAL
WHERE $__timeFilter(received_at)
ORDER BY received_at DESC
LIMIT 100
"""
