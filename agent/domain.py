"""The domain tools: questions a streamer asks often, answered by the readers of ``query/`` with no
SQL from the model at all (so nothing the model writes reaches the warehouse through them).

Every tool takes an optional ``channel`` (login or id; default: the question's channel, else the
only channel captured) and an optional ISO 8601 ``start``/``end``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from streamscope.agent.tools import (
    Tool,
    ToolContext,
    ToolFailed,
    ToolResult,
    channel_of,
    data_result,
    table_result,
)
from streamscope.query import insights
from streamscope.query import streams as stream_reader
from streamscope.query.moments import moments_page
from streamscope.query.params import time_range
from streamscope.query.transcripts import transcript_page

_MAX_BUCKETS = 1000


class RangeArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str | None = Field(
        None, description="Channel login or numeric id; default: the question's channel."
    )
    start: str | None = Field(None, description="From this time, ISO 8601 (UTC without an offset).")
    end: str | None = Field(None, description="Until this time (exclusive), ISO 8601.")


class SeriesArgs(RangeArgs):
    step: str = Field("1m", description="Bucket width: 10s, 1m, 5m, 1h, 1d or seconds.")


class MomentArgs(RangeArgs):
    limit: int = Field(20, ge=1, le=100, description="Moments to return, oldest first.")


class TranscriptArgs(RangeArgs):
    q: str = Field(
        description="Words or phrase to find in what the streamer said.", min_length=1, max_length=200
    )
    limit: int = Field(20, ge=1, le=100, description="Segments to return, oldest first.")


def _range(args: RangeArgs) -> tuple[int | None, int | None]:
    return time_range(args.start, args.end)


def _step(args: SeriesArgs, start_ms: int | None, end_ms: int | None) -> int:
    step_s = stream_reader.parse_step(args.step)
    if start_ms is not None and end_ms is not None and (end_ms - start_ms) / 1000 / step_s > _MAX_BUCKETS:
        raise ToolFailed(f"step: more than {_MAX_BUCKETS} buckets for start..end; use a larger step")
    return step_s


def _recap(ctx: ToolContext, args: RangeArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    body = insights.recap(ctx.warehouse, channel.id, start_ms, end_ms)
    return data_result({"channel": channel.login, **body}, ctx)


def _activity(ctx: ToolContext, args: SeriesArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    step_s = _step(args, start_ms, end_ms)
    points = insights.activity(ctx.warehouse, channel.id, start_ms, end_ms, step_s)
    if len(points) > _MAX_BUCKETS:
        raise ToolFailed(f"step: more than {_MAX_BUCKETS} buckets; narrow start/end or use a larger step")
    return table_result({"channel": channel.login, "step_s": step_s, "points": points}, ctx, points)


def _viewers(ctx: ToolContext, args: SeriesArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    step_s = _step(args, start_ms, end_ms)
    buckets = stream_reader.viewer_buckets(ctx.warehouse, channel.id, start_ms, end_ms, step_s)
    points = [p._asdict() for p in buckets[:_MAX_BUCKETS]]
    return table_result({"channel": channel.login, "step_s": step_s, "points": points}, ctx, points)


def _best_slots(ctx: ToolContext, args: RangeArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    hours = insights.best_time_slots(ctx.warehouse, channel.id, start_ms, end_ms)
    return table_result({"channel": channel.login, "hours": hours}, ctx, hours)


def _games(ctx: ToolContext, args: RangeArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    games = insights.games_and_titles(ctx.warehouse, channel.id, start_ms, end_ms)
    return table_result({"channel": channel.login, "games_and_titles": games}, ctx, games)


def _returning(ctx: ToolContext, args: RangeArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    found = insights.returning_chatters(ctx.warehouse, channel.id, start_ms, end_ms)
    return table_result({"channel": channel.login, **found}, ctx, found["sessions"])


def _moments(ctx: ToolContext, args: MomentArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    page = moments_page(ctx.warehouse, channel.id, start_ms, end_ms, None, args.limit)
    moments = [
        {
            **{k: m[k] for k in ("start", "end", "peak", "peak_rate", "baseline_rate", "score", "chatters")},
            "top_emotes": ", ".join(f"{e['name']} x{e['count']}" for e in m["top_emotes"][:5]),
            # The sample messages are chat text: untrusted, like every tool result.
            "sample_messages": [s.get("text") for s in m.get("samples", [])[:3] if isinstance(s, dict)],
        }
        for m in page.moments
    ]
    return table_result({"channel": channel.login, "moments": moments}, ctx, moments)


def _transcript(ctx: ToolContext, args: TranscriptArgs) -> ToolResult:
    channel = channel_of(ctx, args.channel)
    start_ms, end_ms = _range(args)
    page = transcript_page(ctx.warehouse, channel.id, start_ms, end_ms, args.q, None, args.limit)
    segments = [{k: s.get(k) for k in ("start", "end", "text", "stream_id")} for s in page.segments]
    return table_result({"channel": channel.login, "segments": segments}, ctx, segments)


DOMAIN_TOOLS: tuple[Tool, ...] = (
    Tool(
        "stream_recap",
        "Recap of a channel over a time range: messages, unique chatters, subs/raids/timeouts/bans, "
        "the busiest minute and the top chatters.",
        RangeArgs,
        _recap,
    ),
    Tool(
        "chat_activity",
        "Chat activity over time: messages, distinct chatters and timeouts/bans per time bucket.",
        SeriesArgs,
        _activity,
    ),
    Tool(
        "viewers_over_time",
        "Average and peak viewer counts per time bucket (from Helix samples; empty when none were taken).",
        SeriesArgs,
        _viewers,
    ),
    Tool(
        "best_time_slots",
        "Engagement per UTC hour of day (messages and chatters per active minute, average viewers), "
        "busiest first: when to stream.",
        RangeArgs,
        _best_slots,
    ),
    Tool(
        "games_and_titles",
        "Games and stream titles against engagement: average/peak viewers and chat per minute for each "
        "(game, title) seen in viewer samples.",
        RangeArgs,
        _games,
    ),
    Tool(
        "returning_chatters",
        "Chatters returning across sessions: per stream session (or UTC day when no sessions are known) "
        "the chatters, how many chatted in an earlier session, and how many are new.",
        RangeArgs,
        _returning,
    ),
    Tool(
        "chat_moments",
        "Hype moments: bursts of chat against the channel's own baseline (peak rate, baseline, score, "
        "chatters, top emotes, a few sample messages), oldest first.",
        MomentArgs,
        _moments,
    ),
    Tool(
        "transcript_search",
        "Search what the streamer said (speech-to-text transcript segments containing q), oldest first.",
        TranscriptArgs,
        _transcript,
    ),
)
