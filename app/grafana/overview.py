"""The *Channel overview* dashboard: one channel's viewers, chat rate, chatters, emotes, subs/bits/raids,
moderation, hype moments (also as annotations) and stream sessions.

Chat numbers come from the 1-minute ``chat_stats`` series (``step_s = 60``, read with FINAL so a
corrected window counts once), aggregated to the bucket Grafana picks: sums for counts, a union of the
windows' ``chatter_ids`` for distinct chatters (exact over any bucket, never a sum of per-minute
counts). Panels over the series set a minimum interval of one minute, and Grafana's rounded intervals
from one minute up are whole minutes, so a bucket always holds whole windows — the same buckets
``GET /v1/channels/{channel}/stats?step=...`` answers.
"""

from __future__ import annotations

from streamscope.app.grafana.panels import (
    Json,
    bargauge,
    channel_variable,
    dashboard,
    right_axis,
    sql,
    sql_annotation,
    stat,
    table,
    timeseries,
)
from streamscope.sinks.stats import DATA_COUNTS

# The channel variable's value is the channel id (its text the login): chat_stats, chat_moments,
# viewer_samples and streams are ordered by channel_id first, so this is a range of each primary key,
# and a login that two channel ids have had (renames) does not mix their data.
CHANNEL_ID = "channel_id = toUInt64(${channel:singlequote})"
STATS = f"FROM chat_stats FINAL\nWHERE {CHANNEL_ID} AND step_s = 60 AND $__timeFilter(at)"
# Buckets without chat are left out, as the stats reader leaves them out: a window a rebuild emptied
# is stored with zero counts, and a bucket of only such windows is no point.
# Qualified names: the panels' aliases (``sum(raids) AS raids``) would shadow the columns here.
NONEMPTY = "HAVING " + " + ".join(f"sum(chat_stats.{c})" for c in DATA_COUNTS) + " > 0"


def _total(column: str, expr: str) -> Json:
    return sql(f"SELECT {expr} AS {column}\n{STATS}", series=False)


def _per_bucket(columns: str) -> str:
    head = "SELECT\n    $__timeInterval(at) AS time,\n"
    return f"{head}{columns}\n{STATS}\nGROUP BY time\n{NONEMPTY}\nORDER BY time"


CHAT_RATE = _per_bucket("    sum(messages) * 60 / $__interval_s AS messages_per_min")
VIEWERS = f"""
SELECT
    $__timeInterval(sampled_at) AS time,
    avg(viewers) AS viewers
FROM viewer_samples FINAL
WHERE {CHANNEL_ID} AND $__timeFilter(sampled_at)
GROUP BY time
ORDER BY time
"""


def top_emotes(stats_rows: str) -> str:
    """The 10 most used emotes of the ``chat_stats`` rows that ``stats_rows`` (a FROM ... WHERE)
    selects, summed over their ``emote_counts`` (this dashboard and the session one)."""
    return f"""
SELECT name, uses
FROM (SELECT sumMap(emote_counts) AS m {stats_rows})
ARRAY JOIN mapKeys(m) AS name, mapValues(m) AS uses
WHERE uses > 0
ORDER BY uses DESC, name
LIMIT 10
"""


TOP_EMOTES = top_emotes(STATS)
#: The columns of a hype-moments table (this dashboard and the session one); top emotes as text.
MOMENT_COLUMNS = """SELECT
    start,
    end,
    peak,
    peak_rate,
    baseline_rate,
    score,
    chatters,
    arrayStringConcat(arrayMap(e -> concat(e.1, ' x', toString(e.2)), top_emotes), ', ') AS top_emotes"""
MOMENTS = f"""
{MOMENT_COLUMNS},
    stream_id
FROM chat_moments FINAL
WHERE {CHANNEL_ID} AND $__timeFilter(start)
ORDER BY start
"""
MOMENT_ANNOTATIONS = f"""
SELECT
    start AS time,
    end AS timeEnd,
    concat('Hype moment: ', toString(round(peak_rate)), ' msg/min at the peak, baseline ',
           toString(round(baseline_rate)), ', score ', toString(round(score, 1)),
           if(empty(top_emotes), '',
              concat(' - ', arrayStringConcat(arrayMap(e -> e.1, top_emotes), ' ')))) AS text,
    ['hype moment'] AS tags
FROM chat_moments FINAL
WHERE {CHANNEL_ID} AND $__timeFilter(start)
ORDER BY time
"""
SESSIONS = f"""
SELECT
    stream_id,
    started_at,
    ended_at,
    dateDiff('second', started_at, ifNull(ended_at, now64(3))) AS duration_s,
    peak_viewers,
    if(samples = 0, 0, viewer_sum / samples) AS avg_viewers,
    if(empty(segments), '', tupleElement(segments[1], 'title')) AS title,
    if(empty(segments), '', tupleElement(segments[-1], 'game')) AS game,
    toUnixTimestamp64Milli(started_at) AS from_ms,
    toUnixTimestamp64Milli(ifNull(ended_at, now64(3))) AS to_ms
FROM streams FINAL
WHERE {CHANNEL_ID} AND started_at <= $__toTime AND ifNull(ended_at, now64(3)) >= $__fromTime
ORDER BY started_at DESC
LIMIT 100
"""
SESSION_LINK = (
    "/d/streamscope-session/stream-session?${channel:queryparam}&var-session=${__value.raw}"
    "&from=${__data.fields.from_ms}&to=${__data.fields.to_ms}"
)


