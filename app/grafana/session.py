"""The *Stream session* drill-down: one stream session of one channel (the ``session`` variable).

A session is a row of ``streams`` (read with FINAL: the newest version). Its bounds are
``[started_at, ended_at)``, up to now while it is live. Totals cover the 1-minute ``chat_stats``
windows that overlap the session (the window holding ``started_at`` onwards); the time series also
keep to the dashboard's time range, which the *Channel overview*'s session link sets to the session.
"""

from __future__ import annotations

from streamscope.app.grafana.overview import CHANNEL_ID, MOMENT_COLUMNS, NONEMPTY, top_emotes
from streamscope.app.grafana.panels import (
    Json,
    bargauge,
    channel_variable,
    dashboard,
    query_variable,
    right_axis,
    sql,
    stat,
    table,
    timeseries,
)

THE_SESSION = f"stream_id = ${{session:singlequote}} AND {CHANNEL_ID}"
BOUNDS = f"""WITH
    (SELECT started_at FROM streams FINAL WHERE {THE_SESSION}) AS s_start,
    (SELECT ifNull(ended_at, now64(3)) FROM streams FINAL WHERE {THE_SESSION}) AS s_end"""
IN_SESSION = (
    f"FROM chat_stats FINAL\nWHERE {CHANNEL_ID} AND step_s = 60\n"
    "    AND at >= toStartOfMinute(s_start) AND at < s_end"
)
SESSION_ROW = f"FROM streams FINAL\nWHERE {THE_SESSION}"

SESSION_CHOICES = f"""
SELECT
    stream_id,
    concat(formatDateTime(started_at, '%Y-%m-%d %H:%i', 'UTC'), ' UTC',
           if(empty(segments), '', concat(' - ', tupleElement(segments[1], 'title')))) AS label
FROM streams FINAL
WHERE {CHANNEL_ID}
ORDER BY started_at DESC
LIMIT 200
"""


def _stats(column: str, expr: str) -> Json:
    return sql(f"{BOUNDS}\nSELECT {expr} AS {column}\n{IN_SESSION}", series=False)


CHAT_RATE = f"""{BOUNDS}
SELECT
    $__timeInterval(at) AS time,
    sum(messages) * 60 / $__interval_s AS messages_per_min
{IN_SESSION} AND $__timeFilter(at)
GROUP BY time
{NONEMPTY}
ORDER BY time
"""
VIEWERS = f"""
SELECT
    $__timeInterval(sampled_at) AS time,
    avg(viewers) AS viewers
FROM viewer_samples FINAL
WHERE {THE_SESSION} AND $__timeFilter(sampled_at)
GROUP BY time
ORDER BY time
"""
TOP_EMOTES = BOUNDS + top_emotes(IN_SESSION)
TOTALS = f"""{BOUNDS}
SELECT
    sum(new_subs) AS new_subs,
    sum(resubs) AS resubs,
    sum(gift_subs) AS gift_subs,
    sum(bits) AS bits,
    sum(raids) AS raids,
    sum(raid_viewers) AS raid_viewers,
    sum(timeouts) AS timeouts,
    sum(bans) AS bans,
    sum(deletions) AS deletions,
    sum(clears) AS clears,
    sum(actions) AS actions,
    sum(replies) AS replies,
    if(sum(messages) = 0, 0, sum(message_length_sum) / sum(messages)) AS avg_message_length
{IN_SESSION}
"""
MOMENTS = f"""
{MOMENT_COLUMNS}
FROM chat_moments FINAL
WHERE {THE_SESSION}
ORDER BY start
"""
SEGMENTS = f"""
SELECT
    tupleElement(segment, 'at') AS at,
    tupleElement(segment, 'title') AS title,
    tupleElement(segment, 'game') AS game
FROM streams FINAL
ARRAY JOIN segments AS segment
WHERE {THE_SESSION}
ORDER BY at
"""


def session() -> Json:
    """The *Stream session* dashboard (uid ``streamscope-session``)."""
    panels = [
        stat(
            "Duration",
            "From the session's start to its end (to now while it is live).",
            (4, 4),
            sql(f"{BOUNDS}\nSELECT dateDiff('second', s_start, s_end) AS duration", series=False),
            unit="s",
        ),
        stat(
            "Peak viewers",
            "The session's highest Helix viewer count.",
            (4, 4),
            sql(f"SELECT peak_viewers\n{SESSION_ROW}", series=False),
        ),
        stat(
            "Average viewers",
            "The mean of the session's Helix viewer samples.",
            (4, 4),
            sql(
                f"SELECT if(samples = 0, 0, viewer_sum / samples) AS avg_viewers\n{SESSION_ROW}", series=False
            ),
        ),
        stat("Messages", "Chat messages during the session.", (4, 4), _stats("messages", "sum(messages)")),
        stat(
            "Chatters",
            "Distinct users who chatted during the session.",
            (4, 4),
            _stats("chatters", "uniqExactArray(chatter_ids)"),
        ),
        stat(
            "Peak chat rate",
            "The busiest minute of the session, in messages per minute.",
            (4, 4),
            _stats("peak_messages_per_min", "max(messages)"),
        ),
        timeseries(
            "Viewers and chat rate",
            "The session's viewer samples (left axis) and chat messages per minute (right axis).",
            (24, 9),
            [sql(VIEWERS, series=True, ref="A"), sql(CHAT_RATE, series=True, ref="B")],
            min_interval="1m",
            overrides=[right_axis("messages_per_min", "short")],
        ),
        bargauge(
            "Top emotes",
            "The 10 most used emotes during the session.",
            (12, 8),
            sql(TOP_EMOTES, series=False),
        ),
        table(
            "Session totals",
            "Subs (new, resubs, gifted), bits, raids and raiders, moderation, /me actions, replies and the "
            "average message length (characters) over the session.",
            (12, 8),
            sql(TOTALS, series=False),
        ),
        table(
            "Hype moments",
            "The session's hype moments, oldest first.",
            (24, 7),
            sql(MOMENTS, series=False),
        ),
        table(
            "Title and game changes",
            "The session's title/game segments: a new one starts whenever either changes.",
            (24, 6),
            sql(SEGMENTS, series=False),
        ),
    ]
    return dashboard(
        uid="streamscope-session",
        title="Stream session",
        description="streamscope: one stream session - viewers, chat, emotes, subs, moderation, moments.",
        tags=["session"],
        variables=[
            channel_variable(multi=False, by_id=True),
            query_variable("session", "Session", SESSION_CHOICES),
        ],
        panels=panels,
        time_from="now-12h",
    )