def _sessions_table() -> Json:
    p = table(
        "Stream sessions",
        "Stream sessions overlapping the time range, newest first; click a stream id to open it in the "
        "Stream session dashboard with the time range set to the session.",
        (24, 7),
        sql(SESSIONS, series=False),
    )
    p["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byName", "options": "stream_id"},
            "properties": [{"id": "links", "value": [{"title": "Open the session", "url": SESSION_LINK}]}],
        },
        {
            "matcher": {"id": "byRegexp", "options": "^(from_ms|to_ms)$"},
            "properties": [{"id": "custom.hidden", "value": True}],
        },
        {"matcher": {"id": "byName", "options": "duration_s"}, "properties": [{"id": "unit", "value": "s"}]},
    ]
    return p


def overview() -> Json:
    """The *Channel overview* dashboard (uid ``streamscope-overview``)."""
    minute = "1m"
    panels = [
        stat("Messages", "Chat messages in the time range.", (4, 4), _total("messages", "sum(messages)")),
        stat(
            "Chatters",
            "Distinct users who chatted in the time range (exact: a union of the minutes' chatters).",
            (4, 4),
            _total("chatters", "uniqExactArray(chatter_ids)"),
        ),
        stat(
            "First-time chatters",
            "Distinct users whose first message ever in the channel fell in the time range (first-msg=1).",
            (4, 4),
            _total("first_time_chatters", "uniqExactArray(first_time_chatter_ids)"),
        ),
        stat(
            "Peak viewers",
            "The highest viewer count Helix reported in the time range.",
            (4, 4),
            sql(
                "SELECT max(viewers) AS peak_viewers\nFROM viewer_samples FINAL\n"
                f"WHERE {CHANNEL_ID} AND $__timeFilter(sampled_at)",
                series=False,
            ),
        ),
        stat(
            "Subs", "New subs, resubs and gifted subs in the time range.", (4, 4), _total("subs", "sum(subs)")
        ),
        stat("Bits", "Bits cheered in the time range.", (4, 4), _total("bits", "sum(bits)")),
        timeseries(
            "Viewers and chat rate",
            "Average viewers (Helix samples, left axis) and chat messages per minute (right axis) on one "
            "time axis; hype moments are the shaded regions.",
            (24, 9),
            [sql(VIEWERS, series=True, ref="A"), sql(CHAT_RATE, series=True, ref="B")],
            min_interval=minute,
            overrides=[right_axis("messages_per_min", "short")],
        ),
        timeseries(
            "Chatters over time",
            "Distinct chatters and first-time chatters per bucket.",
            (12, 8),
            [
                sql(
                    _per_bucket(
                        "    uniqExactArray(chatter_ids) AS chatters,\n"
                        "    uniqExactArray(first_time_chatter_ids) AS first_time_chatters"
                    ),
                    series=True,
                )
            ],
            min_interval=minute,
        ),
        bargauge(
            "Top emotes",
            "The 10 most used emotes in the time range (Twitch emotes and configured third-party emote "
            "words).",
            (12, 8),
            sql(TOP_EMOTES, series=False),
        ),
        timeseries(
            "Subs, bits and raids",
            "New subs, resubs, gifted subs and raids per bucket (bars), bits cheered (right axis).",
            (12, 8),
            [
                sql(
                    _per_bucket(
                        "    sum(new_subs) AS new_subs,\n    sum(resubs) AS resubs,\n"
                        "    sum(gift_subs) AS gift_subs,\n    sum(raids) AS raids,\n    sum(bits) AS bits"
                    ),
                    series=True,
                )
            ],
            bars=True,
            min_interval=minute,
            overrides=[right_axis("bits", "short")],
        ),
        timeseries(
            "Moderation",
            "Timeouts, bans, deleted messages and chat clears per bucket.",
            (12, 8),
            [
                sql(
                    _per_bucket(
                        "    sum(timeouts) AS timeouts,\n    sum(bans) AS bans,\n"
                        "    sum(deletions) AS deletions,\n    sum(clears) AS clears"
                    ),
                    series=True,
                )
            ],
            bars=True,
            stacked=True,
            min_interval=minute,
        ),
        table(
            "Hype moments",
            "Bursts of chat against the channel's own baseline (clip candidates), oldest first: rates in "
            "messages per minute, score, the moment's chatters and top emotes, its stream session.",
            (24, 7),
            sql(MOMENTS, series=False),
        ),
        _sessions_table(),
    ]
    return dashboard(
        uid="streamscope-overview",
        title="Channel overview",
        description="streamscope: one channel's viewers, chat rate, chatters, emotes, subs/bits/raids, "
        "moderation, hype moments and stream sessions.",
        tags=["overview"],
        variables=[channel_variable(multi=False, by_id=True)],
        panels=panels,
        annotations=[sql_annotation("Hype moments", MOMENT_ANNOTATIONS, "orange")],
        time_from="now-24h",
    )
